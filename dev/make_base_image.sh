#!/usr/bin/env bash
# A local stand-in for python:3.11-slim-bookworm where no container registry is reachable:
# Debian bookworm (debootstrap, from the mirror apt already uses) with Python 3.11, make,
# CA certificates and a venv on PATH (bookworm's python3 refuses system-wide pip installs).
# Idempotent: an existing image of that name is reused. Needs root, debootstrap and podman.
# Usage: dev/make_base_image.sh [IMAGE]   (default localhost/model-recycling-base:bookworm)
set -euo pipefail
IMAGE=${1:-localhost/model-recycling-base:bookworm}

if podman image exists "$IMAGE"; then
    echo "base image $IMAGE exists: reused" >&2
    exit 0
fi
# The first Debian mirror apt uses (one-line or deb822 sources).
MIRROR=$( (grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
    /etc/apt/sources.list.d/ 2>/dev/null || true) | head -n1 | tr -d ' ')
MIRROR=${MIRROR:-http://deb.debian.org/debian}

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap bookworm from $MIRROR" >&2
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,make,ca-certificates \
    bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
chroot "$rootfs" python3 -m venv /opt/venv
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" -c . | podman import --quiet \
    --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo "base image $IMAGE made" >&2
