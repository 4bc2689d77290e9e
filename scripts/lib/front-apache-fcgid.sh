# scripts/lib/front-apache-fcgid.sh: FRONT=apache-fcgid, sourced by
# scripts/stack (see scripts/lib/fronts.sh). Apache 2.4 with mod_fcgid, from
# conf/apache-fcgid.conf.in rendered into VAR_DIR/apache-fcgid.conf: Apache
# serves www/ and /media/, and spawns the three executables itself
# (FcgidMaxProcessesPerClass of each, with the workers' settings through
# FcgidInitialEnv). The stack runs no worker sets then; the engine still
# runs beside it.

# The most processes per executable: mod_fcgid has one limit for every
# class, so the largest of the three sets' sizes.
apache_fcgid_workers() {
	local e n max=0
	for e in "${EXES[@]}"; do
		n=$(workers_for "$e")
		[ "$n" -le "$max" ] || max=$n
	done
	printf '%s\n' "$max"
}

# Prints Apache's configuration: conf/apache-fcgid.conf.in, rendered.
apache_fcgid_conf() {
	local v kv env='' n e exes=()
	for v in VAR_DIR WWW_DIR MEDIA_DIR RUN_BIN_DIR; do
		conf_safe "$v" "${!v}" quoted
	done
	worker_env
	for kv in "${WENV[@]}"; do
		env+="FcgidInitialEnv ${kv%%=*} $(apache_quote "${kv#*=}")"$'\n'
	done
	n=$(apache_fcgid_workers)
	# shellcheck disable=SC2034 # read by render_template
	TPL=([PORT]=$PORT [WWW_DIR]=$WWW_DIR [MEDIA_DIR]=${MEDIA_DIR%/} [BIN_DIR]=$RUN_BIN_DIR
		[RUN_DIR]=$RUN_DIR [LOG_DIR]=$LOG_DIR [APACHE_DIR]=$VAR_DIR/apache-fcgid
		[ERRORS_DIR]=$VAR_DIR/errors [WORKERS]=$n [MAX_PROCESSES]=$((3 * n))
		[INITIAL_ENV]=${env%$'\n'})
	for e in "${EXES[@]}"; do
		exes+=("$RUN_BIN_DIR/$e")
	done
	printf '# Written by scripts/stack from conf/apache-fcgid.conf.in on every up; edits are lost.\n'
	apache_exe_identity "${exes[@]}"
	render_template "$ROOT/conf/apache-fcgid.conf.in"
}

apache_fcgid_up() {
	local new=$VAR_DIR/apache-fcgid.conf.new
	api_error_pages
	apache_tree apache-fcgid
	(umask 077 && apache_fcgid_conf >"$new")
	apache_up apache-fcgid "$new"
}

apache_fcgid_start() { apache_start apache-fcgid; }
apache_fcgid_stop() { apache_stop apache-fcgid; }
apache_fcgid_pid() { apache_pid apache-fcgid; }
apache_fcgid_reopen_logs() { apache_reopen_logs apache-fcgid; }
apache_fcgid_log() { printf '%s\n' "$LOG_DIR/apache-error.log"; }

# Pids of the FastCGI processes of executable E that this Apache spawned.
apache_fcgid_workers_of() {
	local pid
	pid=$(apache_fcgid_pid) || return 0
	pgrep -s "$pid" -x "${1:0:15}" 2>/dev/null || true
}

apache_fcgid_status() {
	local pid e n
	if ! pid=$(apache_fcgid_pid); then
		printf '%-15s stopped\n' apache-fcgid
		return 1
	fi
	printf '%-15s running  pid=%s port=%s conf=%s\n' apache-fcgid "$pid" "$PORT" "$VAR_DIR/apache-fcgid.conf"
	for e in "${EXES[@]}"; do
		n=$(apache_fcgid_workers_of "$e" | grep -c . || true)
		printf '%-15s running  processes=%s/%s (spawned by mod_fcgid on demand)\n' "$e" "$n" \
			"$(apache_fcgid_workers)"
	done
}
