# shellcheck shell=bash
# network/fabric/lib/ca.sh — sourced by up.sh --ca (after env.sh): every identity of the
# network from a Fabric CA per org instead of cryptogen, in the folder layout cryptogen writes,
# so channel.sh, deploy.sh, profile.sh and `sfcbc --profile` work unchanged.
#
# Per org (OrdererMSP, ManagerMSP, Tenant1MSP, Org1MSP..Org3MSP) one fabric-ca-server with two
# CAs: "ca" (CN ca.<domain>) issues the MSP identities, "tlsca" (CN tlsca.<domain>) the TLS
# certificates. HTTPS with a server certificate from "ca". Enrollment and registration use
# `sfcbc identity enroll|register` (sfcbc's own Fabric CA client):
#   bootstrap admin (both CAs) -> register peer0 / the orderer (type peer|orderer, both CAs),
#   Admin@ (admin), User1@ and User2@ (client) -> enroll each MSP from "ca", each node's TLS
#   certificate from "tlsca" (profile tls, SANs <node name>, <short name>, localhost, $HOST).
# Files: cryptogen's names (signcerts/<name>-cert.pem, keystore/priv_sk, tls/server.{crt,key},
# tls/ca.crt, <org>/msp/{cacerts,tlscacerts,config.yaml}, <org>/{ca,tlsca}/*-cert.pem); the CA
# keys stay in the CA home, $SFCBC_NET/ca/<org>/. The registered secrets are in
# $SFCBC_NET/ca/<org>/secrets/ (mode 600).

CA_ADMIN="${CA_ADMIN:-admin}"
CA_ADMIN_PW="${CA_ADMIN_PW:-adminpw}"

# Start ORG's fabric-ca-server unless it runs. First start: writes the TLS CA's config and the
# server creates both CAs' keys and self-signed certificates in its home.
ca_start() { # ORG
  local o=$1 h k d
  h="$(ca_home "$o")" k="$(ca_key "$o")" d="$(ca_domain "$o")"
  if pid_alive "$SFCBC_NET/pids/ca-$k.pid"; then log "ca-$k already running"; return 0; fi
  mkdir -p "$h/tlsca"
  if [[ ! -f "$h/tlsca/fabric-ca-config.yaml" ]]; then
    cat >"$h/tlsca/fabric-ca-config.yaml" <<EOF
# The TLS CA of $(ca_msp_id "$o"), a second CA of the same fabric-ca-server (--cafiles);
# written by sfcbc network/fabric/up.sh --ca. Missing values come from the server's CA.
ca:
  name: tlsca
csr:
  cn: tlsca.$d
  names: [{O: $d}]
  hosts: [localhost, "$HOST"]
EOF
  fi
  env FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS="$HOST:$(ca_ops_port "$o")" \
    setsid "$FABRIC_CA_BIN/fabric-ca-server" start -b "$CA_ADMIN:$CA_ADMIN_PW" \
    --address "$HOST" --port "$(ca_port "$o")" --home "$h" --ca.name ca --csr.cn "ca.$d" \
    --csr.hosts "localhost,$HOST" --tls.enabled --cafiles "$h/tlsca/fabric-ca-config.yaml" \
    >>"$SFCBC_NET/logs/ca-$k.log" 2>&1 </dev/null &
  echo $! >"$SFCBC_NET/pids/ca-$k.pid"
  log "started ca-$k (pid $!, https://$HOST:$(ca_port "$o"), log $SFCBC_NET/logs/ca-$k.log)"
}

