#!/usr/bin/env bash
# run-job on its own: installs what is needed, builds, and runs examples/digits/job.json, a job
# that trains a small classifier on the 8x8 handwritten digits, with run-job on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
TARGET=batchai-agent bash scripts/build.sh
demo=/tmp/batchai-demo
echo "== running examples/digits/job.json (node root $demo/root)"
./build/bin/batchai-agent run-job examples/digits/job.json \
  --root "$demo/root" --state-dir "$demo/state" -e DEMO_DIR="$PWD/examples/digits"
job_dir=$(ls -td "$demo"/root/shared/LS_root/mounts/logs/*/*/workspaces/*/experiments/*/jobs/digits/*/ | head -1)
echo "== the last lines of stderr.txt:"
tail -n 4 "$job_dir/stdouterr/stderr.txt"
echo "== model files in the MODEL output directory:"
ls "$job_dir/outputs"
