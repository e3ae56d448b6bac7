#!/usr/bin/env bash
# Installs the real servers and FUSE drivers the mount tests use (tests/mounts/servers.py):
#   - Debian packages: samba smbclient cifs-utils rclone fuse3 (and nodejs/npm if node is missing),
#     and qemu, debootstrap and e2fsprogs for the VM of tests/vm
#   - Azurite (Microsoft's Azure Storage emulator) from npm, pinned, under $AZURITE_PREFIX
#   - the mount helper link /sbin/mount.rclone -> /usr/bin/rclone (libmount runs /sbin/mount.<type>)
#   - for tests/containers: docker.io, docker-registry, apache2-utils, busybox-static
#   - for tests/multinode: openssh-server, openssh-client, openmpi-bin, python3-mpi4py, sshfs,
#     python3-torch (CPU; large: apt's cache keeps it for the next run)
#   - for tests/clients: azure-cli and python3-azure (az batchai and the Azure SDK), and
#     nfs-ganesha with its VFS backend (the NFSv4 server of the job files on a file server)
# With --demo, only what the quickstart demo needs (scripts/demo.sh): samba, smbclient, rclone,
# fuse3, openssl, azure-cli, python3-azure, Azurite and the rclone link.
# Idempotent: on a machine that has all of it, it only checks and prints.
set -euo pipefail
demo_only=0
for arg in "$@"; do
  case "$arg" in
    --demo) demo_only=1 ;;
    *) echo "install-test-servers.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"  # 3.36+ need node >= 21/22; Debian 12 has node 18
AZURITE_PREFIX="${AZURITE_PREFIX:-/opt/batchai-tests/azurite}"

say() { echo "install-test-servers: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-servers.sh: run as root (it uses apt-get and writes /sbin, /opt)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# --- Debian packages -------------------------------------------------------------------------------
packages=(samba smbclient cifs-utils rclone fuse3 openssl
  # the VM of tests/vm (kernel cifs and NFS): qemu, a Debian root, an ext4 image
  qemu-system-x86 qemu-utils debootstrap e2fsprogs
  # tests/containers: dockerd 20.10 with containerd, runc and docker-init (docker.io), Debian's
  # registry server (docker-registry), htpasswd for its bcrypt users (apache2-utils) and
  # busybox-static for the small test image (debootstrap, above, builds the python image). The
  # fixtures run their own dockerd and registry on private sockets and ports; a system one the
  # packages may start does not get in their way.
  docker.io docker-registry apache2-utils busybox-static
  # tests/multinode: each job's own sshd and OpenMPI across agents in network namespaces.
  openssh-server openssh-client openmpi-bin python3-mpi4py sshfs python3-torch
  # tests/clients: the real clients of the resource-manager API, az batchai and the Azure SDK,
  # and an NFSv4 server in user space that the control plane reads job files from.
  azure-cli python3-azure nfs-ganesha nfs-ganesha-vfs)
if [ "$demo_only" = 1 ]; then
  packages=(samba smbclient rclone fuse3 openssl azure-cli python3-azure)
fi
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  # No service starts on install (openssh-server would start a system sshd on port 22): the
  # tests start their own servers. policy-rc.d is the Debian way to say so, removed after.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "packages present: ${packages[*]}"
fi

# The tests run their own smbd, dockerd and sshd on private ports and sockets, so no system one
# is started on install (and one that runs is harmless).

# --- rclone as a mount helper ----------------------------------------------------------------------
if [ "$(readlink /sbin/mount.rclone 2>/dev/null || true)" = /usr/bin/rclone ]; then
  say "/sbin/mount.rclone -> /usr/bin/rclone present"
elif [ -e /sbin/mount.rclone ] || [ -L /sbin/mount.rclone ]; then
  say "/sbin/mount.rclone exists and is not a link to /usr/bin/rclone; leaving it"
else
  say "ln -s /usr/bin/rclone /sbin/mount.rclone"
  ln -s /usr/bin/rclone /sbin/mount.rclone
fi

# --- Azurite -----------------------------------------------------------------------------------------
azurite_main="$AZURITE_PREFIX/node_modules/azurite/dist/src/blob/main.js"
installed=""
if [ -f "$AZURITE_PREFIX/node_modules/azurite/package.json" ]; then
  installed="$(node -p "require('$AZURITE_PREFIX/node_modules/azurite/package.json').version" \
               2>/dev/null || true)"
fi
if [ "$installed" = "$AZURITE_VERSION" ] && [ -f "$azurite_main" ]; then
  say "azurite $AZURITE_VERSION present in $AZURITE_PREFIX"
else
  say "npm install azurite@$AZURITE_VERSION into $AZURITE_PREFIX (was: ${installed:-none})"
  mkdir -p "$AZURITE_PREFIX"
  npm install --prefix "$AZURITE_PREFIX" --save-exact --no-audit --no-fund \
      --no-update-notifier --loglevel=error "azurite@$AZURITE_VERSION"
  test -f "$azurite_main"
fi

# --- FUSE ----------------------------------------------------------------------------------------
if [ -c /dev/fuse ]; then
  say "/dev/fuse present"
else
  say "warning: no /dev/fuse; the rclone (FUSE) mount tests will be skipped"
fi

say "done"
