// The first demo page of the corelogic-dsp package (served by scripts/run.sh with the package under /pkg/):
// a source (a dropped audio file or a generated loop), a chain built from the effect listing with controls
// generated from the parameter tables (log-tapered where the table says so), bypass per insert, playback
// through the worklet with meters, the source's waveform (peaks) and analysis, and an offline render to WAV.
import { loadCoreLogic, valueFromTravel, travelFromValue } from '/pkg/index.js';

const $ = (id) => document.getElementById(id);
const core = await loadCoreLogic();
const context = new AudioContext();
/** The chain as entries of `corelogic-dsp process --chain`, kept in step with the node. */
const chain = [];
let node = await core.createEffectChain(context, chain, { meters: true });
let source = null;
let sourceBuffer = null;
node.connect(context.destination);
wireNode();

function showError(e) {
  $('error').textContent = e ? `${e.code ?? 'error'}: ${e.message}` : '';
}

function wireNode() {
  node.onmeters = (m) => {
    const db = (x) => (x > 0 ? 20 * Math.log10(x) : -Infinity);
    $('peak').value = Math.max(-60, db(m.peak));
    $('rms').value = Math.max(-60, db(m.rms));
    $('peak-db').textContent = `${db(m.peak).toFixed(1)} dB`;
    $('rms-db').textContent = `${db(m.rms).toFixed(1)} dB`;
    m.gainReductionDb.forEach((gr, i) => {
      const out = document.querySelector(`[data-gr="${i}"]`);
      if (out) out.textContent = `GR ${gr.toFixed(1)} dB`;
    });
  };
  node.onerror = showError;
}

// ---- the listing ----
for (const effect of core.effects) {
  const option = new Option(`${effect.name} (${effect.category})`, effect.id);
  $('effect-list').append(option);
}

function formatValue(p, v) {
  const label = p.values?.find((x) => x.value === v)?.label;
  if (label) return label;
  return `${Number.isInteger(v) ? v : v.toPrecision(4)} ${p.unit}`.trim();
}

/** The controls of one insert: a slider per parameter, travel mapped by the table's taper. */
function renderChain() {
  const container = $('chain');
  container.replaceChildren();
  chain.forEach((entry, insert) => {
    const info = core.effect(entry.effect);
    const box = document.createElement('div');
    box.className = 'insert';
    const head = document.createElement('header');
    head.innerHTML = `<strong>${insert + 1}. ${info.name}</strong><output data-gr="${insert}"></output>`;
    const bypass = document.createElement('label');
    const enabled = document.createElement('input');
    enabled.type = 'checkbox';
    enabled.checked = entry.enabled !== false;
    enabled.onchange = () => {
      entry.enabled = enabled.checked;
      node.setEnabled(insert, enabled.checked);
    };
    bypass.append(enabled, ' on');
    const remove = document.createElement('button');
    remove.textContent = 'Remove';
    remove.onclick = () => replaceChain(chain.filter((_, i) => i !== insert));
    head.append(bypass, remove);
    const controls = document.createElement('div');
    controls.className = 'controls';
    for (const p of info.parameters) {
      const label = document.createElement('label');
      const slider = document.createElement('input');
      slider.type = 'range';
      slider.min = '0';
      slider.max = '1000';
      slider.dataset.param = p.name;
      const value = entry.parameters?.[p.name] ?? p.default;
      slider.value = String(Math.round(travelFromValue(p, value) * 1000));
      const shown = document.createElement('output');
      shown.textContent = formatValue(p, value);
      slider.oninput = () => {
        let v = valueFromTravel(p, Number(slider.value) / 1000);
        if (p.values) v = p.values.reduce((best, x) => (Math.abs(x.value - v) < Math.abs(best.value - v) ? x : best)).value;
        shown.textContent = formatValue(p, v);
        try {
          if (p.changesLatency || !p.automatable) {
            // Latency-moving and structural parameters: rebuild the chain with the new value.
            replaceChain(chain.map((e, i) => (i === insert ? { ...e, parameters: { ...e.parameters, [p.name]: v } } : e)), false);
          } else {
            node.setParameter(insert, p.name, v);
            entry.parameters = { ...entry.parameters, [p.name]: v };
          }
          showError(null);
        } catch (e) {
          showError(e);
        }
      };
      label.append(`${p.name} `, shown, slider);
      controls.append(label);
    }
    box.append(head, controls);
    container.append(box);
  });
}

