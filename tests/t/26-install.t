#!/usr/bin/env bash
# budget: 120
# make install, proved (TAP):
#   (a) conf/fcgi-pool-lab.conf.example documents every setting of
#       lib/config.c's config_table, each as "#KEY=default" with the default
#       written in the table, and nothing else as a setting (PGPASSFILE
#       aside); no setting line is active; FPL_CONFIG is explained;
#   (b) make install DESTDIR=<stage> PREFIX=/usr/local: the tree is complete,
#       its executables load and run, no installed file names the checkout
#       or the stage, the example is there;
#   (c) the installed tree works without the checkout: in a private mount
#       namespace with a tmpfs over the checkout, the INSTALLED scripts/stack
#       starts the stack (BIN_DIR unset: the tree's bin/; ports INSTALLTEST_*
#       of scripts/lib/ports, its state under /tmp); the API contract tests
#       (tests/integration/api.test.mjs, seeding with the installed
#       scripts/seed through FPL_ROOT) run against it from outside; the
#       installed scripts/top reads the stack's metrics (its port from the
#       stack's VAR_DIR); the installed stack stops it; make uninstall
#       leaves nothing behind.
# Needs root (the stack does) and a built build/bin (make all); builds nothing
# else. Its state: scripts/lib/state-dir installtest (/tmp/fcgi-pool-lab-*).
set -uo pipefail
umask 022	# what make install creates must be reachable by the services
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd -P)
PREFIX=/usr/local
EXAMPLE=conf/fcgi-pool-lab.conf.example

