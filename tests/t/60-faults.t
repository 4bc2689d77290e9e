#!/bin/sh
# budget: 300
# The fault suite's short subset (scripts/faults --quick): worker kills, the
# PostgreSQL restart with -m immediate, the deleted cache, poison webhooks,
# the job bounds, each under load on a stack of its own (/tmp/fpl-faults-*,
# ports 8488, 15732, 8489). TAP on stdout; the stack's progress on stderr.
cd "$(dirname "$0")/../.." || exit 1
exec scripts/faults --quick --tap
