"""Smoke test of the VM harness: the real kernel cifs and NFS clients, and the agent binary, in a
Debian 12 guest under qemu (TCG). See tests/vm/README.md.

Run as root from the repository root:

    python3 -m unittest -v tests.vm.test_vm_smoke

(BATCHAI_AGENT=path/to/batchai-agent to test another binary; BATCHAI_VM_CACHE=DIR to keep the
guest image elsewhere than /var/cache/batchai-tests/vm.) The first run builds the image (a few
minutes, Debian's mirror needed); later runs only boot it.

One VM boot serves all the checks (a boot costs ~20 s of emulated time): setUpClass starts smbd on
the host's loopback, runs one guest script with a section per check, each section leaving its log
and exit status in /host/out, and the tests then look at what each section did, in the guest and
on the host.
"""

import os
import shutil
import sys
import tempfile
import unittest

from tests.mounts.servers import Samba
from tests.vm import vm

SMB_USER = "batchaitest"  # any name: the Samba fixture maps it to root (tests/mounts/servers.py)
SMB_PASSWORD = "vm-smoke-Pw-1"
SHARE = "share"
FROM_HOST = "written on the host before the VM booted\n"
FROM_CIFS = "written by the guest through the kernel cifs client\n"
FROM_NFS = "written by the guest through the kernel NFS client\n"
VM_TIMEOUT = 600   # only a guard against a hung guest: the whole run takes well under a minute

# Each section is its own script, run with bash -euxo pipefail so that its first failing command
# ends it, and its trace says which one that was.
CIFS_SH = r"""
modprobe cifs
mkdir -p /mnt/smb
mount -t cifs //{host}/{share} /mnt/smb -o port={port},vers=3.0,credentials=/host/cred,serverino
grep ' /mnt/smb cifs ' /proc/mounts
cat /mnt/smb/from-host.txt > /host/out/cifs-read.txt
printf '%s' "$FROM_CIFS" > /mnt/smb/from-vm-cifs.txt
umount /mnt/smb
"""

# The guest exports /srv/nfs from its own kernel NFS server and mounts it with its kernel client.
NFS_SH = vm.nfs_export_script("/srv/nfs") + r"""
exportfs -v
mkdir -p /mnt/nfs
mount -t nfs 127.0.0.1:/srv/nfs /mnt/nfs
grep ' /mnt/nfs nfs' /proc/mounts | tee /host/out/nfs-mount.txt
printf '%s' "$FROM_NFS" > /mnt/nfs/from-vm-nfs.txt
umount /mnt/nfs
cp /srv/nfs/from-vm-nfs.txt /host/out/nfs-server-side.txt
"""

AGENT_SH = r"""
# (`! cmd` would not trip set -e: bash exempts negated commands.)
if ldd /host/batchai-agent | grep 'not found'; then exit 1; fi
/host/batchai-agent --help
"""

RUN_SH = r"""
export FROM_CIFS FROM_NFS
uname -r
for s in cifs nfs agent; do
  rc=0
  bash -euxo pipefail "/host/$s.sh" > "/host/out/$s.log" 2>&1 || rc=$?
  echo "$rc" > "/host/out/$s.rc"
  echo "section $s: exit status $rc"
done
"""


class VMSmokeTest(unittest.TestCase):
    result = None

    @classmethod
    def setUpClass(cls):
        reason = vm.unavailable_reason()
        if reason:
            raise unittest.SkipTest(reason)
        if not Samba.available():
            raise unittest.SkipTest("no smbd/smbpasswd (scripts/install-test-servers.sh)")
        if not os.access(vm.AGENT, os.X_OK):
            raise unittest.SkipTest("no agent binary at %s (build first)" % vm.AGENT)
        vm.ensure_image()

        cls.tmp = tempfile.mkdtemp(prefix="batchai-vm-smoke.")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.share_dir = os.path.join(cls.tmp, "share")
        os.makedirs(cls.share_dir)
        with open(os.path.join(cls.share_dir, "from-host.txt"), "w") as f:
            f.write(FROM_HOST)
        cls.smb = Samba().start(cls.tmp, SMB_USER, SMB_PASSWORD, {SHARE: cls.share_dir})
        cls.addClassCleanup(cls.smb.stop)

        files = {
            "cred": ("username=%s\npassword=%s\n" % (SMB_USER, SMB_PASSWORD)).encode(),
            "cifs.sh": CIFS_SH.format(host=vm.HOST_FROM_GUEST, share=SHARE,
                                      port=cls.smb.port).encode(),
            "nfs.sh": NFS_SH.encode(),
            "agent.sh": AGENT_SH.encode(),
            "batchai-agent": vm.AGENT,
        }
        script = "FROM_CIFS=%s\nFROM_NFS=%s\n%s" % (
            _shell_quote(FROM_CIFS), _shell_quote(FROM_NFS), RUN_SH)
        cls.result = vm.run_vm(script, files, timeout=VM_TIMEOUT, keep=True)
        cls.addClassCleanup(shutil.rmtree, cls.result.hostdir, ignore_errors=True)
        sys.stderr.write("\nVM run: %.1f s in all, run.sh started %.1f s after the guest kernel "
                         "(guest uptime); smbd on 127.0.0.1:%d\n"
                         % (cls.result.seconds, cls.result.boot_seconds or -1, cls.smb.port))

    def out(self, name):
        path = os.path.join(self.result.out_dir, name)
        try:
            with open(path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            self.fail("the guest wrote no /host/out/%s; run.sh said:\n%s\nserial console "
                      "(end):\n%s" % (name, self.result.console, self.result.serial[-4000:]))

    def assertSection(self, name):
        rc = self.out(name + ".rc").strip()
        self.assertEqual(rc, "0", "section %s failed (%s):\n%s" % (name, rc,
                                                                 self.out(name + ".log")))

    def test_vm_ran_the_script(self):
        self.assertEqual(self.result.rc, 0, self.result.console + self.result.serial[-4000:])

    def test_kernel_cifs_mount_reaches_host_smbd(self):
        self.assertSection("cifs")
        self.assertEqual(self.out("cifs-read.txt"), FROM_HOST)
        with open(os.path.join(self.share_dir, "from-vm-cifs.txt")) as f:
            self.assertEqual(f.read(), FROM_CIFS)

    def test_kernel_nfs_client_and_server_in_guest(self):
        self.assertSection("nfs")
        self.assertRegex(self.out("nfs-mount.txt"), r"127\.0\.0\.1:/srv/nfs /mnt/nfs nfs4? ")
        self.assertEqual(self.out("nfs-server-side.txt"), FROM_NFS)

    def test_agent_binary_runs_in_guest(self):
        self.assertSection("agent")
        self.assertIn("run-job", self.out("agent.log"))


def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


if __name__ == "__main__":
    unittest.main()
