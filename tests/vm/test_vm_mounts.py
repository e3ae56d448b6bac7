"""The agent's kernel cifs and NFS paths, in a Debian VM (these machines' kernels have neither).

One boot runs `batchai-agent run-job` three times in the guest against servers on the host,
reached from the guest as 10.0.2.2: the quickstart's own job.json with its logs and script on
smbd shares through the kernel's cifs and its data in an Azurite container (rclone), a job on a
fileServers (NFS) volume exported by the guest's own kernel server, and a wrong key. While the
quickstart job runs, this test watches stderr.txt grow in the host's share directory.

    BATCHAI_AGENT=build/bin/batchai-agent python3 -m unittest -v tests.vm.test_vm_mounts
"""

import glob
import json
import os
import shutil
import tempfile
import threading
import unittest

from tests.e2e.test_run_job import read_text, wait_for
from tests.mounts.servers import Azurite, Samba
from tests.mounts.test_mounts import ACCOUNT, KEY, cntk_text, digits_rows, seeds_job_properties
from tests.vm import vm

HERE = os.path.dirname(os.path.abspath(__file__))
SEED_SCRIPT = os.path.join(os.path.dirname(HERE), "mounts", "seeds", "ConvNet_MNIST.py")
VM_TIMEOUT = 600

GUEST_SCRIPT = r"""
ln -sf /usr/bin/rclone /sbin/mount.rclone
A="/host/batchai-agent run-job --root /node --state-dir /state --storage-config /host/storage.json"
# What the agent could leave: network and FUSE mounts, and anything below the node's root.
count_mounts() { grep -cE ' - (cifs|smb3|nfs|nfs4|fuse\.rclone) | /node' /proc/self/mountinfo || true; }
before=$(count_mounts)
echo "== seeds"
set +e
$A --name cntk_python_1 -e 'BATCHAI_TEST_GATE=$AZ_BATCHAI_JOB_MOUNT_ROOT/logs/go' /host/seeds.json
echo "seeds rc=$?"
echo "== wrong key"
$A --name wrongkey /host/wrongkey.json
echo "wrongkey rc=$?"
set -e
echo "== nfs"
""" + vm.nfs_export_script("/srv/nfs") + r"""
set +e
$A --name nfsjob /host/nfs.json
echo "nfs rc=$?"
set -e
echo "nfs file: $(cat /srv/nfs/exports/from-job.txt)"
after=$(count_mounts)
echo "mounts before=$before after=$after"
find /run/batchai-agent/mounts -mindepth 1 | sed 's/^/left: /' || true
grep -rl -F "$(cat /host/key)" /node /state /run/batchai-agent 2>/dev/null | sed 's/^/key in: /' || true
"""


class KernelMountsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = vm.unavailable_reason()
        if why:
            raise unittest.SkipTest(why)
        vm.ensure_image()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="batchai-vm-mounts-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.azurite = Azurite().start(self.tmp)
        self.addCleanup(self.azurite.stop)
        self.shares = {n: os.path.join(self.tmp, "shares", n) for n in ("logs", "scripts")}
        self.samba = Samba().start(self.tmp, ACCOUNT, KEY, self.shares)
        self.addCleanup(self.samba.stop)

    def documents(self):
        props = seeds_job_properties()
        wrong = json.loads(json.dumps(props))
        wrong["mountVolumes"]["azureFileShares"][1]["credentials"]["accountKey"] = ("d3Jvbmcga2V5IGZvciB0aGUgdGVzdHMgb25seSwgbm90IGEgc2VjcmV0IGF0IGFsbA==")
        nfs = {"properties": {
            "nodeCount": 1,
            "customToolkitSettings": {"commandLine":
                "mkdir -p $AZ_BATCHAI_JOB_MOUNT_ROOT/nfs/exports && "
                "echo written over nfs > $AZ_BATCHAI_JOB_MOUNT_ROOT/nfs/exports/from-job.txt && "
                "stat -f -c %T $AZ_BATCHAI_JOB_MOUNT_ROOT/nfs"},
            "stdOutErrPathPrefix": "/node/logs",  # below the root, where a job may write
            "mountVolumes": {"fileServers": [{
                "fileServer": {"id": "/subscriptions/x/resourceGroups/y/providers/"
                                     "Microsoft.BatchAI/fileServers/nfs1",
                               "mountSettings": {"fileServerInternalIP": "127.0.0.1",
                                                 "mountPoint": "/srv/nfs"}},
                "relativeMountPath": "nfs", "mountOptions": "rw,vers=4.2"}]}}}
        storage = {"azureFileHost": vm.HOST_FROM_GUEST, "smbPort": self.samba.port,
                   "smbDriver": "cifs",
                   "azureBlobEndpoint": "http://%s:%d/{account}" % (vm.HOST_FROM_GUEST,
                                                                    self.azurite.port),
                   "mountAttempts": 1, "mountTimeoutSeconds": 60}
        return {"seeds.json": json.dumps({"properties": props}).encode(),
                "wrongkey.json": json.dumps({"properties": wrong}).encode(),
                "nfs.json": json.dumps(nfs).encode(),
                "storage.json": json.dumps(storage).encode(),
                "key": KEY.encode(), "batchai-agent": vm.AGENT}

    def test_seeds_job_on_kernel_cifs_nfs_and_a_wrong_key(self):
        os.makedirs(os.path.join(self.shares["scripts"], "cntk"))
        shutil.copy(SEED_SCRIPT, os.path.join(self.shares["scripts"], "cntk"))
        blob = self.azurite.client()
        blob.create_container("data")
        pixels, labels = digits_rows()
        blob.put_blob("data", "mnist_cntk/Train-28x28_cntk_text.txt",
                      cntk_text(pixels[:1400], labels[:1400]))
        blob.put_blob("data", "mnist_cntk/Test-28x28_cntk_text.txt",
                      cntk_text(pixels[1400:], labels[1400:]))

        result = {}
        runner = threading.Thread(target=lambda: result.update(
            r=vm.run_vm(GUEST_SCRIPT, self.documents(), timeout=VM_TIMEOUT)))
        runner.start()
        # stderr.txt on the share grows while the job runs: the first epoch arrives through the
        # guest's kernel cifs while the job waits for the go file this test then creates.
        def first_epoch():
            if not runner.is_alive():  # the guest ended without it: say why, now
                r = result.get("r")
                raise AssertionError("the VM ended before the first epoch:\n"
                                     + (r.console[-6000:] if r else "(no result)"))
            found = glob.glob(os.path.join(self.shares["logs"], "**", "cntk_python_1", "*",
                                           "stdouterr", "stderr.txt"), recursive=True)
            return found and "Finished Epoch[1 of 5]" in read_text(found[0]) and found[0]
        try:
            stderr_path = wait_for(first_epoch, "the first epoch on the share",
                                   timeout=VM_TIMEOUT)
            self.assertNotIn("Finished Epoch[2", read_text(stderr_path))
        finally:
            open(os.path.join(self.shares["logs"], "go"), "w").close()
            runner.join()
        r = result["r"]
        console = r.console
        self.assertEqual(r.rc, 0, console)
        self.assertIn("seeds rc=0", console)
        text = read_text(stderr_path)
        self.assertIn("Finished Epoch[5 of 5]", text)
        models = sorted(os.path.basename(p) for p in glob.glob(
            os.path.join(self.shares["logs"], "**", "cntk_python_1", "*", "outputs", "*.dnn"),
            recursive=True))
        self.assertEqual(models, ["ConvNet_MNIST_%d.dnn" % i for i in range(1, 6)])
        log = read_text(glob.glob(os.path.join(self.shares["logs"], "**", "cntk_python_1", "*",
                                               "stdouterr", "execution.log"), recursive=True)[0])
        self.assertIn("(cifs, port %d)" % self.samba.port, log)
        # The wrong key: mount.cifs's own words, nothing mounted, nothing run.
        self.assertIn("wrongkey rc=125", console)
        self.assertRegex(console, r"AZFMountError: .*azureFileShares\[1\].*error\(13\)")
        # NFS through the kernel client, from the address and export the control plane resolves.
        self.assertIn("nfs rc=0", console)
        self.assertIn("nfs file: written over nfs", console)
        # Nothing left: mounts as before, no credentials files, the key in no file.
        before, after = [int(x) for x in
                         __import__("re").search(r"mounts before=(\d+) after=(\d+)", console)
                         .groups()]
        self.assertEqual(before, after, console)
        self.assertNotIn("left: ", console)
        self.assertNotIn("key in: ", console)
        self.assertNotIn(KEY, console)


if __name__ == "__main__":
    unittest.main()
