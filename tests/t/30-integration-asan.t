#!/bin/sh
# budget: 900
# The same integration tests, with ASan+UBSan workers.
exec tests/integration/suite build/asan/bin
