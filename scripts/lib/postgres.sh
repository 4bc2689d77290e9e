# scripts/lib/postgres.sh: the stack's PostgreSQL cluster, sourced by
# scripts/stack (its settings and helpers are the script's): initdb as the
# user postgres, configuration, start, stop and readiness, roles and the
# schema. pg_up is up's part.

# Runs pg_ctl as postgres; the postmaster it starts inherits no descriptor
# of ours but 0-2 (see close_extra_fds).
pg_ctl_as_postgres() {
	(cd / && close_extra_fds && exec runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA" "$@")
}

# Prints the postmaster's pid if our cluster is running: the pid in
# postmaster.pid must be a live postgres whose working directory is PGDATA
# (a recycled pid is not mistaken for it).
pg_pid() {
	local pid
	pid=$(live_pid_from "$PGDATA/postmaster.pid" postgres) || return 1
	[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f "$PGDATA")" ] || return 1
	printf '%s\n' "$pid"
}

# Pids of leftover processes of the cluster (backends that outlived a killed
# postmaster): postgres processes whose working directory is PGDATA.
pg_leftovers() {
	local pid data
	data=$(readlink -f "$PGDATA")
	for pid in $(pgrep -u postgres -x postgres 2>/dev/null || true); do
		[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ] && printf '%s\n' "$pid"
	done
	return 0
}

# Creates the cluster if there is none.
pg_init() {
	[ -f "$PGDATA/PG_VERSION" ] && return
	say "creating the PostgreSQL cluster in $PGDATA"
	[ ! -e "$PGDATA" ] || [ -z "$(ls -A "$PGDATA")" ] ||
		die "$PGDATA exists but holds no cluster; remove it (scripts/stack down --purge)"
	# -N: no fsync during initdb; the cluster is disposable (see pg_configure).
	as_user postgres "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth-local=peer \
		--auth-host=scram-sha-256 -E UTF8 \
		--locale=C.UTF-8 -N >"$PG_DIR/initdb.log" 2>&1 || {
		show_log_tail "$PG_DIR/initdb.log"
		die "initdb failed (log: $PG_DIR/initdb.log)"
	}
	# Our settings live in lab.conf, rewritten on every up.
	printf "\n# Added by scripts/stack: the lab's settings, rewritten on every up.\ninclude = 'lab.conf'\n" \
		>>"$PGDATA/postgresql.conf"
}

# Writes lab.conf and pg_hba.conf; returns 0 if lab.conf changed.
pg_configure() {
	local changed=1
	if write_if_changed "$PGDATA/lab.conf" "# Written by scripts/stack on every up; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = $PG_MAX_CONNECTIONS
shared_preload_libraries = 'pg_stat_statements'
# Statements as the clients send them: a function's inner statements are not
# counted again (the laboratory's and the tests' ground truth).
pg_stat_statements.track = top
# A throwaway laboratory cluster: durability is traded for speed. A crash of
# the machine may corrupt it; scripts/stack down --purge and up rebuild it.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '"; then
		changed=0
	fi
	# Nothing is trusted: the machine may have other users. The superuser
	# only over the unix socket, for the OS users root and postgres (map
	# admin); the service roles with their passwords (VAR_DIR/secrets/pgpass).
	if write_if_changed "$PGDATA/pg_hba.conf" "# Written by scripts/stack on every up; edits are lost.
local   all   postgres                        peer map=admin
local   app   app,app_engine                  scram-sha-256
host    app   app,app_engine   127.0.0.1/32   scram-sha-256"; then
		HBA_CHANGED=1
	fi
	if write_if_changed "$PGDATA/pg_ident.conf" "# Written by scripts/stack on every up; edits are lost.
admin   root       postgres
admin   postgres   postgres"; then
		HBA_CHANGED=1
	fi
	chown postgres:postgres "$PGDATA/lab.conf" "$PGDATA/pg_hba.conf" "$PGDATA/pg_ident.conf"
	chmod 0600 "$PGDATA/lab.conf" "$PGDATA/pg_hba.conf" "$PGDATA/pg_ident.conf"
	return $changed
}

# Clears what a killed postmaster leaves behind, before a start: waits for
# its orphaned backends (they exit on their own when they notice; they still
# hold the shared memory), then removes its postmaster.pid and socket lock
# files. PostgreSQL ignores those when their pid is gone, but not when it is a
# zombie not yet reaped (seen here: pid 1 reaps late) or a recycled pid.
# Called only when pg_pid found no live postmaster of ours.
pg_clear_crash_leftovers() {
	local pid deadline lock
	deadline=$((SECONDS + STOP_TIMEOUT_S))
	while [ -n "$(pg_leftovers)" ]; do
		if [ $SECONDS -ge $deadline ]; then
			say "killing leftover PostgreSQL processes: $(pg_leftovers | tr '\n' ' ')"
			# shellcheck disable=SC2046
			kill -KILL $(pg_leftovers) 2>/dev/null || true
			sleep 0.3
			break
		fi
		sleep 0.1
	done
	if [ -f "$PGDATA/postmaster.pid" ]; then
		pid=$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
		say "removing the stale postmaster.pid of a postmaster that died (pid $pid)"
		rm -f "$PGDATA/postmaster.pid"
	fi
	for lock in "$PG_SOCK"/.s.PGSQL.*.lock; do
		[ -f "$lock" ] || continue
		rm -f "$lock" "${lock%.lock}"
	done
}

