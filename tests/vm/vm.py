"""Runs a shell script as root inside a Debian 12 VM (qemu, TCG) with the real kernel cifs and NFS.

The host kernel here has no cifs or nfs and loads no modules; the guest's kernel is Debian's
linux-image-amd64 with all its modules. build-image.sh makes the guest once per machine (into
BATCHAI_VM_CACHE, default /var/cache/batchai-tests/vm); run-vm.sh boots it on a throw-away overlay,
shares a temporary folder in as /host, runs /host/run.sh and powers off.

    import tests.vm.vm as vm
    vm.ensure_image()                                   # in setUpClass; minutes the first time
    rc, console = vm.run_in_vm(
        "modprobe cifs\\n/host/batchai-agent --help\\n",
        files={"batchai-agent": vm.AGENT, "cred": b"username=u\\npassword=p\\n"},
        timeout=300)

In the guest:
  - the script runs as root with `bash -euo pipefail` (strict=False: plain bash), cwd /host;
  - files are below /host, under the names given (paths keep their mode, so binaries stay
    executable; "dir/name" makes dir);
  - the host's 127.0.0.1 is HOST_FROM_GUEST (10.0.2.2): a server a test starts on the host's
    loopback (smbd, a fake control plane) is reached there on the same port;
  - whatever the script writes to OUT_IN_GUEST (/host/out) is in VMResult.out_dir afterwards
    (run_vm(..., keep=True));
  - systemd is PID 1 and running: `systemctl start nfs-server` works, but do not wait for
    `systemctl is-system-running --wait`: the script itself is a unit still starting.

Python 3 standard library only.
"""

import dataclasses
import os
import shutil
import signal
import subprocess
import tempfile
import time

from tests.support.common import AGENT

VM_DIR = os.path.dirname(os.path.abspath(__file__))
CACHE_DIR = os.environ.get("BATCHAI_VM_CACHE") or "/var/cache/batchai-tests/vm"

HOST_FROM_GUEST = "10.0.2.2"   # the host's 127.0.0.1 as the guest sees it (qemu user network)
GUEST_IP = "10.0.2.15"
OUT_IN_GUEST = "/host/out"

BUILD_TIMEOUT = 1800.0         # only a guard: a build takes a few minutes
# run-vm.sh enforces the VM's time limit itself; this extra margin only covers its own start
# (qemu-img) and end (killing a qemu that overran).
HARNESS_MARGIN = 60.0

TOOLS = ("qemu-system-x86_64", "qemu-img", "debootstrap", "mkfs.ext4")


def _sbin_path():
    path = os.environ.get("PATH", "")
    parts = path.split(":") if path else []
    return ":".join(parts + [d for d in ("/usr/sbin", "/sbin") if d not in parts])


def unavailable_reason(cache_dir=None):
    """Why VM tests cannot run here (for unittest.skip), or None when they can.

    Needs root (debootstrap, 9p passthrough) and the tools scripts/install-test-servers.sh
    installs (qemu-system-x86, qemu-utils, debootstrap, e2fsprogs); the image itself is built on
    demand by ensure_image().
    """
    if os.geteuid() != 0:
        return "the VM tests need root"
    missing = [t for t in TOOLS if shutil.which(t, path=_sbin_path()) is None]
    if missing:
        return "missing tools: %s (apt-get install qemu-system-x86 qemu-utils debootstrap " \
               "e2fsprogs)" % " ".join(missing)
    return None


def image_ready(cache_dir=None):
    d = cache_dir or CACHE_DIR
    return all(os.path.isfile(os.path.join(d, f))
               for f in ("image.ext4", "vmlinuz", "initrd.img", "stamp"))


