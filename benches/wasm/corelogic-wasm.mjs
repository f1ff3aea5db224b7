// Loads the wasm build (target/wasm/, from scripts/build-wasm.sh) in Node and wraps its raw numeric exports
// for the benchmark and the test. Plain JS, no dependencies. The raw exports are what an AudioWorklet would
// call: numbers in, numbers out; text crosses as UTF-8 bytes at a pointer.
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);

/** Instantiates the module through wasm-bindgen's `--target web` glue and returns the raw exports. */
export async function loadWasm() {
  const glue = await import(new URL('target/wasm/corelogic_dsp.js', root));
  const bytes = readFileSync(new URL('target/wasm/corelogic_dsp_bg.wasm', root));
  return glue.initSync({ module: bytes });
}

function readUtf8(w, ptr, len) {
  return new TextDecoder().decode(new Uint8Array(w.memory.buffer, ptr >>> 0, len));
}

/** The last error as { code, message }. */
export function lastError(w) {
  const code = w.last_error_code();
  const len = w.last_error_len() >>> 0;
  return { code, message: readUtf8(w, w.last_error_ptr(), len) };
}

/** The effect listing (the library's listing JSON, read as bytes). */
export function listing(w) {
  const len = w.listing_json_len();
  if (len < 0) throw new Error(`listing: ${lastError(w).message}`);
  return JSON.parse(readUtf8(w, w.listing_json_ptr(), len));
}

/** Appends a chain JSON (the CLI's --chain shape) to a chain; returns the first insert's index. */
export function appendChainJson(w, chain, chainJson) {
  const bytes = new TextEncoder().encode(typeof chainJson === 'string' ? chainJson : JSON.stringify(chainJson));
  const ptr = w.input_bytes_ptr(bytes.length) >>> 0;
  new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
  const first = w.chain_append_json(chain, bytes.length);
  if (first < 0) throw new Error(`chain_append_json: ${lastError(w).message}`);
  return first;
}

/** Creates a chain and returns { id, left, right } with Float32Array views over its buffers. Views detach
 * when the memory grows: call `views(w, chain)` again after creating more chains. */
export function createChain(w, sampleRateHz, capacityFrames) {
  const id = w.chain_create(sampleRateHz, capacityFrames);
  if (id < 0) throw new Error(`chain_create: ${lastError(w).message}`);
  return { id, ...views(w, id) };
}

export function views(w, id) {
  const capacity = w.chain_capacity(id);
  return {
    left: new Float32Array(w.memory.buffer, w.chain_left_ptr(id) >>> 0, capacity),
    right: new Float32Array(w.memory.buffer, w.chain_right_ptr(id) >>> 0, capacity),
  };
}
