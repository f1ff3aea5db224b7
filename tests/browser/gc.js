// The browser half of tests/browser/gc.mjs: plays a chain in a running AudioContext with messages off (no
// meters, no control messages) and marks the span measured in the worklet isolate's GC trace: a tiny module
// added to the context calls `gc()` (Chromium runs with --js-flags=--expose-gc,--trace-gc), which V8 traces
// with the reason "testing" in the worklet isolate's own lines, once before the span and once after it.
// `allocating`: the node is made by hand with the test build's `testAllocate` option, so its process() makes a
// typed-array view per call (the garbage the processor avoids); the test must see collections then.
import * as CL from '/pkg/index.js';

const CHAIN = [
  { effect: 'parametric-eq', parameters: { b1GainDb: 3, b2GainDb: -4, b3GainDb: 2, b4GainDb: 1 } },
  { effect: 'compressor', parameters: { thresholdDb: -24, ratio: 4 } },
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Adds a module that forces one collection in the worklet isolate: a marker in its trace. */
function markGc(context) {
  const source = 'globalThis.gc();\n';
  return context.audioWorklet.addModule(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
}

window.play = async function play(seconds, allocating) {
  const core = await CL.loadCoreLogic();
  const context = new AudioContext({ sampleRate: 48000 });
  await context.resume();
  const errors = [];
  let node;
  if (allocating) {
    await core.createEffectChain(context, CHAIN).then((n) => n.dispose()); // adds the worklet module
    node = new AudioWorkletNode(context, CL.PROCESSOR_NAME, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      processorOptions: { module: core.module, chainJson: new TextEncoder().encode(JSON.stringify(CHAIN)), testAllocate: true },
    });
  } else {
    node = await core.createEffectChain(context, CHAIN);
    node.onerror = (e) => errors.push(`${e.code}: ${e.message}`);
  }
  node.onprocessorerror = () => errors.push('processorerror');
  const oscillator = new OscillatorNode(context, { type: 'sawtooth', frequency: 110 });
  const gain = new GainNode(context, { gain: 0.4 });
  oscillator.connect(gain).connect(node).connect(context.destination);
  oscillator.start();
  await sleep(1000); // past instantiation and the first blocks
  const frameBefore = Math.round(context.currentTime * context.sampleRate);
  await markGc(context);
  await sleep(seconds * 1000);
  await markGc(context);
  const frames = Math.round(context.currentTime * context.sampleRate) - frameBefore;
  oscillator.stop();
  await context.close();
  return { frames, errors };
};
window.ready = true;
