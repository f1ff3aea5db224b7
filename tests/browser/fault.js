// The browser half of tests/browser/fault.mjs: the package built with test hooks (`scripts/build-package.sh
// --test-hooks`, served as /pkg/) whose worklet accepts `{type: 'test-trap', insert}`: the wasm export
// `test_trap_arm` makes that insert's next run execute `unreachable`, a real trap of the context's shared
// instance. Two chain nodes on one context; node A traps.
import * as CL from '/pkg/index.js';

const RATE_HZ = 48000;
const QUANTUM = 128;
export const CHAIN_A = [{ effect: 'parametric-eq' }, { effect: 'compressor' }];
export const CHAIN_B = [{ effect: 'simple-delay' }, { effect: 'limiter' }];
/** Set by message (automation, frame 0) before the trap; the rebuilt chains must have them again. */
const PARAMS_A = [[0, 'b2GainDb', 6], [1, 'thresholdDb', -30], [1, 'ratio', 8]];
const PARAMS_B = [[0, 'mix', 0.5], [1, 'ceilingDb', -6]];
const TRAP_INSERT = 1;

/** The chain with the parameters written into it: what the rebuilt chain must equal. */
function baked(chain, params) {
  const out = structuredClone(chain);
  for (const [insert, name, value] of params) (out[insert].parameters ??= {})[name] = value;
  return out;
}

/** Tones, noise and clicks, different per channel (xorshift32 noise: reproducible). */
function signal(frames) {
  let x = 0x13579bdf;
  const noise = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 8) / 16777216 - 0.5;
  };
  const buffer = new AudioBuffer({ numberOfChannels: 2, length: frames, sampleRate: RATE_HZ });
  const [l, r] = [buffer.getChannelData(0), buffer.getChannelData(1)];
  for (let i = 0; i < frames; i++) {
    const t = i / RATE_HZ;
    l[i] = 0.5 * Math.sin(2 * Math.PI * 330 * t) + 0.2 * noise();
    r[i] = 0.5 * Math.sin(2 * Math.PI * 2500 * t) + 0.2 * noise() + (i % 7000 === 3 ? 0.4 : 0);
  }
  return buffer;
}

function sliceFrom(buffer, from) {
  const out = new AudioBuffer({ numberOfChannels: 2, length: buffer.length - from, sampleRate: RATE_HZ });
  for (let c = 0; c < 2; c++) out.copyToChannel(buffer.getChannelData(c).subarray(from), c);
  return out;
}

/** max |got[from + i] - want[wantFrom + i]| over both channels, for `count` frames. */
function diff(got, from, want, wantFrom, count) {
  let worst = 0;
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(got[c][from + i] - want.getChannelData(c)[wantFrom + i]));
  }
  return worst;
}

function eventOf(on, e) {
  return { on, isCoreLogicError: e instanceof CL.CoreLogicError, code: e.code, path: e.path, message: e.message };
}

