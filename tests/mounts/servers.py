"""Real storage servers on 127.0.0.1 for the mount tests: Azurite (blob), Samba (SMB) and
nfs-ganesha (NFSv4, for the control plane's job files).

Python 3 standard library only. Everything a server writes lives below the temporary directory
the test hands to start(); stop() ends the processes this module started, by their PID.
scripts/install-test-servers.sh installs what is needed (samba, smbclient, rclone, fuse3, and
Azurite under /opt/batchai-tests/azurite).

    az = Azurite().start(tmp)            # az.endpoint == "http://127.0.0.1:PORT/devstoreaccount1"
    blob = az.client()
    blob.create_container("data"); blob.put_blob("data", "a.txt", b"hi")
    ...
    az.stop()

    smb = Samba().start(tmp, "batchaitest", "pw", {"share": share_dir})
    ...                                   # smb.port; //127.0.0.1/share
    smb.stop()

Nothing here sleeps to synchronise: readiness is a port that accepts connections, polled with a
generous overall timeout that only guards against a server that never comes up.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

from tests.support.common import free_port, port_is_free, wait_port

AZURITE_PREFIX = os.environ.get("BATCHAI_AZURITE_PREFIX", "/opt/batchai-tests/azurite")

# Azurite's (and the Azure Storage Emulator's) well-known development account.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")

# The key rclone's `obscure` uses (fs/config/obscure/obscure.go): AES-256-CTR, random 16-byte IV,
# base64 raw-URL (no padding) of IV || ciphertext.
RCLONE_OBSCURE_KEY_HEX = "9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638"

START_TIMEOUT = 60.0  # only a guard against a server that never comes up
STOP_TIMEOUT = 20.0
POLL_INTERVAL = 0.02
LOOPBACK = "127.0.0.1"


# --- ports and processes ---------------------------------------------------------------------------

def _stop_process(proc, sig=signal.SIGTERM):
    """Ends proc (started with start_new_session=True) and then whatever is left in its group.

    The group is the one Popen created for this server, so only processes it started are hit.
    """
    if proc is None:
        return
    pgid = proc.pid
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # Children the server left behind (smbd's workers); then wait until none of the group runs
    # (orphaned zombies are left to init, which reaps them a second or two later).
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while group_running(pgid) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)


def group_running(pgid):
    """PIDs of processes in process group pgid that are not zombies."""
    running = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            running.append(int(entry))
    return running


def _start_server(argv, log_path, port, env=None, cwd=None):
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, env=env, cwd=cwd)
    try:
        wait_port(port, proc=proc, log=log_path)
    except BaseException:
        _stop_process(proc, signal.SIGKILL)
        raise
    return proc


# --- Azurite -----------------------------------------------------------------------------------------

def azurite_command(prefix=AZURITE_PREFIX):
    """[node, .../azurite-blob main script], or None if Azurite is not installed under prefix."""
    script = os.path.join(prefix, "node_modules", "azurite", "dist", "src", "blob", "main.js")
    node = shutil.which("node") or shutil.which("nodejs")
    if node and os.path.isfile(script):
        return [node, script]
    return None


class Azurite:
    """Azurite's blob service on 127.0.0.1:<free port>, its data under <tmpdir>/azurite."""

    account = AZURITE_ACCOUNT
    key = AZURITE_KEY

    def __init__(self, prefix=AZURITE_PREFIX):
        self.prefix = prefix
        self.proc = None
        self.port = None
        self.location = None
        self.log_path = None

    @staticmethod
    def available(prefix=AZURITE_PREFIX):
        return azurite_command(prefix) is not None

    @property
    def endpoint(self):
        return "http://%s:%d/%s" % (LOOPBACK, self.port, self.account)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, tmpdir, port=None):
        cmd = azurite_command(self.prefix)
        if cmd is None:
            raise RuntimeError("Azurite is not installed under %s "
                               "(run scripts/install-test-servers.sh)" % self.prefix)
        self.location = os.path.join(tmpdir, "azurite")
        os.makedirs(self.location, exist_ok=True)
        self.log_path = os.path.join(tmpdir, "azurite.log")
        # A free port can be taken by someone else before Azurite binds it: try a few.
        for attempt in range(5):
            self.port = port or free_port()
            argv = cmd + ["--blobHost", LOOPBACK, "--blobPort", str(self.port),
                          "--location", self.location, "--skipApiVersionCheck", "--loose",
                          "--disableTelemetry", "--silent"]
            try:
                self.proc = _start_server(argv, self.log_path, self.port, cwd=self.location)
                return self
            except RuntimeError:
                if port is not None or attempt == 4 or port_is_free(self.port):
                    raise
        return self

    def stop(self):
        _stop_process(self.proc)
        self.proc = None

    def client(self):
        return BlobClient(self.endpoint, self.account, self.key)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- blob client (SharedKey) ---------------------------------------------------------------------

