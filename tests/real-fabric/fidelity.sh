#!/usr/bin/env bash
# Fidelity diff (issue #8): the same scripted SFC transactions on devnet and on real Fabric
# 2.5 must give blocks whose transactions have the same validation codes, the same reads and
# written keys (public keys; private key hashes per collection) and the same chaincode events.
#
#   bash tests/real-fabric/fidelity.sh        # from anywhere; about 2-4 minutes
#
# 1. builds Fabric (../shared/fabric-real/build.sh, cached), sfcbc-ccaas, sfcbc and the driver
#    (client/examples/fidelity.rs);
# 2. devnet: `sfcbc devnet up` (orgs Manager,Tenant1,Org1,Org2,Org3), then channel sfc-chain1
#    with those orgs and chaincode sfc committed with the "any member peer" policy and
#    collections/sfc-chain1.json (`sfcbc devnet channel create` / `devnet chaincode commit`);
# 3. real Fabric: network/fabric/ up.sh, channel.sh (collections/chain1.json), deploy.sh
#    (same policy, same collections), profile.sh - as tests/real-fabric/network.sh does;
# 4. runs the driver against both (same BatchTimeout and MaxMessageCount), then compares the
#    two JSON files after removing only the differences documented as intended in
#    docs/fidelity.md (INTENDED below); prints the diff and fails on any other difference.
# Prints "FIDELITY OK" or "FIDELITY FAILED: <why>"; always tears both networks down (trap).
#
# Skips (exit 0, says so) when ../shared/fabric-real is absent. Env: FABRIC_REAL, FABRIC_HOME,
# FIDELITY_PORT_BASE (real network, default 50200), FIDELITY_DEVNET_PORT (default 51000),
# KEEP_NET=1 keeps the work folder (both JSON files, logs), CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build.sh" ]]; then
  echo "SKIP fidelity: no Fabric harness at $S (set FABRIC_REAL; see ../shared/fabric-real/README.md)"
  exit 0
fi
S="$(cd "$S" && pwd)"
T0=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sfcbc-fidelity.XXXXXX")"
export SFCBC_NET="$WORK/net"
export BATCH_TIMEOUT=200ms MAX_MESSAGE_COUNT=10 RAFT_TICK_INTERVAL=100ms
export PORT_BASE="${FIDELITY_PORT_BASE:-50200}"
DEVNET_PORT="${FIDELITY_DEVNET_PORT:-51000}"
DEVNET_DIR="$WORK/devnet"
DEVNET_PID=""
FAILED=""

say() { echo "[fidelity.sh $(date +%H:%M:%S)] $*"; }
fail() { FAILED="$*"; say "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  if [[ -n "$DEVNET_PID" ]] && kill -0 "$DEVNET_PID" 2>/dev/null; then
    kill -TERM "$DEVNET_PID"
    for _ in $(seq 50); do kill -0 "$DEVNET_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DEVNET_PID" 2>/dev/null
  fi
  [[ -d "$SFCBC_NET" ]] && bash "$ROOT/network/fabric/down.sh" >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    say "logs: $WORK/*.log, $SFCBC_NET/logs/"
    echo "FIDELITY FAILED${FAILED:+: $FAILED}"
  fi
  if [[ "${KEEP_NET:-0}" == 1 || $rc -ne 0 && "${KEEP_ON_FAIL:-0}" == 1 ]]; then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'FAILED="interrupted"; exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 0 1 2 10 11 12 20 21 22 30 31 32 40 41 42 50 51 52 90; do
  port_busy $((PORT_BASE + p)) && fail "port $((PORT_BASE + p)) is in use (set FIDELITY_PORT_BASE)"
done
for p in $(seq 0 12); do
  port_busy $((DEVNET_PORT + p)) && fail "port $((DEVNET_PORT + p)) is in use (set FIDELITY_DEVNET_PORT)"
done

# ------------------------------------------------------------------ build
say "building Fabric (fabric-real/build.sh), sfcbc-ccaas, sfcbc and the fidelity driver"
bash "$S/build.sh" >"$WORK/build-fabric.log" 2>&1 || { tail -30 "$WORK/build-fabric.log"; fail "fabric build"; }
FH="${FABRIC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fabric-real}"
export FABRIC_BIN="$FH/bin" FABRIC_CONFIG="$FH/config" CCAAS_BUILDER="$FH/builders/ccaas"
(cd "$ROOT" && cargo build -q -p sfcbc-ccaas --bin sfcbc-ccaas && cargo build -q -p sfcbc-client --bin sfcbc --example fidelity) \
  >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "cargo build"; }
TGT="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
export SFCBC_CCAAS="$TGT/sfcbc-ccaas"
SFCBC="$TGT/sfcbc"
DRIVER="$TGT/examples/fidelity"
[[ -x "$SFCBC_CCAAS" && -x "$SFCBC" && -x "$DRIVER" ]] || fail "no binaries in $TGT"
C="$ROOT/collections"
ORGS=(Manager Tenant1 Org1 Org2 Org3)
POLICY="OR($(for o in "${ORGS[@]}"; do printf "'%sMSP.peer'," "$o"; done | sed 's/,$//'))"

# ------------------------------------------------------------------ devnet
say "devnet up in $DEVNET_DIR (ports $DEVNET_PORT+)"
mkdir -p "$DEVNET_DIR"
SFCBC_HOME="$WORK/home" "$SFCBC" --json devnet up --dir "$DEVNET_DIR" --base-port "$DEVNET_PORT" \
  --orgs "$(IFS=,; echo "${ORGS[*]}")" --channels fidelity-boot --batch-timeout "$BATCH_TIMEOUT" \
  --max-message-count "$MAX_MESSAGE_COUNT" --policy "$POLICY" >"$WORK/devnet-up.json" 2>"$WORK/devnet-up.log" &
