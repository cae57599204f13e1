#!/usr/bin/env bash
# network/fabric/down.sh — stop what up.sh and deploy.sh started (by recorded PID: the
# orderer, the peers, sfcbc-ccaas serve). Keeps $SFCBC_NET (crypto, ledgers, logs) unless
# PURGE=1, which removes it.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
shopt -s nullglob
pids=()
for f in "$SFCBC_NET"/pids/*.pid; do
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null && pids+=("$pid"); fi
  rm -f "$f"
done
for _ in $(seq 1 50); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  ((alive)) || break
  sleep 0.1
done
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; done
log "stopped ${#pids[@]} process(es)"
if [[ "${PURGE:-0}" == 1 && -d "$SFCBC_NET" ]]; then
  rm -rf "$SFCBC_NET"
  log "removed $SFCBC_NET"
fi
exit 0
