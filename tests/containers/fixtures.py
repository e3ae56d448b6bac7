"""A real dockerd and a real registry for the container tests, plus the images the jobs run.

Python 3 standard library only. Everything a server writes lives below the temporary directory
the test hands to start() (the one exception: Dockerd's persistent data root, see below); stop()
ends the processes this module started, by their PID, and unmounts what they left mounted.
scripts/install-test-servers.sh installs what is needed (docker.io, docker-registry,
apache2-utils, busybox-static, debootstrap). Nothing reaches a public registry: images are built
here from busybox-static or a debootstrap root and imported through the Engine API.

    d = Dockerd().start(tmp)                       # d.socket: the Engine API's unix socket
    status, info = d.api("GET", "/version")        # JSON decoded; bytes for other bodies
    build_busybox_image(d)                         # "batchai-test/busybox:1", CMD ["/bin/sh"]
    build_python_image(d)                          # "batchai-test/python:1": python3, numpy,
                                                   #   sklearn (debootstrap, cached per machine)
    reg = Registry().start(tmp, {"alice": "pw-1"}) # 127.0.0.1:PORT, htpasswd (bcrypt) auth
    ref = reg.push(d, "batchai-test/busybox:1", "jobs/busybox", user="alice", password="pw-1")
    ...                                            # ref == "127.0.0.1:PORT/jobs/busybox:latest"
    reg.stop(); d.stop()

Dockerd keeps its images between runs in a data root under CACHE_DIR
(/var/cache/batchai-tests/containers/docker-data) when no other fixture uses it (an flock
decides); otherwise, or with Dockerd(persistent=False), it uses a fresh one in the temporary
directory. The persistent one is cleaned of containers and registry tags at start. The debootstrap
root of the python image is kept as a tarball in CACHE_DIR, so it is built once per machine.

Nothing here sleeps to synchronise: readiness is a socket that answers, polled with a generous
overall timeout that only guards against a server that never comes up.
"""

import base64
import fcntl
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.parse

from tests.support.common import free_port, log_tail, mounts_below, port_is_free, wait_port

CACHE_DIR = os.environ.get("BATCHAI_CONTAINER_CACHE") or "/var/cache/batchai-tests/containers"
MIRROR = os.environ.get("BATCHAI_DEBIAN_MIRROR") or "http://deb.debian.org/debian"
API_VERSION = "v1.41"  # what docker.io 20.10 (Debian 12) serves

BUSYBOX_TAG = "batchai-test/busybox:1"
PYTHON_TAG = "batchai-test/python:1"
PYTHON_PACKAGES = ("python3", "python3-numpy", "python3-sklearn")
SUITE = "bookworm"

START_TIMEOUT = 60.0  # only a guard against a server that never comes up
STOP_TIMEOUT = 60.0
POLL_INTERVAL = 0.02
LOOPBACK = "127.0.0.1"
LABEL_RECIPE = "batchai.test.recipe"


def _sbin_env():
    env = dict(os.environ)
    path = env.get("PATH", "")
    for d in ("/usr/local/sbin", "/usr/sbin", "/sbin"):
        if d not in path.split(":"):
            path = path + ":" + d if path else d
    env["PATH"] = path
    return env


def available():
    """None when dockerd can run here, else why not (for skipTest)."""
    if os.geteuid() != 0:
        return "needs root"
    env = _sbin_env()
    for tool in ("dockerd", "containerd", "runc"):
        if not shutil.which(tool, path=env["PATH"]):
            return "%s is not installed (scripts/install-test-servers.sh)" % tool
    return None


# --- processes and mounts ------------------------------------------------------------------------

ENGINE_PROGRAMS = ("dockerd", "containerd", "docker-", "runc", "conmon", "podman")


