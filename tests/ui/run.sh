#!/usr/bin/env bash
# The web UI in a real browser (issue 7): installs Debian's Chromium if missing, installs
# playwright-core (npm ci; it drives /usr/bin/chromium, it downloads no browser), builds the
# ui_devnet example (devnet + SFC chaincode + `sfcbc ui` in one process), and runs the
# node --test suite, which starts ui_devnet, drives the pages and stops it again.
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

echo "== building the ui_devnet example"
(cd "$repo" && cargo build -p sfcbc-client --example ui_devnet)

target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export UI_DEVNET_BIN="$target_dir/debug/examples/ui_devnet"
export UI_SCREENSHOTS="$repo/target/ui-screenshots"
mkdir -p "$UI_SCREENSHOTS"

# The suite starts ui_devnet and stops it ("quit"); should node die first, ui_devnet sees
# its standard input close and stops the UI and the devnet by itself.

echo "== node --test (headless Chromium)"
cd "$here"
node --test --test-concurrency=1 --test-timeout=600000 ui.test.js
echo "== screenshots in $UI_SCREENSHOTS"
ls -1 "$UI_SCREENSHOTS"
