#!/usr/bin/env python3
"""Fleet measurement: many agents (each its own node id, root and state dir) against one
reference control plane on loopback. Measures the requests an idle node costs per minute and
the time from job creation to the task starting on a node. Run as root after a build:

    python3 bench/fleet.py --nodes 40 --idle-seconds 180

The binaries are build/bin's, or those BATCHAI_CONTROLPLANE and BATCHAI_AGENT name. The jobs go
through the resource-manager API (Batch AI 2018-05-01) to the workspace default and experiment
default of the resource group batchai.local, on the control plane's cluster "default".
Writes nothing but a temp dir; prints the figures (docs/fleet.md records them)."""

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "build", "bin")
CONTROLPLANE = os.environ.get("BATCHAI_CONTROLPLANE") or os.path.join(BIN, "batchai-controlplane")
AGENT = os.environ.get("BATCHAI_AGENT") or os.path.join(BIN, "batchai-agent")
API = "?api-version=2018-05-01"
GROUP = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/batchai.local"
WORKSPACE = GROUP + "/providers/Microsoft.BatchAI/workspaces/default"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def iso(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=40)
    ap.add_argument("--idle-seconds", type=float, default=180)
    ap.add_argument("--poll-wait-seconds", type=int, default=55)
    ap.add_argument("--jobs", type=int, default=20)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="batchai-fleet-")
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    procs = []
    try:
        cp = subprocess.Popen([CONTROLPLANE, "--listen",
                               "127.0.0.1:%d" % port, "--state-dir", os.path.join(tmp, "cp"),
                               "--insecure-http", "--poll-wait-seconds",
                               str(args.poll_wait_seconds)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(cp)
        while True:
            try:
                call(url + "/v1/stats")
                break
            except OSError:
                time.sleep(0.1)
        # The jobs' group, workspace and experiment (a PUT is idempotent: the control plane may
        # have made them at start).
        call(url + GROUP + "?api-version=2021-04-01", "PUT", {"location": "eastus"})
        call(url + WORKSPACE + API, "PUT", {"location": "eastus"})
        call(url + WORKSPACE + "/experiments/default" + API, "PUT", {})
        for i in range(args.nodes):
            d = os.path.join(tmp, "node-%d" % i)
            os.makedirs(d)
            with open(os.path.join(d, "agent.json"), "w") as f:
                json.dump({"controlPlaneUrl": url, "allowInsecureHttp": True,
                           "nodeId": "node-%d" % i, "root": os.path.join(d, "root"),
                           "stateDir": os.path.join(d, "state")}, f)
            procs.append(subprocess.Popen(
                [AGENT, "daemon", "--config",
                 os.path.join(d, "agent.json")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cluster = url + WORKSPACE + "/clusters/default" + API
        while call(cluster)["properties"]["nodeStateCounts"]["idleNodeCount"] < args.nodes:
            time.sleep(0.2)

        before = call(url + "/v1/stats")["requests"]
        t0 = time.monotonic()
        time.sleep(args.idle_seconds)  # a measurement window, not synchronisation
        elapsed = time.monotonic() - t0
        after = call(url + "/v1/stats")["requests"]
        per_node_min = {k: (after[k] - before[k]) / args.nodes / (elapsed / 60)
                        for k in after}

        latencies = []
        for j in range(args.jobs):
            path = url + WORKSPACE + "/experiments/default/jobs/job-%d" % j + API
            job = call(path, "PUT",
                       {"properties": {"nodeCount": 1,
                                       "stdOutErrPathPrefix": os.path.join(tmp, "logs"),
                                       "customToolkitSettings": {"commandLine": "true"},
                                       "cluster": {"id": WORKSPACE + "/clusters/default"}}})
            while job["properties"]["executionState"] not in ("succeeded", "failed"):
                time.sleep(0.05)
                job = call(path)
            props = job["properties"]
            latencies.append(iso(props["executionInfo"]["startTime"]) - iso(props["creationTime"]))

        print("nodes: %d, idle window: %.0f s, pollWaitSeconds: %d"
              % (args.nodes, elapsed, args.poll_wait_seconds))
        print("idle requests per node per minute: " +
              ", ".join("%s %.2f" % (k, v) for k, v in sorted(per_node_min.items())))
        print("job creation -> task started on a node (%d jobs): median %.0f ms, max %.0f ms"
              % (len(latencies), 1000 * statistics.median(latencies), 1000 * max(latencies)))
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
