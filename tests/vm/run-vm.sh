#!/usr/bin/env bash
# Boots the guest built by build-image.sh under qemu (TCG), lets it run HOSTDIR/run.sh, and
# reports what the script did.
#
#   tests/vm/run-vm.sh OUTDIR HOSTDIR [TIMEOUT_S]
#
# HOSTDIR is shared into the guest as /host (9p); the guest runs `bash /host/run.sh` as root, with
# /host as its working directory, and powers off. Prints the script's output (HOSTDIR/out/
# console.log) and exits with the script's exit status; 124 when the VM did not power off within
# TIMEOUT_S (default 600) seconds and was killed; 1 when the guest never recorded a status
# (boot or 9p failure: the end of the serial console is then printed on stderr).
#
# Also left in HOSTDIR: serial.log (the guest's whole serial console: kernel, systemd, run.sh),
# out/uptime-at-start (guest seconds from kernel start to run.sh). In the guest, the host's
# 127.0.0.1 is 10.0.2.2; nothing beyond 10.0.2.0/24 is routed.
#
# The image is never written: the guest runs on a throw-away qcow2 overlay, so tests cannot
# leave state behind for each other and several VMs can boot from one image at once.
set -euo pipefail

usage() { echo "usage: run-vm.sh OUTDIR HOSTDIR [TIMEOUT_S]" >&2; exit 2; }
[[ $# -ge 2 && $# -le 3 ]] || usage
OUTDIR=$(cd "$1" && pwd)
HOSTDIR=$(cd "$2" && pwd)
TIMEOUT=${3:-600}

for f in image.ext4 vmlinuz initrd.img; do
  [[ -f $OUTDIR/$f ]] || { echo "run-vm: $OUTDIR/$f missing (run build-image.sh)" >&2; exit 2; }
done
[[ -f $HOSTDIR/run.sh ]] || { echo "run-vm: $HOSTDIR/run.sh missing" >&2; exit 2; }

# A previous run's results must not be mistaken for this one's.
rm -rf "$HOSTDIR/out" "$HOSTDIR/serial.log"
mkdir "$HOSTDIR/out"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/batchai-vm.XXXXXX")
qemu_pid=
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  # qemu_pid is timeout(1)'s pid: it passes SIGTERM on to qemu (its own process group), and qemu
  # exits on SIGTERM. SIGKILL would end timeout alone and orphan qemu.
  if [[ -n $qemu_pid ]]; then
    kill -TERM "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# If we are stopped (a test runner's own timeout, ^C), qemu must not outlive us.
trap 'exit 130' INT
trap 'exit 143' TERM

qemu-img create -q -f qcow2 -b "$OUTDIR/image.ext4" -F raw "$WORK/overlay.qcow2"

# -accel tcg: KVM does not boot normal kernels on these machines. -cpu max: every instruction
#   set extension TCG emulates, so guest code takes the same paths as on real hardware.
# -nodefaults, -display none, -monitor none: no VGA, floppy, CD-ROM or monitor to probe or wait
#   for; the serial console (the guest's console=ttyS0) goes to HOSTDIR/serial.log.
# -no-reboot + panic=1: a guest that panics or reboots ends qemu instead of looping.
# net.ifnames=0: the NIC is eth0, which the guest's batchai-vm-run configures.
# mitigations=off: speculative-execution mitigations only slow emulation down (page table
#   isolation especially) and guard nothing in a throw-away test VM.
# cache=unsafe: the overlay is deleted afterwards; flushes to it are pointless.
# ipv6=off: the guest is meant to reach the host's loopback over IPv4 and nothing else.
APPEND="root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=1 mitigations=off"
timeout --kill-after=10 "$TIMEOUT" \
  qemu-system-x86_64 -accel tcg -cpu max -m 2G -smp 2 \
    -nodefaults -no-user-config -display none -monitor none -no-reboot \
    -serial "file:$HOSTDIR/serial.log" \
    -kernel "$OUTDIR/vmlinuz" -initrd "$OUTDIR/initrd.img" -append "$APPEND" \
    -drive "file=$WORK/overlay.qcow2,format=qcow2,if=virtio,cache=unsafe" \
    -virtfs "local,path=$HOSTDIR,mount_tag=host,security_model=passthrough,id=host" \
    -netdev user,id=n0,ipv6=off -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci \
    </dev/null &
qemu_pid=$!
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=

[[ -f $HOSTDIR/out/console.log ]] && cat "$HOSTDIR/out/console.log"

if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
  echo "run-vm: the VM did not finish within $TIMEOUT s; end of its serial console:" >&2
  tail -n 40 "$HOSTDIR/serial.log" >&2 || true
  exit 124
fi
rc=$(cat "$HOSTDIR/out/rc" 2>/dev/null || true)
if [[ ! $rc =~ ^[0-9]+$ ]]; then
  echo "run-vm: the guest recorded no exit status (qemu exited with $qemu_rc); end of its serial console:" >&2
  tail -n 40 "$HOSTDIR/serial.log" >&2 || true
  exit 1
fi
exit "$rc"
