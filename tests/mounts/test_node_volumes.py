"""The cluster's volumes (nodeSetup.mountVolumes) through the daemon, against real servers.

The reference control plane hands the cluster's nodeSetup to the node at registration; the
daemon mounts the volumes below $AZ_BATCHAI_MOUNT_ROOT while the node is `preparing`, then goes
`idle`, or `unusable` with the mount's error. Jobs then write their logs onto the cluster's share.

    BATCHAI_AGENT=build/bin/batchai-agent BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane \\
    BATCHAI_CLI=build/bin/batchai python3 -m unittest -v tests.mounts.test_node_volumes
"""

import glob
import json
import os
import subprocess
import unittest

from tests.support.cluster import Cluster
from tests.support.common import mounts_below, read_json, wait_for
from tests.mounts.test_mounts import ACCOUNT, KEY, MountTestCase


class NodeVolumesTest(Cluster):
    """Servers per class (as in the job-level tests); a control plane and an agent per test."""

    setUpClass = classmethod(MountTestCase.setUpClass.__func__)
    tearDownClass = classmethod(MountTestCase.tearDownClass.__func__)

    def setUp(self):
        # Cluster.setUp starts the agent at once; here the cluster's nodeSetup comes first.
        self.start_agent = lambda: None
        super().setUp()
        del self.start_agent  # Cluster's again, for start_node
        self.addCleanup(self.assert_nothing_mounted)

    def assert_nothing_mounted(self):
        # Cluster volumes outlive the agent by design; the test unmounts them like a reboot would.
        left = mounts_below(self.tmp)
        for mp in reversed(left):
            subprocess.run(["umount", mp], check=False)
        self.assertEqual(mounts_below(self.tmp), [])

    def create_cluster(self, volumes):
        path = os.path.join(self.tmp, "cluster.json")
        with open(path, "w") as f:
            json.dump({"properties": {"nodeSetup": {"mountVolumes": volumes}}}, f)
        self.cli("cluster", "create", "-n", "default", "-f", path)

    def start_node(self, **storage):
        settings = {"azureFileHost": "127.0.0.1", "smbPort": self.samba.port,
                    "azureBlobEndpoint": "http://127.0.0.1:%d/{account}" % self.azurite.port,
                    "runtimeDirectory": os.path.join(self.tmp, "run"), "mountAttempts": 1,
                    "mountTimeoutSeconds": 60}
        settings.update(storage)
        Cluster.start_agent(self, wait_idle=False, storage=settings)

    def node_counts(self):
        return json.loads(self.cli("cluster", "show", "-n", "default").stdout)["nodeStateCounts"]

    def node_record(self):
        return read_json(os.path.join(self.tmp, "cp-state", "state.json"))["nodes"]["node-0"]

    def mount_root(self):
        return os.path.join(self.root, "shared", "LS_root", "mounts")

    def test_cluster_share_and_container_are_mounted_and_jobs_log_there(self):
        self.blob.create_container("clusterdata")
        self.blob.put_blob("clusterdata", "input.txt", b"cluster data\n")
        share = {"accountName": ACCOUNT,
                 "azureFileUrl": "https://%s.file.core.windows.net/logs" % ACCOUNT,
                 "credentials": {"accountKey": KEY}, "relativeMountPath": "logs"}
        blob = {"accountName": ACCOUNT, "containerName": "clusterdata",
                "credentials": {"accountKey": KEY}, "relativeMountPath": "data"}
        scratch = {"mountCommand": "mount -t tmpfs -o size=1m tmpfs",
                   "relativeMountPath": "scratch"}
        self.create_cluster({"azureFileShares": [share], "azureBlobFileSystems": [blob],
                             "unmanagedFileSystems": [scratch]})
        self.start_node()
        wait_for(lambda: self.idle_nodes() >= 1, "the node to mount its volumes and be idle")
        root = self.mount_root()
        self.assertEqual(sorted(mounts_below(root)),
                         sorted(os.path.join(root, p) for p in ("data", "logs", "scratch")))
        self.create("clusterjob", "cat $AZ_BATCHAI_MOUNT_ROOT/data/input.txt")
        job = self.wait_state("clusterjob", "succeeded", "failed")
        self.assertEqual(job["executionState"], "succeeded", self.agent_log())
        # The job's logs went to the cluster's share: still mounted, so through the mount...
        out = glob.glob(os.path.join(root, "logs", "**", "clusterjob", "*", "stdouterr",
                                     "stdout.txt"), recursive=True)
        self.assertEqual(len(out), 1)
        with open(out[0]) as f:
            self.assertEqual(f.read(), "cluster data\n")
        self.assertNotIn(KEY, self.agent_log())
        # ...and the agent restarted keeps the mounts it finds instead of mounting twice.
        self.agent.terminate()
        self.agent.wait(timeout=30)
        self.start_node()
        wait_for(lambda: "mounted already, kept" in self.agent_log(), "the restarted agent")
        wait_for(lambda: self.idle_nodes() >= 1, "the node to be idle again")
        self.assertEqual(sorted(mounts_below(root)),
                         sorted(os.path.join(root, p) for p in ("data", "logs", "scratch")))

    def test_failing_cluster_mount_makes_the_node_unusable_and_says_why(self):
        share = {"accountName": ACCOUNT,
                 "azureFileUrl": "https://%s.file.core.windows.net/nosuchshare" % ACCOUNT,
                 "credentials": {"accountKey": KEY}, "relativeMountPath": "logs"}
        self.create_cluster({"azureFileShares": [share]})
        self.start_node()
        wait_for(lambda: self.node_counts()["unusableNodeCount"] == 1, "the node to be unusable")
        errors = self.node_record()["errors"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["code"], "AZFMountError")
        self.assertIn("nosuchshare", errors[0]["message"])
        self.assertNotIn(KEY, json.dumps(errors))
        self.assertEqual(mounts_below(self.tmp), [])
        # A job is not started on an unusable node.
        self.create("notrun", "echo must not run")
        self.assertEqual(self.job("notrun")["executionState"], "queued")


if __name__ == "__main__":
    unittest.main()
