# scripts/lib/workers.sh: the worker sets and the engine, sourced by
# scripts/stack (its settings and helpers are the script's). A worker set is
# spawn-fcgi binding VAR_DIR/run/E.sock and exec'ing multiwatch, which
# keeps WORKERS copies of executable E alive on that socket, in a session of
# its own; the engine is video-complete --engine under multiwatch. Here:
# their environment and fingerprint, start and stop, up's part, and
# reload's replacement of a running set (new before old).

# The environment of the workers: PATH and the configuration, nothing else.
worker_env() {
	local v
	WENV=(PATH="$WORKER_PATH" DATABASE_URL="$DATABASE_URL" ENGINE_DATABASE_URL="$ENGINE_DATABASE_URL"
		CACHE_PATH="$CACHE_PATH"
		OUTBOX_PATH="$OUTBOX_PATH" DOWNLOAD_DIR="$DOWNLOAD_DIR"
		WEBHOOK_SECRET="$WEBHOOK_SECRET" MEDIA_DIR="$MEDIA_DIR" PUBLIC_BASE_URL="$PUBLIC_BASE_URL"
		# A local stack: its metrics open to loopback (the laboratory, top).
		METRICS_ALLOW_LOOPBACK="${METRICS_ALLOW_LOOPBACK:-1}")
	for v in "${PASS_VARS[@]}"; do
		case $v in
		ASAN_OPTIONS | UBSAN_OPTIONS | LSAN_OPTIONS) ;;
		*) [[ -v $v ]] && WENV+=("$v=${!v}") ;;
		esac
	done
	# Sanitizer builds report into one folder, whoever starts or restarts
	# them and whatever options the caller gives: a test run reads it
	# (tests/sanitizer-reports) and fails on any report.
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		WENV+=("$v=$(sanitizer_options "${!v:-}")")
	done
	return 0
}

# Sanitizer OPTIONS (colon-separated) with our report folder as log_path,
# in place of any the caller gave.
sanitizer_options() {
	local opt out=''
	local -a opts=()
	IFS=: read -r -a opts <<<"$1"
	for opt in "${opts[@]}"; do
		[ -n "$opt" ] && [[ $opt != log_path=* ]] && out+=$opt:
	done
	printf '%slog_path=%s\n' "$out" "$LOG_DIR/sanitizer/asan"
}

# A fingerprint of what a worker set runs: executable (and its identity on
# disk, so that a rebuilt one counts as a change), count, environment.
worker_spec() {
	spec_of "$1" "$RUN_BIN_DIR/$1" "$(workers_for "$1")"
}

# The fingerprint of NAME running EXE (COUNT copies, or its arguments),
# with memcheck's command line and suppressions when VALGRIND=1.
spec_of() {
	worker_env
	worker_wrap
	{
		printf '%s\n' "$1" "$2" "$3"
		stat -L -c '%d %i %s %Y' "$2" 2>/dev/null || true
		printf '%s\n' "${WENV[@]}" "${WRAP[@]}"
		[ -z "${VALGRIND_SUPP:-}" ] || sha256sum <"$VALGRIND_SUPP"
	} | sha256sum | cut -d' ' -f1
}

