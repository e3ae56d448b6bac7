"""Several agent daemons on one machine, each in its own Linux network namespace with its own
address on a bridge the fixture makes, all talking to one reference control plane: the fixture
of the multi-node suites. One machine cannot give each agent its own host, but a namespace gives
it its own interfaces, so the address it reports, the one the control plane hands to the job's
other tasks, and the traffic between tasks are those of separate nodes. Needs root and iproute2.

Layout, for NODES = n (X: six hex characters unique to the test, N: a free 10.213.N.0/24):

    bridge  baiX          10.213.N.1/24   host namespace; the control plane listens here
    node i  ns bai-X-i    10.213.N.(i+2)  veth baiXh<i> (on the bridge) <-> baiXn<i> (in ns)

Every resource is removed by a cleanup registered right after it is made, so a failure anywhere
(setUp included) leaves no namespace, link, firewall rule, process or mount behind.

Tests wait for states and files, never for time (tests/support/common.py).
"""

import fcntl
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from tests.support.common import (AGENT, CLI, CONTROLPLANE, SAFETY_TIMEOUT, free_port, log_tail,
                                  port_accepts, read_json, require_root_and_binaries,
                                  stop_processes, wait_for)

# Where a /24 for the bridge is looked for: 10.213.0.0/24 ... 10.213.255.0/24.
SUBNET_BASE = "10.213.%d.0/24"
# Held while a /24 is chosen and given to the bridge, so that two suites run side by side
# (ctest -j) never pick the same one.
SUBNET_LOCK = "/run/batchai-netns-cluster.lock"
UTS_DIR = "/run/batchai-uts"  # the nodes' UTS namespaces, bound to files as ip netns does

# A TCP listener for the reachability checks: answers "ok" to every connection, prints its port
# once it listens, ends when its stdin closes (so the fixture ends it without a signal).
_LISTENER = r"""
import select, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    ready, _, _ = select.select([s, sys.stdin], [], [])
    if sys.stdin in ready and not sys.stdin.buffer.read1(1):
        break
    if s in ready:
        c, _ = s.accept()
        c.sendall(b"ok")
        c.close()
"""

# One connection attempt: exit status 0 when the listener answered "ok".
_CONNECTOR = r"""
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as c:
        sys.exit(0 if c.recv(2) == b"ok" else 1)
except OSError:
    sys.exit(1)
"""


def _ip(*args, check=True):
    """Runs `ip ARGS`; a failure names the command and what ip said."""
    p = subprocess.run(["ip"] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=SAFETY_TIMEOUT)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                      p.stderr.decode().strip()))
    return p


def _used_ipv4_networks():
    """The IPv4 networks the host already has an address in or a route to (not the default
    route): a bridge /24 must not overlap any of them, or traffic would go astray."""
    nets = []
    for line in _ip("-o", "-4", "addr", "show").stdout.decode().splitlines():
        words = line.split()
        if "inet" in words:
            nets.append(ipaddress.ip_interface(words[words.index("inet") + 1]).network)
    for line in _ip("-4", "route", "show", "table", "all").stdout.decode().splitlines():
        words = line.split()
        # "PREFIX dev ..." or "TYPE PREFIX ..." (local, broadcast, unreachable, ...)
        for w in words[:2]:
            try:
                nets.append(ipaddress.ip_network(w, strict=False))
                break
            except ValueError:
                continue
    return nets


