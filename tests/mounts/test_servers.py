"""Checks of the test servers themselves (tests/mounts/servers.py): Azurite with the SharedKey blob
client and SAS, smbd with smbclient and rclone's smb backend, and rclone_obscure.

Run as root from the repository root, after scripts/install-test-servers.sh:

    python3 -m unittest -v tests.mounts.test_servers

Needs no agent binary. Each test skips when the server it needs is not installed.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.mounts.servers import Azurite, BlobClient, BlobError, Samba, group_running, rclone_obscure
from tests.support.common import free_port, port_accepts, wait_port

USER = "teststorage"
PASSWORD = "fixture-Pw-1"


class TempDirTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-servers-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)


class PortTest(unittest.TestCase):
    def test_wait_port_fails_fast_when_the_process_exits(self):
        proc = subprocess.Popen(["true"])
        with self.assertRaisesRegex(RuntimeError, "exited"):
            wait_port(free_port(), timeout=30, proc=proc)

    def test_wait_port_times_out(self):
        with self.assertRaisesRegex(RuntimeError, "nothing listens"):
            wait_port(free_port(), timeout=0.2)


class AzuriteTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        if not Azurite.available():
            self.skipTest("Azurite is not installed (scripts/install-test-servers.sh)")
        self.azurite = Azurite().start(self.tmp)
        self.addCleanup(self.azurite.stop)
        self.blob = self.azurite.client()

    def test_blob_round_trip(self):
        self.assertEqual(self.azurite.endpoint,
                         "http://127.0.0.1:%d/devstoreaccount1" % self.azurite.port)
        self.assertFalse(self.blob.container_exists("data"))
        self.blob.create_container("data")
        self.assertTrue(self.blob.container_exists("data"))
        payload = bytes(range(256)) * 10
        self.blob.put_blob("data", "a.txt", b"hello\n")
        self.blob.put_blob("data", "dir/b c+d%.bin", payload)
        self.assertEqual(self.blob.get_blob("data", "a.txt"), b"hello\n")
        self.assertEqual(self.blob.get_blob("data", "dir/b c+d%.bin"), payload)
        self.assertEqual(sorted(self.blob.list_blobs("data")), ["a.txt", "dir/b c+d%.bin"])
        self.assertEqual(self.blob.list_blobs("data", prefix="dir/"), ["dir/b c+d%.bin"])
        self.blob.delete_blob("data", "a.txt")
        self.assertFalse(self.blob.blob_exists("data", "a.txt"))
        self.blob.delete_container("data")
        self.assertFalse(self.blob.container_exists("data"))

    def test_listing_follows_pages(self):
        self.blob.create_container("paged")
        names = ["n%02d" % i for i in range(7)]
        for n in names:
            self.blob.put_blob("paged", n, b"x")
        self.assertEqual(self.blob.list_blobs("paged", page_size=3), names)

    def test_wrong_key_is_refused(self):
        bad = BlobClient(self.azurite.endpoint, key="AAAA" + Azurite.key[4:])
        with self.assertRaises(BlobError) as cm:
            bad.create_container("nope")
        self.assertEqual(cm.exception.status, 403)

    def test_missing_blob_is_404(self):
        with self.assertRaises(BlobError) as cm:
            self.blob.get_blob("nosuchcontainer", "x")
        self.assertEqual(cm.exception.status, 404)

    def test_sas_tokens_are_accepted(self):
        self.blob.create_container("sas")
        self.blob.put_blob("sas", "f", b"via sas")
        for sas in (self.blob.account_sas(), self.blob.container_sas("sas")):
            client = BlobClient(self.azurite.endpoint, key=None, sas=sas)
            self.assertEqual(client.get_blob("sas", "f"), b"via sas")
            self.assertEqual(client.list_blobs("sas"), ["f"])
        other = BlobClient(self.azurite.endpoint, key="AAAA" + Azurite.key[4:])
        for sas in (other.account_sas(), other.container_sas("sas")):
            with self.assertRaises(BlobError) as cm:
                BlobClient(self.azurite.endpoint, key=None, sas=sas).get_blob("sas", "f")
            self.assertEqual(cm.exception.status, 403)

    def test_stop_ends_the_process(self):
        pid, port = self.azurite.pid, self.azurite.port
        self.azurite.stop()
        self.assertFalse(os.path.exists("/proc/%d" % pid))
        self.assertFalse(port_accepts(port))


class SambaTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        if not Samba.available() or not shutil.which("smbclient"):
            self.skipTest("samba/smbclient are not installed (scripts/install-test-servers.sh)")
        self.share = os.path.join(self.tmp, "share")
        self.samba = Samba().start(self.tmp, USER, PASSWORD, {"share": self.share})
        self.addCleanup(self.samba.stop)

    def test_login_and_write(self):
        with open(os.path.join(self.share, "hello.txt"), "w") as f:
            f.write("hi\n")
        src = os.path.join(self.tmp, "up.txt")
        with open(src, "w") as f:
            f.write("uploaded\n")
        r = self.samba.smbclient("share", USER, PASSWORD, "ls; put %s up.txt; mkdir sub" % src)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("hello.txt", out)
        with open(os.path.join(self.share, "up.txt")) as f:
            self.assertEqual(f.read(), "uploaded\n")
        self.assertTrue(os.path.isdir(os.path.join(self.share, "sub")))

    def test_wrong_password_user_and_share_are_refused(self):
        r = self.samba.smbclient("share", USER, "wrong", "ls")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NT_STATUS_LOGON_FAILURE", r.stdout.decode())
        r = self.samba.smbclient("share", "someoneelse", PASSWORD, "ls")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NT_STATUS_LOGON_FAILURE", r.stdout.decode())
        r = self.samba.smbclient("nosuchshare", USER, PASSWORD, "ls")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NT_STATUS_BAD_NETWORK_NAME", r.stdout.decode())

    def test_password_can_change(self):
        self.samba.set_password("second-Pw-2")
        self.assertNotEqual(self.samba.smbclient("share", USER, PASSWORD).returncode, 0)
        self.assertEqual(self.samba.smbclient("share", USER, "second-Pw-2").returncode, 0)

    def test_rclone_reads_the_share_with_an_obscured_password(self):
        if not shutil.which("rclone") or not shutil.which("openssl"):
            self.skipTest("rclone/openssl are not installed")
        with open(os.path.join(self.share, "seen.txt"), "w") as f:
            f.write("x")
        conf = os.path.join(self.tmp, "rclone.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[smb]\ntype = smb\nhost = 127.0.0.1\nport = %d\nuser = %s\npass = %s\n"
                    % (self.samba.port, USER, rclone_obscure(PASSWORD)))
        r = subprocess.run(["rclone", "--config", conf, "--retries", "1",
                            "--low-level-retries", "1", "lsf", "smb:share"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout.decode())
        self.assertEqual(r.stdout.decode().split(), ["seen.txt"])

    def test_stop_ends_every_smbd(self):
        self.assertEqual(self.samba.smbclient("share", USER, PASSWORD).returncode, 0)
        pgid = self.samba.pid
        self.assertGreater(len(group_running(pgid)), 1)  # the main smbd and its workers
        self.samba.stop()
        self.assertEqual(group_running(pgid), [])


class ObscureTest(unittest.TestCase):
    def test_rclone_obscure_matches_rclone(self):
        if not shutil.which("rclone") or not shutil.which("openssl"):
            self.skipTest("rclone/openssl are not installed")
        for password in ["p", "with space, comma=and \"quotes\"", "ü" * 40] + ["pw"] * 20:
            obscured = rclone_obscure(password)
            self.assertNotIn("=", obscured)
            # A throwaway test password: fine in argv here, never in product code. "--": an
            # obscured string may start with "-" (base64url).
            r = subprocess.run(["rclone", "reveal", "--", obscured], stdout=subprocess.PIPE,
                               check=True)
            self.assertEqual(r.stdout.decode("utf-8").rstrip("\n"), password)


if __name__ == "__main__":
    unittest.main()
