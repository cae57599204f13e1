#!/usr/bin/env bash
# The sfcbc CLI and `sfcbc demo --profile` against a real Fabric 2.5 network that the test
# brings up itself (client/tests/cli_real_fabric.rs; it skips, saying why, when the Fabric
# binaries or its ports are missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
unset SFCBC_SKIP_REAL_FABRIC
cargo test -p sfcbc-client --test cli_real_fabric -- --nocapture
