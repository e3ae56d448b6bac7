#!/usr/bin/env bash
# Installs what building, the demo and the tests need, from Debian 12's packages only.
#   --package-tools  also what building and testing the Debian package needs: debhelper,
#                    dpkg-dev, fakeroot, lintian, and systemd-nspawn with debootstrap for the
#                    test that boots Debian 12 with systemd as PID 1 (docs/systemd.md)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it uses apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build
  cmake ninja-build g++ pkg-config
  libcurl4-openssl-dev nlohmann-json3-dev libsystemd-dev libmount-dev libspdlog-dev libssl-dev
  libcli11-dev libcpp-httplib-dev libcrypt-dev libre2-dev googletest libgtest-dev libgmock-dev
  libsmbclient-dev libnfs-dev
  # the demo job and the end-to-end tests
  python3 python3-numpy python3-sklearn util-linux procps
  # the fuzz targets (scripts/fuzz.sh): clang with its libFuzzer and sanitizer runtimes
  clang libclang-rt-14-dev
)
for arg in "$@"; do
  case "$arg" in
    --package-tools) packages+=(debhelper dpkg-dev fakeroot lintian systemd-container debootstrap) ;;
    *) echo "install-deps.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
