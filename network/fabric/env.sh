# Source me: settings and helpers shared by sfcbc's network/fabric/ scripts.
# Every value can be overridden from the environment.
#
#   SFCBC_NET        where crypto, configs, ledgers, logs and pids go (default ~/.sfcbc/fabric)
#   FABRIC_BIN       folder with peer, orderer, configtxgen, cryptogen, osnadmin, discover
#                    (default: the folder of `peer` on PATH)
#   FABRIC_CONFIG    Fabric's sampleconfig (core.yaml, orderer.yaml; default $FABRIC_BIN/../config)
#   CCAAS_BUILDER    Fabric's CCaaS external builder (bin/{detect,build,release};
#                    default $FABRIC_BIN/../builders/ccaas)
#   PORT_BASE        first port (default 47000); see the port table in README.md
#   HOST             loopback address everything listens on (default 127.0.0.1)
#   BATCH_TIMEOUT    orderer BatchTimeout baked into new channels (default 500ms)
#   SFCBC_CCAAS      the sfcbc-ccaas binary (default: on PATH, else target/debug or release)
#   SFCBC            the sfcbc binary (up.sh --ca enrolls with it; found like SFCBC_CCAAS)
#   FABRIC_CA_BIN    folder with fabric-ca-server (up.sh --ca; default $FABRIC_BIN)
# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this

SFCBC_FABRIC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SFCBC_REPO="$(cd "$SFCBC_FABRIC_DIR/../.." && pwd)"
SFCBC_NET="${SFCBC_NET:-${SFCBC_HOME:-$HOME/.sfcbc}/fabric}"
HOST="${HOST:-127.0.0.1}"
PORT_BASE="${PORT_BASE:-47000}"
BATCH_TIMEOUT="${BATCH_TIMEOUT:-500ms}"

if [[ -z "${FABRIC_BIN:-}" ]]; then
  if command -v peer >/dev/null 2>&1; then
    FABRIC_BIN="$(cd "$(dirname "$(command -v peer)")" && pwd)"
  else
    FABRIC_BIN=""
  fi
fi
FABRIC_CONFIG="${FABRIC_CONFIG:-${FABRIC_BIN:+$FABRIC_BIN/../config}}"
CCAAS_BUILDER="${CCAAS_BUILDER:-${FABRIC_BIN:+$FABRIC_BIN/../builders/ccaas}}"
[[ -n "$FABRIC_BIN" ]] && export PATH="$FABRIC_BIN:$PATH"

# The paper's orgs, in port order. The ordering service is a separate org (OrdererMSP) run by
# the manager: see README.md "Why a separate orderer org".
SFCBC_ORGS=(Manager Tenant1 Org1 Org2 Org3)

ORDERER_PORT=$((PORT_BASE + 0))
ORDERER_ADMIN_PORT=$((PORT_BASE + 1))
ORDERER_OPS_PORT=$((PORT_BASE + 2))
CCAAS_PORT="${CCAAS_PORT:-$((PORT_BASE + 90))}"

ORGS_DIR="$SFCBC_NET/organizations"
ORDERER_DIR="$ORGS_DIR/ordererOrganizations/example.com/orderers/orderer.example.com"
ORDERER_CA="$ORGS_DIR/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem"

org_index() { # ORG -> 0..4
  local i
  for i in "${!SFCBC_ORGS[@]}"; do
    [[ "${SFCBC_ORGS[$i],,}" == "${1,,}" || "${SFCBC_ORGS[$i]}MSP" == "$1" ]] && { echo "$i"; return 0; }
  done
  echo "unknown org '$1' (known: ${SFCBC_ORGS[*]})" >&2
  return 1
}
org_name() { local i; i="$(org_index "$1")" && echo "${SFCBC_ORGS[$i]}"; } # Org1MSP|org1 -> Org1
org_msp() { echo "$(org_name "$1")MSP"; }
org_domain() { echo "$(org_name "$1" | tr '[:upper:]' '[:lower:]').example.com"; }
peer_port() { echo $((PORT_BASE + 10 * ($(org_index "$1") + 1))); }
peer_cc_port() { echo $(($(peer_port "$1") + 1)); }
peer_ops_port() { echo $(($(peer_port "$1") + 2)); }
peer_host() { echo "peer0.$(org_domain "$1")"; }
org_dir() { echo "$ORGS_DIR/peerOrganizations/$(org_domain "$1")"; }
peer_tls_ca() { local d; d="$(org_domain "$1")"; echo "$ORGS_DIR/peerOrganizations/$d/tlsca/tlsca.$d-cert.pem"; }
user_msp() { # ORG USER
  local d; d="$(org_domain "$1")"
  echo "$ORGS_DIR/peerOrganizations/$d/users/$2@$d/msp"
}

