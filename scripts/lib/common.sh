# scripts/lib/common.sh: what the bash tools of fcgi-pool-lab share.
# Sourced, never run; the caller sets PROG (its name in messages) and ROOT
# (the checkout) first, and runs under `set -euo pipefail`.
#
#   messages        say, die (both survive a closed stderr)
#   processes       alive, comm_of, pid_is, live_pid_from, close_extra_fds,
#                   as_user, exec_with_env
#   numbers         is_uint, is_posint
#   ports           fpl_port NAME (scripts/lib/ports)
#   state folders   reachable_by_services, tmp_state_dir, claim_state_dir,
#                   claimed_tmp_state_dir, stack_var_dir
#   settings        read_env_file (stack.env, without eval)
#   passwords       new_password, pgpass_password
#   PostgreSQL      psql_super (PG_SOCK, PG_PORT)

# A message on stderr. A write that fails (the reader of a pipe is gone, as
# after Ctrl-C in `make run | tee run.log`) is not an error: the work that
# the message describes (a stop, say) must go on.
say() { printf '%s: %s\n' "$PROG" "$*" >&2 2>/dev/null || true; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2 2>/dev/null || true
	exit 1
}

is_uint() { [[ $1 =~ ^[0-9]{1,9}$ ]]; }
is_posint() { is_uint "$1" && [ "$1" -gt 0 ]; }

# ------------------------------------------------------------ processes ---

# Is PID a live process? A zombie is not: on this kind of machine pid 1 may
# reap orphans late, and a zombie still has its /proc entry and name.
alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }	# the name may hold spaces; the state follows ") "
	[ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

# Prints the command name (/proc/PID/comm) of a live process.
comm_of() {
	alive "$1" || return 1
	cat "/proc/$1/comm" 2>/dev/null
}

# Is PID alive and is its command name COMM?
pid_is() {
	local actual
	actual=$(comm_of "$1") || return 1
	[ "$actual" = "$2" ]
}

# Prints the pid stored in FILE if it names a live process called COMM.
live_pid_from() {
	local file=$1 comm=$2 pid
	[ -f "$file" ] || return 1
	pid=$(head -n1 "$file" 2>/dev/null || true)
	pid_is "$pid" "$comm" || return 1
	printf '%s\n' "$pid"
}

# Closes every descriptor above 2 in the current (sub)shell, before it execs
# a long-lived service: a service must not keep our lock, nor a pipe that
# our caller waits on (a test harness reading to EOF would hang).
close_extra_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		if [ "$fd" -gt 2 ]; then
			eval "exec $fd>&-"
		fi
	done
}

# Runs a command as a service user, from /, so that an unreachable current
# directory does not bother it.
as_user() {
	local user=$1
	shift
	(cd / && runuser -u "$user" -- "$@")
}

# Replaces the current (sub)shell by COMMAND with exactly the environment
# in the array named NAME (KEY=VALUE entries). Unlike `env -i K=V ...`, no
# value appears on a command line, where every user of the machine could
# read it (/proc/PID/cmdline): secrets stay in /proc/PID/environ, which only
# the process's owner reads. Usage: (exec_with_env NAME COMMAND ARGS...)
exec_with_env() {
	local -n _fpl_env=$1
	local v
	shift
	while read -r v; do
		unset "$v" 2>/dev/null || true
	done < <(compgen -e)
	for v in "${_fpl_env[@]}"; do
		export "${v?}"
	done
	exec "$@"
}

# ---------------------------------------------------------------- ports ---

# Prints the default port NAME (e.g. STACK_PORT) from scripts/lib/ports.
fpl_port() {
	local line
	line=$(grep -m1 "^$1=[0-9]*\$" "$ROOT/scripts/lib/ports") ||
		die "scripts/lib/ports has no $1"
	printf '%s\n' "${line#*=}"
}

# -------------------------------------------------------- state folders ---

# Can both service users (postgres and www-data) traverse DIR and every
# folder above it?
reachable_by_services() {
	as_user postgres test -x "$1" 2>/dev/null && as_user www-data test -x "$1" 2>/dev/null
}

