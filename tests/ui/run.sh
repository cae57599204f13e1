#!/usr/bin/env bash
# The web UI in a real browser (issue 7): installs Debian's Chromium if missing, installs
# playwright-core (npm ci; it drives /usr/bin/chromium, it downloads no browser), builds the
# sfcbc binary and the ui_devnet example, and runs the node --test suite twice: against
# `sfcbc devnet up` + `sfcbc ui` (separate processes, TLS on), then against ui_devnet (devnet +
# SFC chaincode + UI in one process). The suite starts what it drives and stops it again;
# ui_devnet stands in for the SFs (it submits their hop records and errors).
# Screenshots: target/ui-screenshots/*.png.
#
#   bash tests/ui/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "== installing nodejs + npm (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm >/dev/null
fi

echo "== npm ci (playwright-core)"
(cd "$here" && npm ci --no-audit --no-fund)

echo "== building sfcbc and the ui_devnet example"
(cd "$repo" && cargo build -p sfcbc-client --bin sfcbc --example ui_devnet)

target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export UI_DEVNET_BIN="$target_dir/debug/examples/ui_devnet"
shots="$repo/target/ui-screenshots"
mkdir -p "$shots"

# The suite starts what it drives and stops it. Should node die first: ui_devnet sees its
# standard input close and stops by itself; the `sfcbc` processes are listed (by pid) in
# $UI_PIDS_FILE, and this trap ends those.
UI_PIDS_FILE="$(mktemp)"
export UI_PIDS_FILE
cleanup() {
  while read -r pid; do
    kill "$pid" 2>/dev/null || true
  done <"$UI_PIDS_FILE"
  rm -f "$UI_PIDS_FILE"
}
trap cleanup EXIT

cd "$here"
echo "== node --test, headless Chromium: \`sfcbc devnet up\` + \`sfcbc ui\` (the real binary)"
SFCBC_BIN="$target_dir/debug/sfcbc" UI_SCREENSHOTS="$shots" \
  node --test --test-concurrency=1 --test-timeout=600000 ui.test.js
echo "== node --test, headless Chromium: devnet + UI in one process (ui_devnet)"
UI_SCREENSHOTS="$shots/in-process" \
  node --test --test-concurrency=1 --test-timeout=600000 ui.test.js
echo "== screenshots in $shots"
ls -1 "$shots" "$shots/in-process"
