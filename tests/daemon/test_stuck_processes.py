"""A job whose processes SIGKILL cannot end (stuck in the kernel on a file system that does not
answer: tests/daemon/hung_fuse.py): the node goes unusable, saying which task, until the
processes are gone.

    BATCHAI_AGENT=... BATCHAI_CONTROLPLANE=... BATCHAI_CLI=... python3 -m unittest -v \\
        tests.daemon.test_stuck_processes
"""

import json
import os
import unittest

from tests.daemon.hung_fuse import HungFuse
from tests.support.cluster import Cluster
from tests.support.common import wait_for


class StuckProcessesTest(Cluster):
    def start_agent(self):
        Cluster.start_agent(self, unkillableSeconds=1)

    def cluster(self):
        return json.loads(self.cli("cluster", "show", "-n", "default").stdout)

    def test_processes_that_cannot_be_killed_make_the_node_unusable(self):
        hung = os.path.join(self.tmp, "hung")
        os.makedirs(hung)
        with HungFuse(hung) as fs:
            self.create("stuck", 'touch "$D/ready"; stat %s/x' % hung)
            wait_for(lambda: os.path.exists(self.mark("ready")) and fs.requests_held > 0,
                     "the job to be stuck on the file system")
            self.cli("job", "terminate", "-n", "stuck")
            wait_for(lambda: self.cluster()["nodeStateCounts"]["unusableNodeCount"] == 1,
                     "the node to be unusable")
            error = self.cluster()["errors"][0]
            self.assertEqual(error["code"], "JobProcessesNotKilled")
            self.assertIn("survived SIGKILL", error["message"])
            self.assertEqual(self.job("stuck")["executionState"], "terminating")
        # The file system gone, the processes die, the job ends and the node is usable again.
        self.wait_state("stuck", "failed")
        wait_for(lambda: self.cluster()["nodeStateCounts"]["idleNodeCount"] == 1,
                 "the node to be idle again")


if __name__ == "__main__":
    unittest.main()
