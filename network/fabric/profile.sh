#!/usr/bin/env bash
# network/fabric/profile.sh — write the sfcbc client profile for this network (YAML, the
# format documented in client/src/profile.rs), so `sfcbc --profile FILE ...` works against it.
#
#   profile.sh [--out FILE] [--chaincode sfc] [--identity User1@Tenant1] [CHANNEL...]
#
# Channels: the ones given, else every channel made by channel.sh (sfc-chain1 first when
# present). Default output: $SFCBC_NET/profile.yaml, with paths relative to it; a profile
# written elsewhere gets absolute paths. Prints the file's path.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
OUT="$SFCBC_NET/profile.yaml" CC=sfc IDENTITY=User1@Tenant1 CHANNELS=()
while (($#)); do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --chaincode) CC="$2"; shift 2 ;;
    --identity) IDENTITY="$2"; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) CHANNELS+=("$1"); shift ;;
  esac
done
[[ -d "$ORGS_DIR" ]] || die "no network in $SFCBC_NET: run up.sh first"
if ((${#CHANNELS[@]} == 0)); then
  [[ -d "$SFCBC_NET/channels/sfc-chain1" ]] && CHANNELS+=(sfc-chain1)
  for d in "$SFCBC_NET"/channels/*/; do
    [[ -d "$d" ]] || continue
    c="$(basename "$d")"; [[ "$c" == sfc-chain1 ]] || CHANNELS+=("$c")
  done
fi
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
NETABS="$(cd "$SFCBC_NET" && pwd)"
rel() { if [[ "$(dirname "$OUT")" == "$NETABS" ]]; then echo "${1#"$NETABS"/}"; else echo "$1"; fi; }
ORGS_ABS="$NETABS/organizations"
{
  echo "# sfcbc client profile for the real Fabric network in $NETABS"
  echo "# written by network/fabric/profile.sh; format: client/src/profile.rs"
  echo "name: fabric-$PORT_BASE"
  echo "chaincode: $CC"
  chs="${CHANNELS[*]}"; echo "channels: [${chs// /, }]"
  echo "default_identity: $IDENTITY"
  echo "orderer:"
  echo "  endpoint: $HOST:$ORDERER_PORT"
  echo "  tls_ca: $(rel "$ORGS_ABS/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem")"
  echo "  server_name: orderer.example.com"
  echo "orgs:"
  for o in "${SFCBC_ORGS[@]}"; do
    d="$(org_domain "$o")"
    echo "  $o:"
    echo "    msp_id: $(org_msp "$o")"
    echo "    peer:"
    echo "      endpoint: $HOST:$(peer_port "$o")"
    echo "      tls_ca: $(rel "$ORGS_ABS/peerOrganizations/$d/tlsca/tlsca.$d-cert.pem")"
    echo "      server_name: peer0.$d"
    echo "    users:"
    for u in Admin User1 User2; do
      [[ -d "$ORGS_ABS/peerOrganizations/$d/users/$u@$d/msp" ]] &&
        echo "      $u: $(rel "$ORGS_ABS/peerOrganizations/$d/users/$u@$d/msp")"
    done
  done
} >"$OUT"
echo "$OUT"
