#!/bin/sh
# budget: 300
# The fuzzers' short run (issue 9): each harness of tests/fuzz/ for 3 s on a
# fresh copy of its seeds, after its regressions (tests/fuzz/regress/NAME/)
# are replayed; one ok/not ok per harness (scripts/fuzz --quick --tap). A
# harness fails on a finding, or when its coverage ends no higher than its
# seeds'. make test has built the harnesses; run alone, this builds them
# first (clang, libFuzzer: scripts/install-deps). Needs no stack, no port.
cd "$(dirname "$0")/../.." || exit 1
if ! make -s fuzz-build >&2; then
	echo "1..1"
	echo "not ok 1 - make fuzz-build (clang and libFuzzer: scripts/install-deps)"
	exit 1
fi
exec scripts/fuzz --quick --tap
