// Drives the AudioWorkletProcessor (worklet/processor.ts, compiled to target/worklet/processor.js) in Node with
// a minimal AudioWorkletGlobalScope (sampleRate, currentFrame, registerProcessor, AudioWorkletProcessor with a
// port; no TextDecoder/TextEncoder). Run with `node --expose-gc --max-semi-space-size=1 tests/wasm/worklet.mjs` by scripts/test-wasm.sh.
// Checks: the output equals the same chain run through the glued module bit for bit; a parameter message with
// a context time lands at that frame; `process()` allocates nothing (heap after 10^5 calls); the processor is
// registered once when the module is evaluated twice; bad messages come back as error messages; a trap is
// recovered from.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { loadWasm, createChain, appendChainJson, views, utf8Encode } from '../../benches/wasm/corelogic-wasm.mjs';

const SAMPLE_RATE_HZ = 48000;
const QUANTUM = 128;
const glued = await loadWasm(); // before the codecs go, as the main thread would have them
const wasmModule = new WebAssembly.Module(readFileSync(new URL('../../target/wasm/corelogic_dsp_bg.wasm', import.meta.url)));
delete globalThis.TextDecoder;
delete globalThis.TextEncoder;

// ---- a minimal AudioWorkletGlobalScope ----
const registered = [];
let frameNow = 0;
globalThis.sampleRate = SAMPLE_RATE_HZ;
Object.defineProperty(globalThis, 'currentFrame', { get: () => frameNow });
globalThis.registerProcessor = (name, ctor) => registered.push({ name, ctor });
globalThis.AudioWorkletProcessor = class {
  constructor() {
    const posted = [];
    this.port = { posted, onmessage: null, postMessage: (m) => posted.push(m) };
  }
};
await import(new URL('../../target/worklet/processor.js', import.meta.url));
await import(new URL('../../target/worklet/processor.js?second-copy', import.meta.url));
assert.equal(registered.length, 1, 'registered once although evaluated twice');
const Processor = registered[0].ctor;
assert.equal(registered[0].name, 'corelogic-effect-chain');

const chainJson = [
  { effect: 'parametric-eq', parameters: { b2GainDb: 6, b3GainDb: -6 } },
  { effect: 'compressor', parameters: { thresholdDb: -30 } },
  { effect: 'ping-pong-delay', parameters: { mix: 0.3 } },
];
function noise(seed, n) {
  let x = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return (x >>> 8) / 16777216 - 0.5;
  });
}
const QUANTA = 200;
const inL = noise(1, QUANTA * QUANTUM);
const inR = noise(2, QUANTA * QUANTUM);
const THRESHOLD_PARAM = 0; // compressor's thresholdDb, index 0 of its frozen table
const CHANGE_FRAME = 100 * QUANTUM + 37; // in context frames; the node starts at context frame 512

// The processor: starts at context frame 512, gets an automation message stamped with a context time.
frameNow = 512;
const node = new Processor({ processorOptions: { module: wasmModule, chainJson: utf8Encode(JSON.stringify(chainJson)) } });
assert.deepEqual(node.port.posted.shift(), { type: 'ready', inserts: 3, latency: 0 });
node.port.onmessage({ data: { type: 'param', insert: 1, param: THRESHOLD_PARAM, value: -10, time: (512 + CHANGE_FRAME) / SAMPLE_RATE_HZ, source: 'automation' } });
const outL = new Float32Array(QUANTA * QUANTUM);
const outR = new Float32Array(QUANTA * QUANTUM);
const input = [new Float32Array(QUANTUM), new Float32Array(QUANTUM)];
const output = [new Float32Array(QUANTUM), new Float32Array(QUANTUM)];
for (let q = 0; q < QUANTA; q++) {
  input[0].set(inL.subarray(q * QUANTUM, (q + 1) * QUANTUM));
  input[1].set(inR.subarray(q * QUANTUM, (q + 1) * QUANTUM));
  assert.equal(node.process([input], [output], {}), true);
  outL.set(output[0], q * QUANTUM);
  outR.set(output[1], q * QUANTUM);
  frameNow += QUANTUM;
}
assert.deepEqual(node.port.posted, [], 'no errors');

// The reference: the same chain and change through the glued module's raw interface.
const { id } = createChain(glued, SAMPLE_RATE_HZ, QUANTUM);
appendChainJson(glued, id, chainJson);
assert.equal(glued.chain_set_param(id, 1, THRESHOLD_PARAM, -10, CHANGE_FRAME, 1), 0);
const ref = views(glued, id);
const refL = new Float32Array(QUANTA * QUANTUM);
for (let q = 0; q < QUANTA; q++) {
  ref.left.set(inL.subarray(q * QUANTUM, (q + 1) * QUANTUM));
  ref.right.set(inR.subarray(q * QUANTUM, (q + 1) * QUANTUM));
  glued.chain_process(id, QUANTUM);
  refL.set(ref.left, q * QUANTUM);
}
assert.deepEqual(outL, refL, 'the worklet equals the raw interface bit for bit');
// ... and the change did land at CHANGE_FRAME: one frame later differs from a run without it.
assert.equal(glued.chain_free(id), 0);
const { id: plain } = createChain(glued, SAMPLE_RATE_HZ, QUANTUM);
appendChainJson(glued, plain, chainJson);
const p = views(glued, plain);
const plainL = new Float32Array(QUANTA * QUANTUM);
for (let q = 0; q < QUANTA; q++) {
  p.left.set(inL.subarray(q * QUANTUM, (q + 1) * QUANTUM));
  p.right.set(inR.subarray(q * QUANTUM, (q + 1) * QUANTUM));
  glued.chain_process(plain, QUANTUM);
  plainL.set(p.left, q * QUANTUM);
}
const firstDifference = plainL.findIndex((x, i) => x !== outL[i]);
assert.equal(firstDifference, CHANGE_FRAME, 'the change applies exactly at its frame');
console.log(`worklet: equals the raw interface bit for bit; the timed change landed at frame ${firstDifference}`);

