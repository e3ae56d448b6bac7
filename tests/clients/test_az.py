"""The real `az batchai` (Debian's azure-cli) against the control plane: the quickstart's
commands word for word (the storage account aside), with a real agent running the job, and the
error az prints for a bad job document (docs/real-clients.md, docs/cli.md)."""

import json
import os
import shutil
import subprocess
import unittest

from tests.clients.fixture import (APP_ID, SECRET, STORAGE_ACCOUNT, STORAGE_KEY, SUBSCRIPTION,
                                   TENANT, ResourceManagerCase)

AZ = shutil.which("az")
G = ["-g", "batchai.quickstart"]
W = G + ["-w", "quickstart"]
E = W + ["-e", "quickstart"]

# The quickstart's job.json but for its shares: logs and models on the node's own disk under
# $AZ_BATCHAI_MOUNT_ROOT (the shares are the demo's), the script given by path.
JOB = {
    "$schema": "https://raw.githubusercontent.com/Azure/BatchAI/master/schemas/2018-05-01/"
               "job.json",
    "properties": {
        "nodeCount": 1,
        "cntkSettings": {"pythonScriptFilePath": "SCRIPT", "commandLineArgs": ""},
        "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
        "outputDirectories": [{"id": "MODEL", "pathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs"}],
    }
}

# The quickstart's mountVolumes, placeholders and all: az fills them in from the storage account.
SHARES = {"azureFileShares": [{
    "azureFileUrl": "https://<AZURE_BATCHAI_STORAGE_ACCOUNT>.file.core.windows.net/logs",
    "relativeMountPath": "logs"}]}

TRAIN = ("import os, sys\n"
         "out = os.environ['AZ_BATCHAI_OUTPUT_MODEL']\n"
         "for epoch in range(3):\n"
         "    print('Finished Epoch[%d of 3]: loss = 0.%d' % (epoch + 1, 9 - epoch), "
         "file=sys.stderr, flush=True)\n"
         "    open(os.path.join(out, 'model_%d.dnn' % epoch), 'w').write('w')\n")


