"""A container job through the daemon and the reference control plane, with the agent killed
mid-job: the job's supervisor and its container-exec keep capturing the container's output, the
restarted agent finds the task again, and the output has every byte once.

    BATCHAI_AGENT=build/bin/batchai-agent BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane \\
    BATCHAI_CLI=build/bin/batchai python3 -m unittest -v tests.containers.test_container_daemon
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from tests.containers.fixtures import PYTHON_TAG, Dockerd, available, build_python_image
from tests.support.cluster import Cluster
from tests.support.common import AGENT, read_text, wait_for


class ContainerDaemonTest(Cluster):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reason = available()
        if reason:
            raise AssertionError("dockerd: " + reason)
        cls.server_dir = tempfile.mkdtemp(prefix="batchai-docker-")
        cls.dockerd = Dockerd().start(cls.server_dir)
        build_python_image(cls.dockerd, log=lambda *a: None)

    @classmethod
    def tearDownClass(cls):
        cls.dockerd.stop()
        shutil.rmtree(cls.server_dir, ignore_errors=True)

    def start_agent(self):
        Cluster.start_agent(self, dockerSocket=self.dockerd.socket,
                            containerInputRoots=[self.marks])

    def start_agent_again(self):
        with open(os.path.join(self.tmp, "agent.log"), "ab") as log:
            self.agent = subprocess.Popen([AGENT, "daemon", "--config",
                                           os.path.join(self.tmp, "agent.json")],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def test_agent_killed_mid_job_and_restarted(self):
        self.create("survivor",
                    "echo started; while [ ! -e $AZ_BATCHAI_INPUT_MARKS/go ]; do sleep 0.05; "
                    "done; echo finished; echo done >&2",
                    inputDirectories=[{"id": "MARKS", "path": self.marks}],
                    containerSettings={"imageSourceRegistry": {"image": PYTHON_TAG}})
        def stdout_file():
            found = glob.glob(os.path.join(self.root, "**", "survivor", "*", "stdouterr",
                                           "stdout.txt"), recursive=True)
            return found and read_text(found[0]) == "started\n" and found[0]
        stdout = wait_for(stdout_file, "the job to start in its container")
        self.agent.kill()
        self.agent.wait()
        self.start_agent_again()
        open(self.mark("go"), "w").close()
        job = self.wait_state("survivor", "succeeded", "failed")
        self.assertEqual(job["executionState"], "succeeded", self.agent_log())
        self.assertIn("found again after a restart", self.agent_log())
        with open(stdout) as f:
            self.assertEqual(f.read(), "started\nfinished\n")
        with open(stdout.replace("stdout.txt", "stderr.txt")) as f:
            self.assertEqual(f.read(), "done\n")
        # Once the control plane has the result, the container goes.
        wait_for(lambda: not [c for c in self.dockerd.engine.containers()
                              if c.get("Labels", {}).get("batchai-agent.root") == self.root],
                 "the job's container to be removed")


if __name__ == "__main__":
    unittest.main()
