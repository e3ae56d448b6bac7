#!/usr/bin/env bash
# Log capture throughput: a job writes SIZE_MB MiB to stdout through run-job's supervisor,
# compared with the same writer going straight to a file. Prints MiB/s for both.
# Usage: bash bench/log_throughput.sh [SIZE_MB]   (as root, after a build)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-2048}
agent=${BATCHAI_AGENT:-build/bin/batchai-agent}
work=$(mktemp -d /tmp/batchai-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/job.json" <<JSON
{"nodeCount": 1, "stdOutErrPathPrefix": "$work/logs",
 "customToolkitSettings": {"commandLine": "dd if=/dev/zero bs=1M count=$size_mb status=none"}}
JSON
now() { date +%s.%N; }
t0=$(now)
dd if=/dev/zero bs=1M count="$size_mb" status=none of="$work/direct.bin"
t1=$(now)
rm -f "$work/direct.bin"
"$agent" run-job "$work/job.json" --name bench --root "$work/root" --state-dir "$work/state" 2>/dev/null
t2=$(now)
out=$(ls "$work"/logs/*/*/workspaces/*/experiments/*/jobs/bench/*/stdouterr/stdout.txt)
bytes=$(stat -c %s "$out")
[ "$bytes" -eq $((size_mb * 1048576)) ] || { echo "lost bytes: $bytes" >&2; exit 1; }
awk -v s="$size_mb" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
  printf "direct to file:        %8.0f MiB/s\n", s / (b - a);
  printf "through run-job:       %8.0f MiB/s (whole run-job, start to end)\n", s / (c - b) }'
