// Browser benchmark of the package (run by hand after scripts/build-package.sh; CI does not run it):
// - one track's chain (EQ with 4 peaking bands + compressor) as our node against the same chain of native nodes
//   (4 BiquadFilterNodes + a DynamicsCompressorNode), 1, 16 and 64 tracks, x real time of a 10 s render in an
//   OfflineAudioContext, the two sides interleaved, medians of the rounds and their ratio;
// - the wasm size raw and gzipped; page load to first audio (median of fresh pages), from this machine's
//   loopback and over an emulated link (50 Mbit/s, 20 ms per request, the server gzipping: Chromium's network
//   emulation); analyze of a 3-minute stereo buffer in the worker.
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

const mounts = { '/pkg': 'target/pkg', '/bench': 'benches/browser' };
const server = await serve(mounts);
const gzipServer = await serve(mounts, 0, { gzip: true });
/** An emulated link: a user's download, not this machine's loopback. */
const LINK = { latencyMs: 20, megabitsPerSecond: 50 };
const profile = mkdtempSync(join(tmpdir(), 'corelogic-chromium-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--disable-gpu'],
});
try {
  const open = async (query = '', link = null) => {
    const page = await browser.newPage();
    if (link) {
      // Chrome DevTools Protocol, Network.emulateNetworkConditions: latency per request, throughput in bytes/s.
      const cdp = await browser.newCDPSession(page);
      await cdp.send('Network.enable');
      const bytesPerSecond = (link.megabitsPerSecond * 1e6) / 8;
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: link.latencyMs, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond });
    }
    await page.goto(`${(link ? gzipServer : server).url}/bench/page.html${query}`);
    await page.waitForFunction(() => window.ready === true);
    return page;
  };
  const loads = [];
  const linkLoads = [];
  for (let r = 0; r < rounds; r++) {
    // The page starts its first audio at its module start; the driver only reads the time.
    for (const [link, times] of [[null, loads], [LINK, linkLoads]]) {
      const page = await open('?first-audio', link);
      times.push(await page.evaluate(() => window.bench.firstAudio()));
      await page.close();
    }
  }
  const list = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`page load to first audio: median ${median(loads).toFixed(0)} ms (${list(loads)})`);
  console.log(
    `page load to first audio over ${LINK.megabitsPerSecond} Mbit/s, ${LINK.latencyMs} ms, gzip: ` +
      `median ${median(linkLoads).toFixed(0)} ms (${list(linkLoads)})`,
  );
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
  await gzipServer.close();
  rmSync(profile, { recursive: true, force: true });
}
