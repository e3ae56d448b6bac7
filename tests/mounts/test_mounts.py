"""Job-level volumes through `batchai-agent run-job` against real servers on loopback.

Azurite (Microsoft's blob storage emulator) serves the blob containers, smbd the file shares.
The kernels here have no cifs, so the agent mounts shares with rclone's smb backend through FUSE
(storage setting smbDriver "auto"); the kernel cifs path runs in a VM (tests/vm). Both servers
use the same account and key, as one Azure storage account would.

Run as root from the repository root, after scripts/install-test-servers.sh:

    BATCHAI_AGENT=build/bin/batchai-agent python3 -m unittest -v tests.mounts.test_mounts

Every test checks that the mount table is as it was before and that no credentials file is left.
"""

import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.mounts.servers import Azurite, Samba
from tests.support.common import AGENT, SAFETY_TIMEOUT, free_port, mounts_below, read_text

ACCOUNT = "devstoreaccount1"
KEY = Azurite.key
# A key of the right form (base64) that is not the account's: refused by the server, not the parser.
WRONG_KEY = "d3Jvbmcga2V5IGZvciB0aGUgdGVzdHMgb25seSwgbm90IGEgc2VjcmV0IGF0IGFsbA=="
HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared", "seeds")
DIGITS = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
SCHEMA = "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/job.json"


def seeds_job_document():
    """The quickstart's job.json, as the seeds give it (the first in any of their languages)."""
    for path in sorted(glob.glob(os.path.join(SEEDS, "*.txt"))):
        text = read_text(path)
        for block in re.findall(r"```json\n(.*?)```", text, re.S):
            if '"cntkSettings"' in block and '"$schema"' in block:
                return json.loads(block)
    raise AssertionError("no job.json in the seeds under %s" % SEEDS)


def seeds_job_properties():
    """The seeds' job properties with the test account filled in, as the user edits it
    (<YOUR_STORAGE_ACCOUNT>) and as `az batchai job create` completed it (account, key)."""
    doc = seeds_job_document()
    props = json.loads(json.dumps(doc["properties"]).replace("<YOUR_STORAGE_ACCOUNT>", ACCOUNT))
    for kind in ("azureFileShares", "azureBlobFileSystems"):
        for v in props["mountVolumes"][kind]:
            v.setdefault("accountName", ACCOUNT)
            v.setdefault("credentials", {"accountKey": KEY})
    return props


def cntk_text(features, labels):
    """CNTK's text format, as the quickstart's mnist_cntk files are."""
    lines = []
    for x, y in zip(features, labels):
        onehot = ["1" if i == y else "0" for i in range(10)]
        lines.append("|labels %s |features %s\n" % (" ".join(onehot), " ".join(str(int(v)) for v in x)))
    return "".join(lines).encode()


def digits_rows():
    """The 8x8 digits of Debian's python3-sklearn, standing in for MNIST: (pixels, labels)."""
    with gzip.open(DIGITS, "rt") as f:
        rows = [[float(v) for v in line.split(",")] for line in f if line.strip()]
    return [r[:-1] for r in rows], [int(r[-1]) for r in rows]


