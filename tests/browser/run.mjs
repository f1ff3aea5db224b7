// Browser tests of the npm package (target/pkg, from scripts/build-package.sh) in Debian's headless Chromium,
// driven by playwright-core; run by scripts/test-browser.sh. The page (tests/browser/page.html + page.js) is
// served from 127.0.0.1 by scripts/serve.mjs without cross-origin isolation headers.
// 1. renderChain (an OfflineAudioContext hosting the worklet) of every effect at non-default settings and a
//    mixed chain equals `corelogic-dsp process --chain` on the same float WAV within 1e-6; a mono input with a
//    tail too, with progress reported;
// 2. an automation change stamped at a context time lands at exactly that frame;
// 3. analyze and peaks in the worker equal `corelogic-dsp analyze --json` (loudness within 0.001 LU, the rest
//    within 1e-6 relative) and `peaks --json` (the same JSON text), while a UI-thread timer keeps firing;
// 4. every bad call gives a CoreLogicError with the code and path of what was wrong;
// 5. a real-time AudioContext: the output recorded at the node equals the CLI's, a user change reaches the
//    output within 50 ms of audio-clock time, meters arrive at 30-40 Hz;
// 6. the page is not cross-origin isolated, and no processorerror or error event happened;
// 7. the wasm module's three ways in: its file compiled while it streams (served as application/wasm), fetched
//    and compiled (served under another MIME type), and the inlined base64 copy when the file is missing or a
//    server answers with an HTML page instead; each renders the mixed chain as the CLI does, and the inlined
//    copy (wasm-inline.js) is requested only on that last way;
// 8. a page whose Content-Security-Policy forbids workers: a CoreLogicError (`internal`) naming the worker, no
//    promise left waiting.
// Usage: node tests/browser/run.mjs [PATH/TO/corelogic-dsp]
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../scripts/serve.mjs';
import { writeFloatWav } from '../common/wav.mjs';
import { collectProblems, launchChromium } from './harness.mjs';

const cli = process.argv[2] ?? 'target/release/corelogic-dsp';
const SAMPLE_RATE_HZ = 48000;
const TOLERANCE = 1e-6;
const fixtures = 'target/browser-fixtures';
const started = Date.now();
let passed = 0;
function ok(what) {
  passed++;
  console.log(`ok ${passed} - ${what}`);
}

// ---- fixtures: float WAVs and the CLI's outputs ----
function xorshift(seed) {
  let x = seed >>> 0;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return (x >>> 8) / 16777216 - 0.5;
  };
}

/** 0.5 s: a decaying 220 Hz tone left, 3 kHz right, noise, clicks and a silent gap (as tests/wasm uses). */
function testSignal(frames) {
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  const noise = xorshift(0x12345678);
  for (let i = 0; i < frames; i++) {
    const t = i / SAMPLE_RATE_HZ;
    const silent = i >= 12000 && i < 15000;
    const envelope = silent ? 0 : Math.exp(-3 * t);
    left[i] = 0.6 * envelope * Math.sin(2 * Math.PI * 220 * t) + (silent ? 0 : 0.2 * noise());
    right[i] = 0.6 * envelope * Math.sin(2 * Math.PI * 3000 * t) + (silent ? 0 : 0.2 * noise());
    if (i % 5000 === 7) left[i] = right[i] = 0.9;
  }
  return [left, right];
}

/** 3 s of music-like stereo at 120 BPM: plucked chords on the beat, a hi-hat of noise on the off-beat. */
function music(frames) {
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  const noise = xorshift(99);
  const beat = SAMPLE_RATE_HZ / 2;
  for (let i = 0; i < frames; i++) {
    const t = i / SAMPLE_RATE_HZ;
    const sinceBeat = (i % beat) / SAMPLE_RATE_HZ;
    const sinceOff = ((i + beat / 2) % beat) / SAMPLE_RATE_HZ;
    const chord = [110, 165, 220, 277.2].reduce((s, f) => s + Math.sin(2 * Math.PI * f * t), 0) * 0.15 * Math.exp(-6 * sinceBeat);
    const hat = noise() * 0.3 * Math.exp(-60 * sinceOff);
    left[i] = chord + hat;
    right[i] = 0.8 * chord - 0.5 * hat;
  }
  return [left, right];
}

