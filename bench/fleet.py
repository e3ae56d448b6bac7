#!/usr/bin/env python3
"""Fleet measurement: many agents (each its own node id, root and state dir) against one
reference control plane on loopback. Measures the requests an idle node costs per minute and
the time from job creation to the task starting on a node. Run as root after a build:

    python3 bench/fleet.py --nodes 40 --idle-seconds 180

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
        cp = subprocess.Popen([os.path.join(BIN, "batchai-controlplane"), "--listen",
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
        for i in range(args.nodes):
            d = os.path.join(tmp, "node-%d" % i)
            os.makedirs(d)
            with open(os.path.join(d, "agent.json"), "w") as f:
                json.dump({"controlPlaneUrl": url, "allowInsecureHttp": True,
                           "nodeId": "node-%d" % i, "root": os.path.join(d, "root"),
                           "stateDir": os.path.join(d, "state")}, f)
            procs.append(subprocess.Popen(
                [os.path.join(BIN, "batchai-agent"), "daemon", "--config",
                 os.path.join(d, "agent.json")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cluster = url + "/v1/clusters/default"
        while call(cluster)["nodeStateCounts"]["idleNodeCount"] < args.nodes:
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
            name = "job-%d" % j
            job = call(url + "/v1/workspaces/default/experiments/default/jobs/" + name, "PUT",
                       {"properties": {"nodeCount": 1,
                                       "stdOutErrPathPrefix": os.path.join(tmp, "logs"),
                                       "customToolkitSettings": {"commandLine": "true"}}})
            path = url + "/v1/workspaces/default/experiments/default/jobs/" + name
            while job["executionState"] not in ("succeeded", "failed"):
                time.sleep(0.05)
                job = call(path)
            latencies.append(iso(job["executionInfo"]["startTime"]) - iso(job["creationTime"]))

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
