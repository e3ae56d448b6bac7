"""The binaries under test, waits, loopback ports, files and mounts: what every end-to-end suite
uses. Tests wait for states and files, never for time; a safety timeout only guards against a
hang, it is never a measured expectation."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, "build", "bin")
# ctest names the binaries it built; by hand, build/bin is the default.
AGENT = os.path.abspath(os.environ.get("BATCHAI_AGENT") or os.path.join(BIN, "batchai-agent"))
CONTROLPLANE = os.path.abspath(os.environ.get("BATCHAI_CONTROLPLANE")
                               or os.path.join(BIN, "batchai-controlplane"))
CLI = os.path.abspath(os.environ.get("BATCHAI_CLI") or os.path.join(BIN, "batchai"))

SAFETY_TIMEOUT = 90.0  # a guard against hangs only
POLL_INTERVAL = 0.02
LOOPBACK = "127.0.0.1"


def wait_for(predicate, what, timeout=SAFETY_TIMEOUT):
    """Polls predicate until it returns something true, and returns that; fails the test after
    timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(POLL_INTERVAL)


# --- files ---------------------------------------------------------------------------------------

def read_text(path):
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_json(path):
    with open(path) as f:
        return json.load(f)


def file_contains(path, text):
    try:
        return text in read_text(path)
    except FileNotFoundError:
        return False


def log_tail(path, size=4000):
    """The end of a log file, for an error message; "" when there is none."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return "\n--- %s ---\n%s" % (path, f.read().decode("utf-8", "replace"))
    except (OSError, TypeError):
        return ""


def _unescape_mountinfo(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts_below(*dirs):
    """Mount points at or below any of dirs, from /proc/self/mountinfo, deepest first."""
    prefixes = [os.path.realpath(d) for d in dirs if d]
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = _unescape_mountinfo(line.split()[4])
            if any(point == p or point.startswith(p + "/") for p in prefixes):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


# --- ports ---------------------------------------------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def port_accepts(port, host=LOOPBACK):
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_port(port, timeout=SAFETY_TIMEOUT, proc=None, host=LOOPBACK, log=None):
    """Polls until something accepts TCP connections on host:port.

    Fails early if proc (a Popen) exits first; log (a path) is quoted in the error.
    """
    deadline = time.monotonic() + timeout
    while True:
        if port_accepts(port, host):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with status %s before listening on %s:%d%s"
                               % (proc.returncode, host, port, log_tail(log)))
        if time.monotonic() > deadline:
            raise RuntimeError("nothing listens on %s:%d after %.0f s%s"
                               % (host, port, timeout, log_tail(log)))
        time.sleep(POLL_INTERVAL)


# --- processes -----------------------------------------------------------------------------------

def require_root_and_binaries():
    """Skips the test class unless it runs as root with the agent, control plane and CLI built:
    the fixtures that start a cluster need all of them."""
    for b in (AGENT, CONTROLPLANE, CLI):
        if not os.access(b, os.X_OK):
            raise unittest.SkipTest("missing %s" % b)
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root")


def stop_processes(procs, timeout=30):
    """SIGTERM to each Popen still running, then waits; SIGKILL to one still there after
    timeout seconds."""
    running = [p for p in procs if p is not None and p.poll() is None]
    for p in running:
        p.send_signal(signal.SIGTERM)
    for p in running:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def living_processes():
    """(pid, argv as bytes) of every process of the machine that is not a zombie."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, IndexError):
            continue
        yield int(name), argv
