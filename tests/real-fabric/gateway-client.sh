#!/usr/bin/env bash
# sfcbc-client (the Rust Fabric Gateway client) against real Hyperledger Fabric v2.5 peers.
#
#   bash tests/real-fabric/gateway-client.sh     # from anywhere
#
# 1. builds Fabric with ../shared/fabric-real/build.sh (seconds when cached);
# 2. brings up a private network (orderer + peer0.org1 + peer0.org2 with the Gateway on,
#    channel mychannel, BatchTimeout 200ms) in a temporary $NET on its own ports, so it never
#    touches another user's network: orderer 17050/17053/19443, peer0.org1 17051/17052/19444,
#    peer0.org2 19051/19052/19445, chaincode servers 19999 (Node) and 19998 (sfcbc-ccaas);
#    every one overridable by the variable of the same name (ORDERER_PORT, ..., CC_PORT,
#    SFC_CC_PORT);
# 3. deploys the official Node example chaincode (fabric-real/cc-node: put/get + event) as
#    CCaaS `basic`, and runs `cargo test -p sfcbc-client --test real_fabric` against it
#    (evaluate, submit, submit-async + commit status, chaincode events with checkpoint
#    replay, full/filtered block events, error details, commit failures, transient data,
#    off-line signing, TLS);
# 4. deploys the SFC chaincode (`sfcbc-ccaas serve`, endorsement policy
#    OR('Org1MSP.peer','Org2MSP.peer')) as `sfc` and runs `--test real_fabric_sfc` (the
#    typed SfcContract: chains, private sharing endorsed by the hop SP only, check-in,
#    records, errors, trace, events);
# 5. prints "REAL-FABRIC GATEWAY CLIENT OK", exits non-zero on failure, and brings the
#    network down (trap). KEEP_NET=1 keeps $NET and its logs.
#
# Skips (exit 0, says so) when ../shared/fabric-real is absent. Env: FABRIC_REAL (harness
# dir), KEEP_NET, CARGO_TARGET_DIR, the port variables above.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build.sh" ]]; then
  echo "SKIP real-fabric gateway client: no Fabric harness at $S (set FABRIC_REAL)"
  exit 0
fi
S="$(cd "$S" && pwd)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sfcbc-gateway-client.XXXXXX")"
export NET="$WORK/network"
export ORDERER_PORT="${ORDERER_PORT:-17050}" ORDERER_ADMIN_PORT="${ORDERER_ADMIN_PORT:-17053}"
export ORDERER_OPS_PORT="${ORDERER_OPS_PORT:-19443}"
export ORG1_PEER_PORT="${ORG1_PEER_PORT:-17051}" ORG1_CC_PORT="${ORG1_CC_PORT:-17052}"
export ORG1_OPS_PORT="${ORG1_OPS_PORT:-19444}"
export ORG2_PEER_PORT="${ORG2_PEER_PORT:-19051}" ORG2_CC_PORT="${ORG2_CC_PORT:-19052}"
export ORG2_OPS_PORT="${ORG2_OPS_PORT:-19445}"
CC_ADDR="127.0.0.1:${CC_PORT:-19999}"
SFC_ADDR="127.0.0.1:${SFC_CC_PORT:-19998}"
SFC_PID=""

say() { echo "[gateway-client.sh $(date +%H:%M:%S)] $*"; }

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$SFC_PID" ]]; then kill "$SFC_PID" 2>/dev/null; wait "$SFC_PID" 2>/dev/null; fi
  if [[ -d "$NET" ]]; then bash "$S/down.sh" >/dev/null 2>&1; fi
  if [[ $rc -ne 0 ]]; then
    for f in "$NET"/logs/cc-basic.log "$WORK"/sfc-serve.log; do
      [[ -f "$f" ]] && { echo "--- tail $f"; tail -15 "$f"; }
    done
    [[ -f "$NET/logs/peer0.org1.log" ]] && { echo "--- peer0.org1 errors"; grep -E "ERRO|WARN" "$NET/logs/peer0.org1.log" | tail -15; }
    echo "REAL-FABRIC GATEWAY CLIENT FAILED"
  fi
  if [[ "${KEEP_NET:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$ORDERER_PORT" "$ORDERER_ADMIN_PORT" "$ORDERER_OPS_PORT" "$ORG1_PEER_PORT" "$ORG1_CC_PORT" \
         "$ORG1_OPS_PORT" "$ORG2_PEER_PORT" "$ORG2_CC_PORT" "$ORG2_OPS_PORT" "${CC_ADDR##*:}" "${SFC_ADDR##*:}"; do
  port_free "$p" || { say "port $p is in use: stop whatever holds it or override the port variable"; exit 1; }
done

say "building Fabric (fabric-real/build.sh)"
bash "$S/build.sh" >"$WORK/build-fabric.log" 2>&1 || { tail -30 "$WORK/build-fabric.log"; exit 1; }
say "building the tests and sfcbc-ccaas"
(cd "$ROOT" && cargo build -q -p sfcbc-ccaas --bin sfcbc-ccaas && cargo test -q -p sfcbc-client --no-run --test real_fabric --test real_fabric_sfc)

say "network up in $NET"
BATCH_TIMEOUT=200ms RAFT_TICK_INTERVAL=100ms RESET=1 bash "$S/up.sh" >"$WORK/up.log" 2>&1 || { tail -30 "$WORK/up.log"; exit 1; }

say "deploying the Node example chaincode as basic on $CC_ADDR"
bash "$S/deploy-ccaas.sh" basic_1.0 "$CC_ADDR" >"$WORK/deploy-basic.log" 2>&1 || { tail -30 "$WORK/deploy-basic.log"; exit 1; }
PKGID="$(sed -n 's/^PACKAGE_ID=//p' "$WORK/deploy-basic.log")"
bash "$S/run-cc-node.sh" "$PKGID" "$CC_ADDR" basic >"$WORK/cc-basic.log" 2>&1 || { tail -30 "$WORK/cc-basic.log"; exit 1; }

say "cargo test -p sfcbc-client --test real_fabric"
(cd "$ROOT" && SFCBC_FABRIC_NET="$NET" SFCBC_CC_NAME=basic cargo test -q -p sfcbc-client --test real_fabric -- --nocapture)

say "deploying the SFC chaincode (sfcbc-ccaas) as sfc on $SFC_ADDR"
SIGNATURE_POLICY="OR('Org1MSP.peer','Org2MSP.peer')" bash "$S/deploy-ccaas.sh" sfc_1.0 "$SFC_ADDR" \
  >"$WORK/deploy-sfc.log" 2>&1 || { tail -30 "$WORK/deploy-sfc.log"; exit 1; }
SFC_PKGID="$(sed -n 's/^PACKAGE_ID=//p' "$WORK/deploy-sfc.log")"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/sfcbc-ccaas"
"$BIN" serve --address "$SFC_ADDR" --chaincode-id "$SFC_PKGID" >"$WORK/sfc-serve.log" 2>&1 &
SFC_PID=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/${SFC_ADDR##*:}") 2>/dev/null && break; sleep 0.1; done

say "cargo test -p sfcbc-client --test real_fabric_sfc"
(cd "$ROOT" && SFCBC_FABRIC_NET="$NET" SFCBC_SFC_CC_NAME=sfc cargo test -q -p sfcbc-client --test real_fabric_sfc -- --nocapture)

say "REAL-FABRIC GATEWAY CLIENT OK"
