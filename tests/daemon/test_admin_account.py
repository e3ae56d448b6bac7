"""The cluster's admin account (userAccountSettings) through the daemon, made inside a
throw-away root (the daemon's accountRoot) so the test machine's users are untouched.

    BATCHAI_AGENT=... BATCHAI_CONTROLPLANE=... BATCHAI_CLI=... python3 -m unittest -v \\
        tests.daemon.test_admin_account
"""

import json
import os
import shutil
import stat
import unittest

from tests.support.cluster import Cluster
from tests.support.common import read_text, wait_for

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBatchAiTestKeyOnlyNotARealOne admin@test"
PASSWORD = "Adm1n-test-password"


def shadow_hash(root, user):
    for line in read_text(os.path.join(root, "etc", "shadow")).splitlines():
        if line.startswith(user + ":"):
            return line.split(":")[1]
    return None


class AdminAccountTest(Cluster):
    def setUp(self):
        self.start_agent = lambda: None  # the cluster's settings come first
        super().setUp()
        del self.start_agent
        self.account_root = os.path.join(self.tmp, "vm-root")
        os.makedirs(os.path.join(self.account_root, "etc"))
        os.makedirs(os.path.join(self.account_root, "home"))
        for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
            shutil.copy2(os.path.join("/etc", name), os.path.join(self.account_root, "etc"))
        self.host_passwd = read_text("/etc/passwd")

    def create_cluster(self, settings):
        path = os.path.join(self.tmp, "cluster.json")
        with open(path, "w") as f:
            json.dump({"properties": {"userAccountSettings": settings}}, f)
        self.cli("cluster", "create", "-n", "default", "-f", path)

    def test_admin_account_with_key_password_and_sudo_idempotently(self):
        self.create_cluster({"adminUserName": "batchadmin", "adminUserSshPublicKey": KEY,
                             "adminUserPassword": PASSWORD})
        for _ in range(2):  # the second agent finds the account and leaves it right
            Cluster.start_agent(self, accountRoot=self.account_root)
            self.agent.terminate()
            self.agent.wait(timeout=30)
        root = self.account_root
        passwd = [l for l in read_text(os.path.join(root, "etc", "passwd")).splitlines()
                  if l.startswith("batchadmin:")]
        self.assertEqual(len(passwd), 1)
        uid = int(passwd[0].split(":")[2])
        keys = os.path.join(root, "home", "batchadmin", ".ssh", "authorized_keys")
        self.assertEqual(read_text(keys), KEY + "\n")
        st = os.stat(keys)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, uid))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(keys)).st_mode), 0o700)
        self.assertEqual(read_text(os.path.join(root, "etc", "sudoers.d", "batchai-admin-batchadmin")),
                         "batchadmin ALL=(ALL) ALL\n")
        hashed = shadow_hash(root, "batchadmin")
        self.assertTrue(hashed.startswith("$"), hashed)
        import crypt  # deprecated, still in 3.11: only to check the hash
        self.assertEqual(crypt.crypt(PASSWORD, hashed), hashed)
        self.assertNotIn(PASSWORD, self.agent_log())
        self.assertEqual(read_text("/etc/passwd"), self.host_passwd, "the host's users changed")

    def test_a_link_in_the_admins_home_is_never_followed(self):
        # The account exists (an earlier agent made it); its user planted ~/.ssh -> a directory
        # of root's. The next agent must not create authorized_keys there, nor chown it.
        self.create_cluster({"adminUserName": "batchadmin", "adminUserPassword": PASSWORD})
        Cluster.start_agent(self, accountRoot=self.account_root)
        self.agent.terminate()
        self.agent.wait(timeout=30)
        home = os.path.join(self.account_root, "home", "batchadmin")
        target = os.path.join(self.tmp, "roots-dir")
        os.makedirs(target)
        shutil.rmtree(os.path.join(home, ".ssh"), ignore_errors=True)
        os.symlink(target, os.path.join(home, ".ssh"))
        self.create_cluster({"adminUserName": "batchadmin", "adminUserSshPublicKey": KEY})
        Cluster.start_agent(self, wait_idle=False, accountRoot=self.account_root)
        wait_for(lambda: json.loads(self.cli("cluster", "show", "-n", "default").stdout)
                 ["nodeStateCounts"]["unusableNodeCount"] == 1, "the node to be unusable")
        error = json.loads(self.cli("cluster", "show", "-n", "default").stdout)["errors"][0]
        self.assertEqual(error["code"], "AdminAccountFailed")
        self.assertIn("symbolic link", error["message"])
        self.assertEqual(os.listdir(target), [])
        self.assertEqual(os.stat(target).st_uid, 0)

    def test_a_system_user_name_makes_the_node_unusable_and_says_why(self):
        self.create_cluster({"adminUserName": "daemon", "adminUserSshPublicKey": KEY})
        Cluster.start_agent(self, wait_idle=False, accountRoot=self.account_root)
        wait_for(lambda: json.loads(self.cli("cluster", "show", "-n", "default").stdout)
                 ["nodeStateCounts"]["unusableNodeCount"] == 1, "the node to be unusable")
        error = json.loads(self.cli("cluster", "show", "-n", "default").stdout)["errors"][0]
        self.assertEqual(error["code"], "AdminAccountFailed")
        self.assertIn("system account", error["message"])


if __name__ == "__main__":
    unittest.main()
