// The package's Web Worker (inlined into the package as a Blob URL by scripts/build-package.sh): runs the
// control side of the wasm module off the UI thread: the effect listing, chain validation (the Rust chain
// parser's errors with their JSON paths), the analysis and the waveform peaks. It receives the module compiled
// once on the main thread and instantiates it without wasm-bindgen's glue, like the worklet processor does.
// One file with no imports: a Blob URL cannot resolve them.

interface Exports {
  memory: WebAssembly.Memory;
  __wbindgen_start(): void;
  __wbindgen_malloc(len: number, align: number): number;
  __wbindgen_free(ptr: number, len: number, align: number): void;
  __wbindgen_externrefs: WebAssembly.Table;
  listing_json_len(): number;
  listing_json_ptr(): number;
  chain_create(sampleRateHz: number, capacityFrames: number): number;
  chain_free(chain: number): number;
  chain_append_json(chain: number, len: number): number;
  chain_latency(chain: number): number;
  input_bytes_ptr(len: number): number;
  analysis_samples_ptr(channels: number, frames: number): number;
  analyze(sampleRateHz: number, channels: number, frames: number): number;
  analyze_part(sampleRateHz: number, channels: number, frames: number, part: number): number;
  peaks(sampleRateHz: number, channels: number, frames: number, buckets: number, levels: number): number;
  result_json_ptr(): number;
  last_error_code(): number;
  last_error_len(): number;
  last_error_ptr(): number;
}

/** The requests the main thread sends (src/index.ts). */
export type WorkerRequest =
  | { id: number; op: 'init'; module: WebAssembly.Module }
  | { id: number; op: 'listing' }
  | { id: number; op: 'validate'; chainJson: string; sampleRateHz: number }
  /** `part`: all the measurements (absent), or the levels or the spectrum half, which two workers compute at
   * the same time (their objects' keys are disjoint; joined they are the whole analysis). */
  | { id: number; op: 'analyze'; sampleRateHz: number; channels: Float32Array[]; part?: AnalysisPart }
  | { id: number; op: 'peaks'; sampleRateHz: number; channels: Float32Array[]; buckets: number; levels: number };

/** Half of the analysis (src/wasm `analyze_part`). */
export type AnalysisPart = 'levels' | 'spectrum';
const PART_CODES: Record<AnalysisPart, number> = { levels: 1, spectrum: 2 };

/** The answers: a result, or the wasm module's error code (negative) and message. */
export type WorkerReply = { id: number; result: unknown } | { id: number; error: { code: number; message: string } };

/** The first externref slot after wasm-bindgen 0.2.130's reserved ones (its glue sets the same slots). */
const EXTERNREF_BASE = 1024;

/** Instantiates without the glue: the imports are the panic hook's and the externref table's (names hashed). */
function instantiate(module: WebAssembly.Module): Exports {
  let w!: Exports;
  const byPrefix: Record<string, (...args: any[]) => unknown> = {
    __wbg_new_: () => new Error(),
    __wbg_stack_: (returnAddress: number, error: Error) => {
      const bytes = new TextEncoder().encode(String(error.stack));
      const ptr = w.__wbindgen_malloc(bytes.length, 1) >>> 0;
      new Uint8Array(w.memory.buffer).set(bytes, ptr);
      const view = new DataView(w.memory.buffer);
      view.setInt32(returnAddress + 4, bytes.length, true);
      view.setInt32(returnAddress, ptr, true);
    },
    __wbg_error_: (ptr: number, len: number) => {
      console.error(new TextDecoder().decode(new Uint8Array(w.memory.buffer, ptr >>> 0, len)));
    },
    __wbindgen_init_externref_table: () => {
      const table = w.__wbindgen_externrefs;
      table.set(0, undefined);
      table.set(EXTERNREF_BASE, undefined);
      table.set(EXTERNREF_BASE + 1, null);
      table.set(EXTERNREF_BASE + 2, true);
      table.set(EXTERNREF_BASE + 3, false);
    },
  };
  const imports: Record<string, Record<string, (...args: any[]) => unknown>> = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    const prefix = Object.keys(byPrefix).find((p) => name.startsWith(p));
    if (!prefix) throw new Error(`unexpected wasm import ${from}.${name}`);
    (imports[from] ??= {})[name] = byPrefix[prefix];
  }
  w = new WebAssembly.Instance(module, imports).exports as unknown as Exports;
  w.__wbindgen_start();
  return w;
}

