// The wasm cost table (issue 9): every effect at its defaults and the configurations of configs.json, per
// 128-frame quantum at 48 kHz on uncorrelated noise, natively (examples/wasm_cost_native.rs, the same
// chain host) and as wasm in Node, interleaved round by round; medians of the rounds.
//
// Run by hand (not in CI):
//   bash scripts/build-wasm.sh
//   cargo build --release --example wasm_cost_native
//   node benches/wasm/cost-table.mjs [--rounds 7]
//
// Noise and the quanta per configuration are defined exactly as in examples/wasm_cost_native.rs (see there).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadWasm, listing, createChain, appendChainJson, views } from './corelogic-wasm.mjs';

const NOISE_TABLE_FRAMES = 48000;
const CHAIN_STRIDE_FRAMES = 7919;
const CHAIN_QUANTA_PER_CONFIG = 4000;
const MIN_QUANTA = 200;

const root = new URL('../../', import.meta.url);
const configsPath = fileURLToPath(new URL('benches/wasm/configs.json', root));
const nativeBinary = fileURLToPath(new URL('target/release/examples/wasm_cost_native', root));
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;

/** Marsaglia's xorshift32 noise in [-0.5, 0.5), left table then right (as in the native half). */
function noiseTables() {
  let x = 0x9e3779b9 >>> 0;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return (x >>> 8) / 16777216 - 0.5;
  };
  const left = new Float32Array(NOISE_TABLE_FRAMES).map(next);
  const right = new Float32Array(NOISE_TABLE_FRAMES).map(next);
  return { left, right };
}

function configs(w, file) {
  const perEffect = listing(w).map((e) => ({ label: e.id, chains: [{ count: 1, chain: [{ effect: e.id }] }] }));
  return [...perEffect, ...file.configs];
}

/** Microseconds per quantum of one configuration, as wasm. */
function measureWasm(w, config, sampleRateHz, quantum, noise) {
  const ids = [];
  for (const group of config.chains) {
    for (let i = 0; i < group.count; i++) {
      const { id } = createChain(w, sampleRateHz, quantum);
      appendChainJson(w, id, group.chain);
      ids.push(id);
    }
  }
  const chains = ids.map((id) => ({ id, ...views(w, id) })); // after all growth
  const quanta = Math.max(MIN_QUANTA, Math.floor(CHAIN_QUANTA_PER_CONFIG / chains.length));
  const span = NOISE_TABLE_FRAMES - quantum;
  const run = (first, count) => {
    for (let q = first; q < first + count; q++) {
      for (let c = 0; c < chains.length; c++) {
        const at = (c * CHAIN_STRIDE_FRAMES + q * quantum) % span;
        const chain = chains[c];
        chain.left.set(noise.left.subarray(at, at + quantum));
        chain.right.set(noise.right.subarray(at, at + quantum));
        if (w.chain_process(chain.id, quantum) !== 0) throw new Error('chain_process failed');
      }
    }
  };
  const warmUp = Math.floor(quanta / 4);
  run(0, warmUp);
  const start = process.hrtime.bigint();
  run(warmUp, quanta);
  const elapsedUs = Number(process.hrtime.bigint() - start) / 1e3;
  for (const id of ids) w.chain_free(id);
  return elapsedUs / quanta;
}

function runNative() {
  const out = execFileSync(nativeBinary, [configsPath], { encoding: 'utf8' });
  return Object.fromEntries(JSON.parse(out).results.map((r) => [r.label, r.usPerQuantum]));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const file = JSON.parse(readFileSync(configsPath, 'utf8'));
const w = await loadWasm();
const list = configs(w, file);
const noise = noiseTables();
// One discarded pass: V8 compiles wasm with its baseline tier first and optimises hot functions later.
for (const config of list) measureWasm(w, config, file.sampleRateHz, file.quantumFrames, noise);
const samples = new Map(list.map((c) => [c.label, { native: [], wasm: [] }]));
for (let round = 0; round < rounds; round++) {
  const runWasm = () => {
    for (const config of list) {
      samples.get(config.label).wasm.push(measureWasm(w, config, file.sampleRateHz, file.quantumFrames, noise));
    }
  };
  const runNativeRound = () => {
    const native = runNative();
    for (const config of list) samples.get(config.label).native.push(native[config.label]);
  };
  // Alternate which runs first, so that drifting machine load falls on both alike.
  if (round % 2 === 0) { runNativeRound(); runWasm(); } else { runWasm(); runNativeRound(); }
  process.stderr.write(`round ${round + 1}/${rounds} done\n`);
}

const quantumUs = (file.quantumFrames / file.sampleRateHz) * 1e6;
const pad = (s, n) => String(s).padEnd(n);
const num = (x) => x.toFixed(2).padStart(9);
console.log(`medians of ${rounds} interleaved rounds; ${file.quantumFrames}-frame quantum at ${file.sampleRateHz} Hz = ${quantumUs.toFixed(1)} us`);
console.log(`${pad('effect', 52)}| native us/quantum | wasm us/quantum | ratio`);
console.log(`${'-'.repeat(52)}|-------------------|-----------------|------`);
for (const config of list) {
  const s = samples.get(config.label);
  const native = median(s.native);
  const wasm = median(s.wasm);
  let line = `${pad(config.label, 52)}| ${num(native)}         | ${num(wasm)}       | ${(wasm / native).toFixed(2)}`;
  if (config.session) {
    line += `   (native ${((100 * native) / quantumUs).toFixed(1)} %, wasm ${((100 * wasm) / quantumUs).toFixed(1)} % of the quantum)`;
  }
  console.log(line);
}
