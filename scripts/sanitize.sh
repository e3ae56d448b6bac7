#!/usr/bin/env bash
# The test suite built with AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan bash scripts/build.sh -DBATCHAI_TESTS=ON -DBATCHAI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# e2e_vm runs the agent in a VM without the sanitizer runtimes; the plain build runs it.
# e2e_package tests the package dpkg-buildpackage builds, not this tree.
(cd build-asan && ctest --output-on-failure --timeout 900 -E '^(e2e_vm|e2e_package)$')
