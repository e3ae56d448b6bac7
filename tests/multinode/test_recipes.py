"""Batch AI's 12 multi-node recipes (tests/multinode/recipes, README.md there) on a 2-node
cluster of agents in network namespaces: each document is accepted and launched as the recipe
meant, its processes on the nodes they belong on with the arguments and variables the recipe
names, and they meet each other (MPI, gloo, the shared job temp).

The recipes' shares are local directories bound at the same relative mount paths, and their
training scripts are stand-ins that record what they were given and talk to their peers (the
frameworks and the GPU images are not on a test machine). Run as root from the repository
root, as tests/multinode/test_gang.py.
"""

import glob
import json
import os
import subprocess
import unittest

from tests.multinode.test_gang import PYTHON, GangCluster
from tests.support.common import read_json, read_text

RECIPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipes")
DEMO_DIR = os.path.realpath(os.path.join(RECIPES, "..", "..", "..", "examples",
                                         "digits-distributed"))

# Every recipe's process records what it was given in $RECORDS/<name>.json.
RECORD = r"""
import json, os, sys
def record(name, **fields):
    fields.update(argv=sys.argv[1:], node=os.environ["AZ_BATCHAI_NODE_IP"], cwd=os.getcwd(),
                  env={k: v for k, v in os.environ.items() if k.startswith("AZ_BATCH")})
    path = os.path.join(os.environ["RECORDS"], name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(fields, f)
    os.rename(path + ".tmp", path)
"""

# The MPI recipes' scripts (Horovod, CNTK, Chainer; the batch scoring and BrainScript's cntk
# below build on it): an allreduce over every rank.
MPI_SCRIPT = RECORD + r"""
from mpi4py import MPI
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
total = comm.allreduce(rank + 1, op=MPI.SUM)
prepared = os.path.exists(os.path.join(os.environ["AZ_BATCHAI_JOB_TEMP"], "prepared"))
record("rank-%d" % rank, rank=rank, size=size, sum=total, prepared=prepared)
"""

# The batch scoring job: every rank labels its share of the images.
SCORING_SCRIPT = MPI_SCRIPT + r"""
import argparse
p = argparse.ArgumentParser()
for a in ("--dataset_path", "--model_path", "--label_path", "--output_dir", "--batch_size"):
    p.add_argument(a)
a = p.parse_args()
assert os.path.isfile(a.model_path) and os.path.isfile(a.label_path), (a.model_path, a.label_path)
for i, image in enumerate(sorted(os.listdir(a.dataset_path))):
    if i % size == rank:
        with open(os.path.join(a.output_dir, image + ".label"), "w") as f:
            f.write("rank %d\n" % rank)
"""

# Caffe2's shards meet in the file store on the shared job temp: each writes its own file and
# waits for every other shard's.
CAFFE2_SCRIPT = RECORD + r"""
import argparse, time
p = argparse.ArgumentParser()
for a in ("--num_shards", "--shard_id", "--run_id", "--epoch_size", "--num_epochs", "--train_data",
          "--file_store_path"):
    p.add_argument(a)
a = p.parse_args()
assert os.path.isdir(a.train_data), a.train_data
with open(os.path.join(a.file_store_path, "shard-%s" % a.shard_id), "w") as f:
    f.write(os.environ["AZ_BATCHAI_NODE_IP"])
want = ["shard-%d" % i for i in range(int(a.num_shards))]
deadline = time.time() + 300
while not all(os.path.exists(os.path.join(a.file_store_path, w)) for w in want):
    if time.time() > deadline:
        sys.exit("the other shards never wrote to the file store")
    time.sleep(0.1)
seen = {w: open(os.path.join(a.file_store_path, w)).read() for w in want}
record("shard-%s" % a.shard_id, seen=seen)
# The shared job temp lives on the first node: it ends last, once every shard has read.
open(os.path.join(a.file_store_path, "read-%s" % a.shard_id), "w").close()
while a.shard_id == "0" and not all(
        os.path.exists(os.path.join(a.file_store_path, "read-%d" % i))
        for i in range(int(a.num_shards))):
    if time.time() > deadline:
        sys.exit("the other shards never read the file store")
    time.sleep(0.1)
"""