const tests = {
  /** An OfflineAudioContext with nodes A and B side by side (A to channels 0-1, B to 2-3); A traps at
   * `trapFrame`. Returns the measured differences against fresh chains and the error events. */
  async offline(trapFrame) {
    const core = await CL.loadCoreLogic();
    const frames = RATE_HZ;
    const input = signal(frames);
    const context = new OfflineAudioContext({ numberOfChannels: 4, length: frames, sampleRate: RATE_HZ });
    context.destination.channelInterpretation = 'discrete';
    const events = [];
    const a = await core.createEffectChain(context, CHAIN_A, { name: 'A' });
    const b = await core.createEffectChain(context, CHAIN_B, { name: 'B' });
    a.onerror = (e) => events.push(eventOf('A', e));
    b.onerror = (e) => events.push(eventOf('B', e));
    for (const [insert, name, value] of PARAMS_A) a.setParameter(insert, name, value, { source: 'automation' });
    for (const [insert, name, value] of PARAMS_B) b.setParameter(insert, name, value, { source: 'automation' });
    await Promise.all([a.flush(), b.flush()]);
    const source = new AudioBufferSourceNode(context, { buffer: input });
    const merger = new ChannelMergerNode(context, { numberOfInputs: 4 });
    [a, b].forEach((node, k) => {
      source.connect(node);
      const splitter = new ChannelSplitterNode(context, { numberOfOutputs: 2 });
      node.connect(splitter);
      splitter.connect(merger, 0, 2 * k);
      splitter.connect(merger, 1, 2 * k + 1);
    });
    merger.connect(context.destination);
    context.suspend(trapFrame / RATE_HZ).then(async () => {
      a.port.postMessage({ type: 'test-trap', insert: TRAP_INSERT });
      await a.flush();
      await context.resume();
    });
    source.start(0);
    const rendered = await context.startRendering();
    await new Promise((r) => setTimeout(r, 300)); // the processors' error messages
    const outA = [rendered.getChannelData(0), rendered.getChannelData(1)];
    const outB = [rendered.getChannelData(2), rendered.getChannelData(3)];

    const chainA = baked(CHAIN_A, PARAMS_A);
    const chainB = baked(CHAIN_B, PARAMS_B);
    const refA = await core.renderChain(chainA, input);
    const refB = await core.renderChain(chainB, input);
    const resume = trapFrame + QUANTUM;
    const freshA = await core.renderChain(chainA, sliceFrom(input, resume));
    let silentA = true;
    for (let c = 0; c < 2; c++) for (let i = trapFrame; i < resume; i++) silentA &&= outA[c][i] === 0;
    // B rebuilds on its first block after the trap: the trapping block itself if it ran after A in it.
    const candidates = [];
    for (const rebuilt of [trapFrame, resume]) {
      const fresh = await core.renderChain(chainB, sliceFrom(input, rebuilt));
      candidates.push({
        rebuilt,
        before: diff(outB, 0, refB, 0, rebuilt),
        after: diff(outB, rebuilt, fresh, 0, frames - rebuilt),
      });
    }
    // Without the rebuild (no trap), A's output after it would have continued as refA: it must differ there,
    // or the comparison with a fresh chain proves nothing.
    return {
      beforeA: diff(outA, 0, refA, 0, trapFrame),
      silentA,
      afterA: diff(outA, resume, freshA, 0, frames - resume),
      afterAVersusUninterrupted: diff(outA, resume, refA, resume, frames - resume),
      b: candidates,
      events,
      trapFrame,
    };
  },

  /** A running AudioContext with nodes A and B (meters on), an oscillator into both; A traps. Both keep
   * metering output afterwards, a parameter change on A still works, and the page's timers keep firing. */
  async realtime() {
    const core = await CL.loadCoreLogic();
    const context = new AudioContext({ sampleRate: RATE_HZ });
    await context.resume();
    const events = [];
    const meters = { A: [], B: [] };
    const a = await core.createEffectChain(context, CHAIN_A, { name: 'A', meters: true });
    const b = await core.createEffectChain(context, CHAIN_B, { name: 'B', meters: true });
    a.onerror = (e) => events.push({ ...eventOf('A', e), at: performance.now() });
    b.onerror = (e) => events.push({ ...eventOf('B', e), at: performance.now() });
    a.onmeters = (m) => meters.A.push({ peak: m.peak, at: performance.now() });
    b.onmeters = (m) => meters.B.push({ peak: m.peak, at: performance.now() });
    for (const [insert, name, value] of PARAMS_A) a.setParameter(insert, name, value);
    for (const [insert, name, value] of PARAMS_B) b.setParameter(insert, name, value);
    const oscillator = new OscillatorNode(context, { frequency: 440 });
    const gain = new GainNode(context, { gain: 0.3 });
    oscillator.connect(gain);
    gain.connect(a).connect(context.destination);
    gain.connect(b).connect(context.destination);
    oscillator.start();
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await sleep(300);
    const trappedAt = performance.now();
    a.port.postMessage({ type: 'test-trap', insert: TRAP_INSERT });
    await sleep(400);
    const peakAfter = (node, from, to) => Math.max(0, ...meters[node].filter((m) => m.at > from && m.at <= to).map((m) => m.peak));
    const recovered = { A: peakAfter('A', trappedAt + 100, performance.now()), B: peakAfter('B', trappedAt + 100, performance.now()) };
    const changedAt = performance.now();
    a.setParameter(1, 'makeupDb', -12);
    await sleep(300);
    const afterChange = peakAfter('A', changedAt + 100, performance.now());
    clearInterval(timer);
    const ticksDuring = ticks;
    oscillator.stop();
    await context.close();
    return { events, recovered, afterChange, ticks: ticksDuring, metersA: meters.A.length, metersB: meters.B.length };
  },
};

window.tests = tests;
window.ready = true;
