# scripts/lib/front-apache-cgi.sh: FRONT=apache-cgi, sourced by
# scripts/stack (see scripts/lib/fronts.sh). Apache 2.4 with mod_cgi runs
# the executables as plain CGI, a process per request, laid out as on a
# shared host: VAR_DIR/hosting stands for the customer's home,
#   hosting/public_html/             the pages (copies of www/), the shipped
#                                    .htaccess (conf/htaccess), fpl-errors/
#   hosting/public_html/cgi-bin/     personas.cgi, idle-video.cgi,
#                                    video-complete.cgi (copies) and their
#                                    settings file fcgi-pool-lab.conf
#   hosting/logs/                    the timer's log
# and the server's configuration (conf/apache-cgi.conf.in, rendered into
# VAR_DIR/apache-cgi.conf) only allows that .htaccess. The settings reach
# the executables through the settings file alone (Apache passes them no
# environment of ours). No process of ours lives: the background work is
# the shipped cron line's command (conf/fcgi-pool-lab.cron), which the
# drain loop (fpl-drain, as www-data) runs every DRAIN_INTERVAL_S seconds.

readonly CGI_SETTINGS_NAME=fcgi-pool-lab.conf

# The customer's home and document root.
hosting_dir() { printf '%s\n' "$VAR_DIR/hosting"; }
docroot_dir() { printf '%s\n' "$VAR_DIR/hosting/public_html"; }

