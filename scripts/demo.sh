#!/usr/bin/env bash
# The demo: the Batch AI quickstart on one machine, with the real `az batchai` (Debian's
# azure-cli). Installs what is needed, builds the agent and the control plane, starts a local
# storage account on loopback (smbd for the Azure Files shares, Azurite for the blob container),
# the control plane with TLS and one agent, and runs the quickstart's commands unchanged but for
# the storage account's name: workspace, cluster, experiment, the quickstart's own job.json,
# `job file stream -f stderr.txt`, `job file list -d MODEL`, `job show`, deletes
# (scripts/quickstart_demo.py). The training script is the digits classifier of
# examples/digits, run the way the quickstart's cntkSettings runs ConvNet_MNIST.py.
# Run as root: the agent mounts the shares and the container.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/install-test-servers.sh --demo
TARGET="batchai-agent batchai-controlplane batchai-pause batchai-job-shell" bash scripts/build.sh
exec /usr/bin/python3 scripts/quickstart_demo.py
