"""Job files on an Azure Files share, listed and downloaded through listOutputFiles: the control
plane reads them from the share over SMB (a real smbd on loopback) with the key it holds, as
Batch AI read them from the storage account (docs/real-clients.md)."""

import os
import shutil
import tempfile
import unittest

from tests.clients.fixture import STORAGE_ACCOUNT, STORAGE_KEY, wait_for
from tests.clients.test_sdk import (CLUSTER, EXPERIMENT, GROUP, TRAIN, WORKSPACE, BatchAI, SdkCase,
                                    models)
from tests.mounts.servers import Samba


@unittest.skipIf(BatchAI is None or not Samba.available(), "needs python3-azure and smbd")
class JobFilesOnAShare(SdkCase):
    with_agent = True

    @classmethod
    def setUpClass(cls):
        cls.server_dir = tempfile.mkdtemp(prefix="batchai-share-")
        cls.logs = os.path.join(cls.server_dir, "logs")
        os.makedirs(cls.logs)
        cls.samba = Samba().start(cls.server_dir, STORAGE_ACCOUNT, STORAGE_KEY,
                                  {"logs": cls.logs})

    @classmethod
    def tearDownClass(cls):
        cls.samba.stop()
        shutil.rmtree(cls.server_dir, ignore_errors=True)

    def storage_account(self):
        account = super().storage_account()
        account["fileEndpoint"] = "smb://127.0.0.1:%d/" % self.samba.port
        return account

    def share_job(self, cluster, account=STORAGE_ACCOUNT, host=None):
        script = os.path.join(self.root, "train.py")
        with open(script, "w") as f:
            f.write(TRAIN)
        host = host or "%s.file.core.windows.net" % account
        share = models.AzureFileShareReference(
            account_name=account, azure_file_url="https://%s/logs" % host,
            credentials=models.AzureStorageCredentialsInfo(account_key=STORAGE_KEY),
            relative_mount_path="logs")
        return models.JobCreateParameters(
            cluster=models.ResourceId(id=cluster.id), node_count=1,
            mount_volumes=models.MountVolumes(azure_file_shares=[share]),
            std_out_err_path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
            output_directories=[models.OutputDirectory(
                id="MODEL", path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
                path_suffix="Models")],
            cntk_settings=models.CNTKsettings(python_script_file_path=script,
                                              command_line_args=""))

    def files(self, job, directory):
        return {f.name: f for f in self.client.jobs.list_output_files(
            GROUP, WORKSPACE, EXPERIMENT, job,
            models.JobsListOutputFilesOptions(outputdirectoryid=directory))}

    def test_logs_and_models_on_the_share_are_listed_and_downloaded(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.start_agent(CLUSTER, storage={
            "azureFileHost": "127.0.0.1", "smbPort": self.samba.port,
            "runtimeDirectory": self.path("run"), "mountAttempts": 1})
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "on_share",
                                      self.share_job(cluster)).result()
        wait_for(lambda: self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "on_share")
                 .execution_state == models.ExecutionState.SUCCEEDED, "the job to succeed",
                 timeout=180)
        segment = self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "on_share") \
            .job_output_directory_path_segment
        on_server = os.path.join(self.logs, segment, "stdouterr", "stderr.txt")
        with open(on_server, "rb") as f:
            expected = f.read()
        self.assertIn(b"Finished Epoch[3 of 3]", expected)
        # Nothing of the job is on the node's disk: what is listed came from the share.
        self.assertFalse(os.path.exists(os.path.join(self.root, "shared", "LS_root", "mounts",
                                                     "logs")))
        logs = self.files("on_share", "stdouterr")
        self.assertEqual(logs["stderr.txt"].content_length, len(expected))
        self.assertEqual(self.fetch(logs["stderr.txt"].download_url), (200, expected))
        self.assertEqual(self.fetch(logs["stderr.txt"].download_url, {"Range": "bytes=7-"}),
                         (206, expected[7:]))
        self.assertEqual(sorted(self.files("on_share", "MODEL")),
                         ["model_0.dnn", "model_1.dnn", "model_2.dnn"])
        # A file the job writes later is listed at once: the listing is the share's own.
        with open(os.path.join(self.logs, segment, "stdouterr", "late.txt"), "w") as f:
            f.write("late\n")
        self.assertIn("late.txt", self.files("on_share", "stdouterr"))

    def test_a_growing_file_on_the_share_streams_every_byte_once_in_order(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "growing",
                                      self.share_job(cluster)).result()
        segment = self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, "growing") \
            .job_output_directory_path_segment
        stdouterr = os.path.join(self.logs, segment, "stdouterr")
        os.makedirs(stdouterr)
        written = b""
        with open(os.path.join(stdouterr, "stderr.txt"), "wb") as f:
            f.write(b"")
        url = self.files("growing", "stdouterr")["stderr.txt"].download_url
        # As az's `job file stream` reads: the rest of the file from what it has, again and again.
        streamed = b""
        for i in range(20):
            chunk = ("line %d %s\n" % (i, "x" * (i * 37))).encode()
            with open(os.path.join(stdouterr, "stderr.txt"), "ab") as f:
                f.write(chunk)
            written += chunk
            status, body = self.fetch(url, {"Range": "bytes=%d-" % len(streamed)})
            self.assertEqual(status, 206)
            streamed += body
        self.assertEqual(streamed, written)

    def test_a_share_of_an_account_not_held_or_at_another_host_is_not_read_elsewhere(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        # No agent: the job stays queued; its files are looked up all the same.
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "other",
                                      self.share_job(cluster, account="notheld")).result()
        from azure.core.exceptions import ResourceNotFoundError
        with self.assertRaises(ResourceNotFoundError) as e:
            self.files("other", "stdouterr")
        self.assertIn("notheld", e.exception.error.message)
        self.assertIn("--storage-accounts", e.exception.error.message)
        # A URL naming another host still reads the held account's own endpoint (the share
        # fixture), never the document's host with the held key.
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "elsewhere",
                                      self.share_job(cluster, host="192.0.2.1")).result()
        self.assertEqual(self.files("elsewhere", "stdouterr"), {})

    def test_a_wrong_key_on_the_server_is_a_clear_error(self):
        self.make_workspace()
        cluster = self.client.clusters.begin_create(GROUP, WORKSPACE, CLUSTER,
                                                    self.cluster_parameters()).result()
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, "j",
                                      self.share_job(cluster)).result()
        self.samba.set_password("another-key")
        self.addCleanup(self.samba.set_password, STORAGE_KEY)
        from azure.core.exceptions import HttpResponseError
        with self.assertRaises(HttpResponseError) as e:
            self.files("j", "stdouterr")
        self.assertEqual(e.exception.status_code, 403)
        self.assertIn("refused the storage account's key", e.exception.error.message)