class BlobError(Exception):
    def __init__(self, status, reason, body):
        super().__init__("%d %s: %s" % (status, reason, body[:500].decode("utf-8", "replace")))
        self.status = status
        self.body = body


class BlobClient:
    """The few Blob service calls the tests need, signed with SharedKey.

    Talks to the endpoint with http.client directly (no proxy settings are honoured: tests only
    ever talk to 127.0.0.1).
    """

    VERSION = "2020-10-02"

    def __init__(self, endpoint, account=AZURITE_ACCOUNT, key=AZURITE_KEY, timeout=30.0,
                 sas=None):
        """sas: a SAS query string; when given, requests carry it instead of a SharedKey."""
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme != "http":
            raise ValueError("only http endpoints are supported: %s" % endpoint)
        self.host = u.hostname
        self.port = u.port or 80
        self.base_path = u.path.rstrip("/")  # "/devstoreaccount1" for Azurite
        self.account = account
        self.key = base64.b64decode(key) if key else None
        self.timeout = timeout
        self.sas = sas

    # SharedKey: https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key
    def _sign(self, method, path, query, headers):
        h = {k.lower(): v for k, v in headers.items()}
        length = h.get("content-length", "")
        fields = [method,
                  h.get("content-encoding", ""), h.get("content-language", ""),
                  "" if length in ("", "0") else length,
                  h.get("content-md5", ""), h.get("content-type", ""), h.get("date", ""),
                  h.get("if-modified-since", ""), h.get("if-match", ""),
                  h.get("if-none-match", ""), h.get("if-unmodified-since", ""),
                  h.get("range", "")]
        canon_headers = "".join("%s:%s\n" % (k, h[k].strip())
                                for k in sorted(h) if k.startswith("x-ms-"))
        canon_resource = "/" + self.account + path
        for name in sorted({k.lower() for k, _ in query}):
            values = sorted(v for k, v in query if k.lower() == name)
            canon_resource += "\n%s:%s" % (name, ",".join(values))
        to_sign = "\n".join(fields) + "\n" + canon_headers + canon_resource
        mac = hmac.new(self.key, to_sign.encode("utf-8"), hashlib.sha256).digest()
        return "SharedKey %s:%s" % (self.account, base64.b64encode(mac).decode("ascii"))

    def account_sas(self, permissions="racwdlup", resource_types="sco", expiry=None,
                    protocol="https,http"):
        """An account SAS query string (no leading "?") for the Blob service, signed with the key.

        https://learn.microsoft.com/rest/api/storageservices/create-account-sas (sv 2020-10-02)
        """
        if expiry is None:
            expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        se = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        sv = self.VERSION
        to_sign = "\n".join([self.account, permissions, "b", resource_types, "", se, "",
                             protocol, sv, ""])
        sig = base64.b64encode(hmac.new(self.key, to_sign.encode("utf-8"),
                                        hashlib.sha256).digest()).decode("ascii")
        return urllib.parse.urlencode([("sv", sv), ("ss", "b"), ("srt", resource_types),
                                       ("sp", permissions), ("se", se), ("spr", protocol),
                                       ("sig", sig)], quote_via=urllib.parse.quote)

    def container_sas(self, container, permissions="racwdl", expiry=None, protocol="https,http"):
        """A service SAS query string (no leading "?") for one container (sr=c, sv 2020-10-02).

        https://learn.microsoft.com/rest/api/storageservices/create-service-sas
        """
        if expiry is None:
            expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        se = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        sv = self.VERSION
        resource = "/blob/%s/%s" % (self.account, container)
        to_sign = "\n".join([permissions, "", se, resource, "", "", protocol, sv, "c", "",
                             "", "", "", "", ""])
        sig = base64.b64encode(hmac.new(self.key, to_sign.encode("utf-8"),
                                        hashlib.sha256).digest()).decode("ascii")
        return urllib.parse.urlencode([("sv", sv), ("sr", "c"), ("sp", permissions),
                                       ("se", se), ("spr", protocol), ("sig", sig)],
                                      quote_via=urllib.parse.quote)

    def request(self, method, resource, query=(), body=b"", headers=None, ok=(200, 201, 202)):
        """resource: "container" or "container/blob name" (quoted here). Returns (status, body)."""
        path = self.base_path + "/" + urllib.parse.quote(resource, safe="/")
        query = list(query)
        hdrs = {
            "x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%a, %d %b %Y %H:%M:%S GMT"),
            "x-ms-version": self.VERSION,
            "Content-Length": str(len(body)),
        }
        hdrs.update(headers or {})
        if self.sas is None:
            hdrs["Authorization"] = self._sign(method, path, query, hdrs)
        url = path
        if query:
            url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        if self.sas is not None:
            url += ("&" if query else "?") + self.sas
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, url, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if ok is not None and resp.status not in ok:
            raise BlobError(resp.status, resp.reason, data)
        return resp.status, data

    def create_container(self, container):
        self.request("PUT", container, [("restype", "container")], ok=(201,))

    def delete_container(self, container):
        self.request("DELETE", container, [("restype", "container")], ok=(202,))

    def container_exists(self, container):
        status, _ = self.request("GET", container, [("restype", "container")], ok=(200, 404))
        return status == 200

    def put_blob(self, container, name, data):
        self.request("PUT", container + "/" + name, body=bytes(data),
                     headers={"x-ms-blob-type": "BlockBlob",
                              "Content-Type": "application/octet-stream"},
                     ok=(201,))

    def get_blob(self, container, name):
        return self.request("GET", container + "/" + name, ok=(200,))[1]

    def blob_exists(self, container, name):
        status, _ = self.request("HEAD", container + "/" + name, ok=(200, 404))
        return status == 200

    def delete_blob(self, container, name):
        self.request("DELETE", container + "/" + name, ok=(202,))

    def list_blobs(self, container, prefix=None, page_size=None):
        """Names of all blobs in container (flat listing, every page)."""
        names = []
        marker = None
        while True:
            query = [("restype", "container"), ("comp", "list")]
            if prefix:
                query.append(("prefix", prefix))
            if page_size:
                query.append(("maxresults", str(page_size)))
            if marker:
                query.append(("marker", marker))
            _, data = self.request("GET", container, query, ok=(200,))
            root = ET.fromstring(data)
            names += [b.findtext("Name") for b in root.iterfind("Blobs/Blob")]
            marker = root.findtext("NextMarker")
            if not marker:
                return names


