# scripts/lib/fronts.sh: the front ends of scripts/stack (FRONT), sourced by
# it after its own helpers. Each front end has one file of functions,
# scripts/lib/front-NAME.sh, named after it (apache-fcgid: apache_fcgid_*):
#   NAME_up       up's part: (re)write its configuration, start it unless it
#                 runs with that very configuration
#   NAME_start    start it (the configuration is written)
#   NAME_stop     stop it (silent when it does not run)
#   NAME_pid      print the pid of its server if it runs (else fail)
#   NAME_status   print its lines of scripts/stack status
#   NAME_log      print the path of its error log
# The shipped configurations are templates in conf/ (conf/nginx.conf.in,
# conf/apache-fcgid.conf.in, ...), rendered by render_template: what we ship
# is what the tests run. lighttpd's stays generated (front-lighttpd.sh).
#
#   lighttpd      lighttpd -> spawn-fcgi + multiwatch worker sets (unix sockets)
#   nginx         nginx -> the same worker sets
#   apache-fcgid  Apache + mod_fcgid, which spawns the executables itself
#   apache-cgi    Apache + mod_cgi: plain CGI, a process per request, laid
#                 out as on a shared host (.htaccess, a settings file), the
#                 background work from a timer (the shipped cron line)
# Under the first three the engine (video-complete --engine) runs beside the
# front end; under apache-cgi no process of ours lives but Apache's.

readonly FRONTS=(lighttpd nginx apache-fcgid apache-cgi)

# shellcheck source=scripts/lib/front-lighttpd.sh
. "$ROOT/scripts/lib/front-lighttpd.sh"
# shellcheck source=scripts/lib/front-nginx.sh
. "$ROOT/scripts/lib/front-nginx.sh"
# shellcheck source=scripts/lib/front-apache.sh
. "$ROOT/scripts/lib/front-apache.sh"
# shellcheck source=scripts/lib/front-apache-fcgid.sh
. "$ROOT/scripts/lib/front-apache-fcgid.sh"
# shellcheck source=scripts/lib/front-apache-cgi.sh
. "$ROOT/scripts/lib/front-apache-cgi.sh"

# Is F one of the front ends?
is_front() {
	local f
	for f in "${FRONTS[@]}"; do
		[ "$f" = "$1" ] && return 0
	done
	return 1
}

# Calls front F's function ACTION (F_ACTION) with the other arguments.
front_call() {
	local f=${1//-/_} action=$2
	shift 2
	"${f}_$action" "$@"
}

# Do front F's workers come from the spawn-fcgi worker sets (E.sock)?
front_uses_worker_sets() {
	case $1 in
	lighttpd | nginx) return 0 ;;
	*) return 1 ;;
	esac
}

# Does front F have the long-lived engine beside it (else the timer's drain)?
front_uses_engine() {
	[ "$1" != apache-cgi ]
}

# Prints the front ends that run now, one a line.
running_fronts() {
	local f
	for f in "${FRONTS[@]}"; do
		front_call "$f" pid >/dev/null && printf '%s\n' "$f"
	done
	return 0
}

# up's front-end part: stops any other front end (they share the port),
# then brings FRONT up.
front_up() {
	local f
	for f in "${FRONTS[@]}"; do
		[ "$f" != "$FRONT" ] || continue
		if front_call "$f" pid >/dev/null; then
			say "switching the front end from $f to $FRONT"
			front_call "$f" stop
		fi
	done
	front_call "$FRONT" up
}

# Stops every front end that runs (down).
fronts_stop() {
	local f
	for f in "${FRONTS[@]}"; do
		front_call "$f" stop
	done
}

# Are the workers of executable E there to answer (their worker set's
# multiwatch, or the Apache that spawns or runs them)? For
# wait_workers_ready, which fails at once when they cannot be.
front_workers_alive() {
	if front_uses_worker_sets "$FRONT"; then
		live_pid_from "$RUN_DIR/$1.pid" multiwatch >/dev/null
	else
		front_call "$FRONT" pid >/dev/null
	fi
}

