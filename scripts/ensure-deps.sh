#!/usr/bin/env bash
# Makes sure npm dependencies and the Debian packages the services need are present.
# Usage: scripts/ensure-deps.sh [--with-browser]
# Installs with apt-get when running as root; otherwise prints the command to run and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v ffmpeg >/dev/null 2>&1 || packages+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || packages+=(ffmpeg)
if [[ "${1:-}" == "--with-browser" ]]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
fi

if [[ ${#packages[@]} -gt 0 ]]; then
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${packages[*]} with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
  else
    echo "missing system packages: ${packages[*]}" >&2
    echo "install them with: sudo apt-get update && sudo apt-get install -y ${packages[*]}" >&2
    exit 1
  fi
fi

# npm ci when node_modules is missing or older than the lock file.
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing npm dependencies" >&2
  npm ci --no-audit --no-fund >&2
fi
