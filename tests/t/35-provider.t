#!/usr/bin/env bash
# budget: 120
# scripts/provider (the local Replicate-compatible provider) on its own, on a
# free port, with a webhook receiver that verifies Standard Webhooks
# signatures independently; needs no stack. TAP on stdout.
cd "$(dirname "$0")/../.." || exit 1
set -o pipefail
node --test --test-timeout=300000 --test-reporter=tap tests/provider/ | tests/tap-filter