# Fabric CA per org (up.sh --ca): one fabric-ca-server per org, the orderer org first, each
# serving the identity CA "ca" and the TLS CA "tlsca" over HTTPS on BASE+80..85; operations
# endpoints on BASE+94..99 (BASE+90..93 are left to sfcbc-ccaas servers). Homes in
# $SFCBC_NET/ca/<org>.
CA_ORGS=(Orderer "${SFCBC_ORGS[@]}")
ca_index() { # Orderer|OrdererMSP|ORG -> 0..5
  local i
  if [[ "${1,,}" == orderer || "$1" == OrdererMSP ]]; then echo 0; return 0; fi
  i="$(org_index "$1")" && echo $((i + 1))
}
ca_key() { local i; i="$(ca_index "$1")" && echo "${CA_ORGS[$i],,}"; }   # Org1MSP -> org1
ca_port() { local i; i="$(ca_index "$1")" && echo $((PORT_BASE + 80 + i)); }
ca_ops_port() { local i; i="$(ca_index "$1")" && echo $((PORT_BASE + 94 + i)); }
ca_url() { echo "https://$HOST:$(ca_port "$1")"; }
ca_home() { echo "$SFCBC_NET/ca/$(ca_key "$1")"; }
ca_domain() { if [[ "$(ca_key "$1")" == orderer ]]; then echo example.com; else org_domain "$1"; fi; }
ca_org_dir() { # the org's folder in Fabric's layout (as cryptogen writes it)
  if [[ "$(ca_key "$1")" == orderer ]]; then echo "$ORGS_DIR/ordererOrganizations/example.com"; else org_dir "$1"; fi
}
ca_msp_id() { if [[ "$(ca_key "$1")" == orderer ]]; then echo OrdererMSP; else org_msp "$1"; fi; }
ca_mode() { [[ -d "$SFCBC_NET/ca" ]]; } # was this network made by up.sh --ca?

# Point the `peer` CLI at ORG's peer as USER (default Admin).
use_org() { # ORG [USER]
  local org user="${2:-Admin}"
  org="$(org_name "$1")" || return 1
  export FABRIC_CFG_PATH="$SFCBC_NET/cli"
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_LOCALMSPID="${org}MSP"
  CORE_PEER_TLS_ROOTCERT_FILE="$(peer_tls_ca "$org")"
  CORE_PEER_MSPCONFIGPATH="$(user_msp "$org" "$user")"
  CORE_PEER_ADDRESS="$HOST:$(peer_port "$org")"
  export CORE_PEER_TLS_ROOTCERT_FILE CORE_PEER_MSPCONFIGPATH CORE_PEER_ADDRESS
}
# --peerAddresses/--tlsRootCertFiles for the given orgs, into the array PEER_ARGS
peer_args() {
  local o
  PEER_ARGS=()
  for o in "$@"; do PEER_ARGS+=(--peerAddresses "$HOST:$(peer_port "$o")" --tlsRootCertFiles "$(peer_tls_ca "$o")"); done
}
ORDERER_ARGS=(-o "$HOST:$ORDERER_PORT" --tls --cafile "$ORDERER_CA")

log() { echo "[$(basename "$0") $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
wait_port() { # port seconds
  local i
  for ((i = 0; i < ${2:-30} * 10; i++)); do
    port_busy "$1" && return 0
    sleep 0.1
  done
  return 1
}
need_fabric() {
  local b
  [[ -n "$FABRIC_BIN" ]] || die "no Fabric binaries: set FABRIC_BIN or put peer/orderer on PATH"
  for b in "$@"; do [[ -x "$FABRIC_BIN/$b" ]] || die "missing $FABRIC_BIN/$b"; done
}
# A python3 with PyYAML (config rendering)
python_yaml() {
  local py
  for py in "${PYTHON:-python3}" "${FABRIC_HOME:-$HOME/.cache/fabric-real}/venv/bin/python"; do
    if "$py" -c 'import yaml' 2>/dev/null; then echo "$py"; return 0; fi
  done
  die "python3 with PyYAML needed (apt-get install python3-yaml, or pip install pyyaml)"
}
sfcbc_bin() {
  local b
  for b in "${SFCBC:-}" "$(command -v sfcbc 2>/dev/null)" \
    "${CARGO_TARGET_DIR:-$SFCBC_REPO/target}/debug/sfcbc" "${CARGO_TARGET_DIR:-$SFCBC_REPO/target}/release/sfcbc"; do
    [[ -n "$b" && -x "$b" ]] && { echo "$b"; return 0; }
  done
  die "no sfcbc binary: cargo build -p sfcbc-client --bin sfcbc, or set SFCBC"
}
sfcbc_ccaas_bin() {
  local b
  for b in "${SFCBC_CCAAS:-}" "$(command -v sfcbc-ccaas 2>/dev/null)" \
    "${CARGO_TARGET_DIR:-$SFCBC_REPO/target}/debug/sfcbc-ccaas" "${CARGO_TARGET_DIR:-$SFCBC_REPO/target}/release/sfcbc-ccaas"; do
    [[ -n "$b" && -x "$b" ]] && { echo "$b"; return 0; }
  done
  die "no sfcbc-ccaas binary: cargo build -p sfcbc-ccaas, or set SFCBC_CCAAS"
}