class MountTestCase(unittest.TestCase):
    """Azurite and smbd for the whole class; a scratch node root per test."""

    @classmethod
    def setUpClass(cls):
        if not os.access(AGENT, os.X_OK):
            raise unittest.SkipTest("no agent binary at %s (set BATCHAI_AGENT)" % AGENT)
        if os.geteuid() != 0:
            raise unittest.SkipTest("mount tests need root")
        cls.server_dir = tempfile.mkdtemp(prefix="batchai-servers-")
        cls.azurite = Azurite().start(cls.server_dir)
        cls.blob = cls.azurite.client()
        cls.shares = {name: os.path.join(cls.server_dir, "shares", name)
                      for name in ("logs", "scripts", "data")}
        cls.samba = Samba().start(cls.server_dir, ACCOUNT, KEY, cls.shares)

    @classmethod
    def tearDownClass(cls):
        cls.samba.stop()
        cls.azurite.stop()
        shutil.rmtree(cls.server_dir, ignore_errors=True)

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-mounts-"))
        self.root = os.path.join(self.tmp, "root")
        self.runtime = os.path.join(self.tmp, "run")
        self.addCleanup(self._clean_up)

    def _clean_up(self):
        left = mounts_below(self.tmp)
        for mp in reversed(left):
            subprocess.run(["umount", "-l", mp], check=False)
        self.assertEqual(left, [], "mounts stayed after the job")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def storage(self, **overrides):
        settings = {"azureFileHost": "127.0.0.1", "smbPort": self.samba.port,
                    "azureBlobEndpoint": "http://127.0.0.1:%d/{account}" % self.azurite.port,
                    "runtimeDirectory": self.runtime, "mountAttempts": 1,
                    "mountTimeoutSeconds": 60}
        settings.update(overrides)
        path = os.path.join(self.tmp, "storage.json")
        with open(path, "w") as f:
            json.dump(settings, f)
        return path

    def run_job(self, properties, name="mounts", storage=None, env=(), wait=True):
        doc = {"$schema": SCHEMA, "properties": properties}
        job_file = os.path.join(self.tmp, name + ".json")
        with open(job_file, "w") as f:
            json.dump(doc, f)
        argv = [AGENT, "run-job", "--root", self.root, "--state-dir",
                os.path.join(self.tmp, "state"), "--storage-config", storage or self.storage(),
                "--name", name]
        for e in env:
            argv += ["-e", e]
        proc = subprocess.Popen(argv + [job_file], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if not wait:
            return proc
        out, err = proc.communicate(timeout=SAFETY_TIMEOUT * 4)
        return proc.returncode, out + err

    def share_volume(self, share, path, key=KEY, url_host="%s.file.core.windows.net" % ACCOUNT):
        return {"accountName": ACCOUNT, "azureFileUrl": "https://%s/%s" % (url_host, share),
                "credentials": {"accountKey": key}, "relativeMountPath": path}

    def blob_volume(self, container, path, key=KEY, options=None):
        v = {"accountName": ACCOUNT, "containerName": container,
             "credentials": {"accountKey": key}, "relativeMountPath": path}
        if options:
            v["mountOptions"] = options
        return v

    def check_mount_failure(self, kind, code, volume, storage, expect):
        """A job with one volume that cannot be mounted: exit 125 with the volume's code and
        path, the expected words, no key anywhere, the job not run, nothing left."""
        rc, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine": "echo must not run"},
            "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
            "mountVolumes": {kind: [volume]},
        }, storage=storage)
        self.assertEqual(rc, 125, out)
        self.assertIn(code, out)
        self.assertIn(kind + "[0]", out)
        for text in expect:
            self.assertIn(text, out)
        self.assertNotIn(KEY, out)
        self.assertFalse(glob.glob(os.path.join(self.root, "logs", "**", "stdout.txt"),
                                   recursive=True), "the job ran")
        self.assert_no_credentials_left()

    def assert_no_credentials_left(self):
        left = glob.glob(os.path.join(self.runtime, "mounts", "*"))
        self.assertEqual(left, [], "credentials files stayed after the job")

    def assert_key_not_in(self, directory):
        for dirpath, _, files in os.walk(directory):
            for name in files:
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    self.assertNotIn(KEY.encode(), f.read(), "the account key is in " + path)


