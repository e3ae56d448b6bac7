#!/usr/bin/env bash
# Builds the Debian package batchai-agent (packaging/debian, dpkg-buildpackage, debhelper):
#   bash scripts/build-package.sh                    -> build-deb/batchai-agent_<version>_<arch>.deb
#   bash scripts/build-package.sh --version 0.1.0+1  a newer build (the upgrade test uses it)
# Needs what `scripts/install-deps.sh --package-tools` installs. The sources are
# copied to build-deb/batchai-agent (tracked and not-ignored files, with their times), so a second
# build compiles only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    *) echo "build-package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -n "$version" ] && ! [[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
  echo "build-package.sh: --version $version: not a native Debian version" >&2
  exit 2
fi
out=${PACKAGE_BUILD_DIR:-build-deb}
src=$out/batchai-agent
mkdir -p "$src"
rm -rf "$src/debian"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - |
    tar -C "$src" -xf -
else  # an unpacked source tarball: everything but build trees
  tar --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$src" -xf -
fi
cp -a packaging/debian "$src/debian"
if [ -n "$version" ]; then
  {
    printf 'batchai-agent (%s) unstable; urgency=medium\n\n  * A newer build of the same sources.\n\n' "$version"
    printf ' -- %s  %s\n\n' "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' packaging/debian/changelog | head -1)" \
      "$(date -R)"
    cat packaging/debian/changelog
  } >"$src/debian/changelog"
fi
# -nc: keep the build directory (obj/) of the last run.
(cd "$src" && dpkg-buildpackage -b -us -uc -nc -jauto >../dpkg-buildpackage.log 2>&1) || {
  tail -40 "$out/dpkg-buildpackage.log" >&2
  echo "build-package.sh: dpkg-buildpackage failed; the whole log: $out/dpkg-buildpackage.log" >&2
  exit 1
}
v=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
deb=$out/batchai-agent_${v}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
echo "$deb"
