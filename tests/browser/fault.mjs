// An injected fault (issue 11): the package's test build (`scripts/build-package.sh --test-hooks`, in
// target/pkg-test-hooks) can make one insert execute wasm `unreachable`, a real trap of the AudioContext's shared
// instance. Page: tests/browser/fault.html + fault.js. Asserts:
// - the published package (target/pkg) cannot do it: its wasm has no `test_trap_arm` export and its worklet has
//   TEST_HOOKS false (its wasm file and its inlined copy are the same bytes); the test build has both;
// - OfflineAudioContext, nodes A and B side by side, A's insert 1 traps at a known frame: A equals its chain up
//   to that frame, outputs exactly one silent block, then equals a fresh chain with the parameters it had been
//   sent (not the uninterrupted output); B equals its chain up to its rebuild (the trap's block or the next one)
//   and a fresh chain with its parameters after; A's error event is a CoreLogicError `trap` naming node A,
//   insert 1 and its effect; B's names the same trap;
// - a running AudioContext: after the trap both nodes keep metering output, a parameter change on A still acts
//   (makeup -12 dB scales its peak by 0.251 within 0.03),
//   and the page's timers keep firing (the page keeps running); no console or page error.
// Usage: node tests/browser/fault.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serve } from '../../scripts/serve.mjs';
import { collectProblems, launchChromium } from './harness.mjs';

const TOLERANCE = 1e-6;
const started = Date.now();
let passed = 0;
const ok = (what) => console.log(`ok ${++passed} - ${what}`);

// ---- the hook is gated: absent from the published package ----
async function assetsOf(dir) {
  const assets = await import(pathToFileURL(resolve(dir, 'assets.js')).href);
  // The package's wasm file and its inlined fallback copy are the same module.
  const wasm = readFileSync(resolve(dir, 'corelogic_dsp_bg.wasm'));
  const inline = await import(pathToFileURL(resolve(dir, 'wasm-inline.js')).href);
  assert.ok(wasm.equals(Buffer.from(inline.WASM_BASE64, 'base64')), `${dir}: wasm-inline.js is corelogic_dsp_bg.wasm`);
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(wasm)).map((e) => e.name);
  return { exports, worklet: assets.WORKLET_SOURCE };
}
const published = await assetsOf('target/pkg');
const testBuild = await assetsOf('target/pkg-test-hooks');
assert.ok(!published.exports.includes('test_trap_arm'), 'the published wasm has no test_trap_arm export');
assert.ok(published.worklet.includes('const TEST_HOOKS = false;'), 'the published worklet has TEST_HOOKS false');
assert.ok(published.exports.includes('processing_insert_ptr'), 'the published wasm says which insert runs');
assert.ok(testBuild.exports.includes('test_trap_arm'), 'the test build has test_trap_arm');
assert.ok(testBuild.worklet.includes('const TEST_HOOKS = true;'), 'the test build has TEST_HOOKS true');
ok('the fault hook is only in the test build: the published wasm (its file and its inlined copy, equal) has no test_trap_arm, its worklet TEST_HOOKS false');

const server = await serve({ '/pkg': 'target/pkg-test-hooks', '/test': 'tests/browser' });
const chromium = await launchChromium({ args: ['--autoplay-policy=no-user-gesture-required'] });

/** A's own trap event and B's notice of it. */
function checkEvents(events, label) {
  const own = events.filter((e) => e.on === 'A');
  const notice = events.filter((e) => e.on === 'B');
  assert.equal(own.length, 1, `${label}: one error event on A (${JSON.stringify(events)})`);
  assert.equal(notice.length, 1, `${label}: one error event on B (${JSON.stringify(events)})`);
  for (const e of [...own, ...notice]) {
    assert.equal(e.isCoreLogicError, true, `${label}: a CoreLogicError`);
    assert.equal(e.code, 'trap', `${label}: code`);
    assert.equal(e.path.node, 'A', `${label}: names the node that trapped (${e.message})`);
    assert.equal(e.path.insert, 1, `${label}: names the insert that trapped (${e.message})`);
    assert.match(e.message, /unreachable/, `${label}: the trap's own message`);
  }
  assert.equal(own[0].path.effect, 'compressor', `${label}: A's event names the insert's effect`);
  assert.match(notice[0].message, /'B'/, `${label}: B's notice says B was rebuilt`);
  return own[0].message;
}

try {
  const page = await chromium.browser.newPage();
  const problems = collectProblems(page);
  await page.goto(`${server.url}/test/fault.html`);
  await page.waitForFunction(() => window.ready === true);

  const TRAP_FRAME = 96 * 128;
  const off = await page.evaluate((f) => window.tests.offline(f), TRAP_FRAME);
  assert.ok(off.beforeA <= TOLERANCE, `A before the trap differs from its chain by ${off.beforeA}`);
  assert.equal(off.silentA, true, 'A outputs silence in the trapped block');
  assert.ok(off.afterA <= TOLERANCE, `A after the trap differs from a fresh chain with its parameters by ${off.afterA}`);
  assert.ok(off.afterAVersusUninterrupted > 1e-3, `A restarted from a fresh state (${off.afterAVersusUninterrupted} from the uninterrupted output)`);
  const b = off.b.find((c) => c.before <= TOLERANCE && c.after <= TOLERANCE);
  assert.ok(b, `B equals its chain until it rebuilt and a fresh chain after: ${JSON.stringify(off.b)}`);
  const message = checkEvents(off.events, 'offline');
  ok(`offline, A traps at frame ${TRAP_FRAME}: A equals its chain before (diff ${off.beforeA}), one silent block, then a fresh chain with its parameters (diff ${off.afterA}); B rebuilt at frame ${b.rebuilt} with its parameters (diff ${b.after}); events name node A, insert 1: "${message}"`);

  const rt = await page.evaluate(() => window.tests.realtime());
  checkEvents(rt.events, 'real time');
  assert.ok(rt.recovered.A > 0.01 && rt.recovered.B > 0.01, `both nodes output again after the trap (peaks ${JSON.stringify(rt.recovered)})`);
  // makeupDb -12 on A's compressor after the trap: its output peak scales by 10^(-12/20) = 0.251.
  const ratio = rt.afterChange / rt.recovered.A;
  assert.ok(Math.abs(ratio - 0.251) < 0.03, `a parameter change on A after the trap acts: peak ${rt.recovered.A} -> ${rt.afterChange} (x${ratio}, expected 0.251)`);
  assert.ok(rt.ticks >= 50, `the page's 10 ms timer kept firing (${rt.ticks} ticks in about 1 s)`);
  ok(`a running AudioContext: after A's trap both nodes meter output again (peaks A ${rt.recovered.A.toFixed(3)}, B ${rt.recovered.B.toFixed(3)}), makeup -12 dB on A then scales its peak by ${ratio.toFixed(3)} (0.251 expected), ${rt.ticks} timer ticks`);
  assert.deepEqual(problems, [], problems.join(' | '));
  ok('no console or page error');
} finally {
  await chromium.close();
  await server.close();
}
console.log(`# ${passed} fault tests passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
