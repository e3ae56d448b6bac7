"""End-to-end tests of `batchai-controlplane`, the reference control plane (docs/protocol.md).

Each test starts the real binary on a free loopback port (`--listen 127.0.0.1:0`; the port is
read from its log) with a fresh state directory, plays the node and the user over HTTP, and
stops it. No root needed:

    BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane \\
        python3 -m unittest -v tests.controlplane.test_controlplane

Nothing here measures time: a long-poll's return is checked by what it returns (a task, or 304
after a short `wait=1`), and timeouts only guard against a hung server.
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from tests.support.common import CONTROLPLANE as BINARY

SCHEMA = "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/job.json"
SAFETY_TIMEOUT = 30.0  # only a guard against a hung server, never a measured expectation
SUB_RG = "00000000-0000-0000-0000-000000000000/batchai.local"


def job_doc(command="echo hello", node_count=1, **extra):
    props = {
        "nodeCount": node_count,
        "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
        "customToolkitSettings": {"commandLine": command},
    }
    props.update(extra)
    return {"$schema": SCHEMA, "properties": props}


def facts(cluster="default", boot="boot-1", ip="10.0.0.4", host="node-0"):
    return {"cluster": cluster, "bootId": boot, "agentVersion": "0.2.0", "hostname": host,
            "ipAddresses": [ip], "cores": 6, "memoryBytes": 59055800320,
            "gpus": [{"name": "Tesla K80", "uuid": "GPU-1", "memoryBytes": 12884901888}]}


def task_report(task_id, state, exit_code=None, errors=None, start="2018-06-14T22:22:59.838Z"):
    final = state in ("succeeded", "failed")
    return {"taskId": task_id, "state": state,
            "executionInfo": {"startTime": start,
                              "endTime": "2018-06-14T22:30:00.000Z" if final else None,
                              "exitCode": exit_code, "errors": errors or []}}


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class ControlPlane:
    """One batchai-controlplane process and a small HTTP client for it."""

    def __init__(self, state_dir, log_path, args=(), scheme="http", ssl_context=None):
        self.state_dir = state_dir
        self.log_path = log_path
        self.scheme = scheme
        self.ssl_context = ssl_context
        self.token = None
        self.log_start = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [BINARY, "--listen", "127.0.0.1:0", "--state-dir", state_dir, *args],
                stdout=log, stderr=log)
        self.port = self._wait_for_port()

    def log(self):
        """What this process has logged (the file may hold an earlier process's log first)."""
        with open(self.log_path, "rb") as f:
            f.seek(self.log_start)
            return f.read().decode(errors="replace")

    def _wait_for_port(self):
        deadline = time.monotonic() + SAFETY_TIMEOUT
        while time.monotonic() < deadline:
            found = re.findall(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if found and self.proc.poll() is None:
                return int(found[-1])
            if self.proc.poll() is not None:
                raise AssertionError("the control plane exited with %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            time.sleep(0.02)
        raise AssertionError("the control plane did not start:\n" + self.log())

    def connection(self, timeout=SAFETY_TIMEOUT, context=None):
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context or self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=None, timeout=SAFETY_TIMEOUT):
        hdrs = {"Content-Type": "application/json"}
        if self.token is not None:
            hdrs["Authorization"] = "Bearer " + self.token
        hdrs.update(headers or {})
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        conn = self.connection(timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=SAFETY_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("the control plane did not stop on SIGTERM")
        return self.proc.returncode

    # The node's messages.
    def register(self, node, **kw):
        return self.request("POST", "/v1/nodes/%s/register" % node, facts(**kw))

    def desired(self, node, after, wait=0):
        return self.request("GET", "/v1/nodes/%s/desired?after=%d&wait=%d" % (node, after, wait))

    def report(self, node, sequence, node_state="idle", tasks=(), boot="boot-1", errors=()):
        return self.request("PUT", "/v1/nodes/%s/state" % node,
                            {"bootId": boot, "sequence": sequence, "nodeState": node_state,
                             "errors": list(errors), "tasks": list(tasks)})

    # The user's messages.
    def create_job(self, name, doc, ws="ws", exp="exp"):
        return self.request("PUT", "/v1/workspaces/%s/experiments/%s/jobs/%s" % (ws, exp, name),
                            doc)

    def job(self, name, ws="ws", exp="exp"):
        r = self.request("GET", "/v1/workspaces/%s/experiments/%s/jobs/%s" % (ws, exp, name))
        assert r.status == 200, (r.status, r.body)
        return r.json()

    def terminate(self, name, ws="ws", exp="exp"):
        return self.request("POST",
                            "/v1/workspaces/%s/experiments/%s/jobs/%s/terminate" % (ws, exp, name))

    def cluster(self, name="default"):
        r = self.request("GET", "/v1/clusters/" + name)
        assert r.status == 200, (r.status, r.body)
        return r.json()


class ControlPlaneTestCase(unittest.TestCase):
    def setUp(self):
        if not os.access(BINARY, os.X_OK):
            self.fail("no control plane binary at %s (set BATCHAI_CONTROLPLANE)" % BINARY)
        self.tmp = tempfile.mkdtemp(prefix="cp-test-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.servers = []

    def tearDown(self):
        # Every server must end cleanly on SIGTERM (status 0): a crash, a sanitizer report or a
        # leak found at exit fails the test, with the server's log.
        try:
            stopped = [(s, s.stop()) for s in self.servers]
            for s, status in stopped:
                self.assertEqual(status, 0, s.log())
                self.assertNotIn("Sanitizer", s.log())
                self.assertNotIn("runtime error", s.log())
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, insecure=True, **kw):
        extra = list(args) + (["--insecure-http"] if insecure else [])
        cp = ControlPlane(self.state_dir, os.path.join(self.tmp, "controlplane.log"), extra, **kw)
        self.servers.append(cp)
        return cp

    def stop(self, cp):
        self.assertEqual(cp.stop(), 0, cp.log())
        self.servers.remove(cp)

    def idle_node(self, cp, node="node-0", **kw):
        """Registers node and reports it idle; returns its desired-state version."""
        self.assertEqual(cp.register(node, **kw).status, 200)
        self.assertEqual(cp.report(node, 1, boot=kw.get("boot", "boot-1")).status, 200)
        r = cp.desired(node, 0)
        self.assertEqual(r.status, 200)
        return r.json()["version"]

    def task_of(self, cp, node, after=0):
        """The node's desired state (as JSON) after `after`."""
        r = cp.desired(node, after)
        self.assertEqual(r.status, 200, r.body)
        return r.json()


class NodeProtocolTest(ControlPlaneTestCase):
    def test_register_and_long_poll(self):
        cp = self.start()
        r = cp.register("node-0")
        self.assertEqual(r.status, 200, r.body)
        reg = r.json()
        self.assertEqual(reg["nodeId"], "node-0")
        self.assertEqual(reg["cluster"], "default")
        self.assertIsNone(reg["nodeSetup"])
        self.assertEqual(reg["pollWaitSeconds"], 55)
        self.assertEqual(reg["minRequestIntervalMs"], 0)

        first = cp.desired("node-0", 0)
        self.assertEqual(first.status, 200)
        version = first.json()["version"]
        self.assertEqual(first.json()["tasks"], [])
        # Nothing newer: a short wait ends in 304 with no body.
        r = cp.desired("node-0", version, wait=1)
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        # A node ahead of the control plane (restored from an older state) learns the version.
        r = cp.desired("node-0", version + 100, wait=50)
        self.assertEqual((r.status, r.json()["version"]), (200, version))
        self.assertEqual(cp.report("node-0", 1).status, 200)

        # A poll under way returns as soon as a job is assigned to the node.
        result = {}

        def poll():
            result["response"] = cp.desired("node-0", version, wait=50)

        poller = threading.Thread(target=poll)
        poller.start()
        r = cp.create_job("job1", job_doc(secrets=[{"name": "TOKEN", "value": "s3cr3t"}]))
        self.assertEqual(r.status, 201, r.body)
        poller.join(SAFETY_TIMEOUT)
        self.assertFalse(poller.is_alive())
        got = result["response"]
        self.assertEqual(got.status, 200, got.body)
        desired = got.json()
        self.assertGreater(desired["version"], version)
        self.assertEqual(len(desired["tasks"]), 1)
        task = desired["tasks"][0]
        job = cp.job("job1")
        uuid = job["jobOutputDirectoryPathSegment"].rsplit("/", 1)[1]
        self.assertEqual(task["taskId"], "ws/exp/job1/%s/0" % uuid)
        self.assertEqual(task["jobOutputDirectoryPathSegment"],
                         SUB_RG + "/workspaces/ws/experiments/exp/jobs/job1/" + uuid)
        self.assertEqual((task["workspace"], task["experiment"], task["jobName"]),
                         ("ws", "exp", "job1"))
        self.assertEqual(task["taskIndex"], 0)
        self.assertEqual(task["hosts"], ["10.0.0.4"])
        self.assertFalse(task["terminate"])
        # The node gets the job document with its secrets; the user never does.
        self.assertEqual(task["job"]["secrets"], [{"name": "TOKEN", "value": "s3cr3t"}])
        self.assertEqual(task["job"]["$schema"], SCHEMA)
        self.assertEqual(task["job"]["customToolkitSettings"], {"commandLine": "echo hello"})

    def test_unknown_node_and_cluster(self):
        cp = self.start()
        self.assertEqual(cp.desired("ghost", 0).status, 404)
        self.assertEqual(cp.report("ghost", 1).status, 404)
        r = cp.register("node-0", cluster="nowhere")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "ClusterNotFound")
        self.assertEqual(cp.request("POST", "/v1/nodes/bad%20id/register", facts()).status, 400)

    def test_reports_are_idempotent(self):
        cp = self.start()
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("job1", job_doc()).status, 201)
        desired = self.task_of(cp, "node-0", version)
        tid = desired["tasks"][0]["taskId"]

        r = cp.report("node-0", 5, "running", [task_report(tid, "running")])
        self.assertEqual(r.json(), {"acknowledged": 5})
        self.assertEqual(cp.job("job1")["executionState"], "running")
        # An older report, even one with a final state, changes nothing.
        r = cp.report("node-0", 4, "idle", [task_report(tid, "succeeded", 0)])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"acknowledged": 5})
        self.assertEqual(cp.job("job1")["executionState"], "running")
        self.assertEqual(cp.cluster()["nodeStateCounts"]["runningNodeCount"], 1)
        # The same report again: the same answer, nothing changes.
        r = cp.report("node-0", 5, "idle", [task_report(tid, "failed", 1)])
        self.assertEqual(r.json(), {"acknowledged": 5})
        self.assertEqual(cp.job("job1")["executionState"], "running")
        self.assertEqual(self.task_of(cp, "node-0", 0)["version"], desired["version"])
        # A newer one applies; the final task leaves the desired state (a new version).
        r = cp.report("node-0", 6, "idle", [task_report(tid, "succeeded", 0)])
        self.assertEqual(r.json(), {"acknowledged": 6})
        job = cp.job("job1")
        self.assertEqual(job["executionState"], "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        after = self.task_of(cp, "node-0", desired["version"])
        self.assertEqual(after["tasks"], [])
        # A final state is final: a later report of the task running is ignored.
        cp.report("node-0", 7, "running", [task_report(tid, "running")])
        self.assertEqual(cp.job("job1")["executionState"], "succeeded")
        # A report from another boot than the registered one is refused.
        r = cp.report("node-0", 8, boot="boot-2")
        self.assertEqual(r.status, 409)
        # After a re-registration with a new boot, sequences count from that boot on.
        self.assertEqual(cp.register("node-0", boot="boot-2").status, 200)
        self.assertEqual(cp.report("node-0", 1, boot="boot-2").json(), {"acknowledged": 1})

    def test_garbage_and_oversized_bodies(self):
        cp = self.start()
        cases = [
            ("PUT", "/v1/nodes/node-0/state", b"garbage"),
            ("PUT", "/v1/nodes/node-0/state", b"{\"bootId\": 3}"),
            ("POST", "/v1/nodes/node-0/register", b"[1, 2, 3]"),
            ("POST", "/v1/nodes/node-0/register", b"\xff\xfe\x00"),
            ("PUT", "/v1/workspaces/ws/experiments/exp/jobs/j", b"{\"properties\": "),
            ("PUT", "/v1/clusters/c1", b"\"a string\""),
            ("PUT", "/v1/workspaces/ws/experiments/exp/jobs/j",
             b"{\"properties\": {\"x\": " + b"[" * 100000 + b"]" * 100000 + b"}}"),
            ("PUT", "/v1/nodes/node-0/state", b" " * (16 * 1024 * 1024 + 1)),
        ]
        for method, path, body in cases:
            with self.subTest(path=path, body=body[:40]):
                r = cp.request(method, path, raw=body)
                self.assertEqual(r.status, 400, r.body[:300])
                err = r.json()["error"]
                self.assertTrue(err["code"] and err["message"], err)
        r = cp.register("node-0")
        r2 = cp.request("POST", "/v1/nodes/node-0/register", {**facts(), "cores": "six"})
        self.assertEqual(r2.status, 400)
        self.assertIn("register.cores", r2.json()["error"]["message"])
        # Still serving.
        self.assertEqual(r.status, 200)
        self.assertEqual(cp.cluster()["name"], "default")
        self.assertEqual(cp.request("GET", "/v1/nothing/here").status, 404)


class JobTest(ControlPlaneTestCase):
    def test_create_reports_every_problem(self):
        cp = self.start()
        bad = {"$schema": SCHEMA,
               "properties": {"nodeCount": 0,
                              "customToolkitSettings": {},
                              "environmentVariables": [{"name": "AZ_BATCHAI_X", "value": "1"}]}}
        r = cp.create_job("job1", bad)
        self.assertEqual(r.status, 400)
        err = r.json()["error"]
        self.assertEqual(err["code"], "InvalidJobDocument")
        lines = err["message"].splitlines()
        problems = lines[1:]
        self.assertGreaterEqual(len(problems), 4, err["message"])
        for path in ("properties.nodeCount", "properties.stdOutErrPathPrefix",
                     "properties.customToolkitSettings.commandLine",
                     "properties.environmentVariables[0].name"):
            self.assertTrue(any(p.startswith(path + ": ") for p in problems), (path, problems))
        # A bad name in the URL is one more problem of the same answer.
        r = cp.create_job("bad!name", bad)
        self.assertEqual(r.status, 400)
        self.assertIn("job name: ", r.json()["error"]["message"])
        # An unknown cluster.
        r = cp.create_job("job1", job_doc(cluster={"id": "/x/clusters/nowhere"}))
        self.assertEqual(r.status, 400)
        self.assertIn("properties.cluster", r.json()["error"]["message"])
        # Nothing was created; a good document is.
        self.assertEqual(cp.request("GET", "/v1/workspaces/ws/experiments/exp/jobs/job1").status,
                         404)
        self.assertEqual(cp.create_job("job1", job_doc()).status, 201)
        self.assertEqual(cp.create_job("job1", job_doc()).status, 409)

    def test_a_200_kb_field_is_a_400_and_the_control_plane_stays_up(self):
        cp = self.start()
        huge = "a" * (200 * 1024)
        doc = job_doc()
        doc["properties"]["mountVolumes"] = {"azureFileShares": [{
            "accountName": "acct", "azureFileUrl": "https://" + huge,
            "credentials": {"accountKey": "a2V5"}, "relativeMountPath": "logs"}]}
        r = cp.create_job("huge", doc)
        self.assertEqual(r.status, 400)
        self.assertIn("properties.mountVolumes.azureFileShares[0].azureFileUrl: ",
                      r.json()["error"]["message"])
        self.assertIsNone(cp.proc.poll(), "the control plane died")
        self.assertEqual(cp.create_job("fine", job_doc()).status, 201)

    def test_fifo_with_one_node(self):
        cp = self.start()
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("first", job_doc()).status, 201)
        self.assertEqual(cp.create_job("second", job_doc()).status, 201)
        desired = self.task_of(cp, "node-0", version)
        self.assertEqual([t["jobName"] for t in desired["tasks"]], ["first"])
        first = desired["tasks"][0]["taskId"]
        self.assertEqual(cp.job("second")["executionState"], "queued")

        cp.report("node-0", 2, "running", [task_report(first, "running")])
        self.assertEqual(cp.job("first")["executionState"], "running")
        self.assertEqual(cp.job("second")["executionState"], "queued")
        self.assertEqual(cp.desired("node-0", desired["version"], wait=1).status, 304)

        cp.report("node-0", 3, "idle", [task_report(first, "succeeded", 0)])
        self.assertEqual(cp.job("first")["executionState"], "succeeded")
        after = self.task_of(cp, "node-0", desired["version"])
        self.assertEqual([t["jobName"] for t in after["tasks"]], ["second"])

        jobs = cp.request("GET", "/v1/workspaces/ws/experiments/exp/jobs").json()
        self.assertEqual([j["name"] for j in jobs], ["first", "second"])

    def test_big_job_at_the_head_blocks_smaller_ones(self):
        cp = self.start()
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("big", job_doc(node_count=2)).status, 201)
        self.assertEqual(cp.create_job("small", job_doc()).status, 201)
        self.assertEqual(cp.desired("node-0", version, wait=1).status, 304)
        self.assertEqual(cp.job("small")["executionState"], "queued")
        # A second node: the gang fits, both tasks go out, with both hosts.
        self.assertEqual(cp.register("node-1", ip="10.0.0.5", host="node-1").status, 200)
        self.assertEqual(cp.report("node-1", 1).status, 200)
        d0 = self.task_of(cp, "node-0", version)
        d1 = self.task_of(cp, "node-1", 0)
        self.assertEqual([(t["jobName"], t["taskIndex"]) for t in d0["tasks"]], [("big", 0)])
        self.assertEqual([(t["jobName"], t["taskIndex"]) for t in d1["tasks"]], [("big", 1)])
        self.assertEqual(d0["tasks"][0]["hosts"], ["10.0.0.4", "10.0.0.5"])
        t0, t1 = d0["tasks"][0]["taskId"], d1["tasks"][0]["taskId"]
        # The gang runs when any task runs; one failed task terminates the rest.
        cp.report("node-0", 2, "running", [task_report(t0, "running")])
        self.assertEqual(cp.job("big")["executionState"], "running")
        cp.report("node-1", 2, "idle", [task_report(t1, "failed", 1)])
        d0b = self.task_of(cp, "node-0", d0["version"])
        self.assertTrue(d0b["tasks"][0]["terminate"])
        self.assertEqual(cp.job("big")["executionState"], "terminating")
        # The freed node takes the small job meanwhile.
        self.assertEqual([t["jobName"] for t in self.task_of(cp, "node-1", d1["version"])["tasks"]],
                         ["small"])
        cp.report("node-0", 3, "idle", [task_report(t0, "failed", None, [
            {"code": "JobTerminate", "message": "terminated", "details": []}])])
        job = cp.job("big")
        self.assertEqual(job["executionState"], "failed")
        self.assertEqual(job["nodeCount"], 2)

    def test_secrets_are_never_echoed(self):
        cp = self.start()
        doc = job_doc(
            secrets=[{"name": "API_KEY", "value": "secret-value-1"}],
            environmentVariables=[{"name": "PLAIN", "value": "visible"}],
            containerSettings={"imageSourceRegistry": {
                "image": "example/image:1",
                "credentials": {"username": "me", "password": "secret-value-2"}}},
            mountVolumes={
                "azureFileShares": [{
                    "accountName": "acct", "relativeMountPath": "logs",
                    "azureFileUrl": "https://acct.file.core.windows.net/logs",
                    "credentials": {"accountKey": "c2VjcmV0LXZhbHVlLTM="}}],
                "azureBlobFileSystems": [{
                    "accountName": "acct", "containerName": "data", "relativeMountPath": "data",
                    "credentials": {"accountKey": "c2VjcmV0LXZhbHVlLTQ="}}]})
        r = cp.create_job("job1", doc)
        self.assertEqual(r.status, 201, r.body)
        shown = cp.request("GET", "/v1/workspaces/ws/experiments/exp/jobs/job1")
        listed = cp.request("GET", "/v1/workspaces/ws/experiments/exp/jobs")
        for body in (r.body, shown.body, listed.body):
            self.assertNotIn(b"secret-value", body)
            self.assertNotIn(b"c2VjcmV0LXZhbHVl", body)  # the keys, base64 as keys are
        job = shown.json()
        self.assertEqual(job["secrets"], [{"name": "API_KEY", "value": None}])
        self.assertEqual(job["environmentVariables"], [{"name": "PLAIN", "value": "visible"}])
        self.assertIsNone(
            job["containerSettings"]["imageSourceRegistry"]["credentials"]["password"])
        self.assertEqual(job["containerSettings"]["imageSourceRegistry"]["credentials"]["username"],
                         "me")
        self.assertIsNone(job["mountVolumes"]["azureFileShares"][0]["credentials"]["accountKey"])
        self.assertIsNone(
            job["mountVolumes"]["azureBlobFileSystems"][0]["credentials"]["accountKey"])
        # The seeds' shape.
        for key in ("executionState", "executionInfo", "jobOutputDirectoryPathSegment",
                    "creationTime", "name", "nodeCount", "toolType", "cntkSettings",
                    "customToolkitSettings", "constraints", "cluster", "id", "type",
                    "provisioningState", "schedulingPriority", "stdOutErrPathPrefix"):
            self.assertIn(key, job)
        self.assertEqual(job["toolType"], "custom")
        self.assertEqual(job["executionState"], "queued")
        self.assertRegex(job["jobOutputDirectoryPathSegment"],
                         r"^%s/workspaces/ws/experiments/exp/jobs/job1/[0-9a-f-]{36}$" % SUB_RG)
        # The state file holds the secrets, so only its owner may read it.
        mode = stat.S_IMODE(os.stat(os.path.join(self.state_dir, "state.json")).st_mode)
        self.assertEqual(mode, 0o600)

    def test_file_servers_are_resolved_for_the_node(self):
        cp = self.start("--file-server", "nfs1=10.0.0.9:/mnt/data")
        self.idle_node(cp)
        fs_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/"
                 "providers/Microsoft.BatchAI/workspaces/ws/fileServers/nfs1")
        doc = job_doc(mountVolumes={"fileServers": [
            {"fileServer": {"id": fs_id}, "relativeMountPath": "nfs", "sourceDirectory": "d"}]})
        r = cp.create_job("withnfs", doc)
        self.assertEqual(r.status, 201, r.body)
        task = self.task_of(cp, "node-0")["tasks"][0]
        fs = task["job"]["mountVolumes"]["fileServers"][0]["fileServer"]
        self.assertEqual(fs["id"], fs_id)
        self.assertEqual(fs["mountSettings"]["fileServerInternalIP"], "10.0.0.9")
        self.assertEqual(fs["mountSettings"]["mountPoint"], "/mnt/data")
        # A name the control plane does not know is the user's error, at creation.
        doc["properties"]["mountVolumes"]["fileServers"][0]["fileServer"]["id"] = "other"
        r = cp.create_job("unknownnfs", doc)
        self.assertEqual(r.status, 400, r.body)
        self.assertIn(b'properties.mountVolumes.fileServers[0].fileServer.id: no file server '
                      b'named \\"other\\" (known: nfs1)', r.body)
        # A cluster's volumes are checked with the node's rules, and resolved the same way.
        r = cp.request("PUT", "/v1/clusters/default", {"nodeSetup": {"mountVolumes": {
            "fileServers": [{"fileServer": {"id": "nfs1"}, "relativeMountPath": "../x"}]}}})
        self.assertEqual(r.status, 400, r.body)
        self.assertIn(b"nodeSetup.mountVolumes.fileServers[0].relativeMountPath", r.body)
        r = cp.request("PUT", "/v1/clusters/default", {"nodeSetup": {"mountVolumes": {
            "fileServers": [{"fileServer": {"id": "nfs1"}, "relativeMountPath": "shared"}]}}})
        self.assertEqual(r.status, 200, r.body)
        reg = cp.register("node-1").json()
        self.assertEqual(reg["nodeSetup"]["mountVolumes"]["fileServers"][0]["fileServer"]
                         ["mountSettings"]["mountPoint"], "/mnt/data")

    def test_terminate(self):
        cp = self.start()
        # A queued job fails at once.
        self.assertEqual(cp.create_job("queued", job_doc()).status, 201)
        r = cp.terminate("queued")
        self.assertEqual(r.status, 200, r.body)
        job = r.json()
        self.assertEqual(job["executionState"], "failed")
        self.assertEqual([e["code"] for e in job["executionInfo"]["errors"]], ["JobTerminate"])
        self.assertIsNone(job["executionInfo"]["exitCode"])
        # An assigned job: terminating, with terminate: true in the node's desired state.
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("running", job_doc()).status, 201)
        desired = self.task_of(cp, "node-0", version)
        tid = desired["tasks"][0]["taskId"]
        cp.report("node-0", 2, "running", [task_report(tid, "running")])
        r = cp.terminate("running")
        self.assertEqual(r.json()["executionState"], "terminating")
        after = self.task_of(cp, "node-0", desired["version"])
        self.assertTrue(after["tasks"][0]["terminate"])
        # Still terminating while the node reports the task running.
        cp.report("node-0", 3, "running", [task_report(tid, "running")])
        self.assertEqual(cp.job("running")["executionState"], "terminating")
        # Terminating again changes nothing.
        self.assertEqual(cp.terminate("running").status, 200)
        self.assertEqual(self.task_of(cp, "node-0", 0)["version"], after["version"])
        cp.report("node-0", 4, "idle", [task_report(tid, "failed", None, [
            {"code": "JobTerminate", "message": "terminated by the user", "details": []}])])
        job = cp.job("running")
        self.assertEqual(job["executionState"], "failed")
        self.assertEqual(job["executionInfo"]["errors"][0]["code"], "JobTerminate")
        self.assertEqual(self.task_of(cp, "node-0", after["version"])["tasks"], [])
        self.assertEqual(cp.terminate("nope").status, 404)

    def test_terminate_without_content_length(self):
        # curl -X POST sends neither Content-Length nor a body: answered at once, not after the
        # server gave up reading a body that never comes.
        cp = self.start()
        self.assertEqual(cp.create_job("job1", job_doc()).status, 201)
        with socket.create_connection(("127.0.0.1", cp.port), timeout=SAFETY_TIMEOUT) as s:
            s.sendall(b"POST /v1/workspaces/ws/experiments/exp/jobs/job1/terminate HTTP/1.1\r\n"
                      b"Host: localhost\r\n\r\n")
            status_line = s.makefile("rb").readline()
        self.assertEqual(status_line.split()[1], b"200", status_line)
        self.assertEqual(cp.job("job1")["executionState"], "failed")
        # A body, though not used, is read: the next request on the connection still works.
        conn = cp.connection()
        conn.request("POST", "/v1/workspaces/ws/experiments/exp/jobs/job1/terminate", body="{}")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        conn.request("GET", "/v1/clusters/default")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()


