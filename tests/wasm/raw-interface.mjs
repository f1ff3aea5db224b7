// Tests the wasm build's raw numeric interface in Node (run by scripts/test-wasm.sh, after
// scripts/build-wasm.sh and a build of the CLI):
// 1. parity: a known stereo signal through chains in wasm equals `corelogic-dsp process --chain` (native, float
//    WAV out) within 1e-6 absolute (the signal peaks at 0.9); every one of the 19 effects at non-default
//    settings and one mixed chain; it reports how many outputs are bit-identical;
// 2. bad indices and values give negative error codes and readable messages, never a trap, and the instance
//    keeps working afterwards;
// 3. `analyze`'s peak and true peak equal `corelogic-dsp analyze --json`'s bit for bit (the true-peak filter has
//    a WebAssembly SIMD path and the CLI an AVX2 or scalar one: the same sums in the same order), on a signal
//    whose inter-sample peaks lie between samples.
// Usage: node tests/wasm/raw-interface.mjs PATH/TO/corelogic-dsp
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import {
  loadWasm, listing, createChain, appendChainJson, lastError, views, instantiateWithoutGlue, EXTERNREF_BASE,
} from '../../benches/wasm/corelogic-wasm.mjs';
import { writeFloatWav } from '../common/wav.mjs';

const cli = process.argv[2];
if (!cli) throw new Error('usage: node tests/wasm/raw-interface.mjs PATH/TO/corelogic-dsp');
const SAMPLE_RATE_HZ = 48000;
const FRAMES = 24000; // 0.5 s
const TOLERANCE = 1e-6;

// ---- WAV (32-bit float, stereo) ----
function readFloatWav(path) {
  const b = readFileSync(path);
  assert.equal(b.toString('ascii', 0, 4), 'RIFF');
  let at = 12;
  let format = null;
  while (at + 8 <= b.length) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      format = { tag: b.readUInt16LE(at + 8), channels: b.readUInt16LE(at + 10), bits: b.readUInt16LE(at + 22) };
      if (format.tag === 0xfffe) format.tag = b.readUInt16LE(at + 32); // WAVE_FORMAT_EXTENSIBLE sub-format
    } else if (id === 'data') {
      assert.deepEqual([format.tag, format.channels, format.bits], [3, 2, 32], `${path}: not stereo float32`);
      const frames = size / 8;
      const left = new Float32Array(frames);
      const right = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        left[i] = b.readFloatLE(at + 8 + i * 8);
        right[i] = b.readFloatLE(at + 12 + i * 8);
      }
      return { left, right };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

// ---- the known signal: a decaying 220 Hz tone left, 3 kHz right, xorshift32 noise, clicks and a silent gap ----
function testSignal() {
  const left = new Float32Array(FRAMES);
  const right = new Float32Array(FRAMES);
  let x = 0x12345678;
  const noise = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return (x >>> 8) / 16777216 - 0.5;
  };
  for (let i = 0; i < FRAMES; i++) {
    const t = i / SAMPLE_RATE_HZ;
    const silent = i >= 12000 && i < 15000; // lets effects fall asleep and wake (off the 128 grid)
    const envelope = silent ? 0 : Math.exp(-3 * t);
    left[i] = 0.6 * envelope * Math.sin(2 * Math.PI * 220 * t) + (silent ? 0 : 0.2 * noise());
    right[i] = 0.6 * envelope * Math.sin(2 * Math.PI * 3000 * t) + (silent ? 0 : 0.2 * noise());
    if (i % 5000 === 7) left[i] = right[i] = 0.9;
  }
  return { left, right };
}

/** Non-default settings for each effect: every numeric parameter moved to 30 % of its range where allowed. */
function nonDefaultChain(effect) {
  const parameters = {};
  for (const p of effect.parameters) {
    if (p.changesLatency || !p.automatable && p.integer) continue; // keep the chain's latency at its default
    if (p.values) continue;
    let value = p.min + 0.3 * (p.max - p.min);
    if (p.integer) value = Math.round(value);
    if (value !== p.default) parameters[p.name] = value;
  }
  return [{ effect: effect.id, parameters }];
}

