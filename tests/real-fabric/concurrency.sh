#!/usr/bin/env bash
# Concurrency on real Hyperledger Fabric v2.5 (issue 8): three SFs recording at full rate for
# 30 s commit with zero MVCC_READ_CONFLICT.
#
#   bash tests/real-fabric/concurrency.sh        # from anywhere; about 2-3 minutes
#
# 1. builds Fabric (../shared/fabric-real/build.sh), sfcbc-ccaas and sfcbc;
# 2. the paper's network as tests/real-fabric/network.sh builds it: up.sh, channel.sh from
#    collections/chain1.json (sfc-chain1), deploy.sh with collections, profile.sh — on ports
#    PORT_BASE.. (default 49800);
# 3. chain conc1 by User1@Tenant1: Org1 → Org2 → Org3 hops on 127.0.0.61-63 (validation
#    POLICIES, default address,address,address: not latency-bound); account user1 registered
#    at each SP, its credential shared with each hop, the source (127.0.0.60) with hop 1 and
#    the destination (127.0.0.64) with hop 3;
# 4. `sfcbc sf run` for each hop, each as its own SP's User1 through its own peer, with
#    RECORD_BATCH (50) records per RecordHops and RECORD_IN_FLIGHT (8) in flight and a
#    spool (so every record is journaled; none may be left in it at the end); a sink;
#    `sfcbc send` at full rate (RATE=0) for SECONDS (30) from the source;
# 5. waits until the SFs' record queues are empty (their metrics; DRAIN_TIMEOUT, 240 s),
#    SIGTERM to the SFs (they flush what is in flight), then `sfcbc blocks --json`
#    over the whole channel: counts validation codes per function. Fails on any
#    MVCC_READ_CONFLICT or PHANTOM_READ_CONFLICT, on fewer than MIN_RECORD_TXS (30) VALID
#    RecordHops, on an SF that lost records, and unless `sfcbc records conc1` holds, for
#    every hop, a record for each datagram that reached the sink (matched by hash) and
#    every hop-1 record's input is a payload the source sent.
# Prints "REAL-FABRIC CONCURRENCY OK" and a JSON summary (validation codes, counts) last.
# SELF_CHECK=1 checks the check: the owner replaces the chain (same hops) every 3 s during
# the run, which must invalidate in-flight RecordHops (they read the chain's key); passes
# only if the count then finds MVCC_READ_CONFLICT.
# Skips (exit 0, says so) when ../shared/fabric-real is absent.
# Env: FABRIC_REAL, FABRIC_HOME, CONCURRENCY_PORT_BASE (49800), SECONDS_RUN (30), RATE (0 =
# as fast as possible), SIZE (payload bytes, 200), POLICIES, MIN_RECORD_TXS, DRAIN_TIMEOUT,
# RECORD_BATCH, RECORD_IN_FLIGHT, SELF_CHECK, KEEP_NET=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build.sh" ]]; then
  echo "SKIP real-fabric concurrency: no Fabric harness at $S (set FABRIC_REAL; see ../shared/fabric-real/README.md)"
  exit 0
