#!/usr/bin/env bash
# sfcbc's Fabric CA client (client/src/ca.rs) against a REAL fabric-ca-server 1.5.21.
#
#   bash tests/real-fabric/ca.sh          # from the repository root (or anywhere)
#
# 1. builds fabric-ca-server + fabric-ca-client 1.5.21 with ../shared/fabric-real/build-ca.sh
#    (about 35 s cold, seconds when cached; installs libsqlite3-dev if missing);
# 2. runs `cargo test -p sfcbc-client --test ca_real` with SFCBC_REQUIRE_FABRIC_CA=1, so a
#    missing binary fails instead of skipping. Each test starts its own fabric-ca-server in a
#    temporary directory on a free loopback port (plain http and TLS) and stops it:
#    cainfo; enroll the bootstrap admin; register a client (attributes, affiliation), a peer
#    and an admin with the registrar's token; enroll each into an MSP folder that
#    sfcbc_fabric::MspDir loads, signs and verifies with, and whose NodeOU roles (client,
#    peer, admin) come from the certificates' OUs; the folder's layout equals what the real
#    `fabric-ca-client enroll` writes (plus config.yaml); wrong secret, unknown id, duplicate
#    registration and a registrar without rights get the CA's own errors; revoke by id (with
#    CRL) and by serial+AKI; a revoked identity can neither enroll again nor authenticate.
# 3. on a real Fabric 2.5 network (skip with CA_NETWORK=0): builds Fabric
#    (../shared/fabric-real/build.sh), sfcbc-ccaas and sfcbc; network/fabric/up.sh (cryptogen
#    orgs, 5 peers), channel.sh + deploy.sh for sfc-chain1, profile.sh; `sfcbc chain create
#    chain1` as User1@Tenant1; starts a fabric-ca-server that signs with Org1's CA key (so
#    its identities chain to the Org1MSP root in the channel config); then
#    `cargo test --test ca_network` phase `enroll`: register + enroll two SFs (sf-org1,
#    sf-org1b) with sfcbc's CA client, each records a hop through Org1's gateway (committed,
#    read back), then sf-org1 is revoked at the CA (CRL); ca.sh puts that CRL into Org1MSP's
#    revocation_list with a channel config update (configtxlator, signed by Org1's admin);
#    phase `revoked`: the peers refuse sf-org1's RecordHops, sf-org1b still records.
# 4. prints "REAL-FABRIC CA OK", exits non-zero on failure, tears the network down (trap;
#    KEEP_NET=1 keeps it).
#
# Skips (exit 0, says so) when ../shared/fabric-real is absent. Env: FABRIC_REAL (harness
# dir), FABRIC_HOME (where the binaries go, default ~/.cache/fabric-real), CARGO_TARGET_DIR,
# CA_NETWORK=0 (stages 1-2 only), NETWORK_PORT_BASE (default 48200), KEEP_NET.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build-ca.sh" ]]; then
  echo "SKIP real-fabric ca: no Fabric harness at $S (set FABRIC_REAL)"
  exit 0
fi
S="$(cd "$S" && pwd)"
say() { echo "[ca.sh $(date +%H:%M:%S)] $*"; }

say "building fabric-ca 1.5.21 ($S/build-ca.sh)"
bash "$S/build-ca.sh"
FABRIC_HOME="${FABRIC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fabric-real}"
export FABRIC_CA_BIN="$FABRIC_HOME/bin"
"$FABRIC_CA_BIN/fabric-ca-server" version | grep -m1 Version

say "cargo test -p sfcbc-client --test ca_real (real fabric-ca-server, no skipping)"
cd "$ROOT"
SFCBC_REQUIRE_FABRIC_CA=1 cargo test -p sfcbc-client --test ca_real -- --nocapture
say "ok: ca_real against fabric-ca-server 1.5.21 (http + TLS)"

if [[ "${CA_NETWORK:-1}" == 0 ]]; then
  say "CA_NETWORK=0: not running the real-network part"
  say "REAL-FABRIC CA OK"
  exit 0
fi

