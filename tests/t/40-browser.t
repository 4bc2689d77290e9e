#!/usr/bin/env bash
# budget: 300
# Browser tests of the pages (www/) against the real stack: Debian's
# Chromium driven by playwright-core (tests/browser/*.test.mjs), TAP on
# stdout. Starts the stack (PostgreSQL, lighttpd, the plain build's workers,
# the local provider), installs playwright-core from package-lock.json when
# node_modules lacks it, runs the tests, stops the stack. Stack and npm
# output go to var/log/test-browser.log; screenshots to test-results/.
cd "$(dirname "$0")/../.." || exit 1
log=var/log/test-browser.log
mkdir -p var/log test-results

fail() {
	echo "1..1"
	echo "not ok 1 - $1"
	[ -s "$log" ] && tail -n 30 "$log" | sed 's/^/# /'
	exit 1
}

chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail "no Chromium at $chromium (scripts/install-deps installs Debian's chromium)"
command -v node >/dev/null 2>&1 || fail "node is missing (scripts/install-deps installs nodejs)"

# playwright-core, exactly as package-lock.json pins it.
if [ ! -f node_modules/playwright-core/package.json ] || [ ! -f node_modules/.package-lock.json ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "# npm ci (node_modules is missing or older than package-lock.json)"
	npm ci --no-audit --no-fund >>"$log" 2>&1 || fail "npm ci failed"
fi

scripts/stack down >>"$log" 2>&1
if ! out=$(scripts/stack up 2>>"$log"); then
	fail "scripts/stack up failed"
fi
base_url=$(printf '%s\n' "$out" | sed -n 's/^base_url=//p' | tail -n 1)
database_url=$(printf '%s\n' "$out" | sed -n 's/^database_url=//p' | tail -n 1)
webhook_secret=$(printf '%s\n' "$out" | sed -n 's/^webhook_secret=//p' | tail -n 1)
var_dir=$(printf '%s\n' "$out" | sed -n 's/^var_dir=//p' | tail -n 1)
if [ -z "$base_url" ] || [ -z "$database_url" ]; then
	scripts/stack down >>"$log" 2>&1
	fail "scripts/stack up printed no base_url= or database_url= line"
fi
export BASE_URL="$base_url" DATABASE_URL="$database_url" WEBHOOK_SECRET="$webhook_secret" CHROMIUM="$chromium"
export VAR_DIR="$var_dir"

node --test --test-timeout=300000 --test-reporter=tap --test-concurrency=1 tests/browser/ | tests/tap-filter
rc=${PIPESTATUS[0]}

scripts/stack down >>"$log" 2>&1
exit $rc
