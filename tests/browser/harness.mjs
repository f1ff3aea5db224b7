// What the Node side of the browser tests shares (tests/browser/*.mjs and tests/vite/run.mjs): Debian's headless
// Chromium launched through playwright-core in a throwaway profile, and the errors a page reports collected.
// (Their float WAV files are written by tests/common/wav.mjs.)
import { mkdtempSync, rmSync } from 'node:fs';
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
