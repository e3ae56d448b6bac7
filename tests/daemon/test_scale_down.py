"""Scale-down with each of Batch AI's deallocation options, end to end: the reference control
plane tells the node to leave, the node drains as the option says, reports `leaving`, tells the
control plane it is gone, and the agent ends; checked through `batchai cluster show` and
`batchai job show`.

    BATCHAI_AGENT=... BATCHAI_CONTROLPLANE=... BATCHAI_CLI=... python3 -m unittest -v \\
        tests.daemon.test_scale_down
"""

import json
import os
import unittest

from tests.support.cluster import Cluster
from tests.support.common import wait_for


class ScaleDownTest(Cluster):
    def scale_to_zero(self, option):
        path = os.path.join(self.tmp, "scale.json")
        with open(path, "w") as f:
            json.dump({"scaleSettings": {"manual": {"targetNodeCount": 0,
                                                    "nodeDeallocationOption": option}}}, f)
        self.cli("cluster", "create", "-n", "default", "-f", path)

    def cluster(self):
        return json.loads(self.cli("cluster", "show", "-n", "default").stdout)

    def start_waiting_job(self):
        self.create("busy", 'touch "$D/ready"; while [ ! -e "$D/go" ]; do sleep 0.05; done; '
                            'echo finished')
        wait_for(lambda: os.path.exists(self.mark("ready")), "the job to run")

    def assert_left(self):
        wait_for(lambda: self.cluster()["currentNodeCount"] == 0, "the node to be gone")
        self.assertEqual(self.agent.wait(timeout=60), 0, self.agent_log())
        self.assertIn("left the cluster", self.agent_log())

    def test_requeue_stops_the_job_and_queues_it_again(self):
        self.start_waiting_job()
        self.scale_to_zero("requeue")
        self.assert_left()
        job = self.job("busy")
        self.assertEqual(job["executionState"], "queued")  # no node left to run it

    def test_terminate_stops_the_job_and_it_fails(self):
        self.start_waiting_job()
        self.scale_to_zero("terminate")
        self.assert_left()
        job = self.job("busy")
        self.assertEqual(job["executionState"], "failed")
        self.assertEqual(job["executionInfo"]["errors"][0]["code"], "JobTerminate")

    def test_waitforjobcompletion_lets_the_job_finish_and_takes_no_new_one(self):
        self.start_waiting_job()
        self.scale_to_zero("waitforjobcompletion")
        wait_for(lambda: self.cluster()["nodeStateCounts"]["leavingNodeCount"] == 1,
                 "the node to be leaving")
        self.create("later", "echo must not run here")
        open(self.mark("go"), "w").close()
        self.assertEqual(self.wait_state("busy", "succeeded", "failed")["executionState"],
                         "succeeded")
        self.assert_left()
        self.assertEqual(self.job("later")["executionState"], "queued")


if __name__ == "__main__":
    unittest.main()
