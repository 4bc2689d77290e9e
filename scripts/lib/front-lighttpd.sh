# scripts/lib/front-lighttpd.sh: FRONT=lighttpd (the default front end),
# sourced by scripts/stack: lighttpd (as www-data) serving www/, MEDIA_DIR
# under /media/ and /api/... through the worker sets' sockets. Its
# configuration is generated here (lighttpd_conf), not from a template.
#   lighttpd_up, lighttpd_start, lighttpd_stop, lighttpd_status, lighttpd_reopen_logs


# Prints lighttpd's configuration.
lighttpd_conf() {
	cat <<EOF
# Written by scripts/stack on every up; edits are lost.
server.modules = ( "mod_rewrite", "mod_alias", "mod_fastcgi", "mod_accesslog" )

server.bind = "127.0.0.1"
server.port = $PORT
server.username = "www-data"
server.groupname = "www-data"
server.document-root = "$WWW_DIR"
server.pid-file = "$RUN_DIR/lighttpd.pid"
server.errorlog = "$LOG_DIR/lighttpd-error.log"
accesslog.filename = "$LOG_DIR/lighttpd-access.log"
# The default format, then the answer's X-Request-Id: the id in the worker's log.
accesslog.format = "%h %V %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" req=%{X-Request-Id}o"

server.max-request-size = 64            # KB: no request body of ours is bigger
server.max-read-idle = 30
server.max-keep-alive-requests = 10000
server.max-connections = 2048
server.max-fds = 8192                   # lighttpd, started as root, raises its limit
server.tag = "lighttpd"
index-file.names = ( "index.html" )

mimetype.assign = (
  ".html" => "text/html; charset=utf-8",
  ".js"   => "text/javascript; charset=utf-8",
  ".css"  => "text/css; charset=utf-8",
  ".json" => "application/json",
  ".mp4"  => "video/mp4",
  ".png"  => "image/png",
  ".svg"  => "image/svg+xml",
  ".txt"  => "text/plain; charset=utf-8",
  ".ico"  => "image/x-icon",
$(api_error_types)
)

# Videos (ours, permanent), with Range support for the players.
alias.url += ( "/media/" => "$MEDIA_DIR/" )

# The API: one worker set per executable, chosen by the (rewritten, decoded,
# query-less) path. Keys of fastcgi.server are prefixes, so the routing is
# done by these conditionals and the key is "/". connect-timeout makes a
# dead worker set answer 503 at once instead of hanging.

# lighttpd's own answers under /api/ (no worker reachable, a body too big,
# a missing Content-Length...) are JSON too, like every API error: the
# files written by api_error_pages, typed application/json by their names
# above. They are the global setting because a request refused while its
# head is read (malformed, headers too large, a POST without
# Content-Length, an unknown method) is answered before any conditional is
# looked at; the pages' own errors stay lighttpd's HTML.
#
# Pages: pretty URLs onto the static files, for what is not the API only,
# so no API URL ever lands on a page (a rule rewriting /api/... onto itself
# did the same, but a rewrite makes lighttpd route the request again).
server.errorfile-prefix = "$VAR_DIR/errors/api-"
\$HTTP["url"] !~ "^/api(/|\$)" {
  server.errorfile-prefix = ""
  url.rewrite-once = (
    "^/\$"                            => "/video-gallery.html",
    "^/video-gallery/?(\\?.*)?\$"      => "/video-gallery.html\$1",
    "^/personas/([^/?]+)/?(\\?.*)?\$"  => "/persona.html\$2",
  )
}

EOF
	local first=1 route re exe
	for route in '^/api/personas$=personas' '^/api/personas/[^/]+/idle-video$=idle-video' \
		'^/api/video-complete$=video-complete' '^/api/=personas'; do
		re=${route%=*}
		exe=${route##*=}
		# shellcheck disable=SC2016 # $HTTP is lighttpd's, not the shell's
		if [ $first -eq 1 ]; then
			printf '%s =~ "%s" {\n' '$HTTP["url"]' "$re"
			first=0
		else
			printf 'else %s =~ "%s" {\n' '$HTTP["url"]' "$re"
		fi
		[ "$re" = '^/api/' ] && printf '  # Any other API path: personas answers a JSON 404.\n'
		cat <<EOF
  fastcgi.server = ( "/" => ((
    "socket" => "$RUN_DIR/$exe.sock",
    "check-local" => "disable",
    "connect-timeout" => 3,
    "disable-time" => 1,
    "fix-root-scriptname" => "enable",   # SCRIPT_NAME "", PATH_INFO = the whole path
  )) )
}
EOF
	done
	if [ -n "${LIGHTTPD_EXTRA_CONF:-}" ]; then
		printf '\n# From LIGHTTPD_EXTRA_CONF=%s (copied, so that a change restarts lighttpd):\n' \
			"$LIGHTTPD_EXTRA_CONF"
		cat -- "$LIGHTTPD_EXTRA_CONF"
	fi
}


