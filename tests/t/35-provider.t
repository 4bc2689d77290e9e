#!/bin/sh
# scripts/provider (the local Replicate-compatible provider) on its own, on a
# free port, with a webhook receiver that verifies Standard Webhooks
# signatures independently; needs no stack. TAP on stdout.
cd "$(dirname "$0")/../.." || exit 1
exec node --test --test-reporter=tap tests/provider/
