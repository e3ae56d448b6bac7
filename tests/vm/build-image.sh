#!/usr/bin/env bash
# Builds the Debian 12 guest that tests/vm/run-vm.sh boots under qemu (TCG), so tests can use the
# real kernel cifs and NFS clients (the host kernel has neither, and loads no modules).
#
#   tests/vm/build-image.sh OUTDIR
#
# Leaves in OUTDIR: image.ext4 (the root file system, a raw ext4 image without partitions),
# vmlinuz and initrd.img (the guest's own kernel and initramfs, from linux-image-amd64), stamp.
# Idempotent: does nothing when those exist and OUTDIR/stamp matches the hash of this script, the
# guest/ files and BATCHAI_VM_EXTRA_PACKAGES. Concurrent callers wait for one build (flock).
#
# Needs root and: debootstrap, e2fsprogs (mkfs.ext4 -d), and network access to the Debian mirror.
# Environment:
#   BATCHAI_VM_MIRROR          the Debian mirror (default: http://deb.debian.org/debian, what
#                              this machine's apt uses)
#   BATCHAI_VM_EXTRA_PACKAGES  more guest packages, space separated
#   BATCHAI_AGENT              if set (or build/bin/batchai-agent exists), the build fails when
#                              one of that binary's shared libraries is missing from the guest
set -euo pipefail

