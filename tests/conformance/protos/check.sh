#!/usr/bin/env bash
# Regenerates the Node fixture with the official @hyperledger/fabric-protos package (version
# pinned in package-lock.json) and fails if it differs from the committed
# fabric/tests/fixtures/node_protos.json, which fabric/tests/protos_node.rs checks without Node.
#
#   tests/conformance/protos/check.sh            # check
#   tests/conformance/protos/check.sh --update   # rewrite the committed fixture
#
# Needs node (>= 16.13) and npm with access to the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixture="$here/../../../fabric/tests/fixtures/node_protos.json"

command -v npm >/dev/null || { echo "check.sh: npm not found" >&2; exit 2; }

cd "$here"
npm ci --no-audit --no-fund --loglevel=error

if [[ "${1:-}" == "--update" ]]; then
    node make-fixture.js "$fixture"
    echo "updated $fixture"
    exit 0
fi

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
node make-fixture.js "$tmp"
if ! diff -u "$fixture" "$tmp"; then
    echo "check.sh: the Node encoding differs from the committed fixture (see diff above)" >&2
    exit 1
fi
echo "check.sh: fabric/tests/fixtures/node_protos.json matches @hyperledger/fabric-protos ($(node -p "require('@hyperledger/fabric-protos/package.json').version"))"