async function replaceChain(next, redraw = true) {
  try {
    await node.setChain(next);
    chain.splice(0, chain.length, ...next);
    if (redraw) renderChain();
    showError(null);
  } catch (e) {
    showError(e);
  }
}

$('add').onclick = () => replaceChain([...chain, { effect: $('effect-list').value, parameters: {} }]);

// ---- sources ----
/** Four bars of a plucked chord progression with a noise hi-hat at 110 BPM, stereo. */
function generatedLoop(sampleRate) {
  const beat = 60 / 110;
  const frames = Math.round(16 * beat * sampleRate);
  const buffer = new AudioBuffer({ numberOfChannels: 2, length: frames, sampleRate });
  const [l, r] = [buffer.getChannelData(0), buffer.getChannelData(1)];
  const chords = [[110, 138.6, 164.8], [98, 123.5, 146.8], [87.3, 110, 130.8], [98, 123.5, 146.8]];
  let seed = 1;
  const noise = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const b = Math.floor(t / beat);
    const since = t - b * beat;
    const chord = chords[Math.floor(b / 4) % 4];
    const tone = chord.reduce((s, f) => s + Math.sin(2 * Math.PI * f * t) + 0.3 * Math.sin(4 * Math.PI * f * t), 0);
    const pluck = 0.12 * tone * Math.exp(-4 * since);
    const offbeat = since - beat / 2;
    const hat = offbeat >= 0 ? 0.25 * noise() * Math.exp(-70 * offbeat) : 0;
    const kick = 0.5 * Math.sin(2 * Math.PI * (50 + 80 * Math.exp(-30 * since)) * since) * Math.exp(-8 * since);
    l[i] = pluck + hat + kick;
    r[i] = 0.8 * pluck - 0.6 * hat + kick;
  }
  return buffer;
}

async function useSource(buffer, name) {
  stop();
  sourceBuffer = buffer;
  $('source-name').textContent = `${name}: ${buffer.numberOfChannels} ch, ${buffer.sampleRate} Hz, ${buffer.duration.toFixed(2)} s`;
  for (const id of ['play', 'render']) $(id).disabled = false;
  const canvas = $('waveform');
  const [analysis, peaks] = await Promise.all([
    buffer.numberOfChannels <= 2 ? core.analyze(buffer) : Promise.resolve(null),
    core.peaks(buffer, { buckets: canvas.width, levels: 1 }),
  ]);
  drawWaveform(canvas, peaks.levels[0]);
  showAnalysis(analysis);
}

function drawWaveform(canvas, level) {
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const channels = level.min.length;
  const h = canvas.height / channels;
  g.fillStyle = '#6d8cff';
  for (let c = 0; c < channels; c++) {
    const mid = h * c + h / 2;
    for (let i = 0; i < level.buckets; i++) {
      const top = mid - level.max[c][i] * (h / 2);
      const bottom = mid - level.min[c][i] * (h / 2);
      g.fillRect(i * (canvas.width / level.buckets), top, Math.max(1, canvas.width / level.buckets), Math.max(1, bottom - top));
    }
  }
}