# The stand-in under /tmp for a state folder of a checkout that the service
# users cannot reach (e.g. under /root): /tmp/fcgi-pool-lab-<cksum of
# ROOT>[-SUFFIX]. Prints the path only; claim_state_dir makes or checks it.
tmp_state_dir() {
	printf '/tmp/fcgi-pool-lab-%s%s\n' "$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)" "${1:+-$1}"
}

# Makes DIR (mode 0711: the services may pass through, nobody else may list
# it) or, when it exists, checks that it can be trusted: a real folder, not
# a link, owned by us, that no one else may write. Its name under /tmp is
# predictable, so another user may have made it first, to read or plant
# what we would keep there: then refuse, and say so.
claim_state_dir() {
	local dir=$1 owner mode
	mkdir -m 0711 -- "$dir" 2>/dev/null && return 0
	[ -d "$dir" ] && [ ! -L "$dir" ] || die "$dir exists and is not a folder: remove it or set VAR_DIR"
	owner=$(stat -c %u -- "$dir")
	mode=$(stat -c %a -- "$dir")
	[ "$owner" = "$(id -u)" ] ||
		die "$dir belongs to uid $owner, not to us: someone else made it; remove it or set VAR_DIR"
	(( (8#$mode & 8#022) == 0 )) ||
		die "$dir may be written by others (mode $mode): remove it or set VAR_DIR"
}

# The /tmp stand-in for SUFFIX, made or checked (claim_state_dir); prints it.
claimed_tmp_state_dir() {
	local dir
	dir=$(tmp_state_dir "${1:-}")
	claim_state_dir "$dir"
	printf '%s\n' "$dir"
}

# The stack's state folder, as scripts/stack up chose it: VAR_DIR when set,
# else ROOT/var or its /tmp stand-in, whichever holds a stack.env (ROOT/var
# when neither does). A stand-in is checked before it is trusted.
stack_var_dir() {
	local alt
	if [ -n "${VAR_DIR:-}" ]; then
		printf '%s\n' "${VAR_DIR%/}"
		return
	fi
	alt=$(tmp_state_dir)
	if [ ! -f "$ROOT/var/run/stack.env" ] && [ -f "$alt/run/stack.env" ]; then
		claim_state_dir "$alt"
		printf '%s\n' "$alt"
	else
		printf '%s\n' "$ROOT/var"
	fi
}

# ------------------------------------------------------------- settings ---

# Reads a KEY='value' file written by scripts/stack (save_settings) into
# the associative array ENV_FILE, without eval: a value is the text
# between the outer quotes, with each '\'' standing for one quote. The
# file must be ours and written by no one else.
declare -gA ENV_FILE=()
read_env_file() {
	local file=$1 line key val q="'" esc="'\\''"
	ENV_FILE=()
	[ -f "$file" ] || return 1
	[ "$(stat -c %u -- "$file")" = "$(id -u)" ] ||
		die "$file is not ours (owner uid $(stat -c %u -- "$file")): not reading it"
	(( (8#$(stat -c %a -- "$file") & 8#022) == 0 )) ||
		die "$file may be written by others: not reading it"
	while IFS= read -r line; do
		key=${line%%=*}
		[[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]] && [ "$key" != "$line" ] || continue
		val=${line#*=}
		[[ $val == "'"*"'" ]] && [ ${#val} -ge 2 ] || continue
		val=${val:1:${#val}-2}
		ENV_FILE[$key]=${val//$esc/$q}
	done <"$file"
}

# ----------------------------------------------------------- PostgreSQL ---

# A random password: 32 characters of base64url (nothing to quote in SQL,
# in a libpq passfile or in a PgBouncer auth file).
new_password() {
	head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_'
}

# Prints ROLE's password for the database app from the libpq passfile FILE.
pgpass_password() {
	awk -F: -v r="$2" '$3 == "app" && $4 == r { print $5; exit }' "$1"
}

# psql as the superuser, over the cluster's unix socket (the only way in
# for it: pg_hba maps the OS users root and postgres to it, nobody else).
psql_super() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@"
}