let w: Exports | null = null;
let compiled: WebAssembly.Module | null = null;

class WasmError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function text(ptr: number, len: number): string {
  return new TextDecoder().decode(new Uint8Array(w!.memory.buffer, ptr >>> 0, len));
}

/** Throws the module's last error when a call returned a negative code (or a 0 pointer). */
function check(result: number, failed = result < 0): number {
  if (failed) {
    // The length first: last_error_len formats the message, which moves it.
    const len = w!.last_error_len() >>> 0;
    throw new WasmError(w!.last_error_code(), text(w!.last_error_ptr(), len));
  }
  return result;
}

/** Copies the channels into wasm memory (planar) and returns the frame count. */
function writeSamples(channels: Float32Array[]): number {
  const frames = channels.length > 0 ? channels[0].length : 0;
  for (const [c, channel] of channels.entries()) {
    if (channel.length !== frames) {
      throw new WasmError(-15, `analysis: channel ${c} has ${channel.length} frames, channel 0 has ${frames}`);
    }
  }
  const ptr = w!.analysis_samples_ptr(channels.length, frames) >>> 0;
  check(-1, ptr === 0);
  const heap = new Float32Array(w!.memory.buffer, ptr, channels.length * frames);
  channels.forEach((channel, c) => heap.set(channel, c * frames));
  return frames;
}

/** Why the module given with `init` could not be instantiated: every later request is answered with it. */
let initFailure: string | null = null;

function handle(request: WorkerRequest): unknown {
  if (request.op === 'init') {
    try {
      w = instantiate(request.module);
      compiled = request.module;
    } catch (e) {
      initFailure = `the worker could not instantiate the module: ${String((e as Error).message ?? e)}`;
      throw new WasmError(-13, initFailure);
    }
    return null;
  }
  if (w === null) throw new WasmError(-13, initFailure ?? 'the worker was not given the module');
  switch (request.op) {
    case 'listing':
      return JSON.parse(text(w.listing_json_ptr(), check(w.listing_json_len())));
    case 'validate': {
      const bytes = new TextEncoder().encode(request.chainJson);
      const chain = check(w.chain_create(request.sampleRateHz, 128));
      try {
        new Uint8Array(w.memory.buffer, w.input_bytes_ptr(bytes.length) >>> 0, bytes.length).set(bytes);
        check(w.chain_append_json(chain, bytes.length));
        return { latency: w.chain_latency(chain) };
      } finally {
        w.chain_free(chain);
      }
    }
    case 'analyze': {
      const frames = writeSamples(request.channels);
      const { sampleRateHz, channels, part } = request;
      const len = check(
        part === undefined
          ? w.analyze(sampleRateHz, channels.length, frames)
          : w.analyze_part(sampleRateHz, channels.length, frames, PART_CODES[part]),
      );
      return JSON.parse(text(w.result_json_ptr(), len));
    }
    case 'peaks': {
      const frames = writeSamples(request.channels);
      const { sampleRateHz, channels, buckets, levels } = request;
      const len = check(w.peaks(sampleRateHz, channels.length, frames, buckets, levels));
      return JSON.parse(text(w.result_json_ptr(), len));
    }
  }
}

const workerScope = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: WorkerReply): void;
};
workerScope.onmessage = (event: MessageEvent) => {
  const request = event.data as WorkerRequest;
  try {
    workerScope.postMessage({ id: request.id, result: handle(request) });
  } catch (e) {
    const code = e instanceof WasmError ? e.code : -13;
    // A trap (a bug: bad input never traps) leaves the instance unusable: start a fresh one for what follows.
    if (!(e instanceof WasmError) && compiled !== null) {
      try {
        w = instantiate(compiled);
      } catch {
        w = null; // answered as "not given the module" from now on: nothing else can be done here
      }
    }
    workerScope.postMessage({ id: request.id, error: { code, message: String((e as Error).message ?? e) } });
  }
};
