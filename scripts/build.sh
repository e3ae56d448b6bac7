#!/usr/bin/env bash
# Builds into build/ (or $BUILD_DIR); extra arguments go to cmake, e.g. -DBATCHAI_SANITIZE=ON.
# $TARGET builds one target only (the demo builds just batchai-agent).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja "$@" >/dev/null
# shellcheck disable=SC2086 # TARGET may name several targets
ninja -C "$build_dir" -j "${JOBS:-$(nproc)}" ${TARGET:-}
