#!/usr/bin/env bash
# The devnet benchmark's workload on real Hyperledger Fabric v2.5 and on devnet, in one run,
# with the same BatchTimeout and block size (issue 8, "Benchmark"):
#
#   bash tests/real-fabric/bench.sh         # from anywhere; about 3-4 minutes
#
# 1. builds Fabric (../shared/fabric-real/build.sh, seconds when cached), and release builds
#    of sfcbc-bench and sfcbc-ccaas;
# 2. network/fabric/up.sh (orderer + 5 peers, TLS, gateway) in a temporary SFCBC_NET on
#    ports PORT_BASE.. (default 49400); channel `bench` (members Manager, Org1, Org2, Org3)
#    with BatchTimeout BATCH_TIMEOUT_MS and MaxMessageCount MAX_MESSAGE_COUNT;
# 3. deploy.sh twice on one package: kv_one with OR(Org1, Org2, Org3) and kv_2of3 with
#    OutOf(2, Org1, Org2, Org3) peers — devnet's two policies — served by one
#    `sfcbc-ccaas serve --contract kv`; profile.sh;
# 4. sfcbc-bench fabric --profile ... --chaincodes one=kv_one,2of3=kv_2of3 → OUT/fabric-real.json;
# 5. stops the real network (the machine has 2 cores), then sfcbc-bench devnet with the same
#    members (4 peers), BatchTimeout, MaxMessageCount, concurrency and duration →
#    OUT/devnet-vs-fabric.json (devnet.json's shape; devnet.json itself, the standard devnet
#    run, is left alone);
# 6. OUT/fabric-vs-devnet.json: per (policy, concurrency) both figures and devnet/real.
#
# Fails only on errors — a build, the network, a run that committed nothing, settings that
# differ between the two runs — never on a figure. Prints "REAL-FABRIC BENCH OK".
# Skips (exit 0, says so) when ../shared/fabric-real is absent.
# Env: FABRIC_REAL, FABRIC_HOME, BENCH_PORT_BASE (49400), BATCH_TIMEOUT_MS (200),
# MAX_MESSAGE_COUNT (500), CONCURRENCY (1,16,128), DURATION (seconds per level, 4),
# OUT (target/bench), BUILD (release; debug only to check the script: its figures mean
# little), KEEP_NET=1, CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build.sh" ]]; then
  echo "SKIP real-fabric bench: no Fabric harness at $S (set FABRIC_REAL; see ../shared/fabric-real/README.md)"
  exit 0