# Stops the worker sets named as arguments (the engine's set is "engine"),
# all at once: TERM to each
# multiwatch (which sends its workers SIGUSR1, libfcgi's "finish the
# request, then exit"), KILL to the process groups after STOP_TIMEOUT_S.
# Also stops workers that outlived a lost pid file (they still hold the
# socket). Removes the pid, spec and (unless a stranger holds it) socket files.
stop_workers() {
	local e pid pgid comm groups=() known
	for e in "$@"; do
		known=''
		if [ -f "$RUN_DIR/$e.pid" ]; then
			pid=$(head -n1 "$RUN_DIR/$e.pid" 2>/dev/null || true)
			if [[ $pid =~ ^[0-9]+$ ]] && { pid_is "$pid" multiwatch || group_alive "$pid"; }; then
				say "stopping $e workers (multiwatch pid $pid)"
				groups+=("$e=$pid")
				known=" $pid "
			fi
		fi
		for pid in $(socket_owners "$RUN_DIR/$e.sock"); do
			comm=$(comm_of "$pid") || continue
			pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
			if [[ $comm =~ ^($OUR_COMMS)$ ]] && [[ $known != *" $pgid "* ]]; then
				say "stopping leftover $e processes (process group $pgid) on $RUN_DIR/$e.sock"
				groups+=("$e=$pgid")
				known+=" $pgid "
			fi
		done
	done
	[ ${#groups[@]} -eq 0 ] || stop_groups "${groups[@]}"
	for e in "$@"; do
		rm -f "$RUN_DIR/$e.pid" "$RUN_DIR/$e.spec"
		# The socket file goes too, unless a stranger listens on it.
		if [ -e "$RUN_DIR/$e.sock" ] && [ -z "$(socket_owners "$RUN_DIR/$e.sock")" ]; then
			rm -f "$RUN_DIR/$e.sock"
		fi
	done
}

# Starts worker set E in its own session, logging to VAR_DIR/log/E.log,
# listening on SOCK (default: run/E.sock; reload's new set binds another
# path first).
start_workers() {
	local e=$1 sock=${2:-$RUN_DIR/$1.sock} n pid owners deadline
	local log=$LOG_DIR/$e.log
	n=$(workers_for "$e")
	if [ -e "$sock" ]; then
		owners=$(socket_owners "$sock")
		[ -z "$owners" ] ||
			die "$sock is in use by pid(s) $(echo "$owners" | tr '\n' ' ')that this script did not start; stop them first"
		rm -f "$sock"	# stale: nobody listens on it
	fi
	worker_env
	worker_wrap
	say "starting $n $e worker(s)${WRAP:+ under memcheck}"
	printf '%s: === %s: starting %s worker(s) of %s%s ===\n' "$PROG" "$(date -u +%FT%TZ)" "$n" \
		"$RUN_BIN_DIR/$e" "${WRAP:+ under memcheck}" >>"$log"
	# setsid: own session and process group (pgid = multiwatch's pid), so that
	# a Ctrl-C in the caller's terminal does not reach it and down can kill
	# the group. spawn-fcgi -n execs multiwatch, so $! is multiwatch's pid.
	# shellcheck disable=SC2034 # exec_with_env's
	local -a wenv=("${WENV[@]}" LOG_PATH="$log")
	(cd / && close_extra_fds && exec_with_env wenv setsid /usr/bin/spawn-fcgi -n -s "$sock" \
		-U www-data -G www-data -M 0660 -u www-data -g www-data -- \
		/usr/bin/multiwatch -f "$n" -r 1000 -t 2000 -- "${WRAP[@]}" "$RUN_BIN_DIR/$e") \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$RUN_DIR/$e.pid"
	# Wait until spawn-fcgi has bound the socket and become multiwatch.
	deadline=$((SECONDS + READY_TIMEOUT_S))
	until pid_is "$pid" multiwatch && [ -S "$sock" ]; do
		if ! alive "$pid" || [ $SECONDS -ge $deadline ]; then
			show_log_tail "$log"
			die "the $e worker set did not start (log: $log)"
		fi
		sleep 0.05
	done
	worker_spec "$e" >"$RUN_DIR/$e.spec"
}

# The inode of the listening socket that the worker set of multiwatch PID
# serves (spawn-fcgi gave it as fd 0), as ss -x's "port" column shows it:
# what names that socket once its path belongs to another one (ss keeps
# showing the path it was bound to).
socket_inode() {
	local link
	link=$(readlink "/proc/$1/fd/0" 2>/dev/null) || return 0
	[[ $link =~ ^socket:\[([0-9]+)\]$ ]] && printf '%s\n' "${BASH_REMATCH[1]}"
	return 0
}

# Waits (at most STOP_TIMEOUT_S) until the listening socket of inode INO
# has no connection left in its backlog: ss -xl's Recv-Q.
wait_backlog_empty() {
	local ino=$1 queued deadline=$((SECONDS + STOP_TIMEOUT_S))
	while :; do
		queued=$(ss -xlH 2>/dev/null | awk -v i="$ino" '$6 == i { print $3; exit }')
		[ -n "$queued" ] && [ "$queued" -gt 0 ] || return 0
		[ $SECONDS -lt $deadline ] || { say "$queued connection(s) still queued at the old socket after ${STOP_TIMEOUT_S} s"; return 0; }
		sleep 0.05
	done
}

# Waits until a worker of set E answers a FastCGI request on SOCK directly
# (GET /api/health: personas answers it, the others a JSON 404 naming
# personas; any answer will do).
probe_workers() {
	local e=$1 sock=$2 deadline=$((SECONDS + READY_TIMEOUT_S))
	until env -i REQUEST_METHOD=GET REQUEST_URI=/api/health SCRIPT_NAME='' PATH_INFO=/api/health \
		SERVER_PROTOCOL=HTTP/1.1 REMOTE_ADDR=127.0.0.1 timeout 5 \
		cgi-fcgi -bind -connect "$sock" 2>/dev/null </dev/null | grep -qi '^content-type:'; do
		if [ $SECONDS -ge $deadline ]; then
			show_log_tail "$LOG_DIR/$e.log"
			die "the new $e workers do not answer on $sock after ${READY_TIMEOUT_S} s (log: $LOG_DIR/$e.log)"
		fi
		sleep 0.05
	done
}

# Replaces worker set E while requests come in, the new set up before the
# old one goes. The new set binds run/E.next.sock and answers a probe there;
# rename(2) then gives it the path run/E.sock in one step, so that every
# later connection of the front end (which connects by path) reaches it and
# none is refused meanwhile. The old set accepts what its backlog already
# holds, then is asked to stop: each worker finishes the request in hand
# (multiwatch passes TERM on as USR1), and what lingers past RELOAD_DRAIN_S
# (the front ends' own bound on an answer) is killed.
replace_workers() {
	local e=$1 sock=$RUN_DIR/$1.sock next=$RUN_DIR/$1.next.sock old ino=''
	if old=$(live_pid_from "$RUN_DIR/$e.pid" multiwatch) && [ -S "$sock" ]; then
		ino=$(socket_inode "$old")
	fi
	if [ -z "$ino" ]; then
		say "$e workers are not running: starting them"
		stop_workers "$e"
		start_workers "$e"
		return
	fi
	rm -f "$next"
	start_workers "$e" "$next"
	probe_workers "$e" "$next"
	mv -f "$next" "$sock"
	say "$e: the new set (multiwatch pid $(cat "$RUN_DIR/$e.pid")) serves $sock; the old one (pid $old) finishes"
	wait_backlog_empty "$ino"
	STOP_TIMEOUT_S=$RELOAD_DRAIN_S stop_groups "$e=$old"
}

# up's part for the worker sets: a set that runs with the same spec is left
# alone; the others are stopped together (in parallel: each stop may take
# STOP_TIMEOUT_S) and started again.
workers_up() {
	local e pid todo=()
	for e in "${EXES[@]}"; do
		if pid=$(live_pid_from "$RUN_DIR/$e.pid" multiwatch) && [ -S "$RUN_DIR/$e.sock" ]; then
			if [ "$(cat "$RUN_DIR/$e.spec" 2>/dev/null)" = "$(worker_spec "$e")" ]; then
				say "$e workers already running (multiwatch pid $pid)"
				continue
			fi
			say "$e workers run with other settings or an older executable: restarting them"
		fi
		todo+=("$e")
	done
	[ ${#todo[@]} -gt 0 ] || return 0
	stop_workers "${todo[@]}"
	for e in "${todo[@]}"; do
		start_workers "$e"
	done
}

# --------------------------------------------------------------- engine ---

# The engine's fingerprint, as worker_spec's.
engine_spec() {
	spec_of engine "$RUN_BIN_DIR/video-complete" --engine
}

# Starts the engine (video-complete --engine) as www-data under multiwatch,
# which starts it again when it dies, in its own session; waits until it
# has opened (or created) the outbox.
start_engine() {
	local pid deadline log=$LOG_DIR/engine.log size
	worker_env
	worker_wrap
	size=$(stat -c %s "$log" 2>/dev/null || echo 0)
	say "starting the engine (video-complete --engine)${WRAP:+ under memcheck}"
	printf '%s: === %s: starting the engine %s%s ===\n' "$PROG" "$(date -u +%FT%TZ)" \
		"$RUN_BIN_DIR/video-complete" "${WRAP:+ under memcheck}" >>"$log"
	# shellcheck disable=SC2034 # exec_with_env's
	local -a wenv=("${WENV[@]}" LOG_PATH="$log")
	(cd / && close_extra_fds && exec_with_env wenv setsid /usr/bin/setpriv \
		--reuid=www-data --regid=www-data --init-groups -- \
		/usr/bin/multiwatch -f 1 -r 1000 -t 2000 -- "${WRAP[@]}" "$RUN_BIN_DIR/video-complete" --engine) \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$RUN_DIR/engine.pid"
	deadline=$((SECONDS + READY_TIMEOUT_S))
	until pid_is "$pid" multiwatch && [ -f "$OUTBOX_PATH" ] &&
		tail -c +$((size + 1)) "$log" 2>/dev/null | grep -q 'engine: started'; do
		if ! alive "$pid" || [ $SECONDS -ge $deadline ]; then
			show_log_tail "$log"
			die "the engine did not start (log: $log)"
		fi
		sleep 0.05
	done
	engine_spec >"$RUN_DIR/engine.spec"
}

engine_up() {
	local pid
	if pid=$(live_pid_from "$RUN_DIR/engine.pid" multiwatch) &&
		[ "$(cat "$RUN_DIR/engine.spec" 2>/dev/null)" = "$(engine_spec)" ]; then
		say "engine already running (multiwatch pid $pid)"
		return
	fi
	stop_workers engine
	start_engine
}

# Prints who listens on TCP port PORT (empty if nobody).
tcp_port_owner() {
	ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:.*' | head -n1 || true
}
