"""The daemon against the reference control plane, driven through the `batchai` CLI, as the
seeds' quickstart does: real processes on loopback, a real job.

Run as root from the repository root (ctest does):

    BATCHAI_AGENT=build/bin/batchai-agent BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane \
    BATCHAI_CLI=build/bin/batchai python3 -m unittest -v tests.daemon.test_daemon

No sleeps as synchronisation: tests wait for states and files, with an overall safety timeout.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, "build", "bin")
AGENT = os.path.abspath(os.environ.get("BATCHAI_AGENT") or os.path.join(BIN, "batchai-agent"))
CONTROLPLANE = os.path.abspath(os.environ.get("BATCHAI_CONTROLPLANE")
                               or os.path.join(BIN, "batchai-controlplane"))
CLI = os.path.abspath(os.environ.get("BATCHAI_CLI") or os.path.join(BIN, "batchai"))
SAFETY_TIMEOUT = 90.0
POLL = 0.05


def wait_for(predicate, what, timeout=SAFETY_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(POLL)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepting(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Cluster(unittest.TestCase):
    """One control plane and one agent on loopback, in a scratch directory."""

    @classmethod
    def setUpClass(cls):
        for b in (AGENT, CONTROLPLANE, CLI):
            if not os.access(b, os.X_OK):
                raise unittest.SkipTest("missing %s" % b)
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-daemon-"))
        self.root = os.path.join(self.tmp, "node")
        self.marks = os.path.join(self.tmp, "marks")
        os.makedirs(self.marks)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.cp = None
        self.agent = None
        self.addCleanup(self.clean_up)
        self.start_controlplane()
        self.start_agent()

    def clean_up(self):
        open(os.path.join(self.marks, "go"), "w").close()
        for proc in (self.agent, self.cp):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        # Jobs outlive the agent by design: end whatever a test left running.
        for status in self.status_files():
            try:
                pid = read_json(status).get("supervisorPid", 0)
                if pid:
                    os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
        wait_for(lambda: not any(self.supervisor_alive(s) for s in self.status_files()),
                 "supervisors to end")
        subprocess.run(["umount", "-R", "-l", self.tmp], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def status_files(self):
        jobs = os.path.join(self.tmp, "agent-state", "jobs")
        if not os.path.isdir(jobs):
            return []
        return [os.path.join(jobs, d, "status.json") for d in os.listdir(jobs)
                if os.path.exists(os.path.join(jobs, d, "status.json"))]

    @staticmethod
    def supervisor_alive(status_file):
        try:
            s = read_json(status_file)
        except (OSError, ValueError):
            return False
        return s["state"] in ("running", "terminating") and os.path.exists(
            "/proc/%d" % s["supervisorPid"])

    # --- processes -------------------------------------------------------------------------

    def start_controlplane(self):
        with open(os.path.join(self.tmp, "controlplane.log"), "ab") as log:
            self.cp = subprocess.Popen(
                [CONTROLPLANE, "--listen", "127.0.0.1:%d" % self.port,
                 "--state-dir", os.path.join(self.tmp, "cp-state"), "--insecure-http",
                 "--node-root", self.root, "--poll-wait-seconds", "20"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for(lambda: accepting(self.port), "the control plane to listen")

    def stop_controlplane(self):
        self.cp.send_signal(signal.SIGTERM)
        self.cp.wait(timeout=30)

    def start_agent(self, wait_idle=True, **settings):
        """Writes agent.json (settings added to the test defaults) and starts the agent."""
        config = os.path.join(self.tmp, "agent.json")
        with open(config, "w") as f:
            json.dump(dict({"controlPlaneUrl": self.url, "allowInsecureHttp": True,
                            "nodeId": "node-0", "cluster": "default", "root": self.root,
                            "stateDir": os.path.join(self.tmp, "agent-state"),
                            "killGraceSeconds": 2, "requestTimeoutSeconds": 5}, **settings), f)
        with open(os.path.join(self.tmp, "agent.log"), "ab") as log:
            self.agent = subprocess.Popen([AGENT, "daemon", "--config", config],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if wait_idle:
            wait_for(lambda: self.idle_nodes() >= 1, "the node to register and be idle")

    def agent_log(self):
        with open(os.path.join(self.tmp, "agent.log"), errors="replace") as f:
            return f.read()

    # --- the CLI ---------------------------------------------------------------------------

    def cli(self, *args, check=True):
        p = subprocess.run([CLI, "--server", self.url] + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=SAFETY_TIMEOUT)
        if check and p.returncode != 0:
            raise AssertionError("batchai %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                 p.stderr.decode()))
        return p

    def idle_nodes(self):
        p = self.cli("cluster", "show", "-n", "default", check=False)
        if p.returncode != 0:
            return 0
        return json.loads(p.stdout)["nodeStateCounts"]["idleNodeCount"]

    def job(self, name):
        return json.loads(self.cli("job", "show", "-n", name).stdout)

    def wait_state(self, name, *states):
        return wait_for(lambda: self.job(name)["executionState"] in states and self.job(name),
                        "job %s to be %s" % (name, "/".join(states)))

    def create(self, name, command_line, **extra):
        props = {"nodeCount": 1, "customToolkitSettings": {"commandLine": command_line},
                 "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
                 "environmentVariables": [{"name": "D", "value": self.marks}]}
        props.update(extra)
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump({"properties": props}, f)
        self.cli("job", "create", "-n", name, "-f", path)

    def mark(self, name):
        return os.path.join(self.marks, name)


class JobLifecycleTest(Cluster):

    def test_job_runs_to_success_with_its_files(self):
        self.create("hello", 'echo out-line; echo err-line >&2; mkdir -p "$AZ_BATCHAI_OUTPUT_MODEL";'
                    ' echo w > "$AZ_BATCHAI_OUTPUT_MODEL/model.bin"',
                    outputDirectories=[{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs"}])
        job = self.wait_state("hello", "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        stream = self.cli("job", "file", "stream", "-j", "hello", "-f", "stderr.txt")
        self.assertEqual(stream.stdout.decode(), "err-line\n")
        listing = self.cli("job", "file", "list", "-j", "hello", "-d", "MODEL").stdout.decode()
        self.assertIn("model.bin", listing)
        wait_for(lambda: self.idle_nodes() == 1, "the node to be idle again")

    def test_secrets_stay_out_of_logs_and_answers(self):
        secret = "daemon-s3cr3t-41c7"
        self.create("secretive", 'printf %s "$TOKEN" | sha256sum | cut -c1-64',
                    secrets=[{"name": "TOKEN", "value": secret}])
        self.wait_state("secretive", "succeeded")
        stdout = self.cli("job", "file", "stream", "-j", "secretive", "-f", "stdout.txt")
        # The job did get it (its digest, so the value itself is never printed).
        self.assertEqual(stdout.stdout.decode().strip(),
                         hashlib.sha256(secret.encode()).hexdigest())
        self.assertNotIn(secret, self.cli("job", "show", "-n", "secretive").stdout.decode())
        for dirpath, _, files in os.walk(self.tmp):
            for name in files:
                path = os.path.join(dirpath, name)
                if name == "state.json" and "cp-state" in path:
                    continue  # the control plane keeps it for the node (mode 0600)
                if path == os.path.join(self.tmp, "secretive.json"):
                    continue  # the user's own job document
                with open(path, "rb") as f:
                    self.assertNotIn(secret.encode(), f.read(), path)

    def test_failing_job_reports_its_exit_code(self):
        self.create("bad", "exit 3")
        job = self.wait_state("bad", "failed")
        self.assertEqual(job["executionInfo"]["exitCode"], 3)
        self.assertEqual(job["executionInfo"]["errors"][0]["code"], "JobFailed")

    def test_terminate(self):
        self.create("long", 'touch "$D/ready"; sleep 1000')
        wait_for(lambda: os.path.exists(self.mark("ready")), "the job to start")
        self.cli("job", "terminate", "-n", "long")
        job = self.wait_state("long", "failed")
        self.assertEqual(job["executionInfo"]["errors"][0]["code"], "JobTerminate")

    def test_two_jobs_on_one_node_run_one_after_the_other(self):
        self.create("first", 'touch "$D/first"; while [ ! -e "$D/go" ]; do sleep 0.02; done')
        wait_for(lambda: os.path.exists(self.mark("first")), "the first job to start")
        self.create("second", 'touch "$D/second"')
        self.assertEqual(self.job("second")["executionState"], "queued")
        self.assertFalse(os.path.exists(self.mark("second")))
        open(self.mark("go"), "w").close()
        self.wait_state("first", "succeeded")
        self.wait_state("second", "succeeded")
        self.assertTrue(os.path.exists(self.mark("second")))


class FailureTest(Cluster):

    def test_control_plane_down_while_the_job_runs(self):
        self.create("steady", 'touch "$D/ready"; while [ ! -e "$D/go" ]; do sleep 0.02; done')
        wait_for(lambda: os.path.exists(self.mark("ready")), "the job to start")
        self.stop_controlplane()
        open(self.mark("go"), "w").close()
        # The job ends while nobody listens; its end must arrive once the control plane is back.
        wait_for(lambda: any(read_json(s)["state"] == "succeeded"
                             for s in self.status_files()), "the job to end on the node")
        self.start_controlplane()
        job = self.wait_state("steady", "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)

    def test_agent_killed_mid_job_and_restarted(self):
        self.create("survivor", 'echo $$ > "$D/pid"; touch "$D/ready";'
                    ' while [ ! -e "$D/go" ]; do sleep 0.02; done; echo finished')
        wait_for(lambda: os.path.exists(self.mark("ready")), "the job to start")
        with open(self.mark("pid")) as f:
            pid = int(f.read())
        self.agent.kill()
        self.agent.wait()
        self.assertTrue(os.path.exists("/proc/%d" % pid), "the job died with the agent")
        self.start_agent_again()
        open(self.mark("go"), "w").close()
        job = self.wait_state("survivor", "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        self.assertIn("found again after a restart", self.agent_log())

    def start_agent_again(self):
        with open(os.path.join(self.tmp, "agent.log"), "ab") as log:
            self.agent = subprocess.Popen([AGENT, "daemon", "--config",
                                           os.path.join(self.tmp, "agent.json")],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)


if __name__ == "__main__":
    sys.exit(unittest.main())
