"""A job's set-up (its volumes, an image pull, the supervisor's start) runs off the daemon's
main loop (agent/daemon/serial_worker.hpp): while it waits the node goes on reporting and hears the
control plane; a terminate stops it; an agent stop interrupts it, undoes it, and the next agent
sets the task up again, as it does after an agent killed during a set-up.

The set-up waits in a user-defined mount (unmanagedFileSystems) whose command blocks until the
test creates a file.
"""

import os
import signal
import stat
import sys
import unittest

from tests.support.cluster import Cluster
from tests.support.common import wait_for


class SetUpOffTheMainLoopTest(Cluster):

    def setUp(self):
        super().setUp()
        # Each attempt is counted, then waits for the test's "go" (clean_up creates it too).
        self.mount_script = os.path.join(self.tmp, "slow-mount")
        with open(self.mount_script, "w") as f:
            f.write("#!/bin/sh\n"
                    'echo "$1" >> %(m)s/mount-attempts\n'
                    "while [ ! -e %(m)s/go ]; do sleep 0.05; done\n"
                    'exec mount -t tmpfs -o size=1m tmpfs "$1"\n' % {"m": self.marks})
        os.chmod(self.mount_script, stat.S_IRWXU)

    def create_slow_job(self, name):
        self.create(name, 'touch "$D/ran"; echo ran',
                    mountVolumes={"unmanagedFileSystems": [{
                        "mountCommand": self.mount_script, "relativeMountPath": "slow"}]})
        wait_for(lambda: os.path.exists(self.mark("mount-attempts")),
                 "the set-up to wait in the mount")

    def reported_start(self, name):
        """The task's start time, once the node has reported the task."""
        return (self.job(name).get("executionInfo") or {}).get("startTime")

    def mount_attempts(self):
        with open(self.mark("mount-attempts")) as f:
            return len(f.read().splitlines())

    def mounts_below_root(self):
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f
                    if line.split()[4].startswith(self.root + "/")]

    def test_the_node_reports_and_hears_a_terminate_while_a_job_is_set_up(self):
        self.create_slow_job("slow")
        # The agent's report of the task arrived while the set-up still waits.
        wait_for(lambda: self.reported_start("slow"),
                 "the node to report the task while its set-up waits")
        self.assertEqual(self.job("slow")["executionState"], "running")
        self.cli("job", "terminate", "-n", "slow")
        wait_for(lambda: "terminating" in self.agent_log(), "the agent to hear the terminate")
        open(self.mark("go"), "w").close()
        job = self.wait_state("slow", "failed")
        self.assertEqual(job["executionInfo"]["errors"][0]["code"], "JobTerminate", job)
        self.assertFalse(os.path.exists(self.mark("ran")), "the job's command ran")
        self.assertEqual(self.mount_attempts(), 1)
        wait_for(lambda: self.idle_nodes() == 1, "the node to be idle again")
        self.assertEqual(self.mounts_below_root(), [], "the set-up left mounts")

    def test_an_agent_stop_interrupts_a_set_up_and_the_next_agent_does_it_again(self):
        self.create_slow_job("again")
        wait_for(lambda: self.reported_start("again"),
                 "the node to report the task")
        self.agent.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping; running jobs keep running" in self.agent_log(),
                 "the agent to take the stop")
        open(self.mark("go"), "w").close()  # the mount ends; the set-up sees the stop
        self.assertEqual(self.agent.wait(timeout=60), 0)
        self.assertIn("set-up interrupted by the stop", self.agent_log())
        self.assertFalse(os.path.exists(self.mark("ran")), "the job's command ran")
        self.assertEqual(self.mounts_below_root(), [], "the interrupted set-up left mounts")

        self.start_agent(wait_idle=False)
        job = self.wait_state("again", "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        self.assertTrue(os.path.exists(self.mark("ran")))
        self.assertEqual(self.mount_attempts(), 2, "the next agent set the task up again")
        wait_for(lambda: self.idle_nodes() == 1, "the node to be idle again")
        self.assertEqual(self.mounts_below_root(), [], "the job's mount stayed")

    def test_an_agent_killed_during_a_set_up_and_the_next_agent_does_it_again(self):
        self.create_slow_job("killed")
        wait_for(lambda: self.reported_start("killed"), "the node to report the task")
        self.agent.kill()
        self.agent.wait()
        # The orphaned mount command goes on and mounts: a leftover for the next agent.
        open(self.mark("go"), "w").close()
        wait_for(lambda: self.mounts_below_root(), "the orphaned mount command to mount")

        self.start_agent(wait_idle=False)
        job = self.wait_state("killed", "succeeded")
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        self.assertIn("set-up was cut off by the end of the last agent", self.agent_log())
        self.assertEqual(self.mount_attempts(), 2, "the next agent set the task up again")
        wait_for(lambda: self.idle_nodes() == 1, "the node to be idle again")
        self.assertEqual(self.mounts_below_root(), [], "a mount was left behind")


if __name__ == "__main__":
    sys.exit(unittest.main())
