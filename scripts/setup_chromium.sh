#!/usr/bin/env bash
# Install headless Chromium (Debian's `chromium` package) for the `agentloop view` browser test.
# Idempotent: does nothing when a chromium binary is already on PATH. Needs root (or sudo) and apt.
set -euo pipefail

for bin in chromium chromium-browser; do
  if command -v "$bin" >/dev/null 2>&1; then
    echo "chromium present: $(command -v "$bin")"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup_chromium: need root or sudo to apt-get install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
command -v apt-get >/dev/null 2>&1 || { echo "setup_chromium: apt-get not found; install chromium by hand" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
# apt-get update only when the package is unknown (fresh image with empty lists)
apt-cache show chromium >/dev/null 2>&1 || $SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium installed: $(command -v chromium)"