class BlobTest(MountTestCase):
    def test_job_reads_an_uploaded_blob_and_writes_one_that_appears_in_the_container(self):
        self.blob.create_container("rwdata")
        self.blob.put_blob("rwdata", "input/hello.txt", b"hello from the container\n")
        code, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine":
                "cat $AZ_BATCHAI_JOB_MOUNT_ROOT/data/input/hello.txt && "
                "mkdir $AZ_BATCHAI_JOB_MOUNT_ROOT/data/output && "
                "echo written by the job > $AZ_BATCHAI_JOB_MOUNT_ROOT/data/output/result.txt && "
                "stat -c '%a %U' " + self.runtime + "/mounts/*/rclone.conf && "
                "ps -eo args"},
            "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
            "mountVolumes": {"azureBlobFileSystems": [self.blob_volume("rwdata", "data")]},
        })
        self.assertEqual(code, 0, out)
        stdout = read_text(glob.glob(os.path.join(self.root, "logs", "**", "stdout.txt"),
                                     recursive=True)[0])
        self.assertIn("hello from the container", stdout)
        self.assertIn("600 root", stdout)  # the config holding the key: root's only
        # Every process's argv while the container was mounted (rclone's included): no secret.
        self.assertIn("rclone", stdout)
        self.assertNotIn(KEY, stdout)
        self.assertNotIn("sig=", stdout)
        self.assertEqual(self.blob.get_blob("rwdata", "output/result.txt"), b"written by the job\n")
        log = read_text(glob.glob(os.path.join(self.root, "logs", "**", "execution.log"),
                                  recursive=True)[0])
        self.assertIn("rclone azureblob", log)
        self.assertNotIn(KEY, log)
        # The driver finished its uploads before the unmount was done: its cache is gone.
        self.assertEqual(glob.glob(os.path.join(self.root, "cache", "mounts", "*")), [])
        self.assert_key_not_in(self.root)
        self.assert_key_not_in(os.path.join(self.tmp, "state"))
        self.assert_no_credentials_left()

    def test_mount_options_are_honoured(self):
        self.blob.create_container("readonly")
        self.blob.put_blob("readonly", "a.txt", b"a\n")
        code, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine":
                "cat $AZ_BATCHAI_JOB_MOUNT_ROOT/data/a.txt; "
                "if echo x > $AZ_BATCHAI_JOB_MOUNT_ROOT/data/b.txt; then echo WROTE; fi"},
            "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
            "mountVolumes": {"azureBlobFileSystems": [
                self.blob_volume("readonly", "data", options="-o ro -o attr_timeout=240")]},
        })
        self.assertEqual(code, 0, out)
        stdout = read_text(glob.glob(os.path.join(self.root, "logs", "**", "stdout.txt"),
                                     recursive=True)[0])
        self.assertIn("a", stdout)
        self.assertNotIn("WROTE", stdout)
        self.assertEqual(self.blob.list_blobs("readonly"), ["a.txt"])

    def check_blob_failure(self, volume, storage=None, expect=()):
        self.check_mount_failure("azureBlobFileSystems", "BFSMountError", volume, storage, expect)

    def test_wrong_key_is_a_clear_error(self):
        wrong = "d3Jvbmcga2V5IGZvciB0aGUgdGVzdHMgb25seSwgbm90IGEgc2VjcmV0IGF0IGFsbA=="
        self.blob.create_container("wrongkey")
        self.check_blob_failure(self.blob_volume("wrongkey", "data", key=wrong),
                                expect=["403"])

    def test_missing_container_is_a_clear_error(self):
        self.check_blob_failure(self.blob_volume("nosuchcontainer", "data"),
                                expect=["nosuchcontainer"])

    def test_unreachable_server_is_a_clear_error(self):
        storage = self.storage(azureBlobEndpoint="http://127.0.0.1:%d/{account}" % free_port(),
                               mountTimeoutSeconds=30)
        self.check_blob_failure(self.blob_volume("rwdata", "data"), storage=storage,
                                expect=["cannot reach"])


class AzureFilesTest(MountTestCase):
    def test_logs_and_outputs_on_the_share(self):
        code, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine":
                "echo to stdout; echo to stderr >&2; echo model > $AZ_BATCHAI_OUTPUT_MODEL/m.txt; "
                "stat -c '%a %U' " + self.runtime + "/mounts/*/rclone.conf"},
            "stdOutErrPathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs",
            "outputDirectories": [{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_JOB_MOUNT_ROOT/logs"}],
            "mountVolumes": {"azureFileShares": [self.share_volume("logs", "logs")]},
        }, name="share")
        self.assertEqual(code, 0, out)
        logs = self.shares["logs"]
        stdout = read_text(glob.glob(os.path.join(logs, "**", "share", "*", "stdouterr",
                                                  "stdout.txt"), recursive=True)[0])
        self.assertIn("to stdout", stdout)
        self.assertIn("600 root", stdout)
        model = glob.glob(os.path.join(logs, "**", "share", "*", "outputs", "m.txt"),
                          recursive=True)
        self.assertEqual(len(model), 1, "the output is not on the share")
        log = read_text(glob.glob(os.path.join(logs, "**", "share", "*", "stdouterr",
                                               "execution.log"), recursive=True)[0])
        self.assertIn("mounted logs at", log)
        # rclone's default encoding would leave a stray "\uff0e" directory at the share's root.
        self.assertEqual([n for n in os.listdir(logs) if "\uff0e" in n], [])
        self.assertNotIn(KEY, log)
        self.assert_key_not_in(self.root)
        self.assert_key_not_in(os.path.join(self.tmp, "state"))
        self.assert_no_credentials_left()

    def check_share_failure(self, volume, storage=None, expect=()):
        self.check_mount_failure("azureFileShares", "AZFMountError", volume, storage, expect)

    def test_wrong_key_is_a_clear_error(self):
        self.check_share_failure(self.share_volume("logs", "logs", key=WRONG_KEY))

    def test_missing_share_is_a_clear_error(self):
        self.check_share_failure(self.share_volume("nosuchshare", "logs"))

    def test_unreachable_server_is_a_clear_error(self):
        self.check_share_failure(self.share_volume("logs", "logs"),
                                 storage=self.storage(smbPort=free_port(), mountTimeoutSeconds=30),
                                 expect=["connection refused"])

    def test_cifs_driver_without_kernel_cifs_is_a_clear_error(self):
        # These kernels have no cifs: asking for it fails with mount.cifs's own words.
        code, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine": "echo must not run"},
            "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
            "mountVolumes": {"azureFileShares": [self.share_volume("logs", "logs")]},
        }, storage=self.storage(smbDriver="cifs"))
        self.assertEqual(code, 125, out)
        self.assertIn("AZFMountError", out)
        self.assertNotIn(KEY, out)
        self.assert_no_credentials_left()


