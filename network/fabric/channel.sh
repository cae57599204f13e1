#!/usr/bin/env bash
# network/fabric/channel.sh — one channel per SFC, from the chain's spec.
#
#   channel.sh --channel sfc-chain1 --owner Tenant1 --sp Org1 --sp Org2 --sp Org3
#   channel.sh --chain chain1.json --owner Tenant1          # SP orgs = the hops' spMsp
#                                                           # channel = sfc-<id> unless --channel
# Members: the owner's org, every hop SP's org and the manager (always). Writes the channel's
# configtx.yaml profile (orderer org OrdererMSP; each member with Readers/Writers/Admins/
# Endorsement policies and its peer as anchor peer, so every gateway finds the other orgs'
# endorsers through gossip), then configtxgen -> osnadmin channel join -> peer channel join on
# each member's peer, and waits until the orderer leads the channel and service discovery on
# every member's peer lists every member's peer. Idempotent.
# Env: see env.sh; BATCH_TIMEOUT, MAX_MESSAGE_COUNT, RAFT_TICK_INTERVAL go into the channel.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
need_fabric peer configtxgen osnadmin discover

CHANNEL="" OWNER="" CHAIN="" SPS=()
while (($#)); do
  case "$1" in
    --channel) CHANNEL="$2"; shift 2 ;;
    --owner) OWNER="$2"; shift 2 ;;
    --sp) SPS+=("$2"); shift 2 ;;
    --chain) CHAIN="$2"; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
if [[ -n "$CHAIN" ]]; then
  [[ -f "$CHAIN" ]] || die "no chain file $CHAIN"
  mapfile -t from_chain < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["id"])
for h in c.get("hops", []):
    print(h.get("spMsp") or h["psiid"].split(":")[0] + "MSP")' "$CHAIN") || die "bad chain file $CHAIN"
  [[ -n "$CHANNEL" ]] || CHANNEL="sfc-${from_chain[0]}"
  SPS+=("${from_chain[@]:1}")
fi
[[ -n "$CHANNEL" ]] || die "--channel NAME (or --chain FILE) is required"
[[ "$CHANNEL" =~ ^[a-z][a-z0-9.-]*$ ]] || die "channel name '$CHANNEL': lower case letters, digits, '.', '-'"
[[ -n "$OWNER" ]] || die "--owner ORG is required (the chain owner's org, e.g. Tenant1)"

# Members in the topology's order, no duplicates.
declare -A want=()
for o in Manager "$OWNER" "${SPS[@]}"; do want[$(org_name "$o")]=1; done
MEMBERS=()
for o in "${SFCBC_ORGS[@]}"; do [[ -n "${want[$o]:-}" ]] && MEMBERS+=("$o"); done
log "channel $CHANNEL: members ${MEMBERS[*]}"

CH_DIR="$SFCBC_NET/channels/$CHANNEL"
mkdir -p "$CH_DIR"
printf '%s\n' "${MEMBERS[@]}" >"$CH_DIR/members"

# ------------------------------------------------------------------ configtx profile
{
  cat <<EOF
# configtx.yaml for channel $CHANNEL, written by sfcbc network/fabric/channel.sh
Organizations:
  - &OrdererOrg
    Name: OrdererMSP
    ID: OrdererMSP
    MSPDir: $ORGS_DIR/ordererOrganizations/example.com/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Writers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Admins: {Type: Signature, Rule: "OR('OrdererMSP.admin')"}
    OrdererEndpoints: ["$HOST:$ORDERER_PORT"]
EOF
  for o in "${MEMBERS[@]}"; do
    m="$(org_msp "$o")"
    cat <<EOF
  - &$o
    Name: $m
    ID: $m
    MSPDir: $(org_dir "$o")/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('$m.admin', '$m.peer', '$m.client')"}
      Writers: {Type: Signature, Rule: "OR('$m.admin', '$m.client')"}
      Admins: {Type: Signature, Rule: "OR('$m.admin')"}
      Endorsement: {Type: Signature, Rule: "OR('$m.peer')"}
    AnchorPeers:
      - {Host: $HOST, Port: $(peer_port "$o")}
EOF
  done
  cat <<EOF
Capabilities:
  Channel: &ChannelCapabilities {V2_0: true}
  Orderer: &OrdererCapabilities {V2_0: true}
  Application: &ApplicationCapabilities {V2_5: true}
Profiles:
  SfcChannel:
    Policies:
      Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
      Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
      Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    Capabilities: *ChannelCapabilities
    Orderer:
      OrdererType: etcdraft
      Addresses: ["$HOST:$ORDERER_PORT"]
      BatchTimeout: $BATCH_TIMEOUT
      BatchSize: {MaxMessageCount: ${MAX_MESSAGE_COUNT:-10}, AbsoluteMaxBytes: 99 MB, PreferredMaxBytes: 512 KB}
      EtcdRaft:
        Options: {TickInterval: ${RAFT_TICK_INTERVAL:-500ms}, ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: 16 MB}
        Consenters:
          - Host: $HOST
            Port: $ORDERER_PORT
            ClientTLSCert: $ORDERER_DIR/tls/server.crt
            ServerTLSCert: $ORDERER_DIR/tls/server.crt
      Organizations: [*OrdererOrg]
      Policies:
        Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
        Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
        Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
        BlockValidation: {Type: ImplicitMeta, Rule: "ANY Writers"}
      Capabilities: *OrdererCapabilities
    Application:
      Organizations: [$(refs="${MEMBERS[*]/#/*}"; echo "${refs// /, }")]
      Policies:
        Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
        Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
        Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
        LifecycleEndorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
        Endorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
      Capabilities: *ApplicationCapabilities
EOF
} >"$CH_DIR/configtx.yaml"

