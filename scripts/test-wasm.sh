#!/usr/bin/env bash
# Tests the WebAssembly build's raw interface in Node: builds the wasm (scripts/build-wasm.sh, which skips the
# installs already done), builds the CLI, then runs tests/wasm/raw-interface.mjs: every effect and a mixed
# chain through wasm against `corelogic-dsp process` (within 1e-6), and error codes instead of traps; then
# tests/wasm/worklet.mjs: the worklet processor against the raw interface, timed changes, no garbage; then
# tests/wasm/engine-memory.mjs: inserts added while playing take memory zeroed ahead.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

bash scripts/build-wasm.sh
printf '\n== cargo build --bin corelogic-dsp\n'
cargo build --bin corelogic-dsp
printf '\n== node tests/wasm/raw-interface.mjs\n'
node tests/wasm/raw-interface.mjs target/debug/corelogic-dsp
printf '\n== node tests/wasm/worklet.mjs (the AudioWorkletProcessor in a minimal worklet scope)\n'
node --expose-gc --max-semi-space-size=1 tests/wasm/worklet.mjs
printf '\n== node tests/wasm/engine-memory.mjs (memory zeroed ahead for inserts added while playing)\n'
node tests/wasm/engine-memory.mjs
