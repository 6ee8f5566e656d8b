#!/usr/bin/env bash
# Installs the Debian 12 packages mlq needs to build, test and run.
# Idempotent: installs only what is missing; safe to run again.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libzmq3-dev libsodium-dev libmsgpack-dev libsqlite3-dev sqlite3 uuid-dev
  libcmocka-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libbsd-dev
  curl python3-yaml
  python3 procps iproute2 tzdata strace
  python3-pip python3-setuptools python3-wheel python3-venv
  chromium chromium-driver python3-selenium
  prometheus
  help2man dpkg-dev man-db
  podman crun catatonit busybox-static
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "mlq: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
