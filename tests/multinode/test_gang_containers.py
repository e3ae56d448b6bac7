"""Multi-node jobs in containers: each node of the cluster (tests/support/netns_cluster.py) has
its own real dockerd in its namespaces, as each VM of a Batch AI cluster had, and the job's sshd
runs in the job's container from the image's OpenSSH. An MPI job's ranks on two nodes meet
across the containers; an image without sshd fails the job with an error naming it; either way
no container, sshd, key or mount is left.

Run as root from the repository root, as tests/multinode/test_gang.py. Needs docker.io,
openssh-server, openmpi-bin and debootstrap (scripts/install-test-servers.sh); the image with
OpenMPI, mpi4py and OpenSSH is debootstrapped once per machine (tests/containers/fixtures.py).
"""

import glob
import os

from tests.containers.fixtures import (BUSYBOX_TAG, MPI_TAG, Dockerd, build_busybox_image,
                                       build_mpi_image)
from tests.multinode.test_gang import ALLREDUCE, GangCluster
from tests.support.common import read_text, wait_for

# The ranks say where they ran: /.dockerenv is in every container dockerd makes.
IN_CONTAINER = ALLREDUCE + r"""
print("container of %d: %s" % (comm.Get_rank(), os.path.exists("/.dockerenv")), flush=True)
"""


class ContainerGangTest(GangCluster):

    NODES = 2

    def setUp(self):
        reason = Dockerd.available()
        if reason:
            self.skipTest("needs dockerd: " + reason)
        super().setUp()

    def start_node_services(self):
        self.dockerds = []
        for i in range(self.NODES):
            # Its own data root per node, kept between runs: the images are imported once.
            d = Dockerd(data_name="docker-data-node%d" % i, enter=self.node_enter(i))
            self.addCleanup(d.stop)
            os.makedirs(self.node_dir(i), exist_ok=True)
            d.start(self.node_dir(i))
            build_mpi_image(d)
            build_busybox_image(d)
            self.dockerds.append(d)
        # The scripts: outside the node roots, bound into the containers read-only as an
        # input directory (the agent's containerInputRoots allow it).
        self.scripts = os.path.join(self.tmp, "scripts")
        os.makedirs(self.scripts)

    def agent_settings(self, i):
        # Each container has its own /tmp and /dev/shm for OpenMPI: no per-node TMPDIR.
        return {"dockerSocket": self.dockerds[i].socket, "containerInputRoots": [self.scripts],
                "environment": {}}

    def container_props(self, image, toolkit, **extra):
        return self.props(2, toolkit, containerSettings={"imageSourceRegistry": {"image": image}},
                          inputDirectories=[{"id": "SCRIPTS", "path": self.scripts}], **extra)

    def assert_no_container_left(self):
        for i, d in enumerate(self.dockerds):
            wait_for(lambda d=d: not d.engine.containers(all=True),
                     "node %d's dockerd to have no container left" % i)

    def test_mpi_job_in_containers_on_two_nodes(self):
        with open(os.path.join(self.scripts, "allreduce.py"), "w") as f:
            f.write(IN_CONTAINER)
        # Node 1's job preparation runs in its container, after the master's shared job temp
        # was mounted on the node: the container sees the mount, and the master the file.
        prep = "echo $AZ_BATCHAI_NODE_IP > $AZ_BATCHAI_SHARED_JOB_TEMP/prep-$AZ_BATCHAI_NODE_IP"
        self.create("mpi", self.container_props(MPI_TAG, {"customMpiSettings": {
            "commandLine": "python3 $AZ_BATCHAI_INPUT_SCRIPTS/allreduce.py", "processCount": 4}},
            jobPreparation={"commandLine": prep}))
        job = self.wait_state("mpi", "succeeded", "failed")
        master = self.stdouterr(0)
        self.assertEqual(job["executionState"], "succeeded",
                         read_text(os.path.join(master, "stderr.txt"))[-3000:] +
                         read_text(os.path.join(master, "execution-node-0.log"))[-3000:])
        stdout = os.path.join(master, "stdout.txt")
        self.assert_ranks_said(stdout, ["rank %d of 4 on %s sum 10" % (r, self.node_ip(r // 2))
                                        for r in range(4)])
        for r in range(4):
            self.assertIn("container of %d: True" % r, read_text(stdout))
        log = read_text(os.path.join(master, "execution-node-0.log"))
        self.assertIn("container batchai-job-", log)
        self.assertIn("started from " + MPI_TAG, log)
        # What node 1's preparation wrote in its container is in the master's shared job temp.
        shared = glob.glob(os.path.join(self.node_root(0), "tmp", "shared-*"))
        self.assertEqual(len(shared), 1, shared)
        self.assertEqual(read_text(os.path.join(shared[0], "prep-" + self.node_ip(1))),
                         self.node_ip(1) + "\n")
        self.assert_nothing_left(2)
        self.assert_no_container_left()

    def test_a_terminated_container_job_ends_on_both_nodes(self):
        self.create("long", self.container_props(MPI_TAG, {"customMpiSettings": {
            "commandLine": "sleep 600", "processCount": 2}}))
        # Each node's sleep is a process MPI started in that node's container.
        wait_for(lambda: self.job("long")["executionState"] == "running" and
                 len(self.sleeps()) == 2, "the job's sleeps in both containers")
        self.cli("job", "terminate", "-n", "long")
        job = self.wait_state("long", "failed")
        self.assertIn("JobTerminate", [e["code"] for e in job["executionInfo"]["errors"]])
        wait_for(lambda: not self.sleeps(), "the job's processes to end in both containers")
        self.assert_nothing_left(2)
        self.assert_no_container_left()

    def test_an_image_without_sshd_fails_the_job_naming_the_image(self):
        self.create("nosshd", self.container_props(BUSYBOX_TAG, {"customMpiSettings": {
            "commandLine": "true", "processCount": 2}}))
        job = self.wait_state("nosshd", "failed")
        errors = job["executionInfo"]["errors"]
        self.assertTrue(errors, job)
        self.assertEqual(errors[0]["code"], "FailedStartingContainer", errors)
        self.assertIn("the image %s cannot run the job's sshd (/usr/sbin/sshd)" % BUSYBOX_TAG,
                      errors[0]["message"])
        self.assertIn({"name": "imageName", "value": BUSYBOX_TAG}, errors[0]["details"])
        self.assert_nothing_left(2)
        self.assert_no_container_left()