class ClusterTest(ControlPlaneTestCase):
    def test_node_state_counts(self):
        cp = self.start()
        c = cp.cluster()
        self.assertEqual(c["currentNodeCount"], 0)
        self.assertEqual(c["nodeStateCounts"], {
            "idleNodeCount": 0, "runningNodeCount": 0, "preparingNodeCount": 0,
            "unusableNodeCount": 0, "leavingNodeCount": 0})
        for i in range(5):
            self.assertEqual(cp.register("n%d" % i, ip="10.0.0.%d" % (10 + i)).status, 200)
        cp.report("n0", 1, "idle")
        cp.report("n1", 1, "running")
        cp.report("n2", 1, "unusable", errors=[
            {"code": "AZFMountError", "message": "mount failed", "details": []}])
        cp.report("n3", 1, "leaving")
        c = cp.cluster()
        self.assertEqual(c["currentNodeCount"], 5)
        self.assertEqual(c["nodeStateCounts"], {
            "idleNodeCount": 1, "runningNodeCount": 1, "preparingNodeCount": 1,
            "unusableNodeCount": 1, "leavingNodeCount": 1})
        for key in ("allocationState", "creationTime", "id", "name", "nodeSetup",
                    "provisioningState", "scaleSettings", "userAccountSettings", "vmSize"):
            self.assertIn(key, c)

    def test_a_bad_setup_task_is_a_400_with_the_nodes_rules(self):
        cp = self.start()
        r = cp.request("PUT", "/v1/clusters/nc6", {"nodeSetup": {"setupTask": {
            "commandLine": "echo setup", "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
            "stdOutErrPathSuffix": "../../etc",
            "environmentVariables": [{"name": "AZ_BATCHAI_MOUNT_ROOT", "value": "/etc"}],
            "secrets": [{"name": "S", "value": "x\u0001"}]}}})
        self.assertEqual(r.status, 400)
        message = r.json()["error"]["message"]
        for field in ("nodeSetup.setupTask.stdOutErrPathSuffix",
                      "nodeSetup.setupTask.environmentVariables[0].name",
                      "nodeSetup.setupTask.secrets[0].value"):
            self.assertIn(field + ": ", message)
        self.assertNotIn("x\u0001", message)

    def test_put_cluster(self):
        cp = self.start()
        settings = {
            "nodeSetup": {"setupTask": {"commandLine": "echo setup",
                                        "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
                                        "secrets": [{"name": "S", "value": "cluster-secret"}]}},
            "userAccountSettings": {"adminUserName": "me", "adminUserPassword": "pw-secret"},
            "scaleSettings": {"manual": {"targetNodeCount": 2}},
        }
        r = cp.request("PUT", "/v1/clusters/nc6", settings)
        self.assertEqual(r.status, 201, r.body)
        self.assertNotIn(b"cluster-secret", r.body)
        self.assertNotIn(b"pw-secret", r.body)
        c = cp.cluster("nc6")
        self.assertEqual(c["nodeSetup"]["setupTask"]["secrets"], [{"name": "S", "value": None}])
        self.assertIsNone(c["userAccountSettings"]["adminUserPassword"])
        self.assertEqual(c["scaleSettings"]["manual"],
                         {"targetNodeCount": 2, "nodeDeallocationOption": "requeue"})
        # The node gets the setup with its secrets.
        reg = cp.register("node-0", cluster="nc6").json()
        self.assertEqual(reg["cluster"], "nc6")
        self.assertEqual(reg["nodeSetup"]["setupTask"]["secrets"][0]["value"], "cluster-secret")
        self.assertEqual(reg["nodeSetup"]["userAccountSettings"]["adminUserPassword"], "pw-secret")
        version = reg["clusterConfigVersion"]
        self.assertEqual(cp.request("PUT", "/v1/clusters/nc6", {}).status, 200)
        self.assertGreater(cp.register("node-0", cluster="nc6").json()["clusterConfigVersion"],
                           version)
        r = cp.request("PUT", "/v1/clusters/nc6", {"scaleSettings": {"manual": {}}, "bogus": 1})
        self.assertEqual(r.status, 400)
        self.assertEqual(len(r.json()["error"]["message"].splitlines()), 3)
        self.assertEqual(cp.request("GET", "/v1/clusters/nowhere").status, 404)
        # Jobs of another cluster do not go to its nodes.
        cp.report("node-0", 1, "idle")
        self.assertEqual(cp.create_job("j", job_doc()).status, 201)
        self.assertEqual(self.task_of(cp, "node-0", 0)["tasks"], [])
        self.assertEqual(cp.create_job("k", job_doc(cluster="nc6")).status, 201)
        self.assertEqual([t["jobName"] for t in self.task_of(cp, "node-0", 0)["tasks"]], ["k"])


