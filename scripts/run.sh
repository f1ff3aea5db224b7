#!/usr/bin/env bash
# The demo: builds everything (the CLI and its short demo into demo-out/, the wasm module and the npm package),
# then serves the browser page (www/, with the package under /pkg/) from 127.0.0.1 and prints its address.
# Stop it with Ctrl-C. PORT=N picks the port (default 8080; 0 for any free one).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

bash scripts/demo-cli.sh
bash scripts/build-package.sh

printf '\n== the browser demo: open the address below in a browser (Ctrl-C stops the server)\n'
exec node scripts/serve.mjs --port "${PORT:-8080}" /=www /pkg=target/pkg
