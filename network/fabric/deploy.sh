#!/usr/bin/env bash
# network/fabric/deploy.sh — deploy the SFC contract on a channel as chaincode-as-a-service,
# the way fabric-samples' deployCCAAS does, with sfcbc's own package and server:
#   sfcbc-ccaas package -> peer lifecycle chaincode install (every member's peer)
#   -> start `sfcbc-ccaas serve` (once per package; all peers and channels dial the same one)
#   -> approveformyorg (every member org) -> checkcommitreadiness -> commit (by the manager)
#   -> wait until service discovery on every member's peer lists every member as endorser.
#
#   deploy.sh --channel sfc-chain1 [--policy any|majority|"<signature policy>"]
#             [--collections collections/sfc-chain1.json] [--label sfc_1.0] [--name sfc]
#             [--address HOST:PORT] [--tls | --mtls] [--no-wait] [--no-serve]
#
# --policy   any (default): OR of every member org's peer — one endorsement suffices and the
#            chaincode enforces every access rule; majority: the channel's MAJORITY Endorsement
#            (ImplicitMeta); anything else is passed as --signature-policy.
# --collections  explicit collections (fabric-samples JSON, see collections/); the chaincode's
#            implicit per-org collections exist either way.
# --tls/--mtls   TLS (mutual TLS) between the peers and sfcbc-ccaas serve; certificates from
#            cryptogen (org "ccaas", SANs localhost + $HOST) in $SFCBC_NET/ccaas/crypto.
# --no-serve the servers run elsewhere (e.g. Kubernetes, dialled at --address): package,
#            install, approve and commit only; start them with the printed package id.
# --no-wait  skip the discovery wait (e.g. for a policy no set of member peers can satisfy).
# Idempotent: the same package, policy and collections on a channel where they are committed
# is a no-op; a change approves and commits the next sequence (set SEQUENCE to force one).
# Prints PACKAGE_ID=... last. Env: see env.sh; SFCBC_MANAGER_MSP (default ManagerMSP).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
need_fabric peer discover cryptogen

CHANNEL="" POLICY=any COLLECTIONS="" LABEL="sfc_1.0" NAME="" ADDRESS="" TLS=none WAIT=1 SERVE=1
while (($#)); do
  case "$1" in
    --channel) CHANNEL="$2"; shift 2 ;;
    --policy) POLICY="$2"; shift 2 ;;
    --collections) COLLECTIONS="$2"; shift 2 ;;
    --label) LABEL="$2"; shift 2 ;;
    --name) NAME="$2"; shift 2 ;;
    --address) ADDRESS="$2"; shift 2 ;;
    --tls) TLS=tls; shift ;;
    --mtls) TLS=mtls; shift ;;
    --no-wait) WAIT=0; shift ;;
    --no-serve) SERVE=0; shift ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ -n "$CHANNEL" ]] || die "--channel NAME is required"
[[ -f "$SFCBC_NET/channels/$CHANNEL/members" ]] || die "no channel $CHANNEL in $SFCBC_NET: run channel.sh first"
mapfile -t MEMBERS <"$SFCBC_NET/channels/$CHANNEL/members"
NAME="${NAME:-${LABEL%%_*}}"
VERSION="${LABEL#*_}"; [[ "$VERSION" == "$LABEL" ]] && VERSION=1.0
ADDRESS="${ADDRESS:-$HOST:$CCAAS_PORT}"
if [[ -n "$COLLECTIONS" ]]; then
  [[ -f "$COLLECTIONS" ]] || die "no collections file $COLLECTIONS"
  COLLECTIONS="$(cd "$(dirname "$COLLECTIONS")" && pwd)/$(basename "$COLLECTIONS")"
  python3 -m json.tool "$COLLECTIONS" >/dev/null || die "$COLLECTIONS is not JSON"
fi
case "$POLICY" in
  any) POLICY_ARGS=(--signature-policy "OR($(for o in "${MEMBERS[@]}"; do printf "'%s.peer'," "$(org_msp "$o")"; done | sed 's/,$//'))") ;;
  majority | MAJORITY) POLICY_ARGS=(--channel-config-policy /Channel/Application/Endorsement) ;;
  *) POLICY_ARGS=(--signature-policy "$POLICY") ;;
esac
BIN="$(sfcbc_ccaas_bin)"
CC_DIR="$SFCBC_NET/ccaas"
mkdir -p "$CC_DIR"

