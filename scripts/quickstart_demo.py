#!/usr/bin/python3
"""The Batch AI quickstart (its CLI form) on one machine, with the real `az batchai`.

Starts a local storage account on loopback (smbd for Azure Files, Azurite for blobs, both the
test suite's fixtures), the reference control plane with TLS and its own CA, one agent, then
runs the quickstart's commands as written but for the storage account's name (Azurite's
devstoreaccount1). Where `az storage` needs the Azure Files REST service, which no emulator
offers, the same step is done through Samba's smbclient, and the blob steps name Azurite with
--connection-string; the script says so where it happens. Run by scripts/demo.sh (as root)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.mounts.servers import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, Samba  # noqa: E402

BIN = os.path.join(ROOT, "build", "bin")
AGENT = os.environ.get("BATCHAI_AGENT", os.path.join(BIN, "batchai-agent"))
CONTROLPLANE = os.environ.get("BATCHAI_CONTROLPLANE", os.path.join(BIN, "batchai-controlplane"))
DEMO = os.environ.get("BATCHAI_DEMO_DIR", "/run/batchai-demo")
PORT = int(os.environ.get("BATCHAI_DEMO_PORT", "8743"))
BASE = "https://127.0.0.1:%d" % PORT
ACCOUNT, KEY = AZURITE_ACCOUNT, AZURITE_KEY
APP_ID, SECRET = "quickstart-demo", os.urandom(16).hex()
TENANT = "00000000-0000-0000-0000-00000000a11c"
procs = []


def say(text):
    print("\n== " + text, flush=True)


def path(*parts):
    return os.path.join(DEMO, *parts)


def write_secret(name, text):
    fd = os.open(path(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path(name)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=path("tls"))


def make_tls():
    os.makedirs(path("tls"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", "ca.key",
            "-out", "ca.pem", "-subj", "/CN=batchai demo CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    with open(path("tls", "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-out", "server.pem", "-extfile", "server.ext")
    os.chmod(path("tls", "server.key"), 0o600)


def start(name, argv):
    log = open(path(name + ".log"), "ab")
    procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log))
    return procs[-1]


def wait_until(predicate, what, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit("demo: %s did not happen within %d s (logs in %s)" % (what, timeout, DEMO))
        time.sleep(0.5)


ENV = dict(os.environ, HOME=path("home"), AZURE_CONFIG_DIR=path("azure"),
           AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_SURVEY_MESSAGE="no",
           AZURE_CORE_NO_COLOR="yes", AZURE_CORE_ONLY_SHOW_ERRORS="yes",
           REQUESTS_CA_BUNDLE=path("tls", "ca.pem"))


def az(*args, show=True, quiet=False):
    """Runs az as the quickstart does; prints the command line and what az prints."""
    if show:
        print("$ az " + " ".join(a if " " not in a else "'%s'" % a for a in args), flush=True)
    p = subprocess.run(["az", *args], env=ENV, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True)
    if p.returncode != 0:
        sys.exit("demo: az %s failed (%d):\n%s" % (" ".join(args[:3]), p.returncode, p.stderr))
    if show and not quiet and p.stdout.strip():
        print(p.stdout.rstrip(), flush=True)
    return p.stdout


def smbclient(samba, share, commands):
    """The `az storage share/directory/file` steps, through Samba's smbclient (no emulator
    serves the Azure Files REST API). The key goes in an authentication file, not argv."""
    auth = write_secret("smb.auth", "username = %s\npassword = %s\n" % (ACCOUNT, KEY))
    print("$ smbclient //127.0.0.1/%s -c '%s'" % (share, commands), flush=True)
    subprocess.run(["smbclient", "//127.0.0.1/" + share, "-p", str(samba.port), "-A", auth,
                    "-c", commands], check=True, capture_output=True, cwd=path("upload"))


def start_storage():
    say("a local storage account %s: smbd for Azure Files (shares logs, scripts), "
        "Azurite for blobs" % ACCOUNT)
    shares = {"logs": path("shares", "logs"), "scripts": path("shares", "scripts")}
    samba = Samba().start(DEMO, ACCOUNT, KEY, shares)
    azurite = Azurite().start(DEMO)
    procs.extend([samba.proc, azurite.proc])
    return samba, azurite


def start_controlplane(samba, azurite):
    say("the control plane on %s (TLS, its own CA; log %s)" % (BASE, path("controlplane.log")))
    principals = write_secret("principals", "%s %s\n" % (APP_ID, SECRET))
    node_token = write_secret("node-token", os.urandom(16).hex() + "\n")
    accounts = write_secret("storage.json", json.dumps({"accounts": [{
        "name": ACCOUNT, "key": KEY, "fileEndpoint": "smb://127.0.0.1:%d/" % samba.port,
        "blobEndpoint": "%s/" % azurite.endpoint}]}))
    cp = start("controlplane", [
        CONTROLPLANE, "--listen", "127.0.0.1:%d" % PORT,
        "--state-dir", path("controlplane"), "--tls-cert", path("tls", "server.pem"),
        "--tls-key", path("tls", "server.key"), "--service-principals", principals,
        "--storage-accounts", accounts, "--node-token-file", node_token,
        "--node-root", path("node"), "--cluster", "unused"])
    wait_until(lambda: cp.poll() is not None or "listening" in open(
        path("controlplane.log"), errors="replace").read(), "the control plane's start")
    if cp.poll() is not None:
        sys.exit("demo: the control plane stopped:\n" + open(path("controlplane.log")).read())


def start_agent(samba, azurite):
    say("the agent, a node of cluster nc6 (log %s)" % path("agent.log"))
    with open(path("agent.json"), "w") as f:
        json.dump({"controlPlaneUrl": BASE, "caBundle": path("tls", "ca.pem"), "nodeId": "node-0",
                   "tokenFile": path("node-token"),
                   "cluster": "nc6", "root": path("node"), "stateDir": path("agent-state"),
                   "storage": {"azureFileHost": "127.0.0.1", "smbPort": samba.port,
                               "azureBlobEndpoint": "http://127.0.0.1:%d/{account}"
                               % azurite.port}}, f)
    start("agent", [AGENT, "daemon", "--config", path("agent.json")])


def upload_inputs(samba, azurite):
    script = os.path.join(ROOT, "examples", "digits", "scripts", "digits_mlp.py")
    shutil.copy(script, path("upload", "ConvNet_MNIST.py"))
    data = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
    shutil.copy(data, path("upload", "digits_28x28_cntk.csv.gz"))
    say("the training script to the share scripts (the quickstart: az storage share create -n "
        "scripts / -n logs, az storage directory create -n cntk -s scripts, az storage file "
        "upload -s scripts --source ConvNet_MNIST.py --path cntk; here the shares are smbd's and "
        "the rest goes through smbclient)")
    smbclient(samba, "scripts", "mkdir cntk; put ConvNet_MNIST.py cntk/ConvNet_MNIST.py")
    say("the training data to the container data (the quickstart's az storage commands, with "
        "AZURE_STORAGE_CONNECTION_STRING naming Azurite instead of --account-name)")
    conn = ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;"
            % (ACCOUNT, KEY, azurite.endpoint))
    # The key stays off the command line: az reads the connection string from its environment.
    ENV["AZURE_STORAGE_CONNECTION_STRING"] = conn
    az("storage", "container", "create", "-n", "data")
    az("storage", "blob", "upload-batch", "-s", path("upload"), "--pattern", "*28x28_cntk*",
       "--destination", "data", "--destination-path", "mnist_cntk", quiet=True)
    del ENV["AZURE_STORAGE_CONNECTION_STRING"]


def quickstart(samba, azurite):
    say("sign in: a local cloud whose resource manager and identity endpoint are the control "
        "plane")
    az("cloud", "register", "-n", "batchai-local", "--endpoint-resource-manager", BASE + "/",
       "--endpoint-active-directory", BASE + "/adfs",
       "--endpoint-active-directory-resource-id", BASE + "/",
       "--endpoint-active-directory-graph-resource-id", BASE + "/graph/")
    az("cloud", "set", "-n", "batchai-local")
    # az 2.45 takes a service principal's secret on its command line only; the demo's secret is
    # made for this run and dies with it.
    az("login", "--service-principal", "-u", APP_ID, "-p", SECRET, "--tenant", TENANT,
       show=False)
    print("$ az login --service-principal -u %s -p <secret> --tenant %s" % (APP_ID, TENANT))

    say("the quickstart")
    az("group", "create", "-n", "batchai.quickstart", "-l", "eastus", quiet=True)
    az("batchai", "workspace", "create", "-g", "batchai.quickstart", "-n", "quickstart",
       quiet=True)
    az("batchai", "cluster", "create", "-n", "nc6", "-g", "batchai.quickstart", "-w",
       "quickstart", "-s", "Standard_NC6", "-i", "UbuntuDSVM", "-t", "1", "--generate-ssh-keys",
       quiet=True)
    start_agent(samba, azurite)
    az("storage", "account", "create", "-n", ACCOUNT, "--sku", "Standard_LRS", "-g",
       "batchai.quickstart", quiet=True)
    upload_inputs(samba, azurite)
    say("the job")
    az("batchai", "experiment", "create", "-g", "batchai.quickstart", "-w", "quickstart", "-n",
       "quickstart", quiet=True)
    with open(os.path.join(ROOT, "examples", "quickstart", "job.json")) as f:
        job = f.read().replace("<YOUR_STORAGE_ACCOUNT>", ACCOUNT)
    with open(path("job.json"), "w") as f:
        f.write(job)
    ws = ["-g", "batchai.quickstart", "-w", "quickstart", "-e", "quickstart"]
    az("batchai", "job", "create", "-n", "cntk_python_1", "-c", "nc6", *ws, "-f",
       path("job.json"), "--storage-account-name", ACCOUNT, quiet=True)
    az("batchai", "job", "file", "stream", "-j", "cntk_python_1", *ws, "-f", "stderr.txt")
    az("batchai", "job", "file", "list", "-j", "cntk_python_1", *ws, "-d", "MODEL", "-o",
       "table")
    az("batchai", "job", "show", "-n", "cntk_python_1", *ws, "--query",
       "[executionState, jobOutputDirectoryPathSegment]", "-o", "tsv")
    say("clean up")
    az("batchai", "job", "delete", "-n", "cntk_python_1", *ws, "-y")
    az("batchai", "cluster", "delete", "-n", "nc6", "-g", "batchai.quickstart", "-w",
       "quickstart", "-y")
    az("group", "delete", "-n", "batchai.quickstart", "-y")


def main():
    shutil.rmtree(DEMO, ignore_errors=True)
    for d in ("home", "upload", "node"):
        os.makedirs(path(d))
    os.chmod(DEMO, 0o700)
    make_tls()
    try:
        samba, azurite = start_storage()
        start_controlplane(samba, azurite)
        quickstart(samba, azurite)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    say("done; logs in " + DEMO)


if __name__ == "__main__":
    main()