# The log that explains why the workers of E do not answer.
front_workers_log() {
	if front_uses_worker_sets "$FRONT"; then
		printf '%s\n' "$LOG_DIR/$1.log"
	else
		front_call "$FRONT" log
	fi
}

# Starts the server of a front end: LABEL names it in messages, NAME is its
# pid file's (RUN_DIR/NAME.pid), COMM its process name; ERRLOG takes its
# stderr. The rest is the command, run from / in a session of its own
# (setsid: down kills its group), in the foreground, so that $! is the
# server's pid: a command that execs (`exec setsid ...`, or
# `exec_with_env ENV setsid ...`). Waits until the server answers on PORT.
front_launch() {
	local label=$1 name=$2 comm=$3 errlog=$4 pid owner
	shift 4
	owner=$(tcp_port_owner "$PORT")
	[ -z "$owner" ] || die "port $PORT is taken by another program ($owner): stop it or choose another PORT"
	say "starting $label on 127.0.0.1:$PORT"
	(cd / && close_extra_fds && "$@") </dev/null >>"$errlog" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$RUN_DIR/$name.pid"
	front_wait "$pid" "$comm" "$errlog" "$label does not answer on 127.0.0.1:$PORT (is the port taken? log: $errlog)"
}

# Waits (at most READY_TIMEOUT_S) until the front end's process PID, still
# named COMM, answers on PORT; else shows the end of ERRLOG and dies with
# WHY.
front_wait() {
	local pid=$1 comm=$2 errlog=$3 why=$4 deadline=$((SECONDS + READY_TIMEOUT_S))
	until pid_is "$pid" "$comm" && [ "$(http_answer GET /)" != "000 " ]; do
		if ! pid_is "$pid" "$comm" || [ $SECONDS -ge $deadline ]; then
			show_log_tail "$errlog"
			die "$why"
		fi
		sleep 0.05
	done
}

# Asks the running front end LABEL (pid file run/NAME.pid, command COMM,
# error log ERRLOG) for a graceful restart with signal SIG: it keeps its
# listening socket (new connections wait in its backlog), finishes the
# requests in hand and reads its configuration again. Waits until it
# answers again (reload).
front_reload() {
	local label=$1 name=$2 comm=$3 errlog=$4 sig=$5 pid
	pid=$(live_pid_from "$RUN_DIR/$name.pid" "$comm") || die "$label is not running: run scripts/stack up"
	say "restarting $label gracefully (pid $pid, SIG$sig)"
	kill -s "$sig" "$pid"
	sleep 0.1
	front_wait "$pid" "$comm" "$errlog" "$label did not come back after SIG$sig (log: $errlog)"
}

# Sends signal SIG to the running server of front end NAME (pid file
# run/NAME.pid, command COMM), if it runs: reopen-logs' part.
front_signal() {
	local name=$1 comm=$2 sig=$3 pid
	if pid=$(live_pid_from "$RUN_DIR/$name.pid" "$comm"); then
		kill -s "$sig" "$pid"
	fi
}

# Stops the server of a front end (LABEL, NAME, COMM as front_launch's):
# SIGTERM to it, then its process group is killed after STOP_TIMEOUT_S.
# Silent when it does not run.
front_halt() {
	local label=$1 name=$2 comm=$3 pid
	pid=$(live_pid_from "$RUN_DIR/$name.pid" "$comm") || { rm -f "$RUN_DIR/$name.pid"; return 0; }
	say "stopping $label (pid $pid)"
	stop_groups "$name=$pid"
	rm -f "$RUN_DIR/$name.pid"
}

# ---------------------------------------------------------- error pages ---

