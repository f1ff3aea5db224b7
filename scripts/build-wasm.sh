#!/usr/bin/env bash
# Builds the WebAssembly module: installs (or reuses) the pinned wasm-bindgen CLI and the npm tools (binaryen's
# wasm-opt, TypeScript), compiles the crate for wasm32 with the wasm-release profile, generates the glue with
# `wasm-bindgen --target web`, optimises with wasm-opt, compiles the worklet processor and prints the raw and
# gzipped size.
#
# Output: target/wasm/corelogic_dsp.js (glue, ES module), target/wasm/corelogic_dsp_bg.wasm (optimised),
# target/wasm/corelogic_dsp.d.ts; target/worklet/processor.js. Usage: bash scripts/build-wasm.sh [--no-opt | --install-only | --test-hooks]
# --test-hooks: the test build, into target/wasm-test-hooks/ and target/worklet-test-hooks/: the wasm with the cargo
# feature `fault-injection` (the export `test_trap_arm`) and the worklet with `TEST_HOOKS = true`. Never published.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

optimise=1
install_only=0
test_hooks=0
case "${1:-}" in
  --no-opt) optimise=0 ;;
  --install-only) install_only=1 ;; # for scripts/setup.sh: the tools only, no build
  --test-hooks) test_hooks=1 ;;
  "") ;;
  *) echo "usage: bash scripts/build-wasm.sh [--no-opt | --install-only | --test-hooks]" >&2; exit 2 ;;
esac

log() { printf '\n== %s\n' "$*"; }
out_dir=target/wasm
worklet_dir=target/worklet
features=()
if [[ $test_hooks == 1 ]]; then
  out_dir=target/wasm-test-hooks
  worklet_dir=target/worklet-test-hooks
  features=(--features fault-injection)
fi

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly (Cargo.toml pins it with "=").
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [[ -z "$bindgen_version" ]]; then
  echo "build-wasm: no wasm-bindgen in Cargo.lock (run cargo build once for wasm32)" >&2
  exit 1
fi
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  # Without --locked: with it, 0.2.130's own lock file pins a crate the registry no longer serves.
  log "installing wasm-bindgen-cli $bindgen_version (compiles for several minutes)"
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi
log "$(wasm-bindgen --version)"

# npm's binaryen (package.json at the repo root); Debian's wasm-opt 108 writes broken modules.
wasm_opt=node_modules/.bin/wasm-opt
wanted_binaryen=$(node -p "require('./package.json').dependencies.binaryen")
# npm tools (package.json at the repo root, into node_modules/): binaryen's wasm-opt and TypeScript's tsc.
wanted_typescript=$(node -p "require('./package.json').dependencies.typescript")
if [[ $optimise == 1 && ( ! -x $wasm_opt || "$($wasm_opt --version)" != "wasm-opt version ${wanted_binaryen%%.*} "* ) ]] ||
  [[ ! -x node_modules/.bin/tsc || "$(node_modules/.bin/tsc --version)" != "Version $wanted_typescript" ]]; then
  # The build tools only (package.json's dependencies): the demo needs no browser driver. Once the test
  # command has installed playwright-core (a devDependency), a plain install keeps it (--omit would remove it).
  omit=(--omit=dev)
  [[ -d node_modules/playwright-core ]] && omit=()
  log "installing the build tools of package.json into node_modules/"
  npm install --no-audit --no-fund "${omit[@]}"
fi
[[ $optimise == 1 ]] && log "$($wasm_opt --version) (npm binaryen)"
log "tsc $(node_modules/.bin/tsc --version) (npm typescript)"

[[ $install_only == 1 ]] && exit 0

log "cargo build --lib --target wasm32-unknown-unknown --no-default-features ${features[*]} --profile wasm-release"
cargo build --lib --target wasm32-unknown-unknown --no-default-features "${features[@]}" --profile wasm-release

cargo_wasm=target/wasm32-unknown-unknown/wasm-release/corelogic_dsp.wasm
wasm="$out_dir/corelogic_dsp_bg.wasm"
stamp="$out_dir/.built-with-opt-$optimise"
if [[ -f $stamp && $wasm -nt $cargo_wasm && $stamp -nt $cargo_wasm ]]; then
  log "target/wasm is up to date with $cargo_wasm (skipping wasm-bindgen and wasm-opt)"
else
  log "wasm-bindgen --target web"
  rm -rf "$out_dir"
  mkdir -p "$out_dir"
  wasm-bindgen --target web --out-dir "$out_dir" "$cargo_wasm"
  # The glue is an ES module; Node reads .js as CommonJS unless the nearest package.json says otherwise.
  printf '{\n  "type": "module"\n}\n' > "$out_dir/package.json"

  if [[ $optimise == 1 ]]; then
    log "wasm-opt -O3 --strip-debug"
    "$wasm_opt" -O3 --strip-debug "$wasm" -o "$wasm.opt"
    mv "$wasm.opt" "$wasm"
  fi
  touch "$stamp"
fi

log "tsc -p worklet (the AudioWorkletProcessor, into target/worklet/)"
node_modules/.bin/tsc -p worklet
printf '{\n  "type": "module"\n}\n' > target/worklet/package.json
if [[ $test_hooks == 1 ]]; then
  log "$worklet_dir/processor.js: the worklet with TEST_HOOKS = true"
  mkdir -p "$worklet_dir"
  cp target/worklet/package.json "$worklet_dir/"
  node -e '
    const fs = require("node:fs");
    const [from, to] = process.argv.slice(1);
    const source = fs.readFileSync(from, "utf8");
    const flag = "const TEST_HOOKS = false;";
    if (source.split(flag).length !== 2) throw new Error(`${from}: expected "${flag}" exactly once`);
    fs.writeFileSync(to, source.replace(flag, "const TEST_HOOKS = true;"));
  ' target/worklet/processor.js "$worklet_dir/processor.js"
fi

raw_bytes=$(wc -c < "$wasm")
gzip_bytes=$(gzip -9 -c "$wasm" | wc -c)
log "size of $wasm: $raw_bytes bytes raw ($((raw_bytes / 1024)) KiB), $gzip_bytes bytes gzipped ($((gzip_bytes / 1024)) KiB)"
