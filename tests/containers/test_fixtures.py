"""Checks of the container test fixtures (tests/containers/fixtures.py) and of the Engine API
behaviour the agent relies on (see FINDINGS.md): dockerd, the busybox and python images, the
registry with htpasswd auth, attach/logs framing, wait/stop/kill, restarts of dockerd.

Run as root from the repository root, after scripts/install-test-servers.sh:

    python3 -m unittest -v tests.containers.test_fixtures

Needs no agent binary. The python image test builds a debootstrap root on its first run on a
machine (about 70 s, needs the Debian mirror) and then imports it (about 8 s into a fresh data
root; nothing when the persistent one has it).
"""

import json
import os
import shutil
import tempfile
import time
import unittest

from tests.containers.fixtures import (BUSYBOX_TAG, CACHE_DIR, PYTHON_TAG, STDERR, STDOUT, Dockerd,
                                       Registry, available, build_busybox_image,
                                       build_python_image, demux, processes_mentioning)
from tests.support.common import mounts_below


def _tmpdir():
    return os.path.realpath(tempfile.mkdtemp(prefix="batchai-ct-"))


def _read_all(sock, buf=b""):
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    sock.close()
    return buf


class EngineTestCase(unittest.TestCase):
    """One dockerd (and the busybox image) for all tests of a class."""

    live_restore = False

    @classmethod
    def setUpClass(cls):
        reason = available()
        if reason:
            raise unittest.SkipTest("dockerd: " + reason)
        cls.tmp = _tmpdir()
        try:
            cls.dockerd = Dockerd(live_restore=cls.live_restore).start(cls.tmp)
            build_busybox_image(cls.dockerd)
        except BaseException:
            shutil.rmtree(cls.tmp, True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dockerd.stop()
        shutil.rmtree(cls.tmp, True)

    def api(self, *args, **kw):
        return self.dockerd.api(*args, **kw)

    def create(self, cmd, **kw):
        body = {"Image": BUSYBOX_TAG, "Cmd": cmd, "HostConfig": {"NetworkMode": "host"}}
        body.update(kw)
        status, resp = self.api("POST", "/containers/create", body)
        self.assertEqual(status, 201, resp)
        self.addCleanup(self.dockerd.engine.remove_container, resp["Id"])
        return resp["Id"]

    def start(self, cid):
        status, body = self.api("POST", "/containers/%s/start" % cid)
        self.assertEqual(status, 204, body)

    def wait(self, cid, condition="not-running"):
        status, body = self.api("POST", "/containers/%s/wait" % cid,
                                query={"condition": condition})
        self.assertEqual(status, 200, body)
        return body["StatusCode"]

    def state(self, cid):
        return self.api("GET", "/containers/%s/json" % cid)[1]["State"]

    def logs(self, cid, **query):
        q = {"stdout": 1, "stderr": 1}
        q.update(query)
        status, data = self.api("GET", "/containers/%s/logs" % cid, query=q)
        self.assertEqual(status, 200, data)
        frames, rest = demux(data)
        self.assertEqual(rest, b"")
        return frames


class DockerdTest(EngineTestCase):
    def test_version(self):
        status, version = self.api("GET", "/version")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(tuple(int(x) for x in version["ApiVersion"].split(".")), (1, 41))
        info = self.api("GET", "/info")[1]
        self.assertEqual(info["LoggingDriver"], "json-file")
        self.assertIn("127.0.0.0/8", info["RegistryConfig"]["InsecureRegistryCIDRs"])

    def test_busybox_image_is_idempotent(self):
        first = self.dockerd.engine.image_inspect(BUSYBOX_TAG)["Id"]
        self.assertEqual(build_busybox_image(self.dockerd), first)
        self.assertEqual(self.dockerd.engine.image_inspect(BUSYBOX_TAG)["Config"]["Cmd"],
                         ["/bin/sh"])

    def test_job_container_body(self):
        job = os.path.join(self.tmp, "job")
        os.makedirs(job)
        cid = self.create(
            ["echo out; echo err >&2; pwd; echo $AZ_BATCHAI_JOB_NAME; "
             "df -k /dev/shm | tail -1; touch written; exit 7"],
            Entrypoint=["/bin/sh", "-c"],
            Env=["AZ_BATCHAI_JOB_NAME=job 1"],
            WorkingDir=job,
            Labels={"batchai.job": "job1"},
            HostConfig={"Binds": ["%s:%s" % (job, job)], "NetworkMode": "host",
                        "ShmSize": 64 << 20, "Init": True})
        # Attached before start: nothing is lost.
        status, headers, sock, rest = self.dockerd.engine.hijack(
            "POST", "/containers/%s/attach" % cid,
            query={"stream": 1, "stdout": 1, "stderr": 1})
        self.assertEqual(status, 101)
        self.assertEqual(headers.get("Content-Type"), "application/vnd.docker.raw-stream")
        self.start(cid)
        frames, tail = demux(_read_all(sock, rest))
        self.assertEqual(tail, b"")
        self.assertEqual(self.wait(cid), 7)
        out = b"".join(p for s, p in frames if s == STDOUT).decode().splitlines()
        err = b"".join(p for s, p in frames if s == STDERR)
        self.assertEqual(out[:3], ["out", job, "job 1"])
        self.assertEqual(out[3].split()[1], str(64 << 10))
        self.assertEqual(err, b"err\n")
        self.assertTrue(os.path.isfile(os.path.join(job, "written")))
        # The same through /logs (json-file keeps the streams apart). Attach frames are whatever
        # one read of the pipe got (several lines, or part of one); /logs frames are one line each.
        logs = self.logs(cid)
        for stream in (STDOUT, STDERR):
            self.assertEqual(b"".join(p for s, p in logs if s == stream),
                             b"".join(p for s, p in frames if s == stream))
        self.assertTrue(all(p.count(b"\n") == 1 and p.endswith(b"\n") for s, p in logs))
        status, found = self.api("GET", "/containers/json", query={
            "all": 1, "filters": json.dumps({"label": ["batchai.job=job1"]})})
        self.assertEqual([c["Id"] for c in found], [cid])

    def test_logs_since_is_inclusive_and_nanosecond_exact(self):
        cid = self.create(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo l$i; "
                           "i=$((i+1)); done; printf no-newline"])
        self.start(cid)
        self.assertEqual(self.wait(cid), 0)
        frames = self.logs(cid, stderr=0, timestamps=1)
        self.assertEqual(len(frames), 2001)
        self.assertEqual(frames[-1][1][31:], b"no-newline")
        k = 1234
        ts = frames[k][1][:30].decode()  # fixed width: 2006-01-02T15:04:05.000000000Z
        since = "%d.%s" % (_unix_seconds(ts), ts[20:29])
        again = self.logs(cid, stderr=0, timestamps=1, since=since)
        self.assertEqual(again[0], frames[k])  # inclusive: the line seen last comes again
        self.assertEqual(again, frames[k:])
        status, body = self.api("GET", "/containers/%s/logs" % cid,
                                query={"stdout": 1, "since": ts})
        self.assertEqual(status, 500, body)  # RFC 3339 is not accepted by the API

    def test_wait_stop_kill(self):
        cid = self.create(["sh", "-c", "exit 5"])
        # Registered before start: the headers come at once, the body at exit.
        conn, resp = self.dockerd.engine.open("POST", "/containers/%s/wait" % cid,
                                              query={"condition": "next-exit"})
        try:
            self.assertEqual(resp.status, 200)
            self.start(cid)
            self.assertEqual(json.loads(resp.read())["StatusCode"], 5)
        finally:
            conn.close()
        for init, code in ((False, 137), (True, 143)):
            cid = self.create(["sleep", "60"],
                              HostConfig={"NetworkMode": "host", "Init": init})
            self.start(cid)
            status, _ = self.api("POST", "/containers/%s/stop" % cid, query={"t": 1})
            self.assertEqual(status, 204)
            self.assertEqual(self.wait(cid), code)
            self.assertEqual(self.api("POST", "/containers/%s/stop" % cid)[0], 304)
        cid = self.create(["sleep", "60"], HostConfig={"NetworkMode": "host", "Init": True})
        self.start(cid)
        self.assertEqual(self.api("DELETE", "/containers/" + cid)[0], 409)
        self.assertEqual(self.api("DELETE", "/containers/" + cid, query={"force": 1})[0], 204)
        self.assertEqual(self.api("POST", "/containers/%s/wait" % cid)[0], 404)

    def test_gpu_request_fails_at_start(self):
        cid = self.create(["true"], HostConfig={"NetworkMode": "host", "DeviceRequests": [
            {"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]})
        status, body = self.api("POST", "/containers/%s/start" % cid)
        self.assertEqual(status, 500)
        self.assertEqual(body["message"],
                         'could not select device driver "nvidia" with capabilities: [[gpu]]')
        self.assertEqual(self.state(cid)["Status"], "created")

    def test_missing_executable_fails_at_start(self):
        cid = self.create(["/nonexistent"])
        status, body = self.api("POST", "/containers/%s/start" % cid)
        self.assertEqual(status, 400)
        self.assertIn("no such file or directory", body["message"])

    def test_second_dockerd_gets_its_own_data_root(self):
        tmp = _tmpdir()
        self.addCleanup(shutil.rmtree, tmp, True)
        other = Dockerd().start(tmp)
        try:
            if self.dockerd.data_root.startswith(CACHE_DIR + "/"):
                self.assertTrue(other.data_root.startswith(tmp + "/"))  # the lock is taken
            build_busybox_image(other)
            self.assertIsNotNone(other.engine.image_inspect(BUSYBOX_TAG))
        finally:
            other.stop()
        self.assertEqual(processes_mentioning(other.exec_root), [])
        self.assertEqual(mounts_below(tmp), [])


class DockerdRestartTest(EngineTestCase):
    def test_containers_die_with_dockerd(self):
        cid = self.create(["sleep", "60"], HostConfig={"NetworkMode": "host", "Init": True})
        self.start(cid)
        pid = self.state(cid)["Pid"]
        self.dockerd.restart()
        self.assertFalse(os.path.exists("/proc/%d" % pid))
        state = self.state(cid)
        self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 143))


class LiveRestoreTest(EngineTestCase):
    live_restore = True

    def test_containers_survive_dockerd(self):
        cid = self.create(["sh", "-c", "i=0; while [ $i -lt 40 ]; do echo t$i; i=$((i+1)); "
                           "sleep 0.05; done"],
                          HostConfig={"NetworkMode": "host", "Init": True})
        self.start(cid)
        pid = self.state(cid)["Pid"]
        self.dockerd.stop_daemon()
        self.assertTrue(os.path.exists("/proc/%d" % pid))
        self.dockerd.restart()
        self.assertEqual(self.wait(cid), 0)
        lines = [p for s, p in self.logs(cid)]
        self.assertEqual(lines, [b"t%d\n" % i for i in range(40)])


class RegistryTest(EngineTestCase):
    USER, PASSWORD = "alice", "pw-Alice-1"

    def setUp(self):
        if not Registry.available():
            self.skipTest("docker-registry is not installed (scripts/install-test-servers.sh)")
        self.reg = Registry().start(self.tmp, {self.USER: self.PASSWORD})
        self.addCleanup(self.reg.stop)
        self.ref = self.reg.push(self.dockerd, BUSYBOX_TAG, "jobs/busybox", "v1")
        self.engine = self.dockerd.engine
        self.addCleanup(self.engine.remove_image, self.ref)

    def pull(self, tag="v1", auth=None, repo="jobs/busybox"):
        return self.engine.pull("%s/%s" % (self.reg.address, repo), tag, auth)

    def test_v2_needs_auth(self):
        self.assertEqual(self.reg.get("/v2/")[0], 401)
        self.assertEqual(self.reg.get("/v2/", self.USER, self.PASSWORD)[0], 200)
        self.assertEqual(self.reg.get("/v2/", self.USER, "wrong")[0], 401)

    def test_pull(self):
        self.assertIsNone(self.engine.image_inspect(self.ref))
        status, msgs, err = self.pull(auth=self.reg.auth(self.USER, self.PASSWORD))
        self.assertEqual((status, err), (200, None))
        self.assertEqual(msgs[-1]["status"], "Status: Downloaded newer image for " + self.ref)
        self.assertIsNotNone(self.engine.image_inspect(self.ref))

    def test_pull_errors(self):
        good = self.reg.auth(self.USER, self.PASSWORD)
        self.assertEqual(self.pull(auth=self.reg.auth(self.USER, "wrong"))[:2],
                         (500, [{"message": "unauthorized: authentication required"}]))
        status, msgs, _ = self.pull()
        self.assertEqual(status, 500)
        self.assertTrue(msgs[0]["message"].endswith(": no basic auth credentials"), msgs)
        self.assertEqual(self.pull("nosuch", good)[:2], (404, [{
            "message": "manifest for %s/jobs/busybox:nosuch not found: manifest unknown: "
                       "manifest unknown" % self.reg.address}]))
        self.assertEqual(self.engine.pull("UPPER/Case", "v1", good)[:2], (400, [{
            "message": "invalid reference format: repository name must be lowercase"}]))
        self.assertEqual(self.pull("bad tag", good)[:2], (400, [{"message": "invalid tag format"}]))


class PythonImageTest(EngineTestCase):
    def test_numpy_and_sklearn(self):
        build_python_image(self.dockerd, log=lambda msg: None)
        cid = self.create(["python3", "-c", "import numpy, sklearn; print(numpy.__name__, "
                                            "sklearn.__name__)"], Image=PYTHON_TAG)
        self.start(cid)
        self.assertEqual(self.wait(cid), 0)
        self.assertEqual(self.logs(cid), [(STDOUT, b"numpy sklearn\n")])


def _unix_seconds(rfc3339):
    import calendar
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))


if __name__ == "__main__":
    unittest.main()