# --- Samba -----------------------------------------------------------------------------------------

class Samba:
    """smbd on 127.0.0.1:<port> with a private smb.conf; all its state below <tmpdir>/samba.

    Samba only accepts logins of users that exist in /etc/passwd. Rather than create one, the
    fixture stores the password for Unix user root in its private passdb and maps the login name
    to root with a private `username map` (so "teststorage" logs in as root; a wrong password or
    another name is refused). Files written through the share belong to root.
    """

    DEFAULT_PORT = 4455

    def __init__(self):
        self.proc = None
        self.port = None
        self.conf = None
        self.dir = None
        self.log_path = None
        self.user = None

    @staticmethod
    def available():
        return all(shutil.which(p, path=_sbin_env()["PATH"]) for p in ("smbd", "smbpasswd"))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def _write_conf(self, shares):
        d = self.dir
        lines = [
            "[global]",
            "  server role = standalone server",
            "  interfaces = lo",
            "  bind interfaces only = yes",
            "  smb ports = %d" % self.port,
            "  disable netbios = yes",
            "  server min protocol = SMB2_10",
            "  passdb backend = tdbsam:%s/passdb.tdb" % d,
            "  private dir = %s/private" % d,
            "  lock directory = %s/lock" % d,
            "  state directory = %s/state" % d,
            "  cache directory = %s/cache" % d,
            "  pid directory = %s/run" % d,
            "  ncalrpc dir = %s/ncalrpc" % d,
            "  binddns dir = %s/binddns" % d,
            "  usershare path = ",
            "  log file = %s/log.%%m" % d,
            "  log level = 1",
            "  load printers = no",
            "  printing = bsd",
            "  printcap name = /dev/null",
            "  disable spoolss = yes",
            "  map to guest = never",
            "  restrict anonymous = 2",
            "  username map = %s/users.map" % d,
            "",
        ]
        for name, path in shares.items():
            lines += [
                "[%s]" % name,
                "  path = %s" % path,
                "  read only = no",
                "  browseable = yes",
                "  force user = root",
                "  create mask = 0644",
                "  directory mask = 0755",
                "",
            ]
        for sub in ("private", "lock", "state", "cache", "run", "ncalrpc", "binddns"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.join(d, "private"), 0o700)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        with open(os.path.join(d, "users.map"), "w") as f:
            if self.user != "root":
                f.write("root = %s\n" % self.user)

    def start(self, tmpdir, user, password, shares, port=None):
        """shares: {share name: directory}. Tries port 4455 first, then a free one.

        user: the SMB login name (any name; it need not exist in /etc/passwd).
        """
        self.user = user
        self.dir = os.path.join(tmpdir, "samba")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "smb.conf")
        self.log_path = os.path.join(self.dir, "smbd.out")
        for path in shares.values():
            os.makedirs(path, exist_ok=True)
        for attempt in range(5):
            if port is not None:
                self.port = port
            elif attempt == 0 and port_is_free(self.DEFAULT_PORT):
                self.port = self.DEFAULT_PORT
            else:
                self.port = free_port()
            self._write_conf(shares)
            if attempt == 0:
                self.set_password(password)
            try:
                self.proc = _start_server(
                    ["smbd", "--foreground", "--no-process-group", "--debug-stdout",
                     "-s", self.conf], self.log_path, self.port, env=_sbin_env())
                return self
            except RuntimeError:
                if port is not None or attempt == 4 or port_is_free(self.port):
                    raise
        return self

    def set_password(self, password):
        """Sets (or changes) the password the fixture's user logs in with; smbd need not restart.

        -s: the password comes on stdin (twice), never in argv.
        """
        subprocess.run(["smbpasswd", "-c", self.conf, "-s", "-a", "root"],
                       input=("%s\n%s\n" % (password, password)).encode(), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_sbin_env())

    def stop(self):
        _stop_process(self.proc)
        self.proc = None

    def smbclient(self, share, user, password, command="ls"):
        """Runs smbclient against the share (fixture checks only); returns CompletedProcess.

        The credentials go in a 0600 authentication file, not in argv.
        """
        auth = os.path.join(self.dir, "smbclient.auth")
        fd = os.open(auth, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("username = %s\npassword = %s\n" % (user, password))
        try:
            return subprocess.run(
                ["smbclient", "-s", self.conf, "-p", str(self.port),
                 "//%s/%s" % (LOOPBACK, share), "-A", auth, "-m", "SMB3", "-c", command],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=START_TIMEOUT)
        finally:
            os.unlink(auth)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Ganesha:
    """nfs-ganesha (FSAL VFS) on 127.0.0.1:<port>, NFSv4 only, exporting one directory at the
    pseudo path /export; its config, log, pid and recovery directory below <tmpdir>/ganesha.
    No rpcbind is needed (v4 only). Runs as root only (FSAL VFS uses open_by_handle_at).

        nfs = Ganesha().start(tmp, export_dir)   # nfs://127.0.0.1/export?version=4&nfsport=PORT
        nfs.stop()
    """

    PSEUDO = "/export"

    def __init__(self):
        self.proc = None
        self.port = None
        self.dir = None

    @staticmethod
    def available():
        return os.geteuid() == 0 and bool(shutil.which("ganesha.nfsd", path=_sbin_env()["PATH"]))

    def _write_conf(self, export_dir):
        recovery = os.path.join(self.dir, "recovery")
        os.makedirs(recovery, exist_ok=True)
        conf = os.path.join(self.dir, "ganesha.conf")
        with open(conf, "w") as f:
            f.write("NFS_CORE_PARAM { NFS_Port = %d; Bind_addr = 127.0.0.1; Protocols = 4;\n"
                    "  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }\n"
                    "NFSv4 { Graceless = true; Only_Numeric_Owners = true; RecoveryRoot = %s; }\n"
                    "EXPORT { Export_Id = 1; Path = %s; Pseudo = %s; Access_Type = RW;\n"
                    "  Squash = No_Root_Squash; SecType = sys; Transports = TCP;\n"
                    # Files changed on disk are seen at once.
                    "  Attr_Expiration_Time = 0; FSAL { Name = VFS; } }\n"
                    "LOG { Default_Log_Level = WARN; }\n"
                    % (self.port, recovery, export_dir, self.PSEUDO))
        return conf

    def start(self, tmpdir, export_dir):
        self.dir = os.path.join(tmpdir, "ganesha")
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(export_dir, exist_ok=True)
        for attempt in range(5):
            self.port = free_port()
            conf = self._write_conf(export_dir)
            # -F: in the foreground, so the process is the server and SIGTERM ends it. Its CRIT
            # lines about dbus and krb5 are harmless.
            try:
                self.proc = _start_server(
                    ["ganesha.nfsd", "-F", "-f", conf, "-L", os.path.join(self.dir, "ganesha.log"),
                     "-p", os.path.join(self.dir, "ganesha.pid")],
                    os.path.join(self.dir, "ganesha.out"), self.port, env=_sbin_env())
                return self
            except RuntimeError:
                if attempt == 4 or port_is_free(self.port):
                    raise
        return self

    def stop(self):
        _stop_process(self.proc)
        self.proc = None


def _sbin_env():
    env = dict(os.environ)
    path = env.get("PATH", "")
    for d in ("/usr/sbin", "/sbin"):
        if d not in path.split(":"):
            path = path + ":" + d if path else d
    env["PATH"] = path
    return env


# --- rclone --------------------------------------------------------------------------------------

def rclone_obscure(password):
    """rclone's obscured form of password, computed with openssl (no password in argv).

    AES-256-CTR with rclone's fixed key, a random 16-byte IV, base64 raw-URL of IV || ciphertext.
    """
    iv = os.urandom(16)
    out = subprocess.run(
        ["openssl", "enc", "-aes-256-ctr", "-nosalt", "-K", RCLONE_OBSCURE_KEY_HEX,
         "-iv", iv.hex()],
        input=password.encode("utf-8"), stdout=subprocess.PIPE, check=True).stdout
    return base64.urlsafe_b64encode(iv + out).decode("ascii").rstrip("=")
