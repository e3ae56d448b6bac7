"""Job files on an NFS file server (a fileServers volume), listed and downloaded through
listOutputFiles: the control plane reads them with libnfs from the file server it is configured
with (--file-server; a real nfs-ganesha on loopback, NFSv4), as the node mounts it, and serves
them through its own signed links (docs/real-clients.md)."""

import os
import shutil
import tempfile
import unittest
import urllib.error

from tests.clients.fixture import SUBSCRIPTION
from tests.clients.test_sdk import (CLUSTER, EXPERIMENT, GROUP, WORKSPACE, BatchAI, SdkCase,
                                    models)
from tests.mounts.servers import Ganesha
from tests.support.common import free_port

SERVER = "nfs1"
SOURCE = "team"  # the volume's sourceDirectory, below the export


@unittest.skipIf(BatchAI is None or not Ganesha.available(),
                 "needs python3-azure, ganesha.nfsd (nfs-ganesha, nfs-ganesha-vfs) and root")
class JobFilesOnAFileServer(SdkCase):

    @classmethod
    def setUpClass(cls):
        cls.server_dir = tempfile.mkdtemp(prefix="batchai-nfs-")
        cls.export = os.path.join(cls.server_dir, "export")
        os.makedirs(os.path.join(cls.export, SOURCE))
        cls.ganesha = Ganesha().start(cls.server_dir, cls.export)

    @classmethod
    def tearDownClass(cls):
        cls.ganesha.stop()
        shutil.rmtree(cls.server_dir, ignore_errors=True)

    def controlplane_args(self):
        return ["--file-server", "%s=127.0.0.1:%s" % (SERVER, Ganesha.PSEUDO)]

    def nfs_job(self, name, port=None):
        """A job (no agent: it stays queued) whose stdouterr and MODEL are on the file server;
        returns its stdouterr directory on the server's disk."""
        if getattr(self, "cluster", None) is None:
            self.make_workspace()
            self.cluster = self.client.clusters.begin_create(
                GROUP, WORKSPACE, CLUSTER, self.cluster_parameters()).result()
        server_id = ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.BatchAI/workspaces/"
                     "%s/fileServers/%s" % (SUBSCRIPTION, GROUP, WORKSPACE, SERVER))
        volume = models.FileServerReference(
            file_server=models.ResourceId(id=server_id), relative_mount_path="nfs",
            source_directory=SOURCE,
            mount_options="rw,vers=4,port=%d" % (port or self.ganesha.port))
        params = models.JobCreateParameters(
            cluster=models.ResourceId(id=self.cluster.id), node_count=1,
            mount_volumes=models.MountVolumes(file_servers=[volume]),
            std_out_err_path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs/runs",
            output_directories=[models.OutputDirectory(
                id="MODEL", path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs", path_suffix="Models")],
            custom_toolkit_settings=models.CustomToolkitSettings(command_line="true"))
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, name, params).result()
        segment = self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, name) \
            .job_output_directory_path_segment
        return os.path.join(self.export, SOURCE, "runs", segment, "stdouterr"), segment

    def files(self, job, directory, below=".", **kwargs):
        return {f.name: f for f in self.client.jobs.list_output_files(
            GROUP, WORKSPACE, EXPERIMENT, job,
            models.JobsListOutputFilesOptions(outputdirectoryid=directory, directory=below),
            **kwargs)}

    def fetch_error(self, url, headers=None):
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.fetch(url, headers)
        return e.exception.code

    @staticmethod
    def write(path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def test_files_on_the_server_are_listed_and_read_over_nfs(self):
        logs, segment = self.nfs_job("on_nfs")
        # Nothing is there yet: an empty listing, as for a share.
        self.assertEqual(self.files("on_nfs", "stdouterr"), {})
        stderr = b"".join(b"Finished Epoch[%d of 3]\n" % i for i in range(1, 4))
        self.write(os.path.join(logs, "stderr.txt"), stderr)
        self.write(os.path.join(logs, "sub", "inner.txt"), b"inner bytes")
        os.symlink("/etc/passwd", os.path.join(logs, "passwd"))
        os.symlink("sub", os.path.join(logs, "sublink"))
        self.write(os.path.join(self.export, SOURCE, segment, "outputs", "Models", "model_0.dnn"),
                   b"weights")
        # Nothing of the job is on the node's disk: what is listed came from the server.
        self.assertFalse(os.path.exists(os.path.join(self.root, "shared")))

        listed = self.files("on_nfs", "stdouterr")
        self.assertEqual(sorted(listed), ["stderr.txt", "sub"])  # no symbolic link
        self.assertEqual(listed["sub"].file_type, "directory")
        f = listed["stderr.txt"]
        self.assertEqual(f.file_type, "file")
        self.assertEqual(f.content_length, len(stderr))
        self.assertEqual(int(f.last_modified.timestamp()),
                         int(os.stat(os.path.join(logs, "stderr.txt")).st_mtime))
        self.assertTrue(f.download_url.startswith(self.base + "/jobfiles?"), f.download_url)
        self.assertEqual(self.fetch(f.download_url), (200, stderr))
        self.assertEqual(self.fetch(f.download_url, {"Range": "bytes=7-"}), (206, stderr[7:]))
        self.assertEqual(self.fetch(f.download_url, {"Range": "bytes=-5"}), (206, stderr[-5:]))
        self.assertEqual(self.fetch_error(f.download_url, {"Range": "bytes=%d-" % len(stderr)}),
                         416)
        inner = self.files("on_nfs", "stdouterr", "sub")
        self.assertEqual(sorted(inner), ["inner.txt"])
        self.assertEqual(self.fetch(inner["inner.txt"].download_url), (200, b"inner bytes"))
        self.assertEqual(sorted(self.files("on_nfs", "MODEL")), ["model_0.dnn"])
        # A file written later is listed at once, and a file that grows is read to its new end.
        self.write(os.path.join(logs, "late.txt"), b"late\n")
        self.assertIn("late.txt", self.files("on_nfs", "stdouterr"))
        with open(os.path.join(logs, "stderr.txt"), "ab") as out:
            out.write(b"more\n")
        self.assertEqual(self.fetch(f.download_url, {"Range": "bytes=%d-" % len(stderr)}),
                         (206, b"more\n"))

    def test_symbolic_links_are_not_followed(self):
        logs, _ = self.nfs_job("links")
        self.write(os.path.join(logs, "model.dnn"), b"weights")
        self.write(os.path.join(logs, "sub", "inner.txt"), b"inner")
        self.write(os.path.join(logs, "elsewhere", "inner.txt"), b"elsewhere")
        listed = self.files("links", "stdouterr")
        url = listed["model.dnn"].download_url
        inner_url = self.files("links", "stdouterr", "sub")["inner.txt"].download_url
        # The listed file is replaced by a link to a file outside the export, the directory by a
        # link to another one: their links serve neither.
        os.remove(os.path.join(logs, "model.dnn"))
        os.symlink("/etc/passwd", os.path.join(logs, "model.dnn"))
        shutil.rmtree(os.path.join(logs, "sub"))
        os.symlink("elsewhere", os.path.join(logs, "sub"))
        self.assertEqual(self.fetch_error(url), 404)
        self.assertEqual(self.fetch_error(inner_url), 404)
        self.assertEqual(sorted(self.files("links", "stdouterr")), ["elsewhere"])
        self.assertEqual(self.files("links", "stdouterr", "sub"), {})  # not followed: nothing
        from azure.core.exceptions import HttpResponseError
        for below in ("..", "sub/../..", "a\x01b"):
            with self.assertRaises(HttpResponseError) as e:
                self.files("links", "stdouterr", below)
            self.assertEqual(e.exception.status_code, 400, below)

    def test_a_server_that_does_not_answer_is_a_clear_error(self):
        self.nfs_job("closed", port=free_port())
        from azure.core.exceptions import HttpResponseError
        with self.assertRaises(HttpResponseError) as e:
            # Once: the SDK would try a 503 again after a while.
            self.files("closed", "stdouterr", retry_total=0)
        self.assertEqual(e.exception.status_code, 503)
        self.assertIn("not reachable", e.exception.error.message)

    def test_a_file_server_the_control_plane_is_not_configured_with_is_refused(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        volume = models.FileServerReference(
            file_server=models.ResourceId(id="nfs2"), relative_mount_path="nfs")
        from azure.core.exceptions import HttpResponseError
        with self.assertRaises(HttpResponseError) as e:
            self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "other", models.JobCreateParameters(
                cluster=models.ResourceId(id=cluster.id), node_count=1,
                mount_volumes=models.MountVolumes(file_servers=[volume]),
                std_out_err_path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/nfs",
                custom_toolkit_settings=models.CustomToolkitSettings(command_line="true"))).result()
        self.assertEqual(e.exception.status_code, 400)
        self.assertIn("nfs2", e.exception.error.message)
