#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in build-fuzz/, and runs
# each for FUZZ_SECONDS (default 40) from its seeds (tests/fuzz/corpus/<target>/). Fails on any
# crash, leak, timeout or sanitizer report; the input that caused it is left in
# build-fuzz/artifacts/ (add it to the unit corpus, tests/data/bad/ for documents).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-40}
CXX=clang++ BUILD_DIR=build-fuzz TARGET=fuzz_targets bash scripts/build.sh \
  -DBATCHAI_FUZZ=ON -DBATCHAI_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for target in fuzz_job_document fuzz_protocol fuzz_agent_config fuzz_node_setup \
              fuzz_controlplane_bodies fuzz_helper_output; do
  work=$(mktemp -d)  # what the run finds goes here, never into the repository's seeds
  echo "== $target: ${seconds}s"
  if ! "build-fuzz/tests/fuzz/$target" "$work" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="build-fuzz/artifacts/$target-" -print_final_stats=1 \
      >"build-fuzz/$target.log" 2>&1; then
    echo "fuzz.sh: $target failed; the end of its log (build-fuzz/$target.log):" >&2
    tail -40 "build-fuzz/$target.log" >&2
    failed=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "build-fuzz/$target.log" | head -2 || true
  fi
  rm -rf "$work"
done
exit "$failed"
