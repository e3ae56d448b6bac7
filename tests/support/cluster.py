"""One reference control plane and one agent daemon on loopback, in a scratch directory, driven
through the `batchai` CLI as the seeds' quickstart does: the fixture of the daemon, mounts,
containers and GPU suites. Needs root."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from tests.support.common import (AGENT, CLI, CONTROLPLANE, SAFETY_TIMEOUT, free_port,
                                  port_accepts, read_json, require_root_and_binaries,
                                  stop_processes, wait_for)


class Cluster(unittest.TestCase):
    """One control plane and one agent on loopback, in a scratch directory."""

    @classmethod
    def setUpClass(cls):
        require_root_and_binaries()

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
        stop_processes([self.agent, self.cp])
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
        wait_for(lambda: port_accepts(self.port), "the control plane to listen")

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