# ------------------------------------------------------------------ TLS material (optional)
PKG_TLS=() SERVE_ENV=()
if [[ "$TLS" != none ]]; then
  if [[ ! -d "$CC_DIR/crypto/peerOrganizations/ccaas.example.com" ]]; then
    printf 'PeerOrgs:\n  - {Name: Ccaas, Domain: ccaas.example.com, Template: {Count: 1, SANS: [localhost, "%s"]}, Users: {Count: 1}}\n' \
      "$HOST" >"$CC_DIR/crypto-config.yaml"
    cryptogen generate --config="$CC_DIR/crypto-config.yaml" --output="$CC_DIR/crypto" >/dev/null
  fi
  srv="$CC_DIR/crypto/peerOrganizations/ccaas.example.com/peers/peer0.ccaas.example.com/tls"
  cli="$CC_DIR/crypto/peerOrganizations/ccaas.example.com/users/User1@ccaas.example.com/tls"
  PKG_TLS=(--tls --tls-root-cert "$srv/ca.crt" --tls-server-cert "$srv/server.crt")
  SERVE_ENV=(CHAINCODE_TLS_DISABLED=false "CHAINCODE_TLS_CERT=$srv/server.crt" "CHAINCODE_TLS_KEY=$srv/server.key")
  if [[ "$TLS" == mtls ]]; then
    PKG_TLS+=(--tls-client-cert "$cli/client.crt" --tls-client-key "$cli/client.key")
    SERVE_ENV+=("CHAINCODE_CLIENT_CA_CERT=$cli/ca.crt")
  fi
fi

# ------------------------------------------------------------------ package (reproducible)
PKG="$CC_DIR/$LABEL-${ADDRESS//[:\/]/_}-$TLS.tgz"
PACKAGE_ID="$("$BIN" package --label "$LABEL" --address "$ADDRESS" --out "$PKG" "${PKG_TLS[@]}")" \
  || die "sfcbc-ccaas package"
calc="$(FABRIC_CFG_PATH="$SFCBC_NET/cli" peer lifecycle chaincode calculatepackageid "$PKG")"
[[ "$calc" == "$PACKAGE_ID" ]] || die "package id $PACKAGE_ID != peer calculatepackageid $calc"
log "package $PKG: $PACKAGE_ID"

# ------------------------------------------------------------------ install
for o in "${MEMBERS[@]}"; do
  (
    use_org "$o" Admin
    if peer lifecycle chaincode queryinstalled --output json 2>/dev/null | grep -q "\"$PACKAGE_ID\""; then exit 0; fi
    peer lifecycle chaincode install "$PKG" >>"$SFCBC_NET/logs/cli.log" 2>&1 || { tail -5 "$SFCBC_NET/logs/cli.log"; exit 1; }
    log "installed on $(peer_host "$o")"
  ) || die "install on $(peer_host "$o")"
done

# ------------------------------------------------------------------ serve
SERVE_TAG="ccaas-${PACKAGE_ID//[:\/]/_}"
if ((!SERVE)); then
  log "--no-serve: start sfcbc-ccaas serve at $ADDRESS with CHAINCODE_ID=$PACKAGE_ID yourself"
elif pid_alive "$SFCBC_NET/pids/$SERVE_TAG.pid"; then
  log "sfcbc-ccaas serve already running for $PACKAGE_ID"
else
  port="${ADDRESS##*:}"
  port_busy "$port" && die "$ADDRESS is in use by another process (stop it, or --address)"
  env CHAINCODE_SERVER_ADDRESS="$ADDRESS" CHAINCODE_ID="$PACKAGE_ID" RUST_LOG="${RUST_LOG:-info}" \
    SFCBC_MANAGER_MSP="${SFCBC_MANAGER_MSP:-ManagerMSP}" "${SERVE_ENV[@]}" \
    setsid "$BIN" serve >>"$SFCBC_NET/logs/$SERVE_TAG.log" 2>&1 </dev/null &
  echo $! >"$SFCBC_NET/pids/$SERVE_TAG.pid"
  wait_port "$port" 20 || { tail -10 "$SFCBC_NET/logs/$SERVE_TAG.log"; die "sfcbc-ccaas serve does not listen on $ADDRESS"; }
  log "sfcbc-ccaas serve $ADDRESS (pid $!, log $SFCBC_NET/logs/$SERVE_TAG.log)"
fi

