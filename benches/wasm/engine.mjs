// The mixing engine as wasm in Node (run by hand, not in CI; figures go in the closing note):
// 1. the 128-track, 16-bus session (benches/engine.rs's, printed by examples/engine_session.rs) at 48 kHz in
//    128-frame quanta, every track playing uncorrelated noise: the median and 99th-percentile quantum as a share
//    of the quantum's 2.667 ms (goal: at most 50 %);
// 2. the cost of adding 16 inserts (a ping-pong-delay among them) while that session plays: each quantum timed
//    with the command applied before it (on the audio thread, as in the worklet), over 10 runs; the 99.9th
//    percentile minus the median, as a share of the quantum (goal: at most a quarter); the same for a 192 kHz
//    session of 16 tracks and 2 buses. The inserts added make the session heavier to run, which that difference
//    also counts; so two more figures split it: the 99.9th percentile of each quantum's excess over the median
//    of the 16 quanta around it (what a change costs in the quantum it lands in), and the median quantum before
//    the first and after the last insert was added.
//
//   bash scripts/build-wasm.sh
//   cargo build --release --example engine_session
//   node benches/wasm/engine.mjs [--runs 10]
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadWasm, createEngine, applyEngineCommand, engineViews } from './corelogic-wasm.mjs';

const QUANTUM = 128;
const NOISE_FRAMES = 16 * QUANTUM;
const root = new URL('../../', import.meta.url);
const sessionBinary = fileURLToPath(new URL('target/release/examples/engine_session', root));
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

const session = (...args) => execFileSync(sessionBinary, args.map(String), { encoding: 'utf8' });

/** xorshift32 noise in [-0.5, 0.5), one table per track and channel. */
function noiseTables(count, seed) {
  let x = (0x9e3779b9 ^ seed) >>> 0;
  const next = () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return (x >>> 8) / 16777216 - 0.5;
  };
  return Array.from({ length: count }, () => new Float32Array(NOISE_FRAMES).map(next));
}

function percentile(times, p) {
  const sorted = Float64Array.from(times).sort();
  return sorted[Math.round((sorted.length - 1) * p)];
}

/** Each track's noise for each of the 16 quantum positions, as views made once: the loop below makes no
 * garbage (a collection in Node would land in some quantum's time and in the 99.9th percentile). */
function noiseViews(noise) {
  return Array.from({ length: 16 }, (_, k) => noise.map((table) => table.subarray(k * QUANTUM, (k + 1) * QUANTUM)));
}

/** Plays `quanta` quanta; `before(q)` runs ahead of quantum q inside its timing. Returns microseconds per
 * quantum (`performance.now()`, which makes no garbage, unlike `process.hrtime.bigint()`). */
function play(w, engine, tracks, views, quanta, before = () => {}) {
  let v = engineViews(w, engine, QUANTUM);
  v.kinds.fill(2);
  const times = new Float64Array(quanta);
  for (let q = 0; q < quanta; q++) {
    if (v.inputs.buffer !== w.memory.buffer || v.inputs.byteLength === 0) v = engineViews(w, engine, QUANTUM);
    const at = views[q % 16];
    for (let t = 0; t < tracks; t++) {
      v.inputs.set(at[2 * t], 2 * t * QUANTUM);
      v.inputs.set(at[2 * t + 1], (2 * t + 1) * QUANTUM);
    }
    const start = performance.now();
    before(q);
    if (w.engine_render(engine, QUANTUM) !== 0) throw new Error('engine_render failed');
    w.engine_maintain(engine);
    times[q] = (performance.now() - start) * 1e3;
  }
  return times;
}

const w = await loadWasm();

// 1. The large session.
const quantumUs = (QUANTUM / 48000) * 1e6;
const big = session(128, 16);
const noise = noiseViews(noiseTables(2 * 128, 1));
{
  const engine = createEngine(w, 48000, QUANTUM, big);
  play(w, engine, 128, noise, 200);
  const times = play(w, engine, 128, noise, 3000);
  const median = percentile(times, 0.5);
  const p99 = percentile(times, 0.99);
  console.log(
    `128 tracks + 16 buses as wasm: median ${median.toFixed(0)} us (${((100 * median) / quantumUs).toFixed(1)} % ` +
      `of the ${quantumUs.toFixed(0)} us quantum), 99th percentile ${p99.toFixed(0)} us (${((100 * p99) / quantumUs).toFixed(1)} %)`,
  );
  w.engine_free(engine);
}

// 2. Adding 16 inserts while playing.
const added = JSON.parse(session('added'));
function addingCost(label, project, tracks, sampleRateHz) {
  const all = [];
  const excess = [];
  const before = [];
  const after = [];
  let worstAdd = 0;
  const quantumUsHere = (QUANTUM / sampleRateHz) * 1e6;
  for (let run = 0; run < runs; run++) {
    const engine = createEngine(w, sampleRateHz, QUANTUM, project);
    play(w, engine, tracks, noise, 100);
    // One insert every 8 quanta from quantum 40; 300 quanta in all.
    const times = play(w, engine, tracks, noise, 300, (q) => {
      const k = (q - 40) / 8;
      if (q >= 40 && Number.isInteger(k) && k < added.length) {
        const command = { ...added[k], strip: `t${k % tracks}` };
        const start = performance.now();
        applyEngineCommand(w, engine, command);
        worstAdd = Math.max(worstAdd, (performance.now() - start) * 1e3);
      }
    });
    all.push(...times);
    for (let q = 8; q < times.length - 8; q++) {
      const around = [...times.subarray(q - 8, q), ...times.subarray(q + 1, q + 9)];
      excess.push(times[q] - percentile(around, 0.5));
    }
    before.push(...times.subarray(0, 40));
    after.push(...times.subarray(40 + 8 * added.length));
    w.engine_free(engine);
  }
  const median = percentile(all, 0.5);
  const p999 = percentile(all, 0.999);
  console.log(
    `${label}: adding 16 inserts while playing, over ${runs} runs: median quantum ${median.toFixed(0)} us, ` +
      `99.9th percentile ${p999.toFixed(0)} us; the difference is ${(p999 - median).toFixed(0)} us = ` +
      `${((100 * (p999 - median)) / quantumUsHere).toFixed(1)} % of the ${quantumUsHere.toFixed(0)} us quantum ` +
      `(goal at most 25 %); slowest single command ${worstAdd.toFixed(0)} us`,
  );
  const spike = percentile(excess, 0.999);
  console.log(
    `  of which the change itself: 99.9th percentile of a quantum's excess over its 16 neighbours' median ` +
      `${spike.toFixed(0)} us = ${((100 * spike) / quantumUsHere).toFixed(1)} % of the quantum; the session's ` +
      `median quantum ${percentile(before, 0.5).toFixed(0)} us before the inserts, ` +
      `${percentile(after, 0.5).toFixed(0)} us after`,
  );
}
addingCost('128 tracks + 16 buses at 48 kHz', big, 128, 48000);
addingCost('16 tracks + 2 buses at 192 kHz', session(16, 2), 16, 192000);
