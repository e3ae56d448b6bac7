"""The cluster's setup task through the daemon and the reference control plane: it runs once per
boot and configuration with its environment and secrets, writes its output where Batch AI did,
and a failing one makes the node unusable with its output in `batchai cluster show`.

    BATCHAI_AGENT=... BATCHAI_CONTROLPLANE=... BATCHAI_CLI=... python3 -m unittest -v \\
        tests.daemon.test_setup_task
"""

import glob
import json
import os
import unittest

from tests.support.cluster import Cluster
from tests.support.common import read_text, wait_for


class SetupTaskTest(Cluster):
    def setUp(self):
        self.start_agent = lambda: None  # the cluster's nodeSetup comes first
        super().setUp()
        del self.start_agent

    def create_cluster(self, setup_task):
        path = os.path.join(self.tmp, "cluster.json")
        with open(path, "w") as f:
            json.dump({"properties": {"nodeSetup": {"setupTask": setup_task}}}, f)
        self.cli("cluster", "create", "-n", "default", "-f", path)

    def cluster(self):
        return json.loads(self.cli("cluster", "show", "-n", "default").stdout)

    def setup_output(self, name):
        found = glob.glob(os.path.join(self.root, "shared", "LS_root", "mounts", "setup", "**",
                                       name), recursive=True)
        return read_text(found[0]) if found else None

    def test_setup_task_runs_once_per_boot_with_its_environment(self):
        self.create_cluster({
            "commandLine": 'echo "setting up with $GREETING"; echo token=${TOKEN:+set}; '
                           'echo ran >> "$MARKS/setup-runs"; echo to-stderr >&2',
            "environmentVariables": [{"name": "GREETING", "value": "hello"},
                                     {"name": "MARKS", "value": self.marks}],
            "secrets": [{"name": "TOKEN", "value": "setup-secret-value"}],
            "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/setup"})
        Cluster.start_agent(self)  # waits until the node is idle: after the setup task
        self.assertEqual(self.setup_output("stdout-node-0.txt"),
                         "setting up with hello\ntoken=set\n")
        self.assertEqual(self.setup_output("stderr-node-0.txt"), "to-stderr\n")
        self.assertIsNotNone(self.setup_output("execution-node-0.log"))
        self.assertNotIn("setup-secret-value", self.agent_log())
        self.assertNotIn("setup-secret-value", self.setup_output("execution-node-0.log"))
        # An agent restart in the same boot does not run it again.
        self.agent.terminate()
        self.agent.wait(timeout=30)
        Cluster.start_agent(self)
        wait_for(lambda: "already succeeded in this boot" in self.agent_log(), "the restart")
        self.assertEqual(read_text(os.path.join(self.marks, "setup-runs")), "ran\n")

    def test_a_changed_configuration_sets_the_node_up_again(self):
        task = {"commandLine": 'echo "v1" >> "$MARKS/setup-runs"',
                "environmentVariables": [{"name": "MARKS", "value": self.marks}],
                "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/setup"}
        self.create_cluster(task)
        Cluster.start_agent(self)
        task["commandLine"] = 'echo "v2" >> "$MARKS/setup-runs"'
        self.create_cluster(task)
        runs = os.path.join(self.marks, "setup-runs")
        wait_for(lambda: read_text(runs) == "v1\nv2\n", "the new setup task to run")
        wait_for(lambda: self.cluster()["nodeStateCounts"]["idleNodeCount"] == 1,
                 "the node to be idle again")
        self.create("after", "echo fine")
        self.assertEqual(self.wait_state("after", "succeeded", "failed")["executionState"],
                         "succeeded")

    def test_failing_setup_task_makes_the_node_unusable_with_its_output(self):
        self.create_cluster({"commandLine": "echo cannot install the driver >&2; exit 3",
                             "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/setup"})
        error = self.start_until_unusable()
        self.assertEqual(error["code"], "SetupTaskFailed")
        self.assertIn("exited with code 3", error["message"])
        self.assertIn("cannot install the driver", error["message"])
        names = [d["name"] for d in error["details"]]
        self.assertIn("stderr", names)
        self.assertIn("nodeId", names)

    def start_until_unusable(self):
        """Starts the agent and waits for the setup task to make the node unusable; the
        cluster's first error."""
        Cluster.start_agent(self, wait_idle=False)
        wait_for(lambda: self.cluster()["nodeStateCounts"]["unusableNodeCount"] == 1,
                 "the node to be unusable")
        return self.cluster()["errors"][0]

    def test_a_link_planted_for_its_stderr_leaks_nothing(self):
        # The setup task's output is in a share anyone may write: a link planted where its
        # stderr goes must not bring a root-only file into the node's error.
        secret = os.path.join(self.tmp, "root-only")
        with open(secret, "w") as f:
            f.write("s3cret-of-root\n")
        out = os.path.join(self.root, "shared", "LS_root", "mounts", "setup", "planted")
        os.makedirs(out)
        os.symlink(secret, os.path.join(out, "stderr-node-0.txt"))
        self.create_cluster({"commandLine": "echo hi", "stdOutErrPathSuffix": "planted",
                             "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/setup"})
        error = self.start_until_unusable()
        self.assertEqual(error["code"], "SetupTaskFailed")
        self.assertNotIn("s3cret-of-root", json.dumps(self.cluster()))
        self.assertNotIn("s3cret-of-root", self.agent_log())


if __name__ == "__main__":
    unittest.main()
