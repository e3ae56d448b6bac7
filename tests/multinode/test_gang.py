"""Multi-node jobs on a cluster of agents in network namespaces (tests/support/netns_cluster.py),
with real sshd and real OpenMPI: the gang's nodes find each other, MPI ranks on three nodes
communicate, every node gets the job's hosts and its own place, and a job that ends, fails or is
terminated ends on every node with nothing left behind (no sshd, no process, no key).

Run as root from the repository root (see tests/multinode/test_netns_fixture.py for the
variables). Needs openssh-server, openmpi-bin and python3-mpi4py (scripts/install-test-servers.sh).
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import unittest

from tests.support.common import (living_processes, mounts_below, read_bytes, read_json,
                                  read_text, wait_for)
from tests.support.netns_cluster import NetnsCluster

PYTHON = "/usr/bin/python3"  # Debian's, which python3-mpi4py is for

ALLREDUCE = r"""
import os, sys
from mpi4py import MPI
comm = MPI.COMM_WORLD
total = comm.allreduce(comm.Get_rank() + 1, op=MPI.SUM)
print("rank %d of %d on %s sum %d" % (comm.Get_rank(), comm.Get_size(),
      os.environ["AZ_BATCHAI_NODE_IP"], total), flush=True)
"""

# Every TensorFlow-style task writes what it was given; worker 0 (the chief, on the master)
# ends the job once all have, so no node is released before it wrote.
TF_TASK = r"""
import json, os, sys, time
cfg = json.loads(os.environ["TF_CONFIG"])
kind, index = cfg["task"]["type"], cfg["task"]["index"]
names = ["AZ_BATCHAI_NODE_IP", "AZ_BATCHAI_TASK_INDEX", "AZ_BATCHAI_WORKER_HOSTS",
         "AZ_BATCHAI_PS_HOSTS", "AZ_BATCHAI_JOB_MASTER_NODE_IP", "AZ_BATCH_HOST_LIST",
         "AZ_BATCHAI_IS_CURRENT_NODE_MASTER", "TF_CONFIG"]
seen = {n: os.environ.get(n) for n in names}
seen["argv"] = sys.argv[1:]
out = os.path.join(os.environ["MARKS"], "%s-%d.json" % (kind, index))
with open(out + ".tmp", "w") as f:
    json.dump(seen, f)
os.rename(out + ".tmp", out)
if kind == "worker" and index == 0:
    want = int(os.environ["TASKS"])
    deadline = time.time() + 300
    while len([n for n in os.listdir(os.environ["MARKS"]) if n.endswith(".json")]) < want:
        if time.time() > deadline:
            sys.exit("not every task wrote")
        time.sleep(0.1)
elif kind == "ps":
    time.sleep(3600)
"""


# The PyTorch-Gloo recipe's arguments, parsed as its script does; an all-reduce of rank + 1.
TORCH_ALLREDUCE = r"""
import argparse, os
import torch
import torch.distributed as dist
p = argparse.ArgumentParser()
p.add_argument("--dist-backend")
p.add_argument("--dist-url")
p.add_argument("--rank", type=int)
p.add_argument("--world-size", type=int)
a = p.parse_args()
dist.init_process_group(a.dist_backend, init_method=a.dist_url, rank=a.rank,
                        world_size=a.world_size)
t = torch.tensor([float(a.rank + 1)])
dist.all_reduce(t)
print("rank %d of %d on %s local %s sum %d" % (a.rank, dist.get_world_size(),
      os.environ["AZ_BATCHAI_NODE_IP"], os.environ["LOCAL_RANK"], int(t.item())), flush=True)