# mimetype.assign entries that type each page of api_error_pages by its
# own name (lighttpd appends ".html" to the prefix and the status).
api_error_types() {
	local entry
	for entry in "${API_ERRORS[@]}"; do
		printf '  "api-%s.html" => "application/json",\n' "${entry%%|*}"
	done
}

# up's lighttpd part: regenerate and test the configuration; leave a
# running lighttpd alone if its configuration did not change.
lighttpd_up() {
	local pid new=$LIGHTTPD_CONF.new
	api_error_pages
	if [ -n "${LIGHTTPD_EXTRA_CONF:-}" ] && [ ! -r "$LIGHTTPD_EXTRA_CONF" ]; then
		die "LIGHTTPD_EXTRA_CONF names no readable file: $LIGHTTPD_EXTRA_CONF"
	fi
	lighttpd_conf >"$new"
	if ! /usr/sbin/lighttpd -tt -f "$new" >"$new.check" 2>&1; then
		sed 's/^/    /' "$new.check" >&2
		die "lighttpd refuses the generated configuration $new"
	fi
	rm -f "$new.check"
	# lighttpd reads it again as www-data when it restarts gracefully.
	chgrp www-data "$new"
	chmod 0640 "$new"
	if pid=$(live_pid_from "$RUN_DIR/lighttpd.pid" lighttpd); then
		if [ "${FRONT_RELOAD:-0}" = 1 ]; then
			mv -f "$new" "$LIGHTTPD_CONF"
			front_reload lighttpd lighttpd lighttpd "$LOG_DIR/lighttpd-error.log" USR1
			return
		fi
		if cmp -s "$new" "$LIGHTTPD_CONF"; then
			rm -f "$new"
			say "lighttpd already running (pid $pid)"
			return
		fi
		say "lighttpd's configuration changed: restarting it"
		lighttpd_stop
	fi
	mv -f "$new" "$LIGHTTPD_CONF"
	lighttpd_start
}

# Its stderr (errors before the error log is open) goes to the error log.
lighttpd_start() {
	front_launch lighttpd lighttpd lighttpd "$LOG_DIR/lighttpd-error.log" \
		exec setsid /usr/sbin/lighttpd -D -f "$LIGHTTPD_CONF"
}

lighttpd_stop() {
	front_halt lighttpd lighttpd lighttpd
}

# SIGHUP: lighttpd opens its logs again (USR1 would restart it).
lighttpd_reopen_logs() { front_signal lighttpd lighttpd HUP; }

lighttpd_pid() {
	live_pid_from "$RUN_DIR/lighttpd.pid" lighttpd
}

lighttpd_log() {
	printf '%s\n' "$LOG_DIR/lighttpd-error.log"
}

lighttpd_status() {
	local pid
	if pid=$(lighttpd_pid); then
		printf '%-15s running  pid=%s port=%s\n' lighttpd "$pid" "$PORT"
	else
		printf '%-15s stopped\n' lighttpd
		return 1
	fi
}
