#!/usr/bin/env bash
# One-time set-up on a fresh machine: system packages for the browser tests, then npm packages.
# Safe to run again. Electron's binary is optional: where it cannot be downloaded (offline, CI),
# `npm start` falls back to the headless console.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" = "Linux" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  echo "setup: installing Debian chromium (browser tests) and CJK fonts"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi

echo "setup: npm ci"
ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

# The desktop binary, where a display exists and the download is reachable; never fatal.
if [ -z "${CI:-}" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ] || [ "$(uname -s)" != "Linux" ]; }; then
  if [ ! -f node_modules/electron/path.txt ]; then
    echo "setup: fetching the Electron binary (optional)"
    timeout 120 node node_modules/electron/install.js >/dev/null 2>&1 \
      || echo "setup: Electron binary not available here; npm start will use the headless console"
  fi
fi
echo "setup: done"