fi
S="$(cd "$S" && pwd)"
T0=$(date +%s)
BATCH_TIMEOUT_MS="${BATCH_TIMEOUT_MS:-200}"
MAX_MESSAGE_COUNT="${MAX_MESSAGE_COUNT:-500}"
CONCURRENCY="${CONCURRENCY:-1,16,128}"
DURATION="${DURATION:-4}"
OUT="${OUT:-${CARGO_TARGET_DIR:-$ROOT/target}/bench}"
BUILD="${BUILD:-release}"
[[ "$BUILD" == release || "$BUILD" == debug ]] || { echo "BUILD is release or debug"; exit 2; }
[[ "$BATCH_TIMEOUT_MS" =~ ^[1-9][0-9]*$ && "$MAX_MESSAGE_COUNT" =~ ^[1-9][0-9]*$ ]] \
  || { echo "BATCH_TIMEOUT_MS and MAX_MESSAGE_COUNT must be positive integers"; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sfcbc-bench-real.XXXXXX")"
export SFCBC_NET="$WORK/net"
export PORT_BASE="${BENCH_PORT_BASE:-49400}"
export BATCH_TIMEOUT="${BATCH_TIMEOUT_MS}ms" MAX_MESSAGE_COUNT RAFT_TICK_INTERVAL="${RAFT_TICK_INTERVAL:-100ms}"
KV_PORT=$((PORT_BASE + 91))
FAILED=""
say() { echo "[bench.sh $(date +%H:%M:%S)] $*"; }
fail() { FAILED="$*"; say "FAIL: $*"; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 0 1 2 10 11 12 20 21 22 30 31 32 40 41 42 50 51 52 90 91; do
  port_busy $((PORT_BASE + p)) && { echo "port $((PORT_BASE + p)) is in use; set BENCH_PORT_BASE"; exit 1; }
done

cleanup() {
  local rc=$?
  set +e
  [[ -d "$SFCBC_NET" ]] && bash "$ROOT/network/fabric/down.sh" >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    say "logs: $WORK/*.log, $SFCBC_NET/logs/"
    for f in "$SFCBC_NET"/logs/peer0.*.log "$SFCBC_NET"/logs/orderer*.log; do
      [[ -f "$f" ]] && { echo "--- errors in $(basename "$f")"; grep -aE "ERRO|WARN" "$f" | grep -v "TLS handshake" | tail -5; }
    done
    [[ -f "$SFCBC_NET/logs/ccaas-kv.log" ]] && { echo "--- tail ccaas-kv.log"; tail -8 "$SFCBC_NET/logs/ccaas-kv.log"; }
    echo "REAL-FABRIC BENCH FAILED${FAILED:+: $FAILED}"
  fi
  if [[ "${KEEP_NET:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'FAILED="interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ build
say "building Fabric (fabric-real/build.sh)"
bash "$S/build.sh" >"$WORK/build-fabric.log" 2>&1 || { tail -30 "$WORK/build-fabric.log"; fail "fabric build"; }
FH="${FABRIC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fabric-real}"
export FABRIC_BIN="$FH/bin" FABRIC_CONFIG="$FH/config" CCAAS_BUILDER="$FH/builders/ccaas"
FABRIC_VERSION="$("$FABRIC_BIN/peer" version 2>/dev/null | awk '/Version:/{print $2; exit}')"
say "building sfcbc-bench and sfcbc-ccaas ($BUILD)"
if [[ "$BUILD" == release ]]; then BUILD_ARGS=(--release); else BUILD_ARGS=(); fi
(cd "$ROOT" && cargo build -q "${BUILD_ARGS[@]}" -p sfcbc-bench --bin sfcbc-bench -p sfcbc-ccaas --bin sfcbc-ccaas) \
  || fail "cargo build ($BUILD)"
TGT="${CARGO_TARGET_DIR:-$ROOT/target}/$BUILD"
BENCH="$TGT/sfcbc-bench"
export SFCBC_CCAAS="$TGT/sfcbc-ccaas"
[[ -x "$BENCH" && -x "$SFCBC_CCAAS" ]] || fail "no binaries in $TGT"

# ------------------------------------------------------------------ real network
F="$ROOT/network/fabric"
say "network up in $SFCBC_NET (ports $PORT_BASE..$((PORT_BASE + 91))), BatchTimeout $BATCH_TIMEOUT, MaxMessageCount $MAX_MESSAGE_COUNT"
bash "$F/up.sh" >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; fail "network/fabric/up.sh"; }
bash "$F/channel.sh" --channel bench --owner Org1 --sp Org2 --sp Org3 >"$WORK/channel.log" 2>&1 \
  || { tail -20 "$WORK/channel.log"; fail "channel.sh bench"; }
ONE="OR('Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')"
TWO="OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')"
# The policies leave the manager's peer out, so deploy.sh's wait for every member as an
# endorser would never end (--no-wait); the wait for Org1-3 is below.
for def in "kv_one|$ONE" "kv_2of3|$TWO"; do
  bash "$F/deploy.sh" --channel bench --label kv_1.0 --name "${def%%|*}" --policy "${def#*|}" \
    --address "127.0.0.1:$KV_PORT" --no-serve --no-wait >"$WORK/deploy-${def%%|*}.log" 2>&1 \
    || { tail -20 "$WORK/deploy-${def%%|*}.log"; fail "deploy.sh ${def%%|*}"; }
done
PACKAGE_ID="$(sed -n 's/^PACKAGE_ID=//p' "$WORK/deploy-kv_one.log" | tail -1)"
[[ -n "$PACKAGE_ID" && "$PACKAGE_ID" == "$(sed -n 's/^PACKAGE_ID=//p' "$WORK/deploy-kv_2of3.log" | tail -1)" ]] \
  || fail "deploy.sh printed no common PACKAGE_ID"
env CHAINCODE_SERVER_ADDRESS="127.0.0.1:$KV_PORT" CHAINCODE_ID="$PACKAGE_ID" RUST_LOG=warn \
  setsid "$SFCBC_CCAAS" serve --contract kv >"$SFCBC_NET/logs/ccaas-kv.log" 2>&1 </dev/null &
echo $! >"$SFCBC_NET/pids/ccaas-kv.pid"
for _ in $(seq 1 100); do port_busy "$KV_PORT" && break; sleep 0.1; done
port_busy "$KV_PORT" || fail "sfcbc-ccaas serve --contract kv does not listen on 127.0.0.1:$KV_PORT"
(
  # shellcheck source-path=SCRIPTDIR source=../../network/fabric/env.sh
  source "$F/env.sh"
  for cc in kv_one kv_2of3; do
    for _ in $(seq 1 120); do
      out="$(discover endorsers --channel bench --chaincode "$cc" --server "$HOST:$(peer_port Org1)" \
        --peerTLSCA "$(peer_tls_ca Org1)" --userKey "$(user_msp Org1 User1)/keystore/priv_sk" \
        --userCert "$(user_msp Org1 User1)/signcerts/User1@$(org_domain Org1)-cert.pem" --MSP Org1MSP 2>/dev/null || true)"
      ok=1
      for o in Org1 Org2 Org3; do grep -q "$HOST:$(peer_port "$o")" <<<"$out" || ok=""; done
      [[ -n "$ok" ]] && continue 2
      sleep 0.25
    done
    echo "discovery on Org1's peer does not list Org1-3 as endorsers of $cc: $(tail -c 300 <<<"$out")"
    exit 1
  done
) || fail "discovery"
PROFILE="$(bash "$F/profile.sh" --chaincode kv_one --identity User1@Org1 bench)" || fail "profile.sh"
say "real network ready after $(($(date +%s) - T0)) s: $PACKAGE_ID as kv_one ($ONE) and kv_2of3 ($TWO)"

# ------------------------------------------------------------------ the two runs
mkdir -p "$OUT"
say "sfcbc-bench fabric: concurrency $CONCURRENCY, $DURATION s each, through Org1's gateway"
"$BENCH" --quiet --out "$OUT" fabric --profile "$PROFILE" --chaincodes one=kv_one,2of3=kv_2of3 \
  --concurrency "$CONCURRENCY" --duration "$DURATION" | tee "$WORK/fabric.txt" || fail "sfcbc-bench fabric"
bash "$F/down.sh" >/dev/null 2>&1
say "real network stopped; sfcbc-bench devnet with the same settings"
"$BENCH" --quiet --out "$OUT" --file devnet-vs-fabric.json devnet --orgs Manager,Org1,Org2,Org3 --policies one,2of3 --batch-timeout-ms "$BATCH_TIMEOUT_MS" \
  --max-message-count "$MAX_MESSAGE_COUNT" --concurrency "$CONCURRENCY" --duration "$DURATION" \
  | tee "$WORK/devnet.txt" || fail "sfcbc-bench devnet"

# ------------------------------------------------------------------ compare
python3 - "$OUT/fabric-real.json" "$OUT/devnet-vs-fabric.json" "$OUT/fabric-vs-devnet.json" <<'PY' || fail "comparison (see above)"
import json, sys
real, dev = (json.load(open(p)) for p in sys.argv[1:3])
errors = []
n = real["network"]
for key, a, b in [("batch_timeout_ms", n.get("batch_timeout_ms"), dev["network"]["batch_timeout_ms"]),
                  ("max_message_count", n.get("max_message_count"), dev["network"]["max_message_count"])]:
    if a != b:
        errors.append(f"{key}: real network {a}, devnet {b}")
if sorted(n.get("members") or []) != sorted(o + "MSP" for o in dev["network"]["orgs"]):
    errors.append(f"members: real channel {n.get('members')}, devnet {dev['network']['orgs']}")
for c in real["chaincodes"]:
    if not c.get("endorsement_policy"):
        errors.append(f"no endorsement policy read for {c['chaincode']}: {c.get('definition_error')}")
d = {(r["policy"], r["concurrency"]): r for r in dev["runs"]}
rows = []
for r in real["runs"]:
    k = (r["policy"], r["concurrency"])
    if k not in d:
        errors.append(f"devnet has no run {k}")
        continue
    v = d[k]
    for name, run in (("real", r), ("devnet", v)):
        if not run["committed_tx_per_s"] > 0:
            errors.append(f"{name} {k}: nothing committed")
    real_rate, dev_rate = r["committed_tx_per_s"], v["committed_tx_per_s"]
    rows.append({
        "policy": r["policy"], "concurrency": r["concurrency"],
        "devnet_committed_tx_per_s": dev_rate, "real_committed_tx_per_s": real_rate,
        "devnet_over_real": round(dev_rate / real_rate, 3) if real_rate > 0 else None,
        "devnet_p50_ms": v["p50_ms"], "real_p50_ms": r["p50_ms"],
        "devnet_p99_ms": v["p99_ms"], "real_p99_ms": r["p99_ms"],
    })
out = {
    "runs": rows,
    "settings": {
        "batch_timeout_ms": dev["network"]["batch_timeout_ms"],
        "max_message_count": dev["network"]["max_message_count"],
        "real_preferred_max_bytes": n.get("preferred_max_bytes"),
        "real_channel": n["channel"], "real_members": n.get("members"),
        "devnet_orgs": dev["network"]["orgs"],
        "real_endorsement_policies": {c["label"]: c.get("endorsement_policy") for c in real["chaincodes"]},
        "devnet_endorsement_policies": {"one": "OR('Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
                                        "2of3": "OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')"},
    },
    "note": "real Fabric 2.5.16 peers/orderer (Go, one process each) and devnet (one Rust process) measured "
            "one after the other in the same run, same client workload, same machine; other work on the "
            "machine makes both noisy: see each side's machine.load_avg_*",
    "real_machine": real["machine"], "devnet_machine": dev["machine"],
    "transaction": dev["transaction"],
}
json.dump(out, open(sys.argv[3], "w"), indent=2)
print(f"{'policy':>6} {'conc':>5} {'devnet tx/s':>12} {'real tx/s':>10} {'devnet/real':>12} {'devnet p50':>11} {'real p50':>9}")
for r in rows:
    ratio = "-" if r["devnet_over_real"] is None else f"{r['devnet_over_real']:.2f}"
    print(f"{r['policy']:>6} {r['concurrency']:>5} {r['devnet_committed_tx_per_s']:>12.1f} {r['real_committed_tx_per_s']:>10.1f} "
          f"{ratio:>12} {r['devnet_p50_ms']:>11.1f} {r['real_p50_ms']:>9.1f}")
if errors:
    print("errors:\n  " + "\n  ".join(errors))
    sys.exit(1)
PY
say "wrote $OUT/fabric-real.json, $OUT/devnet-vs-fabric.json, $OUT/fabric-vs-devnet.json"
say "REAL-FABRIC BENCH OK in $(($(date +%s) - T0)) s (Fabric $FABRIC_VERSION)"
echo "REAL-FABRIC BENCH OK"