# The front ends' own errors under /api/: status, API.md's code, message.
# 501 is lighttpd's answer to a method it does not know (the workers answer
# 405 with Allow to the ones it passes on).
readonly API_ERRORS=(
	'400|bad_request|The request is malformed.'
	'404|not_found|There is nothing here.'
	'405|method_not_allowed|This address does not accept that method.'
	'408|bad_request|The request took too long to arrive.'
	'411|length_required|A POST needs a Content-Length, an empty body too.'
	'413|payload_too_large|The request body is larger than 64 KiB.'
	'414|bad_request|The address is too long.'
	'431|bad_request|The request headers are too large.'
	'500|internal|The service failed to answer; retry in a moment.'
	'501|method_not_allowed|This method is not known here.'
	'502|service_unavailable|The service failed to answer; retry in a moment.'
	'503|service_unavailable|No worker can take the request now; retry in a moment.'
	'504|service_unavailable|The service did not answer in time; retry in a moment.'
)

# Writes the JSON bodies of the front ends' own errors under /api/ into DIR
# (VAR_DIR/errors by default), one file per status: api-STATUS.html (the
# name lighttpd's server.errorfile-prefix wants; each front end types them
# application/json).
api_error_pages() {
	local dir=${1:-$VAR_DIR/errors} entry status code msg
	install -d -m 0755 "$dir"
	for entry in "${API_ERRORS[@]}"; do
		IFS='|' read -r status code msg <<<"$entry"
		printf '{"error":"%s","message":"%s"}\n' "$code" "$msg" >"$dir/api-$status.html"
	done
	chmod 0644 "$dir"/api-*.html
}

# ------------------------------------------------------------ templates ---

# The values of a template's placeholders, by name (render_template).
declare -gA TPL=()

# Prints the template FILE with every @NAME@ replaced by TPL[NAME]. A line
# that holds nothing but one @NAME@ becomes the lines of its value, each
# with that line's indentation (none at all when the value is empty), so
# that a value may be several directives. A placeholder without a value is
# an error: nothing half-rendered is ever run.
render_template() {
	local file=$1 line key indent vline
	[ -r "$file" ] || die "the template $file is missing"
	while IFS= read -r line || [ -n "$line" ]; do
		if [[ $line =~ ^([[:space:]]*)@([A-Z0-9_]+)@[[:space:]]*$ ]] &&
			[[ -v TPL[${BASH_REMATCH[2]}] ]]; then
			indent=${BASH_REMATCH[1]}
			key=${BASH_REMATCH[2]}
			[ -n "${TPL[$key]}" ] || continue
			while IFS= read -r vline; do
				printf '%s%s\n' "$indent" "$vline"
			done <<<"${TPL[$key]}"
			continue
		fi
		for key in "${!TPL[@]}"; do
			line=${line//"@$key@"/"${TPL[$key]}"}
		done
		if [[ $line =~ @[A-Z0-9_]+@ ]]; then
			die "$file: no value for ${BASH_REMATCH[0]}"
		fi
		printf '%s\n' "$line"
	done <"$file"
}

# Checks that VALUE (named NAME) can go into a server configuration between
# double quotes, or bare where the server allows no quotes (no blanks).
conf_safe() {
	local name=$1 value=$2
	[[ $value != *[\"\\$'\n'\;\{\}]* ]] ||
		die "$name ($value) must not contain \", \\, ;, braces or newlines for FRONT=$FRONT"
	[[ $value != *[[:space:]]* ]] || [ "${3:-}" = quoted ] ||
		die "$name ($value) must not contain blanks for FRONT=$FRONT"
}

# Writes the rendered configuration NEW of a front end into place as CONF
# (mode 0600: it may hold secrets) unless it is the same; returns 0 if it
# changed. The running server, if any, must then be restarted by the caller.
install_conf() {
	local new=$1 conf=$2
	if [ -f "$conf" ] && cmp -s "$new" "$conf"; then
		rm -f "$new"
		return 1
	fi
	chmod 0600 "$new"
	mv -f "$new" "$conf"
}
