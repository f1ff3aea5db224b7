// The npm package in fresh Vite apps (prepared by scripts/test-vite.sh): for each app, `vite` (the dev server,
// dependencies pre-bundled) and `vite build` + `vite preview`, the page tests/vite/main.js driven in Debian's
// headless Chromium. Asserts, per app and mode:
// - the page loads with no failed request (no asset 404s), no console error and no node error;
// - renderChain of chain `a` (tests/vite/chains.json) through each of the two copies equals
//   `corelogic-dsp process --chain` on the same float WAV within 1e-6 (the tolerance of tests/browser/run.mjs);
// - the wasm module came the expected way (`coreLogic.wasmSource`): its file, compiled while it streams, in
//   every build and under the current Vite's dev server; the inlined copy under Vite 5's dev server, whose
//   pre-bundling drops the package's assets; the inlined copy is requested on that way only;
// - one context holding a node of each copy in series (chain a, then chain b) equals the CLI with both chains
//   in one; the processor module was evaluated twice in that scope and called registerProcessor once (a
//   second call of the name would throw inside addModule, invisibly to the page).
// Usage: node tests/vite/run.mjs PATH/TO/corelogic-dsp APP_DIR...
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectProblems, launchChromium } from '../browser/harness.mjs';
import { readFloatWav, writeFloatWav } from '../common/wav.mjs';

const [cli, ...apps] = process.argv.slice(2);
const SAMPLE_RATE_HZ = 48000;
const TOLERANCE = 1e-6;
const started = Date.now();
let passed = 0;
const ok = (what) => console.log(`ok ${++passed} - ${what}`);

/** 0.5 s of a decaying tone per channel, noise and clicks: dynamics for the compressor, transients for the delay. */
function testSignal(frames) {
  let x = 0x2468ace1;
  const noise = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 8) / 16777216 - 0.5;
  };
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    const t = i / SAMPLE_RATE_HZ;
    left[i] = 0.6 * Math.exp(-3 * t) * Math.sin(2 * Math.PI * 220 * t) + 0.2 * noise();
    right[i] = 0.6 * Math.exp(-3 * t) * Math.sin(2 * Math.PI * 3000 * t) + 0.2 * noise();
    if (i % 5000 === 7) left[i] = right[i] = 0.9;
  }
  return [left, right];
}

function maxDiff(got, want) {
  assert.equal(got.length, want.length, 'channels');
  let worst = 0;
  for (let c = 0; c < want.length; c++) {
    assert.equal(got[c].length, want[c].length, 'frames');
    for (let i = 0; i < want[c].length; i++) worst = Math.max(worst, Math.abs(got[c][i] - want[c][i]));
  }
  return worst;
}

