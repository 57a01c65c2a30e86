#!/usr/bin/env bash
# Makes sure the base image of deploy/docker/Dockerfile.* exists in the
# local Docker: debian:bookworm-slim, pulled from the registry when one is
# reachable, otherwise built here with debootstrap from Debian's package
# mirror (a minbase bookworm, what the slim image is, without the docs
# and locales it drops) and imported under the same name. So the same
# Dockerfiles build with and without a registry.
#
#   scripts/docker-base.sh [IMAGE]     (default debian:bookworm-slim)
#
# Env: DEBIAN_MIRROR (default http://deb.debian.org/debian). Needs root
# and debootstrap for the fallback (Debian package `debootstrap`).
set -euo pipefail

IMAGE=${1:-debian:bookworm-slim}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$IMAGE" > /dev/null 2>&1; then
  echo "docker-base: $IMAGE is present"
  exit 0
fi
if timeout 60 docker pull "$IMAGE" > /dev/null 2>&1; then
  echo "docker-base: pulled $IMAGE"
  exit 0
fi
echo "docker-base: cannot pull $IMAGE; building it with debootstrap from $MIRROR"
command -v debootstrap > /dev/null ||
  { echo "docker-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

ROOTFS=$(mktemp -d /tmp/aether-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --arch=amd64 bookworm "$ROOTFS" "$MIRROR" > "$ROOTFS.log" 2>&1 ||
  { tail -n 20 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"
# As the official slim image: the security and updates suites, no apt
# caches or package lists, no docs or man pages in later installs.
cat > "$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
echo 'APT::Install-Recommends "false";' > "$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
tar -C "$ROOTFS" -c . | docker import --change 'CMD ["bash"]' - "$IMAGE" > /dev/null
echo "docker-base: built $IMAGE with debootstrap"