function runCli(dir, name, chain, input) {
  const inPath = join(dir, `${name}.in.wav`);
  const outPath = join(dir, `${name}.out.wav`);
  const chainPath = join(dir, `${name}.chain.json`);
  writeFloatWav(inPath, [input.left, input.right], SAMPLE_RATE_HZ);
  writeFileSync(chainPath, JSON.stringify(chain));
  execFileSync(cli, ['process', inPath, outPath, '--chain', chainPath, '--bit-depth', '32'], { stdio: 'pipe' });
  return readFloatWav(outPath);
}

/** Runs the chain in wasm in blocks of the given sizes (cycled), as a worklet would. */
function runWasm(w, chainJson, input, blockSizes) {
  const capacity = Math.max(...blockSizes);
  const { id } = createChain(w, SAMPLE_RATE_HZ, capacity);
  appendChainJson(w, id, chainJson);
  const { left, right } = views(w, id);
  const out = { left: new Float32Array(FRAMES), right: new Float32Array(FRAMES) };
  for (let at = 0, b = 0; at < FRAMES; b++) {
    const n = Math.min(blockSizes[b % blockSizes.length], FRAMES - at);
    left.set(input.left.subarray(at, at + n));
    right.set(input.right.subarray(at, at + n));
    assert.equal(w.chain_process(id, n), 0);
    out.left.set(left.subarray(0, n), at);
    out.right.set(right.subarray(0, n), at);
    at += n;
  }
  assert.equal(w.chain_free(id), 0);
  return out;
}

function maxDifference(a, b) {
  assert.equal(a.left.length, b.left.length);
  let max = 0;
  for (const ch of ['left', 'right']) {
    for (let i = 0; i < a[ch].length; i++) max = Math.max(max, Math.abs(a[ch][i] - b[ch][i]));
  }
  return max;
}

