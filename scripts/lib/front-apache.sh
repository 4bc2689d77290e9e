# scripts/lib/front-apache.sh: what the two Apache front ends share
# (FRONT=apache-fcgid and FRONT=apache-cgi, each in a file of its own),
# sourced by scripts/stack (see scripts/lib/fronts.sh). NAME below is the
# front end: each has its configuration VAR_DIR/NAME.conf, its runtime
# folder VAR_DIR/NAME/ and its pid file VAR_DIR/run/NAME.pid; both log to
# VAR_DIR/log/apache-error.log and apache-access.log.

readonly APACHE=/usr/sbin/apache2
# Apache's environment: nothing of ours (what a worker needs is in its
# configuration, FcgidInitialEnv, or in the settings file).
# shellcheck disable=SC2034 # exec_with_env's
readonly APACHE_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C)

# Prepares what an Apache front end writes: its runtime folder (www-data's:
# mod_fcgid's sockets and process table, locks) and the
# logs (opened by Apache as root).
apache_tree() {
	local name=$1 f
	install -d -m 0750 -o www-data -g www-data "$VAR_DIR/$name"
	for f in apache-error.log apache-access.log; do
		[ -f "$LOG_DIR/$f" ] || install -m 0640 -o root -g www-data /dev/null "$LOG_DIR/$f"
	done
}

# Checks the rendered configuration NEW and puts it in place; (re)starts
# Apache NAME unless it runs with that very configuration.
apache_up() {
	local name=$1 new=$2 conf=$VAR_DIR/$1.conf pid changed=0
	if ! (exec_with_env APACHE_ENV "$APACHE" -t -f "$new") >"$new.check" 2>&1; then
		sed 's/^/    /' "$new.check" >&2
		die "Apache refuses the generated configuration $new"
	fi
	rm -f "$new.check"
	install_conf "$new" "$conf" && changed=1
	if pid=$(apache_pid "$name"); then
		if [ "${FRONT_RELOAD:-0}" = 1 ]; then
			# USR1, a graceful restart: children finish their requests.
			front_reload "Apache ($name)" "$name" apache2 "$LOG_DIR/apache-error.log" USR1
			return
		fi
		if [ $changed -eq 0 ]; then
			say "$name: Apache already running (pid $pid)"
			return
		fi
		say "$name: Apache's configuration changed: restarting it"
		apache_stop "$name"
	fi
	apache_start "$name"
}

# In the foreground: $! is the parent's pid, as its PidFile says.
apache_start() {
	front_launch "Apache ($1)" "$1" apache2 "$LOG_DIR/apache-error.log" \
		exec_with_env APACHE_ENV setsid "$APACHE" -f "$VAR_DIR/$1.conf" -DFOREGROUND
}

# Stops Apache NAME: SIGTERM to the parent, which stops its children and
# (mod_fcgid) the FastCGI processes it spawned; what is left after
# STOP_TIMEOUT_S is killed with the process group.
apache_stop() {
	front_halt "Apache ($1)" "$1" apache2
}

# A graceful restart (USR1) opens Apache's logs again, as Debian's own
# logrotate file for apache2 does; waits until Apache answers again.
apache_reopen_logs() {
	if apache_pid "$1" >/dev/null; then
		front_reload "Apache ($1)" "$1" apache2 "$LOG_DIR/apache-error.log" USR1
	fi
}

apache_pid() {
	live_pid_from "$RUN_DIR/$1.pid" apache2
}

# Prints TEXT quoted for an Apache directive ("...", with \ and " escaped).
apache_quote() {
	local v=$1
	[[ $v != *$'\n'* ]] || die "a value for Apache's configuration holds a newline: $v"
	v=${v//\\/\\\\}
	printf '"%s"' "${v//\"/\\\"}"
}

# The identity of the executables on disk, as a comment: a rebuilt one
# changes the configuration, so that up restarts what runs the old one.
apache_exe_identity() {
	local e
	for e in "$@"; do
		printf '# %s: %s\n' "$e" "$(stat -L -c '%d %i %s %Y' "$e" 2>/dev/null || echo missing)"
	done
}
