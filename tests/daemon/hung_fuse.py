"""A FUSE file system that never answers: after the INIT handshake it reads every request and
leaves it unanswered, so a process that touches it waits in the kernel and cannot be killed
until the file system goes away. For tests of processes that SIGKILL cannot end.

    with HungFuse(mount_point):
        ...  # `stat mount_point/x` now hangs for good; leaving the block releases it
"""

import ctypes
import os
import struct
import subprocess
import threading

FUSE_INIT = 26
IN_HEADER = struct.Struct("<IIQQIIII")   # len, opcode, unique, nodeid, uid, gid, pid, padding
OUT_HEADER = struct.Struct("<IiQ")       # len, error, unique
INIT_IN = struct.Struct("<IIII")         # major, minor, max_readahead, flags
# major, minor, max_readahead, flags, max_background, congestion_threshold, max_write,
# time_gran, max_pages, map_alignment, flags2, unused[7]
INIT_OUT = struct.Struct("<IIIIHHIIHHI7I")


class HungFuse:
    def __init__(self, mount_point):
        self.mount_point = mount_point
        self.fd = None
        self.thread = None
        self.requests_held = 0

    def __enter__(self):
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        libc = ctypes.CDLL(None, use_errno=True)
        opts = ("fd=%d,rootmode=40000,user_id=0,group_id=0" % self.fd).encode()
        if libc.mount(b"hungfuse", self.mount_point.encode(), b"fuse.hungfuse", 0, opts) != 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "mount of the hung FUSE file system failed")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def _serve(self):
        while True:
            try:
                data = os.read(self.fd, 1 << 20)
            except OSError:
                return  # the connection is gone
            length, opcode, unique = IN_HEADER.unpack_from(data)[:3]
            if opcode == FUSE_INIT:
                major, minor, readahead, _ = INIT_IN.unpack_from(data, IN_HEADER.size)
                body = INIT_OUT.pack(7, min(minor, 31), readahead, 0, 1, 1, 4096, 1, 1, 0, 0,
                                     *([0] * 7))
                os.write(self.fd, OUT_HEADER.pack(OUT_HEADER.size + len(body), 0, unique) + body)
            else:
                self.requests_held += 1  # read, never answered: the caller waits for good

    def connection(self):
        """The FUSE connection's number: the minor device number of the mount (from
        mountinfo: a stat of the mount point would hang)."""
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[4] == self.mount_point:
                    return fields[2].split(":")[1]
        return None

    def __exit__(self, *exc):
        # Aborting the connection answers everything with ENOTCONN and frees the waiting.
        control = "/sys/fs/fuse/connections"
        if not os.listdir(control):
            subprocess.run(["mount", "-t", "fusectl", "fusectl", control], check=False)
        conn = self.connection()
        if conn is not None:
            with open(os.path.join(control, conn, "abort"), "w") as f:
                f.write("1")
        self.thread.join(timeout=30)
        subprocess.run(["umount", "-l", self.mount_point], check=False)
        os.close(self.fd)
