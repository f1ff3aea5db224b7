// A fresh Vite app's page (no vite.config): imports the npm package `corelogic-dsp` and a second copy of it
// under another name (`corelogic-dsp-copy`), so the package's modules, and its worklet module, are evaluated
// twice. Driven by tests/vite/run.mjs, which compares what it publishes on `window.result` with the CLI.
// - renderChain of CHAIN_A on /input.wav (from public/), through each copy;
// - one OfflineAudioContext with a node of each copy in series (copy A's chain, then copy B's): both copies add
//   the worklet module to that context, so it is evaluated twice there and must register its processor once.
import { loadCoreLogic } from 'corelogic-dsp';
import { loadCoreLogic as loadCopy } from 'corelogic-dsp-copy';

import chains from './chains.json';

const CHAIN_A = chains.a;
const CHAIN_B = chains.b;

/** A 32-bit float WAV as { sampleRate, channels }. */
async function fetchWav(url) {
  const bytes = await (await fetch(url)).arrayBuffer();
  const view = new DataView(bytes);
  let format = null;
  for (let at = 12; at + 8 <= bytes.byteLength; ) {
    const id = String.fromCharCode(...new Uint8Array(bytes, at, 4));
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') format = { tag: view.getUint16(at + 8, true), channels: view.getUint16(at + 10, true), rate: view.getUint32(at + 12, true) };
    if (id === 'data') {
      if (format?.tag !== 3) throw new Error(`${url}: not a float WAV`);
      const frames = size / 4 / format.channels;
      const channels = Array.from({ length: format.channels }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < format.channels; c++) channels[c][i] = view.getFloat32(at + 8 + (i * format.channels + c) * 4, true);
      }
      return { sampleRate: format.rate, channels };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${url}: no data chunk`);
}

/** Planar samples as base64 of their f32 bytes (left, then right): exact and compact to hand to the test. */
function base64Of(buffer) {
  const bytes = new Uint8Array(buffer.length * 4 * buffer.numberOfChannels);
  for (let c = 0; c < buffer.numberOfChannels; c++) bytes.set(new Uint8Array(buffer.getChannelData(c).slice().buffer), c * buffer.length * 4);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The sum of |sample| over both channels, shown on the page for a person (the test compares samples). */
function checksum(buffer) {
  let sum = 0;
  for (let c = 0; c < buffer.numberOfChannels; c++) for (const x of buffer.getChannelData(c)) sum += Math.abs(x);
  return sum;
}

/** How many times the processor module was evaluated in the context's worklet scope, and how many times it
 * called registerProcessor (its `pong` says both). */
function evaluations(node) {
  return new Promise((resolve) => {
    node.port.addEventListener('message', function listen(event) {
      if (event.data.type !== 'pong' || event.data.id !== -1) return;
      node.port.removeEventListener('message', listen);
      resolve({ moduleEvaluations: event.data.moduleEvaluations, registrations: event.data.registrations });
    });
    node.port.postMessage({ type: 'ping', id: -1 });
  });
}

async function main() {
  const [a, b] = await Promise.all([loadCoreLogic(), loadCopy()]);
  const { sampleRate, channels } = await fetchWav('/input.wav');
  const input = new AudioBuffer({ numberOfChannels: 2, length: channels[0].length, sampleRate });
  channels.forEach((c, i) => input.copyToChannel(c, i));

  const renderedA = await a.renderChain(CHAIN_A, input);
  const renderedB = await b.renderChain(CHAIN_A, input);

  // Both copies on one context: the worklet module is added by each, so it is evaluated twice in one scope.
  const context = new OfflineAudioContext({ numberOfChannels: 2, length: input.length, sampleRate });
  const errors = [];
  const nodeA = await a.createEffectChain(context, CHAIN_A);
  const nodeB = await b.createEffectChain(context, CHAIN_B);
  for (const node of [nodeA, nodeB]) {
    node.onerror = (e) => errors.push(`${e.code}: ${e.message}`);
    node.onprocessorerror = () => errors.push('processorerror');
  }
  const { moduleEvaluations, registrations } = await evaluations(nodeB);
  const source = new AudioBufferSourceNode(context, { buffer: input });
  source.connect(nodeA).connect(nodeB).connect(context.destination);
  source.start(0);
  const series = await context.startRendering();

  window.result = {
    samplesA: base64Of(renderedA),
    samplesB: base64Of(renderedB),
    series: base64Of(series),
    frames: renderedA.length,
    moduleEvaluations,
    registrations,
    distinctCopies: a !== b && a.constructor !== b.constructor,
    wasmSources: [a.wasmSource, b.wasmSource],
    errors,
  };
  document.querySelector('#status').textContent = `rendered: checksum ${checksum(renderedA).toFixed(6)}, module evaluated ${moduleEvaluations} times, processor registered ${registrations} time(s)`;
}

main().catch((e) => {
  window.result = { failure: String(e?.stack ?? e) };
  document.querySelector('#status').textContent = `failed: ${e}`;
});
