// No garbage collection in the worklet isolate during playback (issue 11). Launches Debian's headless Chromium
// itself with `--js-flags=--trace-gc,--expose-gc` (V8 then prints one line per collection, prefixed with the
// process id and the isolate's address, to the browser's stdout) and drives tests/browser/gc.html over CDP.
// The page plays a chain (EQ with 4 bands + compressor, no meters, no messages) in a running AudioContext and
// brackets the measured span with two `gc()` calls made by modules added to the context: their "testing" lines
// identify the worklet isolate and mark the span in its trace. Asserts:
// - the published package: no collection in the worklet isolate between the markers;
// - the same test on the test build's allocating process() (a typed-array view per call) sees collections,
//   so the method can fail.
// Usage: node tests/browser/gc.mjs [SECONDS]   (CI: 10 s; by hand: 60)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';
import { CHROMIUM, collectProblems } from './harness.mjs';

const seconds = Number(process.argv[2] ?? 10);
const started = Date.now();
let passed = 0;
const ok = (what) => console.log(`ok ${++passed} - ${what}`);

/** One V8 --trace-gc-nvp line: `[pid:isolate:0]   1234 ms: GC: {"gc":"s","reason":...,"allocated":...}`. */
const GC_LINE = /^\[(\d+):(0x[0-9a-f]+)(?::\d+)?\]\s+[\d.]+ ms: GC: (\{.*\})$/;

/** Runs the page with package `pkgDir` in a fresh Chromium; returns the worklet isolate's collections in the span. */
async function run(pkgDir, allocating) {
  const server = await serve({ '/pkg': pkgDir, '/test': 'tests/browser' });
  const profile = mkdtempSync(join(tmpdir(), 'corelogic-chromium-'));
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      // V8's trace goes to the process's stdout, which Chromium's renderer processes do not keep: one process.
      '--single-process',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
      '--js-flags=--trace-gc-nvp --expose-gc',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${stderr}`)), 30_000);
    child.stderr.on('data', (d) => {
      stderr += d;
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let result;
  try {
    const browser = await chromium.connectOverCDP(endpoint);
    const page = await browser.contexts()[0].newPage();
    const problems = collectProblems(page);
    await page.goto(`${server.url}/test/gc.html`);
    await page.waitForFunction(() => window.ready === true);
    result = await page.evaluate(([s, a]) => window.play(s, a), [seconds, allocating]);
    result.problems = problems;
    // A normal exit flushes stdout (a pipe: V8's trace sits in its buffer until then); a kill would lose it.
    const session = await browser.newBrowserCDPSession();
    await session.send('Browser.close').catch(() => {});
  } finally {
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
    await server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  // The worklet isolate is the one whose trace has the markers' forced ("testing") collections.
  const lines = stdout
    .split('\n')
    .map((l) => GC_LINE.exec(l.trim()))
    .filter(Boolean)
    .map((m) => ({ isolate: `${m[1]}:${m[2]}`, gc: JSON.parse(m[3]) }));
  const isolates = [...new Set(lines.filter((l) => l.gc.reason === 'testing').map((l) => l.isolate))];
  assert.equal(isolates.length, 1, `one isolate made the forced collections: ${isolates} (trace: ${lines.length} lines)`);
  const own = lines.filter((l) => l.isolate === isolates[0]);
  const markers = own.map((l, i) => (l.gc.reason === 'testing' ? i : -1)).filter((i) => i >= 0);
  assert.equal(markers.length, 2, `both markers traced, and no other forced collection (${markers.length})`);
  const span = own.slice(markers[0] + 1, markers[1] + 1);
  return {
    ...result,
    collections: span.slice(0, -1).map((l) => `${l.gc.gc} (${l.gc.reason}): ${l.gc.allocated} bytes allocated before it`),
    // `allocated`: bytes allocated since the isolate's previous collection; summed from marker to marker.
    allocatedBytes: span.reduce((sum, l) => sum + l.gc.allocated, 0),
    isolate: isolates[0],
    traced: lines.length,
  };
}

/** The most bytes the worklet isolate may allocate from marker to marker: the second marker module's own
 * evaluation (measured: about 7 KB, the same for 10 s and 60 s). One typed-array view per process() call is
 * 62 bytes, 232 KB over 10 s (375 calls a second): far above it. */
const ALLOCATION_BOUND_BYTES = 32 * 1024;

/** The assertions, the same for both builds: `run` results in, failures out. */
function garbageFailures(r) {
  const failures = [];
  if (r.collections.length > 0) failures.push(`${r.collections.length} collections: ${r.collections.join(' | ')}`);
  if (r.allocatedBytes > ALLOCATION_BOUND_BYTES) failures.push(`${r.allocatedBytes} bytes allocated (bound ${ALLOCATION_BOUND_BYTES})`);
  return failures;
}

const clean = await run('target/pkg', false);
assert.deepEqual(clean.errors, [], 'no node error');
assert.deepEqual(clean.problems, [], 'no console or page error');
assert.ok(clean.frames >= seconds * 48000 * 0.9, `the context played ${clean.frames} frames in ${seconds} s`);
assert.deepEqual(garbageFailures(clean), [], 'the published package makes no garbage in the worklet during playback');
ok(`the published package: no garbage collection in the worklet isolate over ${(clean.frames / 48000).toFixed(1)} s of playback with messages off, ${clean.allocatedBytes} bytes allocated there from marker to marker (${clean.traced} collections traced in all isolates)`);

const dirty = await run('target/pkg-test-hooks', true);
assert.deepEqual(dirty.problems, [], 'no console or page error');
assert.ok(dirty.frames >= seconds * 48000 * 0.9, `the context played ${dirty.frames} frames in ${seconds} s`);
const failures = garbageFailures(dirty);
assert.ok(failures.length > 0, `the same check fails on the allocating process(): ${JSON.stringify(dirty.allocatedBytes)} bytes`);
ok(`the same check fails on the test build's allocating process() (a view per call): ${failures.join('; ')} over ${(dirty.frames / 48000).toFixed(1)} s`);
console.log(`# ${passed} garbage tests passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