// Bad messages come back as errors naming the problem.
node.port.onmessage({ data: { type: 'param', insert: 7, param: 0, value: 0 } });
const error = node.port.posted.shift();
assert.equal(error.type, 'error');
assert.equal(error.code, -3);
assert.match(error.message, /has no insert 7 \(it has 3 inserts\)/);

// A trap inside process() (simulated: the shared instance's chain_process throws what a trap throws) never
// escapes: that block is silent, an error is posted, and both processors of the context rebuild their chains
// on a fresh instance with the parameters sent so far; the recovered output equals a fresh chain with them.
{
  const other = new Processor({ processorOptions: { module: wasmModule, chainJson: utf8Encode('[{"effect": "low-shelf"}]') } });
  other.port.posted.length = 0;
  const shared = globalThis.__corelogicShared;
  const healthy = shared.exports;
  const generation = shared.generation;
  shared.exports = new Proxy(healthy, {
    get: (target, name) => (name === 'chain_process'
      ? () => { throw new WebAssembly.RuntimeError('unreachable'); }
      : target[name]),
  });
  output[0].fill(1);
  node.process([input], [output], {});
  assert.ok(output[0].every((x) => x === 0) && output[1].every((x) => x === 0), 'the trapped block is silent');
  const trap = node.port.posted.shift();
  assert.equal(trap.type, 'error');
  assert.equal(trap.code, 'trap');
  assert.match(trap.message, /unreachable/);
  assert.equal(shared.generation, generation + 1, 'a fresh instance');
  assert.notEqual(shared.exports, healthy);
  frameNow += QUANTUM;
  // After: both processors run again; the node's output equals a fresh chain with thresholdDb -10.
  const { id: fresh } = createChain(glued, SAMPLE_RATE_HZ, QUANTUM);
  appendChainJson(glued, fresh, chainJson);
  assert.equal(glued.chain_set_param(fresh, 1, THRESHOLD_PARAM, -10, 0, 1), 0);
  const f = views(glued, fresh);
  for (let q = 0; q < 20; q++) {
    input[0].set(inL.subarray(q * QUANTUM, (q + 1) * QUANTUM));
    input[1].set(inR.subarray(q * QUANTUM, (q + 1) * QUANTUM));
    node.process([input], [output], {});
    f.left.set(input[0]);
    f.right.set(input[1]);
    glued.chain_process(fresh, QUANTUM);
    assert.deepEqual(output[0], f.left, `recovered output, quantum ${q}`);
    other.process([input], [output], {});
    assert.ok(output[0].some((x) => x !== 0), 'the other processor runs too');
    frameNow += QUANTUM;
  }
  assert.deepEqual(node.port.posted, []);
  // The other processor's state restarted too: it posts one notice of the same trap, naming the node that
  // trapped (unnamed here) and the insert (none: this simulated trap happens outside the wasm's insert loop).
  assert.deepEqual(other.port.posted, [{ type: 'error', code: 'trap', node: '', insert: null, message: trap.message, rebuilt: '' }]);
  glued.chain_free(fresh);
  console.log('worklet: a trap gave one silent block and an error; both processors recovered with their parameters');
}

// process() allocates nothing: the heap after 10^5 calls is where it was (messages off).
if (typeof gc !== 'function') throw new Error('run with node --expose-gc --max-semi-space-size=1');
const inputs = [input]; // the harness itself must not allocate per call either
const outputs = [output];
const parameters = {};
const run = (n) => {
  for (let i = 0; i < n; i++) {
    node.process(inputs, outputs, parameters);
    frameNow += QUANTUM;
  }
};
run(20000); // let V8 optimise the path first
let collections = 0;
const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
observer.observe({ entryTypes: ['gc'] });
gc();
await new Promise((resolve) => setTimeout(resolve, 50)); // gc entries arrive asynchronously
// V8 may still finish optimising in the background during the first window (a one-off growth of code and
// feedback, seen under load): the smallest growth of three windows is what process() itself allocates.
let grownBytes = Infinity;
for (let window = 0; window < 3 && grownBytes >= 256 * 1024; window++) {
  collections = 0;
  const before = process.memoryUsage().heapUsed;
  run(100000);
  grownBytes = Math.min(grownBytes, process.memoryUsage().heapUsed - before);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
observer.disconnect();
// With a 1 MiB young generation (--max-semi-space-size=1), 10^5 calls allocating even one 48-byte view each
// (4.8 MB) force several collections; a process() that allocates nothing forces none.
assert.equal(collections, 0, `${collections} garbage collections during 10^5 process() calls`);
assert.ok(grownBytes < 256 * 1024, `heap grew by ${grownBytes} bytes over 10^5 process() calls`);
console.log(`worklet: 10^5 process() calls, no garbage collection, heap grew by ${grownBytes} bytes`);
console.log('worklet: ok');
