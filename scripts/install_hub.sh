#!/usr/bin/env bash
# Install what the course's JupyterHub (hub/) needs beside the Python environment:
# configurable-http-proxy from npm, into hub/node_modules (git ignores it), at the
# version hub/package.json pins. JupyterHub itself comes from PyPI with the test extra.
#
# It never fails the build: where it cannot install (no node or npm, no registry) it
# says why and exits 0; tests/browser/test_hub.py then skips and says so.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
hub="$here/hub"
proxy="$hub/node_modules/.bin/configurable-http-proxy"

if [ -x "$proxy" ] && "$proxy" --version >/dev/null 2>&1; then
    exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install_hub: node and npm are needed for configurable-http-proxy and are missing;" \
         "the hub test will skip (Debian: apt-get install nodejs npm)." >&2
    exit 0
fi
echo "install_hub: installing configurable-http-proxy into hub/node_modules with npm"
log=$(mktemp)
if ! npm install --prefix "$hub" --no-audit --no-fund --no-package-lock --omit=dev >"$log" 2>&1; then
    echo "install_hub: npm install failed (log: $log); the hub test will skip." >&2
    tail -n 5 "$log" >&2
    exit 0
fi
"$proxy" --version >/dev/null 2>&1 && echo "install_hub: configurable-http-proxy $("$proxy" --version) installed"
exit 0
