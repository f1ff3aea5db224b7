// Drives the demo page (www/, as scripts/run.sh serves it) as a user would, in headless Chromium: picks the
// generated loop (its waveform and analysis appear), adds an effect from the listing, plays, checks the output
// meter moves, turns the EQ's output gain down (the measured output drops), bypasses the compressor (its gain
// reduction meter returns to 0), renders a WAV download whose samples equal renderChain's, and saves a
// screenshot to target/browser-screenshots/demo.png. Run by scripts/test-browser.sh after the package build.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '../../scripts/serve.mjs';
import { collectProblems, launchChromium } from './harness.mjs';

const server = await serve({ '/': 'www', '/pkg': 'target/pkg' });
const chromium = await launchChromium({
  acceptDownloads: true,
  viewport: { width: 1000, height: 1300 },
  args: ['--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await chromium.browser.newPage();
  const errors = collectProblems(page);
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.demo && document.querySelectorAll('.insert').length === 2);
  const effects = await page.locator('#effect-list option').count();
  assert.equal(effects, 19, 'the listing fills the effect menu');

  await page.click('#generated');
  await page.waitForFunction(() => document.querySelectorAll('#analysis tr').length > 0);
  const tempo = await page.locator('#analysis tr:last-child td:last-child').textContent();
  assert.match(tempo, /^1(09|10|11)\.\d BPM$/, `the generated loop is at 110 BPM (${tempo})`);
  const inked = await page.evaluate(() => {
    const c = document.getElementById('waveform');
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n / (c.width * c.height);
  });
  assert.ok(inked > 0.05 && inked < 0.95, `the waveform is drawn (${(inked * 100).toFixed(1)} % of the canvas)`);
  console.log(`ok - generated loop: waveform drawn (${(inked * 100).toFixed(1)} % inked), analysis shown, tempo ${tempo}`);

  await page.selectOption('#effect-list', 'plate-reverb');
  await page.click('#add');
  await page.waitForFunction(() => document.querySelectorAll('.insert').length === 3);
  await page.click('#play');
  const level = () => page.evaluate(() => Number(document.getElementById('rms').value));
  await page.waitForFunction(() => Number(document.getElementById('rms').value) > -40, null, { timeout: 5000 });
  await page.waitForTimeout(1500);
  const before = await level();
  // The EQ's output gain slider to its minimum (-24 dB): the output RMS must fall by well over 10 dB.
  await page.locator('.insert:nth-of-type(1) input[data-param="outputGainDb"]').fill('0');
  await page.waitForTimeout(1500);
  const after = await level();
  assert.ok(before - after > 10, `the output fell from ${before} to ${after} dB RMS`);
  console.log(`ok - playing: output ${before.toFixed(1)} dB RMS, ${after.toFixed(1)} dB after the EQ's output gain went to -24 dB`);
  await page.locator('.insert:nth-of-type(1) input[data-param="outputGainDb"]').fill('500');

  await page.waitForFunction(() => /GR -[1-9]/.test(document.querySelector('[data-gr="1"]').textContent), null, { timeout: 5000 });
  await page.locator('.insert:nth-of-type(2) input[type="checkbox"]').uncheck();
  await page.waitForFunction(() => document.querySelector('[data-gr="1"]').textContent === 'GR 0.0 dB', null, { timeout: 5000 });
  console.log('ok - the compressor showed gain reduction, and none once bypassed');
  mkdirSync('target/browser-screenshots', { recursive: true });
  await page.screenshot({ path: 'target/browser-screenshots/demo.png', fullPage: true });

  const downloadStarted = page.waitForEvent('download');
  await page.click('#render');
  const download = await downloadStarted;
  const path = await download.path();
  const wav = readFileSync(path);
  const expected = await page.evaluate(async () => {
    const { core, chain } = window.demo;
    const source = window.demo.generatedLoop(window.demo.context.sampleRate);
    const rendered = await core.renderChain(chain, source, { tail: 2 });
    return { left: Array.from(rendered.getChannelData(0)), right: Array.from(rendered.getChannelData(1)) };
  });
  const frames = (wav.length - 44) / 8;
  assert.equal(frames, expected.left.length, 'the download has renderChain\'s length');
  let diff = 0;
  for (let i = 0; i < frames; i++) {
    diff = Math.max(diff, Math.abs(wav.readFloatLE(44 + i * 8) - expected.left[i]), Math.abs(wav.readFloatLE(48 + i * 8) - expected.right[i]));
  }
  assert.equal(diff, 0, 'the downloaded WAV equals renderChain sample for sample');
  console.log(`ok - the downloaded WAV (${frames} frames) equals renderChain's output`);
  assert.deepEqual(errors, [], `no page errors: ${errors.join(' | ')}`);
  console.log('demo page: ok (screenshot in target/browser-screenshots/demo.png)');
} finally {
  await chromium.close();
  await server.close();
}