BLOCK="$CH_DIR/$CHANNEL.block"
if [[ ! -s "$BLOCK" ]]; then
  FABRIC_CFG_PATH="$CH_DIR" configtxgen -profile SfcChannel -channelID "$CHANNEL" \
    -outputBlock "$BLOCK" >"$CH_DIR/configtxgen.log" 2>&1 || { cat "$CH_DIR/configtxgen.log"; die "configtxgen"; }
  log "configtxgen -> $BLOCK"
fi

# ------------------------------------------------------------------ orderer
OSN=(osnadmin channel --orderer-address "$HOST:$ORDERER_ADMIN_PORT" --ca-file "$ORDERER_CA"
  --client-cert "$ORDERER_DIR/tls/server.crt" --client-key "$ORDERER_DIR/tls/server.key")
if "${OSN[@]}" list --channelID "$CHANNEL" 2>/dev/null | grep -q "\"name\": \"$CHANNEL\""; then
  log "orderer already serves $CHANNEL"
else
  "${OSN[@]}" join --channelID "$CHANNEL" --config-block "$BLOCK" >>"$SFCBC_NET/logs/cli.log" 2>&1 \
    || { tail -5 "$SFCBC_NET/logs/cli.log"; die "osnadmin channel join $CHANNEL"; }
  log "osnadmin channel join $CHANNEL"
fi
leader=""
for ((i = 0; i < 120; i++)); do
  leader="$(python3 - "$HOST:$ORDERER_OPS_PORT" "$CHANNEL" <<'PY' 2>/dev/null || true
import sys, urllib.request
body = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=2).read().decode()
want = 'consensus_etcdraft_is_leader{channel="%s"}' % sys.argv[2]
print(next((l.split()[-1] for l in body.splitlines() if l.startswith(want)), ""))
PY
)"
  [[ "$leader" == 1 ]] && break
  sleep 0.25
done
[[ "$leader" == 1 ]] || die "the orderer did not become Raft leader of $CHANNEL"

# ------------------------------------------------------------------ peers
for o in "${MEMBERS[@]}"; do
  (
    use_org "$o" Admin
    if peer channel list 2>/dev/null | grep -qx "$CHANNEL"; then exit 0; fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      peer channel join -b "$BLOCK" >>"$SFCBC_NET/logs/cli.log" 2>&1 && exit 0
      sleep 0.5
    done
    tail -5 "$SFCBC_NET/logs/cli.log"
    exit 1
  ) || die "peer channel join $CHANNEL on $(peer_host "$o")"
done
log "joined: $(for o in "${MEMBERS[@]}"; do printf '%s ' "$(peer_host "$o")"; done)"

# ------------------------------------------------------------------ discovery (gossip warm-up)
# A gateway can only pick another org's endorser once discovery lists it.
wait_discovery() { # org
  local o=$1 out m i missing=""
  for ((i = 0; i < 240; i++)); do
    out="$(discover peers --channel "$CHANNEL" --server "$HOST:$(peer_port "$o")" --peerTLSCA "$(peer_tls_ca "$o")" \
      --userKey "$(user_msp "$o" User1)/keystore/priv_sk" \
      --userCert "$(user_msp "$o" User1)/signcerts/User1@$(org_domain "$o")-cert.pem" --MSP "$(org_msp "$o")" 2>/dev/null || true)"
    missing=""
    for m in "${MEMBERS[@]}"; do
      grep -q "\"Endpoint\": \"$HOST:$(peer_port "$m")\"" <<<"$out" || missing+=" $m"
    done
    [[ -z "$missing" ]] && return 0
    sleep 0.25
  done
  die "discovery on $(peer_host "$o") does not list:$missing"
}
for o in "${MEMBERS[@]}"; do wait_discovery "$o"; done
log "channel $CHANNEL ready: discovery on every member's peer lists all ${#MEMBERS[@]} members"
