#!/usr/bin/env bash
# The paper's topology on real Hyperledger Fabric v2.5, deployed with sfcbc's own
# network/fabric/ scripts, driven with the `sfcbc` CLI (peer CLI only where sfcbc has no
# command: CheckIn aimed at a chosen peer, RecordHops, channel/ledger inspection).
#
#   bash tests/real-fabric/network.sh        # from anywhere
#
# 1. builds Fabric (../shared/fabric-real/build.sh, seconds when cached), sfcbc-ccaas, sfcbc;
# 2. network/fabric/up.sh: orderer (OrdererMSP) + one peer each for ManagerMSP, Tenant1MSP,
#    Org1MSP, Org2MSP, Org3MSP (TLS, gateway) in a temporary SFCBC_NET on free ports;
# 3. channel.sh from collections/chain1.json (members Manager, Tenant1, Org1, Org2, Org3),
#    deploy.sh (sfcbc-ccaas package -> peer lifecycle install/approve/commit on all five,
#    policy "any member peer", --collections-config collections/sfc-chain1.json), profile.sh;
# 4. checks with `sfcbc --profile`: CreateChain by User1@Tenant1 with hops at Org1/Org2/Org3;
#    member reads; ShareAuth endorsed by the SP's org only, readable on that SP's peer only
#    (every other peer holds only the hash: Fabric itself says "private data matching public
#    hash version is not available"), for an explicit and an implicit collection; RecordHops +
#    `sfcbc records`; a second channel sfc-chain2 without Org3: Org3's peer has no ledger for
#    it and nobody of Org3 can query it; clear CLI errors for endorsement policy not met,
#    chaincode error and unknown chaincode; then `sfcbc demo --profile` on the network.
# 5. prints "REAL-FABRIC NETWORK OK" or "REAL-FABRIC NETWORK FAILED: <check>"; always tears
#    down (trap). KEEP_NET=1 keeps the folder and logs.
#
# Skips (exit 0, says so) when ../shared/fabric-real is absent. Env: FABRIC_REAL (harness dir),
# FABRIC_HOME (its build output, default ~/.cache/fabric-real), NETWORK_PORT_BASE (default
# 47200; moves up by 200 while busy), KEEP_NET, CARGO_TARGET_DIR, SKIP_DEMO=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build.sh" ]]; then
  echo "SKIP real-fabric network: no Fabric harness at $S (set FABRIC_REAL; see ../shared/fabric-real/README.md)"
  exit 0
fi
S="$(cd "$S" && pwd)"
T0=$(date +%s)
# shellcheck source-path=SCRIPTDIR source=network/lib.sh
source "$ROOT/tests/real-fabric/network/lib.sh"

# ------------------------------------------------------------------ build
build_all

# ------------------------------------------------------------------ network
F="$ROOT/network/fabric"
C="$ROOT/collections"
say "network up in $SFCBC_NET (ports $PORT_BASE..$((PORT_BASE + 99)))"
bash "$F/up.sh" >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; fail "network/fabric/up.sh"; }
pass "up.sh: orderer + 5 peers (Manager, Tenant1, Org1, Org2, Org3) with TLS and gateway"
bash "$F/channel.sh" --chain "$C/chain1.json" --owner Tenant1 >"$WORK/channel1.log" 2>&1 \
  || { tail -20 "$WORK/channel1.log"; fail "channel.sh sfc-chain1"; }
pass "channel.sh: sfc-chain1 from chain1.json; discovery on every member lists all 5 members"
bash "$F/deploy.sh" --channel sfc-chain1 --collections "$C/sfc-chain1.json" >"$WORK/deploy1.log" 2>&1 \
  || { tail -20 "$WORK/deploy1.log"; fail "deploy.sh sfc-chain1"; }
pass "deploy.sh: $(tail -1 "$WORK/deploy1.log") installed, approved by 5 orgs, committed with collections"
bash "$F/deploy.sh" --channel sfc-chain1 --collections "$C/sfc-chain1.json" >"$WORK/deploy1b.log" 2>&1 || true
grep -q "already committed" "$WORK/deploy1b.log" || fail "deploy.sh is not idempotent: $(tail -3 "$WORK/deploy1b.log")"
pass "deploy.sh again: no-op (same package id, sequence unchanged)"
PROFILE="$(bash "$F/profile.sh")" || fail "profile.sh"
pass "profile.sh: $PROFILE"
say "network ready after $(($(date +%s) - T0)) s"