def ensure_image(cache_dir=None, timeout=BUILD_TIMEOUT):
    """Builds the guest into cache_dir unless an up-to-date one is there; returns the directory.

    Cheap when the image is current (build-image.sh compares a stamp and exits). Raises
    RuntimeError with the build's output when the build fails.
    """
    d = cache_dir or CACHE_DIR
    env = dict(os.environ, PATH=_sbin_path(), BATCHAI_AGENT=AGENT)
    p = subprocess.run([os.path.join(VM_DIR, "build-image.sh"), d], env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("build-image.sh %s failed (%d):\n%s"
                           % (d, p.returncode, p.stdout.decode("utf-8", "replace")[-8000:]))
    return d


@dataclasses.dataclass
class VMResult:
    rc: int                # run.sh's exit status; 124: the VM timed out; 1: no status recorded
    console: str           # run.sh's output (stdout and stderr), plus run-vm.sh's own messages
    serial: str            # the guest's whole serial console (kernel, systemd, run.sh)
    seconds: float         # wall time of the whole run, boot and power-off included
    boot_seconds: float    # guest uptime when run.sh started (None if it never did)
    out_dir: str           # the guest's /host/out on the host (None unless keep=True)
    hostdir: str           # the shared folder (None unless keep=True)


def _place(hostdir, name, src):
    rel = os.path.normpath(name)
    if os.path.isabs(rel) or rel.startswith(".."):
        raise ValueError("file name %r must stay below /host" % name)
    if rel in ("run.sh", "out", "serial.log") or rel.startswith("out/"):
        raise ValueError("file name %r is reserved by the harness" % name)
    dst = os.path.join(hostdir, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if isinstance(src, (bytes, bytearray)):
        with open(dst, "wb") as f:
            f.write(src)
    elif isinstance(src, str) and not os.path.exists(src):
        raise FileNotFoundError("%s (for /host/%s)" % (src, name))
    elif os.path.isdir(src):
        shutil.copytree(src, dst, symlinks=True)
    else:
        shutil.copy2(src, dst)   # keeps the mode: executables stay executable


def run_vm(script_text, files=None, timeout=600, strict=True, keep=False, cache_dir=None):
    """Boots the VM, runs script_text in it, powers it off; returns a VMResult.

    files: {name below /host: path on this machine (file or folder) or bytes}.
    timeout: seconds for the whole VM run (boot ~30-60 s under TCG on 2 cores, power-off ~1 s).
    keep: leave the shared folder in place (VMResult.hostdir/out_dir); the caller removes it.
    """
    d = cache_dir or CACHE_DIR
    hostdir = tempfile.mkdtemp(prefix="batchai-vm-host.")
    try:
        for name, src in (files or {}).items():
            _place(hostdir, name, src)
        with open(os.path.join(hostdir, "run.sh"), "w") as f:
            f.write("#!/bin/bash\n")
            if strict:
                f.write("set -euo pipefail\n")
            f.write(script_text)
            if not script_text.endswith("\n"):
                f.write("\n")
        start = time.monotonic()
        # A session of its own so that, should this process be interrupted, run-vm.sh gets the
        # SIGTERM it turns into stopping qemu.
        proc = subprocess.Popen(
            [os.path.join(VM_DIR, "run-vm.sh"), d, hostdir, str(int(timeout))],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=dict(os.environ, PATH=_sbin_path()), start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=timeout + HARNESS_MARGIN)
        except BaseException:
            proc.send_signal(signal.SIGTERM)
            proc.communicate()
            raise
        seconds = time.monotonic() - start
        serial = _read(os.path.join(hostdir, "serial.log"))
        boot = _read(os.path.join(hostdir, "out", "uptime-at-start")).strip()
        return VMResult(
            rc=proc.returncode, console=output.decode("utf-8", "replace"), serial=serial,
            seconds=seconds, boot_seconds=float(boot) if boot else None,
            out_dir=os.path.join(hostdir, "out") if keep else None,
            hostdir=hostdir if keep else None)
    finally:
        if not keep:
            shutil.rmtree(hostdir, ignore_errors=True)


def run_in_vm(script_text, files=None, timeout=600, **kwargs):
    """run_vm() reduced to (rc, console_text)."""
    r = run_vm(script_text, files, timeout, **kwargs)
    return r.rc, r.console


def nfs_export_script(path="/srv/nfs", client="127.0.0.1",
                      options="rw,no_root_squash,insecure"):
    """Guest shell lines that export path over NFS from the guest's own kernel server.

    The guest then mounts it with `mount -t nfs 127.0.0.1:<path> ...` (NFS 4.2), or the agent does
    for a fileServers volume with mountSettings {"fileServerInternalIP": "127.0.0.1",
    "mountPoint": path}. nfs-server.service (disabled at boot, it costs seconds) brings up
    rpcbind, rpc.mountd and nfsd; the export is added to the kernel's table with exportfs.
    """
    return ("mkdir -p %(p)s\nsystemctl start nfs-server\nexportfs -o %(o)s %(c)s:%(p)s\n"
            % {"p": path, "o": options, "c": client})


def _read(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""
