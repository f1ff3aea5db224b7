#!/usr/bin/env bash
# The npm package in fresh Vite apps with no configuration (tests/vite/run.mjs): the current Vite and Vite 5,
# each under `vite` (dev server) and `vite build` + `vite preview`. Installs each app's Vite from the npm
# registry into target/vite-apps/vite-VERSION/ only when missing; the package goes in as npm installs it (the
# `npm pack` tarball of target/pkg, which has no dependencies, unpacked into node_modules/), twice: as
# `corelogic-dsp` and as a copy named `corelogic-dsp-copy`, so its modules are evaluated twice.
# Needs target/pkg (scripts/build-package.sh) and the release CLI; scripts/test-browser.sh builds both.
# Usage: bash scripts/test-vite.sh [PATH/TO/corelogic-dsp]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

cli=${1:-target/release/corelogic-dsp}
# The current Vite (8.4) and the last Vite 5: apps pin older Vites, whose dev servers 404 on a dependency's
# asset URLs (vitejs/vite#8427); the package inlines its assets to be immune.
vites=(8.4.0 5.4.9)
apps=target/vite-apps

[[ -f target/pkg/index.js ]] || bash scripts/build-package.sh
[[ -x $cli ]] || { echo "test-vite: no CLI at $cli (cargo build --release --bin corelogic-dsp)" >&2; exit 1; }

log "npm pack target/pkg, and a copy named corelogic-dsp-copy"
packs=$apps/packs
rm -rf "$packs"
mkdir -p "$packs/copy"
cp -r target/pkg/. "$packs/copy/"
node -e '
  const fs = require("node:fs");
  const file = process.argv[1];
  const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
  manifest.name = "corelogic-dsp-copy";
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
' "$packs/copy/package.json"
version=$(node -p "require('./target/pkg/package.json').version")
npm pack --silent --pack-destination "$packs" ./target/pkg > /dev/null
npm pack --silent --pack-destination "$packs" "./$packs/copy" > /dev/null
ls "$packs"/*.tgz

for vite in "${vites[@]}"; do
  app=$apps/vite-$vite
  mkdir -p "$app/public"
  if [[ "$(node -p "require('./$app/node_modules/vite/package.json').version" 2>/dev/null || true)" != "$vite" ]]; then
    log "installing vite@$vite into $app (npm)"
    printf '{\n  "name": "corelogic-vite-%s",\n  "private": true,\n  "type": "module",\n  "devDependencies": { "vite": "%s" }\n}\n' \
      "$vite" "$vite" > "$app/package.json"
    (cd "$app" && npm install --no-audit --no-fund)
  fi
  log "$app: vite $vite; the two package copies unpacked into node_modules/"
  for name in corelogic-dsp corelogic-dsp-copy; do
    rm -rf "${app:?}/node_modules/$name"
    mkdir -p "$app/node_modules/$name"
    tar -xzf "$packs/$name-$version.tgz" -C "$app/node_modules/$name" --strip-components=1
  done
  # A fresh app: no config, no stale pre-bundle or build output.
  rm -rf "$app/node_modules/.vite" "$app/dist" "$app/vite.config."*
  cp tests/vite/index.html tests/vite/main.js tests/vite/chains.json "$app/"
done

log "node tests/vite/run.mjs"
node tests/vite/run.mjs "$cli" "${vites[@]/#/$apps/vite-}"