/** Non-default settings: every parameter that does not change latency and has no value list at 30 % of its range. */
function nonDefaultChain(effect) {
  const parameters = {};
  for (const p of effect.parameters) {
    if (p.changesLatency || (!p.automatable && p.integer) || p.values) continue;
    let value = p.min + 0.3 * (p.max - p.min);
    if (p.integer) value = Math.round(value);
    if (value !== p.default) parameters[p.name] = value;
  }
  return [{ effect: effect.id, parameters }];
}

function runCli(args) {
  return execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

rmSync(fixtures, { recursive: true, force: true });
mkdirSync(fixtures, { recursive: true });
const at = (name) => join(fixtures, name);
writeFloatWav(at('input.wav'), testSignal(24000), SAMPLE_RATE_HZ);
const listing = JSON.parse(runCli(['effects', '--json']));
assert.equal(listing.length, 19);
const cases = listing.map((e) => ({ name: e.id, chain: nonDefaultChain(e) }));
cases.push({
  name: 'mixed',
  chain: [
    { effect: 'parametric-eq', parameters: { b2GainDb: 5, b2FrequencyHz: 900 } },
    { effect: 'compressor', parameters: { thresholdDb: -30, ratio: 6, detector: 1 } },
    { effect: 'wave-shaper', parameters: { oversample: 1 }, curve: [-1, -0.8, -0.2, 0, 0.3, 0.9, 1] },
    { effect: 'ping-pong-delay', preset: listing.find((e) => e.id === 'ping-pong-delay').presets[0]?.name },
    { effect: 'plate-reverb', parameters: { mix: 0.3 } },
    { effect: 'limiter', parameters: { ceilingDb: -3 } },
  ].map((entry) => (entry.preset === undefined ? (delete entry.preset, entry) : entry)),
});
for (const { name, chain } of cases) {
  writeFileSync(at(`${name}.chain.json`), JSON.stringify(chain));
  runCli(['process', at('input.wav'), at(`${name}.out.wav`), '--chain', at(`${name}.chain.json`)]);
}
const monoChain = [{ effect: 'freeverb', parameters: { wet: 0.5 } }];
writeFloatWav(at('mono.wav'), [testSignal(24000)[0]], SAMPLE_RATE_HZ);
writeFileSync(at('mono.chain.json'), JSON.stringify(monoChain));
runCli(['process', at('mono.wav'), at('mono-tail.out.wav'), '--chain', at('mono.chain.json'), '--tail', '0.25']);
const realtimeChain = [
  { effect: 'parametric-eq', parameters: { b2GainDb: 4, b3GainDb: -3 } },
  { effect: 'compressor', parameters: { thresholdDb: -30, ratio: 4 } },
];
writeFileSync(at('realtime.chain.json'), JSON.stringify(realtimeChain));
runCli(['process', at('input.wav'), at('realtime.out.wav'), '--chain', at('realtime.chain.json')]);
writeFloatWav(at('music.wav'), music(3 * SAMPLE_RATE_HZ), SAMPLE_RATE_HZ);
const cliAnalysis = JSON.parse(runCli(['analyze', at('music.wav'), '--json']));
const PEAK_BUCKETS = 100;
const PEAK_LEVELS = 4;
const cliPeaks = runCli(['peaks', at('music.wav'), '--buckets', String(PEAK_BUCKETS), '--levels', String(PEAK_LEVELS), '--json']).trim();
console.log(`# fixtures and CLI outputs in ${fixtures} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

// ---- the browser ----
const server = await serve({ '/pkg': 'target/pkg', '/test': 'tests/browser', '/fixtures': fixtures });
const chromium = await launchChromium({ args: ['--autoplay-policy=no-user-gesture-required'] });
try {
  const page = await chromium.browser.newPage();
  const consoleErrors = collectProblems(page);
  await page.goto(`${server.url}/test/page.html`);
  await page.waitForFunction(() => window.ready === true);

  const env = await page.evaluate(() => window.tests.environment());
  assert.equal(env.crossOriginIsolated, false, 'the page is not cross-origin isolated');
  assert.equal(env.sharedArrayBuffer, 'undefined', 'no SharedArrayBuffer without isolation');
  ok('the page is not cross-origin isolated (no SharedArrayBuffer)');

  const renders = await page.evaluate((c) => window.tests.renderChains(c), cases);
  let worst = 0;
  for (const r of renders) {
    assert.equal(r.channels, 2, `${r.name}: stereo out`);
    assert.equal(r.length, r.expectedLength, `${r.name}: the input's length`);
    assert.ok(r.diff <= TOLERANCE, `${r.name}: renderChain differs from the CLI by ${r.diff}`);
    worst = Math.max(worst, r.diff);
  }
  const identical = renders.filter((r) => r.diff === 0).length;
  ok(`renderChain equals corelogic-dsp process for ${renders.length} chains (19 effects + mixed): worst ${worst}, ${identical} bit-identical`);

  const mono = await page.evaluate((c) => window.tests.renderMonoWithTail(c, 0.25), monoChain);
  assert.equal(mono.length, 24000 + 12000);
  assert.equal(mono.length, mono.expectedLength);
  assert.ok(mono.diff <= TOLERANCE, `mono with tail differs by ${mono.diff}`);
  assert.ok(mono.progress.length >= 10 && mono.progress.at(-1) === 1, `progress ${mono.progress}`);
  assert.deepEqual(mono.progress, [...mono.progress].sort((a, b) => a - b), 'progress increases');
  ok(`renderChain of a mono input with a 0.25 s tail equals the CLI (diff ${mono.diff}), ${mono.progress.length} progress reports`);

  const CHANGE_FRAME = 10037;
  const automation = await page.evaluate(([f]) => window.tests.automationFrame(f, -6), [CHANGE_FRAME]);
  assert.equal(automation.first, CHANGE_FRAME, 'the change lands at its frame');
  assert.ok(automation.worstRatioError < 1e-5, `after the change the output is -6 dB of the unchanged one (${automation.worstRatioError})`);
  ok(`an automation change stamped at context frame ${CHANGE_FRAME} first changes the output at frame ${automation.first}`);

  const a = await page.evaluate(([b, l]) => window.tests.analysis(b, l), [PEAK_BUCKETS, PEAK_LEVELS]);
  const close = (key, got, want, tolerance, relative) => {
    if (want === null || got === null) return assert.equal(got, want, key);
    const error = Math.abs(got - want) / (relative ? Math.max(Math.abs(want), 1e-12) : 1);
    assert.ok(error <= tolerance, `${key}: browser ${got}, CLI ${want}`);
  };
  const walk = (got, want, key) => {
    if (typeof want === 'object' && want !== null) {
      assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${key}: keys`);
      for (const k of Object.keys(want)) walk(got[k], want[k], `${key}.${k}`);
    } else {
      const loudness = key.endsWith('Lufs') || key.endsWith('Lu');
      close(key, got, want, loudness ? 0.001 : 1e-6, !loudness);
    }
  };
  walk(a.analysis, cliAnalysis, 'analysis');
  // Peaks are f32 values: the CLI prints each in f32's shortest form, the browser returns the same f32 as a JS
  // number; equal means the same f32, bucket by bucket, with the same keys and counts.
  const samePeaks = (got, want, key) => {
    if (typeof want === 'object' && want !== null) {
      assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${key}: keys`);
      for (const k of Object.keys(want)) samePeaks(got[k], want[k], `${key}.${k}`);
    } else if (typeof want === 'number') {
      assert.equal(Math.fround(got), Math.fround(want), `${key}: browser ${got}, CLI ${want}`);
    } else {
      assert.equal(got, want, key);
    }
  };
  samePeaks(JSON.parse(a.peaks), JSON.parse(cliPeaks), 'peaks');
  assert.ok(a.ticks >= 1, 'the UI thread kept running');
  ok(`analyze and peaks in the worker equal the CLI (tempo ${a.analysis.tempoBpm}, ${a.analysis.integratedLufs} LUFS); ${a.ticks} timer ticks in ${a.elapsedMs.toFixed(0)} ms`);

  const errors = await page.evaluate(() => window.tests.errors());
  const expectError = (name, code, path = {}) => {
    const e = errors[name];
    assert.ok(e, `${name}: threw`);
    assert.equal(e.isCoreLogicError, true, `${name}: a CoreLogicError (${e.message})`);
    assert.equal(e.name, 'CoreLogicError');
    assert.equal(e.code, code, `${name}: code (${e.message})`);
    for (const [k, v] of Object.entries(path)) assert.deepEqual(e.path[k], v, `${name}: path.${k} (${JSON.stringify(e.path)})`);
    return e.message;
  };
  expectError('unknownEffect', 'bad-chain', { json: 'chain[0].effect' });
  assert.match(expectError('badChainValue', 'bad-chain', { json: 'chain[1].parameters.ratio' }), /ratio.*100/);
  expectError('notAnArray', 'bad-chain');
  expectError('unknownParameter', 'unknown-parameter', { insert: 0, effect: 'compressor', parameter: 'ratioo' });
  expectError('parameterIndex', 'unknown-parameter', { insert: 1, effect: 'simple-delay', parameter: 99 });
  assert.match(expectError('badValue', 'bad-value', { insert: 0, effect: 'compressor', parameter: 'ratio', value: 100 }), /from 1 to 20/);
  expectError('nanValue', 'bad-value', { parameter: 'thresholdDb' });
  expectError('unknownInsert', 'unknown-insert', { insert: 2 });
  expectError('badTime', 'bad-time', { value: -1 });
  expectError('badSource', 'bad-option', { option: 'source' });
  expectError('badTempo', 'bad-tempo', { value: 0 });
  expectError('badChainChange', 'bad-chain', { json: 'chain[0].parameters.ceilingDb' });
  expectError('badTail', 'bad-option', { option: 'tail', value: -1 });
  expectError('analyzeThreeChannels', 'bad-audio', { value: 3 });
  expectError('analyzeNotABuffer', 'bad-audio');
  expectError('peaksNoBuckets', 'bad-option', { option: 'buckets', value: 0 });
  assert.match(expectError('peaksTooMany', 'bad-audio'), /finest level/);
  assert.equal(errors.validStill, 240, 'a valid chain after the errors: a 5 ms lookahead is 240 frames at 48 kHz');
  ok('17 bad calls give CoreLogicErrors with their code and path; the package keeps working');

  const rt = await page.evaluate(([c]) => window.tests.realtime(c, { afterFrames: 4096, insert: 0, parameter: 'outputGainDb', value: -12 }), [realtimeChain]);
  console.log(`# real time: ${JSON.stringify(rt)}`);
  assert.equal(rt.missing, 0, 'every quantum of the output was recorded');
  assert.ok(rt.diffBefore <= TOLERANCE, `real-time output before the change differs from the CLI by ${rt.diffBefore}`);
  assert.ok(rt.reachMs !== null && rt.reachMs <= 50, `a user change reached the output after ${rt.reachMs} ms of audio clock`);
  assert.ok(rt.meterRateHz >= 30 && rt.meterRateHz <= 40, `meters at ${rt.meterRateHz} Hz`);
  assert.ok(rt.gainReductionSeen < -1, `the compressor's gain reduction reached the meters (${rt.gainReductionSeen} dB)`);
  ok(`real-time AudioContext: ${rt.unchangedFrames} frames equal the CLI (diff ${rt.diffBefore}), a user change reached the output in ${rt.reachMs.toFixed(1)} ms, meters at ${rt.meterRateHz.toFixed(1)} Hz`);

  // 7. The wasm's ways in, each on a fresh page whose request for the wasm file is answered as a server would.
  const wasmWays = [
    { way: 'served as application/wasm', expected: 'streaming', answer: null },
    { way: 'served as application/octet-stream', expected: 'fetched', answer: async (route) => route.fulfill({ response: await route.fetch(), headers: { 'content-type': 'application/octet-stream' } }) },
    { way: 'missing (HTTP 404)', expected: 'inline', answer: (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' }) },
    { way: 'answered with an HTML page (a dev server fallback)', expected: 'inline', answer: (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>app</title>' }) },
  ];
  const mixed = cases.filter((c) => c.name === 'mixed');
  for (const { way, expected, answer } of wasmWays) {
    const wayPage = await chromium.browser.newPage();
    const requested = [];
    wayPage.on('request', (r) => requested.push(new URL(r.url()).pathname));
    if (answer) await wayPage.route('**/pkg/corelogic_dsp_bg.wasm', answer);
    await wayPage.goto(`${server.url}/test/page.html`);
    await wayPage.waitForFunction(() => window.ready === true);
    const source = await wayPage.evaluate(() => window.tests.wasmSource());
    const [render] = await wayPage.evaluate((c) => window.tests.renderChains(c), mixed);
    await wayPage.close();
    assert.equal(source, expected, `the wasm file ${way}: wasmSource`);
    assert.ok(render.diff <= TOLERANCE, `the wasm file ${way}: the mixed chain differs from the CLI by ${render.diff}`);
    const inlineRequested = requested.includes('/pkg/wasm-inline.js');
    assert.equal(inlineRequested, expected === 'inline', `the wasm file ${way}: wasm-inline.js requested: ${inlineRequested}`);
    ok(`the wasm file ${way}: wasmSource '${source}', the mixed chain equals the CLI (diff ${render.diff}), wasm-inline.js ${inlineRequested ? '' : 'not '}requested`);
  }

  // 8. A page whose Content-Security-Policy forbids workers: loading (or the first call that needs the worker)
  // fails with a CoreLogicError naming the worker, and nothing waits for ever.
  {
    const cspPage = await chromium.browser.newPage();
    await cspPage.route('**/test/page.html', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': "worker-src 'none'" } });
    });
    await cspPage.goto(`${server.url}/test/page.html`);
    await cspPage.waitForFunction(() => window.ready === true);
    const result = await cspPage.evaluate(() => window.tests.withoutWorkers());
    await cspPage.close();
    const calls = result.load.outcome === 'rejected' ? { load: result.load } : { validate: result.validate, analyze: result.analyze, 'validate again': result.validateAgain };
    for (const [call, failed] of Object.entries(calls)) {
      assert.equal(failed.outcome, 'rejected', `without workers, ${call}: ${JSON.stringify(result)}`);
      assert.ok(failed.isCoreLogicError && failed.code === 'internal', `without workers, ${call}: ${JSON.stringify(failed)}`);
      assert.match(failed.message, /worker/, `without workers, ${call}: ${failed.message}`);
    }
    ok(`a page that forbids workers: ${Object.keys(calls).join(' and ')} reject with internal (${Object.values(calls)[0].message})`);
  }

  const reported = await page.evaluate(() => window.tests.reported());
  assert.deepEqual(reported, [], 'no node reported an error (processorerror included)');
  assert.deepEqual(consoleErrors, [], `no error on the console: ${consoleErrors.join(' | ')}`);
  ok('no processorerror, no error event, no console error');
} finally {
  await chromium.close();
  await server.close();
}
console.log(`# ${passed} browser tests passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