# Starts PostgreSQL if it is not running, and waits until it answers.
pg_start() {
	local pid owner
	if pid=$(pg_pid); then
		return 0
	fi
	pg_clear_crash_leftovers
	owner=$(tcp_port_owner "$PG_PORT")
	[ -z "$owner" ] ||
		die "port $PG_PORT is taken by another program ($owner): stop it or choose another PG_PORT"
	say "starting PostgreSQL on port $PG_PORT"
	# pg_ctl -w waits (at most -t seconds) until the server accepts
	# connections; the server's output goes to server.log, never to our
	# stdout (which may be a pipe that a caller reads to its end).
	if ! pg_ctl_as_postgres -l "$PG_DIR/server.log" -w -t 30 start </dev/null >/dev/null 2>&1; then
		show_log_tail "$PG_DIR/server.log"
		die "PostgreSQL did not start (pg_ctl waits at most 30 s; log: $PG_DIR/server.log)"
	fi
	pg_wait_ready
}

# Waits (bounded) until PostgreSQL answers a query over the unix socket.
pg_wait_ready() {
	local deadline=$((SECONDS + READY_TIMEOUT_S))
	until psql_super -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			show_log_tail "$PG_DIR/server.log"
			die "PostgreSQL does not answer on $PG_SOCK port $PG_PORT after ${READY_TIMEOUT_S} s"
		fi
		sleep 0.1
	done
}

# Stops PostgreSQL (fast shutdown; immediate if that does not work).
pg_stop() {
	local pid
	pid=$(pg_pid) || return 0
	say "stopping PostgreSQL (pid $pid)"
	if ! pg_ctl_as_postgres -m fast -w -t 30 stop </dev/null >/dev/null 2>&1; then
		say "fast shutdown did not finish within 30 s; trying immediate shutdown"
		pg_ctl_as_postgres -m immediate -w -t 10 stop </dev/null >/dev/null 2>&1 || true
	fi
	if pid=$(pg_pid); then
		say "PostgreSQL (pid $pid) still runs; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

# Does the running server use the settings we want now?
pg_settings_match() {
	local running
	running=$(psql_super -d postgres -tAc \
		"SELECT current_setting('port') || ' ' || current_setting('max_connections')" 2>/dev/null) ||
		return 1
	[ "$running" = "$PG_PORT $PG_MAX_CONNECTIONS" ]
}

# up's PostgreSQL part: init, configure, (re)start, database, schema.
pg_up() {
	local changed=1 pid
	pg_init
	pg_configure && changed=0
	if pid=$(pg_pid); then
		# The running server may use another port: ask it where it listens.
		local port sock
		port=$(sed -n 4p "$PGDATA/postmaster.pid")
		sock=$(sed -n 5p "$PGDATA/postmaster.pid")
		if [ $changed -eq 0 ] || [ "$port" != "$PG_PORT" ] || [ "$sock" != "$PG_SOCK" ] ||
			! pg_settings_match; then
			say "restarting PostgreSQL (pid $pid) to apply its settings"
			pg_stop
		else
			say "PostgreSQL already running (pid $pid)"
			if [ "${HBA_CHANGED:-0}" = 1 ]; then
				say "reloading PostgreSQL's pg_hba.conf and pg_ident.conf"
				pg_ctl_as_postgres reload </dev/null >/dev/null 2>&1 ||
					die "PostgreSQL did not take the new pg_hba.conf"
			fi
		fi
	fi
	pg_start
	if [ -z "$(psql_super -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'app'")" ]; then
		say "creating the database app"
		psql_super -d postgres -c 'CREATE DATABASE app' >/dev/null ||
			die "could not create the database app"
	fi
	PGOPTIONS="-c client_min_messages=warning" psql_super -d app -f - <"$ROOT/schema/postgres.sql" >/dev/null ||
		die "applying schema/postgres.sql failed"
	# The passwords go on psql's standard input, never on a command line.
	printf "ALTER ROLE app PASSWORD '%s';\nALTER ROLE app_engine PASSWORD '%s';\n" \
		"$(role_password app)" "$(role_password app_engine)" | psql_super -d app -f - >/dev/null ||
		die "could not set the passwords of the roles app and app_engine"
}
