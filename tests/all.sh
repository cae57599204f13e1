#!/usr/bin/env bash
# Runs every sfcbc test, in order:
#   1. the Rust workspace tests (unit, integration, property tests);
#   2. conformance with code we did not write: the official Node @hyperledger/fabric-protos
#      encodings, and the official Node Gateway client and chaincode shim against devnet
#      (needs node + npm and the npm registry);
#   3. the web UI in headless Chromium (tests/ui/run.sh installs Debian's chromium if missing);
#   4. Dockerfiles and Kubernetes manifests, validated offline (network/k8s/validate.sh);
#   5. real Fabric 2.5: builds peer/orderer from ../shared/fabric-real (cached after the first
#      run) and runs tests/real-fabric/*.sh against it. Skipped, with a message, when
#      ../shared/fabric-real is absent or SFCBC_SKIP_REAL_FABRIC=1.
# Usage: bash tests/all.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
step() { printf '\n== %s\n' "$*"; }

step "cargo test --workspace"
# The real-Fabric parts run below from tests/real-fabric/, each on its own network.
SFCBC_SKIP_REAL_FABRIC=1 cargo test --workspace --all-targets

step "conformance: official Node @hyperledger/fabric-protos encodings"
if ! command -v npm >/dev/null 2>&1; then
    echo "node and npm are needed for the conformance tests: apt-get install nodejs npm" >&2
    exit 1
fi
bash tests/conformance/protos/check.sh

step "conformance: official Node @hyperledger/fabric-gateway and fabric-shim against devnet"
bash tests/conformance/run.sh

step "web UI in headless Chromium against sfcbc ui on devnet (screenshots in target/ui-screenshots/)"
bash tests/ui/run.sh

step "containers and Kubernetes manifests, validated offline (kustomize, schemas, hadolint, shellcheck)"
bash network/k8s/validate.sh

FABRIC_REAL="${FABRIC_REAL:-$ROOT/../shared/fabric-real}"
step "real Fabric 2.5 ($FABRIC_REAL)"
if [[ "${SFCBC_SKIP_REAL_FABRIC:-0}" == 1 ]]; then
    echo "SKIPPED: SFCBC_SKIP_REAL_FABRIC=1"
elif [[ ! -f "$FABRIC_REAL/build.sh" ]]; then
    echo "SKIPPED: no Fabric build scripts at $FABRIC_REAL (the real-peer tests need them)"
else
    bash "$FABRIC_REAL/build.sh"
    for t in tests/real-fabric/*.sh; do
        [[ -f "$t" ]] || continue
        step "real Fabric: $t"
        FABRIC_REAL="$FABRIC_REAL" bash "$t"
    done
fi
echo
echo "all tests passed"
