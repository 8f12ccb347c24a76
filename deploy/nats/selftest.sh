#!/usr/bin/env bash
# Self-test of the NATS configs in this folder, on one machine, without containers.
#
# Copies cluster-{a,b,c}.conf, accounts.conf and leaf-country.conf (as FRA and DEU) into a
# temporary directory with every port moved to loopback, starts the five servers, checks each with
# `nats-server -t` first, then runs selftest.mjs against them: permissions of every user,
# scatter/gather across routes and leaf links, JetStream R3.
#
# Needs nats-server on PATH and the repository's node_modules (npm ci). Run from anywhere:
#   deploy/nats/selftest.sh            # SELFTEST_BASE_PORT=24000 by default
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="${SELFTEST_BASE_PORT:-24000}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Placeholder passwords for the test only. The coordinator's is given as a bcrypt hash (of "t-coord"),
# in double quotes as README "NATS: accounts" says: nats-server parses the value of a variable, and
# would read an unquoted "$2y$..." as another variable reference.
export NATS_COORDINATOR_PASSWORD='"$2y$10$.vgxKrYGx3t43p.ukykqTesuFKhUOG7XVvZRUNwJ3P/MQcByHaSIu"'
export NATS_NODE_FRA_PASSWORD=t-node-fra NATS_NODE_DEU_PASSWORD=t-node-deu
export NATS_NODE_ESP_PASSWORD=t-node-esp NATS_LEAF_FRA_PASSWORD=t-leaf-fra NATS_LEAF_DEU_PASSWORD=t-leaf-deu
export NATS_LEAF_ESP_PASSWORD=t-leaf-esp NATS_OPS_PASSWORD=t-ops NATS_SYS_PASSWORD=t-sys

cp "$here/accounts.conf" "$work/"
i=0
for s in a b c; do
  i=$((i + 1))
  sed -e "s/0\.0\.0\.0:4222/127.0.0.1:$((base + i))/" \
      -e "s/0\.0\.0\.0:6222/127.0.0.1:$((base + 10 + i))/" \
      -e "s/0\.0\.0\.0:7422/127.0.0.1:$((base + 20 + i))/" \
      -e "s/0\.0\.0\.0:8222/127.0.0.1:$((base + 30 + i))/" \
      -e "s#nats-route://nats-a:6222#nats-route://127.0.0.1:$((base + 11))#" \
      -e "s#nats-route://nats-b:6222#nats-route://127.0.0.1:$((base + 12))#" \
      -e "s#nats-route://nats-c:6222#nats-route://127.0.0.1:$((base + 13))#" \
      -e "s#store_dir: \"/data\"#store_dir: \"$work/js-$s\"#" \
      "$here/cluster-$s.conf" > "$work/cluster-$s.conf"
  grep -q "127.0.0.1:$((base + i))" "$work/cluster-$s.conf" # the rewrite must have matched
done
leaf() { # name source client-port monitor-port hub-user hub-password hub-leaf-port
  sed -e "s/0\.0\.0\.0:4222/127.0.0.1:$3/" -e "s/0\.0\.0\.0:8222/127.0.0.1:$4/" "$here/$2" > "$work/$1.conf"
  grep -q "127.0.0.1:$3" "$work/$1.conf"
  echo "nats-leaf://$5:$6@127.0.0.1:$7"
}
url_fra="$(leaf leaf-fra leaf-country.conf $((base + 41)) $((base + 51)) leaf-FRA t-leaf-fra $((base + 21)))"
url_deu="$(leaf leaf-deu leaf-country.conf $((base + 42)) $((base + 52)) leaf-DEU t-leaf-deu $((base + 22)))"

start() { # name [env...]
  local name="$1"; shift
  env "$@" nats-server -t -c "$work/$name.conf"
  env "$@" nats-server -c "$work/$name.conf" > "$work/$name.log" 2>&1 &
  pids+=("$!")
}
for s in a b c; do start "cluster-$s"; done
# The local "node" user's password differs per country (selftest.mjs knows both).
start leaf-fra NATS_SERVER_NAME=leaf-FRA-1 NATS_HUB_LEAF_URL="$url_fra" NATS_LOCAL_NODE_PASSWORD=t-local-fra
start leaf-deu NATS_SERVER_NAME=leaf-DEU-1 NATS_HUB_LEAF_URL="$url_deu" NATS_LOCAL_NODE_PASSWORD=t-local-deu

# Wait until every server is healthy (hub: JetStream meta leader elected) and every leaf is linked.
for port in $((base + 31)) $((base + 32)) $((base + 33)) $((base + 51)) $((base + 52)); do
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then break; fi
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null || { echo "server with monitor port $port not healthy"; tail -n 20 "$work"/*.log; exit 1; }
done
for port in $((base + 51)) $((base + 52)); do
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/leafz" | grep -q '"leafnodes": 1'; then break; fi
    sleep 0.5
  done
done

SELFTEST_BASE_PORT="$base" node "$here/selftest.mjs"
