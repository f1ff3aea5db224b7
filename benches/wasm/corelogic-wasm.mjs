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

/** The first externref slot after wasm-bindgen's reserved ones (its glue's `__wbindgen_init_externref_table`). */
export const EXTERNREF_BASE = 1024;

/** Instantiates the module without wasm-bindgen's glue, as an AudioWorklet must (its scope has no
 * TextDecoder/TextEncoder, which the glue constructs at load), and returns the raw exports. The module's imports
 * are the panic hook's (a panic message goes to `onPanic`, then the instance traps) and the externref table's
 * initialisation; their names carry hashes, so they are matched by prefix. */
export function instantiateWithoutGlue(module, onPanic = (message) => console.error(message)) {
  let w;
  const memoryBytes = () => new Uint8Array(w.memory.buffer);
  const byPrefix = {
    __wbg_new_: () => new Error(),
    __wbg_stack_: (returnAddress, error) => {
      const bytes = utf8Encode(String(error.stack));
      const ptr = w.__wbindgen_malloc(bytes.length, 1) >>> 0;
      memoryBytes().set(bytes, ptr);
      const view = new DataView(w.memory.buffer);
      view.setInt32(returnAddress + 4, bytes.length, true);
      view.setInt32(returnAddress, ptr, true);
    },
    __wbg_error_: (ptr, len) => {
      try {
        onPanic(utf8Decode(memoryBytes().subarray(ptr >>> 0, (ptr >>> 0) + len)));
      } finally {
        w.__wbindgen_free(ptr, len, 1);
      }
    },
    __wbindgen_init_externref_table: () => {
      // What wasm-bindgen 0.2.130's glue does (tests/wasm/raw-interface.mjs checks the glue still says so).
      const table = w.__wbindgen_externrefs;
      table.set(0, undefined);
      table.set(EXTERNREF_BASE, undefined);
      table.set(EXTERNREF_BASE + 1, null);
      table.set(EXTERNREF_BASE + 2, true);
      table.set(EXTERNREF_BASE + 3, false);
    },
  };
  const imports = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    const prefix = Object.keys(byPrefix).find((p) => name.startsWith(p));
    if (!prefix) throw new Error(`unexpected wasm import ${from}.${name}: update instantiateWithoutGlue`);
    (imports[from] ??= {})[name] = byPrefix[prefix];
  }
  w = new WebAssembly.Instance(module, imports).exports;
  w.__wbindgen_start();
  return w;
}

/** UTF-8 without TextEncoder (absent in an AudioWorklet). */
export function utf8Encode(text) {
  const out = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** UTF-8 without TextDecoder (absent in an AudioWorklet); the module only writes valid UTF-8. */
export function utf8Decode(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const extra = b < 0x80 ? 0 : b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
    let c = extra === 0 ? b : b & (0x3f >> extra);
    for (let k = 1; k <= extra; k++) c = (c << 6) | (bytes[i + k] & 63);
    text += String.fromCodePoint(c);
    i += extra + 1;
  }
  return text;
}

function readUtf8(w, ptr, len) {
  return utf8Decode(new Uint8Array(w.memory.buffer, ptr >>> 0, len));
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
  const bytes = utf8Encode(typeof chainJson === 'string' ? chainJson : JSON.stringify(chainJson));
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

/** Writes text as UTF-8 at `input_bytes_ptr` and returns its length in bytes. */
function writeInput(w, text) {
  const bytes = utf8Encode(text);
  const ptr = w.input_bytes_ptr(bytes.length) >>> 0;
  new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
  return bytes.length;
}

/** Builds an engine from a project (object or JSON text); returns its id. */
export function createEngine(w, sampleRateHz, maxQuantum, project) {
  const len = writeInput(w, typeof project === 'string' ? project : JSON.stringify(project));
  const id = w.engine_create(sampleRateHz, maxQuantum, len);
  if (id < 0) throw new Error(`engine_create: ${lastError(w).message}`);
  return id;
}

/** Applies a command (object or JSON text) between quanta. */
export function applyEngineCommand(w, engine, command) {
  const len = writeInput(w, typeof command === 'string' ? command : JSON.stringify(command));
  if (w.engine_apply_json(engine, len) !== 0) throw new Error(`engine_apply_json: ${lastError(w).message}`);
}

/** Views over an engine's buffers: { inputs (planar, per track left then right), kinds (u8 per track), left,
 * right }. They detach when the memory grows: call again after building engines or adding inserts. */
export function engineViews(w, engine, maxQuantum) {
  const tracks = w.engine_track_count(engine);
  return {
    inputs: new Float32Array(w.memory.buffer, w.engine_inputs_ptr(engine) >>> 0, tracks * 2 * maxQuantum),
    kinds: new Uint8Array(w.memory.buffer, w.engine_input_kinds_ptr(engine) >>> 0, tracks),
    left: new Float32Array(w.memory.buffer, w.engine_output_ptr(engine, 0) >>> 0, maxQuantum),
    right: new Float32Array(w.memory.buffer, w.engine_output_ptr(engine, 1) >>> 0, maxQuantum),
  };
}
