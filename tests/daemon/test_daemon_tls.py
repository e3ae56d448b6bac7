"""The daemon's channel: TLS verified against its CA bundle. A control plane whose certificate
is signed by another CA, or has expired, is refused; plain http needs allowInsecureHttp."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from tests.support.common import AGENT, CONTROLPLANE, free_port, wait_for

SAFETY_TIMEOUT = 60.0


class TlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for b in (AGENT, CONTROLPLANE):
            if not os.access(b, os.X_OK):
                raise unittest.SkipTest("missing %s" % b)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="batchai-tls-")
        self.procs = []
        self.addCleanup(self.clean_up)
        self.make_ca("ca")
        self.make_ca("other-ca")
        self.make_cert("server", "ca", days="2")
        self.make_cert("expired", "ca", days="-1")

    def clean_up(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=SAFETY_TIMEOUT)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.tmp)

    def make_ca(self, name):
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                     "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/CN=" + name,
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def make_cert(self, name, ca, days, usage="serverAuth"):
        self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                     "-out", name + ".csr", "-subj", "/CN=" + name)
        with open(os.path.join(self.tmp, name + ".ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=%s\n" % usage)
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
                     ca + ".key", "-CAcreateserial", "-days", days, "-out", name + ".pem",
                     "-extfile", name + ".ext")
        os.chmod(self.path(name + ".key"), 0o600)  # the control plane refuses a readable key

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start_controlplane(self, cert, *extra):
        port = free_port()
        log = open(self.path("cp.log"), "ab")
        self.procs.append(subprocess.Popen(
            [CONTROLPLANE, "--listen", "127.0.0.1:%d" % port, "--state-dir", self.path("cp"),
             "--tls-cert", self.path(cert + ".pem"), "--tls-key", self.path(cert + ".key")]
            + list(extra), stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        log.close()
        wait_for(lambda: "listening" in self.read(self.path("cp.log")), "the control plane to listen")
        return "https://127.0.0.1:%d" % port

    def start_agent(self, url, ca, **extra):
        config = dict({"controlPlaneUrl": url, "caBundle": self.path(ca + ".pem"),
                       "nodeId": "node-0", "root": self.path("node"),
                       "stateDir": self.path("state"), "requestTimeoutSeconds": 5}, **extra)
        with open(self.path("agent.json"), "w") as f:
            json.dump(config, f)
        log = open(self.path("agent.log"), "ab")
        proc = subprocess.Popen([AGENT, "daemon", "--config", self.path("agent.json")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        self.procs.append(proc)
        return proc

    @staticmethod
    def read(path):
        with open(path, errors="replace") as f:
            return f.read()

    def agent_log(self):
        return self.read(self.path("agent.log"))

    def test_a_control_plane_signed_by_the_configured_ca_is_accepted(self):
        url = self.start_controlplane("server")
        self.start_agent(url, "ca")
        wait_for(lambda: "registered with" in self.agent_log(), "registration")

    def assert_refused(self, cert):
        url = self.start_controlplane(cert)
        agent = self.start_agent(url, "ca" if cert == "expired" else "other-ca")
        # Two refused attempts: it retries, and it never got through.
        wait_for(lambda: self.agent_log().count("register:") >= 2, "two refused attempts")
        self.assertNotIn("registered with", self.agent_log())
        self.assertIn("certificate", self.agent_log())  # refused for its certificate
        self.assertIsNone(agent.poll())
        with open(self.path("cp.log"), errors="replace") as f:
            self.assertNotIn("registered", f.read())

    def test_a_certificate_from_another_ca_is_refused(self):
        self.assert_refused("server")  # the agent trusts other-ca only

    def test_an_expired_certificate_is_refused(self):
        self.assert_refused("expired")

    def write_secret(self, name, text):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def test_mutual_tls_with_the_nodes_client_certificate(self):
        self.make_cert("node-0", "ca", days="2", usage="clientAuth")
        os.chmod(self.path("node-0.key"), 0o600)
        url = self.start_controlplane("server", "--client-ca", self.path("ca.pem"))
        self.start_agent(url, "ca", clientCertificate=self.path("node-0.pem"),
                         clientKey=self.path("node-0.key"))
        wait_for(lambda: "registered with" in self.agent_log(), "registration with mutual TLS")

    def test_mutual_tls_with_another_nodes_certificate_is_refused(self):
        # Node B's certificate cannot act as node A (the agent is configured as node-0).
        self.make_cert("node-1", "ca", days="2", usage="clientAuth")
        os.chmod(self.path("node-1.key"), 0o600)
        url = self.start_controlplane("server", "--client-ca", self.path("ca.pem"))
        self.start_agent(url, "ca", clientCertificate=self.path("node-1.pem"),
                         clientKey=self.path("node-1.key"))
        wait_for(lambda: self.agent_log().count("answered 403") >= 2, "two refusals")
        self.assertNotIn("registered with", self.agent_log())

    def test_mutual_tls_without_a_client_certificate_is_refused(self):
        url = self.start_controlplane("server", "--client-ca", self.path("ca.pem"))
        self.start_agent(url, "ca")
        wait_for(lambda: self.agent_log().count("register:") >= 2, "two refused attempts")
        self.assertNotIn("registered with", self.agent_log())

    def test_bearer_token(self):
        url = self.start_controlplane("server", "--node-token-file",
                                      self.write_secret("cp-token", "t0ken-of-the-fleet\n"))
        self.start_agent(url, "ca", tokenFile=self.write_secret("wrong", "not-the-token\n"))
        wait_for(lambda: self.agent_log().count("answered 401") >= 2, "two refusals")
        self.assertNotIn("registered with", self.agent_log())
        self.assertNotIn("not-the-token", self.agent_log())
        first = self.procs.pop()
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=SAFETY_TIMEOUT)
        self.start_agent(url, "ca", tokenFile=self.write_secret("right", "t0ken-of-the-fleet\n"))
        wait_for(lambda: "registered with" in self.agent_log(), "registration with the token")
        self.assertNotIn("t0ken-of-the-fleet", self.agent_log())

    def test_plain_http_needs_allow_insecure_http(self):
        with open(self.path("agent.json"), "w") as f:
            json.dump({"controlPlaneUrl": "http://127.0.0.1:1", "nodeId": "node-0",
                       "stateDir": self.path("state")}, f)
        p = subprocess.run([AGENT, "daemon", "--config", self.path("agent.json")],
                           capture_output=True, timeout=SAFETY_TIMEOUT)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"controlPlaneUrl: plain http is refused", p.stderr)


if __name__ == "__main__":
    sys.exit(unittest.main())