n=0
failed=0
ok() {	# ok COND-STATUS DESCRIPTION [DIAGNOSTIC]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/# /'
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # skip $2"; }
finish() { echo "1..$n"; [ $failed -eq 0 ]; exit $?; }

port() { sed -n "s/^$1=\([0-9]*\)\$/\1/p" scripts/lib/ports; }

# ---------------------------------------------------- (a) the example ---

# name<TAB>default of every { "NAME", CONFIG_TYPE, OFF(field), "default", ...
# entry of the table (entries span lines: the file is read whole).
table=$(perl -0777 -ne 'while (/\{\s*"([A-Z][A-Z0-9_]*)"\s*,\s*CONFIG_[A-Z]+\s*,\s*OFF\(\s*\w+\s*\)\s*,\s*"((?:[^"\\]|\\.)*)"/g) { print "$1\t$2\n" }' lib/config.c)
count=$(printf '%s' "$table" | grep -c .)
ok $((count >= 20 ? 0 : 1)) "lib/config.c's config_table parsed: $count settings" \
	"the regex over { \"NAME\", CONFIG_..., OFF(...), \"default\" entries found $count: has the table's form changed?"
if [ -f "$EXAMPLE" ]; then
	missing=''
	while IFS=$'\t' read -r key def; do
		[ -n "$key" ] || continue
		if ! grep -qxF "#$key=$def" "$EXAMPLE"; then
			missing+="$key: no line '#$key=$def'"$'\n'
		fi
	done <<<"$table"
	ok "$([ -z "$missing" ]; echo $?)" "$EXAMPLE has '#KEY=default' for each of the $count settings" "$missing"
	stale=''
	while read -r key; do
		[ "$key" = PGPASSFILE ] && continue
		grep -q "^$key"$'\t' <<<"$table" || stale+="$key "
	done < <(sed -n 's/^#\{0,1\}\([A-Z][A-Z0-9_]*\)=.*/\1/p' "$EXAMPLE")
	ok "$([ -z "$stale" ]; echo $?)" "every setting line of the example is a setting of the table (or PGPASSFILE)" \
		"not in lib/config.c: $stale"
	active=$(grep -nE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*[[:space:]]*=' "$EXAMPLE")
	ok "$([ -z "$active" ]; echo $?)" "no setting is active in the example (as shipped it changes nothing)" "$active"
	doc=0
	grep -qx '#PGPASSFILE=.*' "$EXAMPLE" || doc=1
	grep -q 'FPL_CONFIG' "$EXAMPLE" || doc=1
	ok $doc "the example documents PGPASSFILE and FPL_CONFIG"
	# Each setting has its explanation: a '##' comment right above it (or
	# above the run of settings it belongs to).
	bare=$(awk '/^#[A-Z][A-Z0-9_]*=/ { if (!explained) print FILENAME ":" NR ": " $0; next }
		{ explained = /^## / }' "$EXAMPLE")
	ok "$([ -z "$bare" ]; echo $?)" "every setting of the example comes with its '##' explanation" "$bare"
else
	ok 1 "$EXAMPLE exists"
fi

# ---------------------------------------------------- (b) make install ---

if [ "$(id -u)" -ne 0 ]; then
	skip "make install and the installed stack" "needs root (the stack starts services as postgres and www-data)"
	finish
fi
WORK=$(scripts/lib/state-dir installtest) || { ok 1 "a state folder under /tmp (scripts/lib/state-dir)"; finish; }
DEST=$WORK/dest
VAR=$WORK/var
TREE=$DEST$PREFIX/lib/fcgi-pool-lab
PORT=$(port INSTALLTEST_PORT)
PG_PORT=$(port INSTALLTEST_PG_PORT)
PROVIDER_PORT=$(port INSTALLTEST_PROVIDER_PORT)
LOG=$WORK/stack.log
if [ -z "$PORT" ] || [ -z "$PG_PORT" ] || [ -z "$PROVIDER_PORT" ]; then
	ok 1 "scripts/lib/ports has INSTALLTEST_PORT, INSTALLTEST_PG_PORT, INSTALLTEST_PROVIDER_PORT"
	finish
fi

# The stack of the tree, with the environment of the test only.
stack_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
	VAR_DIR="$VAR" PORT="$PORT" PG_PORT="$PG_PORT" PROVIDER_PORT="$PROVIDER_PORT")
# Stops whatever stack a run left in VAR (this run's, or a killed one's),
# with whichever scripts/stack is there (they read VAR/run/stack.env).
stack_down() {
	[ -f "$VAR/run/stack.env" ] || return 0
	local s=$TREE/scripts/stack
	[ -x "$s" ] || s=$ROOT/scripts/stack
	(cd / && "${stack_env[@]}" "$s" down) >>"$LOG" 2>&1
}
# shellcheck disable=SC2317  # (a trap)
cleanup() {
	stack_down
	rm -rf -- "$DEST" "$VAR"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
stack_down
rm -rf -- "$DEST" "$VAR"
: >"$LOG"

# A sub-make of make test must not inherit its jobserver and level.
out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install DESTDIR="$DEST" PREFIX="$PREFIX" 2>&1)
ok $? "make install DESTDIR=$DEST PREFIX=$PREFIX" "$out"

expect=(bin/personas bin/idle-video bin/video-complete scripts/stack scripts/seed scripts/run
	scripts/provider scripts/top scripts/install-deps scripts/lib/common.sh scripts/lib/ports scripts/lib/state-dir
	scripts/lib/metrics-text.mjs)
for f in schema/*.sql conf/*; do expect+=("$f"); done
while IFS= read -r f; do expect+=("$f"); done < <(find www -type f)
absent=''
for f in "${expect[@]}"; do [ -f "$TREE/$f" ] || absent+="$f "; done
for f in README.md fcgi-pool-lab.conf.example; do
	[ -f "$DEST$PREFIX/share/doc/fcgi-pool-lab/$f" ] || absent+="share/doc/fcgi-pool-lab/$f "
done
ok "$([ -z "$absent" ]; echo $?)" "the tree under $PREFIX/lib/fcgi-pool-lab is complete (${#expect[@]} files) with its docs" \
	"missing: $absent"
modes=''
for f in bin/personas bin/idle-video bin/video-complete scripts/stack scripts/seed scripts/provider scripts/top; do
	[ "$(stat -c %a "$TREE/$f" 2>/dev/null)" = 755 ] || modes+="$f: $(stat -c %a "$TREE/$f" 2>/dev/null) (not 755) "
done
for f in schema/postgres.sql www/video-gallery.html conf/fcgi-pool-lab.conf.example scripts/lib/common.sh \
	scripts/lib/metrics-text.mjs; do
	[ "$(stat -c %a "$TREE/$f" 2>/dev/null)" = 644 ] || modes+="$f: $(stat -c %a "$TREE/$f" 2>/dev/null) (not 644) "
done
ok "$([ -z "$modes" ]; echo $?)" "installed modes: programs 0755, data 0644" "$modes"
link=$(readlink "$DEST$PREFIX/bin/fcgi-pool-lab-stack")
ok "$([ "$link" = ../lib/fcgi-pool-lab/scripts/stack ] && [ -x "$DEST$PREFIX/bin/fcgi-pool-lab-stack" ]; echo $?)" \
	"$PREFIX/bin/fcgi-pool-lab-stack is a relative link to the installed scripts/stack" "it is: '$link'"
help=$("$DEST$PREFIX/bin/fcgi-pool-lab-stack" --help 2>&1)
ok "$(grep -q 'scripts/stack up' <<<"$help"; echo $?)" "fcgi-pool-lab-stack --help answers through the link" "$help"
cmp -s "$EXAMPLE" "$TREE/conf/fcgi-pool-lab.conf.example" &&
	cmp -s "$EXAMPLE" "$DEST$PREFIX/share/doc/fcgi-pool-lab/fcgi-pool-lab.conf.example"
ok $? "the example is installed in conf/ and share/doc/, as in the checkout"
units=''
for f in "$TREE"/conf/*.service; do
	grep -qx "ExecStart=$PREFIX/lib/fcgi-pool-lab/bin/video-complete --[a-z]*" "$f" || units+="${f##*/}: ExecStart "
	grep -qx 'EnvironmentFile=/etc/fcgi-pool-lab/fcgi-pool-lab.conf' "$f" || units+="${f##*/}: EnvironmentFile "
done
ok "$([ -z "$units" ]; echo $?)" "the units run $PREFIX/lib/fcgi-pool-lab/bin/video-complete with /etc/fcgi-pool-lab/fcgi-pool-lab.conf" "$units"

# The executables load (no missing library) and run as the workers' user:
# started without a FastCGI socket they log their start (or answer as CGI)
# and exit.
runs=''
for e in personas idle-video video-complete; do
	if ldd "$TREE/bin/$e" 2>&1 | grep -q 'not found'; then
		runs+="$e: $(ldd "$TREE/bin/$e" | grep 'not found' | tr '\n' ' ')"$'\n'
		continue
	fi
	out=$(cd / && timeout 10 runuser -u www-data -- env -i PATH=/usr/bin:/bin CACHE_PATH=/nonexistent/cache.sqlite \
		"$TREE/bin/$e" </dev/null 2>&1)
	rc=$?
	if [ $rc -ge 124 ] || ! grep -qE "(^|[ T])$e\[[0-9]+\]|^Status: " <<<"$out"; then
		runs+="$e: exit $rc: ${out:0:300}"$'\n'
	fi
done
ok "$([ -z "$runs" ]; echo $?)" "the installed executables load and run as www-data" "$runs"

# Text files must not name the checkout (nor the stage: a staged tree is
# moved to PREFIX); the executables are checked apart (see the Makefile's
# -ffile-prefix-map: objects built before it still name the checkout).
texts=$(grep -rIlF -e "$ROOT" -e "$DEST" "$DEST" 2>/dev/null)
ok "$([ -z "$texts" ]; echo $?)" "no installed text file names the checkout ($ROOT) or the stage" "$texts"
bins=$(grep -lF -e "$ROOT" -e "$DEST" "$TREE"/bin/* 2>/dev/null)
if [ -z "$bins" ]; then
	ok 0 "no installed executable names the checkout"
else
	n=$((n + 1))
	echo "not ok $n - no installed executable names the checkout # TODO objects older than -ffile-prefix-map: make clean all"
	sed 's/^/# /' <<<"$bins"
fi

# ------------------------------- (c) the installed stack, checkout hidden ---

busy=''
for p in "$PORT" "$PG_PORT" "$PROVIDER_PORT"; do
	[ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ] || busy+="$p "
done
if [ -n "$busy" ]; then
	ok 1 "the ports of INSTALLTEST_* are free" "taken: $busy($(ss -ltnpH | grep -E ":(${busy// /|})\b" | head -3))"
	finish
fi

hide=1
if ! (cd / && unshare --mount --propagation private -- true) 2>/dev/null; then
	hide=0
	skip "the checkout hidden in a private mount namespace" "unshare --mount fails here: the stack runs beside the checkout"
fi
# Inside the namespace: a tmpfs over the checkout (checked empty), then the
# installed stack up, from /, with no BIN_DIR: everything it starts lives on
# in the namespace, where the checkout is an empty folder.
if [ $hide -eq 1 ]; then
	up=$(cd / && "${stack_env[@]}" unshare --mount --propagation private -- /bin/bash -c '
		mount -t tmpfs -o size=1m,mode=0755 fpl-installtest-hidden "$1" || exit 90
		[ -z "$(ls -A "$1")" ] || exit 91
		exec "$2" up' hide "$ROOT" "$TREE/scripts/stack" 2>>"$LOG")
else
	up=$(cd / && "${stack_env[@]}" "$TREE/scripts/stack" up 2>>"$LOG")
fi
rc=$?
ok $rc "the installed scripts/stack up (BIN_DIR unset, ports $PORT $PG_PORT $PROVIDER_PORT, VAR_DIR $VAR)" \
	"exit $rc; $(tail -n 25 "$LOG")"
[ $rc -eq 0 ] || finish

base_url=$(sed -n 's/^base_url=//p' <<<"$up")
database_url=$(sed -n 's/^database_url=//p' <<<"$up")
webhook_secret=$(sed -n 's/^webhook_secret=//p' <<<"$up")
saved=$(grep -E "^(ROOT|BIN_DIR|RUN_BIN_DIR|WWW_DIR)=" "$VAR/run/stack.env")
want=$(printf "ROOT='%s'\nBIN_DIR='%s'\nRUN_BIN_DIR='%s'\nWWW_DIR='%s'" "$TREE" "$TREE/bin" "$TREE/bin" "$TREE/www")
ok "$([ "$saved" = "$want" ]; echo $?)" "the stack runs the installed tree: its executables, pages, scripts" "$saved"

# The workers' own view: their executable is the installed one, and in
# their mount namespace the checkout is empty.
views=''
pids=$(for f in "$VAR"/run/personas.pid "$VAR"/run/engine.pid; do pgrep -P "$(cat "$f" 2>/dev/null)" 2>/dev/null; done)
[ -n "$pids" ] || views='no workers found under run/personas.pid and run/engine.pid'
for pid in $pids; do
	exe=$(readlink "/proc/$pid/exe")
	case $exe in "$TREE"/bin/*) ;; *) views+="pid $pid runs $exe"$'\n' ;; esac
	if [ $hide -eq 1 ] && [ -n "$(ls -A "/proc/$pid/root$ROOT" 2>/dev/null)" ]; then
		views+="pid $pid sees the checkout $ROOT"$'\n'
	fi
done
ok "$([ -z "$views" ]; echo $?)" "the workers and the engine run $TREE/bin/*$([ $hide -eq 0 ] || echo ', the checkout hidden from them')" "$views"

page=$(curl -s --max-time 5 -o /dev/null -w '%{http_code} %{content_type}' "$base_url/video-gallery")
ok "$([[ $page == "200 text/html"* ]]; echo $?)" "the installed pages are served (/video-gallery)" "$page"

# The API contract, from the checkout's tests, seeded by the installed seed.
out=$(FPL_ROOT=$TREE VAR_DIR=$VAR BASE_URL=$base_url DATABASE_URL=$database_url WEBHOOK_SECRET=$webhook_secret \
	timeout 90 node --test --test-reporter=tap --test-concurrency=1 tests/integration/api.test.mjs 2>&1)
rc=$?
summary=$(grep -E '^# (tests|pass|fail|cancelled) ' <<<"$out" | tr '\n' ' ')
ok $rc "the API contract (tests/integration/api.test.mjs) against the installed stack: ${summary:-no summary}" \
	"$(grep -E '^ *not ok|^ *(error|expected|actual):|^# ' <<<"$out" | head -n 40)"

# The live view of the tree, on the stack that its VAR_DIR names (no --url).
out=$(cd / && "${stack_env[@]}" timeout 30 "$TREE/scripts/top" --once 2>&1)
rc=$?
ok "$([ $rc -eq 0 ] && grep -q "^fpl top .* http://127.0.0.1:$PORT/api/metrics " <<<"$out" &&
	grep -q '^POSTGRESQL  connections [0-9]* open' <<<"$out"; echo $?)" \
	"the installed scripts/top --once reads the installed stack's metrics (port $PORT from $VAR)" "exit $rc: $out"

(cd / && "${stack_env[@]}" "$TREE/scripts/stack" down) >>"$LOG" 2>&1
ok $? "the installed scripts/stack down" "$(tail -n 15 "$LOG")"
left=''
for p in "$PORT" "$PG_PORT" "$PROVIDER_PORT"; do
	[ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ] || left+="$p "
done
ok "$([ -z "$left" ]; echo $?)" "nothing listens on the stack's ports after down" "still taken: $left"
rm -f "$VAR/run/stack.env"	# stopped: cleanup need not stop it again

out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s uninstall DESTDIR="$DEST" PREFIX="$PREFIX" 2>&1)
rc=$?
rest=$(cd "$DEST" && find . ! -type d)
ok "$([ $rc -eq 0 ] && [ -z "$rest" ]; echo $?)" "make uninstall removes every installed file" "exit $rc $out; left: $rest"

finish