class VolumeRulesTest(MountTestCase):
    def test_mount_path_escaping_its_root_is_refused_before_anything_happens(self):
        for path in ("../escape", "/abs", "a/../../b"):
            code, out = self.run_job({
                "nodeCount": 1,
                "customToolkitSettings": {"commandLine": "echo must not run"},
                "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
                "mountVolumes": {"azureFileShares": [self.share_volume("logs", path)]},
            })
            self.assertEqual(code, 2, out)
            self.assertIn("relativeMountPath", out)
            self.assertFalse(os.path.exists(self.root), "something was created for a bad job")

    def test_unmanaged_tmpfs_and_a_failing_second_volume_leave_nothing_mounted(self):
        code, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine": "echo must not run"},
            "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
            "mountVolumes": {
                "azureFileShares": [self.share_volume("logs", "logs")],
                "azureBlobFileSystems": [self.blob_volume("nosuchcontainer", "data")],
                "unmanagedFileSystems": [{"mountCommand": "mount -t tmpfs -o size=1m tmpfs",
                                          "relativeMountPath": "tmp"}]},
        })
        self.assertEqual(code, 125, out)
        self.assertIn("BFSMountError", out)
        self.assert_no_credentials_left()

    def test_unmanaged_tmpfs_mount(self):
        code, out = self.run_job({
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine":
                "stat -f -c %T $AZ_BATCHAI_JOB_MOUNT_ROOT/scratch"},
            "stdOutErrPathPrefix": os.path.join(self.root, "logs"),
            "mountVolumes": {"unmanagedFileSystems": [
                {"mountCommand": "mount -t tmpfs -o size=1m tmpfs", "relativeMountPath": "scratch"}]},
        })
        self.assertEqual(code, 0, out)
        stdout = read_text(glob.glob(os.path.join(self.root, "logs", "**", "stdout.txt"),
                                     recursive=True)[0])
        self.assertEqual(stdout.strip(), "tmpfs")


class SeedsJobTest(MountTestCase):
    """The quickstart's own job.json: script and logs on file shares, data in a blob container."""

    def test_the_seeds_job_runs_end_to_end(self):
        props = seeds_job_properties()
        # The quickstart's uploads: the script to the scripts share, the data to the container.
        script_dir = os.path.join(self.shares["scripts"], "cntk")
        os.makedirs(script_dir, exist_ok=True)
        shutil.copy(os.path.join(HERE, "seeds", "ConvNet_MNIST.py"), script_dir)
        self.blob.create_container("data")
        pixels, labels = digits_rows()
        self.blob.put_blob("data", "mnist_cntk/Train-28x28_cntk_text.txt",
                           cntk_text(pixels[:1400], labels[:1400]))
        self.blob.put_blob("data", "mnist_cntk/Test-28x28_cntk_text.txt",
                           cntk_text(pixels[1400:], labels[1400:]))
        code, out = self.run_job(props, name="cntk_python_1")
        self.assertEqual(code, 0, out)
        # rclone's smb backend uploads a file when it is closed: on this FUSE stand-in for kernel
        # cifs stderr.txt reaches the share at the end (tests/vm watches it grow through cifs).
        stderr_path = glob.glob(os.path.join(self.shares["logs"], "**", "cntk_python_1", "*",
                                             "stdouterr", "stderr.txt"), recursive=True)[0]
        text = read_text(stderr_path)
        self.assertIn("Finished Epoch[5 of 5]", text)
        self.assertIn("Final Results", text)
        models = sorted(os.path.basename(p) for p in glob.glob(
            os.path.join(self.shares["logs"], "**", "cntk_python_1", "*", "outputs", "*.dnn"),
            recursive=True))
        self.assertEqual(models, ["ConvNet_MNIST_%d.dnn" % i for i in range(1, 6)])
        self.assert_no_credentials_left()


if __name__ == "__main__":
    unittest.main()
