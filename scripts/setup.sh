#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is already there. Safe to run again.
# --demo (scripts/run.sh): only what the demo needs (the wasm target, wasm-bindgen-cli, binaryen, TypeScript);
# without it (the test command) also rustfmt and clippy. The browser tests' playwright-core and Chromium are
# installed by scripts/test-browser.sh, which only the test command runs.
set -euo pipefail
demo_only=0
[[ "${1:-}" == --demo ]] && demo_only=1

log() { printf '\n== %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: this project needs a Rust toolchain installed by rustup" >&2
  exit 1
fi
log "rust: $(rustc --version)"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
components=(rustfmt clippy)
[[ $demo_only == 1 ]] && components=()
for component in "${components[@]}"; do
  if ! rustup component list --installed | grep -q "^$component"; then
    log "adding rustup component $component"
    rustup component add "$component"
  fi
done

# The wasm build's tools (pinned wasm-bindgen-cli, npm binaryen); each is skipped when its version matches.
bash "$(dirname "$0")/build-wasm.sh" --install-only
