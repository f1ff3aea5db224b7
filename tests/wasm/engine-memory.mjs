// Tests, in Node, how the wasm engine prepares memory for inserts added while playing (docs/wasm.md, "Adding
// inserts while playing"): large effect buffers come from memory zeroed ahead, without growing the memory,
// and what they hold is exactly zero:
// 1. after a delay has run loud and been removed (its memory back in the heap, full of old samples), adding
//    delays and a reverb while playing serves their buffers from zeroed blocks, grows no memory, and silence in
//    gives exact silence out;
// 2. a ping-pong delay added while playing and an impulse played after the fade give the same output, bit for
//    bit, as the same delay present from the start (no stale sample in its lines);
// 3. the blocks taken are zeroed again over the following quanta, so a second round is served too.
// Usage: node tests/wasm/engine-memory.mjs (after scripts/build-wasm.sh)
import assert from 'node:assert/strict';
import { loadWasm, createEngine, applyEngineCommand, engineViews } from '../../benches/wasm/corelogic-wasm.mjs';

const RATE_HZ = 192000;
const QUANTUM = 128;
const w = await loadWasm();

const project = (inserts = []) => ({ tracks: [{ id: 't', type: 'audio', inserts }] });
const add = (engine, effect, parameters = {}) =>
  applyEngineCommand(w, engine, { command: 'addInsert', strip: 't', at: 0, insert: { id: effect, effect, parameters } });

/** Plays `quanta` quanta with `input(q, left, right)` filling the track's input; returns the master's left. */
function play(engine, quanta, input) {
  const out = new Float32Array(quanta * QUANTUM);
  for (let q = 0; q < quanta; q++) {
    const v = engineViews(w, engine, QUANTUM);
    v.kinds[0] = 2;
    input(q, v.inputs.subarray(0, QUANTUM), v.inputs.subarray(QUANTUM, 2 * QUANTUM));
    assert.equal(w.engine_render(engine, QUANTUM), 0);
    assert.equal(w.engine_maintain(engine), 0);
    out.set(engineViews(w, engine, QUANTUM).left, q * QUANTUM);
  }
  return out;
}

let seed = 12345;
const noise = (q, l, r) => {
  for (let i = 0; i < QUANTUM; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    l[i] = r[i] = (seed / 2 ** 32 - 0.5) * 1.8;
  }
};
const silence = (q, l, r) => {
  l.fill(0);
  r.fill(0);
};

// 1. Dirty the heap, then add while playing.
const engine = createEngine(w, RATE_HZ, QUANTUM, project());
add(engine, 'ping-pong-delay', { feedback: 0.9, mix: 1 });
add(engine, 'simple-delay', { feedback: 0.9, mix: 1 });
play(engine, 400, noise);
applyEngineCommand(w, engine, { command: 'removeInsert', strip: 't', insert: 0 });
applyEngineCommand(w, engine, { command: 'removeInsert', strip: 't', insert: 0 });
play(engine, 400, silence); // the tails fade out, the removed effects are freed, taken blocks are zeroed again
const bytesBefore = w.memory.buffer.byteLength;
const servedBefore = w.heap_zeroed_blocks(0);
for (const effect of ['ping-pong-delay', 'simple-delay', 'hall-reverb']) add(engine, effect, { mix: 1 });
const served = w.heap_zeroed_blocks(0) - servedBefore;
assert.ok(served >= 3, `the three effects' large buffers came from zeroed blocks (served ${served})`);
assert.equal(w.memory.buffer.byteLength, bytesBefore, 'adding the inserts grew no memory');
const quiet = play(engine, 200, silence);
assert.ok(quiet.every((x) => x === 0), 'silence in, exact silence out: no stale samples in the new buffers');
console.log(`1. ${served} buffers served from zeroed blocks, memory unchanged, silence exact`);

// 2. Added while playing == present from the start, after an impulse.
const impulse = (at) => (q, l, r) => {
  silence(q, l, r);
  if (q === at) l[0] = r[0] = 1;
};
const parameters = { feedback: 0.7, mix: 0.5, timeMs: 3 };
const fromStart = createEngine(w, RATE_HZ, QUANTUM, project([{ id: 'pp', effect: 'ping-pong-delay', parameters }]));
const expected = play(fromStart, 300, impulse(100));
const later = createEngine(w, RATE_HZ, QUANTUM, project());
play(later, 50, noise); // the track sounds before the insert arrives
play(later, 10, silence);
add(later, 'ping-pong-delay', parameters);
const got = play(later, 300, impulse(100));
// Both heard only silence before the impulse (the track input is silent there), so from it on they agree.
assert.deepEqual(got.subarray(100 * QUANTUM), expected.subarray(100 * QUANTUM));
assert.ok(got.subarray(100 * QUANTUM).some((x) => x !== 0));
console.log('2. a delay added while playing echoes an impulse bit for bit as one there from the start');

// 3. A second round is served too.
play(engine, 600, silence);
const second = w.heap_zeroed_blocks(0);
add(engine, 'hall-reverb', { mix: 1 });
assert.ok(w.heap_zeroed_blocks(0) > second, 'the blocks were zeroed again between quanta');
console.log('3. replacement blocks zeroed between quanta and served again');
for (const rate of [48000, 192000]) {
  const e = createEngine(w, rate, QUANTUM, project());
  console.log(`   held ready at ${rate / 1000} kHz: ${(w.heap_zeroed_blocks(2) / 2 ** 20).toFixed(1)} MiB`);
  assert.equal(w.engine_free(e), 0);
}
for (const e of [engine, fromStart, later]) assert.equal(w.engine_free(e), 0);
console.log('wasm engine memory: ok');