class RestartTest(ControlPlaneTestCase):
    def test_restart_keeps_everything(self):
        cp = self.start()
        version = self.idle_node(cp)
        cp.register("node-1", ip="10.0.0.5")
        self.assertEqual(cp.create_job("first", job_doc()).status, 201)
        self.assertEqual(cp.create_job("second", job_doc()).status, 201)
        desired = self.task_of(cp, "node-0", version)
        tid = desired["tasks"][0]["taskId"]
        cp.report("node-0", 2, "running", [task_report(tid, "running")])
        before = cp.job("first")
        cluster_before = cp.cluster()
        self.stop(cp)

        cp = self.start()
        self.assertEqual(cp.job("first"), before)
        self.assertEqual(cp.job("second")["executionState"], "queued")
        self.assertEqual(cp.cluster()["nodeStateCounts"], cluster_before["nodeStateCounts"])
        self.assertEqual(cp.cluster()["currentNodeCount"], 2)
        # The desired state and its version are as they were.
        self.assertEqual(cp.desired("node-0", desired["version"], wait=1).status, 304)
        again = self.task_of(cp, "node-0", desired["version"] - 1)
        self.assertEqual(again, desired)
        # The report sequence too: an old report is still old.
        self.assertEqual(cp.report("node-0", 2, "idle", [task_report(tid, "succeeded", 0)]).json(),
                         {"acknowledged": 2})
        self.assertEqual(cp.job("first")["executionState"], "running")
        cp.report("node-0", 3, "idle", [task_report(tid, "succeeded", 0)])
        self.assertEqual(cp.job("first")["executionState"], "succeeded")
        nxt = self.task_of(cp, "node-0", desired["version"])
        self.assertGreater(nxt["version"], desired["version"])
        self.assertEqual([t["jobName"] for t in nxt["tasks"]], ["second"])