/** base64 of planar f32 bytes (the page's form) as channels. */
function planar(base64, frames) {
  const bytes = Buffer.from(base64, 'base64');
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return [all.slice(0, frames), all.slice(frames, 2 * frames)];
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `vite ARGS` in the app; resolves to { url, stop } once the server answers. */
async function startVite(app, args) {
  const port = await freePort();
  const child = spawn(process.execPath, ['node_modules/vite/bin/vite.js', ...args, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite ${args.join(' ')} exited: ${output}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`vite ${args.join(' ')} did not answer at ${url}: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    });
  return { url, stop, output: () => output };
}

// ---- fixtures and the CLI's outputs ----
const chains = JSON.parse(readFileSync('tests/vite/chains.json', 'utf8'));
const fixtures = mkdtempSync(join(tmpdir(), 'corelogic-vite-'));
const input = testSignal(SAMPLE_RATE_HZ / 2);
writeFloatWav(join(fixtures, 'input.wav'), input, SAMPLE_RATE_HZ);
const cliOutput = (name, chain) => {
  writeFileSync(join(fixtures, `${name}.json`), JSON.stringify(chain));
  execFileSync(cli, ['process', join(fixtures, 'input.wav'), join(fixtures, `${name}.wav`), '--chain', join(fixtures, `${name}.json`)], { stdio: 'pipe' });
  return readFloatWav(join(fixtures, `${name}.wav`));
};
const expectedA = cliOutput('a', chains.a);
const expectedSeries = cliOutput('ab', [...chains.a, ...chains.b]);

/** How the package gets its wasm under the dev servers of the two Vites tested (scripts/test-vite.sh), as
 * measured: Vite 5's pre-bundling moves the package's JavaScript without its assets, so the wasm file's URL does
 * not answer with the wasm and the package imports its inlined copy; Vite 8 serves the file. (Both builds emit
 * it as an asset.) */
const devWasmSource = (version) => (Number(version.split('.')[0]) <= 5 ? 'inline' : 'streaming');

const chromium = await launchChromium();

/** Loads the page at `url` and checks what it rendered against the CLI. */
async function check(url, label, wasmSource) {
  const page = await chromium.browser.newPage();
  const problems = collectProblems(page, { requests: true });
  const inlineRequests = [];
  page.on('request', (r) => new URL(r.url()).pathname.includes('wasm-inline') && inlineRequests.push(r.url()));
  await page.goto(url);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 120_000 });
  const result = await page.evaluate(() => window.result);
  const status = await page.textContent('#status');
  await page.close();
  assert.equal(result.failure, undefined, `${label}: the page failed: ${result.failure}`);
  assert.deepEqual(problems, [], `${label}: ${problems.join(' | ')}`);
  assert.deepEqual(result.errors, [], `${label}: node errors`);
  const frames = expectedA[0].length;
  assert.equal(result.frames, frames, `${label}: the input's length`);
  const diffA = maxDiff(planar(result.samplesA, frames), expectedA);
  const diffB = maxDiff(planar(result.samplesB, frames), expectedA);
  const diffSeries = maxDiff(planar(result.series, frames), expectedSeries);
  assert.ok(diffA <= TOLERANCE, `${label}: renderChain (corelogic-dsp) differs from the CLI by ${diffA}`);
  assert.ok(diffB <= TOLERANCE, `${label}: renderChain (corelogic-dsp-copy) differs from the CLI by ${diffB}`);
  assert.ok(diffSeries <= TOLERANCE, `${label}: the two copies' nodes in series differ from the CLI by ${diffSeries}`);
  assert.equal(result.distinctCopies, true, `${label}: the two copies are distinct modules`);
  assert.equal(result.moduleEvaluations, 2, `${label}: the worklet module was evaluated twice in the context's scope`);
  assert.equal(result.registrations, 1, `${label}: registerProcessor was called once in the context's scope`);
  assert.deepEqual(result.wasmSources, [wasmSource, wasmSource], `${label}: how each copy got its wasm module`);
  assert.equal(inlineRequests.length > 0, wasmSource === 'inline', `${label}: the inlined wasm requested: ${inlineRequests.join(', ') || 'no'}`);
  ok(`${label}: wasm module '${wasmSource}' (the inlined copy ${inlineRequests.length ? '' : 'not '}requested); renderChain through both copies equals the CLI (max diff ${Math.max(diffA, diffB)}), both copies' nodes on one context equal the CLI (diff ${diffSeries}), worklet module evaluated twice and registered once; page says "${status}"`);
}

try {
  for (const app of apps) {
    const version = JSON.parse(readFileSync(join(app, 'node_modules/vite/package.json'), 'utf8')).version;
    writeFloatWav(join(app, 'public/input.wav'), input, SAMPLE_RATE_HZ);

    let t = Date.now();
    const dev = await startVite(app, ['--force']);
    try {
      await check(dev.url, `vite ${version} dev server`, devWasmSource(version));
    } catch (e) {
      console.error(dev.output());
      throw e;
    } finally {
      await dev.stop();
    }
    console.log(`# vite ${version} dev: ${((Date.now() - t) / 1000).toFixed(1)} s`);

    t = Date.now();
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: app, stdio: 'inherit' });
    const preview = await startVite(app, ['preview']);
    try {
      await check(preview.url, `vite ${version} build + preview`, 'streaming');
    } finally {
      await preview.stop();
    }
    console.log(`# vite ${version} build + preview: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
} finally {
  await chromium.close();
  rmSync(fixtures, { recursive: true, force: true });
}
console.log(`# ${passed} Vite tests passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
