#!/usr/bin/env bash
# The distributed demo: examples/digits-distributed, the digits classifier trained data-parallel
# with PyTorch (gloo) on a 2-node cluster on this one machine. Each node is an agent in its own
# network namespace with its own address on a bridge this script makes (10.214.0.0/24); the
# reference control plane listens on the bridge. It creates the job, streams the master's
# stderr-0.txt live, lists the MODEL files, and removes everything it made. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Each job's own sshd and the shared job temp (sshfs), and PyTorch: installed without starting
# a system sshd (policy-rc.d says so to the packages' scripts).
need=()
for p in openssh-server openssh-client sshfs python3-torch python3-sklearn iproute2; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d; remove_policy=1; }
  apt-get install -y -qq --no-install-recommends "${need[@]}"
  [ -z "${remove_policy:-}" ] || rm -f /usr/sbin/policy-rc.d
fi
TARGET="batchai-agent batchai-controlplane batchai" bash scripts/build.sh
bin=$PWD/build/bin
# Below /run: only root writes there, so nothing can be planted on the way.
demo=/run/batchai-distributed-demo
bridge=baidemo
net=10.214.0
port=${BATCHAI_DEMO_PORT:-8781}
server=http://$net.1:$port
pids=()
rules=()

cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  for rule in "${rules[@]}"; do iptables -w -D $rule 2>/dev/null; done
  for i in 0 1; do
    grep -o " $demo/node-$i/root[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    ip netns del "bai-demo-$i" 2>/dev/null
  done
  ip link del "$bridge" 2>/dev/null
  set -e
  return 0
}
trap cleanup EXIT
cleanup  # what an interrupted run left
rm -rf --one-file-system "$demo"
mkdir -m 0700 -p "$demo"

echo "== a bridge $bridge ($net.1) and two nodes, each in its own network namespace"
ip link add name "$bridge" type bridge
ip addr add "$net.1/24" dev "$bridge"
ip link set "$bridge" up
for i in 0 1; do
  ns=bai-demo-$i
  ip netns add "$ns"
  ip link add "${bridge}h$i" type veth peer name "${bridge}n$i"
  ip link set "${bridge}h$i" master "$bridge" up
  ip link set "${bridge}n$i" netns "$ns"
  ip -n "$ns" addr add "$net.$((i + 2))/24" dev "${bridge}n$i"
  ip -n "$ns" link set "${bridge}n$i" up
  ip -n "$ns" link set lo up
done
# Where a firewall would drop the bridge's traffic (docker's FORWARD policy), let it through.
if command -v iptables >/dev/null; then
  for rule in "INPUT -i $bridge -j ACCEPT" "FORWARD -i $bridge -o $bridge -j ACCEPT"; do
    iptables -w -I $rule 2>/dev/null && rules+=("$rule")
  done
fi

echo "== the reference control plane on $server (plain http on the demo's bridge only)"
"$bin/batchai-controlplane" --listen "$net.1:$port" --state-dir "$demo/controlplane" \
  --insecure-http --node-root "$demo/node-0/root" >"$demo/controlplane.log" 2>&1 &
pids+=($!)
for i in 0 1; do
  mkdir -p "$demo/node-$i"
  cat >"$demo/node-$i/agent.json" <<JSON
{"controlPlaneUrl": "$server", "allowInsecureHttp": true, "nodeId": "node-$i",
 "root": "$demo/node-$i/root", "stateDir": "$demo/node-$i/state",
 "environment": {"DEMO_DIR": "$PWD/examples/digits-distributed"}}
JSON
  echo "== node-$i: the agent in bai-demo-$i at $net.$((i + 2)) (log: $demo/node-$i/agent.log)"
  nsenter --net="/run/netns/bai-demo-$i" -- "$bin/batchai-agent" daemon \
    --config "$demo/node-$i/agent.json" >"$demo/node-$i/agent.log" 2>&1 &
  pids+=($!)
done
batchai() { "$bin/batchai" --server "$server" --insecure-http "$@"; }
for _ in $(seq 150); do
  batchai cluster show -n default 2>/dev/null | grep -q '"idleNodeCount": 2' && break
  sleep 0.2
done

echo "== batchai job create -n digits-ddp -f examples/digits-distributed/job.json"
batchai job create -n digits-ddp -f examples/digits-distributed/job.json >/dev/null
echo "== batchai job file stream -j digits-ddp -f stderr-0.txt (rank 0, on the master)"
batchai job file stream -j digits-ddp -f stderr-0.txt
echo "== batchai job file list -j digits-ddp -d MODEL"
batchai job file list -j digits-ddp -d MODEL
echo "== batchai job show -n digits-ddp (state and exit code)"
batchai job show -n digits-ddp | grep -E '"executionState"|"exitCode"'