DEVNET_PID=$!
for _ in $(seq 300); do
  grep -q packageId "$WORK/devnet-up.json" 2>/dev/null && break
  kill -0 "$DEVNET_PID" 2>/dev/null || { cat "$WORK/devnet-up.log"; fail "sfcbc devnet up exited"; }
  sleep 0.1
done
PKG="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["chaincode"]["packageId"])' "$WORK/devnet-up.json")" \
  || fail "devnet up printed no package id: $(cat "$WORK/devnet-up.json" "$WORK/devnet-up.log")"
"$SFCBC" devnet channel create sfc-chain1 --orgs "$(IFS=,; echo "${ORGS[*]}")" --dir "$DEVNET_DIR" >"$WORK/devnet-channel.log" 2>&1 \
  || { cat "$WORK/devnet-channel.log"; fail "devnet channel create sfc-chain1"; }
"$SFCBC" devnet chaincode commit --dir "$DEVNET_DIR" --channel sfc-chain1 --name sfc --policy "$POLICY" \
  --collections-config "$C/sfc-chain1.json" --package-id "$PKG" >"$WORK/devnet-commit.log" 2>&1 \
  || { cat "$WORK/devnet-commit.log"; fail "devnet chaincode commit on sfc-chain1"; }
say "ok: devnet ready (sfc-chain1, sfc with $POLICY and collections/sfc-chain1.json)"
"$DRIVER" --profile "$DEVNET_DIR/profile.yaml" --out "$WORK/devnet.json" 2>"$WORK/driver-devnet.log" \
  || { cat "$WORK/driver-devnet.log"; fail "driver against devnet"; }
say "ok: devnet run: $(tail -1 "$WORK/driver-devnet.log")"
kill -TERM "$DEVNET_PID" 2>/dev/null || true

# ------------------------------------------------------------------ real Fabric
F="$ROOT/network/fabric"
say "real Fabric up in $SFCBC_NET (ports $PORT_BASE..$((PORT_BASE + 99)))"
# A port of ours can be held for a moment as some client's ephemeral port (32768-60999):
# one retry after a teardown.
if ! bash "$F/up.sh" >"$WORK/up.log" 2>&1; then
  say "up.sh failed ($(tail -1 "$WORK/up.log")); retrying once"
  bash "$F/down.sh" >/dev/null 2>&1 || true
  sleep 2
  bash "$F/up.sh" >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; fail "network/fabric/up.sh"; }
fi
bash "$F/channel.sh" --chain "$C/chain1.json" --owner Tenant1 >"$WORK/channel.log" 2>&1 \
  || { tail -20 "$WORK/channel.log"; fail "channel.sh sfc-chain1"; }
bash "$F/deploy.sh" --channel sfc-chain1 --policy "$POLICY" --collections "$C/sfc-chain1.json" >"$WORK/deploy.log" 2>&1 \
  || { tail -20 "$WORK/deploy.log"; fail "deploy.sh sfc-chain1"; }
PROFILE="$(bash "$F/profile.sh")" || fail "profile.sh"
say "ok: real Fabric ready after $(($(date +%s) - T0)) s"
"$DRIVER" --profile "$PROFILE" --out "$WORK/fabric.json" 2>"$WORK/driver-fabric.log" \
  || { cat "$WORK/driver-fabric.log"; fail "driver against real Fabric"; }
say "ok: real Fabric run: $(tail -1 "$WORK/driver-fabric.log")"

# ------------------------------------------------------------------ compare
# Differences documented as intended in docs/fidelity.md: JSON paths (dotted, * = any list
# index or key) removed from both sides before the diff. Keep this list and the doc in step.
INTENDED=(
  # devnet commits chaincode definitions out of band: its _lifecycle reads have no version
  "transactions.*.namespaces._lifecycle.reads.*.version"
)
python3 - "$WORK/devnet.json" "$WORK/fabric.json" "$WORK" "${INTENDED[@]}" <<'PY' || fail "devnet and real Fabric differ (diff above; docs/fidelity.md lists the intended differences)"
import difflib, json, sys
devnet, fabric, work, *intended = sys.argv[1:]

def drop(node, parts):
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        for k in keys:
            if rest:
                drop(node[k], rest)
            else:
                del node[k]
    elif isinstance(node, list):
        idx = range(len(node)) if head == "*" else [int(head)] if head.isdigit() and int(head) < len(node) else []
        for i in idx:
            if rest:
                drop(node[i], rest)
        if not rest and head != "*" and idx:
            del node[idx[0]]

docs = []
for path in (devnet, fabric):
    d = json.load(open(path))
    for p in intended:
        drop(d, p.split("."))
    docs.append(json.dumps(d, indent=2, sort_keys=True).splitlines())
a, b = docs
diff = list(difflib.unified_diff(a, b, "devnet.json", "fabric.json", lineterm="", n=4))
if diff:
    print("\n".join(diff))
    sys.exit(1)
d = json.load(open(devnet))
codes = {}
for t in d["transactions"]:
    codes[t.get("validation")] = codes.get(t.get("validation"), 0) + 1
print(f"identical after {len(intended)} intended exclusions: {len(d['steps'])} steps, "
      f"{len(d['transactions'])} transactions, validation codes {codes}")
PY
say "FIDELITY OK in $(($(date +%s) - T0)) s"
echo "FIDELITY OK"