# The PyTorch-Gloo recipe's arguments, and an all-reduce of rank + 1.
TORCH_SCRIPT = RECORD + r"""
import argparse
import torch
import torch.distributed as dist
p = argparse.ArgumentParser()
for a in ("--epochs", "--world-size", "--dist-backend", "--dist-url", "--rank"):
    p.add_argument(a)
a = p.parse_args()
dist.init_process_group(a.dist_backend, init_method=a.dist_url, rank=int(a.rank),
                        world_size=int(a.world_size))
t = torch.tensor([float(int(a.rank) + 1)])
dist.all_reduce(t)
record("rank-%s" % a.rank, sum=int(t.item()))
dist.destroy_process_group()
"""

# TensorFlow's tasks: each records its flags; the chief (worker 0) ends the job once every task
# has; the parameter server waits to be stopped.
TF_SCRIPT = RECORD + r"""
import time
flags = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--") and "=" in arg)
kind, index = flags["job_name"], flags["task_index"]
record("%s-%s" % (kind, index), flags=flags)
if kind == "ps":
    time.sleep(3600)
elif index == "0":
    deadline = time.time() + 300
    while len([n for n in os.listdir(os.environ["RECORDS"]) if n.endswith(".json")]) < 3:
        if time.time() > deadline:
            sys.exit("not every task recorded")
        time.sleep(0.1)
"""

# What the scripts share holds, by path below it; the job preparations' scripts write a mark in
# the node's job temp (a real one downloads data or builds the benchmarks there).
MARK_PREPARED = "touch $AZ_BATCHAI_JOB_TEMP/prepared\n"
SHARE_SCRIPTS = {
    "classification_samples/batch_image_label.py": SCORING_SCRIPT,
    "cntk/ConvNet_CIFAR10_DataAug_Distributed.py": MPI_SCRIPT,
    "cntk/CIFAR-10_data_prepare.sh": MARK_PREPARED,
    "cntk/TrainResNet_CIFAR10_Distributed.py": MPI_SCRIPT,
    "cntk/jobprep_cntk_distributed_ib.sh": MARK_PREPARED,
    "caffe2/resnet50_trainer.py": CAFFE2_SCRIPT,
    "chainer/train_mnist.py": MPI_SCRIPT,
    "chainer/jobprep.sh": MARK_PREPARED,
    "horovod/tensorflow_mnist.py": MPI_SCRIPT,
    "horovod/pytorch_mnist.py": MPI_SCRIPT,
    # The benchmark recipe's preparation clones tf_cnn_benchmarks into the job temp.
    "horovod/jobprep_benchmark.sh": MARK_PREPARED +
        "mkdir -p $AZ_BATCHAI_JOB_TEMP/benchmarks/scripts/tf_cnn_benchmarks\n"
        "cp $AZ_BATCHAI_JOB_MOUNT_ROOT/scripts/horovod/tensorflow_mnist.py "
        "$AZ_BATCHAI_JOB_TEMP/benchmarks/scripts/tf_cnn_benchmarks/tf_cnn_benchmarks.py\n",
    "pytorch/mnist_trainer.py": TORCH_SCRIPT,
    "tensorflow/mnist_replica.py": TF_SCRIPT,
}
IMAGES = ["cat-%d.jpg" % i for i in range(5)]
DATA_FILES = ["unlabeled_images/" + n for n in IMAGES] + [
    "pretained_models/inception_v3.ckpt", "pretained_models/imagenet_slim_labels.txt",
    "mnist_data/mnist_train_lmdb/data.mdb"]
# The cluster-level share the BrainScript and Horovod-PyTorch recipes name
# ($AZ_BATCHAI_MOUNT_ROOT/external), with BrainScript's configuration and data.
EXTERNAL_FILES = ["cntk_samples/DistributedConvNet_MNIST.cntk", "mnist_database/Train-28x28_cntk_text.txt"]

# BrainScript's cntk, and the `python` of the batch scoring's command line, as the recipes'
# images had them.
CNTK_PROGRAM = "#!" + PYTHON + "\n" + MPI_SCRIPT

# The job preparations that install from the network (apt, pip) are replaced: tests send no
# traffic beyond the machine, and the node has MPI already.
NETWORK_PREPARATIONS = {
    "Distributed-Batch-Scoring-in-Tensorflow-with-GPU", "Horovod-Tensorflow", "Horovod-PyTorch"}


