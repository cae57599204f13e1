#!/usr/bin/env bash
# The paper's topology on real Fabric 2.5 with every identity from a real Fabric CA per org:
# network/fabric/up.sh --ca, then the same channel.sh / deploy.sh / profile.sh / sfcbc demo as
# on a cryptogen network.
#
#   bash tests/real-fabric/ca-network.sh        # from anywhere
#
# 1. builds Fabric (../shared/fabric-real/build.sh), fabric-ca-server 1.5.21 (build-ca.sh, only
#    when missing), sfcbc-ccaas and sfcbc;
# 2. up.sh --ca in a temporary SFCBC_NET: six fabric-ca-servers (OrdererMSP, ManagerMSP,
#    Tenant1MSP, Org1MSP..Org3MSP; identity CA "ca" + TLS CA "tlsca" each), every node and user
#    enrolled with `sfcbc identity`; checks that cryptogen was not used, that the org MSP's CA
#    certificate is the one the running CA serves (cainfo), and with `openssl verify` that
#    peer0.org1's and the orderer's MSP certificates chain to their org's CA and their TLS
#    certificates to their org's TLS CA — and that peer0.org1's does not verify against Org2's
#    CA nor against Org1's TLS CA;
# 3. channel.sh (sfc-chain1 from collections/chain1.json), deploy.sh (with collections),
#    profile.sh; `sfcbc demo --profile` on it: CreateChain, ShareAuth, the message across
#    Org1 -> Org2 -> Org3 with three stamps, the four attacks dropped and recorded (all PASS);
# 4. a client registered and enrolled afterwards at Org1's running CA (the CA's bootstrap
#    admin as registrar) reads the chain as Org1MSP; the same certificate claimed as Org2MSP is
#    refused by the peer ("creator org unknown").
# Prints "REAL-FABRIC CA NETWORK OK" or "REAL-FABRIC CA NETWORK FAILED: <check>"; always tears
# the network down (trap; KEEP_NET=1 keeps the folder and logs).
#
# Skips (exit 0, says so) when ../shared/fabric-real is absent. Env: FABRIC_REAL (harness dir),
# FABRIC_HOME (its build output, default ~/.cache/fabric-real), NETWORK_PORT_BASE (default
# 49000, moves up by 200 while busy), KEEP_NET, CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build.sh" || ! -f "$S/build-ca.sh" ]]; then
  echo "SKIP real-fabric ca-network: no Fabric harness at $S (set FABRIC_REAL; see ../shared/fabric-real/README.md)"
  exit 0
fi
S="$(cd "$S" && pwd)"
T0=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sfcbc-ca-network.XXXXXX")"
export SFCBC_NET="$WORK/net"
export BATCH_TIMEOUT="${BATCH_TIMEOUT:-200ms}" RAFT_TICK_INTERVAL="${RAFT_TICK_INTERVAL:-100ms}"
CHECKS=0
FAILED=""
say() { echo "[ca-network.sh $(date +%H:%M:%S)] $*"; }
fail() { FAILED="$*"; say "FAIL: $*"; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); say "ok: $*"; }

# Ports: PORT_BASE+0..2 orderer, +10..+52 peers, +80..+85 the CAs, +90 sfcbc-ccaas serve,
# +94..+99 the CAs' operations endpoints.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
block_free() {
  local p
  for p in 0 1 2 10 11 12 20 21 22 30 31 32 40 41 42 50 51 52 80 81 82 83 84 85 90 94 95 96 97 98 99; do
    port_busy $(($1 + p)) && return 1
  done
  return 0
}
PORT_BASE="${NETWORK_PORT_BASE:-49000}"
if [[ -z "${NETWORK_PORT_BASE:-}" ]]; then
  for _ in 1 2 3 4; do block_free "$PORT_BASE" && break; PORT_BASE=$((PORT_BASE + 200)); done
fi
block_free "$PORT_BASE" || { echo "ports $PORT_BASE+ are in use; set NETWORK_PORT_BASE"; exit 1; }
export PORT_BASE