OUTDIR=${1:?usage: build-image.sh OUTDIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MIRROR=${BATCHAI_VM_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
IMAGE_SIZE=2G
AGENT_BIN=${BATCHAI_AGENT:-$REPO/build/bin/batchai-agent}

# systemd-sysv: systemd as PID 1 (nfs-server, rpcbind and the agent's own units expect it).
# linux-image-amd64: the guest kernel; its modules (cifs, nfs, nfsd, 9p, 9pnet_virtio) stay in
#   the root's /lib/modules and load with modprobe once the root is mounted.
# cifs-utils, nfs-common: mount.cifs and mount.nfs, the helpers libmount runs for the agent.
# rclone, fuse3: the blob driver (FUSE); python3-numpy: the quickstart's stand-in training script.
# nfs-kernel-server: lets a test export a guest folder and mount it through the kernel NFS client.
# The lib* packages are what `ldd build/bin/batchai-agent` resolves to (dpkg -S); the ones not
#   listed (libc6, libstdc++6, libgcc-s1, libblkid1, libselinux1, ...) are in minbase or are
#   dependencies of these. The check at the end of the build catches anything missed.
PACKAGES=(
  systemd-sysv udev kmod linux-image-amd64 iproute2 util-linux procps
  cifs-utils nfs-common nfs-kernel-server
  rclone fuse3 python3 python3-numpy
  libcurl4 libmount1 libsystemd0 libssl3 libspdlog1.10 libfmt9 libre2-9
)
# shellcheck disable=SC2206  # word splitting of the list is the point
PACKAGES+=(${BATCHAI_VM_EXTRA_PACKAGES:-})

# The agent's shared libraries count too: a new one means a guest that must have it (checked
# below, at the build).
sonames() { [[ -x $AGENT_BIN ]] && ldd "$AGENT_BIN" | awk '{print $1}' | sort; true; }
STAMP=$(cat "$HERE/build-image.sh" "$HERE"/guest/* <(echo "${BATCHAI_VM_EXTRA_PACKAGES:-}") \
        <(sonames) | sha256sum | cut -d' ' -f1)

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
exec 9>"$OUTDIR/.lock"
flock 9   # a second test run started meanwhile waits here and then finds the image built

if [[ -f $OUTDIR/image.ext4 && -f $OUTDIR/vmlinuz && -f $OUTDIR/initrd.img &&
      $(cat "$OUTDIR/stamp" 2>/dev/null) == "$STAMP" ]]; then
  echo "build-image: $OUTDIR is up to date"
  exit 0
fi

WORK=$OUTDIR/build.tmp
ROOT=$WORK/root

# Unmounts whatever debootstrap left mounted in ROOT (proc, sys, maybe a bound /dev) before
# anything is deleted or copied into the image: rm -rf or mkfs -d must never walk into them.
unmount_root() {
  [[ -d $ROOT ]] || return 0
  { findmnt -rno TARGET | grep -F "$ROOT/" || true; } | sort -r | while read -r m; do umount -l "$m"; done
}
cleanup() {
  unmount_root
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
cleanup
mkdir -p "$WORK" "$OUTDIR/debs"

t0=$SECONDS
current=
step() {  # step NAME: announces a step and how long the previous one took (for the README)
  [[ -z $current ]] || echo "build-image: $current took $((SECONDS - step_start)) s"
  current=$1 step_start=$SECONDS
  echo "build-image: $1"
}

step "debootstrap $SUITE from $MIRROR"
# --cache-dir keeps the downloaded .debs in OUTDIR/debs, so a rebuild (say, after this script
# changed) downloads only what is new.
debootstrap --variant=minbase --cache-dir="$OUTDIR/debs" \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" "$SUITE" "$ROOT" "$MIRROR"
unmount_root

step "configuring the guest"
echo batchai-vm > "$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbatchai-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  > "$ROOT/etc/hosts"
# No resolver: the guest has nothing to look up and must not send queries out through slirp.
: > "$ROOT/etc/resolv.conf"
# The root is /dev/vda itself (no partition table); pass 0: a fresh image needs no fsck.
echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' > "$ROOT/etc/fstab"
# An empty machine-id: systemd makes a fresh one at every boot (no "first boot" units run).
: > "$ROOT/etc/machine-id"

install -m 0755 "$HERE/guest/batchai-vm-run" "$ROOT/usr/local/sbin/batchai-vm-run"
install -m 0644 "$HERE/guest/batchai-vm-run.service" \
  "$ROOT/etc/systemd/system/batchai-vm-run.service"
systemctl --root="$ROOT" enable batchai-vm-run.service
# NFS server and rpcbind start only when a test asks for them (systemctl start nfs-server): on
# every boot they would cost seconds of emulated time. Masked: timers that would run maintenance
# (or try the network) during a test, login prompts nobody uses (getty-static would start six
# gettys, as there is no logind), and the pNFS block layout daemon.
systemctl --root="$ROOT" disable nfs-server.service rpcbind.service rpcbind.socket
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
            e2scrub_reap.service fstrim.timer getty.target getty-static.service \
            serial-getty@ttyS0.service getty@tty1.service nfs-blkmap.service \
            systemd-networkd-wait-online.service; do
  systemctl --root="$ROOT" mask "$unit"
done

step "checking the guest"
# Every module a test needs must be loadable from the guest's root.
kver=$(basename "$(ls -d "$ROOT"/lib/modules/*)")
for mod in 9p 9pnet_virtio cifs nfs nfsv4 nfsd; do
  chroot "$ROOT" modinfo -k "$kver" -F filename "$mod" >/dev/null
done
# Every shared library of the agent must resolve inside the guest.
if [[ -x $AGENT_BIN ]]; then
  cp "$AGENT_BIN" "$ROOT/tmp/batchai-agent"
  missing=$(chroot "$ROOT" ldd /tmp/batchai-agent | grep 'not found' || true)
  rm -f "$ROOT/tmp/batchai-agent"
  if [[ -n $missing ]]; then
    echo "build-image: the guest lacks libraries of $AGENT_BIN:" >&2
    echo "$missing" >&2
    exit 1
  fi
fi

step "extracting the kernel and making the image"
cp "$ROOT/boot/vmlinuz-$kver" "$WORK/vmlinuz"
cp "$ROOT/boot/initrd.img-$kver" "$WORK/initrd.img"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
if findmnt -rno TARGET | grep -qF "$ROOT/"; then
  echo "build-image: something is still mounted below $ROOT" >&2
  exit 1
fi
mkfs.ext4 -q -F -L batchai-root -d "$ROOT" "$WORK/image.ext4" "$IMAGE_SIZE"

# Into place, the stamp last: an interrupted build is never taken for a finished one.
rm -f "$OUTDIR/stamp"
mv "$WORK/image.ext4" "$WORK/vmlinuz" "$WORK/initrd.img" "$OUTDIR/"
echo "$STAMP" > "$OUTDIR/stamp"
step "done"
echo "build-image: built $OUTDIR in $((SECONDS - t0)) s (kernel $kver)"