fi
S="$(cd "$S" && pwd)"
T0=$(date +%s)
export NETWORK_PORT_BASE="${CONCURRENCY_PORT_BASE:-49800}"
# shellcheck source-path=SCRIPTDIR source=network/lib.sh
source "$ROOT/tests/real-fabric/network/lib.sh"
SECONDS_RUN="${SECONDS_RUN:-30}"
RATE="${RATE:-0}"
SIZE="${SIZE:-200}"
MIN_RECORD_TXS="${MIN_RECORD_TXS:-30}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-240}"
RECORD_BATCH="${RECORD_BATCH:-50}"
RECORD_IN_FLIGHT="${RECORD_IN_FLIGHT:-8}"
SELF_CHECK="${SELF_CHECK:-0}"
IFS=, read -r -a POL <<<"${POLICIES:-address,address,address}"
((${#POL[@]} == 3)) || fail "POLICIES: three validation policies, comma-separated"
say() { echo "[concurrency.sh $(date +%H:%M:%S)] $*"; }

# Our own processes (SFs, sink, sender), stopped by PID before lib.sh's teardown.
OURS=()
stop_ours() {
  local p
  for p in "${OURS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${OURS[@]}"; do wait "$p" 2>/dev/null || true; done
  OURS=()
}
on_exit() {
  local rc=$?
  set +e
  stop_ours
  [[ $rc -ne 0 ]] && echo "REAL-FABRIC CONCURRENCY FAILED${FAILED:+: $FAILED}"
  (exit "$rc")
  cleanup
}
trap on_exit EXIT

# ------------------------------------------------------------------ build
build_all

# ------------------------------------------------------------------ network (as network.sh)
F="$ROOT/network/fabric"
C="$ROOT/collections"
say "network up in $SFCBC_NET (ports $PORT_BASE..$((PORT_BASE + 99)))"
bash "$F/up.sh" >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; fail "network/fabric/up.sh"; }
bash "$F/channel.sh" --chain "$C/chain1.json" --owner Tenant1 >"$WORK/channel1.log" 2>&1 \
  || { tail -20 "$WORK/channel1.log"; fail "channel.sh sfc-chain1"; }
bash "$F/deploy.sh" --channel sfc-chain1 --collections "$C/sfc-chain1.json" >"$WORK/deploy1.log" 2>&1 \
  || { tail -20 "$WORK/deploy1.log"; fail "deploy.sh sfc-chain1"; }
PROFILE="$(bash "$F/profile.sh")" || fail "profile.sh"
pass "network: orderer + 5 peers, sfc-chain1 with the sfc chaincode ($(tail -1 "$WORK/deploy1.log"))"

# ------------------------------------------------------------------ chain conc1
P=$((PORT_BASE + 95))
SRC="127.0.0.60:$P" DST="127.0.0.64:$P"
HOPS=("Org1:NameWriter:1" "Org2:NameWriter:1" "Org3:NameWriter:1")
ADDRS=("127.0.0.61:$P" "127.0.0.62:$P" "127.0.0.63:$P")
SECRET="conc-secret-$RANDOM$RANDOM"
out="$(cli -i User1@Tenant1 -C sfc-chain1 chain create conc1 \
  --hop "${HOPS[0]}=${ADDRS[0]},${POL[0]}" --hop "${HOPS[1]}=${ADDRS[1]},${POL[1]}" --hop "${HOPS[2]}=${ADDRS[2]},${POL[2]}")"
expect_rc0 "chain conc1 by User1@Tenant1: ${HOPS[*]} on ${ADDRS[*]} (${POLICIES:-address,address,address})" "$out" "owner Tenant1MSP"
for i in 0 1 2; do
  sp="Org$((i + 1))"
  out="$(cli -i "User1@$sp" account register user1 --secret "$SECRET")"
  expect_rc0 "account user1 at $sp" "$out" "_implicit_org_${sp}MSP"
  out="$(cli -i User1@Tenant1 auth share conc1 "${HOPS[$i]}" --account user1 --secret "$SECRET")"
  expect_rc0 "user1's credential shared with ${HOPS[$i]}" "$out" "${sp}MSP"
done
out="$(cli -i User1@Tenant1 endpoints share conc1 "${HOPS[0]}" --source "$SRC")"
expect_rc0 "source $SRC shared with ${HOPS[0]}" "$out" "Org1MSP"
out="$(cli -i User1@Tenant1 endpoints share conc1 "${HOPS[2]}" --destination "$DST")"
expect_rc0 "destination $DST shared with ${HOPS[2]}" "$out" "Org3MSP"

# ------------------------------------------------------------------ SFs, sink, source
H0="$(cli -i User1@Tenant1 blocks --json | grep -v '^__rc=' | python3 -c 'import json,sys; t=json.load(sys.stdin); print(max(x["block"] for x in t) + 1)')" \
  || fail "sfcbc blocks before the run"
"$SFCBC" --profile "$PROFILE" --json sink --listen "$DST" >"$WORK/sink.json" 2>"$WORK/sink.log" &
OURS+=($!)
# Small record batches and many in flight: many RecordHops transactions from each SF at
# once, in the same blocks as the other SFs' (the [gateway] comes from the profile).
for i in 0 1 2; do
  sp="Org$((i + 1))"
  cat >"$WORK/sf$((i + 1)).toml" <<EOF
metrics = "127.0.0.6$((i + 1)):$((P + 1))"
[[hops]]
chain = "conc1"
psiid = "${HOPS[$i]}"
[records]
batch_size = $RECORD_BATCH
max_in_flight = $RECORD_IN_FLIGHT
spool = "$WORK/spool$((i + 1)).jsonl"
EOF
  RUST_LOG=warn "$SFCBC" --profile "$PROFILE" -i "User1@$sp" --json sf run --config "$WORK/sf$((i + 1)).toml" \
    >"$WORK/sf$((i + 1)).json" 2>"$WORK/sf$((i + 1)).log" &
  OURS+=($!)
done
for i in 1 2 3; do
  ok=""
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.6$i:$((P + 1))/healthz" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.2
  done
  [[ -n "$ok" ]] || { tail -5 "$WORK/sf$i.log"; fail "SF of Org$i not ready within 30 s"; }
done
pass "3 SFs ready (each as its SP's User1 through its own peer), sink on $DST"
if [[ "$RATE" == 0 ]]; then rate_text="full rate"; else rate_text="$RATE datagrams/s"; fi
say "sending from $SRC at $rate_text for $SECONDS_RUN s (${SIZE}-byte payloads)"
"$SFCBC" --profile "$PROFILE" --json send --bind "$SRC" --to "${ADDRS[0]}" --count 100000000 --rate "$RATE" \
  --size "$SIZE" --hashes "$WORK/sent.jsonl" >/dev/null 2>"$WORK/send.log" &
SENDER=$!
OURS+=("$SENDER")
if [[ "$SELF_CHECK" == 1 ]]; then
  # Every RecordHops reads the chain's key, so replacing the chain while records are in
  # flight must invalidate some of them: the count below has to see it.
  T2=$(date +%s)
  n=0
  while (($(date +%s) - T2 < SECONDS_RUN)); do
    sleep 3
    out="$(cli -i User1@Tenant1 chain update conc1 \
      --hop "${HOPS[0]}=${ADDRS[0]},${POL[0]}" --hop "${HOPS[1]}=${ADDRS[1]},${POL[1]}" --hop "${HOPS[2]}=${ADDRS[2]},${POL[2]}")"
    grep -qx "__rc=0" <<<"$out" && n=$((n + 1))
  done
  say "SELF_CHECK: chain conc1 replaced $n times during the run"
else
  sleep "$SECONDS_RUN"
fi
kill -TERM "$SENDER" 2>/dev/null || true
wait "$SENDER" 2>/dev/null || true
SENT=$(wc -l <"$WORK/sent.jsonl")
# The SFs record more slowly than they forward (back-pressure keeps their record queues
# bounded): wait until every queue is empty, then SIGTERM flushes what is in flight.
say "sent $SENT datagrams; waiting (at most $DRAIN_TIMEOUT s) until the SFs' record queues are empty"
metric() { curl -fsS "http://127.0.0.6$1:$((P + 1))/metrics" 2>/dev/null | awk -v m="$2" '$1 == m {print $2}'; }
T1=$(date +%s)
for i in 1 2 3; do
  until [[ "$(metric "$i" sfcbc_sf_record_queue_depth)" == 0 ]]; do
    (($(date +%s) - T1 < DRAIN_TIMEOUT)) || fail "SF of Org$i still has $(metric "$i" sfcbc_sf_record_queue_depth) records queued after $DRAIN_TIMEOUT s"
    sleep 0.5
  done
done
sleep 1
for i in 1 2 3; do curl -fsS "http://127.0.0.6$i:$((P + 1))/metrics" >"$WORK/metrics$i.txt" 2>/dev/null || true; done
say "record queues empty after $(($(date +%s) - T1)) s; stopping the SFs (they flush what is in flight)"
stop_ours
for i in 1 2 3; do
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/sf$i.json" 2>/dev/null \
    || { tail -5 "$WORK/sf$i.log"; fail "SF of Org$i did not stop cleanly (no report)"; }
  # The spool journaled every record while the SF ran; all committed, so a clean stop
  # leaves no spool behind.
  [[ ! -e "$WORK/spool$i.jsonl" ]] || fail "SF of Org$i left a spool: $(wc -l <"$WORK/spool$i.jsonl") lines"
done

# ------------------------------------------------------------------ blocks: validation codes
out="$(cli -i User1@Manager blocks --from "$H0" --json)"
grep -qx "__rc=0" <<<"$out" || fail "sfcbc blocks --json: $out"
grep -v '^__rc=' <<<"$out" >"$WORK/blocks.json"
out="$(cli -i User1@Tenant1 records conc1 --json --page-size 1000 --limit 10000000)"
grep -qx "__rc=0" <<<"$out" || fail "sfcbc records conc1: $out"
grep -v '^__rc=' <<<"$out" >"$WORK/records.json"
python3 - "$WORK" "$H0" "$MIN_RECORD_TXS" "$SELF_CHECK" "${HOPS[@]}" <<'PY' || fail "checks on blocks and records (above)"
import collections, json, sys
work, h0, min_txs, self_check, hops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5:]
txs = json.load(open(f"{work}/blocks.json"))
codes = collections.Counter(t["validation"] for t in txs)
by_fn = collections.defaultdict(collections.Counter)
for t in txs:
    by_fn[t.get("function") or t["kind"]][t["validation"]] += 1
sfs = [json.load(open(f"{work}/sf{i}.json")) for i in (1, 2, 3)]
# The sender was stopped by a signal: its last line may be cut short.
lines = open(f"{work}/sent.jsonl").read().split("\n")
sent = {json.loads(l)["sha256"] for l in lines[:-1]}
try:
    sent.add(json.loads(lines[-1])["sha256"])
except ValueError:
    pass
sink = json.load(open(f"{work}/sink.json"))
arrived = [a["sha256"] for a in sink["arrivals"]]
records = json.load(open(f"{work}/records.json"))
def field(r, *names):
    for n in names:
        if n in r:
            return r[n]
    raise KeyError(f"none of {names} in {sorted(r)}")
per_hop = collections.defaultdict(list)
for r in records:
    per_hop[field(r, "psiid")].append(r)
summary = {
    "blocks_from": h0, "blocks": len({t["block"] for t in txs}), "transactions": len(txs),
    "validation_codes": dict(codes), "by_function": {k: dict(v) for k, v in by_fn.items()},
    "sent": len(sent), "arrived_at_sink": len(arrived), "sink_bad": sink.get("bad"),
    "records_per_hop": {h: len(per_hop[h]) for h in hops},
    "sf_reports": sfs,
}
errors = []
for bad in ("MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"):
    if codes.get(bad) and not self_check:
        errors.append(f"{codes[bad]} {bad}: {dict(by_fn)}")
if self_check:
    json.dump(summary, open(f"{work}/summary.json", "w"), indent=2)
    print(json.dumps({k: summary[k] for k in summary if k != "sf_reports"}, indent=2))
    if not codes.get("MVCC_READ_CONFLICT"):
        sys.exit("SELF_CHECK: the chain was replaced under in-flight RecordHops, yet no MVCC_READ_CONFLICT was counted")
    print(f"SELF_CHECK: {codes['MVCC_READ_CONFLICT']} MVCC_READ_CONFLICT counted, as they must be")
    sys.exit(0)
valid_rec = by_fn["RecordHops"].get("VALID", 0)
if valid_rec < min_txs:
    errors.append(f"only {valid_rec} VALID RecordHops transactions (want >= {min_txs})")
for i, r in enumerate(sfs):
    rec = r["records"]
    if any(rec[k] for k in ("lost", "spooled", "refused", "errors_refused")):
        errors.append(f"SF {hops[i]} did not commit all its records: {rec}")
    if rec["committed"] != len(per_hop[hops[i]]):
        errors.append(f"SF {hops[i]} committed {rec['committed']} records, the ledger has {len(per_hop[hops[i]])}")
if not arrived:
    errors.append("nothing reached the sink")
if sink.get("bad"):
    errors.append(f"{sink['bad']} datagrams at the sink without 3 stamps")
last = {field(r, "outputHash", "output_hash") for r in per_hop[hops[2]]}
missing = [h for h in arrived if h not in last]
if missing:
    errors.append(f"{len(missing)} of {len(arrived)} sink arrivals have no record at {hops[2]} (e.g. {missing[:2]})")
first_inputs = [field(r, "inputHash", "input_hash") for r in per_hop[hops[0]]]
unknown = [h for h in first_inputs if h not in sent]
if unknown:
    errors.append(f"{len(unknown)} records at {hops[0]} are for payloads the source never sent")
for h in hops:
    if len(per_hop[h]) < len(arrived):
        errors.append(f"{h} has {len(per_hop[h])} records for {len(arrived)} delivered datagrams")
json.dump(summary, open(f"{work}/summary.json", "w"), indent=2)
print(json.dumps({k: summary[k] for k in summary if k != "sf_reports"}, indent=2))
if errors:
    print("errors:\n  " + "\n  ".join(errors))
    sys.exit(1)
PY
if [[ "$SELF_CHECK" == 1 ]]; then
  pass "SELF_CHECK: replacing the chain during the run shows up as MVCC_READ_CONFLICT in the count"
else
  pass "blocks since #$H0: zero MVCC_READ_CONFLICT and PHANTOM_READ_CONFLICT; records for every delivered datagram at every hop"
fi
say "REAL-FABRIC CONCURRENCY OK ($CHECKS checks in $(($(date +%s) - T0)) s)"
echo "REAL-FABRIC CONCURRENCY OK"
