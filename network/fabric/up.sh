#!/usr/bin/env bash
# network/fabric/up.sh — the paper's topology as real Fabric processes on loopback (no Docker):
#   orderer.example.com  (OrdererMSP, run by the manager; etcdraft, 1 node, no system channel)
#   peer0.manager.example.com (ManagerMSP), peer0.tenant1.example.com (Tenant1MSP),
#   peer0.org1/org2/org3.example.com (Org1MSP..Org3MSP)
# every peer with TLS, the Gateway, discovery and Fabric's CCaaS external builder. MSP material
# from cryptogen (NodeOUs on, Fabric's layout) in $SFCBC_NET/organizations.
#
#   up.sh [--ca]
#
# --ca (or CA=1): every identity from a Fabric CA per org instead (one fabric-ca-server per org
#   with an identity CA and a TLS CA, HTTPS on PORT_BASE+80..85; enrolled with `sfcbc identity`;
#   same folder layout; see lib/ca.sh). Needs fabric-ca-server (FABRIC_CA_BIN, default
#   FABRIC_BIN) and sfcbc (SFCBC). A network made with --ca stays one when up.sh runs again.
# Channels come next: channel.sh. Idempotent: re-running restarts only dead processes.
# RESET=1 wipes $SFCBC_NET first. Env: see env.sh (FABRIC_BIN, SFCBC_NET, PORT_BASE, ...).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
CA_MODE="${CA:-0}"
while (($#)); do
  case "$1" in
    --ca) CA_MODE=1; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
need_fabric peer orderer cryptogen configtxgen osnadmin discover
[[ -f "$FABRIC_CONFIG/core.yaml" && -f "$FABRIC_CONFIG/orderer.yaml" ]] \
  || die "no core.yaml/orderer.yaml in FABRIC_CONFIG=$FABRIC_CONFIG (Fabric's sampleconfig or the release's config/)"
for b in detect build release; do
  [[ -x "$CCAAS_BUILDER/bin/$b" ]] || die "missing $CCAAS_BUILDER/bin/$b (Fabric's ccaas_builder; set CCAAS_BUILDER)"
done
CCAAS_BUILDER="$(cd "$CCAAS_BUILDER" && pwd)"; export CCAAS_BUILDER
FABRIC_CONFIG="$(cd "$FABRIC_CONFIG" && pwd)"
PY="$(python_yaml)"
RENDER=("$PY" "$SFCBC_FABRIC_DIR/lib/render.py")

if [[ "${RESET:-0}" == 1 ]]; then
  bash "$SFCBC_FABRIC_DIR/down.sh" || true
  rm -rf "$SFCBC_NET"
fi
mkdir -p "$SFCBC_NET"/{pids,logs,cli,channels,orderer}

# ------------------------------------------------------------------ crypto (CA or cryptogen)
ca_mode && CA_MODE=1
if [[ "$CA_MODE" == 1 ]]; then
  [[ -d "$ORGS_DIR" ]] && ! ca_mode && die "$SFCBC_NET was made with cryptogen: RESET=1 $0 --ca to rebuild it with CAs"
  # shellcheck source-path=SCRIPTDIR source=lib/ca.sh
  source "$SFCBC_FABRIC_DIR/lib/ca.sh"
  ca_up
elif [[ ! -d "$ORGS_DIR/peerOrganizations/org3.example.com" ]]; then
  log "cryptogen -> $ORGS_DIR"
  {
    echo "OrdererOrgs:"
    echo "  - {Name: Orderer, Domain: example.com, EnableNodeOUs: true, Specs: [{Hostname: orderer, SANS: [localhost, \"$HOST\"]}]}"
    echo "PeerOrgs:"
    for o in "${SFCBC_ORGS[@]}"; do
      echo "  - {Name: $o, Domain: $(org_domain "$o"), EnableNodeOUs: true, Template: {Count: 1, SANS: [localhost, \"$HOST\"]}, Users: {Count: 2}}"
    done
  } >"$SFCBC_NET/crypto-config.yaml"
  cryptogen generate --config="$SFCBC_NET/crypto-config.yaml" --output="$ORGS_DIR" >/dev/null
fi

# ------------------------------------------------------------------ configs
"${RENDER[@]}" "$FABRIC_CONFIG/orderer.yaml" "$SFCBC_NET/orderer/orderer.yaml" \
  "General.ListenAddress=$HOST" "General.ListenPort=$ORDERER_PORT" \
  "General.TLS.Enabled=true" \
  "General.TLS.PrivateKey=$ORDERER_DIR/tls/server.key" \
  "General.TLS.Certificate=$ORDERER_DIR/tls/server.crt" \
  "General.TLS.RootCAs=[\"$ORDERER_DIR/tls/ca.crt\"]" \
  "General.Cluster.ClientCertificate=$ORDERER_DIR/tls/server.crt" \
  "General.Cluster.ClientPrivateKey=$ORDERER_DIR/tls/server.key" \
  "General.Cluster.RootCAs=[\"$ORDERER_DIR/tls/ca.crt\"]" \
  "General.BootstrapMethod=none" \
  "General.LocalMSPDir=$ORDERER_DIR/msp" "General.LocalMSPID=OrdererMSP" \
  "FileLedger.Location=$SFCBC_NET/orderer/data" \
  "Consensus.WALDir=$SFCBC_NET/orderer/data/etcdraft/wal" \
  "Consensus.SnapDir=$SFCBC_NET/orderer/data/etcdraft/snapshot" \
  "Operations.ListenAddress=$HOST:$ORDERER_OPS_PORT" "Metrics.Provider=prometheus" \
  "Admin.ListenAddress=$HOST:$ORDERER_ADMIN_PORT" "Admin.TLS.Enabled=true" \
  "Admin.TLS.Certificate=$ORDERER_DIR/tls/server.crt" "Admin.TLS.PrivateKey=$ORDERER_DIR/tls/server.key" \
  "Admin.TLS.RootCAs=[\"$ORDERER_DIR/tls/ca.crt\"]" "Admin.TLS.ClientAuthRequired=true" \
  "Admin.TLS.ClientRootCAs=[\"$ORDERER_DIR/tls/ca.crt\"]" \
  "ChannelParticipation.Enabled=true"

for o in "${SFCBC_ORGS[@]}"; do
  name="$(peer_host "$o")"; pd="$(org_dir "$o")/peers/$name"; pp="$(peer_port "$o")"
  mkdir -p "$SFCBC_NET/$name"
  # Gossip: the peer's own address as bootstrap (one peer per org) and as external endpoint,
  # so other orgs learn it through the channel's anchor peers; shorter alive/pull intervals
  # than the defaults make discovery converge in a few seconds.
  "${RENDER[@]}" "$FABRIC_CONFIG/core.yaml" "$SFCBC_NET/$name/core.yaml" \
    --merge "$SFCBC_FABRIC_DIR/core-externalbuilder.yaml" \
    "peer.id=$name" "peer.listenAddress=$HOST:$pp" "peer.address=$HOST:$pp" \
    "peer.chaincodeListenAddress=$HOST:$(peer_cc_port "$o")" "peer.chaincodeAddress=$HOST:$(peer_cc_port "$o")" \
    "peer.fileSystemPath=$SFCBC_NET/$name/data" \
    "peer.mspConfigPath=$pd/msp" "peer.localMspId=$(org_msp "$o")" \
    "peer.gossip.bootstrap=$HOST:$pp" "peer.gossip.externalEndpoint=$HOST:$pp" \
    "peer.gossip.useLeaderElection=false" "peer.gossip.orgLeader=true" \
    "peer.gossip.aliveTimeInterval=1s" "peer.gossip.aliveExpirationTimeout=10s" "peer.gossip.reconnectInterval=2s" \
    "peer.gossip.publishStateInfoInterval=1s" "peer.gossip.requestStateInfoInterval=1s" "peer.gossip.pullInterval=1s" \
    "peer.gossip.membershipTrackerInterval=1s" \
    "peer.tls.enabled=true" "peer.tls.cert.file=$pd/tls/server.crt" "peer.tls.key.file=$pd/tls/server.key" \
    "peer.tls.rootcert.file=$pd/tls/ca.crt" "peer.tls.clientRootCAs.files=[\"$pd/tls/ca.crt\"]" \
    "peer.gateway.enabled=true" "vm.endpoint=" "chaincode.executetimeout=300s" \
    "operations.listenAddress=$HOST:$(peer_ops_port "$o")" "metrics.provider=prometheus"
done
cp "$FABRIC_CONFIG/core.yaml" "$SFCBC_NET/cli/core.yaml" # peer CLI; use_org's CORE_PEER_* override it

# ------------------------------------------------------------------ processes
start() { # name cfgdir cmd... (env via ENVS)
  local name=$1 cfg=$2; shift 2
  if pid_alive "$SFCBC_NET/pids/$name.pid"; then log "$name already running"; return; fi
  env FABRIC_CFG_PATH="$cfg" FABRIC_LOGGING_SPEC="${FABRIC_LOGGING_SPEC:-INFO}" "${ENVS[@]}" \
    setsid "$@" >>"$SFCBC_NET/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$SFCBC_NET/pids/$name.pid"
  log "started $name (pid $!, log $SFCBC_NET/logs/$name.log)"
}
busy=()
for p in "$ORDERER_PORT" "$ORDERER_ADMIN_PORT" "$ORDERER_OPS_PORT"; do
  pid_alive "$SFCBC_NET/pids/orderer.pid" || ! port_busy "$p" || busy+=("$p")
done
for o in "${SFCBC_ORGS[@]}"; do
  pid_alive "$SFCBC_NET/pids/$(peer_host "$o").pid" && continue
  for p in "$(peer_port "$o")" "$(peer_cc_port "$o")" "$(peer_ops_port "$o")"; do port_busy "$p" && busy+=("$p"); done
done
((${#busy[@]} == 0)) || die "ports in use by something else: ${busy[*]} (choose another PORT_BASE)"

ENVS=()
start orderer "$SFCBC_NET/orderer" "$FABRIC_BIN/orderer"
for o in "${SFCBC_ORGS[@]}"; do
  name="$(peer_host "$o")"
  ENVS=("CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG={\"peername\":\"peer0$(org_name "$o" | tr '[:upper:]' '[:lower:]')\"}")
  start "$name" "$SFCBC_NET/$name" "$FABRIC_BIN/peer" node start
done
if ! wait_port "$ORDERER_PORT" 60 || ! wait_port "$ORDERER_ADMIN_PORT" 30; then
  tail -20 "$SFCBC_NET/logs/orderer.log"; die "orderer does not listen"
fi
for o in "${SFCBC_ORGS[@]}"; do
  name="$(peer_host "$o")"
  if ! wait_port "$(peer_port "$o")" 60 || ! pid_alive "$SFCBC_NET/pids/$name.pid"; then
    tail -20 "$SFCBC_NET/logs/$name.log"; die "$name does not listen on $(peer_port "$o")"
  fi
done
pid_alive "$SFCBC_NET/pids/orderer.pid" || { tail -20 "$SFCBC_NET/logs/orderer.log"; die "orderer died"; }

log "up: orderer $HOST:$ORDERER_PORT (admin $ORDERER_ADMIN_PORT); peers:"
for o in "${SFCBC_ORGS[@]}"; do log "  $(org_msp "$o") $(peer_host "$o") $HOST:$(peer_port "$o")"; done
log "next: channel.sh --channel sfc-chain1 --owner Tenant1 --sp Org1 --sp Org2 --sp Org3"
