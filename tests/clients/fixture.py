"""A control plane that speaks the resource-manager API over TLS, as the real clients need it
(docs/real-clients.md): its own CA and certificate, a service principal, a storage account
file, and optionally one agent that runs the jobs (root).

Runs under Debian's /usr/bin/python3, which has azure-cli's and python3-azure's modules."""

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import warnings

from tests.support.common import (LOOPBACK, free_port, require_root_and_binaries, stop_processes,
                                  wait_for, wait_port)

CONTROLPLANE = os.environ.get("BATCHAI_CONTROLPLANE", "build/bin/batchai-controlplane")
AGENT = os.environ.get("BATCHAI_AGENT", "build/bin/batchai-agent")

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "00000000-0000-0000-0000-00000000a11c"
APP_ID = "quickstart-app"
SECRET = "a-secret-of-the-tests"
STORAGE_ACCOUNT = "baiquickstart"
STORAGE_KEY = "c3RvcmFnZS1rZXktb2YtdGhlLXRlc3Rz"


def openssl(cwd, *args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd)


_TLS_DIR = None


def make_tls(directory):
    """A CA and a server certificate for 127.0.0.1 signed by it; returns (ca, cert, key). Made
    once per process (in a directory of its own, removed at exit), copied into directory."""
    global _TLS_DIR
    if _TLS_DIR is None:
        _TLS_DIR = tempfile.mkdtemp(prefix="batchai-clients-tls-")
        atexit.register(shutil.rmtree, _TLS_DIR, True)
        _make_tls(_TLS_DIR)
    names = ("ca.pem", "server.pem", "server.key")
    for name in names:
        shutil.copy(os.path.join(_TLS_DIR, name), os.path.join(directory, name))
    os.chmod(os.path.join(directory, "server.key"), 0o600)
    return tuple(os.path.join(directory, n) for n in names)


def _make_tls(directory):
    openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=batchai test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl(directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext")
    os.chmod(os.path.join(directory, "server.key"), 0o600)
    return tuple(os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server.key"))


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class ResourceManagerCase(unittest.TestCase):
    """Starts the control plane with TLS, a service principal and a storage account."""

    with_agent = False

    def setUp(self):
        # The SDK's pooled connections are closed by the garbage collector, not by the tests.
        warnings.simplefilter("ignore", ResourceWarning)
        if self.with_agent:
            require_root_and_binaries()
        self.tmp = tempfile.mkdtemp(prefix="batchai-clients-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.procs = []
        self.addCleanup(stop_processes, self.procs)
        self.ca, cert, key = make_tls(self.tmp)
        self.root = self.path("node")
        os.makedirs(self.root)
        self.node_token = self.path("node-token")
        write_secret(self.node_token, os.urandom(16).hex() + "\n")
        principals = self.path("principals")
        write_secret(principals, "# the tests' service principal\n%s %s\n" % (APP_ID, SECRET))
        accounts = self.path("storage.json")
        write_secret(accounts, json.dumps({"accounts": [self.storage_account()]}))
        self.port = free_port()
        self.base = "https://%s:%d" % (LOOPBACK, self.port)
        log = open(self.path("cp.log"), "ab")
        self.addCleanup(log.close)
        self.procs.append(subprocess.Popen(
            [CONTROLPLANE, "--listen", "%s:%d" % (LOOPBACK, self.port),
             "--state-dir", self.path("cp-state"), "--tls-cert", cert, "--tls-key", key,
             "--service-principals", principals, "--storage-accounts", accounts,
             "--node-token-file", self.node_token, "--public-url", self.base,
             "--node-root", self.root, "--poll-wait-seconds", "20", "--cluster", "unused",
             *self.controlplane_args()],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        wait_port(self.port, proc=self.procs[-1], log=self.path("cp.log"))
        os.environ["REQUESTS_CA_BUNDLE"] = self.ca

    def controlplane_args(self):
        """More of the control plane's command line (a subclass adds its --file-server)."""
        return []

    def storage_account(self):
        """The storage account of --storage-accounts (a subclass adds its endpoints)."""
        return {"name": STORAGE_ACCOUNT, "key": STORAGE_KEY,
                "blobEndpoint": "http://127.0.0.1:10000/%s/" % STORAGE_ACCOUNT}

    def path(self, name):
        return os.path.join(self.tmp, name)

    def read(self, name):
        with open(self.path(name), errors="replace") as f:
            return f.read()

    def start_agent(self, cluster, **settings):
        config = dict({"controlPlaneUrl": self.base, "caBundle": self.ca, "nodeId": "node-0",
                       "tokenFile": self.node_token,
                       "cluster": cluster, "root": self.root, "stateDir": self.path("agent-state"),
                       "killGraceSeconds": 2, "requestTimeoutSeconds": 5}, **settings)
        with open(self.path("agent.json"), "w") as f:
            json.dump(config, f)
        log = open(self.path("agent.log"), "ab")
        self.addCleanup(log.close)
        self.procs.append(subprocess.Popen([AGENT, "daemon", "--config", self.path("agent.json")],
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=log))


# wait_for is the tests' own, handed on so each test module has one import line.
__all__ = ["ResourceManagerCase", "SUBSCRIPTION", "TENANT", "APP_ID", "SECRET", "STORAGE_ACCOUNT",
           "STORAGE_KEY", "wait_for"]