# ------------------------------------------------------------------ chains and members
out="$(cli -i User1@Tenant1 chain create chain1 --file "$C/chain1.json")"
expect_rc0 "sfcbc chain create chain1 by User1@Tenant1 (hops Org1, Org2, Org3)" "$out" "owner Tenant1MSP"
for who in User1@Org1 User1@Org2 User1@Org3 User1@Manager; do
  out="$(cli -i "$who" chain show chain1 --json)"
  expect_rc0 "sfcbc chain show chain1 by $who (hop SP / manager)" "$out" '"Org2:NameWriter:1"'
done
out="$(cli -i User2@Tenant1 chain show chain1)"
expect_fail "a user who is neither owner, hop SP nor manager cannot read chain1" "$out" "403"

# ------------------------------------------------------------------ private data
for sp in Org1 Org2; do
  out="$(cli -i "User1@$sp" account register "acct-$sp-k7" --secret "pw-$sp-k7")"
  expect_rc0 "sfcbc account register acct-$sp-k7 at $sp (the SP's implicit collection)" "$out" "_implicit_org_${sp}MSP"
done
out="$(cli -i User1@Tenant1 auth share chain1 Org2:NameWriter:1 --account acct-Org2-k7 --secret pw-Org2-k7)"
expect_rc0 "sfcbc auth share to Org2's hop: explicit collection chain1_Org2MSP" "$out" "chain1_Org2MSP"
out="$(cli -i User1@Tenant1 auth share chain1 Org1:NameWriter:1 --account acct-Org1-k7 --secret pw-Org1-k7)"
expect_rc0 "sfcbc auth share to Org1's hop: implicit collection _implicit_org_Org1MSP" "$out" "_implicit_org_Org1MSP"
# Only the SP's own peer endorsed, so only it stores the value. CheckIn as the SP, sent to
# each peer in turn: the SP's peer reads the credential (auth passes, the check fails later at
# hash / nothing), every other peer refuses the private read because it holds only the hash.
H0=$(printf 'no such input' | sha256sum | cut -c1-64)
private_only_on() { # SP PSIID SRC COLLECTION
  local sp=$1 psiid=$2 src=$3 col=$4 o r
  for o in Manager Tenant1 Org1 Org2 Org3; do
    r="$(peer_query "$sp" User1 "$o" sfc-chain1 sfc CheckIn chain1 "$psiid" "$H0" "$src")"
    if [[ "$o" == "$sp" ]]; then
      grep -q '"failed":"auth"' <<<"$r" && fail "$col: auth failed on $sp's own peer: $r"
      grep -q '"ok":' <<<"$r" || fail "$col: no verdict from $sp's peer: $r"
    else
      grep -q "private data matching public hash version is not available" <<<"$r" \
        || fail "$col: peer of $o should hold only the hash, got: $r"
    fi
  done
  pass "$col: credential readable on peer0 of $sp only; Manager/Tenant1/other SPs' peers hold only its hash"
}
private_only_on Org2 Org2:NameWriter:1 127.0.0.2:9001 chain1_Org2MSP
private_only_on Org1 Org1:NameWriter:1 127.0.0.1:4000 _implicit_org_Org1MSP
# What every peer has: the block. Read through Org3's peer, the ShareAuth transactions carry
# the collection, key hash and value hash only; account names and secrets appear nowhere.
out="$(cli -i User1@Org3 blocks --json)"
grep -qx "__rc=0" <<<"$out" || fail "sfcbc blocks through Org3's peer: $out"
python3 - <(grep -v '^__rc=' <<<"$out") <<'PY' || fail "ShareAuth private writes in the blocks (seen from Org3): $out"
import json, re, sys
txs = json.load(open(sys.argv[1]))
want = {"chain1_Org2MSP", "_implicit_org_Org1MSP"}
seen = set()
for tx in txs:
    if tx.get("function") == "ShareAuth" and tx.get("validation") == "VALID":
        for w in tx.get("private_writes", []):
            assert re.fullmatch(r"[0-9a-f]{64}", w["key_hash"]) and re.fullmatch(r"[0-9a-f]{64}", w["value_hash"]), w
            seen.add(w["collection"])
assert want <= seen, seen
PY
if grep -qE "acct-Org[12]-k7|pw-Org[12]-k7" <<<"$out"; then fail "an account name or secret is in the blocks"; fi
pass "sfcbc blocks via Org3's peer: both ShareAuth txs VALID with key/value hashes only; no account or secret in any block"
r="$(peer_query Org1 User1 Org1 sfc-chain1 sfc CheckIn chain1 Org2:NameWriter:1 "$H0" 127.0.0.2:9001)"
expect_has "the chaincode refuses Org1 reading Org2's credential even on a peer that has it (403)" "$r" "403"

