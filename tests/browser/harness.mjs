// What the Node side of the browser tests shares (tests/browser/*.mjs and tests/vite/run.mjs): Debian's headless
// Chromium launched through playwright-core in a throwaway profile, the errors a page reports collected, and
// 32-bit float WAV files written for the CLI and read back from it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Debian's Chromium: playwright-core only launches it, never a browser build of its own. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium in a fresh profile directory, with `args` after `--no-sandbox --disable-gpu` and `options`
 * passed to launchPersistentContext (viewport, acceptDownloads...). Resolves to { browser, close }: close() closes
 * the browser and removes the profile.
 */
export async function launchChromium({ args = [], ...options } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'corelogic-chromium-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  let browser;
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      ...options,
      args: ['--no-sandbox', '--disable-gpu', ...args],
    });
  } catch (e) {
    removeProfile();
    throw e;
  }
  const close = async () => {
    try {
      await browser.close();
    } finally {
      removeProfile();
    }
  };
  return { browser, close };
}

/**
 * Collects what `page` reports as wrong, as readable lines in the returned array (filled as it happens): console
 * errors and uncaught page errors, and with `requests`, HTTP errors (status 400 and above) and failed requests.
 */
export function collectProblems(page, { requests = false } = {}) {
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e}`));
  if (requests) {
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} for ${r.url()}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  }
  return problems;
}

/** Writes planar `channels` (Float32Arrays) as a 32-bit float WAV (WAVE_FORMAT_IEEE_FLOAT, 44-byte header). */
export function writeFloatWav(path, channels, sampleRateHz) {
  const frames = channels[0].length;
  const n = channels.length;
  const data = Buffer.alloc(frames * 4 * n);
  for (let i = 0; i < frames; i++) for (let c = 0; c < n; c++) data.writeFloatLE(channels[c][i], (i * n + c) * 4);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20); // WAVE_FORMAT_IEEE_FLOAT
  header.writeUInt16LE(n, 22);
  header.writeUInt32LE(sampleRateHz, 24);
  header.writeUInt32LE(sampleRateHz * 4 * n, 28);
  header.writeUInt16LE(4 * n, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

/** A 32-bit float WAV (as the CLI writes it: IEEE float, possibly WAVE_FORMAT_EXTENSIBLE) as planar channels. */
export function readFloatWav(path) {
  const bytes = readFileSync(path);
  let channels = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString('latin1', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') channels = bytes.readUInt16LE(at + 10);
    if (id === 'data') {
      const frames = size / 4 / channels;
      const out = Array.from({ length: channels }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[c][i] = bytes.readFloatLE(at + 8 + (i * channels + c) * 4);
      return out;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}
