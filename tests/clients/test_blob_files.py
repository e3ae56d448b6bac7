"""Job files in a blob container, listed through listOutputFiles: the control plane lists them
with the Blob REST API (a real Azurite on loopback) with the key it holds, and each downloadUrl is
a read-only SAS for that one blob, read from the blob service itself (docs/real-clients.md)."""

import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.parse

from tests.clients.test_sdk import (CLUSTER, EXPERIMENT, GROUP, WORKSPACE, BatchAI, SdkCase,
                                    models)
from tests.clients.fixture import wait_for
from tests.mounts.servers import AZURITE_ACCOUNT, AZURITE_KEY, Azurite
from tests.support.common import CLI

CONTAINER = "logs"


@unittest.skipIf(BatchAI is None or not Azurite.available(), "needs python3-azure and Azurite")
class JobFilesInABlobContainer(SdkCase):

    @classmethod
    def setUpClass(cls):
        cls.server_dir = tempfile.mkdtemp(prefix="batchai-blob-")
        cls.azurite = Azurite().start(cls.server_dir)
        cls.blobs = cls.azurite.client()
        cls.blobs.create_container(CONTAINER)

    @classmethod
    def tearDownClass(cls):
        cls.azurite.stop()
        shutil.rmtree(cls.server_dir, ignore_errors=True)

    def storage_account(self):
        return {"name": AZURITE_ACCOUNT, "key": AZURITE_KEY,
                "blobEndpoint": self.azurite.endpoint + "/"}

    def blob_job(self, name, account=AZURITE_ACCOUNT):
        """A job (no agent: it stays queued) whose stdouterr and MODEL are in the container."""
        if getattr(self, "cluster", None) is None:
            self.make_workspace()
            self.cluster = self.client.clusters.begin_create(
                GROUP, WORKSPACE, CLUSTER, self.cluster_parameters()).result()
        cluster = self.cluster
        volume = models.AzureBlobFileSystemReference(
            account_name=account, container_name=CONTAINER,
            credentials=models.AzureStorageCredentialsInfo(account_key=AZURITE_KEY),
            relative_mount_path="blobs")
        params = models.JobCreateParameters(
            cluster=models.ResourceId(id=cluster.id), node_count=1,
            mount_volumes=models.MountVolumes(azure_blob_file_systems=[volume]),
            std_out_err_path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs/runs",
            output_directories=[models.OutputDirectory(
                id="MODEL", path_prefix="$AZ_BATCHAI_JOB_MOUNT_ROOT/blobs", path_suffix="Models")],
            custom_toolkit_settings=models.CustomToolkitSettings(command_line="true"))
        self.client.jobs.begin_create(GROUP, WORKSPACE, EXPERIMENT, name, params).result()
        return self.client.jobs.get(GROUP, WORKSPACE, EXPERIMENT, name) \
            .job_output_directory_path_segment

    def files(self, job, directory, below="."):
        return {f.name: f for f in self.client.jobs.list_output_files(
            GROUP, WORKSPACE, EXPERIMENT, job,
            models.JobsListOutputFilesOptions(outputdirectoryid=directory, directory=below))}

    def test_blobs_are_listed_and_read_from_the_blob_service_with_a_sas(self):
        segment = self.blob_job("in_blobs")
        logs = "runs/%s/stdouterr/" % segment
        stderr = b"".join(b"Finished Epoch[%d of 3]\n" % i for i in range(1, 4))
        self.blobs.put_blob(CONTAINER, logs + "stderr.txt", stderr)
        self.blobs.put_blob(CONTAINER, logs + "odd & <name>.txt", b"odd")
        self.blobs.put_blob(CONTAINER, logs + "sub/inner.txt", b"inner bytes")
        self.blobs.put_blob(CONTAINER, "runs/%s/stdouterr.txt" % segment, b"beside, not in")
        # createNew (the default): <pathPrefix>/<segment>/outputs/<pathSuffix>.
        self.blobs.put_blob(CONTAINER, "%s/outputs/Models/model_0.dnn" % segment, b"weights")

        listed = self.files("in_blobs", "stdouterr")
        self.assertEqual(sorted(listed), ["odd & <name>.txt", "stderr.txt", "sub"])
        self.assertEqual(listed["sub"].file_type, "directory")
        f = listed["stderr.txt"]
        self.assertEqual(f.file_type, "file")
        self.assertEqual(f.content_length, len(stderr))
        self.assertRegex(f.last_modified.isoformat(), r"^\d{4}-\d\d-\d\dT")
        # The link is the blob's own, on the account's endpoint, read-only and for that blob.
        url = urllib.parse.urlsplit(f.download_url)
        self.assertEqual("%s://%s" % (url.scheme, url.netloc),
                         "http://127.0.0.1:%d" % self.azurite.port)
        query = urllib.parse.parse_qs(url.query)
        self.assertEqual((query["sr"], query["sp"]), (["b"], ["r"]))
        self.assertEqual(self.fetch(f.download_url), (200, stderr))
        self.assertEqual(self.fetch(f.download_url, {"Range": "bytes=7-"}), (206, stderr[7:]))
        self.assertEqual(self.fetch(listed["odd & <name>.txt"].download_url), (200, b"odd"))
        # A tampered signature, or the link used for another blob, is refused by the service.
        sig = query["sig"][0]
        tampered = f.download_url.replace(urllib.parse.quote(sig, safe=""),
                                          urllib.parse.quote(sig[::-1], safe=""))
        self.assertNotEqual(tampered, f.download_url)
        for bad in (tampered, f.download_url.replace("stderr.txt", "sub/inner.txt")):
            with self.assertRaises(urllib.error.HTTPError) as e:
                self.fetch(bad)
            self.assertEqual(e.exception.code, 403)
        # A subdirectory, and the output directory with its suffix.
        inner = self.files("in_blobs", "stdouterr", "sub")
        self.assertEqual(sorted(inner), ["inner.txt"])
        self.assertEqual(self.fetch(inner["inner.txt"].download_url), (200, b"inner bytes"))
        self.assertEqual(sorted(self.files("in_blobs", "MODEL")), ["model_0.dnn"])

    def test_batchai_streams_a_growing_blob_every_byte_once_in_order(self):
        # batchai (its own client, with an access token of the identity endpoint) finds the file
        # with listOutputFiles and reads the blob service's link, without the control plane's
        # token, until the job has ended.
        segment = self.blob_job("growing")
        blob = "runs/%s/stdouterr/stderr.txt" % segment
        token = self.path("user-token")
        fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.credential.get_token(self.base + "/.default").token + "\n")
        part1, part2 = b"Finished Epoch[1 of 2]\n", b"Finished Epoch[2 of 2]\n"
        self.blobs.put_blob(CONTAINER, blob, part1)
        cli = subprocess.Popen(
            [CLI, "--server", self.base, "--cacert", self.ca, "--token-file", token,
             "-g", GROUP, "-w", WORKSPACE, "-e", EXPERIMENT, "job", "file", "stream",
             "-j", "growing", "-f", "stderr.txt", "--interval", "0.05"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: cli.poll() is None and cli.kill())
        out = bytearray()

        def read_all():
            for chunk in iter(lambda: cli.stdout.read1(4096), b""):
                out.extend(chunk)
        reader = threading.Thread(target=read_all, daemon=True)
        reader.start()
        wait_for(lambda: bytes(out) == part1, "the first epoch on batchai's stdout")
        # The node's blob driver rewrites the blob as the log grows.
        self.blobs.put_blob(CONTAINER, blob, part1 + part2)
        wait_for(lambda: bytes(out) == part1 + part2, "the second epoch on batchai's stdout")
        self.client.jobs.begin_terminate(GROUP, WORKSPACE, EXPERIMENT, "growing").result()
        self.assertEqual(cli.wait(timeout=60), 0, cli.stderr.read())
        reader.join(timeout=60)
        self.assertEqual(bytes(out), part1 + part2)

    def test_many_blobs_are_listed_over_pages(self):
        segment = self.blob_job("paged")
        logs = "runs/%s/stdouterr/" % segment
        names = ["f%04d.txt" % i for i in range(5003)]
        for n in names[:3] + names[-3:]:
            self.blobs.put_blob(CONTAINER, logs + n, n.encode())
        # Azurite answers at most 5000 a page: the rest comes after NextMarker.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: self.blobs.put_blob(CONTAINER, logs + n, b""), names[3:-3]))
        listed = self.files("paged", "stdouterr")
        self.assertEqual(sorted(listed), names)
        self.assertEqual(self.fetch(listed[names[-1]].download_url), (200, names[-1].encode()))

    def test_traversal_and_accounts_not_held_are_refused(self):
        self.blob_job("j")
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        for below in ("..", "sub/../..", "a\\b"):
            with self.assertRaises(HttpResponseError) as e:
                self.files("j", "stdouterr", below)
            self.assertEqual(e.exception.status_code, 400, below)
        self.blob_job("notheld", account="notheld")
        with self.assertRaises(ResourceNotFoundError) as e:
            self.files("notheld", "stdouterr")
        self.assertIn("--storage-accounts", e.exception.error.message)
