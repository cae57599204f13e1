#!/usr/bin/env bash
# sfcbc's Fabric CA client (client/src/ca.rs) against a REAL fabric-ca-server 1.5.21.
#
#   bash tests/real-fabric/ca.sh          # from the repository root (or anywhere)
#
# 1. builds fabric-ca-server + fabric-ca-client 1.5.21 with ../shared/fabric-real/build-ca.sh
#    (about 35 s cold, seconds when cached; installs libsqlite3-dev if missing);
# 2. runs `cargo test -p sfcbc-client --test ca_real` with SFCBC_REQUIRE_FABRIC_CA=1, so a
#    missing binary fails instead of skipping. Each test starts its own fabric-ca-server in a
#    temporary directory on a free loopback port (plain http and TLS) and stops it:
#    cainfo; enroll the bootstrap admin; register a client (attributes, affiliation), a peer
#    and an admin with the registrar's token; enroll each into an MSP folder that
#    sfcbc_fabric::MspDir loads, signs and verifies with, and whose NodeOU roles (client,
#    peer, admin) come from the certificates' OUs; the folder's layout equals what the real
#    `fabric-ca-client enroll` writes (plus config.yaml); wrong secret, unknown id, duplicate
#    registration and a registrar without rights get the CA's own errors; revoke by id (with
#    CRL) and by serial+AKI; a revoked identity can neither enroll again nor authenticate.
# 3. prints "REAL-FABRIC CA OK", exits non-zero on failure.
#
# Skips (exit 0, says so) when ../shared/fabric-real is absent. Env: FABRIC_REAL (harness
# dir), FABRIC_HOME (where the binaries go, default ~/.cache/fabric-real), CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
if [[ ! -f "$S/build-ca.sh" ]]; then
  echo "SKIP real-fabric ca: no Fabric harness at $S (set FABRIC_REAL)"
  exit 0
fi
S="$(cd "$S" && pwd)"
say() { echo "[ca.sh $(date +%H:%M:%S)] $*"; }

say "building fabric-ca 1.5.21 ($S/build-ca.sh)"
bash "$S/build-ca.sh"
FABRIC_HOME="${FABRIC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/fabric-real}"
export FABRIC_CA_BIN="$FABRIC_HOME/bin"
"$FABRIC_CA_BIN/fabric-ca-server" version | head -1

say "cargo test -p sfcbc-client --test ca_real (real fabric-ca-server, no skipping)"
cd "$ROOT"
SFCBC_REQUIRE_FABRIC_CA=1 cargo test -p sfcbc-client --test ca_real -- --nocapture
say "REAL-FABRIC CA OK"
