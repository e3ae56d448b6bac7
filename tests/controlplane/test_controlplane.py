"""End-to-end tests of `batchai-controlplane`, the reference control plane (docs/protocol.md).

Each test starts the real binary on a free loopback port (`--listen 127.0.0.1:0`; the port is
read from its log) with a fresh state directory, plays the node over the node routes
(`/v1/nodes/...`) and the user over the resource-manager API (Batch AI 2018-05-01, under
`/subscriptions/...`, docs/real-clients.md), and stops it. No root needed:

    BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane \\
        python3 -m unittest -v tests.controlplane.test_controlplane

The user's jobs live in the resource group batchai.local, workspace default (the one of the
control plane's cluster "default") and experiment exp, made by every server's start (a PUT is
idempotent).

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
import urllib.parse

from tests.support.common import CONTROLPLANE as BINARY

SCHEMA = "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/job.json"
SAFETY_TIMEOUT = 30.0  # only a guard against a hung server, never a measured expectation
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
GROUP = "batchai.local"
SUB_RG = SUBSCRIPTION + "/" + GROUP
WS = "default"  # the workspace of the control plane's cluster "default"
EXP = "exp"
API = "api-version=2018-05-01"
GROUP_API = "api-version=2021-04-01"
GROUP_PATH = "/subscriptions/%s/resourceGroups/%s" % (SUBSCRIPTION, GROUP)
WS_PATH = GROUP_PATH + "/providers/Microsoft.BatchAI/workspaces/" + WS


def arm(path, query=""):
    """A resource-manager path below the workspace, with the api-version."""
    return WS_PATH + path + "?" + API + ("&" + query if query else "")


def cluster_id(name="default"):
    return WS_PATH + "/clusters/" + name


def job_path(name, exp=EXP):
    return WS_PATH + "/experiments/%s/jobs/%s" % (exp, name)


def job_doc(command="echo hello", node_count=1, **extra):
    props = {
        "nodeCount": node_count,
        "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
        "customToolkitSettings": {"commandLine": command},
        "cluster": {"id": cluster_id("default")},
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

    # The user's messages (the resource-manager API).
    def prepare(self):
        """The resource group, workspace and experiment of the tests' jobs (PUT is idempotent:
        the control plane may have made some of them itself)."""
        r = self.request("PUT", GROUP_PATH + "?" + GROUP_API, {"location": "eastus"})
        assert r.status in (200, 201), (r.status, r.body)
        r = self.request("PUT", WS_PATH + "?" + API, {"location": "eastus"})
        assert r.status == 200, (r.status, r.body)
        r = self.request("PUT", arm("/experiments/" + EXP), {})
        assert r.status == 200, (r.status, r.body)

    def create_job(self, name, doc, exp=EXP):
        return self.request("PUT", job_path(name, exp) + "?" + API, doc)

    def job(self, name, exp=EXP):
        """The job resource: {"id", "name", "type", "properties"}."""
        r = self.request("GET", job_path(name, exp) + "?" + API)
        assert r.status == 200, (r.status, r.body)
        return r.json()

    def state(self, name, exp=EXP):
        return self.job(name, exp)["properties"]["executionState"]

    def jobs(self, exp=EXP):
        r = self.request("GET", arm("/experiments/%s/jobs" % exp))
        assert r.status == 200, (r.status, r.body)
        return r

    def terminate(self, name, exp=EXP):
        return self.request("POST", job_path(name, exp) + "/terminate?" + API)

    def put_cluster(self, name, settings):
        return self.request("PUT", arm("/clusters/" + name), settings)

    def cluster(self, name="default"):
        """The cluster resource: {"id", "name", "type", "properties"}."""
        r = self.request("GET", arm("/clusters/" + name))
        assert r.status == 200, (r.status, r.body)
        return r.json()

    def output_files(self, name, directory_id, exp=EXP, **query):
        q = urllib.parse.urlencode(dict(outputdirectoryid=directory_id, **query))
        return self.request("POST", job_path(name, exp) + "/listOutputFiles?" + API + "&" + q)

    def download(self, url, headers=None):
        """GET on a downloadUrl: an absolute link to this server that is its own credential (no
        bearer token)."""
        parts = urllib.parse.urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (
            self.scheme, "127.0.0.1:%d" % self.port, "/jobfiles"), url
        conn = self.connection()
        try:
            conn.request("GET", parts.path + "?" + parts.query, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()


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

    def start(self, *args, insecure=True, prepare=True, token=None, **kw):
        """A server with the user's group, workspace and experiment (made with token, which is
        left as the server's token; prepare=False where no user can make them)."""
        extra = list(args) + (["--insecure-http"] if insecure else [])
        cp = ControlPlane(self.state_dir, os.path.join(self.tmp, "controlplane.log"), extra, **kw)
        self.servers.append(cp)
        cp.token = token
        if prepare:
            cp.prepare()
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
        self.assertEqual(r.status, 200, r.body)
        poller.join(SAFETY_TIMEOUT)
        self.assertFalse(poller.is_alive())
        got = result["response"]
        self.assertEqual(got.status, 200, got.body)
        desired = got.json()
        self.assertGreater(desired["version"], version)
        self.assertEqual(len(desired["tasks"]), 1)
        task = desired["tasks"][0]
        job = cp.job("job1")["properties"]
        uuid = job["jobOutputDirectoryPathSegment"].rsplit("/", 1)[1]
        self.assertEqual(task["taskId"], "default/exp/job1/%s/0" % uuid)
        self.assertEqual(task["jobOutputDirectoryPathSegment"],
                         SUB_RG + "/workspaces/default/experiments/exp/jobs/job1/" + uuid)
        self.assertEqual((task["workspace"], task["experiment"], task["jobName"]),
                         ("default", "exp", "job1"))
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

    def test_the_default_place_and_cluster(self):
        # Made at start: the group, workspace "default" and experiment "default" of --cluster.
        cp = self.start(prepare=False)
        r = cp.request("GET", arm("/experiments/default"))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["id"], WS_PATH + "/experiments/default")
        self.assertEqual(cp.cluster()["id"], cluster_id("default"))
        # A job that names no cluster goes to --cluster.
        doc = job_doc()
        del doc["properties"]["cluster"]
        r = cp.create_job("plain", doc, exp="default")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(cp.job("plain", exp="default")["properties"]["cluster"]["id"],
                         cluster_id("default"))
        # The user routes of old are gone; the node routes stay.
        for method, path in (("GET", "/v1/clusters/default"),
                             ("PUT", "/v1/workspaces/default/experiments/default/jobs/x"),
                             ("GET", "/v1/workspaces/default/experiments/default/jobs")):
            self.assertEqual(cp.request(method, path, {} if method == "PUT" else None).status,
                             404, path)
        self.idle_node(cp)
        self.assertEqual(self.task_of(cp, "node-0", 0)["tasks"][0]["jobName"], "plain")

    def test_reports_are_idempotent(self):
        cp = self.start()
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("job1", job_doc()).status, 200)
        desired = self.task_of(cp, "node-0", version)
        tid = desired["tasks"][0]["taskId"]

        r = cp.report("node-0", 5, "running", [task_report(tid, "running")])
        self.assertEqual(r.json(), {"acknowledged": 5})
        self.assertEqual(cp.state("job1"), "running")
        # An older report, even one with a final state, changes nothing.
        r = cp.report("node-0", 4, "idle", [task_report(tid, "succeeded", 0)])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"acknowledged": 5})
        self.assertEqual(cp.state("job1"), "running")
        self.assertEqual(cp.cluster()["properties"]["nodeStateCounts"]["runningNodeCount"], 1)
        # The same report again: the same answer, nothing changes.
        r = cp.report("node-0", 5, "idle", [task_report(tid, "failed", 1)])
        self.assertEqual(r.json(), {"acknowledged": 5})
        self.assertEqual(cp.state("job1"), "running")
        self.assertEqual(self.task_of(cp, "node-0", 0)["version"], desired["version"])
        # A newer one applies; the final task leaves the desired state (a new version).
        r = cp.report("node-0", 6, "idle", [task_report(tid, "succeeded", 0)])
        self.assertEqual(r.json(), {"acknowledged": 6})
        job = cp.job("job1")["properties"]
        self.assertEqual(job["executionState"], "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        after = self.task_of(cp, "node-0", desired["version"])
        self.assertEqual(after["tasks"], [])
        # A final state is final: a later report of the task running is ignored.
        cp.report("node-0", 7, "running", [task_report(tid, "running")])
        self.assertEqual(cp.state("job1"), "succeeded")
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
            ("PUT", job_path("j") + "?" + API, b"{\"properties\": "),
            ("PUT", arm("/clusters/c1"), b"\"a string\""),
            ("PUT", job_path("j") + "?" + API,
             b"{\"properties\": {\"x\": " + b"[" * 100000 + b"]" * 100000 + b"}}"),
            ("PUT", arm("/clusters/c1"),
             b"{\"properties\": {\"x\": " + b"[" * 100000 + b"]" * 100000 + b"}}"),
            ("PUT", WS_PATH + "?" + API, b"garbage"),
            ("PUT", arm("/experiments/e2"), b"[1, 2, 3]"),
            ("PUT", "/v1/nodes/node-0/state", b" " * (16 * 1024 * 1024 + 1)),
            ("PUT", job_path("j") + "?" + API, b" " * (16 * 1024 * 1024 + 1)),
            ("POST", job_path("j") + "/terminate?" + API, b" " * (16 * 1024 * 1024 + 1)),
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
        self.assertEqual(cp.request("GET", job_path("j") + "?" + API).status, 404)
        self.assertEqual(cp.request("GET", arm("/experiments/e2")).status, 404)
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
        # A bad name in the URL is refused before the document is read, with the name.
        r = cp.create_job("bad!name", bad)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "InvalidResourceName")
        self.assertIn("job name \"bad!name\"", r.json()["error"]["message"])
        # An unknown cluster, and one of another workspace.
        r = cp.create_job("job1", job_doc(cluster={"id": "/x/clusters/nowhere"}))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "InvalidJobDocument")
        self.assertIn("properties.cluster", r.json()["error"]["message"])
        self.assertEqual(cp.request("PUT", GROUP_PATH + "/providers/Microsoft.BatchAI/workspaces/"
                                    "other?" + API, {"location": "eastus"}).status, 200)
        r = cp.request("PUT", GROUP_PATH + "/providers/Microsoft.BatchAI/workspaces/other/"
                       "clusters/elsewhere?" + API, {"properties": {}})
        self.assertEqual(r.status, 200, r.body)
        r = cp.create_job("job1", job_doc(cluster={"id": r.json()["id"]}))
        self.assertEqual(r.status, 400)
        self.assertIn("properties.cluster", r.json()["error"]["message"])
        # This workspace's cluster, by an id that puts it in another workspace or group.
        for wrong in (GROUP_PATH + "/providers/Microsoft.BatchAI/workspaces/other/clusters/default",
                      "/subscriptions/%s/resourceGroups/elsewhere/providers/Microsoft.BatchAI/"
                      "workspaces/default/clusters/default" % SUBSCRIPTION):
            r = cp.create_job("job1", job_doc(cluster={"id": wrong}))
            self.assertEqual(r.status, 400, wrong)
            self.assertIn("properties.cluster.id", r.json()["error"]["message"])
        # An experiment that does not exist.
        r = cp.create_job("job1", job_doc(), exp="nowhere")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "ResourceNotFound")
        # Nothing was created; a good document is, once.
        r = cp.request("GET", job_path("job1") + "?" + API)
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "ResourceNotFound")
        self.assertEqual(cp.jobs().json()["value"], [])
        self.assertEqual(cp.create_job("job1", job_doc()).status, 200)
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
        self.assertEqual(cp.create_job("fine", job_doc()).status, 200)

    def test_fifo_with_one_node(self):
        cp = self.start()
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("first", job_doc()).status, 200)
        self.assertEqual(cp.create_job("second", job_doc()).status, 200)
        desired = self.task_of(cp, "node-0", version)
        self.assertEqual([t["jobName"] for t in desired["tasks"]], ["first"])
        first = desired["tasks"][0]["taskId"]
        self.assertEqual(cp.state("second"), "queued")

        cp.report("node-0", 2, "running", [task_report(first, "running")])
        self.assertEqual(cp.state("first"), "running")
        self.assertEqual(cp.state("second"), "queued")
        self.assertEqual(cp.desired("node-0", desired["version"], wait=1).status, 304)

        cp.report("node-0", 3, "idle", [task_report(first, "succeeded", 0)])
        self.assertEqual(cp.state("first"), "succeeded")
        after = self.task_of(cp, "node-0", desired["version"])
        self.assertEqual([t["jobName"] for t in after["tasks"]], ["second"])

        jobs = cp.jobs().json()
        self.assertEqual([j["name"] for j in jobs["value"]], ["first", "second"])
        self.assertNotIn("nextLink", jobs)

    def test_big_job_at_the_head_blocks_smaller_ones(self):
        cp = self.start()
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("big", job_doc(node_count=2)).status, 200)
        self.assertEqual(cp.create_job("small", job_doc()).status, 200)
        self.assertEqual(cp.desired("node-0", version, wait=1).status, 304)
        self.assertEqual(cp.state("small"), "queued")
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
        self.assertEqual(cp.state("big"), "running")
        cp.report("node-1", 2, "idle", [task_report(t1, "failed", 1)])
        d0b = self.task_of(cp, "node-0", d0["version"])
        self.assertTrue(d0b["tasks"][0]["terminate"])
        self.assertEqual(cp.state("big"), "terminating")
        # The freed node takes the small job meanwhile.
        self.assertEqual([t["jobName"] for t in self.task_of(cp, "node-1", d1["version"])["tasks"]],
                         ["small"])
        cp.report("node-0", 3, "idle", [task_report(t0, "failed", None, [
            {"code": "JobTerminate", "message": "terminated", "details": []}])])
        job = cp.job("big")["properties"]
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
        self.assertEqual(r.status, 200, r.body)
        shown = cp.request("GET", job_path("job1") + "?" + API)
        listed = cp.jobs()
        for body in (r.body, shown.body, listed.body):
            self.assertNotIn(b"secret-value", body)
            self.assertNotIn(b"c2VjcmV0LXZhbHVl", body)  # the keys, base64 as keys are
        self.assertEqual(r.json(), shown.json())
        self.assertEqual(listed.json()["value"], [shown.json()])
        resource = shown.json()
        # 2018-05-01's Job: the resource's id, name and type, the rest in properties.
        self.assertEqual(resource["id"], job_path("job1"))
        self.assertEqual(resource["name"], "job1")
        self.assertEqual(resource["type"], "Microsoft.BatchAI/workspaces/experiments/jobs")
        job = resource["properties"]
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
                    "creationTime", "nodeCount", "toolType", "cntkSettings",
                    "customToolkitSettings", "constraints", "cluster",
                    "provisioningState", "schedulingPriority", "stdOutErrPathPrefix"):
            self.assertIn(key, job)
        self.assertEqual(job["toolType"], "custom")
        self.assertEqual(job["executionState"], "queued")
        self.assertEqual(job["cluster"]["id"], cluster_id("default"))
        self.assertRegex(job["jobOutputDirectoryPathSegment"],
                         r"^%s/workspaces/default/experiments/exp/jobs/job1/[0-9a-f-]{36}$"
                         % re.escape(SUB_RG))
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
        self.assertEqual(r.status, 200, r.body)
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
        r = cp.put_cluster("default", {"properties": {"nodeSetup": {"mountVolumes": {
            "fileServers": [{"fileServer": {"id": "nfs1"}, "relativeMountPath": "../x"}]}}}})
        self.assertEqual(r.status, 400, r.body)
        self.assertIn(b"nodeSetup.mountVolumes.fileServers[0].relativeMountPath", r.body)
        r = cp.put_cluster("default", {"properties": {"nodeSetup": {"mountVolumes": {
            "fileServers": [{"fileServer": {"id": "nfs1"}, "relativeMountPath": "shared"}]}}}})
        self.assertEqual(r.status, 200, r.body)
        reg = cp.register("node-1").json()
        self.assertEqual(reg["nodeSetup"]["mountVolumes"]["fileServers"][0]["fileServer"]
                         ["mountSettings"]["mountPoint"], "/mnt/data")

    def test_terminate(self):
        cp = self.start()
        # A queued job fails at once.
        self.assertEqual(cp.create_job("queued", job_doc()).status, 200)
        r = cp.terminate("queued")
        self.assertEqual((r.status, r.body), (200, b""))
        job = cp.job("queued")["properties"]
        self.assertEqual(job["executionState"], "failed")
        self.assertEqual([e["code"] for e in job["executionInfo"]["errors"]], ["JobTerminate"])
        self.assertIsNone(job["executionInfo"]["exitCode"])
        # An assigned job: terminating, with terminate: true in the node's desired state.
        version = self.idle_node(cp)
        self.assertEqual(cp.create_job("running", job_doc()).status, 200)
        desired = self.task_of(cp, "node-0", version)
        tid = desired["tasks"][0]["taskId"]
        cp.report("node-0", 2, "running", [task_report(tid, "running")])
        self.assertEqual(cp.terminate("running").status, 200)
        self.assertEqual(cp.state("running"), "terminating")
        after = self.task_of(cp, "node-0", desired["version"])
        self.assertTrue(after["tasks"][0]["terminate"])
        # Still terminating while the node reports the task running.
        cp.report("node-0", 3, "running", [task_report(tid, "running")])
        self.assertEqual(cp.state("running"), "terminating")
        # Terminating again changes nothing.
        self.assertEqual(cp.terminate("running").status, 200)
        self.assertEqual(self.task_of(cp, "node-0", 0)["version"], after["version"])
        cp.report("node-0", 4, "idle", [task_report(tid, "failed", None, [
            {"code": "JobTerminate", "message": "terminated by the user", "details": []}])])
        job = cp.job("running")["properties"]
        self.assertEqual(job["executionState"], "failed")
        self.assertEqual(job["executionInfo"]["errors"][0]["code"], "JobTerminate")
        self.assertEqual(self.task_of(cp, "node-0", after["version"])["tasks"], [])
        r = cp.terminate("nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "ResourceNotFound")

    def test_terminate_without_content_length(self):
        # curl -X POST sends neither Content-Length nor a body: answered at once, not after the
        # server gave up reading a body that never comes.
        cp = self.start()
        self.assertEqual(cp.create_job("job1", job_doc()).status, 200)
        with socket.create_connection(("127.0.0.1", cp.port), timeout=SAFETY_TIMEOUT) as s:
            s.sendall(b"POST " + (job_path("job1") + "/terminate?" + API).encode() +
                      b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
            status_line = s.makefile("rb").readline()
        self.assertEqual(status_line.split()[1], b"200", status_line)
        self.assertEqual(cp.state("job1"), "failed")
        # A body, though not used, is read: the next request on the connection still works.
        conn = cp.connection()
        conn.request("POST", job_path("job1") + "/terminate?" + API, body="{}")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        conn.request("GET", arm("/clusters/default"))
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()


class ClusterTest(ControlPlaneTestCase):
    def test_node_state_counts(self):
        cp = self.start()
        c = cp.cluster()["properties"]
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
        resource = cp.cluster()
        self.assertEqual((resource["id"], resource["name"]), (cluster_id("default"), "default"))
        self.assertEqual(resource["type"], "Microsoft.BatchAI/workspaces/clusters")
        c = resource["properties"]
        self.assertEqual(c["currentNodeCount"], 5)
        self.assertEqual(c["nodeStateCounts"], {
            "idleNodeCount": 1, "runningNodeCount": 1, "preparingNodeCount": 1,
            "unusableNodeCount": 1, "leavingNodeCount": 1})
        for key in ("allocationState", "creationTime", "nodeSetup",
                    "provisioningState", "scaleSettings", "userAccountSettings", "vmSize"):
            self.assertIn(key, c)

    def test_a_bad_setup_task_is_a_400_with_the_nodes_rules(self):
        cp = self.start()
        r = cp.put_cluster("nc6", {"properties": {"nodeSetup": {"setupTask": {
            "commandLine": "echo setup", "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
            "stdOutErrPathSuffix": "../../etc",
            "environmentVariables": [{"name": "AZ_BATCHAI_MOUNT_ROOT", "value": "/etc"}],
            "secrets": [{"name": "S", "value": "x\u0001"}]}}}})
        self.assertEqual(r.status, 400)
        message = r.json()["error"]["message"]
        for field in ("nodeSetup.setupTask.stdOutErrPathSuffix",
                      "nodeSetup.setupTask.environmentVariables[0].name",
                      "nodeSetup.setupTask.secrets[0].value"):
            self.assertIn(field + ": ", message)
        self.assertNotIn("x\u0001", message)
        self.assertEqual(cp.request("GET", arm("/clusters/nc6")).status, 404)

    def test_put_cluster(self):
        cp = self.start()
        settings = {
            "nodeSetup": {"setupTask": {"commandLine": "echo setup",
                                        "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
                                        "secrets": [{"name": "S", "value": "cluster-secret"}]}},
            "userAccountSettings": {"adminUserName": "me", "adminUserPassword": "pw-secret"},
            "scaleSettings": {"manual": {"targetNodeCount": 2}},
        }
        # ARM answers a created cluster 200, as an updated one (the clients fail on 201).
        r = cp.put_cluster("nc6", {"properties": settings})
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn(b"cluster-secret", r.body)
        self.assertNotIn(b"pw-secret", r.body)
        self.assertEqual((r.json()["id"], r.json()["name"]), (cluster_id("nc6"), "nc6"))
        self.assertEqual(r.json()["properties"]["provisioningState"], "succeeded")
        self.assertEqual(r.json(), cp.cluster("nc6"))
        c = cp.cluster("nc6")["properties"]
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
        self.assertEqual(cp.put_cluster("nc6", {"properties": {}}).status, 200)
        self.assertGreater(cp.register("node-0", cluster="nc6").json()["clusterConfigVersion"],
                           version)
        r = cp.put_cluster("nc6", {"properties": {"scaleSettings": {"manual": {}}, "bogus": 1}})
        self.assertEqual(r.status, 400)
        self.assertEqual(len(r.json()["error"]["message"].splitlines()), 3)
        r = cp.request("GET", arm("/clusters/nowhere"))
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "ResourceNotFound")
        # Jobs of another cluster do not go to its nodes.
        cp.report("node-0", 1, "idle")
        self.assertEqual(cp.create_job("j", job_doc()).status, 200)
        self.assertEqual(self.task_of(cp, "node-0", 0)["tasks"], [])
        self.assertEqual(cp.create_job("k", job_doc(cluster={"id": cluster_id("nc6")})).status,
                         200)
        self.assertEqual([t["jobName"] for t in self.task_of(cp, "node-0", 0)["tasks"]], ["k"])


class RestartTest(ControlPlaneTestCase):
    def test_restart_keeps_everything(self):
        cp = self.start()
        version = self.idle_node(cp)
        cp.register("node-1", ip="10.0.0.5")
        self.assertEqual(cp.create_job("first", job_doc()).status, 200)
        self.assertEqual(cp.create_job("second", job_doc()).status, 200)
        desired = self.task_of(cp, "node-0", version)
        tid = desired["tasks"][0]["taskId"]
        cp.report("node-0", 2, "running", [task_report(tid, "running")])
        before = cp.job("first")
        cluster_before = cp.cluster()["properties"]
        self.stop(cp)

        cp = self.start()
        self.assertEqual(cp.job("first"), before)
        self.assertEqual(cp.state("second"), "queued")
        self.assertEqual(cp.cluster()["properties"]["nodeStateCounts"],
                         cluster_before["nodeStateCounts"])
        self.assertEqual(cp.cluster()["properties"]["currentNodeCount"], 2)
        # The desired state and its version are as they were.
        self.assertEqual(cp.desired("node-0", desired["version"], wait=1).status, 304)
        again = self.task_of(cp, "node-0", desired["version"] - 1)
        self.assertEqual(again, desired)
        # The report sequence too: an old report is still old.
        self.assertEqual(cp.report("node-0", 2, "idle", [task_report(tid, "succeeded", 0)]).json(),
                         {"acknowledged": 2})
        self.assertEqual(cp.state("first"), "running")
        cp.report("node-0", 3, "idle", [task_report(tid, "succeeded", 0)])
        self.assertEqual(cp.state("first"), "succeeded")
        nxt = self.task_of(cp, "node-0", desired["version"])
        self.assertGreater(nxt["version"], desired["version"])
        self.assertEqual([t["jobName"] for t in nxt["tasks"]], ["second"])


class FilesTest(ControlPlaneTestCase):
    def files(self, cp, job, directory_id, **query):
        """listOutputFiles' page: its value, checked to be a 200 with no next page."""
        r = cp.output_files(job, directory_id, **query)
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn("nextLink", r.json())
        return r.json()["value"]

    def link(self, cp, job, directory_id, name, **query):
        """The downloadUrl of the file name as listOutputFiles gives it."""
        for f in self.files(cp, job, directory_id, **query):
            if f["name"] == name:
                self.assertEqual(f["fileType"], "file", f)
                return f["downloadUrl"]
        self.fail("%s is not listed in %s" % (name, directory_id))

    def test_files(self):
        node_root = os.path.join(self.tmp, "node")
        cp = self.start("--node-root", node_root)
        doc = job_doc(outputDirectories=[{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/out"},
                                         {"id": "LOCAL", "pathPrefix": "$AZ_BATCHAI_JOB_TEMP/x"}])
        self.assertEqual(cp.create_job("job1", doc).status, 200)
        segment = cp.job("job1")["properties"]["jobOutputDirectoryPathSegment"]
        # Not there yet: an empty list.
        self.assertEqual(self.files(cp, "job1", "stdouterr"), [])

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
        os.symlink(self.tmp, os.path.join(stdouterr, "linkdir"))
        os.mkdir(os.path.join(stdouterr, "subdir"))
        with open(os.path.join(stdouterr, "subdir", "deep.txt"), "wb") as f:
            f.write(b"deep\n")

        # Files and directories, never a symbolic link; a directory has no link.
        files = self.files(cp, "job1", "stdouterr")
        self.assertEqual([(f["name"], f["fileType"]) for f in files],
                         [("stdout.txt", "file"), ("subdir", "directory")])
        self.assertEqual(files[0]["properties"]["contentLength"], 12)
        self.assertRegex(files[0]["properties"]["lastModified"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertNotIn("downloadUrl", files[1])
        self.assertEqual([f["name"] for f in self.files(cp, "job1", "MODEL")], ["model.bin"])
        self.assertEqual([f["name"] for f in self.files(cp, "job1", "stdouterr",
                                                         directory="subdir")], ["deep.txt"])

        # A link needs no bearer token, serves the whole file or one range of it.
        url = self.link(cp, "job1", "stdouterr", "stdout.txt")
        r = cp.download(url)
        self.assertEqual((r.status, r.body), (200, b"hello world\n"))
        r = cp.download(url, {"Range": "bytes=6-"})
        self.assertEqual((r.status, r.body), (206, b"world\n"))
        self.assertEqual(r.headers["content-range"], "bytes 6-11/12")
        r = cp.download(url, {"Range": "bytes=-3"})
        self.assertEqual((r.status, r.body), (206, b"ld\n"))
        # A range that runs past the end ends there (as batchai's reads of 4 MiB at a time ask).
        r = cp.download(url, {"Range": "bytes=6-4194303"})
        self.assertEqual((r.status, r.body), (206, b"world\n"))
        self.assertEqual(r.headers["content-range"], "bytes 6-11/12")
        self.assertEqual(r.headers["content-length"], "6")
        # Past the end: 416, with the size; not a range: 416 too.
        r = cp.download(url, {"Range": "bytes=100-"})
        self.assertEqual(r.status, 416, r.body)
        self.assertEqual(r.headers["content-range"], "bytes */12")
        for header in ("bytes=abc", "bytes=0-1,3-4"):
            with self.subTest(range=header):
                r = cp.download(url, {"Range": header})
                self.assertEqual(r.status, 416, r.body)
                self.assertNotIn(b"hello", r.body)
        self.assertEqual(cp.download(self.link(cp, "job1", "MODEL", "model.bin")).body,
                         b"\x00\x01\x02")
        deep_url = self.link(cp, "job1", "stdouterr", "deep.txt", directory="subdir")
        r = cp.download(deep_url)
        self.assertEqual((r.status, r.body), (200, b"deep\n"))
        # A file gone since its link was given.
        os.remove(os.path.join(stdouterr, "subdir", "deep.txt"))
        self.assertEqual(cp.download(deep_url).status, 404)

        # A link is its own credential: another file, directory or job under its signature is
        # refused.
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        for key, value in (("path", "link.txt"), ("path", "../secret.txt"), ("dir", "MODEL"),
                           ("job", "default/exp/job2"), ("se", str(int(query["se"]) + 1))):
            with self.subTest(forged=key, value=value):
                forged = dict(query, **{key: value})
                r = cp.download(urllib.parse.urlunsplit(
                    parts._replace(query=urllib.parse.urlencode(forged))))
                self.assertEqual(r.status, 403, r.body)
                self.assertNotIn(b"do not serve", r.body)

        # Never a symbolic link, never out of the directory.
        for name in ("link.txt", "linkdir", "..", "../..", "subdir/../..", "./../subdir",
                     "../secret.txt", "/etc", "stdout.txt", "a\x00b"):
            with self.subTest(directory=name):
                r = cp.output_files("job1", "stdouterr", directory=name)
                self.assertIn(r.status, (400, 404), r.body)
                self.assertNotIn(b"do not serve", r.body)
                self.assertNotIn(b"secret.txt", r.body)
        # A file that becomes a link after its link was given is not followed either.
        os.remove(os.path.join(stdouterr, "stdout.txt"))
        os.symlink(secret, os.path.join(stdouterr, "stdout.txt"))
        r = cp.download(url)
        self.assertIn(r.status, (400, 404), r.body)
        self.assertNotIn(b"do not serve", r.body)

        self.assertEqual(cp.output_files("job1", "stdouterr", linkexpiryinminutes="4").status, 400)
        # Directories the control plane cannot reach say so.
        r = cp.output_files("job1", "LOCAL")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["code"], "FilesNotReachable")
        self.assertIn("AZ_BATCHAI_JOB_TEMP", r.json()["error"]["message"])
        self.assertEqual(cp.output_files("job1", "NOPE").status, 404)
        r = cp.request("POST", job_path("job1") + "/listOutputFiles?" + API)
        self.assertEqual(r.status, 400)
        self.assertEqual(cp.output_files("nojob", "stdouterr").status, 404)

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
        self.assertEqual(r.status, 200, r.body)
        r = cp.output_files("job1", "ETC")
        self.assertEqual(r.status, 404, r.body[:200])
        self.assertEqual(r.json()["error"]["code"], "FilesNotReachable")
        self.assertNotIn(b"shadow", r.body)
        # A link planted in a share (anyone who can write it) is never followed: not to the
        # control plane's own state, not anywhere; not even in place of a file or directory
        # whose link was given before.
        os.makedirs(os.path.join(mounts, "linked"))
        with open(os.path.join(mounts, "linked", "state.json"), "w") as f:
            f.write("{}")
        os.makedirs(os.path.join(mounts, "x"))
        with open(os.path.join(mounts, "x", "passwd"), "w") as f:
            f.write("nobody")
        linked_url = self.link(cp, "job1", "LINKED", "state.json")
        passwd_url = self.link(cp, "job1", "UP", "passwd")
        os.rename(os.path.join(mounts, "linked"), os.path.join(mounts, "was-linked"))
        os.symlink(self.state_dir, os.path.join(mounts, "linked"))
        os.remove(os.path.join(mounts, "x", "passwd"))
        os.symlink("/etc/passwd", os.path.join(mounts, "x", "passwd"))
        for what, url in (("LINKED/state.json", linked_url), ("UP/passwd", passwd_url)):
            with self.subTest(download=what):
                r = cp.download(url)
                self.assertEqual(r.status, 404, r.body[:200])
                self.assertNotIn(b"root:", r.body)
                self.assertNotIn(b"jobs", r.body)
        r = cp.output_files("job1", "LINKED")
        self.assertEqual(r.status, 404, r.body[:200])
        self.assertNotIn(b"jobs", r.body)
        self.assertNotIn(b"state.json", r.body)
        self.assertEqual(self.files(cp, "job1", "UP"), [])

    def test_no_node_root(self):
        cp = self.start()
        self.assertEqual(cp.create_job("job1", job_doc()).status, 200)
        r = cp.output_files("job1", "stdouterr")
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
        cp = self.start("--token-file", token_file, "--node-token-file", node_token_file,
                        token="the-token-123")
        for token in (None, "wrong", "the-token-12", "the-token-1234"):
            with self.subTest(token=token):
                cp.token = token
                self.assertEqual(cp.request("GET", arm("/clusters/default")).status, 401)
                self.assertEqual(cp.register("node-0").status, 401)
                self.assertEqual(cp.create_job("j", job_doc()).status, 401)
                self.assertEqual(cp.terminate("j").status, 401)
                self.assertEqual(cp.request("GET", "/v1/stats").status, 401)
        r = cp.request("GET", arm("/clusters/default"), headers={"Authorization": "Basic xyz"})
        self.assertEqual(r.status, 401)
        # The user's token serves the user routes only, the node's the node routes only.
        cp.token = "the-token-123"
        self.assertEqual(cp.request("GET", arm("/clusters/default")).status, 200)
        self.assertEqual(cp.request("GET", "/v1/stats").status, 200)
        self.assertEqual(cp.register("node-0").status, 403)
        self.assertEqual(cp.create_job("j", job_doc()).status, 200)
        cp.token = "the-nodes-token"
        self.assertEqual(cp.register("node-0").status, 200)
        self.assertEqual(cp.request("GET", arm("/clusters/default")).status, 403)
        self.assertEqual(cp.create_job("j2", job_doc()).status, 403)
        self.assertEqual(cp.terminate("j").status, 403)
        self.assertEqual(cp.request("GET", "/v1/stats").status, 403)
        cp.token = "the-token-123"
        self.assertEqual(cp.request("GET", job_path("j2") + "?" + API).status, 404)
        self.assertEqual(cp.state("j"), "queued")

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
        r = cp.request("GET", arm("/clusters/default"))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["name"], "default")
        for context in (ssl.create_default_context(cafile=other_ca),
                        ssl.create_default_context()):
            conn = cp.connection(context=context)
            with self.assertRaises(ssl.SSLCertVerificationError):
                conn.request("GET", arm("/clusters/default"))
            conn.close()
        # Still serving after the refused handshakes.
        self.assertEqual(cp.request("GET", arm("/clusters/default")).status, 200)

    def test_mutual_tls(self):
        ca = self.make_ca("ca")
        cert, key = self.make_cert("server", "ca", "subjectAltName=IP:127.0.0.1\n")
        client_cert, client_key = self.make_cert("node-0", "ca", "extendedKeyUsage=clientAuth\n")
        # No user can make the workspace here (a node's certificate is no user's credential):
        # the user routes are refused before anything is looked up.
        cp = self.start("--tls-cert", cert, "--tls-key", key, "--client-ca", ca, insecure=False,
                        scheme="https", ssl_context=ssl.create_default_context(cafile=ca),
                        prepare=False)
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
        self.assertEqual(call("GET", arm("/clusters/default")), 403)
        self.assertEqual(call("PUT", GROUP_PATH + "?" + GROUP_API, {"location": "eastus"}), 403)
        self.assertEqual(call("PUT", job_path("j") + "?" + API, job_doc()), 403)
        self.assertEqual(call("POST", job_path("j") + "/terminate?" + API), 403)
        conn = cp.connection(context=ssl.create_default_context(cafile=ca))
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            conn.request("GET", arm("/clusters/default"))
            conn.getresponse()
        conn.close()


if __name__ == "__main__":
    unittest.main()
