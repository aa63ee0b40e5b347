#!/usr/bin/env bash
# The README's first command on a stock Debian 12 made from nothing: a
# minimal root from debootstrap, the prerequisites the README names (make,
# python3), this checkout copied in, then `make demo` inside it as root.
# Its Python is Debian's own, externally managed (PEP 668).
#
#   tests/install/fresh_debian.sh [DIR]      # default build/fresh-debian
#
# Needs root, debootstrap and Debian's mirror; takes 10-20 minutes. Not part
# of `make test` (CI runs tests/install/check_install.py, the same install
# script on this machine's Debian python). TORCH_WHEEL (optional) is copied
# in and used; otherwise pip inside looks up torch 2.13.0+cpu itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR="$(realpath -m "${1:-build/fresh-debian}")"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { echo "fresh_debian: apt-get install debootstrap first" >&2; exit 2; }

cleanup() {
  for m in dev/pts dev proc sys; do umount "$DIR/$m" 2>/dev/null || true; done
}
trap cleanup EXIT

if [ ! -x "$DIR/usr/bin/apt-get" ]; then
  echo "fresh_debian: debootstrap bookworm into $DIR"
  debootstrap --variant=minbase bookworm "$DIR" "$MIRROR" >"$DIR.debootstrap.log" 2>&1 \
    || { tail -20 "$DIR.debootstrap.log"; exit 1; }
fi
mkdir -p "$DIR/src" "$DIR/wheels"
rm -rf "$DIR/src" && mkdir -p "$DIR/src"
git archive HEAD | tar -x -C "$DIR/src"
wheel_arg=""
if [ -n "${TORCH_WHEEL:-}" ]; then
  cp "$TORCH_WHEEL" "$DIR/wheels/"
  wheel_arg="TORCH_WHEEL=/wheels/$(basename "$TORCH_WHEEL")"
fi
cp /etc/resolv.conf "$DIR/etc/resolv.conf"
# A network that re-signs TLS (a corporate proxy, this project's sandbox)
# needs the host's CA bundle for pip inside; PIP_CERT names it.
host_ca="${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}"
cert_arg=""
if [ -f "$host_ca" ]; then
  cp "$host_ca" "$DIR/etc/host-ca-bundle.pem"
  cert_arg="PIP_CERT=/etc/host-ca-bundle.pem"
fi
mount --bind /dev "$DIR/dev"
mount --bind /dev/pts "$DIR/dev/pts"
mount -t proc proc "$DIR/proc"
mount -t sysfs sys "$DIR/sys"
# The README's prerequisites on a stock system, then its first command.
chroot "$DIR" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 bash -euo pipefail -c "
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends make python3 ca-certificates git >/dev/null
  python3 -c 'import sys; print(\"python\", sys.version.split()[0], \"at\", sys.executable)'
  ls /usr/lib/python3*/EXTERNALLY-MANAGED
  cd /src
  $cert_arg $wheel_arg make demo
"
