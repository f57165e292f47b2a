#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests, when missing,
# and prints the path of its binary. Idempotent; needs root only to install.
#
#   scripts/install-chromium.sh            # install if missing, print the path
#   CHROMIUM_PATH=/usr/bin/chromium ...     # use this binary instead
set -euo pipefail

log() { echo "install-chromium: $*" >&2; }

BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then
    echo "$BIN"
    exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
    log "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
    exit 1
fi
[ "$(id -u)" = 0 ] || { log "chromium is missing and this is not root: apt-get install chromium"; exit 1; }
log "installing Debian's chromium"
# Another apt run (a concurrent install) holds the lock: wait for it rather than fail.
for _ in $(seq 1 120); do
    if apt-get update -qq -o DPkg::Lock::Timeout=600 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o DPkg::Lock::Timeout=600 chromium fonts-dejavu-core >/dev/null; then
        break
    fi
    sleep 5
done
[ -x "$BIN" ] || { log "chromium did not install"; exit 1; }
echo "$BIN"
