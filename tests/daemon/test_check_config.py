"""`batchai-agent check-config`, which the unit runs as its ExecCondition= (docs/systemd.md):
the exit statuses that make systemd skip an unconfigured node, fail on a bad file, and start a
good one; and the package's shipped agent.json, which must read as "not configured"."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from tests.support.common import AGENT, REPO, SAFETY_TIMEOUT


class CheckConfigTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(AGENT, os.X_OK):
            raise unittest.SkipTest("missing %s" % AGENT)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="batchai-check-config-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def check(self, config, *flags):
        path = config
        if not isinstance(config, str):
            path = os.path.join(self.tmp, "agent.json")
            with open(path, "w") as f:
                json.dump(config, f)
        return subprocess.run([AGENT, "check-config", "--config", path] + list(flags),
                              capture_output=True, text=True, timeout=SAFETY_TIMEOUT)

    def test_a_valid_file(self):
        config = {"controlPlaneUrl": "https://cp.test:8780", "nodeId": "n1", "cluster": "c"}
        for flags in ((), ("--systemd-condition",)):
            p = self.check(config, *flags)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("valid: node n1 of cluster c, control plane https://cp.test:8780",
                          p.stdout)

    def test_the_shipped_file_is_not_configured(self):
        shipped = os.path.join(REPO, "packaging", "agent.json")
        p = self.check(shipped)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not configured: set controlPlaneUrl", p.stderr)
        p = self.check(shipped, "--systemd-condition")
        self.assertEqual(p.returncode, 1, "systemd skips the unit on 1-254")

    def test_a_bad_file_names_every_bad_setting(self):
        config = {"controlPlaneUrl": "ftp://cp.test", "killGraceSeconds": -1, "nodeId": "n1"}
        p = self.check(config)
        self.assertEqual(p.returncode, 2)
        self.assertIn("controlPlaneUrl:", p.stderr)
        self.assertIn("killGraceSeconds:", p.stderr)
        p = self.check(config, "--systemd-condition")
        self.assertEqual(p.returncode, 255, "systemd fails the unit on 255")

    def test_a_missing_setting_beside_a_bad_one_is_not_merely_unconfigured(self):
        p = self.check({"killGraceSeconds": "ten", "nodeId": "n1"}, "--systemd-condition")
        self.assertEqual(p.returncode, 255)
        self.assertIn("killGraceSeconds:", p.stderr)

    def test_an_unreadable_or_broken_file(self):
        p = self.check(os.path.join(self.tmp, "absent.json"), "--systemd-condition")
        self.assertEqual(p.returncode, 255)
        self.assertIn("cannot read the configuration", p.stderr)
        path = os.path.join(self.tmp, "broken.json")
        with open(path, "w") as f:
            f.write("{ not json")
        p = self.check(path)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not valid JSON", p.stderr)


if __name__ == "__main__":
    unittest.main()