# Stop ORG's CA (if it runs) and wait until it is gone.
ca_stop() { # ORG
  local f pid i
  f="$SFCBC_NET/pids/ca-$(ca_key "$1").pid"
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid="$(cat "$f")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

# Wait until ORG's CA listens. A port of ours can be taken for a moment as some connection's
# ephemeral source port (the 49xxx range is in Linux's default ephemeral range): a server that
# died of "address already in use" is started again, twice at most.
ca_wait() { # ORG
  local o=$1 k i tries=0
  k="$(ca_key "$o")"
  for ((i = 0; i < 600; i++)); do
    port_busy "$(ca_port "$o")" && pid_alive "$SFCBC_NET/pids/ca-$k.pid" && return 0
    if ! pid_alive "$SFCBC_NET/pids/ca-$k.pid"; then
      if ((tries < 2)) && tail -1 "$SFCBC_NET/logs/ca-$k.log" | grep -q "address already in use"; then
        tries=$((tries + 1))
        log "ca-$k: $(tail -1 "$SFCBC_NET/logs/ca-$k.log"); starting it again"
        ca_start "$o"
      else
        break
      fi
    fi
    sleep 0.1
  done
  tail -20 "$SFCBC_NET/logs/ca-$k.log"
  die "ca-$k does not listen on $(ca_port "$o")"
}

# sfcbc identity register|enroll against ORG's CA NAME (ca|tlsca); output to the enroll log.
ca_sfcbc() { # ORG NAME register|enroll ARGS...
  local o=$1 n=$2 cmd=$3
  shift 3
  "$SFCBC_BIN" identity "$cmd" --ca-url "$(ca_url "$o")" --tls-ca "$(ca_home "$o")/ca-cert.pem" \
    --ca-name "$n" "$@" >>"$SFCBC_NET/logs/ca-enroll.log" 2>&1 \
    || { tail -5 "$SFCBC_NET/logs/ca-enroll.log" >&2; die "sfcbc identity $cmd $* at $(ca_key "$o")'s $n"; }
}

# Register ID (TYPE) at ORG's CA NAME with a fresh random secret, kept in secrets/NAME-ID.
ca_register() { # ORG NAME ID TYPE
  local o=$1 n=$2 id=$3 t=$4 s f
  f="$(ca_home "$o")/secrets/$n-$id"
  mkdir -p "$(dirname "$f")"
  s="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && echo "$s" >"$f")
  ca_sfcbc "$o" "$n" register --registrar "$(ca_home "$o")/admin-$n/msp" --id "$id" --secret "$s" --type "$t"
}
ca_secret() { cat "$(ca_home "$1")/secrets/$2-$3"; } # ORG NAME ID

# Rename an enrolled MSP folder's files to cryptogen's: signcerts/NAME-cert.pem, keystore/priv_sk.
cryptogen_names() { # MSPDIR NAME
  local m=$1 n=$2 k
  mv "$m/signcerts/cert.pem" "$m/signcerts/$n-cert.pem"
  for k in "$m"/keystore/*_sk; do [[ "$k" == "$m/keystore/priv_sk" ]] || mv "$k" "$m/keystore/priv_sk"; done
}

# Enroll a node (peer or orderer) of ORG: MSP from "ca" into DIR/msp, TLS from "tlsca" into
# DIR/tls. NAME is its full host name (peer0.org1.example.com); the TLS certificate also names
# its first label (peer0), localhost and $HOST.
ca_enroll_node() { # ORG DIR NAME
  local o=$1 dir=$2 name=$3 tmp tlsca
  tlsca="$(ca_home "$o")/tlsca/ca-cert.pem"
  ca_sfcbc "$o" ca enroll --id "$name" --secret "$(ca_secret "$o" ca "$name")" --out "$dir/msp" \
    --msp-id "$(ca_msp_id "$o")" --msp-tls-ca "$tlsca" --csr-hosts "$name"
  cryptogen_names "$dir/msp" "$name"
  tmp="$dir/tls-enroll"
  ca_sfcbc "$o" tlsca enroll --id "$name" --secret "$(ca_secret "$o" tlsca "$name")" --out "$tmp" \
    --no-node-ous --enrollment-profile tls --csr-hosts "$name,${name%%.*},localhost,$HOST"
  mkdir -p "$dir/tls"
  cp "$tmp/signcerts/cert.pem" "$dir/tls/server.crt"
  cp "$tmp"/keystore/*_sk "$dir/tls/server.key"
  cp "$tlsca" "$dir/tls/ca.crt"
  rm -rf "$tmp"
}

# Everything of one org, from its running CA. Writes ORGDIR/.ca-enrolled when complete.
ca_enroll_org() { # ORG
  local o=$1 h d od msp node kind u n
  h="$(ca_home "$o")" d="$(ca_domain "$o")" od="$(ca_org_dir "$o")" msp="$(ca_msp_id "$o")"
  if [[ "$(ca_key "$o")" == orderer ]]; then
    node="orderer.$d" kind=orderer
  else
    node="peer0.$d" kind=peer
  fi
  ca_sfcbc "$o" ca enroll --id "$CA_ADMIN" --secret "$CA_ADMIN_PW" --out "$h/admin-ca/msp"
  ca_sfcbc "$o" tlsca enroll --id "$CA_ADMIN" --secret "$CA_ADMIN_PW" --out "$h/admin-tlsca/msp"
  ca_register "$o" ca "$node" "$kind"
  ca_register "$o" tlsca "$node" "$kind"
  ca_register "$o" ca "Admin@$d" admin
  if [[ "$kind" == peer ]]; then
    for u in User1 User2; do ca_register "$o" ca "$u@$d" client; done
  fi

  # The org's MSP (what configtx.yaml's MSPDir points at) and its CA certificates.
  mkdir -p "$od"/{msp/cacerts,msp/tlscacerts,ca,tlsca}
  cp "$h/ca-cert.pem" "$od/ca/ca.$d-cert.pem"
  cp "$h/tlsca/ca-cert.pem" "$od/tlsca/tlsca.$d-cert.pem"
  cp "$h/ca-cert.pem" "$od/msp/cacerts/ca.$d-cert.pem"
  cp "$h/tlsca/ca-cert.pem" "$od/msp/tlscacerts/tlsca.$d-cert.pem"
  {
    echo "NodeOUs:"
    echo "  Enable: true"
    for n in Client:client Peer:peer Admin:admin Orderer:orderer; do
      echo "  ${n%%:*}OUIdentifier:"
      echo "    Certificate: cacerts/ca.$d-cert.pem"
      echo "    OrganizationalUnitIdentifier: ${n#*:}"
    done
  } >"$od/msp/config.yaml"

  if [[ "$kind" == orderer ]]; then
    ca_enroll_node "$o" "$od/orderers/$node" "$node"
  else
    ca_enroll_node "$o" "$od/peers/$node" "$node"
  fi
  for u in Admin User1 User2; do
    [[ "$kind" == orderer && "$u" != Admin ]] && continue
    ca_sfcbc "$o" ca enroll --id "$u@$d" --secret "$(ca_secret "$o" ca "$u@$d")" --out "$od/users/$u@$d/msp" \
      --msp-id "$msp" --msp-tls-ca "$h/tlsca/ca-cert.pem"
    cryptogen_names "$od/users/$u@$d/msp" "$u@$d"
  done
  touch "$od/.ca-enrolled"
  log "$msp: $node, Admin@$d$([[ "$kind" == peer ]] && echo ", User1@$d, User2@$d") enrolled from $(ca_url "$o")"
}

# up.sh --ca: the CAs running and every org enrolled. An org whose enrollment did not finish
# (no .ca-enrolled) is redone from a fresh CA.
ca_up() {
  local o k busy=()
  SFCBC_BIN="$(sfcbc_bin)"
  FABRIC_CA_BIN="${FABRIC_CA_BIN:-$FABRIC_BIN}"
  [[ -x "$FABRIC_CA_BIN/fabric-ca-server" ]] \
    || die "missing $FABRIC_CA_BIN/fabric-ca-server (set FABRIC_CA_BIN; ../shared/fabric-real/build-ca.sh builds it)"
  mkdir -p "$SFCBC_NET/ca"
  for o in "${CA_ORGS[@]}"; do
    k="$(ca_key "$o")"
    if [[ ! -f "$(ca_org_dir "$o")/.ca-enrolled" ]]; then
      ca_stop "$o"
      rm -rf "$(ca_home "$o")" "$(ca_org_dir "$o")"
    fi
    pid_alive "$SFCBC_NET/pids/ca-$k.pid" && continue
    port_busy "$(ca_port "$o")" && busy+=("$(ca_port "$o")")
    port_busy "$(ca_ops_port "$o")" && busy+=("$(ca_ops_port "$o")")
  done
  ((${#busy[@]} == 0)) || die "ports in use by something else: ${busy[*]} (choose another PORT_BASE)"
  for o in "${CA_ORGS[@]}"; do ca_start "$o"; done
  for o in "${CA_ORGS[@]}"; do ca_wait "$o"; done
  for o in "${CA_ORGS[@]}"; do
    [[ -f "$(ca_org_dir "$o")/.ca-enrolled" ]] || ca_enroll_org "$o"
  done
}