# ------------------------------------------------------------------ records
HI=$(printf in1 | sha256sum | cut -c1-64); HO=$(printf out1 | sha256sum | cut -c1-64)
RECS="[{\"seq\":1,\"inputHash\":\"$HI\",\"outputHash\":\"$HO\",\"src\":\"127.0.0.1:4000\",\"next\":\"127.0.0.3:9001\"}]"
r="$(peer_invoke Org1 User1 sfc-chain1 sfc Org1 -- RecordHops chain1 Org1:NameWriter:1 "$RECS")"
expect_has "RecordHops by Org1 for its hop (peer chaincode invoke, endorsed by Org1)" "$r" "status:200"
out="$(cli -i User1@Tenant1 records chain1 --json)"
expect_rc0 "sfcbc records chain1 (owner) shows the hop record" "$out" "$HO"
out="$(cli -i User1@Manager records chain1 --json)"
expect_rc0 "sfcbc records chain1 (manager, auditing) shows it too" "$out" "$HO"

# ------------------------------------------------------------------ channel without Org3
bash "$F/channel.sh" --chain "$C/chain2.json" --owner Tenant1 >"$WORK/channel2.log" 2>&1 \
  || { tail -20 "$WORK/channel2.log"; fail "channel.sh sfc-chain2"; }
bash "$F/deploy.sh" --channel sfc-chain2 --collections "$C/sfc-chain2.json" >"$WORK/deploy2.log" 2>&1 \
  || { tail -20 "$WORK/deploy2.log"; fail "deploy.sh sfc-chain2"; }
PROFILE="$(bash "$F/profile.sh")" || fail "profile.sh"
pass "sfc-chain2 (Manager, Tenant1, Org1, Org2; no Org3): channel, deploy, profile"
out="$(cli -i User1@Tenant1 -C sfc-chain2 chain create chain2 --file "$C/chain2.json")"
expect_rc0 "sfcbc chain create chain2 on sfc-chain2" "$out" "chain2_Org2MSP"
r="$(peer_cli Org3 Admin Org3 peer channel list)"
if ! grep -qx sfc-chain1 <<<"$r" || grep -qx sfc-chain2 <<<"$r"; then fail "Org3's peer channel list: $r"; fi
[[ -d "$SFCBC_NET/peer0.org3.example.com/data/ledgersData/chains/chains/sfc-chain1" &&
  ! -e "$SFCBC_NET/peer0.org3.example.com/data/ledgersData/chains/chains/sfc-chain2" ]] \
  || fail "Org3's peer should have a ledger for sfc-chain1 only: $(ls "$SFCBC_NET/peer0.org3.example.com/data/ledgersData/chains/chains")"
pass "Org3's peer joined sfc-chain1 only: no ledger for sfc-chain2"
r="$(peer_cli Org3 Admin Org3 peer channel getinfo -c sfc-chain2)"
expect_has "Org3's peer cannot serve sfc-chain2 (peer channel getinfo)" "$r" "Error"
out="$(cli -i User1@Org3 -C sfc-chain2 chain show chain2)"
expect_fail "sfcbc as User1@Org3 on sfc-chain2 (through Org3's own gateway) fails" "$out" "sfc-chain2"
r="$(peer_query Org3 User1 Org1 sfc-chain2 sfc GetChain chain2)"
grep -q '"id":"chain2"' <<<"$r" && fail "Org3 read chain2 through Org1's peer: $r"
expect_has "Org3's user cannot query sfc-chain2 through a member's peer either (channel ACL)" "$r" "Error"
r="$(peer_query Org1 User1 Org1 sfc-chain2 sfc GetChain chain2)"
expect_has "while Org1 (a member) reads chain2 on sfc-chain2" "$r" '"id":"chain2"'

# ------------------------------------------------------------------ errors through the CLI
bash "$F/deploy.sh" --channel sfc-chain2 --name sfcstrict --policy "AND('Org1MSP.peer','Org3MSP.peer')" --no-wait \
  >"$WORK/deploy-strict.log" 2>&1 || { tail -20 "$WORK/deploy-strict.log"; fail "deploy.sh sfcstrict"; }
