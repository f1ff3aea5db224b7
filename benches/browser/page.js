// The browser half of benches/browser/bench.mjs: procedures on `window.bench` that return timings.
import { loadCoreLogic } from '/pkg/index.js';

const SAMPLE_RATE_HZ = 48000;
const EQ_BANDS = [
  { frequencyHz: 100, gainDb: 6 },
  { frequencyHz: 500, gainDb: -6 },
  { frequencyHz: 2000, gainDb: 6 },
  { frequencyHz: 8000, gainDb: -6 },
];

function noiseBuffer(seconds, seed) {
  const buffer = new AudioBuffer({ numberOfChannels: 2, length: seconds * SAMPLE_RATE_HZ, sampleRate: SAMPLE_RATE_HZ });
  let x = seed >>> 0;
  for (let c = 0; c < 2; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < data.length; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      data[i] = 0.5 * ((x >>> 8) / 16777216 - 0.5) + 0.3 * Math.sin((2 * Math.PI * 220 * i) / SAMPLE_RATE_HZ);
    }
  }
  return buffer;
}

/** One track's chain: an EQ with 4 peaking bands and a compressor (compressing), ours as one node. */
function ourChain() {
  const parameters = {};
  EQ_BANDS.forEach((b, i) => {
    parameters[`b${i + 1}Type`] = 1;
    parameters[`b${i + 1}FrequencyHz`] = b.frequencyHz;
    parameters[`b${i + 1}GainDb`] = b.gainDb;
  });
  return [{ effect: 'parametric-eq', parameters }, { effect: 'compressor', parameters: { thresholdDb: -30, ratio: 4 } }];
}

/** From navigation start to the first audio, ms: the package loaded, a chain created in a running context, and
 * the processor answering a message between two process() calls. */
async function firstAudio() {
  const core = await loadCoreLogic();
  const context = new AudioContext({ sampleRate: SAMPLE_RATE_HZ });
  await context.resume();
  const node = await core.createEffectChain(context, ourChain());
  node.connect(context.destination);
  await node.flush();
  const ms = performance.now();
  await context.close();
  return ms;
}

// Started here, at the page's module start (its imports, the package among them, already loaded), as an app
// starts: a start on the driver's call would count the idle wait between the page's load and that call.
const firstAudioAtStart = new URLSearchParams(location.search).has('first-audio') ? firstAudio() : null;

const seconds = 10;
let input = null;

window.bench = {
  /** x real time of `tracks` tracks rendered offline, `kind` 'ours' or 'native'. */
  async render(kind, tracks) {
    const core = await loadCoreLogic();
    input ??= noiseBuffer(seconds, 7);
    const context = new OfflineAudioContext({ numberOfChannels: 2, length: seconds * SAMPLE_RATE_HZ, sampleRate: SAMPLE_RATE_HZ });
    for (let t = 0; t < tracks; t++) {
      const source = new AudioBufferSourceNode(context, { buffer: input });
      let last = source;
      if (kind === 'ours') {
        const node = await core.createEffectChain(context, ourChain());
        last = last.connect(node);
      } else {
        for (const b of EQ_BANDS) last = last.connect(new BiquadFilterNode(context, { type: 'peaking', frequency: b.frequencyHz, gain: b.gainDb, Q: 0.7071 }));
        last = last.connect(new DynamicsCompressorNode(context, { threshold: -30, ratio: 4, knee: 0 }));
      }
      last.connect(context.destination);
      source.start(0);
    }
    const started = performance.now();
    await context.startRendering();
    return seconds / ((performance.now() - started) / 1000);
  },

  /** From navigation start to the first audio (see `firstAudio` below), started at the page's module start. */
  firstAudio() {
    if (!firstAudioAtStart) throw new Error('open page.html?first-audio to measure page load to first audio');
    return firstAudioAtStart;
  },

  /** analyze of a 3-minute stereo buffer in the worker, ms: the first call (which starts the worker and
   * compiles the module there) and then the median of three more. */
  async analyze() {
    const core = await loadCoreLogic();
    const buffer = noiseBuffer(180, 3);
    const time = async () => {
      const started = performance.now();
      await core.analyze(buffer);
      return performance.now() - started;
    };
    const first = await time();
    const again = [await time(), await time(), await time()].sort((a, b) => a - b);
    return { first, again: again[1] };
  },
};
window.ready = true;
