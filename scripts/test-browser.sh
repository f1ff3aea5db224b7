#!/usr/bin/env bash
# Browser tests (tests/browser/run.mjs): builds the npm package and the CLI, installs Debian's Chromium and the
# npm tools (playwright-core) only when missing, then drives the package in headless Chromium. Never downloads
# a browser: playwright-core only launches /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

log() { printf '\n== %s\n' "$*"; }

if [[ ! -x /usr/bin/chromium ]]; then
  log "installing Debian's chromium"
  sudo_cmd=""
  [[ $(id -u) != 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  $sudo_cmd apt-get install -y chromium
fi
log "$(/usr/bin/chromium --version 2>/dev/null | grep -i chromium || echo chromium)"

wanted=$(node -p "require('./package.json').devDependencies['playwright-core']")
if [[ "$(node -p "require('./node_modules/playwright-core/package.json').version" 2>/dev/null || true)" != "$wanted" ]]; then
  log "installing npm packages of package.json into node_modules/"
  npm install --no-audit --no-fund
fi
log "playwright-core $wanted"

bash scripts/build-package.sh
log "the test build of the package (target/pkg-test-hooks: a wasm that can be made to trap, TEST_HOOKS on)"
bash scripts/build-package.sh --test-hooks
log "cargo build --release --bin corelogic-dsp"
cargo build --release --bin corelogic-dsp

log "tsc -p tests/browser (the package's types: generated effect ids and parameter names reject typos)"
node_modules/.bin/tsc -p tests/browser

log "node tests/browser/run.mjs"
node tests/browser/run.mjs target/release/corelogic-dsp

log "node tests/browser/demo.mjs (the demo page driven as a user; screenshot in target/browser-screenshots/)"
node tests/browser/demo.mjs

log "node tests/browser/fault.mjs (an injected trap: two nodes on one context recover; the hook is not published)"
node tests/browser/fault.mjs

# 10 s here; the minute of the issue by hand: node tests/browser/gc.mjs 60
log "node tests/browser/gc.mjs 10 (no garbage collection in the worklet isolate during playback)"
node tests/browser/gc.mjs 10