bash "$F/profile.sh" --chaincode sfcstrict --out "$WORK/strict.yaml" >/dev/null
bash "$F/profile.sh" --chaincode nosuchcc --out "$WORK/nocc.yaml" >/dev/null
out="$(PROFILE="$WORK/strict.yaml" cli -i User1@Tenant1 -C sfc-chain2 chain create chain3 --hop Org1:NameWriter:1=127.0.0.2:9001)"
expect_fail "CLI error: endorsement policy not met (AND(Org1, Org3) on a channel without Org3)" "$out" "endorsement policy"
out="$(cli -i User1@Tenant1 chain create chain1 --file "$C/chain1.json")"
expect_fail "CLI error: chaincode error (CreateChain of an existing chain, 409)" "$out" "exists already"
out="$(cli -i User1@Org1 chain show nochain)"
expect_fail "CLI error: chaincode error (GetChain of a missing chain, 404)" "$out" "does not exist"
out="$(PROFILE="$WORK/nocc.yaml" cli -i User1@Tenant1 chain show chain1)"
expect_fail "CLI error: unknown chaincode (evaluate)" "$out" "nosuchcc"
out="$(PROFILE="$WORK/nocc.yaml" cli -i User1@Tenant1 chain create chain9 --hop Org1:NameWriter:1=127.0.0.2:9001)"
expect_fail "CLI error: unknown chaincode (submit)" "$out" "nosuchcc"

# ------------------------------------------------------------------ MAJORITY policy, mutual TLS
bash "$F/deploy.sh" --channel sfc-chain1 --name sfcmaj --policy majority >"$WORK/deploy-maj.log" 2>&1 \
  || { tail -20 "$WORK/deploy-maj.log"; fail "deploy.sh --policy majority"; }
bash "$F/profile.sh" --chaincode sfcmaj --out "$WORK/maj.yaml" >/dev/null
out="$(PROFILE="$WORK/maj.yaml" cli -i User1@Tenant1 chain create m1 --hop Org1:NameWriter:1=127.0.0.2:9001 --hop Org2:NameWriter:1=127.0.0.3:9001)"
expect_rc0 "MAJORITY endorsement policy (the gateway gathers >= 3 of 5 orgs; the tx commits VALID): chain create" "$out" "owner Tenant1MSP"
out="$(PROFILE="$WORK/maj.yaml" cli -i User1@Tenant1 auth share m1 Org2:NameWriter:1 --account acct-Org2-k7 --secret pw-Org2-k7)"
expect_rc0 "MAJORITY chaincode policy: auth share still endorsed by the SP's org alone (collection policy)" "$out" "_implicit_org_Org2MSP"
bash "$F/deploy.sh" --channel sfc-chain1 --name sfctls --mtls --address "127.0.0.1:$((PORT_BASE + 91))" >"$WORK/deploy-tls.log" 2>&1 \
  || { tail -20 "$WORK/deploy-tls.log"; fail "deploy.sh --mtls"; }
bash "$F/profile.sh" --chaincode sfctls --out "$WORK/tls.yaml" >/dev/null
out="$(PROFILE="$WORK/tls.yaml" cli -i User1@Tenant1 chain create t1 --hop Org1:NameWriter:1=127.0.0.2:9001)"
expect_rc0 "mutual TLS between the peers and sfcbc-ccaas serve: chain create" "$out" "owner Tenant1MSP"
grep -q "mutual_tls=true" "$SFCBC_NET"/logs/ccaas-*.log || fail "no sfcbc-ccaas serve ran with mutual TLS"
pass "the --mtls server ran with mutual_tls=true"

# ------------------------------------------------------------------ the demo
if [[ "${SKIP_DEMO:-0}" != 1 ]] && "$SFCBC" demo --help 2>/dev/null | grep -q -- "--profile"; then
  say "sfcbc --profile ... demo --chain demo1 (on sfc-chain1)"
  if timeout 240 "$SFCBC" --profile "$PROFILE" demo --chain demo1 >"$WORK/demo.log" 2>&1; then
    n="$(grep -c 'PASS' "$WORK/demo.log" || true)"
    pass "sfcbc demo --profile on real Fabric: $n scenarios PASS ($(grep -o 'demo finished in [0-9.]* s' "$WORK/demo.log"))"
  else
    tail -30 "$WORK/demo.log"
    fail "sfcbc demo --profile (log above)"
  fi
fi

say "REAL-FABRIC NETWORK OK ($CHECKS checks in $(($(date +%s) - T0)) s; Fabric $("$FABRIC_BIN/peer" version 2>/dev/null | awk '/Version:/{print $2; exit}'))"
echo "REAL-FABRIC NETWORK OK"