def processes_mentioning(text, programs=ENGINE_PROGRAMS):
    """PIDs of engine processes whose command line contains text (a path unique to one fixture).

    Only programs whose argv[0] base name starts with one of programs count, so a shell that
    merely has the path in its script is never taken for one.
    """
    needle = text.encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        argv0 = os.path.basename(cmdline.split(b"\0", 1)[0]).decode("utf-8", "replace")
        if needle in cmdline and argv0.startswith(programs):
            pids.append(int(entry))
    return pids


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def _kill_pids(pids, timeout=STOP_TIMEOUT):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while any(_pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)


def unmount_below(*dirs):
    for point in mounts_below(*dirs):
        subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=_sbin_env())


# --- Engine API over a unix socket ---------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over AF_UNIX (the Host header says "docker"; dockerd ignores it)."""

    def __init__(self, path, timeout=120.0):
        super().__init__("docker", timeout=timeout, blocksize=1 << 20)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class EngineError(Exception):
    def __init__(self, status, body, what=""):
        msg = body.get("message") if isinstance(body, dict) else body
        if isinstance(msg, bytes):
            msg = msg[:500].decode("utf-8", "replace")
        super().__init__("%s%d: %s" % (what + ": " if what else "", status, msg))
        self.status = status
        self.body = body