class NetnsCluster(unittest.TestCase):
    """NODES agents, node i in namespace ns(i) at node_ip(i), and one control plane on the
    bridge's host address, in a scratch directory."""

    NODES = 3
    # The control plane's --poll-wait-seconds and, when set, --node-lost-seconds.
    POLL_WAIT_SECONDS = 20
    NODE_LOST_SECONDS = None

    # How an agent enters its namespace. False (the default): `nsenter --net=/run/netns/NS`,
    # which changes the network namespace only. True: `ip netns exec NS`, which also unshares
    # the mount namespace and remounts /sys for the network namespace; that hides the cgroup2
    # hierarchy mounted below /sys/fs/cgroup (so job supervisors run without a job cgroup, see
    # exec/job_cgroup.cpp own_cgroup_dir) and keeps the agent's mounts out of the host's view
    # (so the control plane, which serves job files from --node-root, cannot see them).
    AGENT_VIA_IP_NETNS_EXEC = False

    @classmethod
    def setUpClass(cls):
        require_root_and_binaries()
        if shutil.which("ip") is None or shutil.which("nsenter") is None:
            raise unittest.SkipTest("needs ip (iproute2) and nsenter (util-linux)")
        # Namespaces may be refused (a container without CAP_SYS_ADMIN, a kernel without
        # CONFIG_NET_NS): try one before building anything on them.
        probe = "bai-probe-%s" % os.urandom(3).hex()
        made = _ip("netns", "add", probe, check=False)
        if made.returncode != 0:
            raise unittest.SkipTest("ip netns is unusable here: %s" % made.stderr.decode().strip())
        _ip("netns", "del", probe, check=False)

    def setUp(self):
        self.tmp = os.path.realpath(tempfile.mkdtemp(prefix="batchai-netns-"))
        self.addCleanup(self._remove_scratch)
        self.tag = os.urandom(3).hex()
        self.bridge = "bai" + self.tag
        self.cp = None
        self.agents = {}
        self._make_network()
        self.check_network()
        self.addCleanup(self._stop_processes)
        self.port = free_port()
        self.url = "http://%s:%d" % (self.bridge_ip, self.port)
        self.start_controlplane()
        self.start_node_services()
        for i in range(self.NODES):
            self.start_agent(i, wait_idle=False)
        self.wait_all_idle()

    def start_node_services(self):
        """Hook: what the nodes need before their agents start (a suite's dockerds)."""

    def agent_settings(self, i):
        """Hook: node i's agent.json settings beyond the test defaults."""
        return {}

    # --- names and addresses -----------------------------------------------------------------

    def ns(self, i):
        return "bai-%s-%d" % (self.tag, i)

    def node_ip(self, i):
        return str(self.subnet.network_address + i + 2)

    def node_id(self, i):
        return "node-%d" % i

    def node_dir(self, i):
        return os.path.join(self.tmp, "node-%d" % i)

    def node_root(self, i):
        return os.path.join(self.node_dir(i), "root")

    def node_tmp(self, i):
        path = os.path.join(self.node_dir(i), "tmp")
        os.makedirs(path, exist_ok=True)
        return path

    def node_state_dir(self, i):
        return os.path.join(self.node_dir(i), "state")

    def _host_veth(self, i):
        return "%sh%d" % (self.bridge, i)

    def _ns_veth(self, i):
        return "%sn%d" % (self.bridge, i)

    # --- the network -------------------------------------------------------------------------

    def _make_network(self):
        """The bridge with a free /24, the firewall opening it may need, and per node a
        namespace joined to the bridge by a veth pair."""
        os.makedirs(os.path.dirname(SUBNET_LOCK), exist_ok=True)
        with open(SUBNET_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            used = _used_ipv4_networks()
            free = [n for n in (ipaddress.ip_network(SUBNET_BASE % k) for k in range(256))
                    if not any(n.overlaps(u) for u in used)]
            if not free:
                raise unittest.SkipTest("no free /24 in 10.213.0.0/16 for the bridge")
            self.subnet = random.choice(free)
            self.bridge_ip = str(self.subnet.network_address + 1)
            _ip("link", "add", "name", self.bridge, "type", "bridge")
            self.addCleanup(self._delete_link, self.bridge)
            _ip("addr", "add", "%s/24" % self.bridge_ip, "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        self._open_firewall()
        for i in range(self.NODES):
            ns = self.ns(i)
            _ip("netns", "add", ns)
            self.addCleanup(self._delete_namespace, ns)
            _ip("link", "add", self._host_veth(i), "type", "veth", "peer", "name",
                self._ns_veth(i))
            # Deleting either end deletes the pair; the namespace's end goes with it too.
            self.addCleanup(self._delete_link, self._host_veth(i))
            _ip("link", "set", self._host_veth(i), "master", self.bridge)
            _ip("link", "set", self._host_veth(i), "up")
            _ip("link", "set", self._ns_veth(i), "netns", ns)
            _ip("-n", ns, "addr", "add", "%s/24" % self.node_ip(i), "dev", self._ns_veth(i))
            _ip("-n", ns, "link", "set", self._ns_veth(i), "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            self._make_uts(i)

    def uts_file(self, i):
        return os.path.join(UTS_DIR, self.ns(i))

    def _make_uts(self, i):
        """A UTS namespace per node, whose hostname is the node's id: each machine of a
        cluster has its own name, and OpenMPI takes ranks on hosts of one name for ranks on
        one machine (it would join them through shared memory they do not share)."""
        os.makedirs(UTS_DIR, exist_ok=True)
        path = self.uts_file(i)
        open(path, "w").close()
        self.addCleanup(self._delete_uts, path)
        subprocess.run(["unshare", "--uts=%s" % path, "hostname", self.node_id(i)], check=True)

    @staticmethod
    def _delete_uts(path):
        subprocess.run(["umount", path], stderr=subprocess.DEVNULL, check=False)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _open_firewall(self):
        """Lets the bridge's traffic through iptables where iptables would see it at all.

        With br_netfilter loaded (docker loads it) bridged frames traverse the FORWARD chain,
        and docker sets its policy to DROP; traffic to the bridge's own address traverses
        INPUT. Only a chain that could drop something (a policy other than ACCEPT, or any
        rule) gets a rule, scoped to this bridge and deleted at teardown; on a plain host
        nothing is touched. Without iptables the reachability check decides (check_network).
        """
        self.iptables_rules = []
        iptables = shutil.which("iptables")
        if iptables is None:
            return
        chains = [("INPUT", ["-i", self.bridge])]
        try:
            with open("/proc/sys/net/bridge/bridge-nf-call-iptables") as f:
                if f.read().strip() == "1":
                    chains.append(("FORWARD", ["-i", self.bridge, "-o", self.bridge]))
        except OSError:
            pass  # no br_netfilter: bridged frames never reach iptables
        for chain, match in chains:
            listed = subprocess.run([iptables, "-w", "-S", chain], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            if listed.returncode != 0:
                continue  # no such table here: nothing there to drop the traffic
            if listed.stdout.decode().strip() == "-P %s ACCEPT" % chain:
                continue  # nothing in the chain could drop it
            rule = [chain] + match + ["-j", "ACCEPT"]
            subprocess.run([iptables, "-w", "-I"] + rule, check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            self.iptables_rules.append(rule)
            self.addCleanup(subprocess.run, [iptables, "-w", "-D"] + rule,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def check_network(self):
        """Waits until every namespace reaches the bridge's address and namespace 0 reaches
        every other namespace, over TCP. Skips when traffic does not flow and iptables, which
        could have let it through, is absent."""
        listeners = []
        try:
            host = self._start_listener(None)
            listeners.append(host[0])
            for i in range(self.NODES):
                self.wait_connects(i, self.bridge_ip, host[1])
            for j in range(1, self.NODES):
                proc, port = self._start_listener(j)
                listeners.append(proc)
                self.wait_connects(0, self.node_ip(j), port)
        except AssertionError as e:
            if shutil.which("iptables") is None:
                raise unittest.SkipTest("bridged traffic does not flow and there is no iptables "
                                        "to let it through: %s" % e)
            raise
        finally:
            for proc in listeners:
                self._end_listener(proc)

    def _enter(self, i):
        """The command prefix that runs a program in node i's network namespace."""
        if i is None:
            return []
        return ["ip", "netns", "exec", self.ns(i)]

    def run_in_ns(self, i, argv, check=True, **kwargs):
        """Runs argv in node i's namespace (`ip netns exec`) and returns the CompletedProcess;
        check fails the test on a non-zero status."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("timeout", SAFETY_TIMEOUT)
        p = subprocess.run(self._enter(i) + list(argv), **kwargs)
        if check and p.returncode != 0:
            raise AssertionError("in %s: %s failed (%d): %s" % (
                self.ns(i), " ".join(argv), p.returncode,
                p.stderr.decode(errors="replace") if isinstance(p.stderr, bytes) else p.stderr))
        return p

    def listen(self, i):
        """Starts a TCP listener on node i's address (i None: the bridge's, in the host) that
        answers "ok" to each connection, ended at teardown; returns its port once it listens."""
        proc, port = self._start_listener(i)
        self.addCleanup(self._end_listener, proc)
        return port

    def _start_listener(self, i):
        ip = self.bridge_ip if i is None else self.node_ip(i)
        proc = subprocess.Popen(self._enter(i) + [sys.executable, "-c", _LISTENER, ip],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = proc.stdout.readline()  # blocks until it listens, or it ended
        if not line.strip():
            self._end_listener(proc)
            raise AssertionError("the listener on %s did not start (status %s)"
                                 % (ip, proc.returncode))
        return proc, int(line)

    @staticmethod
    def _end_listener(proc):
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=SAFETY_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def connects(self, i, ip, port):
        """One attempt from node i's namespace (None: the host) to a listener of listen()."""
        p = subprocess.run(self._enter(i) + [sys.executable, "-c", _CONNECTOR, ip, str(port)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=SAFETY_TIMEOUT)
        return p.returncode == 0

    def wait_connects(self, i, ip, port):
        """Waits until a connection from node i's namespace to ip:port gets its answer (a link
        just set up may take a moment to carry traffic)."""
        wait_for(lambda: self.connects(i, ip, port),
                 "%s to reach %s:%d" % ("the host" if i is None else self.ns(i), ip, port))

    def _delete_namespace(self, ns):
        """Ends whatever still runs in the namespace (it would keep it, and its veth, alive
        past `ip netns del`), then deletes it."""
        def pids():
            p = _ip("netns", "pids", ns, check=False)
            return [int(w) for w in p.stdout.decode().split()] if p.returncode == 0 else []
        for pid in pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not pids(), "the processes in %s to end" % ns)
        _ip("netns", "del", ns, check=False)

    @staticmethod
    def _delete_link(name):
        if os.path.exists("/sys/class/net/%s" % name):
            _ip("link", "del", name, check=False)

    def leftovers(self):
        """Namespaces and links of this test that still exist: [] after teardown."""
        found = [n for n in _ip("netns", "list").stdout.decode().split() if self.tag in n]
        found += [n for n in os.listdir("/sys/class/net") if self.tag in n]
        if os.path.isdir(UTS_DIR):
            found += [n for n in os.listdir(UTS_DIR) if self.tag in n]
        return found

    # --- teardown ----------------------------------------------------------------------------

    def _stop_processes(self):
        """SIGTERM to the agents and the control plane (SIGKILL after a timeout), then ends
        the job supervisors the nodes left: jobs outlive the agent by design."""
        stop_processes(list(self.agents.values()) + [self.cp])
        for status in self.status_files():
            try:
                pid = read_json(status).get("supervisorPid", 0)
                if pid and self.supervisor_alive(status):
                    os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                pass
        wait_for(lambda: not any(self.supervisor_alive(s) for s in self.status_files()),
                 "supervisors to end")

    def _remove_scratch(self):
        subprocess.run(["umount", "-R", "-l", self.tmp], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def status_files(self):
        """Every node's job status files."""
        found = []
        for i in range(self.NODES):
            jobs = os.path.join(self.node_state_dir(i), "jobs")
            if os.path.isdir(jobs):
                found += [os.path.join(jobs, d, "status.json") for d in os.listdir(jobs)
                          if os.path.exists(os.path.join(jobs, d, "status.json"))]
        return found

    @staticmethod
    def supervisor_alive(status_file):
        try:
            s = read_json(status_file)
        except (OSError, ValueError):
            return False
        if s["state"] not in ("running", "terminating"):
            return False
        # A supervisor that exited waits as a zombie until init reaps it, which some inits do
        # lazily: it has ended all the same.
        try:
            with open("/proc/%d/stat" % s["supervisorPid"]) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    # --- processes ---------------------------------------------------------------------------

    def start_controlplane(self):
        """The control plane, in the host namespace on the bridge's address.

        --node-root is node 0's root: the option names the one directory the control plane
        serves job files (`batchai job file list/stream`) from, for a single node. With
        several nodes only the files of tasks that ran on node 0 (task 0 of a job on nodes
        0..k, or a 1-node job placed there) can be read that way; tests read other nodes'
        files below node_root(i) directly. Leaving it out would make every file route answer
        FilesNotReachable.
        """
        self.cp_log = os.path.join(self.tmp, "controlplane.log")
        with open(self.cp_log, "ab") as log:
            self.cp = subprocess.Popen(
                [CONTROLPLANE, "--listen", "%s:%d" % (self.bridge_ip, self.port),
                 "--state-dir", os.path.join(self.tmp, "cp-state"), "--insecure-http",
                 "--node-root", self.node_root(0),
                 "--poll-wait-seconds", str(self.POLL_WAIT_SECONDS)]
                + (["--node-lost-seconds", str(self.NODE_LOST_SECONDS)]
                   if self.NODE_LOST_SECONDS else []),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for(lambda: port_accepts(self.port, self.bridge_ip) or self.cp.poll() is not None,
                 "the control plane to listen")
        if self.cp.poll() is not None:
            raise AssertionError("the control plane exited (%d)%s"
                                 % (self.cp.returncode, log_tail(self.cp_log)))

    def stop_controlplane(self):
        self.cp.send_signal(signal.SIGTERM)
        self.cp.wait(timeout=30)

    def agent_config(self, i):
        return os.path.join(self.node_dir(i), "agent.json")

    def start_agent(self, i, wait_idle=True, **settings):
        """Writes node i's agent.json (settings added to the test defaults) and starts its
        agent daemon in namespace ns(i); wait_idle waits until the control plane has node i
        idle."""
        os.makedirs(self.node_dir(i), exist_ok=True)
        with open(self.agent_config(i), "w") as f:
            json.dump(dict({"controlPlaneUrl": self.url, "allowInsecureHttp": True,
                            "nodeId": self.node_id(i), "cluster": "default",
                            "root": self.node_root(i), "stateDir": self.node_state_dir(i),
                            "killGraceSeconds": 2, "requestTimeoutSeconds": 5,
                            # Each machine has its own /tmp and /dev/shm: OpenMPI keeps its
                            # session files and shared-memory segments there, named by hostname
                            # and local rank.
                            "environment": {
                                "TMPDIR": self.node_tmp(i),
                                "OMPI_MCA_btl_vader_backing_directory": self.node_tmp(i)}},
                           **dict(self.agent_settings(i), **settings)), f)
        # Both exec the agent: the Popen's pid is the agent's, signals reach it directly.
        with open(self.agent_log_path(i), "ab") as log:
            self.agents[i] = subprocess.Popen(
                self.node_enter(i) + [AGENT, "daemon", "--config", self.agent_config(i)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if wait_idle:
            self.wait_node_state(i, "idle")

    def node_enter(self, i):
        """The command prefix that runs a node's daemon (its agent, its dockerd) in node i's
        network and UTS namespaces, in the host's mount namespace (the node's mounts are the
        host's, as the agent's shared job temp and a dockerd's binds need)."""
        if self.AGENT_VIA_IP_NETNS_EXEC:
            return ["ip", "netns", "exec", self.ns(i)]
        return ["nsenter", "--net=/run/netns/%s" % self.ns(i), "--uts=%s" % self.uts_file(i),
                "--"]

    def stop_agent(self, i, sig=signal.SIGTERM):
        """Signals node i's agent and waits for it to exit; returns its exit status."""
        proc = self.agents[i]
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout=SAFETY_TIMEOUT)

    def kill_agent(self, i):
        return self.stop_agent(i, signal.SIGKILL)

    def agent_log_path(self, i):
        return os.path.join(self.node_dir(i), "agent.log")

    def agent_log(self, i):
        with open(self.agent_log_path(i), errors="replace") as f:
            return f.read()

    # --- the control plane's view ------------------------------------------------------------

    def cp_state(self):
        """The control plane's state.json (written by rename, so always whole)."""
        return read_json(os.path.join(self.tmp, "cp-state", "state.json"))

    def node_record(self, i):
        """Node i's record in the control plane's state, None before it registered."""
        return self.cp_state().get("nodes", {}).get(self.node_id(i))

    def node_host(self, i):
        """The address the control plane gives the other tasks of a job for node i: its first
        reported IPv4 address, else its host name (controlplane/scheduler.cpp host_of)."""
        facts = self.node_record(i)["facts"]
        return facts["ipAddresses"][0] if facts.get("ipAddresses") else facts["hostname"]

    def wait_node_state(self, i, *states):
        def reached():
            r = self.node_record(i)
            return r is not None and r["nodeState"] in states and r
        try:
            return wait_for(reached, "%s to be %s" % (self.node_id(i), "/".join(states)))
        except AssertionError as e:
            raise AssertionError("%s%s" % (e, log_tail(self.agent_log_path(i)))) from None

    def idle_nodes(self):
        p = self.cli("cluster", "show", "-n", "default", check=False)
        if p.returncode != 0:
            return 0
        return json.loads(p.stdout)["nodeStateCounts"]["idleNodeCount"]

    def wait_all_idle(self):
        """Waits until all NODES nodes have registered and are idle."""
        wait_for(lambda: self.idle_nodes() >= self.NODES,
                 "all %d nodes to register and be idle" % self.NODES)

    # --- the CLI -----------------------------------------------------------------------------

    def cli(self, *args, check=True):
        # --insecure-http: the server is on the bridge, not loopback, so the CLI wants it said.
        p = subprocess.run([CLI, "--server", self.url, "--insecure-http"] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=SAFETY_TIMEOUT)
        if check and p.returncode != 0:
            raise AssertionError("batchai %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                 p.stderr.decode()))
        return p

    def job(self, name):
        return json.loads(self.cli("job", "show", "-n", name).stdout)

    def wait_state(self, name, *states):
        return wait_for(lambda: self.job(name)["executionState"] in states and self.job(name),
                        "job %s to be %s" % (name, "/".join(states)))

    def create(self, name, props):
        """Creates job name from its full properties (nodeCount, customToolkitSettings, ...)."""
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump({"properties": props}, f)
        self.cli("job", "create", "-n", name, "-f", path)