cleanup() {
  local rc=$?
  set +e
  [[ -d "$SFCBC_NET" ]] && bash "$ROOT/network/fabric/down.sh" >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    say "logs: $WORK/*.log, $SFCBC_NET/logs/"
    for f in "$SFCBC_NET"/logs/ca-enroll.log "$SFCBC_NET"/logs/ca-org1.log "$SFCBC_NET"/logs/peer0.org1.example.com.log; do
      [[ -f "$f" ]] && { echo "--- tail $(basename "$f")"; grep -av "TLS handshake" "$f" | tail -8; }
    done
    echo "REAL-FABRIC CA NETWORK FAILED${FAILED:+: $FAILED}"
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
if [[ ! -x "$FABRIC_BIN/fabric-ca-server" ]]; then
  say "building fabric-ca 1.5.21 (fabric-real/build-ca.sh)"
  bash "$S/build-ca.sh" >"$WORK/build-ca.log" 2>&1 || { tail -30 "$WORK/build-ca.log"; fail "fabric-ca build"; }
fi
export FABRIC_CA_BIN="$FABRIC_BIN"
say "building sfcbc-ccaas and sfcbc"
(cd "$ROOT" && cargo build -q -p sfcbc-ccaas --bin sfcbc-ccaas && cargo build -q -p sfcbc-client --bin sfcbc) \
  || fail "cargo build"
TGT="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
export SFCBC_CCAAS="$TGT/sfcbc-ccaas" SFCBC="$TGT/sfcbc"
[[ -x "$SFCBC_CCAAS" && -x "$SFCBC" ]] || fail "no binaries in $TGT"

# ------------------------------------------------------------------ up --ca
F="$ROOT/network/fabric"
say "up.sh --ca in $SFCBC_NET (ports $PORT_BASE..$((PORT_BASE + 99)))"
bash "$F/up.sh" --ca >"$WORK/up.log" 2>&1 || { tail -20 "$WORK/up.log"; fail "network/fabric/up.sh --ca"; }
if [[ -e "$SFCBC_NET/crypto-config.yaml" ]] || grep -q cryptogen "$WORK/up.log"; then fail "up.sh --ca ran cryptogen"; fi
n="$(grep -c "enrolled from https://127.0.0.1:" "$WORK/up.log" || true)"
[[ "$n" == 6 ]] || fail "up.sh --ca: expected 6 orgs enrolled from their CA, got $n: $(tail -5 "$WORK/up.log")"
pass "up.sh --ca: 6 fabric-ca-servers, every identity enrolled with sfcbc identity; orderer + 5 peers up"

ORG1="$SFCBC_NET/organizations/peerOrganizations/org1.example.com"
ORG2="$SFCBC_NET/organizations/peerOrganizations/org2.example.com"
ORD="$SFCBC_NET/organizations/ordererOrganizations/example.com"
CA1_PORT=$((PORT_BASE + 83))
# The org MSP's CA certificate is the one Org1's running CA serves.
curl -sf --cacert "$SFCBC_NET/ca/org1/ca-cert.pem" "https://127.0.0.1:$CA1_PORT/api/v1/cainfo?ca=ca" >"$WORK/cainfo.json" \
  || fail "GET /api/v1/cainfo from Org1's CA"
python3 - "$WORK/cainfo.json" "$ORG1/msp/cacerts/ca.org1.example.com-cert.pem" <<'PY' || fail "Org1MSP's cacerts is not the CA's certificate"
import base64, json, sys
chain = base64.b64decode(json.load(open(sys.argv[1]))["result"]["CAChain"]).decode()
assert chain.strip() == open(sys.argv[2]).read().strip(), "cainfo CAChain differs from the org MSP's cacerts"
PY
pass "Org1MSP's msp/cacerts is the certificate Org1's running CA serves (cainfo)"
verify() { # what CAFILE CERT
  local out
  out="$(openssl verify -CAfile "$2" "$3" 2>&1)" || fail "$1: $out"
  pass "openssl verify: $1"
}
verify_not() { # what CAFILE CERT
  local out
  if out="$(openssl verify -CAfile "$2" "$3" 2>&1)"; then fail "$1 verified, but must not: $out"; fi
  pass "openssl verify refuses: $1"
}
P1="$ORG1/peers/peer0.org1.example.com"
verify "peer0.org1's MSP certificate was issued by Org1's CA" "$SFCBC_NET/ca/org1/ca-cert.pem" "$P1/msp/signcerts/peer0.org1.example.com-cert.pem"
verify "peer0.org1's TLS certificate was issued by Org1's TLS CA" "$SFCBC_NET/ca/org1/tlsca/ca-cert.pem" "$P1/tls/server.crt"
verify "the orderer's MSP certificate was issued by the orderer org's CA" "$SFCBC_NET/ca/orderer/ca-cert.pem" "$ORD/orderers/orderer.example.com/msp/signcerts/orderer.example.com-cert.pem"
verify "the orderer's TLS certificate was issued by the orderer org's TLS CA" "$ORD/tlsca/tlsca.example.com-cert.pem" "$ORD/orderers/orderer.example.com/tls/server.crt"
verify_not "peer0.org1's MSP certificate against Org2's CA" "$ORG2/ca/ca.org2.example.com-cert.pem" "$P1/msp/signcerts/peer0.org1.example.com-cert.pem"
verify_not "peer0.org1's MSP certificate against Org1's TLS CA" "$ORG1/tlsca/tlsca.org1.example.com-cert.pem" "$P1/msp/signcerts/peer0.org1.example.com-cert.pem"
subj="$(openssl x509 -in "$P1/msp/signcerts/peer0.org1.example.com-cert.pem" -noout -subject -nameopt RFC2253)"
grep -q "OU=peer" <<<"$subj" || fail "peer0.org1's certificate has no NodeOU peer: $subj"
subj="$(openssl x509 -in "$ORG1/users/Admin@org1.example.com/msp/signcerts/Admin@org1.example.com-cert.pem" -noout -subject -nameopt RFC2253)"
grep -q "OU=admin" <<<"$subj" || fail "Admin@org1's certificate has no NodeOU admin: $subj"
pass "NodeOUs from the CA registrations: peer0.org1 is OU=peer, Admin@org1 is OU=admin"

# ------------------------------------------------------------------ channel, deploy, profile
C="$ROOT/collections"
bash "$F/channel.sh" --chain "$C/chain1.json" --owner Tenant1 >"$WORK/channel.log" 2>&1 \
  || { tail -20 "$WORK/channel.log"; fail "channel.sh sfc-chain1"; }
pass "channel.sh: sfc-chain1 with the CA-issued org MSPs; discovery on every member lists all 5"
bash "$F/deploy.sh" --channel sfc-chain1 --collections "$C/sfc-chain1.json" >"$WORK/deploy.log" 2>&1 \
  || { tail -20 "$WORK/deploy.log"; fail "deploy.sh sfc-chain1"; }
pass "deploy.sh: $(tail -1 "$WORK/deploy.log") approved by 5 CA-issued org admins, committed"
PROFILE="$(bash "$F/profile.sh")" || fail "profile.sh"
pass "profile.sh: $PROFILE"
say "network ready after $(($(date +%s) - T0)) s"

# ------------------------------------------------------------------ the demo
say "sfcbc --profile ... demo --chain demo1"
if timeout 240 "$SFCBC" --profile "$PROFILE" demo --chain demo1 >"$WORK/demo.log" 2>&1; then
  n="$(grep -cE '│ (valid message|wrong credentials|forged source|tampered payload|replayed message) .*PASS' "$WORK/demo.log" || true)"
  [[ "$n" == 5 ]] || { tail -12 "$WORK/demo.log"; fail "sfcbc demo: expected 5 scenarios PASS, got $n"; }
  pass "sfcbc demo --profile on the CA network: 5 scenarios PASS ($(grep -o 'demo finished in [0-9.]* s' "$WORK/demo.log"))"
else
  tail -30 "$WORK/demo.log"
  fail "sfcbc demo --profile (log above)"
fi

# ------------------------------------------------------------------ a late identity from Org1's CA
CA1=(--ca-url "https://127.0.0.1:$CA1_PORT" --tls-ca "$SFCBC_NET/ca/org1/ca-cert.pem")
out="$("$SFCBC" identity register --json "${CA1[@]}" --registrar "$SFCBC_NET/ca/org1/admin-ca/msp" \
  --id sf-late --type client 2>&1)" || fail "sfcbc identity register sf-late at Org1's CA: $out"
secret="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' <<<"$out")" || fail "register output: $out"
"$SFCBC" identity enroll "${CA1[@]}" --id sf-late --secret "$secret" --msp-id Org1MSP --out "$WORK/sf-late/msp" \
  >"$WORK/enroll.log" 2>&1 || fail "sfcbc identity enroll sf-late: $(cat "$WORK/enroll.log")"
bash "$F/profile.sh" --out "$WORK/late.yaml" >/dev/null
PY="$(bash -c 'source "$1" && python_yaml' _ "$F/env.sh")" || fail "no python3 with PyYAML"
"$PY" - "$WORK/late.yaml" "$WORK/sf-late/msp" <<'PY' || fail "adding sf-late to the profile"
import sys, yaml
p = yaml.safe_load(open(sys.argv[1]))
for org in ("Org1", "Org2"):
    p["orgs"][org]["users"]["SfLate"] = sys.argv[2]
yaml.safe_dump(p, open(sys.argv[1], "w"), sort_keys=False)
PY
out="$("$SFCBC" --profile "$WORK/late.yaml" -i SfLate@Org1 chain show demo1 2>&1)" \
  || fail "sf-late (enrolled after up) reading demo1 as Org1MSP: $out"
grep -q "chain demo1" <<<"$out" || fail "sf-late chain show demo1: $out"
pass "a client registered + enrolled later at Org1's CA (sfcbc identity) reads demo1 as Org1MSP"
if out="$("$SFCBC" --profile "$WORK/late.yaml" -i SfLate@Org2 chain show demo1 2>&1)"; then
  fail "Org1's CA-issued certificate was accepted as Org2MSP: $out"
fi
grep -q "creator org unknown" <<<"$out" || fail "claiming Org2MSP with Org1's certificate: unexpected error: $out"
pass "the same certificate claimed as Org2MSP is refused by peer0.org2 (creator org unknown)"

say "REAL-FABRIC CA NETWORK OK ($CHECKS checks in $(($(date +%s) - T0)) s; Fabric $("$FABRIC_BIN/peer" version 2>/dev/null | awk '/Version:/{print $2; exit}'), fabric-ca $("$FABRIC_CA_BIN/fabric-ca-server" version 2>/dev/null | awk '/Version:/{print $2; exit}'))"
echo "REAL-FABRIC CA NETWORK OK"