def json_messages(data):
    """The JSON objects of a progress stream (pull, push, import, build): one object per line."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(data) and data[i] in " \t\r\n":
            i += 1
        if i >= len(data):
            return out
        obj, i = dec.raw_decode(data, i)
        out.append(obj)


def stream_error(messages):
    """The first error message in a progress stream, or None (pulls report errors in-band)."""
    for m in messages:
        if isinstance(m, dict) and ("error" in m or "errorDetail" in m):
            return (m.get("errorDetail") or {}).get("message") or m.get("error")
    return None


STDIN, STDOUT, STDERR = 0, 1, 2


def demux(data):
    """Splits the multiplexed stream of attach/logs (Tty false) into [(stream, payload)].

    Each frame: 1 byte stream (0 stdin, 1 stdout, 2 stderr), 3 zero bytes, 4 bytes big-endian
    length, then the payload. Returns (frames, rest): rest is an incomplete trailing frame.
    """
    frames, i = [], 0
    while i + 8 <= len(data):
        n = int.from_bytes(data[i + 4:i + 8], "big")
        if i + 8 + n > len(data):
            break
        frames.append((data[i], bytes(data[i + 8:i + 8 + n])))
        i += 8 + n
    return frames, bytes(data[i:])


def registry_auth(username, password, serveraddress):
    """The X-Registry-Auth header value: base64url (with padding) of the JSON auth config."""
    blob = json.dumps({"username": username, "password": password,
                       "serveraddress": serveraddress}).encode()
    return base64.urlsafe_b64encode(blob).decode("ascii")


class Engine:
    """The few Engine API calls the tests need, over dockerd's unix socket."""

    def __init__(self, socket_path, version=API_VERSION, timeout=120.0):
        self.socket_path = socket_path
        self.version = version
        self.timeout = timeout

    def _url(self, path, query):
        if self.version and not path.startswith("/v1.") and path != "/_ping":
            path = "/" + self.version + path
        if query:
            path += "?" + urllib.parse.urlencode(query, doseq=True)
        return path

    def open(self, method, path, body=None, query=None, headers=None, timeout=None):
        """Sends a request; returns (connection, response) for the caller to read and close.

        body: dict/list (sent as JSON), bytes, or a binary file object (sent with its size).
        """
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif hasattr(body, "read"):
            hdrs.setdefault("Content-Length", str(os.fstat(body.fileno()).st_size))
            hdrs.setdefault("Content-Type", "application/x-tar")
        conn = UnixHTTPConnection(self.socket_path, timeout or self.timeout)
        try:
            conn.request(method, self._url(path, query), body=body, headers=hdrs)
            return conn, conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def request(self, method, path, body=None, query=None, headers=None, timeout=None):
        """Returns (status, content type, body bytes)."""
        conn, resp = self.open(method, path, body, query, headers, timeout)
        try:
            return resp.status, resp.getheader("Content-Type", ""), resp.read()
        finally:
            conn.close()

    def api(self, method, path, body=None, query=None, headers=None, timeout=None):
        """Returns (status, decoded JSON) for JSON answers, else (status, bytes)."""
        status, ctype, data = self.request(method, path, body, query, headers, timeout)
        if ctype.startswith("application/json") and data.strip():
            try:
                return status, json.loads(data)
            except ValueError:
                return status, json_messages(data)  # progress streams say application/json too
        return status, data

    def ping(self, timeout=2.0):
        try:
            status, _, data = self.request("GET", "/_ping", timeout=timeout)
        except OSError:
            return False
        return status == 200 and data == b"OK"

    def hijack(self, method, path, query=None, body=b"", timeout=None):
        """A request that upgrades the connection (attach): returns (status, headers, sock, rest).

        After "101 UPGRADED" (or 200) the socket carries the raw stream; rest holds bytes read
        past the header. The caller closes sock.
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout or self.timeout)
        s.connect(self.socket_path)
        head = ("%s %s HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (method, self._url(path, query), len(body)))
        s.sendall(head.encode() + body)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        header, _, rest = buf.partition(b"\r\n\r\n")
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        headers = dict(l.split(": ", 1) for l in lines[1:] if ": " in l)
        return status, headers, s, rest

    # --- conveniences (raise EngineError on failure) ---

    def checked(self, method, path, ok=(200, 201, 204), what="", **kw):
        status, body = self.api(method, path, **kw)
        if status not in ok:
            raise EngineError(status, body, what or "%s %s" % (method, path))
        return body

    def image_inspect(self, name):
        status, body = self.api("GET", "/images/%s/json" % name)
        return body if status == 200 else None

    def images(self):
        return self.checked("GET", "/images/json")

    def containers(self, all=True):
        return self.checked("GET", "/containers/json", query={"all": "1" if all else "0"})

    def remove_container(self, cid):
        self.checked("DELETE", "/containers/" + cid, ok=(204, 404),
                     query={"force": "1", "v": "1"})

    def import_tar(self, body, repo, tag, changes=()):
        """POST /images/create?fromSrc=- with a tar body; returns the new image ID."""
        status, msgs = self.api("POST", "/images/create", body=body, timeout=1800,
                                query=[("fromSrc", "-"), ("repo", repo), ("tag", tag)]
                                + [("changes", c) for c in changes],
                                headers={"Content-Type": "application/x-tar"})
        msgs = msgs if isinstance(msgs, list) else [msgs]
        err = stream_error(msgs) if status == 200 else msgs
        if status != 200 or err:
            raise EngineError(status, err, "import %s:%s" % (repo, tag))
        return msgs[-1].get("status")

    def pull(self, image, tag, auth=None):
        """POST /images/create?fromImage=; returns (HTTP status, messages, in-band error)."""
        headers = {"X-Registry-Auth": auth} if auth is not None else {}
        status, body = self.api("POST", "/images/create", headers=headers, timeout=600,
                                query={"fromImage": image, "tag": tag})
        msgs = body if isinstance(body, list) else [body]
        return status, msgs, stream_error(msgs) if status == 200 else None

    def tag(self, source, repo, tag):
        self.checked("POST", "/images/%s/tag" % source, ok=(201,),
                     query={"repo": repo, "tag": tag})

    def remove_image(self, name, force=False):
        self.checked("DELETE", "/images/" + name, ok=(200, 404),
                     query={"force": "1" if force else "0", "noprune": "0"})


# --- dockerd -----------------------------------------------------------------------------------------

class Dockerd:
    """dockerd on a private unix socket; its exec root, pidfile and log below <tmpdir>/dockerd.

    --iptables=false --ip-forward=false --bridge=none: it changes nothing on the host network (no
    docker0, no iptables rules, no sysctl); jobs use NetworkMode "host". Its own daemon.json keeps
    /etc/docker/daemon.json out of it and, with "deprecated-key-path", its trust key out of
    /etc/docker (20.10 writes /etc/docker/key.json otherwise). It starts its own containerd (below
    the exec root).
    """

    def __init__(self, persistent=True, live_restore=False, shutdown_timeout=5,
                 extra_args=(), data_name="docker-data", enter=()):
        # data_name: the persistent data root's name in CACHE_DIR (one per dockerd of a suite
        # that runs several); enter: a command prefix dockerd runs behind (a node's namespaces).
        self.persistent = persistent
        self.data_name = data_name
        self.enter = list(enter)
        self.live_restore = live_restore
        self.shutdown_timeout = shutdown_timeout
        self.extra_args = list(extra_args)
        self.proc = None
        self.dir = None
        self.socket = None
        self.exec_root = None
        self.data_root = None
        self.log_path = None
        self.engine = None
        self._lock = None

    available = staticmethod(available)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def api(self, method, path, body=None, query=None, headers=None, timeout=None):
        return self.engine.api(method, path, body, query, headers, timeout)

    def _pick_data_root(self):
        if self.persistent:
            os.makedirs(CACHE_DIR, exist_ok=True)
            root = os.path.join(CACHE_DIR, self.data_name)
            lock = open(os.path.join(CACHE_DIR, self.data_name + ".lock"), "a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
            else:
                # A dockerd left over by a crashed run (its lock died with it) may still use it.
                if not processes_mentioning(root):
                    unmount_below(root)
                    self._lock = lock
                    return root
                lock.close()
        return os.path.join(self.dir, "data")

    def start(self, tmpdir):
        reason = available()
        if reason:
            raise RuntimeError("dockerd cannot run: " + reason)
        self.dir = os.path.join(os.path.realpath(tmpdir), "dockerd")
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "docker.sock")
        self.exec_root = os.path.join(self.dir, "exec")
        # containerd's socket lives below the exec root: unix socket paths end at 107 bytes.
        if len(self.exec_root) > 70:
            raise RuntimeError("temporary directory path too long for dockerd: " + self.dir)
        self.log_path = os.path.join(self.dir, "dockerd.log")
        self.config = os.path.join(self.dir, "daemon.json")
        with open(self.config, "w") as f:
            # 20.10 writes a trust key to /etc/docker/key.json unless told otherwise (there is no
            # command-line flag for it, only this daemon.json key)
            json.dump({"deprecated-key-path": os.path.join(self.dir, "key.json")}, f)
        if self.data_root is None:
            self.data_root = self._pick_data_root()
        self._launch()
        if self.data_root.startswith(CACHE_DIR + "/"):
            self._clean_persistent_state()
        return self

    def _launch(self):
        argv = self.enter + ["dockerd", "--host", "unix://" + self.socket,
                "--data-root", self.data_root, "--exec-root", self.exec_root,
                "--pidfile", os.path.join(self.dir, "dockerd.pid"),
                "--config-file", self.config,
                "--iptables=false", "--ip-forward=false", "--bridge=none",
                "--shutdown-timeout", str(self.shutdown_timeout)]
        if self.live_restore:
            argv.append("--live-restore")
        argv += self.extra_args
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True, env=_sbin_env(), cwd=self.dir)
        self.engine = Engine(self.socket)
        deadline = time.monotonic() + START_TIMEOUT
        while not (os.path.exists(self.socket) and self.engine.ping()):
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._cleanup_after_exit()
                raise RuntimeError("dockerd exited with status %s before answering /_ping%s"
                                   % (code, log_tail(self.log_path)))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("dockerd does not answer /_ping after %.0f s%s"
                                   % (START_TIMEOUT, log_tail(self.log_path)))
            time.sleep(POLL_INTERVAL)

    def _clean_persistent_state(self):
        """Containers and registry tags an earlier run left in the shared data root."""
        for c in self.engine.containers():
            self.engine.remove_container(c["Id"])
        for img in self.engine.images():
            for ref in img.get("RepoTags") or []:
                if ref.startswith(("127.0.0.1:", "localhost:")):
                    self.engine.remove_image(ref)

    def kill_containers(self):
        for c in self.engine.containers(all=False):
            self.engine.api("POST", "/containers/%s/kill" % c["Id"])

    def stop_daemon(self, sig=signal.SIGTERM):
        """Stops dockerd only (what a crash or an upgrade of the daemon looks like to the agent).

        Without --live-restore dockerd stops the containers itself (SIGTERM, then SIGKILL after
        --shutdown-timeout); with it they keep running under their shims.
        """
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, live_restore=None):
        """stop_daemon() and start again on the same socket, exec root and data root."""
        self.stop_daemon()
        if live_restore is not None:
            self.live_restore = live_restore
        self._launch()
        return self

    def stop(self):
        """Kills the running containers, stops dockerd and its containerd, unmounts leftovers."""
        if self.proc is not None and self.proc.poll() is None and self.engine.ping():
            try:
                self.kill_containers()
            except (OSError, EngineError, http.client.HTTPException):
                pass
        self.stop_daemon()
        self._cleanup_after_exit()

    def _cleanup_after_exit(self):
        # containerd, and shims of containers that outlived dockerd (live restore), name the exec
        # root on their command lines: they are this fixture's.
        if self.exec_root:
            _kill_pids(processes_mentioning(self.exec_root))
            unmount_below(self.exec_root, self.data_root)
        self.proc = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- images ------------------------------------------------------------------------------------------

def _recipe_hash(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _image_current(engine, tag, recipe):
    img = engine.image_inspect(tag)
    labels = ((img or {}).get("Config") or {}).get("Labels") or {}
    return img["Id"] if labels.get(LABEL_RECIPE) == recipe else None


def _import_changes(recipe, cmd):
    return ['CMD %s' % json.dumps(cmd),
            'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'LABEL %s=%s' % (LABEL_RECIPE, recipe)]


def busybox_rootfs_tar(busybox="/bin/busybox"):
    """A tar (bytes) of a root with busybox-static as /bin/busybox and a link per applet."""
    with open(busybox, "rb") as f:
        binary = f.read()
    applets = subprocess.run([busybox, "--list-full"], stdout=subprocess.PIPE,
                             check=True).stdout.decode().split()
    buf = io.BytesIO()
    mtime = 1700000000

    def add(name, kind=tarfile.DIRTYPE, mode=0o755, data=b"", link=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime, ti.linkname = kind, mode, mtime, link
        ti.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "proc",
                  "sys", "dev", "run", "var", "var/tmp"):
            add(d)
        add("tmp", mode=0o1777)
        add("bin/busybox", tarfile.REGTYPE, 0o755, binary)
        add("etc/passwd", tarfile.REGTYPE, 0o644,
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
        add("etc/group", tarfile.REGTYPE, 0o644, b"root:x:0:\nnogroup:x:65534:\n")
        for path in applets:
            if path != "bin/busybox":
                add(path, tarfile.SYMTYPE, 0o777, link="/bin/busybox")
    return buf.getvalue()


def build_busybox_image(dockerd, tag=BUSYBOX_TAG):
    """Imports busybox-static as tag (CMD ["/bin/sh"]) unless it is there already; returns its ID."""
    engine = dockerd.engine if isinstance(dockerd, Dockerd) else dockerd
    tar = busybox_rootfs_tar()
    recipe = _recipe_hash("busybox", tar)
    image_id = _image_current(engine, tag, recipe)
    if image_id:
        return image_id
    repo, _, t = tag.rpartition(":")
    engine.import_tar(tar, repo, t, _import_changes(recipe, ["/bin/sh"]))
    return engine.image_inspect(tag)["Id"]


def python_rootfs_tarball(cache_dir=CACHE_DIR, packages=PYTHON_PACKAGES, mirror=MIRROR,
                          log=print):
    """Path of a tarball of a debootstrap root with python3, numpy and sklearn (see below)."""
    return debootstrap_tarball("python-rootfs", packages, cache_dir, mirror, log)


def debootstrap_tarball(name, packages, cache_dir, mirror=MIRROR, log=print):
    """Path of a tarball of a debootstrap --variant=minbase bookworm root with packages.

    Built once per machine (cache_dir/<name>-<hash>.tar; the .debs stay in cache_dir/debs,
    so a rebuild downloads nothing); an flock makes concurrent callers wait for one build.
    """
    os.makedirs(cache_dir, exist_ok=True)
    recipe = _recipe_hash(SUITE, mirror, *packages)
    tarball = os.path.join(cache_dir, "%s-%s.tar" % (name, recipe))
    with open(os.path.join(cache_dir, name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isfile(tarball):
            return tarball
        work = os.path.join(cache_dir, name + ".tmp")
        root = os.path.join(work, "root")
        unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(os.path.join(cache_dir, "debs"), exist_ok=True)
        os.makedirs(work)
        t0 = time.monotonic()
        log("%s: debootstrap %s %s (a few minutes, once per machine)"
            % (name, SUITE, ",".join(packages)))
        try:
            subprocess.run(["debootstrap", "--variant=minbase",
                            "--cache-dir=" + os.path.join(cache_dir, "debs"),
                            "--include=" + ",".join(packages), SUITE, root, mirror],
                           check=True, env=_sbin_env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL)
            unmount_below(root)
            t1 = time.monotonic()
            for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
                d = os.path.join(root, sub)
                for entry in os.listdir(d):
                    p = os.path.join(d, entry)
                    if os.path.isfile(p) and entry != "lock":
                        os.unlink(p)
            with open(os.path.join(root, "etc/resolv.conf"), "w"):
                pass  # no resolver: the tests never look anything up
            subprocess.run(["tar", "-C", root, "--numeric-owner", "-cf", work + "/rootfs.tar",
                            "."], check=True)
            os.rename(work + "/rootfs.tar", tarball)
            log("%s: debootstrap %.0f s, tar %.0f s, %d MB"
                % (name, t1 - t0, time.monotonic() - t1, os.path.getsize(tarball) >> 20))
        finally:
            unmount_below(work)
            shutil.rmtree(work, ignore_errors=True)
    return tarball


def build_python_image(dockerd, tag=PYTHON_TAG, cache_dir=CACHE_DIR, log=print):
    """Imports the debootstrap root (python3, numpy, sklearn) as tag unless it is there already."""
    engine = dockerd.engine if isinstance(dockerd, Dockerd) else dockerd
    tarball = python_rootfs_tarball(cache_dir, log=log)
    recipe = os.path.basename(tarball)[len("python-rootfs-"):-len(".tar")]
    image_id = _image_current(engine, tag, recipe)
    if image_id:
        return image_id
    repo, _, t = tag.rpartition(":")
    t0 = time.monotonic()
    with open(tarball, "rb") as f:
        engine.import_tar(f, repo, t, _import_changes(recipe, ["/bin/bash"]))
    log("build_python_image: import %.0f s" % (time.monotonic() - t0))
    return engine.image_inspect(tag)["Id"]


MPI_TAG = "batchai-test/mpi:1"
# What Batch AI's Horovod images carried for a multi-node job: OpenMPI, mpi4py and OpenSSH.
MPI_PACKAGES = ("python3", "python3-mpi4py", "openmpi-bin", "openssh-server", "openssh-client")


def build_mpi_image(dockerd, tag=MPI_TAG, cache_dir=CACHE_DIR, log=print):
    """Imports a debootstrap root with OpenMPI, mpi4py and OpenSSH's server and client as tag
    unless it is there already (the root is built once per machine); returns its ID."""
    engine = dockerd.engine if isinstance(dockerd, Dockerd) else dockerd
    tarball = debootstrap_tarball("mpi-rootfs", MPI_PACKAGES, cache_dir, log=log)
    recipe = os.path.basename(tarball)[len("mpi-rootfs-"):-len(".tar")]
    image_id = _image_current(engine, tag, recipe)
    if image_id:
        return image_id
    repo, _, t = tag.rpartition(":")
    with open(tarball, "rb") as f:
        engine.import_tar(f, repo, t, _import_changes(recipe, ["/bin/bash"]))
    return engine.image_inspect(tag)["Id"]


# --- registry -----------------------------------------------------------------------------------------

def bcrypt_htpasswd_line(user, password):
    """"user:$2y$..." via htpasswd -B (the password on stdin), else crypt(3) (libxcrypt)."""
    if shutil.which("htpasswd"):
        out = subprocess.run(["htpasswd", "-niB", "-C", "5", user], input=password.encode(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
        return out.decode().strip()
    import crypt  # deprecated in 3.11, gone in 3.13; Debian 12 has 3.11
    return "%s:%s" % (user, crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))


class Registry:
    """Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port>, plain http.

    htpasswd auth with bcrypt entries; storage, config and log below <tmpdir>/registry. dockerd
    talks plain http to it without --insecure-registry because 127.0.0.0/8 is insecure by default.
    """

    def __init__(self):
        self.proc = None
        self.port = None
        self.dir = None
        self.log_path = None
        self.users = {}

    @staticmethod
    def available():
        return shutil.which("docker-registry") is not None

    @property
    def address(self):
        return "%s:%d" % (LOOPBACK, self.port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _write_config(self, htpasswd):
        conf = "\n".join([
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % os.path.join(self.dir, "data"),
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: %s" % self.address,
            "  secret: %s" % base64.b64encode(os.urandom(24)).decode(),
            "auth:" if htpasswd else "",
            "  htpasswd:" if htpasswd else "",
            "    realm: batchai-test" if htpasswd else "",
            "    path: %s" % htpasswd if htpasswd else "",
            ""])
        path = os.path.join(self.dir, "config.yml")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def start(self, tmpdir, users=None, port=None):
        """users: {name: password} for htpasswd auth; None or {}: no auth at all."""
        self.users = dict(users or {})
        self.dir = os.path.join(os.path.realpath(tmpdir), "registry")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.log_path = os.path.join(self.dir, "registry.log")
        htpasswd = None
        if self.users:
            htpasswd = os.path.join(self.dir, "htpasswd")
            with open(htpasswd, "w") as f:
                for u, p in self.users.items():
                    f.write(bcrypt_htpasswd_line(u, p) + "\n")
        for attempt in range(5):
            self.port = port or free_port()
            config = self._write_config(htpasswd)
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(["docker-registry", "serve", config],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True, cwd=self.dir)
            try:
                wait_port(self.port, proc=self.proc, log=self.log_path)
                status = self.get("/v2/")[0]
                if status != (401 if self.users else 200):
                    raise RuntimeError("registry answers /v2/ with %d" % status)
                return self
            except (RuntimeError, OSError, http.client.HTTPException):
                self.stop()
                if port is not None or attempt == 4 or port_is_free(self.port):
                    raise
        return self

    def get(self, path, user=None, password=None):
        headers = {}
        if user is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % (user, password)).encode()).decode()
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def auth(self, user, password):
        return registry_auth(user, password, self.address)

    def push(self, dockerd, local_ref, repo, tag="latest", user=None, password=None,
             keep_local=False):
        """Pushes local_ref as <address>/repo:tag; returns that reference.

        Afterwards the <address>/repo:tag tag is removed from dockerd (keep_local=False), so a
        pull of it must ask the registry; the layers stay (local_ref still uses them).
        """
        engine = dockerd.engine if isinstance(dockerd, Dockerd) else dockerd
        name = "%s/%s" % (self.address, repo)
        engine.tag(local_ref, name, tag)
        if user is None and self.users:
            user, password = next(iter(self.users.items()))
        headers = {"X-Registry-Auth": self.auth(user, password) if user else
                   base64.urlsafe_b64encode(b"{}").decode()}
        status, body = engine.api("POST", "/images/%s/push" % name, query={"tag": tag},
                                  headers=headers, timeout=600)
        msgs = body if isinstance(body, list) else [body]
        err = stream_error(msgs) if status == 200 else msgs
        if status != 200 or err:
            raise EngineError(status, err, "push %s:%s" % (name, tag))
        if not keep_local:
            engine.remove_image("%s:%s" % (name, tag))
        return "%s:%s" % (name, tag)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
