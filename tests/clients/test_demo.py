"""The README's demo (scripts/quickstart_demo.py, which scripts/demo.sh runs after installing
and building): the quickstart's az commands with its own job.json, on shares and a container of
a local storage account, end to end."""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.mounts.servers import Azurite, Samba
from tests.support.common import SAFETY_TIMEOUT, free_port, require_root_and_binaries


@unittest.skipUnless(shutil.which("az") and Samba.available() and Azurite.available(),
                     "needs azure-cli, smbd and Azurite (scripts/install-test-servers.sh)")
class TheDemo(unittest.TestCase):

    def test_the_quickstart_trains_on_the_shares_and_lists_the_models(self):
        require_root_and_binaries()
        demo = tempfile.mkdtemp(prefix="batchai-demo-")
        self.addCleanup(shutil.rmtree, demo, True)
        env = dict(os.environ, BATCHAI_DEMO_DIR=os.path.join(demo, "run"),
                   BATCHAI_DEMO_PORT=str(free_port()))
        p = subprocess.run(["/usr/bin/python3", "scripts/quickstart_demo.py"], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=SAFETY_TIMEOUT * 5)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        out = p.stdout
        # The stream: every epoch once, in order, then the test error.
        epochs = [line for line in out.splitlines() if line.startswith("Finished Epoch[")]
        self.assertEqual([e.split("]")[0] for e in epochs],
                         ["Finished Epoch[%d of 20" % i for i in range(1, 21)])
        self.assertIn("Final Results", out)
        # The models, listed from the logs share by the control plane.
        for epoch in (1, 20):
            self.assertIn("digits_mlp_epoch_%02d.npz" % epoch, out)
        self.assertIn("\nsucceeded\n", out)
        self.assertIn("== done", out)