@unittest.skipIf(AZ is None, "needs azure-cli (scripts/install-test-servers.sh)")
class TheQuickstartThroughAz(ResourceManagerCase):
    with_agent = True

    def setUp(self):
        super().setUp()
        self.home = self.path("home")
        os.makedirs(self.home)
        self.env = dict(os.environ, HOME=self.home, AZURE_CONFIG_DIR=self.path("azure"),
                        AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_SURVEY_MESSAGE="no",
                        AZURE_CORE_NO_COLOR="yes", AZURE_CORE_ONLY_SHOW_ERRORS="yes",
                        REQUESTS_CA_BUNDLE=self.ca)
        b = self.base
        self.az("cloud", "register", "-n", "local", "--endpoint-resource-manager", b + "/",
                "--endpoint-active-directory", b + "/adfs",
                "--endpoint-active-directory-resource-id", b + "/",
                "--endpoint-active-directory-graph-resource-id", b + "/graph/")
        self.az("cloud", "set", "-n", "local")
        self.az("login", "--service-principal", "-u", APP_ID, "-p", SECRET, "--tenant", TENANT)

    def az(self, *args, check=True):
        p = subprocess.run([AZ, *args], env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError("az %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                           p.stderr.decode(errors="replace")))
        return p

    def write_job(self, name, **extra):
        job = json.loads(json.dumps(JOB))
        script = self.path("ConvNet_MNIST.py")
        with open(script, "w") as f:
            f.write(TRAIN)
        job["properties"]["cntkSettings"]["pythonScriptFilePath"] = script
        job["properties"].update(extra)
        path = self.path(name)
        with open(path, "w") as f:
            json.dump(job, f)
        return path

    def test_the_quickstart_commands(self):
        self.az("group", "create", "-n", "batchai.quickstart", "-l", "eastus")
        self.az("batchai", "workspace", "create", *G, "-n", "quickstart")
        self.az("batchai", "cluster", "create", "-n", "nc6", *W, "-s", "Standard_NC6",
                "-i", "UbuntuDSVM", "-t", "1", "--generate-ssh-keys")
        cluster = json.loads(self.az("batchai", "cluster", "show", "-n", "nc6", *W).stdout)
        self.assertEqual(cluster["scaleSettings"]["manual"]["targetNodeCount"], 1)
        with open(os.path.join(self.home, ".ssh", "id_rsa.pub")) as f:
            self.assertEqual(cluster["userAccountSettings"]["adminUserSshPublicKey"],
                             f.read().strip())
        self.az("storage", "account", "create", "-n", STORAGE_ACCOUNT, "--sku", "Standard_LRS",
                *G)
        self.az("batchai", "experiment", "create", *W, "-n", "quickstart")

        # --storage-account-name: az looks the account up and puts its name and key in.
        shares = self.write_job("shares.json", mountVolumes=SHARES)
        self.az("batchai", "job", "create", "-n", "with_shares", "-c", "nc6", *E, "-f", shares,
                "--storage-account-name", STORAGE_ACCOUNT)
        with open(self.path("cp-state/state.json")) as f:
            stored = [j for j in json.load(f)["jobs"] if j["name"] == "with_shares"][0]
        share = stored["properties"]["mountVolumes"]["azureFileShares"][0]
        self.assertEqual(share["accountName"], STORAGE_ACCOUNT)
        self.assertEqual(share["credentials"]["accountKey"], STORAGE_KEY)
        self.assertEqual(share["azureFileUrl"],
                         "https://%s.file.core.windows.net/logs" % STORAGE_ACCOUNT)
        shown = self.az("batchai", "job", "show", "-n", "with_shares", *E).stdout.decode()
        self.assertNotIn(STORAGE_KEY, shown)
        self.az("batchai", "job", "delete", "-n", "with_shares", *E, "-y")

        self.start_agent("nc6")
        self.az("batchai", "job", "create", "-n", "cntk_python_1", "-c", "nc6", *E, "-f",
                self.write_job("job.json"), "--storage-account-name", STORAGE_ACCOUNT)
        stream = self.az("batchai", "job", "file", "stream", "-j", "cntk_python_1", *E,
                         "-f", "stderr.txt")
        out = stream.stdout.decode()
        for epoch in (1, 2, 3):
            self.assertIn("Finished Epoch[%d of 3]" % epoch, out)
        listed = json.loads(self.az("batchai", "job", "file", "list", "-j", "cntk_python_1",
                                    *E, "-d", "MODEL").stdout)
        self.assertEqual(sorted(f["name"] for f in listed),
                         ["model_0.dnn", "model_1.dnn", "model_2.dnn"])
        self.assertTrue(all(f["downloadUrl"].startswith(self.base) for f in listed))
        segment = json.loads(self.az("batchai", "job", "show", "-n", "cntk_python_1", *E,
                                     "--query", "jobOutputDirectoryPathSegment").stdout)
        self.assertTrue(segment.startswith(SUBSCRIPTION + "/batchai.quickstart/workspaces/"))

        self.az("batchai", "job", "delete", "-n", "cntk_python_1", *E, "-y")
        self.az("batchai", "cluster", "delete", "-n", "nc6", *W, "-y")
        self.az("group", "delete", "-n", "batchai.quickstart", "-y")
        # What is left is the group the control plane makes for users who name none.
        self.assertEqual([g["name"] for g in json.loads(self.az("group", "list").stdout)],
                         ["batchai.local"])

    def test_a_bad_job_document_is_az_error_with_the_field(self):
        self.az("group", "create", "-n", "batchai.quickstart", "-l", "eastus")
        self.az("batchai", "workspace", "create", *G, "-n", "quickstart")
        self.az("batchai", "cluster", "create", "-n", "nc6", *W, "-s", "Standard_NC6",
                "-t", "1", "-u", "quickstart", "-p", "Pa55word-of-tests")
        self.az("batchai", "experiment", "create", *W, "-n", "quickstart")
        bad = self.write_job("bad.json", nodeCount=0)
        p = self.az("batchai", "job", "create", "-n", "bad", "-c", "nc6", *E, "-f", bad,
                    check=False)
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode()
        self.assertIn("InvalidJobDocument", err)
        self.assertIn("nodeCount", err)


if __name__ == "__main__":
    unittest.main()