# ------------------------------------------------------------------ approve + commit
use_org Manager Admin
json_get() { python3 -c 'import json,sys
try: d = json.load(sys.stdin)
except ValueError: d = {}
print(d.get(sys.argv[1], ""))' "$1"; }
CUR="$(peer lifecycle chaincode querycommitted -C "$CHANNEL" -n "$NAME" --output json 2>/dev/null | json_get sequence || true)"
CUR="${CUR:-0}"
DEF_FOR() { DEF=(-C "$CHANNEL" -n "$NAME" -v "$VERSION" --sequence "$1" "${POLICY_ARGS[@]}"); [[ -z "$COLLECTIONS" ]] || DEF+=(--collections-config "$COLLECTIONS"); }
STAMP="$CC_DIR/$CHANNEL.$NAME.committed"
WANT="$PACKAGE_ID ${POLICY_ARGS[*]} $([[ -z "$COLLECTIONS" ]] || sha256sum <"$COLLECTIONS" | cut -c1-16)"
SEQ="${SEQUENCE:-}"
if [[ -z "$SEQ" ]]; then
  SEQ=$((CUR + 1))
  # Unchanged definition (package, policy, collections as recorded when we committed CUR,
  # and our org's approval at CUR names this package)? Then there is nothing to do.
  if ((CUR > 0)) && [[ "$(cat "$STAMP" 2>/dev/null)" == "$CUR $WANT" ]] &&
    peer lifecycle chaincode queryapproved -C "$CHANNEL" -n "$NAME" --sequence "$CUR" --output json 2>/dev/null | grep -q "\"$PACKAGE_ID\""; then
    SEQ="$CUR"
  fi
fi
DEF_FOR "$SEQ"
if ((SEQ <= CUR)); then
  log "$NAME sequence $SEQ with $PACKAGE_ID is already committed on $CHANNEL"
else
  log "$NAME on $CHANNEL: approving sequence $SEQ (policy $POLICY${COLLECTIONS:+, collections $(basename "$COLLECTIONS")})"
  pids=()
  for o in "${MEMBERS[@]}"; do
    (
      use_org "$o" Admin
      if peer lifecycle chaincode checkcommitreadiness "${DEF[@]}" --output json 2>/dev/null | grep -q "\"$(org_msp "$o")\": true"; then exit 0; fi
      peer lifecycle chaincode approveformyorg "${ORDERER_ARGS[@]}" "${DEF[@]}" --package-id "$PACKAGE_ID" \
        >"$SFCBC_NET/logs/approve-$o.log" 2>&1 || { cat "$SFCBC_NET/logs/approve-$o.log" >&2; exit 1; }
    ) &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || die "approveformyorg by ${MEMBERS[$i]}"; done
  ready=""
  for _ in $(seq 1 80); do
    ready="$(peer lifecycle chaincode checkcommitreadiness "${DEF[@]}" --output json 2>/dev/null | tr -d ' \n' || true)"
    [[ -n "$ready" && "$ready" != *false* ]] && break
    sleep 0.25
  done
  [[ -n "$ready" && "$ready" != *false* ]] || die "checkcommitreadiness: $ready"
  peer_args "${MEMBERS[@]}"
  peer lifecycle chaincode commit "${ORDERER_ARGS[@]}" "${DEF[@]}" "${PEER_ARGS[@]}" >>"$SFCBC_NET/logs/cli.log" 2>&1 \
    || { tail -5 "$SFCBC_NET/logs/cli.log"; die "commit"; }
  echo "$SEQ $WANT" >"$STAMP"
  log "committed $NAME sequence $SEQ on $CHANNEL (all ${#MEMBERS[@]} members approved)"
fi

# ------------------------------------------------------------------ gateway readiness
# The gateway plans endorsements from discovery, which learns about installed chaincodes by
# gossip; wait until every member's peer sees every member as an endorser of $NAME.
for o in "${MEMBERS[@]}"; do
  ((WAIT)) || break
  ok=""
  for _ in $(seq 1 120); do
    out="$(discover endorsers --channel "$CHANNEL" --chaincode "$NAME" --server "$HOST:$(peer_port "$o")" \
      --peerTLSCA "$(peer_tls_ca "$o")" --userKey "$(user_msp "$o" User1)/keystore/priv_sk" \
      --userCert "$(user_msp "$o" User1)/signcerts/User1@$(org_domain "$o")-cert.pem" --MSP "$(org_msp "$o")" 2>/dev/null || true)"
    ok=1
    for m in "${MEMBERS[@]}"; do grep -q "$HOST:$(peer_port "$m")" <<<"$out" || { ok=""; break; }; done
    [[ -n "$ok" ]] && break
    sleep 0.25
  done
  [[ -n "$ok" ]] || die "discovery on $(peer_host "$o") does not list every member as endorser of $NAME: $(tail -c 300 <<<"$out")"
done
((WAIT)) && log "$NAME ready on $CHANNEL: every member's peer can plan endorsements"
echo "PACKAGE_ID=$PACKAGE_ID"