function testParity(w) {
  const dir = mkdtempSync(join(tmpdir(), 'corelogic-wasm-'));
  try {
    const input = testSignal();
    const effects = listing(w);
    assert.equal(effects.length, 19);
    const cases = effects.map((e) => ({ name: e.id, chain: nonDefaultChain(e) }));
    cases.push({
      name: 'mixed',
      chain: [
        { effect: 'parametric-eq', parameters: { b1GainDb: 6, b2GainDb: -6, b4Type: 1, b4FrequencyHz: 3000, b4GainDb: 4 } },
        { effect: 'compressor', parameters: { thresholdDb: -30, ratio: 6, detector: 1 } },
        { effect: 'wave-shaper', parameters: { curve: 4, oversample: 1 }, curve: [-1, -0.6, 0, 0.5, 0.8] },
        { effect: 'ping-pong-delay', preset: 'init', parameters: { mix: 0.4 } },
        { effect: 'plate-reverb', parameters: { mix: 0.3 } },
        { effect: 'limiter', parameters: { ceilingDb: -3 } },
      ],
    });
    let identical = 0;
    for (const { name, chain } of cases) {
      const native = runCli(dir, name, chain, input);
      const wasm = runWasm(w, chain, input, [128, 77, 300, 1, 128]);
      const diff = maxDifference(native, wasm);
      const peak = Math.max(...native.left.map(Math.abs), ...native.right.map(Math.abs));
      assert.ok(peak > 1e-3, `${name}: the native output is silent, the comparison would prove nothing`);
      assert.ok(diff <= TOLERANCE, `${name}: wasm differs from the CLI by ${diff} (peak ${peak})`);
      if (diff === 0) identical++;
      console.log(`  ${name.padEnd(16)} max |wasm - cli| = ${diff.toExponential(2)}  (output peak ${peak.toFixed(3)})`);
    }
    console.log(`parity: ${cases.length} chains within ${TOLERANCE}, ${identical} of them bit-identical`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectError(w, result, code, messageStart) {
  assert.equal(result, code, `expected error code ${code}, got ${result}`);
  const error = lastError(w);
  assert.equal(error.code, code);
  assert.ok(error.message.startsWith(messageStart), `message '${error.message}' should start with '${messageStart}'`);
}

function testErrors(w) {
  const compressor = listing(w).findIndex((e) => e.id === 'compressor');
  expectError(w, w.chain_create(1000, 128), -6, 'sample rate 1000 Hz is not supported');
  expectError(w, w.chain_create(48000, 0), -7, "a chain's capacity is 1 to 65536 frames");
  const { id } = createChain(w, 48000, 128);
  expectError(w, w.chain_append(id, 19), -2, 'no effect with index 19');
  expectError(w, w.chain_append(id + 1000, 0), -1, `no chain ${id + 1000}`);
  assert.equal(w.chain_append(id, compressor), 0);
  expectError(w, w.chain_set_param(id, 3, 0, -10, 0, 0), -3, `chain ${id} has no insert 3`);
  expectError(w, w.chain_set_param(id, 0, 42, -10, 0, 0), -4, "effect 'compressor' has no parameter with index 42");
  expectError(w, w.chain_set_param(id, 0, 0, 12, 0, 0), -5, "parameter index 0: effect 'compressor': parameter 'thresholdDb' = 12 is out of range");
  expectError(w, w.chain_set_param(id, 0, 0, NaN, 0, 0), -5, "parameter index 0: effect 'compressor': parameter 'thresholdDb' = NaN is not a finite number");
  expectError(w, w.chain_set_param(id, 0, 0, -10, -5, 0), -10, 'frame stamp -5 is not a whole number');
  expectError(w, w.chain_set_param(id, 0, 0, -10, 0, 7), -14, 'change source 7 is neither 0');
  expectError(w, w.chain_set_tempo(id, -120, 0), -11, 'tempo -120 BPM');
  expectError(w, w.chain_process(id, 129), -8, 'cannot process 129 frames');
  assert.equal(w.chain_left_ptr(id + 1000), 0);
  assert.ok(Number.isNaN(w.chain_gain_reduction_db(id, 9)));
  expectError(w, -3, -3, `chain ${id} has no insert 9`);
  assert.throws(() => appendChainJson(w, id, '[{"effect": "compressor", "parameters": {"ratio": 0}}]'),
    /chain JSON: chain\[0\]\.parameters\.ratio: effect 'compressor': parameter 'ratio' = 0 is out of range/);
  assert.throws(() => appendChainJson(w, id, '[{"effect": "compresor"}]'), /chain\[0\]\.effect: unknown effect 'compresor'/);
  assert.throws(() => appendChainJson(w, id, '{oops'), /malformed JSON/);
  assert.equal(w.chain_insert_count(id), 1, 'failed appends add nothing');
  // The instance still works: a valid change and a block go through, and the compressor reduces gain.
  assert.equal(w.chain_set_param(id, 0, 0, -40, 0, 1), 0);
  const { left, right } = views(w, id);
  for (let q = 0; q < 40; q++) {
    left.fill(0.5);
    right.fill(0.5);
    assert.equal(w.chain_process(id, 128), 0);
  }
  assert.ok(w.chain_gain_reduction_db(id, 0) < -10, `gain reduction ${w.chain_gain_reduction_db(id, 0)} dB`);
  assert.equal(w.chain_frame(id), 40 * 128);
  assert.equal(w.chain_free(id), 0);
  expectError(w, w.chain_process(id, 1), -1, `no chain ${id}`);
  console.log('errors: every bad index and value gave its code and message, no trap');
}

/** The AudioWorklet's way in: no glue, no TextDecoder/TextEncoder in scope. The same chain, changes and blocks
 * give the same output as through the glue, bit for bit, and errors still read as text. */
function testWithoutGlue(glued) {
  const glue = readFileSync(new URL('../../target/wasm/corelogic_dsp.js', import.meta.url), 'utf8');
  assert.ok(glue.includes(`table.set(${EXTERNREF_BASE}, undefined);`),
    `the glue's externref table layout changed: update EXTERNREF_BASE (${EXTERNREF_BASE})`);
  const saved = { TextDecoder: globalThis.TextDecoder, TextEncoder: globalThis.TextEncoder };
  delete globalThis.TextDecoder;
  delete globalThis.TextEncoder;
  try {
    const bytes = readFileSync(new URL('../../target/wasm/corelogic_dsp_bg.wasm', import.meta.url));
    const raw = instantiateWithoutGlue(new WebAssembly.Module(bytes));
    const run = (w) => {
      const { id } = createChain(w, 44100, 128);
      appendChainJson(w, id, [{ effect: 'saturation' }, { effect: 'room-reverb', parameters: { mix: 0.5 } }]);
      const input = testSignal();
      const { left, right } = views(w, id);
      const out = new Float32Array(4096);
      for (let q = 0; q < 32; q++) {
        if (q === 10) assert.equal(w.chain_set_param(id, 0, 0, 12, q * 128 + 5, 1), 0);
        if (q === 20) assert.equal(w.chain_set_enabled(id, 1, false, q * 128 + 64), 0);
        left.set(input.left.subarray(q * 128, q * 128 + 128));
        right.set(input.right.subarray(q * 128, q * 128 + 128));
        assert.equal(w.chain_process(id, 128), 0);
        out.set(left, q * 128);
      }
      assert.equal(w.chain_free(id), 0);
      return out;
    };
    const viaRaw = run(raw);
    assert.deepEqual(viaRaw, run(glued));
    assert.ok(viaRaw.some((x) => x !== 0));
    expectError(raw, raw.chain_append(99, 0), -1, 'no chain 99');
    assert.equal(listing(raw).length, 19);
    console.log('without glue (no TextDecoder/TextEncoder): same output bit for bit, errors readable');
  } finally {
    Object.assign(globalThis, saved);
  }
}

/** Writes `channels` at `analysis_samples_ptr` and returns `analyze`'s JSON. */
function analyzeInWasm(w, channels) {
  const frames = channels[0].length;
  const ptr = w.analysis_samples_ptr(channels.length, frames) >>> 0;
  assert.notEqual(ptr, 0, 'analysis_samples_ptr failed');
  const heap = new Float32Array(w.memory.buffer, ptr, channels.length * frames);
  channels.forEach((channel, c) => heap.set(channel, c * frames));
  const len = w.analyze(SAMPLE_RATE_HZ, channels.length, frames);
  assert.ok(len > 0, `analyze failed: ${len}`);
  return JSON.parse(new TextDecoder().decode(new Uint8Array(w.memory.buffer, w.result_json_ptr() >>> 0, len)));
}

function testTruePeak(w) {
  const dir = mkdtempSync(join(tmpdir(), 'corelogic-wasm-'));
  try {
    // 2 s: a sine at fs/4 with its samples at 45 degrees (the true peak is sqrt(2) times the sample peak),
    // growing, with noise; the right channel louder and odd-length bursts so the 8-output SIMD blocks and
    // the scalar remainder both see the largest output somewhere.
    const frames = 2 * SAMPLE_RATE_HZ + 5;
    const left = new Float32Array(frames);
    const right = new Float32Array(frames);
    let x = 0x2468ace1;
    for (let i = 0; i < frames; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      const noise = (x / 2 ** 32 - 0.5) * 0.02;
      left[i] = 0.5 * (i / frames) * Math.sin((Math.PI / 2) * i + Math.PI / 4) + noise;
      right[i] = (i % 997 < 13 ? 0.7 : 0.2) * Math.sin(0.3 * i) + noise;
    }
    const wav = join(dir, 'peaks.wav');
    writeFloatWav(wav, [left, right], SAMPLE_RATE_HZ);
    const native = JSON.parse(execFileSync(cli, ['analyze', wav, '--json'], { encoding: 'utf8' }));
    const wasm = analyzeInWasm(w, [left, right]);
    assert.ok(native.truePeakDb > native.peakDb + 0.5, `the true peak ${native.truePeakDb} should exceed the sample peak ${native.peakDb}`);
    assert.equal(wasm.peakDb, native.peakDb, 'sample peak');
    assert.equal(wasm.truePeakDb, native.truePeakDb, 'true peak: wasm and the CLI should agree bit for bit');
    console.log(`true peak: wasm ${wasm.truePeakDb} dBTP equals the CLI's (sample peak ${wasm.peakDb} dBFS)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const w = await loadWasm();
testParity(w);
testErrors(w);
testWithoutGlue(w);
testTruePeak(w);
console.log('wasm raw interface: ok');