class FilesTest(ControlPlaneTestCase):
    def test_files(self):
        node_root = os.path.join(self.tmp, "node")
        cp = self.start("--node-root", node_root)
        doc = job_doc(outputDirectories=[{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/out"},
                                         {"id": "LOCAL", "pathPrefix": "$AZ_BATCHAI_JOB_TEMP/x"}])
        self.assertEqual(cp.create_job("job1", doc).status, 201)
        segment = cp.job("job1")["jobOutputDirectoryPathSegment"]
        base = "/v1/workspaces/ws/experiments/exp/jobs/job1/files"
        # Not there yet: an empty list.
        r = cp.request("GET", base + "?directory=stdouterr")
        self.assertEqual((r.status, r.json()), (200, []))

        mounts = os.path.join(node_root, "shared", "LS_root", "mounts")
        stdouterr = os.path.join(mounts, "logs", segment, "stdouterr")
        outputs = os.path.join(mounts, "out", segment, "outputs")
        os.makedirs(stdouterr)
        os.makedirs(outputs)
        with open(os.path.join(stdouterr, "stdout.txt"), "wb") as f:
            f.write(b"hello world\n")
        with open(os.path.join(outputs, "model.bin"), "wb") as f:
            f.write(b"\x00\x01\x02")
        secret = os.path.join(self.tmp, "secret.txt")
        with open(secret, "w") as f:
            f.write("do not serve")
        os.symlink(secret, os.path.join(stdouterr, "link.txt"))
        os.mkdir(os.path.join(stdouterr, "subdir"))

        r = cp.request("GET", base + "?directory=stdouterr")
        self.assertEqual(r.status, 200)
        files = r.json()
        self.assertEqual([(f["name"], f["size"]) for f in files], [("stdout.txt", 12)])
        self.assertRegex(files[0]["lastModified"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        r = cp.request("GET", base + "?directory=MODEL")
        self.assertEqual([f["name"] for f in r.json()], ["model.bin"])

        r = cp.request("GET", base + "/stdouterr/stdout.txt?offset=6")
        self.assertEqual((r.status, r.body), (200, b"world\n"))
        self.assertEqual(r.headers["x-job-state"], "queued")
        r = cp.request("GET", base + "/stdouterr/stdout.txt")
        self.assertEqual(r.body, b"hello world\n")
        r = cp.request("GET", base + "/stdouterr/stdout.txt?offset=100")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(cp.request("GET", base + "/MODEL/model.bin").body, b"\x00\x01\x02")

        # Never a symbolic link, never out of the directory.
        for name in ("link.txt", "..", "%2E%2E", "..%2Fsecret.txt", "subdir", "missing.txt",
                     "a%00b"):
            with self.subTest(name=name):
                r = cp.request("GET", base + "/stdouterr/" + name)
                self.assertIn(r.status, (400, 404), r.body)
                self.assertNotIn(b"do not serve", r.body)
        self.assertEqual(cp.request("GET", base + "/stdouterr/x?offset=-1").status, 400)
        # Directories the control plane cannot reach say so.
        r = cp.request("GET", base + "?directory=LOCAL")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "FilesNotReachable")
        self.assertIn("AZ_BATCHAI_JOB_TEMP", r.json()["error"]["message"])
        self.assertEqual(cp.request("GET", base + "?directory=NOPE").status, 404)
        self.assertEqual(cp.request("GET", base).status, 400)

    def test_nothing_outside_the_mount_root_is_served(self):
        node_root = os.path.join(self.tmp, "node")
        mounts = os.path.join(node_root, "shared", "LS_root", "mounts")
        os.makedirs(mounts)
        cp = self.start("--node-root", node_root)
        # 2018-03-01's createNew: false serves <pathPrefix> itself: /etc held /etc/shadow.
        doc = {"$schema": SCHEMA.replace("2018-05-01", "2018-03-01"),
               "properties": dict(job_doc()["properties"], outputDirectories=[
                   {"id": "ETC", "pathPrefix": "/etc", "createNew": False},
                   {"id": "UP", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT", "pathSuffix": "x",
                    "createNew": False},
                   {"id": "LINKED", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/linked",
                    "createNew": False}])}
        r = cp.create_job("job1", doc)
        self.assertEqual(r.status, 201, r.body)
        base = "/v1/workspaces/ws/experiments/exp/jobs/job1/files"
        r = cp.request("GET", base + "/ETC/shadow")
        self.assertEqual(r.status, 404, r.body[:200])
        self.assertEqual(r.json()["error"]["code"], "FilesNotReachable")
        self.assertEqual(cp.request("GET", base + "?directory=ETC").status, 404)
        # A link planted in a share (anyone who can write it) is never followed: not to the
        # control plane's own state, not anywhere.
        os.symlink(self.state_dir, os.path.join(mounts, "linked"))
        os.makedirs(os.path.join(mounts, "x"))
        os.symlink("/etc/passwd", os.path.join(mounts, "x", "passwd"))
        for path in ("/LINKED/state.json", "/UP/passwd", "?directory=LINKED"):
            with self.subTest(path=path):
                r = cp.request("GET", base + path)
                self.assertEqual(r.status, 404, r.body[:200])
                self.assertNotIn(b"root:", r.body)
                self.assertNotIn(b"jobs", r.body)

    def test_no_node_root(self):
        cp = self.start()
        self.assertEqual(cp.create_job("job1", job_doc()).status, 201)
        r = cp.request("GET", "/v1/workspaces/ws/experiments/exp/jobs/job1/files?directory=stdouterr")
        self.assertEqual(r.status, 404)
        self.assertIn("--node-root", r.json()["error"]["message"])


class SecurityTest(ControlPlaneTestCase):
    def test_bearer_token(self):
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write("the-token-123\n")
        os.chmod(token_file, 0o644)
        # A token others can read is refused.
        proc = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--state-dir", self.state_dir,
                               "--insecure-http", "--token-file", token_file],
                              capture_output=True, timeout=SAFETY_TIMEOUT)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        os.chmod(token_file, 0o600)
        node_token_file = os.path.join(self.tmp, "node-token")
        with open(node_token_file, "w") as f:
            f.write("the-nodes-token\n")
        os.chmod(node_token_file, 0o600)
        # One token for both roles is refused: a node could act as a user.
        proc = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--state-dir", self.state_dir,
                               "--insecure-http", "--token-file", token_file,
                               "--node-token-file", token_file],
                              capture_output=True, timeout=SAFETY_TIMEOUT)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        cp = self.start("--token-file", token_file, "--node-token-file", node_token_file)
        for token in (None, "wrong", "the-token-12", "the-token-1234"):
            with self.subTest(token=token):
                cp.token = token
                self.assertEqual(cp.request("GET", "/v1/clusters/default").status, 401)
                self.assertEqual(cp.register("node-0").status, 401)
                self.assertEqual(cp.create_job("j", job_doc()).status, 401)
                self.assertEqual(cp.request("GET", "/v1/stats").status, 401)
        r = cp.request("GET", "/v1/clusters/default", headers={"Authorization": "Basic xyz"})
        self.assertEqual(r.status, 401)
        # The user's token serves the user routes only, the node's the node routes only.
        cp.token = "the-token-123"
        self.assertEqual(cp.request("GET", "/v1/clusters/default").status, 200)
        self.assertEqual(cp.request("GET", "/v1/stats").status, 200)
        self.assertEqual(cp.register("node-0").status, 403)
        self.assertEqual(cp.create_job("j", job_doc()).status, 201)
        cp.token = "the-nodes-token"
        self.assertEqual(cp.register("node-0").status, 200)
        self.assertEqual(cp.request("GET", "/v1/clusters/default").status, 403)
        self.assertEqual(cp.create_job("j2", job_doc()).status, 403)
        self.assertEqual(cp.request("GET", "/v1/stats").status, 403)

    def test_needs_tls_or_insecure_http(self):
        proc = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--state-dir", self.state_dir],
                              capture_output=True, timeout=SAFETY_TIMEOUT)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"--insecure-http", proc.stderr)

    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.tmp,
                       timeout=SAFETY_TIMEOUT)

    def make_ca(self, name):
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                     "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/CN=" + name,
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return os.path.join(self.tmp, name + ".pem")

    def make_cert(self, name, ca, ext):
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                     "-out", name + ".csr", "-subj", "/CN=" + name)
        with open(os.path.join(self.tmp, name + ".ext"), "w") as f:
            f.write(ext)
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
                     "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
                     "-out", name + ".pem", "-extfile", name + ".ext")
        os.chmod(os.path.join(self.tmp, name + ".key"), 0o600)  # a readable key is refused
        return os.path.join(self.tmp, name + ".pem"), os.path.join(self.tmp, name + ".key")

    def test_tls(self):
        ca = self.make_ca("ca")
        other_ca = self.make_ca("other-ca")
        cert, key = self.make_cert("server", "ca", "subjectAltName=IP:127.0.0.1\n"
                                   "extendedKeyUsage=serverAuth\n")
        trusting = ssl.create_default_context(cafile=ca)
        # A server key others can read is refused, as tokens are.
        readable = os.path.join(self.tmp, "readable.key")
        shutil.copy(key, readable)
        os.chmod(readable, 0o644)
        proc = subprocess.run([BINARY, "--listen", "127.0.0.1:0", "--state-dir", self.state_dir,
                               "--tls-cert", cert, "--tls-key", readable],
                              capture_output=True, timeout=SAFETY_TIMEOUT)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"chmod 600", proc.stderr)
        cp = self.start("--tls-cert", cert, "--tls-key", key, insecure=False, scheme="https",
                        ssl_context=trusting)
        r = cp.request("GET", "/v1/clusters/default")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["name"], "default")
        for context in (ssl.create_default_context(cafile=other_ca),
                        ssl.create_default_context()):
            conn = cp.connection(context=context)
            with self.assertRaises(ssl.SSLCertVerificationError):
                conn.request("GET", "/v1/clusters/default")
            conn.close()
        # Still serving after the refused handshakes.
        self.assertEqual(cp.request("GET", "/v1/clusters/default").status, 200)

    def test_mutual_tls(self):
        ca = self.make_ca("ca")
        cert, key = self.make_cert("server", "ca", "subjectAltName=IP:127.0.0.1\n")
        client_cert, client_key = self.make_cert("node-0", "ca", "extendedKeyUsage=clientAuth\n")
        cp = self.start("--tls-cert", cert, "--tls-key", key, "--client-ca", ca, insecure=False,
                        scheme="https", ssl_context=ssl.create_default_context(cafile=ca))
        with_cert = ssl.create_default_context(cafile=ca)
        with_cert.load_cert_chain(client_cert, client_key)

        def call(method, path, body=None):
            conn = cp.connection(context=with_cert)
            conn.request(method, path, body=json.dumps(body) if body is not None else None)
            r = conn.getresponse()
            r.read()
            conn.close()
            return r.status
        # Node node-0's certificate: its own node routes, nobody else's, no user route.
        self.assertEqual(call("POST", "/v1/nodes/node-0/register", facts()), 200)
        self.assertEqual(call("POST", "/v1/nodes/node-1/register", facts()), 403)
        self.assertEqual(call("GET", "/v1/nodes/node-1/desired?after=0&wait=0"), 403)
        self.assertEqual(call("PUT", "/v1/nodes/node-1/state", {}), 403)
        self.assertEqual(call("DELETE", "/v1/nodes/node-1"), 403)
        self.assertEqual(call("GET", "/v1/clusters/default"), 403)
        self.assertEqual(call("PUT", "/v1/workspaces/ws/experiments/exp/jobs/j", job_doc()), 403)
        conn = cp.connection(context=ssl.create_default_context(cafile=ca))
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            conn.request("GET", "/v1/clusters/default")
            conn.getresponse()
        conn.close()


if __name__ == "__main__":
    unittest.main()
