#!/usr/bin/env bash
# The whole test suite: installs what is needed, builds, runs ctest (unit and end-to-end tests),
# then the fuzz targets for a bounded time each (scripts/fuzz.sh), then the same suite again
# built with AddressSanitizer and UndefinedBehaviorSanitizer.
# Needs root: the end-to-end tests mount file systems and create cgroups.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --package-tools
bash scripts/install-test-servers.sh
bash scripts/build.sh -DBATCHAI_TESTS=ON
(cd build && ctest --output-on-failure --timeout 900)
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz.sh
fi
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/sanitize.sh
fi
