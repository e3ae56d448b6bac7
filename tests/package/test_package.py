"""The Debian package and its systemd unit, with systemd as PID 1 (docs/systemd.md).

Builds the package twice (the changelog's version and a newer build of the same sources), runs
lintian on it, boots a debootstrapped Debian 12 under systemd-nspawn and, in it: installs the
package, points it at a reference control plane on the host's loopback, starts it, runs a job,
restarts the agent, upgrades the package, kills the agent and freezes it (the watchdog) while
the job runs, sees the job finish, reads the journal, stops and purges.

Run as root from the repository root (ctest does):

    BATCHAI_CONTROLPLANE=build/bin/batchai-controlplane BATCHAI_CLI=build/bin/batchai \
    python3 -m unittest -v tests.package.test_package

Needs scripts/install-deps.sh --package-tools. The first run debootstraps
the root (a few minutes; cached in /var/cache/batchai-tests/package).
"""

import glob
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from tests.containers.fixtures import debootstrap_tarball, unmount_below
from tests.support.common import CLI, CONTROLPLANE, REPO, free_port
from tests.support.common import wait_for as support_wait_for

CACHE_DIR = os.environ.get("BATCHAI_PACKAGE_CACHE") or "/var/cache/batchai-tests/package"
PACKAGE_BUILD_DIR = os.path.join(REPO, "build-deb")
SAFETY_TIMEOUT = 120.0  # a guard against hangs only; nothing waits on time
TOKEN = "t0ken-0f-the-package-test"  # the user's (the CLI)
NODE_TOKEN = "n0de-t0ken-0f-the-package-test"  # the nodes' (the agent)
NODE_ID = "nspawn-node-0"
# The drop-in the test adds: a short watchdog (the agent's minimum for requestTimeoutSeconds 2
# is 14 s), and no core file from the watchdog's SIGABRT.
WATCHDOG_DROP_IN = "[Service]\nWatchdogSec=15s\nLimitCORE=0\nTimeoutStopSec=20s\n"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def wait_for(predicate, what):
    return support_wait_for(predicate, what, SAFETY_TIMEOUT)


def build_package(version=None):
    args = ["bash", os.path.join(REPO, "scripts", "build-package.sh")]
    if version:
        args += ["--version", version]
    p = subprocess.run(args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, PACKAGE_BUILD_DIR=PACKAGE_BUILD_DIR))
    if p.returncode != 0:
        raise AssertionError("build-package.sh failed:\n" + p.stderr)
    return os.path.join(REPO, p.stdout.strip().splitlines()[-1])


def depends_of(deb):
    """The packages that satisfy the .deb's Depends (the first of each alternative), as this
    machine has them installed (it built the package): debootstrap cannot resolve a virtual
    package such as libspdlog1.10-fmt9, so the real package that provides it is named."""
    field = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], check=True, text=True,
                           stdout=subprocess.PIPE).stdout
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Provides}\n"],
                               check=True, text=True, stdout=subprocess.PIPE).stdout
    provider = {}
    for line in installed.splitlines():
        package, _, provides = line.partition("\t")
        provider[package] = package
        for p in provides.split(","):
            provider.setdefault(p.split("(")[0].strip(), package)
    names = []
    for part in field.split(","):
        name = part.split("|")[0].split("(")[0].strip()
        if name:
            names.append(provider.get(name, name))
    return sorted(set(names))


_built = {}


def packages():
    """The package and a newer build of it, built once per test run."""
    if not _built:
        deb = build_package()
        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], check=True, text=True,
                                 stdout=subprocess.PIPE).stdout.strip()
        _built["deb"] = deb
        _built["newer_version"] = version + "+upgrade1"
        _built["newer_deb"] = build_package(_built["newer_version"])
    return _built["deb"], _built["newer_deb"], _built["newer_version"]


def skip_unless_able():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root")
    for tool in ("dpkg-buildpackage", "lintian", "systemd-nspawn", "debootstrap"):
        if shutil.which(tool) is None:
            raise unittest.SkipTest("missing %s (scripts/install-deps.sh --package-tools)" % tool)
    for b in (CONTROLPLANE, CLI):
        if not os.access(b, os.X_OK):
            raise unittest.SkipTest("missing %s" % b)


def can_lower_oom_score():
    return subprocess.run(["sh", "-c", "echo -1 >/proc/self/oom_score_adj"],
                          stderr=subprocess.DEVNULL).returncode == 0