# Prints the settings file of the executables: every worker setting as a
# KEY=value line (the environment's names and values; PGPASSFILE too, which
# the executables hand on to libpq).
cgi_settings() {
	local kv v
	printf '# Settings of fcgi-pool-lab, read by the executables beside this file\n'
	printf '# (or the file named by FPL_CONFIG); the environment, where there is\n'
	printf '# one, wins. KEY=value a line, # comments. Written by scripts/stack.\n'
	worker_env
	for kv in "${WENV[@]}"; do
		case ${kv%%=*} in
		PATH | ASAN_OPTIONS | UBSAN_OPTIONS | LSAN_OPTIONS) continue ;;
		esac
		[[ $kv != *$'\n'* ]] || die "the setting ${kv%%=*} holds a newline: it cannot go into the settings file"
		# The reader trims blanks around a value and removes one pair of
		# quotes around it: such a value goes between quotes of its own.
		v=${kv#*=}
		if [[ $v =~ ^[[:space:]] || $v =~ [[:space:]]$ || $v == [\"\']* ]]; then
			kv=${kv%%=*}=\"$v\"
		fi
		printf '%s\n' "$kv"
	done
}

# Lays out the customer's public_html in a new folder and puts it in place
# unless it is the same as the one in place (Apache reads it at each request).
stage_hosting() {
	local home docroot new e
	home=$(hosting_dir)
	docroot=$(docroot_dir)
	new=$home/public_html.new
	install -d -m 0750 -o root -g www-data "$home"
	install -d -m 0750 -o www-data -g www-data "$home/logs"
	rm -rf "$new"
	install -d -m 0750 -o root -g www-data "$new"
	if [ -d "$ROOT/www" ]; then
		cp -R "$ROOT/www/." "$new/"
	fi
	install -m 0640 "$ROOT/conf/htaccess" "$new/.htaccess"
	api_error_pages "$new/fpl-errors"
	install -d -m 0750 "$new/cgi-bin"
	for e in "${EXES[@]}"; do
		install -m 0750 "$BIN_DIR/$e" "$new/cgi-bin/$e.cgi"
	done
	(umask 027 && cgi_settings >"$new/cgi-bin/$CGI_SETTINGS_NAME")
	chown -R root:www-data "$new"
	chmod -R g+rX,g-w,o-rwx "$new"
	chmod 0640 "$new/cgi-bin/$CGI_SETTINGS_NAME"
	if [ -d "$docroot" ] && diff -r -q "$new" "$docroot" >/dev/null 2>&1 &&
		[ "$(stat -c %a "$docroot/cgi-bin/$CGI_SETTINGS_NAME" 2>/dev/null)" = 640 ]; then
		rm -rf "$new"
		return
	fi
	say "apache-cgi: laying out $docroot (pages, .htaccess, cgi-bin/*.cgi, $CGI_SETTINGS_NAME)"
	rm -rf "$docroot.old"
	[ ! -d "$docroot" ] || mv "$docroot" "$docroot.old"
	mv "$new" "$docroot"
	rm -rf "$docroot.old"
}

apache_cgi_conf() {
	local v
	for v in VAR_DIR MEDIA_DIR; do
		conf_safe "$v" "${!v}" quoted
	done
	# shellcheck disable=SC2034 # read by render_template
	TPL=([PORT]=$PORT [DOCROOT]=$(docroot_dir) [MEDIA_DIR]=${MEDIA_DIR%/} [RUN_DIR]=$RUN_DIR
		[LOG_DIR]=$LOG_DIR [APACHE_DIR]=$VAR_DIR/apache-cgi)
	printf '# Written by scripts/stack from conf/apache-cgi.conf.in on every up; edits are lost.\n'
	render_template "$ROOT/conf/apache-cgi.conf.in"
}

apache_cgi_up() {
	local new=$VAR_DIR/apache-cgi.conf.new
	stage_hosting
	apache_tree apache-cgi
	(umask 077 && apache_cgi_conf >"$new")
	apache_up apache-cgi "$new"
	drain_up
}

apache_cgi_start() { apache_start apache-cgi; drain_up; }
apache_cgi_stop() { drain_stop; apache_stop apache-cgi; }
apache_cgi_pid() { apache_pid apache-cgi; }
apache_cgi_reopen_logs() { apache_reopen_logs apache-cgi; }
apache_cgi_log() { printf '%s\n' "$LOG_DIR/apache-error.log"; }

apache_cgi_status() {
	local pid e rc=0
	if pid=$(apache_cgi_pid); then
		printf '%-15s running  pid=%s port=%s conf=%s\n' apache-cgi "$pid" "$PORT" "$VAR_DIR/apache-cgi.conf"
	else
		printf '%-15s stopped\n' apache-cgi
		rc=1
	fi
	for e in "${EXES[@]}"; do
		printf '%-15s cgi      %s (a process per request)\n' "$e" "$(docroot_dir)/cgi-bin/$e.cgi"
	done
	if pid=$(live_pid_from "$RUN_DIR/drain.pid" fpl-drain); then
		printf '%-15s running  pid=%s every=%ss command=%s\n' drain "$pid" "$DRAIN_INTERVAL_S" "$(drain_command)"
	else
		printf '%-15s stopped\n' drain
		rc=1
	fi
	return $rc
}

# ---------------------------------------------------------- the timer ---

# The command of the shipped cron line (its first line that is not a
# comment, without the five time fields).
drain_command() {
	local line cmd
	line=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$ROOT/conf/fcgi-pool-lab.cron" | head -n1)
	read -r _ _ _ _ _ cmd <<<"$line"
	[ -n "$cmd" ] || die "conf/fcgi-pool-lab.cron has no cron line"
	printf '%s\n' "$cmd"
}

# What the drain loop runs, as a fingerprint: a change restarts it.
drain_spec() {
	printf '%s\n' "$DRAIN_INTERVAL_S" "$(drain_command)" "$(hosting_dir)" | sha256sum | cut -d' ' -f1
}

# Starts the drain loop (scripts/lib/fpl-drain, copied into VAR_DIR/bin so
# that www-data may run it) unless it runs with the same spec.
drain_up() {
	local pid log=$LOG_DIR/drain.log
	local -a cron_env
	if pid=$(live_pid_from "$RUN_DIR/drain.pid" fpl-drain) &&
		[ "$(cat "$RUN_DIR/drain.spec" 2>/dev/null)" = "$(drain_spec)" ]; then
		say "drain loop already running (pid $pid)"
		return
	fi
	drain_stop
	install -d -m 0755 "$VAR_DIR/bin"
	install -m 0755 "$ROOT/scripts/lib/fpl-drain" "$VAR_DIR/bin/fpl-drain"
	[ -f "$log" ] || install -m 0640 -o root -g www-data /dev/null "$log"
	say "starting the drain loop: every $DRAIN_INTERVAL_S s, the command of conf/fcgi-pool-lab.cron"
	# cron's environment: HOME (the site's), a plain PATH, sh.
	# shellcheck disable=SC2034 # exec_with_env's
	cron_env=(HOME="$(hosting_dir)" PATH=/usr/bin:/bin SHELL=/bin/sh LOGNAME=www-data)
	(cd / && close_extra_fds && exec_with_env cron_env setsid /usr/bin/setpriv \
		--reuid=www-data --regid=www-data --init-groups -- \
		"$VAR_DIR/bin/fpl-drain" "$DRAIN_INTERVAL_S" "$(drain_command)") \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$RUN_DIR/drain.pid"
	drain_spec >"$RUN_DIR/drain.spec"
}

drain_stop() {
	local pid
	if pid=$(live_pid_from "$RUN_DIR/drain.pid" fpl-drain); then
		say "stopping the drain loop (pid $pid)"
		stop_groups "drain=$pid"
	fi
	rm -f "$RUN_DIR/drain.pid" "$RUN_DIR/drain.spec"
}
