#!/usr/bin/env bash
# The demo: the Batch AI quickstart on one machine. Installs what is needed, builds, starts the
# reference control plane and one agent on loopback, creates the job of examples/digits (a small
# classifier trained on the 8x8 handwritten digits), streams its stderr.txt live, lists the
# MODEL files, shows the cluster's node state counts, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
TARGET="batchai-agent batchai-controlplane batchai" bash scripts/build.sh
bin=$PWD/build/bin
demo=/tmp/batchai-demo
port=${BATCHAI_DEMO_PORT:-8780}
server=http://127.0.0.1:$port
rm -rf "$demo/controlplane" "$demo/agent-state"
mkdir -p "$demo"

cleanup() {
  [ -n "${agent_pid:-}" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [ -n "${cp_pid:-}" ] && kill "$cp_pid" 2>/dev/null && wait "$cp_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

echo "== starting the reference control plane on $server (plain http: loopback demo only)"
"$bin/batchai-controlplane" --listen "127.0.0.1:$port" --state-dir "$demo/controlplane" \
  --insecure-http --node-root "$demo/node" >"$demo/controlplane.log" 2>&1 &
cp_pid=$!
cat >"$demo/agent.json" <<JSON
{"controlPlaneUrl": "$server", "allowInsecureHttp": true, "nodeId": "node-0",
 "root": "$demo/node", "stateDir": "$demo/agent-state",
 "environment": {"DEMO_DIR": "$PWD/examples/digits"}}
JSON
echo "== starting the agent (log: $demo/agent.log)"
"$bin/batchai-agent" daemon --config "$demo/agent.json" >"$demo/agent.log" 2>&1 &
agent_pid=$!
batchai() { "$bin/batchai" --server "$server" "$@"; }
for _ in $(seq 100); do
  batchai cluster show -n default 2>/dev/null | grep -q '"idleNodeCount": 1' && break
  sleep 0.2
done

echo "== batchai job create -n digits -f examples/digits/job.json"
batchai job create -n digits -f examples/digits/job.json >/dev/null
echo "== batchai job file stream -j digits -f stderr.txt"
batchai job file stream -j digits -f stderr.txt
echo "== batchai job file list -j digits -d MODEL"
batchai job file list -j digits -d MODEL
echo "== batchai job show -n digits (state and exit code)"
batchai job show -n digits | grep -E '"executionState"|"exitCode"'
echo "== batchai cluster show -n default (node state counts)"
batchai cluster show -n default | sed -n '/nodeStateCounts/,/}/p'
