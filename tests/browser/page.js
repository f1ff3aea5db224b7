// The browser half of tests/browser/run.mjs: loads the built package (/pkg/index.js) and exposes test
// procedures on `window.tests`; each returns measured numbers that run.mjs asserts. Fixtures (WAV files and
// the CLI's outputs) are served under /fixtures.
import * as CL from '/pkg/index.js';

/** Every error any node reported through onerror (a processorerror among them). */
const reported = [];

/** A 32-bit float WAV (mono or stereo) as { sampleRate, channels: Float32Array[] }. */
async function fetchWav(name) {
  const bytes = await (await fetch(`/fixtures/${name}`)).arrayBuffer();
  const view = new DataView(bytes);
  let at = 12;
  let format = null;
  while (at + 8 <= bytes.byteLength) {
    const id = String.fromCharCode(...new Uint8Array(bytes, at, 4));
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      format = { tag: view.getUint16(at + 8, true), channels: view.getUint16(at + 10, true), rate: view.getUint32(at + 12, true) };
      if (format.tag === 0xfffe) format.tag = view.getUint16(at + 32, true);
    } else if (id === 'data') {
      if (format.tag !== 3) throw new Error(`${name}: not float`);
      const frames = size / 4 / format.channels;
      const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < format.channels; c++) channels[c][i] = view.getFloat32(at + 8 + (i * format.channels + c) * 4, true);
      }
      return { sampleRate: format.rate, channels };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${name}: no data chunk`);
}

function toBuffer({ sampleRate, channels }) {
  const buffer = new AudioBuffer({ numberOfChannels: channels.length, length: channels[0].length, sampleRate });
  channels.forEach((c, i) => buffer.copyToChannel(c, i));
  return buffer;
}

function maxDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** The error a call throws or rejects with, as plain data. */
async function errorOf(call) {
  try {
    await call();
  } catch (e) {
    return { isCoreLogicError: e instanceof CL.CoreLogicError, name: e.name, code: e.code, path: e.path, message: e.message };
  }
  return null;
}

const tests = {
  environment() {
    return { crossOriginIsolated: self.crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer };
  },

  /** renderChain of every case on the fixture input against the CLI's output: max |difference| per case. */
  /** How the package got its wasm module (`coreLogic.wasmSource`). */
  /** Loading and one analysis on a page whose policy forbids workers: how each ended ('ok', an error's code and
   * message, or 'hung' after 5 s). */
  async withoutWorkers() {
    const settle = (promise) =>
      Promise.race([
        promise.then(
          () => ({ outcome: 'ok' }),
          (e) => ({ outcome: 'rejected', isCoreLogicError: e instanceof CL.CoreLogicError, code: e.code, message: e.message }),
        ),
        new Promise((resolve) => setTimeout(() => resolve({ outcome: 'hung' }), 5000)),
      ]);
    const load = await settle(CL.loadCoreLogic());
    if (load.outcome !== 'ok') return { load };
    const core = await CL.loadCoreLogic();
    const buffer = new AudioBuffer({ length: 4800, numberOfChannels: 2, sampleRate: 48000 });
    return {
      load,
      validate: await settle(core.validateChain([{ effect: 'compressor' }], 48000)),
      analyze: await settle(core.analyze(buffer)),
      // After the worker's death was seen: no error event will come again, so only the package's memory of it
      // keeps this call from waiting for ever.
      validateAgain: await settle(core.validateChain([{ effect: 'compressor' }], 48000)),
    };
  },

  async wasmSource() {
    return (await CL.loadCoreLogic()).wasmSource;
  },

  async renderChains(cases) {
    const core = await CL.loadCoreLogic();
    const input = toBuffer(await fetchWav('input.wav'));
    const results = [];
    for (const { name, chain } of cases) {
      const rendered = await core.renderChain(chain, input);
      const expected = await fetchWav(`${name}.out.wav`);
      results.push({
        name,
        channels: rendered.numberOfChannels,
        length: rendered.length,
        expectedLength: expected.channels[0].length,
        diff: Math.max(maxDiff(rendered.getChannelData(0), expected.channels[0]), maxDiff(rendered.getChannelData(1), expected.channels[1])),
      });
    }
    return results;
  },

  /** renderChain with a tail and progress, on a mono input (upmixed as the CLI does). */
  async renderMonoWithTail(chain, tail) {
    const core = await CL.loadCoreLogic();
    const progress = [];
    const rendered = await core.renderChain(chain, toBuffer(await fetchWav('mono.wav')), { tail, onProgress: (f) => progress.push(f) });
    const expected = await fetchWav('mono-tail.out.wav');
    return {
      length: rendered.length,
      expectedLength: expected.channels[0].length,
      diff: Math.max(maxDiff(rendered.getChannelData(0), expected.channels[0]), maxDiff(rendered.getChannelData(1), expected.channels[1])),
      progress,
    };
  },

  /** An automation change stamped at a context time in an OfflineAudioContext: the first frame whose output
   * differs from the same render without the change, and the ratio there (the change is an output gain). */
  async automationFrame(changeFrame, gainDb) {
    const core = await CL.loadCoreLogic();
    const input = toBuffer(await fetchWav('input.wav'));
    const render = async (change) => {
      const context = new OfflineAudioContext({ numberOfChannels: 2, length: input.length, sampleRate: input.sampleRate });
      const engine = await CL.createEngine(context); // createEffectChain bound to the context
      const node = await engine.createChain([{ effect: 'parametric-eq', parameters: { b2GainDb: 6 } }]);
      node.onerror = (e) => reported.push(e.message);
      if (change) node.setParameter(0, 'outputGainDb', gainDb, { time: changeFrame / input.sampleRate, source: 'automation' });
      await node.flush(); // messages do not reach the processor while an offline context renders
      const source = new AudioBufferSourceNode(context, { buffer: input });
      source.connect(node).connect(context.destination);
      source.start(0);
      return (await context.startRendering()).getChannelData(0);
    };
    const [plain, changed] = [await render(false), await render(true)];
    let first = -1;
    for (let i = 0; i < plain.length; i++) {
      if (plain[i] !== changed[i]) {
        first = i;
        break;
      }
    }
    // The ratio over the frames after the change where the signal is not tiny.
    let worstRatioError = 0;
    const expectedRatio = Math.pow(10, gainDb / 20);
    for (let i = changeFrame; i < plain.length; i++) {
      if (Math.abs(plain[i]) > 1e-3) worstRatioError = Math.max(worstRatioError, Math.abs(changed[i] / plain[i] - expectedRatio));
    }
    return { first, worstRatioError };
  },

  /** Typed errors: what each bad call throws. */
  async errors() {
    const core = await CL.loadCoreLogic();
    const context = new OfflineAudioContext({ numberOfChannels: 2, length: 128, sampleRate: 48000 });
    const node = await core.createEffectChain(context, [{ effect: 'compressor' }, { effect: 'simple-delay' }]);
    const threeChannels = new AudioBuffer({ numberOfChannels: 3, length: 100, sampleRate: 48000 });
    const mono = new AudioBuffer({ numberOfChannels: 1, length: 100, sampleRate: 48000 });
    return {
      unknownEffect: await errorOf(() => core.createEffectChain(context, [{ effect: 'chorus' }])),
      badChainValue: await errorOf(() => core.createEffectChain(context, [{ effect: 'gate' }, { effect: 'compressor', parameters: { ratio: 100 } }])),
      notAnArray: await errorOf(() => core.createEffectChain(context, { effect: 'gate' })),
      unknownParameter: await errorOf(() => node.setParameter(0, 'ratioo', 2)),
      parameterIndex: await errorOf(() => node.setParameter(1, 99, 2)),
      badValue: await errorOf(() => node.setParameter(0, 'ratio', 100)),
      nanValue: await errorOf(() => node.setParameter(0, 'thresholdDb', NaN)),
      unknownInsert: await errorOf(() => node.setParameter(2, 'ratio', 2)),
      badTime: await errorOf(() => node.setParameter(0, 'ratio', 2, { time: -1 })),
      badSource: await errorOf(() => node.setParameter(0, 'ratio', 2, { source: 'robot' })),
      badTempo: await errorOf(() => node.setTempo(0)),
      badChainChange: await errorOf(() => node.setChain([{ effect: 'limiter', parameters: { ceilingDb: 5 } }])),
      badTail: await errorOf(() => core.renderChain([], mono, { tail: -1 })),
      analyzeThreeChannels: await errorOf(() => core.analyze(threeChannels)),
      analyzeNotABuffer: await errorOf(() => core.analyze(new Float32Array(10))),
      peaksNoBuckets: await errorOf(() => core.peaks(mono, { buckets: 0 })),
      peaksTooMany: await errorOf(() => core.peaks(mono, { buckets: 1 << 20, levels: 8 })),
      validStill: (await core.validateChain([{ effect: 'limiter', parameters: { lookaheadMs: 5 } }], 48000)),
    };
  },

  /** analyze and peaks in the worker on the fixture music, with a timer counting UI-thread ticks meanwhile. */
  async analysis(buckets, levels) {
    const core = await CL.loadCoreLogic();
    const buffer = toBuffer(await fetchWav('music.wav'));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const [analysis, peaks] = await Promise.all([core.analyze(buffer), core.peaks(buffer, { buckets, levels })]);
    const elapsedMs = performance.now() - started;
    clearInterval(timer);
    return { analysis, peaks: JSON.stringify(peaks), ticks, elapsedMs };
  },

  /** A real-time AudioContext: the chain's output recorded at the node (by a test-only recorder processor)
   * from a source started at a known frame, equal to the CLI's; then a user change posted at a known audio
   * clock time and the frame where the output first departs; meters counted against the audio clock. */
  async realtime(chain, change) {
    const core = await CL.loadCoreLogic();
    const input = await fetchWav('input.wav');
    const expected = await fetchWav('realtime.out.wav');
    const context = new AudioContext({ sampleRate: input.sampleRate, latencyHint: 'interactive' });
    await context.resume();
    const recorderSource = `registerProcessor('test-recorder', class extends AudioWorkletProcessor {
      process(inputs) {
        const input = inputs[0];
        if (input.length > 0) this.port.postMessage({ frame: currentFrame, left: input[0].slice(), right: (input[1] ?? input[0]).slice() });
        return true;
      }
    });`;
    await context.audioWorklet.addModule(URL.createObjectURL(new Blob([recorderSource], { type: 'text/javascript' })));
    const recorder = new AudioWorkletNode(context, 'test-recorder', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2] });
    const recorded = new Map();
    recorder.port.onmessage = (e) => recorded.set(e.data.frame, e.data);
    const node = await core.createEffectChain(context, chain, { meters: true });
    node.onerror = (e) => reported.push(e.message);
    const meters = [];
    node.onmeters = (m) => meters.push({ time: context.currentTime, m });
    node.connect(recorder).connect(context.destination);
    // Start the source on a render-quantum boundary a little ahead.
    const startFrame = Math.ceil((context.currentTime + 0.15) * context.sampleRate / 128) * 128;
    const source = new AudioBufferSourceNode(context, { buffer: toBuffer(input) });
    source.connect(node);
    source.start(startFrame / context.sampleRate);
    const frames = input.channels[0].length;
    const waitUntil = (frame) =>
      new Promise((resolve) => {
        const poll = () => (context.currentTime * context.sampleRate > frame ? resolve() : setTimeout(poll, 10));
        poll();
      });
    await waitUntil(startFrame + change.afterFrames);
    const postFrame = Math.round(context.currentTime * context.sampleRate);
    node.setParameter(change.insert, change.parameter, change.value);
    const arrivalFrame = await node.flush();
    await waitUntil(startFrame + frames + 4096);
    const latencies = { base: context.baseLatency, output: context.outputLatency };
    source.disconnect();
    node.dispose();
    await context.close();
    // Reassemble the output from the source's start.
    const left = new Float32Array(frames);
    const right = new Float32Array(frames);
    let missing = 0;
    for (let q = 0; q < frames / 128; q++) {
      const block = recorded.get(startFrame + q * 128);
      if (!block) {
        missing++;
        continue;
      }
      left.set(block.left.subarray(0, Math.min(128, frames - q * 128)), q * 128);
      right.set(block.right.subarray(0, Math.min(128, frames - q * 128)), q * 128);
    }
    const unchangedFrames = postFrame - startFrame;
    let diffBefore = 0;
    let firstDeparture = -1;
    for (let i = 0; i < frames; i++) {
      const d = Math.max(Math.abs(left[i] - expected.channels[0][i]), Math.abs(right[i] - expected.channels[1][i]));
      if (i < unchangedFrames) diffBefore = Math.max(diffBefore, d);
      else if (d > 1e-4 && firstDeparture < 0) firstDeparture = i;
    }
    // The audio clock of the reports (the main thread's currentTime moves in bursts).
    const meterSpan = meters.length > 1 ? (meters[meters.length - 1].m.frame - meters[0].m.frame) / context.sampleRate : 0;
    return {
      baseLatencyMs: latencies.base * 1000,
      outputLatencyMs: latencies.output * 1000,
      state: context.state,
      missing,
      unchangedFrames,
      deliveryMs: ((arrivalFrame - postFrame) / context.sampleRate) * 1000,
      diffBefore,
      reachMs: firstDeparture < 0 ? null : ((firstDeparture - unchangedFrames) / context.sampleRate) * 1000,
      meterRateHz: meterSpan > 0 ? (meters.length - 1) / meterSpan : 0,
      meterCount: meters.length,
      gainReductionSeen: Math.min(...meters.map(({ m }) => Math.min(...m.gainReductionDb))),
    };
  },

  reported() {
    return reported;
  },
};

window.tests = tests;
window.ready = true;
