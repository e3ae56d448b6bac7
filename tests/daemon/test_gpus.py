"""GPUs through the daemon, with the tests' fake NVML (tests/gpu/fake_nvml.cpp) standing in for
libnvidia-ml.so.1: the node reports its GPUs, jobs get AZ_BATCHAI_NUM_GPUS and
CUDA_VISIBLE_DEVICES, and a GPU that goes away makes the node unusable, with the reason in
`batchai cluster show`.

    FAKE_NVML=build/lib/libfake_nvml.so BATCHAI_AGENT=... BATCHAI_CONTROLPLANE=... BATCHAI_CLI=...
    python3 -m unittest -v tests.daemon.test_gpus
"""

import json
import os
import subprocess
import unittest

from tests.support.cluster import Cluster
from tests.support.common import AGENT, read_json, wait_for

FAKE_NVML = os.path.abspath(os.environ.get("FAKE_NVML") or "build/lib/libfake_nvml.so")


class GpuTest(Cluster):
    def setUp(self):
        if not os.path.exists(FAKE_NVML):
            self.skipTest("no fake NVML at %s (set FAKE_NVML)" % FAKE_NVML)
        self.nvml_conf = os.path.join(os.path.realpath(os.environ.get("TMPDIR", "/tmp")),
                                      "fake-nvml-%d.conf" % os.getpid())
        with open(self.nvml_conf, "w") as f:
            f.write("gpus=2\n")
        self.addCleanup(os.remove, self.nvml_conf)
        os.environ["BATCHAI_NVML_LIBRARY"] = FAKE_NVML
        os.environ["FAKE_NVML_CONFIG"] = self.nvml_conf
        self.addCleanup(os.environ.pop, "BATCHAI_NVML_LIBRARY")
        self.addCleanup(os.environ.pop, "FAKE_NVML_CONFIG")
        super().setUp()

    def start_agent(self):
        Cluster.start_agent(self, gpuCheckSeconds=1)

    def cluster(self):
        return json.loads(self.cli("cluster", "show", "-n", "default").stdout)

    def test_gpus_reported_given_to_jobs_and_a_lost_gpu_makes_the_node_unusable(self):
        node = read_json(os.path.join(self.tmp, "cp-state", "state.json"))["nodes"]["node-0"]
        self.assertEqual([g["uuid"] for g in node["facts"]["gpus"]], ["GPU-fake-0", "GPU-fake-1"])
        # The heartbeat's facts ride on the reports.
        beat = node["heartbeat"]
        self.assertEqual(len(beat["gpus"]), 2)
        self.assertGreater(beat["freeDiskBytes"], 0)
        self.assertIn("uptimeSeconds", beat["agent"])
        self.create("gpujob", 'echo "$AZ_BATCHAI_NUM_GPUS $CUDA_VISIBLE_DEVICES"')
        self.assertEqual(self.wait_state("gpujob", "succeeded", "failed")["executionState"],
                         "succeeded")
        out = self.cli("job", "file", "stream", "-j", "gpujob", "-f", "stdout.txt").stdout
        self.assertEqual(out, b"2 0,1\n")
        with open(self.nvml_conf, "w") as f:
            f.write("gpus=1\n")
        wait_for(lambda: self.cluster()["nodeStateCounts"]["unusableNodeCount"] == 1,
                 "the node to be unusable")
        errors = self.cluster()["errors"]
        self.assertEqual(errors[0]["code"], "GPUFailure")
        self.assertEqual(errors[0]["message"], "1 of 2 GPUs are gone: GPU-fake-1")
        self.assertEqual(errors[0]["details"], [{"name": "nodeId", "value": "node-0"}])
        # The same on the node itself.
        config = os.path.join(self.tmp, "agent.json")
        status = json.loads(subprocess.run([AGENT, "status", "--config", config, "--json"],
                                           capture_output=True, text=True, check=True).stdout)
        self.assertEqual(status["nodeState"], "unusable")
        self.assertEqual(status["errors"][0]["message"], "1 of 2 GPUs are gone: GPU-fake-1")
        self.assertEqual([g["uuid"] for g in status["facts"]["gpus"]], ["GPU-fake-0"])
        self.assertGreater(status["facts"]["cores"], 0)
        text = subprocess.run([AGENT, "status", "--config", config], capture_output=True,
                              text=True, check=True).stdout
        self.assertIn("state:   unusable", text)
        self.assertIn("error: GPUFailure: 1 of 2 GPUs are gone", text)


if __name__ == "__main__":
    unittest.main()