class BootedDebian:
    """A Debian 12 root booted under systemd-nspawn; commands run in it through nsenter."""

    def __init__(self, root, name, log_path, binds_ro=()):
        self.root = root
        args = ["systemd-nspawn", "-q", "-b", "-D", root, "-M", name, "--register=no",
                "--keep-unit", "--console=passive", "--bind=/dev/fuse"]
        args += ["--bind-ro=%s:%s" % (src, dst) for src, dst in binds_ro]
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.nspawn = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=log)
        try:
            self.leader = wait_for(self._leader, "the container's systemd to start")
            state = wait_for(self._boot_state, "systemd to answer")
            if state not in ("running", "degraded"):
                raise AssertionError("the container's systemd is %r; nspawn said:\n%s"
                                     % (state, self.log_tail()))
        except BaseException:
            self.nspawn.kill()
            self.nspawn.wait()
            raise

    def _boot_state(self):
        """`systemctl is-system-running --wait` once systemd can answer it, else None.

        Until systemd has made its private socket, systemctl cannot connect and says nothing;
        until it has made /run/systemd/system, systemctl says "offline" (sd_booted() is false)
        without asking it. Both are moments early in the boot, not states to report.
        """
        state = self.run("systemctl", "is-system-running", "--wait",
                         check=False).stdout.strip()
        return None if state in ("", "offline") else state

    def log_tail(self, lines=40):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def _leader(self):
        """The container's PID 1 (nspawn's child once it is init in the new pid namespace:
        before, the child is nspawn's own set-up)."""
        if self.nspawn.poll() is not None:
            raise AssertionError("systemd-nspawn exited with %d" % self.nspawn.returncode)
        p = subprocess.run(["pgrep", "-P", str(self.nspawn.pid)], stdout=subprocess.PIPE,
                           text=True)
        for pid in p.stdout.split():
            try:
                with open("/proc/%s/status" % pid) as f:
                    status = f.read()
                with open("/proc/%s/comm" % pid) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            nspid = [line.split()[1:] for line in status.splitlines()
                     if line.startswith("NSpid:")]
            if nspid and nspid[0][-1] == "1" and len(nspid[0]) > 1 and comm == "systemd":
                return int(pid)
        return None

    def run(self, *cmd, check=True, timeout=SAFETY_TIMEOUT):
        p = subprocess.run(["nsenter", "-t", str(self.leader), "-a", "--"] + list(cmd),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env={"PATH": PATH, "LANG": "C.UTF-8", "SYSTEMD_PAGER": ""})
        if check and p.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode,
                                                            p.stdout, p.stderr))
        return p

    def path(self, inside):
        return os.path.join(self.root, inside.lstrip("/"))

    def show(self, prop, unit="batchai-agent"):
        return self.run("systemctl", "show", "-p", prop, "--value", unit).stdout.strip()

    def poweroff(self):
        if self.nspawn.poll() is None:
            self.run("systemctl", "poweroff", check=False)
            try:
                self.nspawn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()


class LintianTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        skip_unless_able()
        cls.deb, cls.newer_deb, _ = packages()

    def test_lintian_is_clean(self):
        for deb in (self.deb, self.newer_deb):
            p = subprocess.run(["lintian", "--fail-on", "error,warning", deb],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            tags = [line for line in p.stdout.splitlines() if line[:2] in ("E:", "W:")]
            self.assertEqual(tags, [], p.stdout)
            self.assertEqual(p.returncode, 0, p.stdout)


class PackageContentTest(unittest.TestCase):
    """What the package installs: the documentation its unit and man page point at is there,
    uncompressed (dh_compress gzips docs over 4 KB unless told not to), and the license."""

    @classmethod
    def setUpClass(cls):
        skip_unless_able()
        cls.deb, _, _ = packages()

    def setUp(self):
        self.tree = tempfile.mkdtemp(prefix="batchai-deb-")
        self.addCleanup(shutil.rmtree, self.tree, True)
        subprocess.run(["dpkg-deb", "-x", self.deb, self.tree], check=True)

    def installed(self, path):
        return os.path.join(self.tree, path.lstrip("/"))

    def test_the_units_and_man_pages_documentation_links_resolve(self):
        with open(self.installed("/lib/systemd/system/batchai-agent.service")) as f:
            unit = f.read()
        links = [word[len("file://"):] for line in unit.splitlines()
                 if line.startswith("Documentation=") for word in line.split("=", 1)[1].split()
                 if word.startswith("file://")]
        with gzip.open(self.installed("/usr/share/man/man8/batchai-agent.8.gz"), "rt") as f:
            links += re.findall(r"/usr/share/doc/batchai-agent/[\w.-]+", f.read())
        self.assertIn("/usr/share/doc/batchai-agent/README.md", links)
        self.assertGreater(len(links), 2)
        for path in links:
            self.assertTrue(os.path.isfile(self.installed(path)), path + " is not installed")

    def test_the_copyright_file_names_the_license(self):
        with open(self.installed("/usr/share/doc/batchai-agent/copyright")) as f:
            text = f.read()
        self.assertIn("License: Apache-2.0", text)
        self.assertNotIn("unchosen", text)


class PackageLifeTest(unittest.TestCase):
    """The whole life of the package on a booted Debian 12."""

    @classmethod
    def setUpClass(cls):
        skip_unless_able()
        cls.deb, cls.newer_deb, cls.newer_version = packages()

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-package-", dir="/var/tmp"))
        self.addCleanup(self.clean_up)
        self.machine = None
        self.cp = None
        tarball = debootstrap_tarball(
            "package-root", ["systemd-sysv", "dbus"] + depends_of(self.deb), CACHE_DIR)
        self.root = os.path.join(self.tmp, "root")
        os.makedirs(self.root)
        subprocess.run(["tar", "-C", self.root, "--numeric-owner", "-xf", tarball], check=True)
        debs = os.path.join(self.tmp, "debs")
        os.makedirs(debs)
        for deb in (self.deb, self.newer_deb):
            shutil.copy(deb, debs)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.token_file = os.path.join(self.tmp, "token")
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        node_token_file = os.path.join(self.tmp, "node-token")
        with open(os.open(node_token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(NODE_TOKEN + "\n")
        self.node_root = self.path_in_root("/mnt/batch/tasks")
        with open(os.path.join(self.tmp, "controlplane.log"), "ab") as log:
            self.cp = subprocess.Popen(
                [CONTROLPLANE, "--listen", "127.0.0.1:%d" % self.port,
                 "--state-dir", os.path.join(self.tmp, "cp-state"), "--insecure-http",
                 "--token-file", self.token_file, "--node-token-file", node_token_file,
                 "--node-root", self.node_root,
                 "--poll-wait-seconds", "20"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for(lambda: self.cli("cluster", "show", "-n", "default", check=False).returncode
                 == 0, "the control plane to answer")
        self.machine = BootedDebian(self.root, "batchai-pkg-%d" % os.getpid(),
                                    os.path.join(self.tmp, "nspawn.log"),
                                    binds_ro=[(debs, "/debs")])

    def path_in_root(self, inside):
        return os.path.join(self.root, inside.lstrip("/"))

    def clean_up(self):
        if self.machine is not None:
            try:
                self.journal_to_file()
            except Exception:  # noqa: BLE001 (best effort, for the failure's reader)
                pass
            self.machine.poweroff()
        if self.cp is not None and self.cp.poll() is None:
            self.cp.send_signal(signal.SIGTERM)
            self.cp.wait(timeout=30)
        unmount_below(self.tmp)
        if os.environ.get("BATCHAI_KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)

    def journal_to_file(self):
        p = self.machine.run("journalctl", "--no-pager", "-b", check=False)
        with open(os.path.join(self.tmp, "journal.txt"), "w") as f:
            f.write(p.stdout)

    def cli(self, *args, check=True):
        p = subprocess.run([CLI, "--server", self.url, "--token-file", self.token_file]
                           + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=SAFETY_TIMEOUT)
        if check and p.returncode != 0:
            raise AssertionError("batchai %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                 p.stderr))
        return p

    def wait_for_unit_log(self, text):
        """The unit's journal has `text` (journald stores what it receives asynchronously)."""
        wait_for(lambda: text in self.machine.run("journalctl", "-u", "batchai-agent",
                                                  "--no-pager").stdout,
                 "%r in the unit's journal" % text)

    def job(self, name):
        return json.loads(self.cli("job", "show", "-n", name).stdout)

    def node_counts(self):
        return json.loads(self.cli("cluster", "show", "-n", "default").stdout)["nodeStateCounts"]

    # --- the agent's unit --------------------------------------------------------------------

    def main_pid(self):
        return int(self.machine.show("MainPID"))

    def wait_active_with_new_pid(self, old_pid, what):
        def restarted():
            pid = self.main_pid()
            return (pid != 0 and pid != old_pid and self.machine.show("ActiveState") == "active"
                    and pid)
        return wait_for(restarted, what)

    def job_stdout(self):
        files = glob.glob(os.path.join(self.node_root, "**", "stdout.txt"), recursive=True)
        if not files:
            return ""
        with open(files[0], errors="replace") as f:
            return f.read()

    def ticks(self):
        return self.job_stdout().count("tick ")

    def job_supervisor(self):
        """The job's supervisor pid (in the container's pid namespace) while it runs."""
        for status in glob.glob(self.path_in_root("/var/lib/batchai-agent/jobs/*/status.json")):
            try:
                with open(status) as f:
                    s = json.load(f)
            except (OSError, ValueError):
                continue
            if s.get("state") == "running":
                return s["supervisorPid"]
        return None

    def assert_job_goes_on(self, supervisor, after):
        """The same supervisor is alive, the job's output grows, the control plane has it
        running."""
        self.assertTrue(self.machine.run("test", "-d", "/proc/%d" % supervisor,
                                         check=False).returncode == 0,
                        "the job's supervisor died (%s)" % after)
        self.assertEqual(self.job_supervisor(), supervisor, after)
        before = self.ticks()
        wait_for(lambda: self.ticks() > before + 2, "the job's output to grow after " + after)
        self.assertEqual(self.job("life")["executionState"], "running", after)

    def test_install_restart_upgrade_watchdog_purge(self):
        m = self.machine
        # 1. Install: enabled, and skipped while no control plane is configured.
        m.run("dpkg", "-i", "/debs/" + os.path.basename(self.deb))
        self.assertEqual(m.run("systemctl", "is-enabled", "batchai-agent").stdout.strip(),
                         "enabled")
        self.assertEqual(m.show("ActiveState"), "inactive")
        self.assertEqual(m.show("Result"), "exec-condition")
        self.wait_for_unit_log("not configured: set controlPlaneUrl")
        self.assertEqual(os.stat(self.path_in_root("/usr/sbin/batchai-agent")).st_mode & 0o777,
                         0o755)

        # 2. Configure, start: ready once registered.
        token = self.path_in_root("/etc/batchai-agent/token")
        with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(NODE_TOKEN + "\n")
        with open(self.path_in_root("/etc/batchai-agent/agent.json"), "w") as f:
            json.dump({"controlPlaneUrl": self.url, "allowInsecureHttp": True,
                       "tokenFile": "/etc/batchai-agent/token", "nodeId": NODE_ID,
                       "cluster": "default", "killGraceSeconds": 2,
                       "requestTimeoutSeconds": 2}, f)
        drop_in = self.path_in_root("/etc/systemd/system/batchai-agent.service.d")
        os.makedirs(drop_in)
        with open(os.path.join(drop_in, "test.conf"), "w") as f:
            f.write(WATCHDOG_DROP_IN)
        m.run("systemctl", "daemon-reload")
        m.run("systemctl", "start", "batchai-agent")  # returns once READY=1 came
        self.assertEqual(m.show("ActiveState"), "active")
        self.assertEqual(m.show("WatchdogUSec"), "15s")
        wait_for(lambda: m.show("StatusText") == "idle", "STATUS=idle")
        self.assertGreaterEqual(self.node_counts()["idleNodeCount"], 1)
        self.assertEqual(os.stat(self.path_in_root("/var/lib/batchai-agent")).st_mode & 0o777,
                         0o700)

        # 3. A job, and a restart while it runs.
        job = os.path.join(self.tmp, "life.json")
        with open(job, "w") as f:
            json.dump({"properties": {
                "nodeCount": 1, "stdOutErrPathPrefix": "$AZ_BATCHAI_MOUNT_ROOT/logs",
                "customToolkitSettings": {"commandLine":
                    "echo started; echo oom_score_adj $(cat /proc/self/oom_score_adj); i=0; while [ ! -e /var/tmp/go ]; do i=$((i+1)); "
                    "echo tick $i; sleep 0.2; done; echo finished after $i ticks"}}}, f)
        self.cli("job", "create", "-n", "life", "-f", job)
        wait_for(lambda: self.job("life")["executionState"] == "running", "the job to run")
        supervisor = wait_for(self.job_supervisor, "the job's supervisor")
        self.assertEqual(m.run("cat", "/proc/%d/comm" % supervisor).stdout.strip(),
                         "batchai-job")
        wait_for(lambda: self.ticks() >= 3, "the job's output")
        wait_for(lambda: m.show("StatusText") == "running", "STATUS=running")
        # The agent is the last to go under memory pressure; the job is never protected.
        # (Where this machine lacks CAP_SYS_RESOURCE, systemd cannot lower the agent's score.)
        if can_lower_oom_score():
            self.assertEqual(
                m.run("cat", "/proc/%d/oom_score_adj" % self.main_pid()).stdout.strip(), "-500")
        self.assertIn("oom_score_adj 0\n", self.job_stdout())

        pid = self.main_pid()
        m.run("systemctl", "restart", "batchai-agent")
        self.wait_active_with_new_pid(pid, "the agent to restart")
        self.assert_job_goes_on(supervisor, "systemctl restart")

        # 4. An upgrade while the job runs: the package restarts the agent.
        pid = self.main_pid()
        m.run("dpkg", "-i", "/debs/" + os.path.basename(self.newer_deb))
        self.assertEqual(m.run("dpkg-query", "-W", "-f", "${Version}",
                               "batchai-agent").stdout, self.newer_version)
        self.wait_active_with_new_pid(pid, "the upgraded agent")
        with open(self.path_in_root("/etc/batchai-agent/agent.json")) as f:
            self.assertEqual(json.load(f)["nodeId"], NODE_ID, "the edited conffile was kept")
        self.assert_job_goes_on(supervisor, "the upgrade")

        # 5. kill -9 of the agent: systemd starts it again.
        pid = self.main_pid()
        m.run("sh", "-c", "kill -KILL %d" % pid)
        self.wait_active_with_new_pid(pid, "systemd to restart the killed agent")
        self.assert_job_goes_on(supervisor, "kill -9")

        # 6. A frozen agent: the watchdog kills it, systemd starts it again.
        pid = self.main_pid()
        m.run("sh", "-c", "kill -STOP %d" % pid)
        self.wait_active_with_new_pid(pid, "the watchdog to restart the frozen agent")
        self.wait_for_unit_log("Watchdog timeout")
        self.assert_job_goes_on(supervisor, "the watchdog's restart")

        # 7. The job ends: the control plane has all of it.
        open(self.path_in_root("/var/tmp/go"), "w").close()
        wait_for(lambda: self.job("life")["executionState"] in ("succeeded", "failed"),
                 "the job to end")
        final = self.job("life")
        self.assertEqual(final["executionState"], "succeeded", final)
        out = self.job_stdout()
        self.assertIn("started", out)
        ticks = int(out.split("finished after ")[1].split()[0])
        self.assertEqual(out.count("tick "), ticks, "every line of the job's output is there")
        wait_for(lambda: m.show("StatusText") == "idle", "STATUS=idle after the job")

        # 8. The journal: fields to filter on, and no secret.
        by_job = m.run("journalctl", "-u", "batchai-agent", "--no-pager", "-o", "json",
                       "JOB_NAME=life").stdout.splitlines()
        self.assertTrue(by_job, "no journal entry has JOB_NAME=life")
        entry = json.loads(by_job[0])
        self.assertEqual(entry.get("NODE_ID"), NODE_ID)
        self.assertTrue(entry.get("TASK_ID"))
        everything = m.run("journalctl", "--no-pager", "-o", "export").stdout
        self.assertNotIn(TOKEN, everything)
        self.assertNotIn(NODE_TOKEN, everything)
        argv = m.run("sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '", check=False).stdout
        self.assertIn("batchai-agent", argv)  # the agent runs, and its argv was read
        self.assertNotIn(TOKEN, argv)
        self.assertNotIn(NODE_TOKEN, argv)

        # 9. Stop, purge: nothing of it is left.
        m.run("systemctl", "stop", "batchai-agent")
        self.assertEqual(m.show("ActiveState"), "inactive")
        m.run("dpkg", "--purge", "batchai-agent")
        for path in ("/etc/batchai-agent", "/var/lib/batchai-agent", "/run/batchai-agent",
                     "/usr/sbin/batchai-agent", "/lib/systemd/system/batchai-agent.service",
                     "/usr/libexec/batchai-agent"):
            self.assertFalse(os.path.lexists(self.path_in_root(path)), path + " is left")
        self.assertNotEqual(m.run("dpkg-query", "-W", "batchai-agent", check=False).returncode,
                            0)


if __name__ == "__main__":
    unittest.main()
