"""The daemon against a control plane that answers garbage: it logs, backs off, retries, and
never crashes. The "control plane" here is a deliberately broken HTTP server in the test."""

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

from tests.support.common import AGENT

SAFETY_TIMEOUT = 60.0


class BrokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode):
        self.mode = mode
        self.requests = 0
        self.lock = threading.Lock()
        self.enough = threading.Event()
        super().__init__(("127.0.0.1", 0), BrokenHandler)


class BrokenHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        with self.server.lock:
            self.server.requests += 1
            if self.server.requests >= 4:
                self.server.enough.set()
        mode = self.server.mode
        if mode == "garbage":
            body = b"\x00\xffthis is not json{{{"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"nodeId": "node-0", "clus')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "oversized":
            self.send_response(200)
            self.send_header("Content-Length", str(64 * 1024 * 1024))
            self.end_headers()
            chunk = b" " * (1024 * 1024)
            try:
                for _ in range(64):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif mode == "wrong-shape":
            body = json.dumps({"nodeId": 7, "pollWaitSeconds": "soon"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif mode == "overloaded":
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()


class GarbageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(AGENT, os.X_OK):
            raise unittest.SkipTest("missing %s" % AGENT)

    def run_against(self, mode):
        server = BrokenServer(mode)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        tmp = tempfile.mkdtemp(prefix="batchai-garbage-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        config = os.path.join(tmp, "agent.json")
        with open(config, "w") as f:
            json.dump({"controlPlaneUrl": "http://127.0.0.1:%d" % server.server_address[1],
                       "allowInsecureHttp": True, "nodeId": "node-0",
                       "root": os.path.join(tmp, "node"),
                       "stateDir": os.path.join(tmp, "state"), "requestTimeoutSeconds": 5}, f)
        log_path = os.path.join(tmp, "agent.log")
        with open(log_path, "wb") as log:
            agent = subprocess.Popen([AGENT, "daemon", "--config", config],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            # Several attempts prove it retried; the backoff keeps them apart.
            self.assertTrue(server.enough.wait(SAFETY_TIMEOUT),
                            "the agent stopped retrying after %d requests" % server.requests)
            self.assertIsNone(agent.poll(), "the agent exited on a %s response" % mode)
        finally:
            agent.send_signal(signal.SIGTERM)
            code = agent.wait(timeout=SAFETY_TIMEOUT)
        self.assertEqual(code, 0)
        with open(log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("register", log)
        return log

    def test_garbage(self):
        self.assertIn("bad response", self.run_against("garbage"))

    def test_truncated(self):
        self.run_against("truncated")

    def test_oversized(self):
        self.assertIn("too large", self.run_against("oversized"))

    def test_wrong_shape(self):
        self.assertIn("bad response", self.run_against("wrong-shape"))

    def test_overloaded(self):
        self.assertIn("503", self.run_against("overloaded"))


if __name__ == "__main__":
    sys.exit(unittest.main())