function showAnalysis(a) {
  const table = $('analysis');
  table.replaceChildren();
  if (!a) return;
  const db = (v, unit) => (v === null ? '-inf' : `${v.toFixed(2)} ${unit}`);
  const rows = [
    ['peak', db(a.peakDb, 'dBFS')],
    ['true peak', db(a.truePeakDb, 'dBTP')],
    ['RMS', db(a.rmsDb, 'dBFS')],
    ['integrated loudness', db(a.integratedLufs, 'LUFS')],
    ['loudness range', a.loudnessRangeLu === null ? '-' : `${a.loudnessRangeLu.toFixed(2)} LU`],
    ['spectral centroid', `${a.spectralCentroidHz.mean.toFixed(0)} Hz`],
    ['band energy (low/mid/high)', `${a.bandEnergy.low.toFixed(2)} / ${a.bandEnergy.mid.toFixed(2)} / ${a.bandEnergy.high.toFixed(2)}`],
    ['tempo', a.tempoBpm === null ? '- (no clear beat)' : `${a.tempoBpm.toFixed(1)} BPM`],
  ];
  for (const [k, v] of rows) table.insertRow().append(Object.assign(document.createElement('td'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: v }));
}

$('generated').onclick = () => useSource(generatedLoop(context.sampleRate), 'generated loop').catch(showError);
$('file').onchange = async () => {
  const file = $('file').files[0];
  if (!file) return;
  try {
    // Decoded at the file's own rate (an OfflineAudioContext of that rate does not resample), so the analysis
    // gives the numbers `corelogic-dsp analyze` gives on the same file.
    const bytes = await file.arrayBuffer();
    const rate = sampleRateOfWav(bytes) ?? context.sampleRate;
    const buffer = await new OfflineAudioContext(1, 1, rate).decodeAudioData(bytes);
    await useSource(buffer, file.name);
  } catch (e) {
    showError(e);
  }
};

/** A WAV header's sample rate (decodeAudioData resamples to its context's rate otherwise). */
function sampleRateOfWav(bytes) {
  const v = new DataView(bytes);
  if (bytes.byteLength < 28 || v.getUint32(0) !== 0x52494646 || v.getUint32(8) !== 0x57415645) return null;
  return v.getUint32(24, true);
}

// ---- transport ----
function stop() {
  source?.stop();
  source = null;
  $('stop').disabled = true;
}
$('play').onclick = async () => {
  await context.resume();
  stop();
  source = new AudioBufferSourceNode(context, { buffer: sourceBuffer, loop: true });
  source.connect(node);
  source.start();
  $('stop').disabled = false;
};
$('stop').onclick = stop;
$('render').onclick = async () => {
  try {
    const rendered = await core.renderChain(chain, sourceBuffer, {
      tail: 2,
      onProgress: (f) => ($('status').textContent = `rendering ${(f * 100).toFixed(0)} %`),
    });
    const url = URL.createObjectURL(new Blob([floatWav(rendered)], { type: 'audio/wav' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: 'corelogic-render.wav' });
    a.click();
    $('status').textContent = `rendered ${rendered.duration.toFixed(2)} s`;
  } catch (e) {
    showError(e);
  }
};

/** A 32-bit float stereo WAV of an AudioBuffer. */
function floatWav(buffer) {
  const channels = buffer.numberOfChannels;
  const frames = buffer.length;
  const out = new DataView(new ArrayBuffer(44 + frames * channels * 4));
  const text = (at, s) => [...s].forEach((ch, i) => out.setUint8(at + i, ch.charCodeAt(0)));
  text(0, 'RIFF');
  out.setUint32(4, 36 + frames * channels * 4, true);
  text(8, 'WAVEfmt ');
  out.setUint32(16, 16, true);
  out.setUint16(20, 3, true);
  out.setUint16(22, channels, true);
  out.setUint32(24, buffer.sampleRate, true);
  out.setUint32(28, buffer.sampleRate * channels * 4, true);
  out.setUint16(32, channels * 4, true);
  out.setUint16(34, 32, true);
  text(36, 'data');
  out.setUint32(40, frames * channels * 4, true);
  const data = Array.from({ length: channels }, (_, c) => buffer.getChannelData(c));
  for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out.setFloat32(44 + (i * channels + c) * 4, data[c][i], true);
  return out.buffer;
}

await replaceChain([
  { effect: 'parametric-eq', parameters: { b2GainDb: 3 } },
  { effect: 'compressor', parameters: { thresholdDb: -24, ratio: 3 } },
]);
window.demo = { core, chain, get node() { return node; }, useSource, generatedLoop, context };
