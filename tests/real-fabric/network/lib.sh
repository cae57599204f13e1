# Helpers for tests/real-fabric/network.sh (sourced). Sets WORK, SFCBC_NET, PORT_BASE and the
# teardown trap; check helpers print "ok: ..." or fail with the check's name.
# shellcheck shell=bash

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sfcbc-network-real.XXXXXX")"
export SFCBC_NET="$WORK/net"
export BATCH_TIMEOUT="${BATCH_TIMEOUT:-200ms}" RAFT_TICK_INTERVAL="${RAFT_TICK_INTERVAL:-100ms}"
CHECKS=0
FAILED=""
PROFILE=""

say() { echo "[network.sh $(date +%H:%M:%S)] $*"; }
fail() { FAILED="$*"; say "FAIL: $*"; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); say "ok: $*"; }

# Ports: PORT_BASE+0..2 orderer, +10..+52 peers (listen, chaincode, operations), +90 the
# chaincode server. Move up by 200 while any is busy, unless NETWORK_PORT_BASE pins it.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
block_free() {
  local p
  for p in 0 1 2 10 11 12 20 21 22 30 31 32 40 41 42 50 51 52 90; do port_busy $(($1 + p)) && return 1; done
  return 0
}
PORT_BASE="${NETWORK_PORT_BASE:-47200}"
if [[ -z "${NETWORK_PORT_BASE:-}" ]]; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do block_free "$PORT_BASE" && break; PORT_BASE=$((PORT_BASE + 200)); done
fi
block_free "$PORT_BASE" || { echo "ports $PORT_BASE+ are in use; set NETWORK_PORT_BASE"; exit 1; }
export PORT_BASE

cleanup() {
  local rc=$?
  set +e
  [[ -d "$SFCBC_NET" ]] && bash "$ROOT/network/fabric/down.sh" >/dev/null 2>&1
  if [[ $rc -ne 0 ]]; then
    say "logs: $WORK/*.log, $SFCBC_NET/logs/"
    for f in "$SFCBC_NET"/logs/peer0.*.log; do
      [[ -f "$f" ]] && { echo "--- errors in $(basename "$f")"; grep -aE "ERRO|WARN" "$f" | grep -v "TLS handshake" | tail -5; }
    done
    for f in "$SFCBC_NET"/logs/ccaas-*.log; do [[ -f "$f" ]] && { echo "--- tail $(basename "$f")"; tail -8 "$f"; }; done
    echo "REAL-FABRIC NETWORK FAILED${FAILED:+: $FAILED}"
  fi
  if [[ "${KEEP_NET:-0}" == 1 ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'FAILED="interrupted"; exit 130' INT TERM

# build_all: Fabric from the harness $S (cached after the first run), then debug builds of
# sfcbc-ccaas and sfcbc; exports FABRIC_BIN, FABRIC_CONFIG, CCAAS_BUILDER, SFCBC_CCAAS and
# sets SFCBC.
build_all() {
  say "building Fabric (fabric-real/build.sh)"
  bash "$S/build.sh" >"$WORK/build-fabric.log" 2>&1 || { tail -30 "$WORK/build-fabric.log"; fail "fabric build"; }
  local fh="${FABRIC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fabric-real}"
  export FABRIC_BIN="$fh/bin" FABRIC_CONFIG="$fh/config" CCAAS_BUILDER="$fh/builders/ccaas"
  say "building sfcbc-ccaas and sfcbc"
  (cd "$ROOT" && cargo build -q -p sfcbc-ccaas --bin sfcbc-ccaas && cargo build -q -p sfcbc-client --bin sfcbc) \
    || fail "cargo build"
  local tgt="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
  export SFCBC_CCAAS="$tgt/sfcbc-ccaas"
  SFCBC="$tgt/sfcbc"
  [[ -x "$SFCBC_CCAAS" && -x "$SFCBC" ]] || fail "no binaries in $tgt"
}

# cli ARGS...: sfcbc --profile $PROFILE ARGS, output + a last line "__rc=N"; never fails.
cli() {
  local rc=0 out
  out="$("$SFCBC" --profile "$PROFILE" "$@" 2>&1)" || rc=$?
  printf '%s\n__rc=%s\n' "$out" "$rc"
}
expect_rc0() { # what output needle
  grep -qx "__rc=0" <<<"$2" || fail "$1: $2"
  grep -qF -- "$3" <<<"$2" || fail "$1: expected '$3' in: $2"
  pass "$1"
}
expect_fail() { # what output needle: exit code 1 and a message naming the cause
  grep -qx "__rc=1" <<<"$2" || fail "$1: expected exit code 1, got: $2"
  grep -qiF -- "$3" <<<"$2" || fail "$1: expected '$3' in: $2"
  pass "$1 -> $(grep -v '^__rc=' <<<"$2" | grep -iF -m1 -- "$3" | sed 's/^ *//' | cut -c1-160)"
}
expect_has() { # what output needle
  grep -qF -- "$3" <<<"$2" || fail "$1: expected '$3' in: $2"
  pass "$1"
}

# peer_cli CLIENT_ORG USER TARGET_ORG CMD...: the peer CLI as USER@CLIENT_ORG against
# TARGET_ORG's peer; output (stdout+stderr), never fails.
peer_cli() {
  local org=$1 user=$2 target=$3; shift 3
  (
    # shellcheck source-path=SCRIPTDIR source=../../../network/fabric/env.sh
    source "$ROOT/network/fabric/env.sh"
    use_org "$org" "$user"
    CORE_PEER_ADDRESS="$HOST:$(peer_port "$target")"
    CORE_PEER_TLS_ROOTCERT_FILE="$(peer_tls_ca "$target")"
    export CORE_PEER_ADDRESS CORE_PEER_TLS_ROOTCERT_FILE
    "$@" 2>&1
  ) || true
}
args_json() { python3 -c 'import json,sys; print(json.dumps({"Args": sys.argv[1:]}))' "$@"; }
# peer_query CLIENT_ORG USER TARGET_ORG CHANNEL CC FN ARGS...
peer_query() {
  local org=$1 user=$2 target=$3 ch=$4 cc=$5; shift 5
  peer_cli "$org" "$user" "$target" peer chaincode query -C "$ch" -n "$cc" -c "$(args_json "$@")"
}
# peer_invoke CLIENT_ORG USER CHANNEL CC ENDORSER_ORG... -- FN ARGS...: submit, wait for commit
peer_invoke() {
  local org=$1 user=$2 ch=$3 cc=$4 e; shift 4
  local endorsers=()
  while [[ $1 != -- ]]; do endorsers+=("$1"); shift; done; shift
  (
    # shellcheck source-path=SCRIPTDIR source=../../../network/fabric/env.sh
    source "$ROOT/network/fabric/env.sh"
    use_org "$org" "$user"
    PEER_ARGS=()
    for e in "${endorsers[@]}"; do PEER_ARGS+=(--peerAddresses "$HOST:$(peer_port "$e")" --tlsRootCertFiles "$(peer_tls_ca "$e")"); done
    peer chaincode invoke "${ORDERER_ARGS[@]}" -C "$ch" -n "$cc" "${PEER_ARGS[@]}" --waitForEvent -c "$(args_json "$@")" 2>&1
  ) || true
}