# ------------------------------------------------------------------ real network
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sfcbc-ca-real.XXXXXX")"
export SFCBC_NET="$WORK/net"
export BATCH_TIMEOUT="${BATCH_TIMEOUT:-200ms}" RAFT_TICK_INTERVAL="${RAFT_TICK_INTERVAL:-100ms}"
CA_PID=""
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
block_free() {
  local p
  for p in 0 1 2 10 11 12 20 21 22 30 31 32 40 41 42 50 51 52 80 81 90; do port_busy $(($1 + p)) && return 1; done
  return 0
}
PORT_BASE="${NETWORK_PORT_BASE:-48200}"
if [[ -z "${NETWORK_PORT_BASE:-}" ]]; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do block_free "$PORT_BASE" && break; PORT_BASE=$((PORT_BASE + 200)); done
fi
block_free "$PORT_BASE" || { echo "ports $PORT_BASE+ are in use; set NETWORK_PORT_BASE"; exit 1; }
export PORT_BASE
CA_PORT=$((PORT_BASE + 80))
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$CA_PID" ]]; then kill "$CA_PID" 2>/dev/null; wait "$CA_PID" 2>/dev/null; fi
  [[ -d "$SFCBC_NET" ]] && bash "$ROOT/network/fabric/down.sh" >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    say "logs: $WORK/*.log, $SFCBC_NET/logs/"
    for f in "$WORK"/ca-server.log "$WORK"/cfg-*.log "$SFCBC_NET"/logs/peer0.org1.*.log; do
      [[ -f "$f" ]] && { echo "--- tail $f"; grep -av "TLS handshake" "$f" | tail -8; }
    done
    echo "REAL-FABRIC CA FAILED"
  fi
  if [[ "${KEEP_NET:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
fail() { say "FAIL: $*"; exit 1; }

say "building Fabric (fabric-real/build.sh), sfcbc-ccaas, sfcbc"
bash "$S/build.sh" >"$WORK/build-fabric.log" 2>&1 || { tail -30 "$WORK/build-fabric.log"; fail "fabric build"; }
export FABRIC_BIN="$FABRIC_HOME/bin" FABRIC_CONFIG="$FABRIC_HOME/config" CCAAS_BUILDER="$FABRIC_HOME/builders/ccaas"
{ cargo build -q -p sfcbc-ccaas --bin sfcbc-ccaas && cargo build -q -p sfcbc-client --bin sfcbc; } || fail "cargo build"
TGT="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
export SFCBC_CCAAS="$TGT/sfcbc-ccaas"
F="$ROOT/network/fabric"
say "network up in $SFCBC_NET (ports $PORT_BASE..)"
bash "$F/up.sh" >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; fail "network/fabric/up.sh"; }
bash "$F/channel.sh" --chain "$ROOT/collections/chain1.json" --owner Tenant1 >"$WORK/channel.log" 2>&1 \
  || { tail -20 "$WORK/channel.log"; fail "channel.sh"; }
bash "$F/deploy.sh" --channel sfc-chain1 --collections "$ROOT/collections/sfc-chain1.json" >"$WORK/deploy.log" 2>&1 \
  || { tail -20 "$WORK/deploy.log"; fail "deploy.sh"; }
PROFILE="$(bash "$F/profile.sh")" || fail "profile.sh"
"$TGT/sfcbc" --profile "$PROFILE" -i User1@Tenant1 chain create chain1 --file "$ROOT/collections/chain1.json" \
  >"$WORK/chain.log" 2>&1 || { cat "$WORK/chain.log"; fail "sfcbc chain create chain1"; }
say "ok: network, sfc-chain1, chain1 created"

ORG1="$SFCBC_NET/organizations/peerOrganizations/org1.example.com"
CA_HOME="$WORK/ca-org1"
mkdir -p "$CA_HOME"
say "fabric-ca-server for Org1 on 127.0.0.1:$CA_PORT, signing with Org1's cryptogen CA key"
FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS=127.0.0.1:0 "$FABRIC_CA_BIN/fabric-ca-server" start \
  -b admin:adminpw --port "$CA_PORT" --address 127.0.0.1 --home "$CA_HOME" \
  --ca.certfile "$ORG1/ca/ca.org1.example.com-cert.pem" --ca.keyfile "$ORG1/ca/priv_sk" \
  >"$WORK/ca-server.log" 2>&1 &
CA_PID=$!
for _ in $(seq 1 100); do
  grep -q "Listening on" "$WORK/ca-server.log" && break
  kill -0 "$CA_PID" 2>/dev/null || { tail -20 "$WORK/ca-server.log"; fail "fabric-ca-server exited"; }
  sleep 0.2
done
grep -q "Listening on" "$WORK/ca-server.log" || fail "fabric-ca-server did not start"

export SFCBC_CA_NET_PROFILE="$PROFILE" SFCBC_CA_NET_CA_URL="http://127.0.0.1:$CA_PORT" SFCBC_CA_NET_DIR="$WORK/ids"
mkdir -p "$SFCBC_CA_NET_DIR"
say "cargo test --test ca_network (phase enroll)"
SFCBC_CA_NET_PHASE=enroll cargo test -q -p sfcbc-client --test ca_network -- --nocapture 2>&1 | tee "$WORK/phase-enroll.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || fail "ca_network phase enroll"
[[ -s "$SFCBC_CA_NET_DIR/sf-org1.crl" ]] || fail "no CRL from the revocation"
say "ok: CA-enrolled SFs recorded hops on real Fabric; sf-org1 revoked at the CA"

say "channel config update: Org1MSP revocation_list += the CA's CRL"
# A plain subshell (not in a || list) so that set -e stops it at the first failure.
(
  # shellcheck source-path=SCRIPTDIR source=../../network/fabric/env.sh
  source "$F/env.sh"
  use_org Org1 Admin
  cd "$WORK"
  peer channel fetch config cfg_block.pb "${ORDERER_ARGS[@]}" -c sfc-chain1 >cfg-fetch.log 2>&1
  configtxlator proto_decode --input cfg_block.pb --type common.Block --output cfg_block.json
  python3 - "$SFCBC_CA_NET_DIR/sf-org1.crl" <<'PY'
import base64, json, sys
block = json.load(open("cfg_block.json"))
config = block["data"]["data"][0]["payload"]["data"]["config"]
json.dump(config, open("config.json", "w"))
msp = config["channel_group"]["groups"]["Application"]["groups"]["Org1MSP"]["values"]["MSP"]["value"]["config"]
crl = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
msp["revocation_list"] = (msp.get("revocation_list") or []) + [crl]
json.dump(config, open("modified.json", "w"))
PY
  configtxlator proto_encode --input config.json --type common.Config --output config.pb
  configtxlator proto_encode --input modified.json --type common.Config --output modified.pb
  configtxlator compute_update --channel_id sfc-chain1 --original config.pb --updated modified.pb --output update.pb
  configtxlator proto_decode --input update.pb --type common.ConfigUpdate --output update.json
  python3 - <<'PY'
import json
update = json.load(open("update.json"))
env = {"payload": {"header": {"channel_header": {"channel_id": "sfc-chain1", "type": 2}},
                   "data": {"config_update": update}}}
json.dump(env, open("update_env.json", "w"))
PY
  configtxlator proto_encode --input update_env.json --type common.Envelope --output update_env.pb
  height() { peer channel getinfo -c sfc-chain1 2>/dev/null | sed -n 's/.*"height":\([0-9]*\).*/\1/p'; }
  before="$(height)"
  peer channel update -f update_env.pb -c sfc-chain1 "${ORDERER_ARGS[@]}" >cfg-update.log 2>&1
  # The config block is committed (and Org1MSP reloaded) once peer0.org1's height grows.
  for _ in $(seq 1 100); do
    [[ "$(height)" -gt "$before" ]] && exit 0
    sleep 0.2
  done
  echo "peer0.org1 height stayed at $before" >cfg-wait.log
  exit 1
)
say "ok: channel config update committed on peer0.org1"

say "cargo test --test ca_network (phase revoked)"
SFCBC_CA_NET_PHASE=revoked cargo test -q -p sfcbc-client --test ca_network -- --nocapture 2>&1 | tee "$WORK/phase-revoked.log"
[[ ${PIPESTATUS[0]} -eq 0 ]] || fail "ca_network phase revoked"
grep -aq "The certificate has been revoked (certificate subject=CN=sf-org1," "$SFCBC_NET/logs/peer0.org1.example.com.log" \
  || fail "peer0.org1 did not log that sf-org1's certificate is revoked"
say "ok: the real peers refuse the revoked SF (peer0.org1: \"The certificate has been revoked\"); the other CA-enrolled SF still records"
say "REAL-FABRIC CA OK"
