#!/bin/sh
# budget: 600
# Integration tests against the real stack, with the plain build's workers.
exec tests/integration/suite build/bin
