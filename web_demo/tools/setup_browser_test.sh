#!/usr/bin/env bash
# Install what the browser demo's tests need, if missing (idempotent):
#   - Debian's chromium + chromium-driver (apt-get; root or passwordless sudo),
#   - node + npm (apt-get) if there is no node,
#   - LiteRT.js into web_demo/node_modules (npm ci, versions pinned by package-lock.json).
# Exit 0 when everything is there; non-zero with a one-line reason otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || { echo "setup_browser_test.sh: no apt-get to install ${missing[*]}" >&2; exit 3; }
  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    sudo -n true 2>/dev/null || { echo "setup_browser_test.sh: need root or passwordless sudo to install ${missing[*]}" >&2; exit 3; }
    sudo=(sudo -n)
  fi
  echo "setup_browser_test.sh: installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

if [[ ! -d node_modules/@litertjs/core/wasm ]]; then
  echo "setup_browser_test.sh: npm ci (LiteRT.js)" >&2
  npm ci --no-audit --no-fund >/dev/null
fi
