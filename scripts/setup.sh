#!/usr/bin/env bash
# One-time set-up of a fresh machine: nats-server and chromium (Debian packages) when missing, then npm
# dependencies. Chromium runs the web console's browser tests (test/browser/, driven by playwright-core).
set -euo pipefail
cd "$(dirname "$0")/.."

MISSING=()
command -v nats-server >/dev/null 2>&1 || MISSING+=(nats-server)
[ -x /usr/bin/chromium ] || MISSING+=(chromium)
if [ "${#MISSING[@]}" -gt 0 ]; then
  echo "setup: installing ${MISSING[*]} (Debian packages)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${MISSING[@]}" >/dev/null
fi

echo "setup: $(nats-server --version); $(/usr/bin/chromium --version 2>/dev/null)" >&2
npm ci --no-audit --no-fund
