#!/usr/bin/env bash
# Runs every sfcbc test: the Rust workspace tests, then the parts that need outside
# components (real Fabric binaries built from ../shared/fabric-real) when they are available.
# Usage: bash tests/all.sh        (SFCBC_SKIP_REAL_FABRIC=1 skips the real-Fabric part)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== cargo test (workspace)"
cargo test --workspace --all-targets 2>&1
