# scripts/lib/front-nginx.sh: FRONT=nginx, sourced by scripts/stack (see
# scripts/lib/fronts.sh). nginx serves www/, MEDIA_DIR under /media/ and
# /api/... through the spawn-fcgi worker sets' sockets (fastcgi_pass), from
# conf/nginx.conf.in rendered into VAR_DIR/nginx.conf. The master runs as
# root (the port, the logs) and its one worker process as www-data; pid,
# logs and scratch folders are all under VAR_DIR.

readonly NGINX=/usr/sbin/nginx

# The upstream keepalive line for worker set E: half its workers (below
# their number: see the keepalive trap in conf/nginx.conf.in), none for a
# set of one.
nginx_keepalive() {
	local n
	n=$(workers_for "$1")
	if [ "$n" -ge 2 ]; then
		printf 'keepalive %s;\n' $((n / 2))
	else
		printf '# no keepalive: a set of one worker\n'
	fi
}

# Prints nginx's configuration: conf/nginx.conf.in, rendered.
nginx_conf() {
	local v
	for v in VAR_DIR WWW_DIR MEDIA_DIR; do
		conf_safe "$v" "${!v}"
	done
	# shellcheck disable=SC2034 # read by render_template
	TPL=([PORT]=$PORT [WWW_DIR]=$WWW_DIR [MEDIA_DIR]=${MEDIA_DIR%/} [RUN_DIR]=$RUN_DIR
		[LOG_DIR]=$LOG_DIR [NGINX_DIR]=$VAR_DIR/nginx [ERRORS_DIR]=$VAR_DIR/errors
		[KEEPALIVE_PERSONAS]=$(nginx_keepalive personas)
		[KEEPALIVE_IDLE_VIDEO]=$(nginx_keepalive idle-video)
		[KEEPALIVE_VIDEO_COMPLETE]=$(nginx_keepalive video-complete))
	printf '# Written by scripts/stack from conf/nginx.conf.in on every up; edits are lost.\n'
	render_template "$ROOT/conf/nginx.conf.in"
}

# nginx's command line, with CONF (prefix, startup error log, configuration).
nginx_cmd() {
	NGINX_CMD=("$NGINX" -p "$VAR_DIR/nginx/" -e "$LOG_DIR/nginx-error.log" -c "$1")
}

# up's nginx part: render and test the configuration; leave a running nginx
# alone if it did not change.
nginx_up() {
	local pid conf=$VAR_DIR/nginx.conf new=$VAR_DIR/nginx.conf.new changed=0
	api_error_pages
	install -d -m 0750 -o www-data -g www-data "$VAR_DIR/nginx"
	[ -f "$LOG_DIR/nginx-error.log" ] || install -m 0640 -o www-data -g www-data /dev/null "$LOG_DIR/nginx-error.log"
	[ -f "$LOG_DIR/nginx-access.log" ] || install -m 0640 -o www-data -g www-data /dev/null "$LOG_DIR/nginx-access.log"
	(umask 077 && nginx_conf >"$new")
	nginx_cmd "$new"
	if ! "${NGINX_CMD[@]}" -t -q >"$new.check" 2>&1; then
		sed 's/^/    /' "$new.check" >&2
		die "nginx refuses the generated configuration $new"
	fi
	rm -f "$new.check"
	install_conf "$new" "$conf" && changed=1
	if pid=$(nginx_pid); then
		if [ "${FRONT_RELOAD:-0}" = 1 ]; then
			# HUP: new worker processes with the new configuration,
			# the old ones finish their requests and exit.
			front_reload nginx nginx nginx "$LOG_DIR/nginx-error.log" HUP
			return
		fi
		if [ $changed -eq 0 ]; then
			say "nginx already running (pid $pid)"
			return
		fi
		say "nginx's configuration changed: restarting it"
		nginx_stop
	fi
	nginx_start
}

# In the foreground (daemon off): $! is the master's pid, as the pid file
# says; its stderr goes to the error log too.
nginx_start() {
	nginx_cmd "$VAR_DIR/nginx.conf"
	front_launch nginx nginx nginx "$LOG_DIR/nginx-error.log" \
		exec setsid "${NGINX_CMD[@]}" -g 'daemon off;'
}

nginx_stop() {
	front_halt nginx nginx nginx
}

# USR1: nginx opens its logs again.
nginx_reopen_logs() { front_signal nginx nginx USR1; }

nginx_pid() {
	live_pid_from "$RUN_DIR/nginx.pid" nginx
}

nginx_log() {
	printf '%s\n' "$LOG_DIR/nginx-error.log"
}

nginx_status() {
	local pid
	if pid=$(nginx_pid); then
		printf '%-15s running  pid=%s port=%s conf=%s\n' nginx "$pid" "$PORT" "$VAR_DIR/nginx.conf"
	else
		printf '%-15s stopped\n' nginx
		return 1
	fi
}
