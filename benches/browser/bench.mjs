// Browser benchmark of the package (run by hand after scripts/build-package.sh; CI does not run it):
// - one track's chain (EQ with 4 peaking bands + compressor) as our node against the same chain of native nodes
//   (4 BiquadFilterNodes + a DynamicsCompressorNode), 1, 16 and 64 tracks, x real time of a 10 s render in an
//   OfflineAudioContext, the two sides interleaved, medians of the rounds and their ratio;
// - the wasm size raw and gzipped; page load to first audio (median of fresh pages); analyze of a 3-minute
//   stereo buffer in the worker.
// Usage: node benches/browser/bench.mjs [ROUNDS]
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../scripts/serve.mjs';

const rounds = Number(process.argv[2] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wasm = readFileSync('target/wasm/corelogic_dsp_bg.wasm');
console.log(`wasm: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped`);

const server = await serve({ '/pkg': 'target/pkg', '/bench': 'benches/browser' });
const profile = mkdtempSync(join(tmpdir(), 'corelogic-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu'],
});
try {
  const open = async (query = '') => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/page.html${query}`);
    await page.waitForFunction(() => window.ready === true);
    return page;
  };
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    // The page starts its first audio at its module start; the driver only reads the time.
    const page = await open('?first-audio');
    loads.push(await page.evaluate(() => window.bench.firstAudio()));
    await page.close();
  }
  console.log(`page load to first audio: median ${median(loads).toFixed(0)} ms (${loads.map((x) => x.toFixed(0)).join(', ')})`);
  const page = await open();
  const analyze = await page.evaluate(() => window.bench.analyze());
  console.log(
    `analyze, 3-minute stereo, in the worker: first call ${analyze.first.toFixed(0)} ms (starting the worker), ` +
      `then median ${analyze.again.toFixed(0)} ms`,
  );
  for (const tracks of [1, 16, 64]) {
    const times = { ours: [], native: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? ['ours', 'native'] : ['native', 'ours'];
      for (const kind of order) times[kind].push(await page.evaluate(([k, t]) => window.bench.render(k, t), [kind, tracks]));
    }
    const [ours, native] = [median(times.ours), median(times.native)];
    console.log(`${tracks} track(s) of EQ (4 bands) + compressor: ours ${ours.toFixed(1)}x real time, native nodes ${native.toFixed(1)}x, ratio ${(ours / native).toFixed(2)}`);
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
