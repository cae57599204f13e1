#!/usr/bin/env bash
# tests/conformance/run.sh [extra cargo test args...]
#
# Conformance with code we did not write (issue 5, DESIGN §9): the OFFICIAL Node Fabric Gateway
# client (@hyperledger/fabric-gateway 1.11 + @grpc/grpc-js) and the OFFICIAL Node chaincode shim
# (fabric-shim / fabric-contract-api 2.5, CCaaS server mode) against devnet.
#
# 1. `npm ci` in tests/conformance/gateway and tests/conformance/shim when node_modules is missing
#    or older than the committed package-lock.json (needs the npm registry or a warm ~/.npm).
# 2. `cargo test -p sfcbc-devnet --test conformance_node -- --nocapture`: starts a devnet in the
#    test process, our sfcbc-ccaas (SFC contract) and `fabric-chaincode-node server`, commits both
#    chaincodes, runs `node --test` in tests/conformance/gateway (its output is printed), then
#    drives the Node chaincode through sfcbc_client as well.
# 3. Prints the node test runner's summary and exits with cargo's status.
#
# Env: CONFORMANCE_KEEP=1 keeps the network dir (logs, ledgers, connection.json);
#      CONFORMANCE_NODE_ARGS="--test-name-pattern=MVCC" narrows the node tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/conformance"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "conformance: node and npm are required (Node.js 18+): apt-get install nodejs npm" >&2
  exit 1
fi
echo "conformance: node $(node --version), npm $(npm --version)"

for d in gateway shim; do
  dir="$HERE/$d"
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    echo "conformance: npm ci in tests/conformance/$d"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

LOG="$(mktemp -t conformance-node.XXXXXX.log)"
trap 'rm -f "$LOG"' EXIT
cd "$ROOT"
set +e
cargo test -p sfcbc-devnet --test conformance_node "$@" -- --nocapture 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e

echo
echo "=== official Node client + shim against devnet: node --test summary ==="
grep -E '^ℹ (tests|pass|fail|cancelled|skipped|todo|duration_ms) ' "$LOG" || echo "(node --test did not run; see above)"
grep -E '^\[conformance\]' "$LOG" | grep -E 'finished|sfcbc_client' || true
grep -E '^test .* \.\.\. (ok|FAILED)$|^test result:' "$LOG" || true
exit "$rc"
