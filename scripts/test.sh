#!/usr/bin/env bash
# Sets up and runs every check and test: formatting, lints, the wasm32 build of the core, and the test suites.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings (benches compile here too)"
cargo clippy --all-targets -- -D warnings

step "cargo doc (broken intra-doc links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --quiet

step "wasm32 build of the DSP core"
cargo build --lib --target wasm32-unknown-unknown --no-default-features --release

step "wasm module in Node: raw interface against the CLI, error codes (scripts/test-wasm.sh)"
bash scripts/test-wasm.sh

step "cargo test"
cargo test