class RecipeTest(GangCluster):

    NODES = 2

    def start_node_services(self):
        self.shares = os.path.join(self.tmp, "shares")
        self.records = os.path.join(self.tmp, "records")
        self.bin = os.path.join(self.tmp, "bin")
        os.makedirs(self.records)
        os.makedirs(self.bin)
        for rel, text in SHARE_SCRIPTS.items():
            self._write(os.path.join(self.shares, "scripts", rel), text)
        for rel in DATA_FILES:
            self._write(os.path.join(self.shares, "data", rel), "x")
        for rel in EXTERNAL_FILES:
            self._write(os.path.join(self.shares, "external", rel), "x")
        os.makedirs(os.path.join(self.shares, "logs"))
        self._write(os.path.join(self.bin, "cntk"), CNTK_PROGRAM, 0o755)
        os.symlink(PYTHON, os.path.join(self.bin, "python"))
        # The cluster's own share, mounted on every node at $AZ_BATCHAI_MOUNT_ROOT/external.
        for i in range(self.NODES):
            mount_root = os.path.join(self.node_root(i), "shared", "LS_root", "mounts")
            target = os.path.join(mount_root, "external")
            os.makedirs(target)
            subprocess.run(["mount", "--bind", os.path.join(self.shares, "external"), target],
                           check=True)
            self.addCleanup(subprocess.run, ["umount", "-l", target], check=False,
                            stderr=subprocess.DEVNULL)

    def agent_settings(self, i):
        settings = super().agent_settings(i)
        env = {"PATH": self.bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "RECORDS": self.records, "TMPDIR": self.node_tmp(i), "DEMO_DIR": DEMO_DIR,
               "OMPI_MCA_btl_vader_backing_directory": self.node_tmp(i)}
        return dict(settings, environment=env)

    @staticmethod
    def _write(path, text, mode=0o644):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    # --- running a recipe ----------------------------------------------------------------------

    def run_recipe(self, name):
        """Creates the recipe's job as written, its shares bound locally, run on the nodes (the
        images are not here: containerSettings is left out); returns the job once final."""
        with open(os.path.join(RECIPES, name + ".json")) as f:
            text = f.read().replace("@SHARES@", self.shares)
        doc = json.loads(text)
        props = doc["properties"]
        props.pop("containerSettings")
        if name in NETWORK_PREPARATIONS:
            props["jobPreparation"]["commandLine"] = MARK_PREPARED.strip()
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
        job = name.lower()[:60]
        self.cli("job", "create", "-n", job, "-f", path)
        final = self.wait_state(job, "succeeded", "failed")
        if final["executionState"] != "succeeded":
            raise AssertionError("%s failed: %s\n%s" % (name, json.dumps(final["executionInfo"]),
                                                        self.job_logs()))
        self.unmount_external()
        self.assert_nothing_left(2)
        return final

    def job_logs(self):
        text = ""
        for path in sorted(glob.glob(os.path.join(self.shares, "**", "stdouterr", "*"),
                                     recursive=True)):
            text += "== %s\n%s\n" % (os.path.basename(path), read_text(path)[-1500:])
        return text

    def unmount_external(self):
        for i in range(self.NODES):
            target = os.path.join(self.node_root(i), "shared", "LS_root", "mounts", "external")
            subprocess.run(["umount", "-l", target], check=False, stderr=subprocess.DEVNULL)

    def records_of(self, prefix):
        return {os.path.basename(p)[:-5]: read_json(p)
                for p in glob.glob(os.path.join(self.records, prefix + "*.json"))}

    def assert_mpi_ranks(self, processes, args):
        """Every rank ran on its node (ranks in blocks: ceil(P/N) slots a node), met the others
        in the allreduce, and was given the recipe's arguments: the master's, as mpirun hands
        them on (the paths in them are the same on every node of a real cluster)."""
        ranks = self.records_of("rank-")
        self.assertEqual(sorted(ranks), sorted("rank-%d" % r for r in range(processes)))
        slots = -(-processes // self.NODES)
        for r in range(processes):
            rec = ranks["rank-%d" % r]
            self.assertEqual(rec["size"], processes)
            self.assertEqual(rec["sum"], processes * (processes + 1) // 2)
            self.assertEqual(rec["node"], self.node_ip(r // slots), r)
            self.assertEqual(rec["argv"], args, r)
        return ranks

    def output_dir(self, rec, name):
        return rec["env"]["AZ_BATCHAI_OUTPUT_" + name]

    def on_share(self, path, share):
        """Where a path below a job-level share's mount point is on the share itself (the job's
        mounts are gone once it has ended)."""
        return os.path.join(self.shares, share, path.split("/mounts/%s/" % share, 1)[1])

    # --- the recipes -----------------------------------------------------------------------------

    def test_distributed_batch_scoring(self):
        self.run_recipe("Distributed-Batch-Scoring-in-Tensorflow-with-GPU")
        ranks = self.records_of("rank-")
        self.assertEqual(len(ranks), 2)
        env = ranks["rank-0"]["env"]
        labels = self.on_share(self.output_dir(ranks["rank-0"], "LABEL"), "logs")
        self.assertEqual(sorted(os.listdir(labels)), sorted(n + ".label" for n in IMAGES))
        self.assertEqual(ranks["rank-0"]["argv"][:2],
                         ["--dataset_path", env["AZ_BATCHAI_INPUT_IMAGES"]])
        self.assertEqual({r["node"] for r in ranks.values()}, {self.node_ip(0), self.node_ip(1)})

    def test_cntk_brainscript_distributed(self):
        self.run_recipe("CNTK-GPU-BrainScript-Distributed")
        external = os.path.join(self.node_root(0), "shared", "LS_root", "mounts", "external")
        model = self.records_of("rank-0")["rank-0"]["env"]["AZ_BATCHAI_OUTPUT_MODEL"]
        self.assertTrue(model.startswith(external + "/") and model.endswith("/outputs/Models"))
        args = ["configFile=%s/cntk_samples/DistributedConvNet_MNIST.cntk" % external,
                "rootDir=.", "dataDir=%s/mnist_database" % external,
                "outputDir=" + model, "parallelTrain=true"]
        # Two nodes, processCount unsaid: as many processes as nodes, through mpirun.
        self.assert_mpi_ranks(2, args)

    def test_cntk_python_distributed(self):
        self.run_recipe("CNTK-GPU-Python-Distributed")
        master = self.records_of("rank-0")["rank-0"]
        ranks = self.assert_mpi_ranks(2, ["--datadir", master["env"]["AZ_BATCHAI_JOB_TEMP"],
                                          "--outputdir", self.output_dir(master, "MODEL"),
                                          "-n", "5"])
        self.assertTrue(all(r["prepared"] for r in ranks.values()),
                        "the job preparation ran on every node")

    def test_cntk_python_distributed_infiniband(self):
        self.run_recipe("CNTK-GPU-Python-Distributed-Infiniband")
        rec = self.records_of("rank-0")["rank-0"]
        self.assert_mpi_ranks(8, ["--datadir", rec["env"]["AZ_BATCHAI_JOB_TEMP"], "-outputdir",
                                  self.output_dir(rec, "MODEL"), "-n", "resnet110", "-e", "5"])

    def test_caffe2_distributed_meets_in_the_shared_job_temp(self):
        self.run_recipe("Caffe2-GPU-Distributed")
        shards = self.records_of("shard-")
        self.assertEqual(sorted(shards), ["shard-0", "shard-1"])
        both = {"shard-0": self.node_ip(0), "shard-1": self.node_ip(1)}
        for i in range(2):
            rec = shards["shard-%d" % i]
            self.assertEqual(rec["node"], self.node_ip(i))
            self.assertEqual(rec["seen"], both)
            self.assertEqual(rec["argv"][rec["argv"].index("--file_store_path") + 1],
                             rec["env"]["AZ_BATCHAI_SHARED_JOB_TEMP"])

    def test_chainer_distributed(self):
        self.run_recipe("Chainer-GPU-Distributed")
        rec = self.records_of("rank-0")["rank-0"]
        self.assert_mpi_ranks(2, ["-g", "-o", self.output_dir(rec, "MODEL")])

    def test_chainer_distributed_infiniband(self):
        self.run_recipe("Chainer-GPU-Distributed-Infiniband")
        rec = self.records_of("rank-0")["rank-0"]
        self.assert_mpi_ranks(8, ["-g", "--communicator", "non_cuda_aware", "-o",
                                  self.output_dir(rec, "MODEL")])
        self.assertTrue(all(r["prepared"] for r in self.records_of("rank-").values()))

    def test_horovod_tensorflow(self):
        self.run_recipe("Horovod-Tensorflow")
        self.assert_mpi_ranks(2, [])

    def test_horovod_pytorch(self):
        self.run_recipe("Horovod-PyTorch")
        ranks = self.assert_mpi_ranks(2, [])
        model = self.output_dir(ranks["rank-0"], "MODEL")
        external = os.path.join(self.node_root(0), "shared", "LS_root", "mounts", "external")
        self.assertTrue(model.startswith(external + "/") and model.endswith("/outputs/Models"))
        self.assertTrue(os.path.isdir(model))

    def test_horovod_infiniband_benchmark(self):
        self.run_recipe("Horovod-Infiniband-Benchmark")
        self.assert_mpi_ranks(8, ["--model", "resnet101", "--batch_size", "64",
                                  "--variable_update", "horovod"])

    def test_pytorch_gloo(self):
        self.require_torch()
        self.run_recipe("PyTorch-GPU-Distributed-Gloo")
        ranks = self.records_of("rank-")
        self.assertEqual(sorted(ranks), ["rank-0", "rank-1"])
        for r in range(2):
            rec = ranks["rank-%d" % r]
            self.assertEqual(rec["node"], self.node_ip(r))
            self.assertEqual(rec["sum"], 3)
            init = rec["argv"][rec["argv"].index("--dist-url") + 1]
            self.assertEqual(init, "tcp://%s:29500" % self.node_ip(0))

    def test_tensorflow_distributed(self):
        self.run_recipe("TensorFlow-GPU-Distributed")
        tasks = self.records_of("")
        self.assertEqual(sorted(tasks), ["ps-0", "worker-0", "worker-1"])
        ips = [self.node_ip(0), self.node_ip(1)]
        # Workers round-robin from node 0, then the parameter server: ports from 2222 a node.
        workers = "%s:2222,%s:2222" % tuple(ips)
        ps = "%s:2223" % ips[0]
        for name, node in (("worker-0", 0), ("worker-1", 1), ("ps-0", 0)):
            flags = tasks[name]["flags"]
            self.assertEqual(tasks[name]["node"], ips[node], name)
            self.assertEqual(flags["worker_hosts"], workers)
            self.assertEqual(flags["ps_hosts"], ps)
        model = tasks["worker-0"]["env"]["AZ_BATCHAI_OUTPUT_MODEL"]
        self.assertEqual(tasks["worker-0"]["flags"]["checkpoint_dir"], model)
        # $AZ_BATCHAI_INPUT_DATASET is no longer declared: it expands to nothing, said in the log.
        self.assertEqual(tasks["worker-0"]["flags"]["data_dir"], "")
        logs = glob.glob(os.path.join(self.shares, "logs", "**", "execution-node-0.log"),
                         recursive=True)
        self.assertIn("$AZ_BATCHAI_INPUT_DATASET is not defined", read_text(logs[0]))

    def test_the_distributed_demo_job(self):
        """examples/digits-distributed, as scripts/distributed-demo.sh runs it: the model that
        two ranks on two nodes trained together is good, and rank 0 saved it per epoch."""
        self.require_torch()
        self.cli("job", "create", "-n", "digits-ddp", "-f", os.path.join(DEMO_DIR, "job.json"))
        job = self.wait_state("digits-ddp", "succeeded", "failed")
        logs = glob.glob(os.path.join(self.node_root(0), "shared", "LS_root", "mounts", "logs",
                                      "**", "stdouterr", "stderr-0.txt"), recursive=True)
        self.assertEqual(len(logs), 1, logs)
        stderr = read_text(logs[0])
        self.assertEqual(job["executionState"], "succeeded", stderr[-3000:])
        self.assertIn("2 processes joined through tcp://%s:29500" % self.node_ip(0), stderr)
        self.assertIn("Final test error", stderr)
        models = glob.glob(os.path.join(os.path.dirname(os.path.dirname(logs[0])), "outputs",
                                        "digits_ddp_epoch_*.pt"))
        self.assertEqual(len(models), 30, models)
        self.unmount_external()
        self.assert_nothing_left(2)


if __name__ == "__main__":
    unittest.main()
