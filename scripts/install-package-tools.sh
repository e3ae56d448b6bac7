#!/usr/bin/env bash
# Installs what building and testing the Debian package needs: debhelper and dpkg-dev
# (dpkg-buildpackage), fakeroot, lintian, and systemd-nspawn with debootstrap for the test that
# boots Debian 12 with systemd as PID 1 (docs/systemd.md).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-package-tools.sh: run as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages=(debhelper dpkg-dev fakeroot lintian systemd-container debootstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
