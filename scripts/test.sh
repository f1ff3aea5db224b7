#!/usr/bin/env bash
# Sets up and runs every check and test: formatting, lints, the wasm32 build of the core, the wasm module in
# Node, the npm package in headless Chromium, and the test suites.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# Each stage prints its title; the time the previous one took is printed when the next starts.
stage_started=$SECONDS
step() {
  printf '\n(%d s)\n== %s\n' "$((SECONDS - stage_started))" "$*"
  stage_started=$SECONDS
}

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings (benches compile here too)"
cargo clippy --all-targets -- -D warnings

step "cargo doc (broken intra-doc links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --quiet

step "wasm module (wasm32 build of the core) in Node: raw interface against the CLI, error codes (scripts/test-wasm.sh)"
bash scripts/test-wasm.sh

step "npm package in headless Chromium (scripts/test-browser.sh)"
bash scripts/test-browser.sh

step "npm package in fresh Vite apps, current and 5, dev server and build + preview (scripts/test-vite.sh)"
bash scripts/test-vite.sh

step "cargo test"
cargo test
printf '\n(%d s)\n== all tests passed in %d s\n' "$((SECONDS - stage_started))" "$SECONDS"
