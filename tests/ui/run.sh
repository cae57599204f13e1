#!/usr/bin/env bash
# The web UI in a real browser (issue 7): installs Debian's Chromium if missing, installs
# playwright-core (npm ci; it drives /usr/bin/chromium, it downloads no browser), builds the
# sfcbc binary, and runs the node --test suite (ui.test.js) against the real processes:
# `sfcbc devnet up`, `sfcbc ui`, three `sfcbc sf run` (127.0.0.21-23), `sfcbc sink`
# (127.0.0.24) and `sfcbc send` (127.0.0.20, plus a forger and a tamperer). The suite starts
# what it drives and stops it again. Screenshots: target/ui-screenshots/*.png.
#
#   bash tests/ui/run.sh   (UI_DEBUG=1: print the browser console; UI_KEEP=1: keep the temp dir)
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

echo "== building sfcbc"
(cd "$repo" && cargo build -p sfcbc-client --bin sfcbc)

target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
SFCBC_BIN="$target_dir/debug/sfcbc"
export SFCBC_BIN
shots="$repo/target/ui-screenshots"
mkdir -p "$shots"
rm -f "$shots"/*.png  # this run's pages only
export UI_SCREENSHOTS="$shots"

# The suite stops what it starts. Should node die first, its long-running children (devnet,
# ui, SFs, sink) are listed by pid in $UI_PIDS_FILE and this trap ends those that still run
# our sfcbc binary (a pid reused by another program is left alone).
UI_PIDS_FILE="$(mktemp)"
export UI_PIDS_FILE
cleanup() {
  while read -r pid; do
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$SFCBC_BIN" ]; then
      kill "$pid" 2>/dev/null || true
    fi
  done <"$UI_PIDS_FILE"
  rm -f "$UI_PIDS_FILE"
}
trap cleanup EXIT

cd "$here"
echo "== node --test, headless Chromium: sfcbc devnet up + ui + 3 × sf run + send + sink"
node --test --test-concurrency=1 --test-timeout=900000 ui.test.js
echo "== screenshots in $shots"
ls -1 "$shots"
