#!/usr/bin/env bash
# One-time set-up of a fresh machine: nats-server (Debian package) when missing, then npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: installing nats-server (Debian package)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null
fi

echo "setup: $(nats-server --version)" >&2
npm ci --no-audit --no-fund
