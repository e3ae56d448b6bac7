"""The multi-node fixture itself (tests/support/netns_cluster.py): two agents, each in its own
network namespace, register with the control plane by their own addresses, reach each other over
the bridge, and run a job. The other multi-node suites rely on all of this.

Run as root from the repository root:

    BATCHAI_AGENT=build/bin/batchai-agent BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane \\
    BATCHAI_CLI=build/bin/batchai python3 -m unittest -v tests.multinode.test_netns_fixture

No sleeps as synchronisation: tests wait for states and files, with an overall safety timeout.
"""

import glob
import os
import unittest

from tests.support.common import read_text
from tests.support.netns_cluster import NetnsCluster


class NetnsFixtureTest(NetnsCluster):

    NODES = 2

    def test_both_nodes_register_and_are_idle(self):
        self.assertEqual(self.idle_nodes(), 2)
        for i in range(self.NODES):
            self.assertEqual(self.node_record(i)["nodeState"], "idle")
            self.assertEqual(self.node_record(i)["cluster"], "default")

    def test_each_node_is_known_by_its_namespace_address(self):
        # The address a job's other tasks are given for the node (scheduler.cpp host_of) is
        # the one of its namespace: loopback is never reported, and the namespace has no other.
        for i in range(self.NODES):
            self.assertEqual(self.node_record(i)["facts"]["ipAddresses"], [self.node_ip(i)])
            self.assertEqual(self.node_host(i), self.node_ip(i))
        self.assertNotEqual(self.node_ip(0), self.node_ip(1))

    def test_namespace_0_reaches_a_listener_in_namespace_1(self):
        port = self.listen(1)
        self.assertTrue(self.connects(0, self.node_ip(1), port))
        # And it is namespace 1's address only: the host's loopback has no such listener.
        self.assertFalse(self.connects(0, "127.0.0.1", port))

    def test_a_one_node_job_succeeds(self):
        self.create("hello", {"nodeCount": 1,
                              "customToolkitSettings": {"commandLine": "echo hi"},
                              "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs"})
        job = self.wait_state("hello", "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        # Whichever node ran it wrote its stdout below its own root.
        outputs = [p for i in range(self.NODES)
                   for p in glob.glob(os.path.join(self.node_root(i), "**", "stdout.txt"),
                                      recursive=True)]
        self.assertEqual(len(outputs), 1, outputs)
        self.assertEqual(read_text(outputs[0]), "hi\n")
        self.wait_all_idle()


if __name__ == "__main__":
    unittest.main()