dist.destroy_process_group()
"""


class GangCluster(NetnsCluster):
    """The cluster with what the gang tests need of it: sshd and OpenMPI, a marks directory,
    and ways to find a job's files, sshd and processes on every node."""

    def setUp(self):
        for tool in ("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/mpirun"):
            if not os.access(tool, os.X_OK):
                self.skipTest("needs %s (scripts/install-test-servers.sh)" % tool)
        super().setUp()
        self.marks = os.path.join(self.tmp, "marks")
        os.makedirs(self.marks)

    # --- helpers -----------------------------------------------------------------------------

    def script(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def props(self, nodes, toolkit, **extra):
        p = {"nodeCount": nodes, "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
             "environmentVariables": [{"name": "MARKS", "value": self.marks}]}
        p.update(toolkit)
        p.update(extra)
        return p

    def assert_ranks_said(self, path, expected):
        """Each rank's line is in the launcher's stdout, once. mpirun forwards the ranks'
        output as it comes, and may put one rank's newline after another's line, so the lines
        are looked for, not split."""
        text = read_text(path)
        for line in expected:
            self.assertEqual(text.count(line), 1, (line, text))
        self.assertEqual(text.count("rank "), len(expected), text)

    def stdouterr(self, i):
        """Node i's stdouterr directory of the one job the test ran."""
        found = glob.glob(os.path.join(self.node_root(i), "shared", "LS_root", "mounts", "logs",
                                       "**", "stdouterr"), recursive=True)
        self.assertEqual(len(found), 1, found)
        return found[0]

    def job_sshd_running(self):
        """sshd processes started for a job of this test (their config is in a node's state)."""
        # sshd renames itself ("sshd: /usr/sbin/sshd -D -e -f CONFIG [listener] ...").
        return [pid for pid, argv in living_processes()
                if b"sshd" in argv[0] and self.tmp.encode() in b" ".join(argv)]

    def assert_nothing_left(self, nodes):
        """Every node idle again, and no sshd, key, mount or job process of the job anywhere.
        A node reports idle once its task is final; its take-down (the unmount, the keys)
        follows on its worker thread, so that is waited for."""
        wait_for(lambda: self.idle_nodes() == self.NODES, "every node to be idle")
        wait_for(lambda: not self.job_sshd_running(), "the job's sshd to end on every node")
        for i in range(nodes):
            def kept(i=i):
                return glob.glob(os.path.join(self.node_state_dir(i), "jobs", "*", "ssh"))
            try:
                wait_for(lambda: not kept(), "node %d to remove the job's SSH files" % i)
            except AssertionError:
                raise AssertionError("node %d kept the job's SSH files: %s\n%s" % (
                    i, [os.listdir(k) for k in kept()], self.agent_log(i)[-3000:]))
            wait_for(lambda: not mounts_below(self.node_root(i)),
                     "node %d to unmount the shared job temp" % i)
            for status in glob.glob(os.path.join(self.node_state_dir(i), "jobs", "*",
                                                 "status.json")):
                s = read_json(status)
                self.assertIn(s["state"], ("succeeded", "failed"))
                if s.get("cgroup"):
                    self.assertFalse(os.path.exists(s["cgroup"]), s["cgroup"])

    def job_sshd_of(self, i):
        """The pids of the job sshd of node i (its config is in node i's state)."""
        state = self.node_state_dir(i).encode() + b"/"
        return [pid for pid, argv in living_processes()
                if b"sshd" in argv[0] and state in b" ".join(argv)]

    def require_torch(self):
        try:
            subprocess.run([PYTHON, "-c", "import torch.distributed"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.CalledProcessError):
            self.skipTest("needs python3-torch (scripts/install-test-servers.sh)")

    def cp_job(self, name):
        """Job name's record in the control plane's state (its tasks and their nodes)."""
        return next(j for j in self.cp_state()["jobs"] if j["name"] == name)

    @staticmethod
    def sleeps():
        """The living `sleep 600` processes of any node (the tests' long-running ranks)."""
        sleep = shutil.which("sleep").encode()
        return [pid for pid, argv in living_processes()
                if argv[:2] in ([b"sleep", b"600"], [sleep, b"600"])]


class GangTest(GangCluster):

    NODES = 3

    def test_mpi4py_allreduce_across_three_nodes(self):
        script = self.script("allreduce.py", ALLREDUCE)
        self.create("allreduce", self.props(3, {"customMpiSettings": {
            "commandLine": "%s %s" % (PYTHON, script), "processCount": 3}}))
        job = self.wait_state("allreduce", "succeeded", "failed")
        master = self.stdouterr(0)
        self.assertEqual(job["executionState"], "succeeded",
                         read_text(os.path.join(master, "stderr.txt")))
        self.assertEqual(job["executionInfo"]["exitCode"], 0)
        self.assert_ranks_said(os.path.join(master, "stdout.txt"),
                               ["rank %d of 3 on %s sum 6" % (r, self.node_ip(r))
                                for r in range(3)])
        # Every node kept its own account of the job on the share, by its node id.
        for i in range(3):
            log = read_text(os.path.join(self.stdouterr(i), "execution-node-%d.log" % i))
            self.assertIn("job", log)
        self.assert_nothing_left(3)

    def test_horovod_shaped_job_on_two_nodes(self):
        script = self.script("hvd.py", ALLREDUCE)
        self.create("hvd", self.props(2, {"horovodSettings": {
            "pythonScriptFilePath": script, "pythonInterpreterPath": PYTHON,
            "processCount": 4}}))
        job = self.wait_state("hvd", "succeeded", "failed")
        master = self.stdouterr(0)
        self.assertEqual(job["executionState"], "succeeded",
                         read_text(os.path.join(master, "stderr.txt")))
        # Two slots per node: ranks 0, 1 on the master, 2, 3 on the other node.
        self.assert_ranks_said(os.path.join(master, "stdout.txt"),
                               ["rank %d of 4 on %s sum 10" % (r, self.node_ip(r // 2))
                                for r in range(4)])
        self.assert_nothing_left(2)

    def test_pytorch_gloo_across_two_nodes_with_the_recipes_arguments(self):
        self.require_torch()
        script = self.script("torch_allreduce.py", TORCH_ALLREDUCE)
        # The shared job temp is one directory: what the job preparation of node 1 writes
        # there, the master's sees.
        prep = ("echo $AZ_BATCHAI_NODE_IP > $AZ_BATCHAI_SHARED_JOB_TEMP/prep-$AZ_BATCHAI_NODE_IP")
        self.create("torch", self.props(2, {"pyTorchSettings": {
            "pythonScriptFilePath": script, "pythonInterpreterPath": PYTHON,
            "processCount": 4, "communicationBackend": "gloo",
            "commandLineArgs": "--dist-backend $AZ_BATCHAI_PYTORCH_BACKEND --dist-url "
                               "$AZ_BATCHAI_PYTORCH_INIT_METHOD --rank $AZ_BATCHAI_TASK_INDEX "
                               "--world-size 4"}},
            jobPreparation={"commandLine": prep}))
        job = self.wait_state("torch", "succeeded", "failed")
        outputs = {r: os.path.join(self.stdouterr(r // 2), "stdout-%d.txt" % r) for r in range(4)}
        self.assertEqual(job["executionState"], "succeeded", "\n".join(
            read_text(p.replace("stdout-", "stderr-"))[-2000:] for p in outputs.values()
            if os.path.exists(p)))
        for r, path in outputs.items():
            self.assertEqual(read_text(path), "rank %d of 4 on %s local %d sum 10\n"
                             % (r, self.node_ip(r // 2), r % 2))
        shared = glob.glob(os.path.join(self.node_root(0), "tmp", "shared-*"))
        self.assertEqual(len(shared), 1, shared)
        for ip in (self.node_ip(0), self.node_ip(1)):
            self.assertEqual(read_text(os.path.join(shared[0], "prep-" + ip)), ip + "\n")
        self.assert_nothing_left(2)

    def test_tensorflow_tasks_get_the_hosts_and_their_place_on_every_node(self):
        script = self.script("tf.py", TF_TASK)
        env = [{"name": "MARKS", "value": self.marks}, {"name": "TASKS", "value": "4"}]
        self.create("tf", self.props(3, {"tensorFlowSettings": {
            "pythonScriptFilePath": script, "pythonInterpreterPath": PYTHON,
            "workerCount": 3, "parameterServerCount": 1,
            "masterCommandLineArgs": "--chief --task $AZ_BATCHAI_TASK_INDEX",
            "workerCommandLineArgs": "--task $AZ_BATCHAI_TASK_INDEX",
            "parameterServerCommandLineArgs": "--ps $AZ_BATCHAI_TASK_INDEX"}},
            environmentVariables=env))
        job = self.wait_state("tf", "succeeded", "failed")
        self.assertEqual(job["executionState"], "succeeded", json.dumps(job))
        ips = [self.node_ip(i) for i in range(3)]
        workers = "%s:2222,%s:2222,%s:2222" % tuple(ips)
        ps = "%s:2223" % ips[0]
        for kind, index, node, argv in (("worker", 0, 0, ["--chief", "--task", "0"]),
                                        ("worker", 1, 1, ["--task", "1"]),
                                        ("worker", 2, 2, ["--task", "2"]),
                                        ("ps", 0, 0, ["--ps", "0"])):
            seen = read_json(os.path.join(self.marks, "%s-%d.json" % (kind, index)))
            self.assertEqual(seen["AZ_BATCHAI_NODE_IP"], ips[node], (kind, index))
            self.assertEqual(seen["AZ_BATCHAI_IS_CURRENT_NODE_MASTER"],
                             "true" if node == 0 else "false")
            self.assertEqual(seen["AZ_BATCHAI_JOB_MASTER_NODE_IP"], ips[0])
            self.assertEqual(seen["AZ_BATCH_HOST_LIST"], ",".join(ips))
            self.assertEqual(seen["AZ_BATCHAI_WORKER_HOSTS"], workers)
            self.assertEqual(seen["AZ_BATCHAI_PS_HOSTS"], ps)
            self.assertEqual(seen["argv"], argv)
            tf = json.loads(seen["TF_CONFIG"])
            self.assertEqual(tf["task"], {"type": kind, "index": index})
            self.assertEqual(tf["cluster"], {"worker": workers.split(","), "ps": [ps]})
        self.assert_nothing_left(3)

    def test_the_masters_exit_code_fails_the_job_on_every_node(self):
        self.create("fails", self.props(3, {"customToolkitSettings": {
            "commandLine": "echo master on $AZ_BATCHAI_NODE_IP; exit 3"}}))
        job = self.wait_state("fails", "failed")
        self.assertEqual(job["executionInfo"]["exitCode"], 3)
        self.assertEqual([e["code"] for e in job["executionInfo"]["errors"]], ["JobFailed"])
        self.assertEqual(read_text(os.path.join(self.stdouterr(0), "stdout.txt")),
                         "master on %s\n" % self.node_ip(0))
        self.assert_nothing_left(3)

    def test_a_workers_job_preparation_failure_fails_the_job(self):
        self.create("prep", self.props(3, {"customToolkitSettings": {"commandLine": "sleep 600"}},
                                       jobPreparation={"commandLine":
                                                       "[ \"$AZ_BATCHAI_NODE_IP\" != %s ] || "
                                                       "exit 4" % self.node_ip(2)}))
        job = self.wait_state("prep", "failed")
        codes = [e["code"] for e in job["executionInfo"]["errors"]]
        self.assertIn("JobPreparationFailed", codes)
        self.assertEqual(read_text(os.path.join(self.stdouterr(2),
                                                "stderr-job_prep-node-2.txt")), "")
        self.assert_nothing_left(3)

    def test_a_workers_sshd_that_dies_fails_the_job(self):
        self.create("nossh", self.props(3, {"customMpiSettings": {
            "commandLine": "sleep 600", "processCount": 3}}))
        wait_for(lambda: len(self.sleeps()) == 3, "the job's sleeps on all three nodes")
        # The listener only: the session MPI runs through stays, so the failure is the
        # service's own, not the launcher's.
        listeners = [p for p in self.job_sshd_of(2) if b"[listener]" in read_bytes(
            "/proc/%d/cmdline" % p)]
        self.assertEqual(len(listeners), 1)
        os.kill(listeners[0], signal.SIGKILL)
        job = self.wait_state("nossh", "failed")
        # The worker's failure is among the job's (the master's launcher may fail too, as
        # the worker's part is stopped under it).
        errors = job["executionInfo"]["errors"]
        self.assertIn({"name": "reason", "value": "the job's sshd ended before the job"},
                      [d for e in errors for d in e["details"]], errors)
        wait_for(lambda: not self.sleeps(), "the job's processes to end on every node")
        self.assert_nothing_left(3)

    def test_a_terminated_job_ends_on_every_node(self):
        self.create("long", self.props(3, {"customMpiSettings": {
            "commandLine": "sleep 600", "processCount": 3}}))
        # Running on every node: each node's sleep is a process MPI started there.
        wait_for(lambda: self.job("long")["executionState"] == "running" and
                 len(self.sleeps()) == 3, "the job's sleeps on all three nodes")
        self.cli("job", "terminate", "-n", "long")
        job = self.wait_state("long", "failed")
        self.assertIn("JobTerminate", [e["code"] for e in job["executionInfo"]["errors"]])
        wait_for(lambda: not self.sleeps(), "the job's processes to end on every node")
        self.assert_nothing_left(3)

    def test_a_scale_down_that_takes_a_node_of_the_gang_requeues_the_whole_job(self):
        # One rank a node, each on its own: the node that stays does not notice the other
        # going, so its task ends last, terminated by the control plane.
        # The second run (once requeued) ends at once.
        script = self.script("sleep.sh", '[ -e "$MARKS/second" ] && exit 0\nexec sleep 600\n')
        self.create("gang", self.props(2, {"pyTorchSettings": {
            "pythonScriptFilePath": script, "pythonInterpreterPath": "/bin/sh",
            "processCount": 2}}))
        wait_for(lambda: self.job("gang")["executionState"] == "running" and
                 len(self.sleeps()) == 2, "the job's sleeps on its two nodes")
        gang_nodes = {t["nodeId"] for t in self.cp_job("gang")["tasks"]}
        self.assertEqual(len(gang_nodes), 2)
        # Down to one node: the idle one goes, then one of the gang's. The gang's other task
        # reports last, from the node that stays: the job is requeued all the same.
        path = os.path.join(self.tmp, "scale.json")
        with open(path, "w") as f:
            json.dump({"scaleSettings": {"manual": {"targetNodeCount": 1,
                                                    "nodeDeallocationOption": "requeue"}}}, f)
        self.cli("cluster", "create", "-n", "default", "-f", path)
        wait_for(lambda: self.job("gang")["executionState"] == "queued" and
                 not self.cp_job("gang")["tasks"],
                 "the job to be queued again, with no task")
        wait_for(lambda: not self.sleeps(), "the job's processes to end on its nodes")
        wait_for(lambda: not self.job_sshd_running(), "the job's sshd to end on its nodes")
        for i in range(3):
            if self.node_id(i) in gang_nodes:
                wait_for(lambda i=i: not mounts_below(self.node_root(i)),
                         "node %d to unmount the shared job temp" % i)
        # One node is left, and a 2-node job waits for a second.
        self.assertEqual(self.job("gang")["executionState"], "queued")
        # Back to three nodes: the job runs again on two of them, the same uuid, task ids and
        # SSH directory as its first run (nothing that run left lets this one in early).
        open(os.path.join(self.marks, "second"), "w").close()
        with open(path, "w") as f:
            json.dump({"scaleSettings": {"manual": {"targetNodeCount": 3}}}, f)
        self.cli("cluster", "create", "-n", "default", "-f", path)
        for i in range(3):
            if self.agents[i].poll() is not None:
                self.start_agent(i, wait_idle=False)
        job = self.wait_state("gang", "succeeded", "failed")
        self.assertEqual(job["executionState"], "succeeded", json.dumps(job))
        self.assert_nothing_left(3)


class LostNodeTest(GangCluster):
    """A worker's agent killed for good: the control plane hears nothing from the node, fails
    its task as NodeLost, and the job ends on the other nodes. The node's agent, back later,
    ends what it left running."""

    NODES = 2
    POLL_WAIT_SECONDS = 3
    NODE_LOST_SECONDS = 8

    def test_a_lost_worker_fails_the_job(self):
        self.create("lost", self.props(2, {"customMpiSettings": {
            "commandLine": "sleep 600", "processCount": 2}}))
        wait_for(lambda: len(self.sleeps()) == 2, "the job's sleeps on both nodes")
        self.kill_agent(1)
        job = self.wait_state("lost", "failed")
        errors = job["executionInfo"]["errors"]
        self.assertIn("NodeLost", [e["code"] for e in errors], errors)
        self.assertEqual(self.node_record(1)["nodeState"], "unusable")
        # The master's part ended: its launcher and sshd are gone, its node is idle.
        self.wait_node_state(0, "idle")
        # The lost node's agent comes back: the task is no longer wanted, and it ends it.
        self.start_agent(1, wait_idle=False)
        wait_for(lambda: not self.sleeps(), "the job's processes to end on both nodes")
        self.assert_nothing_left(2)


if __name__ == "__main__":
    unittest.main()
