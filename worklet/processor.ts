// The AudioWorkletProcessor that hosts effect chains (issue 11, first slice): compiled by `tsc -p worklet` to one
// ES module with no imports (target/worklet/processor.js), loaded with `audioWorklet.addModule`.
//
// - The wasm module is compiled once on the main thread and passed in `processorOptions.module`; the first
//   processor of an AudioContext instantiates it synchronously, without wasm-bindgen's glue (the worklet scope
//   has no TextDecoder/TextEncoder), and every processor of that context shares the instance (they share the
//   global scope).
// - `process()` allocates nothing: buffer views are kept and re-created only when wasm memory grows; meters
//   (optional) are the only messages it posts.
// - Control messages (`param`, `enabled`, `tempo`) carry an optional context time in seconds and are applied at
//   that frame; without one, at the next block.
// - A trap never escapes `process()`: the block is silent, an `error` message names the node (its
//   `processorOptions.name`) and the insert that trapped (read from the trapped instance's memory), and every
//   processor of the context rebuilds its chain and its last parameters on a fresh instance from the same
//   module; the others post the same notice, since their state restarted too.
// - Test hooks: `TEST_HOOKS` is false here and in the published package; `scripts/build-package.sh
//   --test-hooks` flips it in its own build (target/pkg-test-hooks/, with a wasm built with the cargo feature
//   `fault-injection`), where the message `{type: 'test-trap', insert}` arms a real trap and
//   `processorOptions.testAllocate` makes `process()` allocate (for the garbage-collection test).
// - The processor is registered once per global scope even when this module is evaluated twice.

// The AudioWorkletGlobalScope's names (TypeScript's DOM library, used here for the WebAssembly types, has none).
declare const sampleRate: number;
declare const currentFrame: number;
declare function registerProcessor(name: string, processorCtor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: unknown);
}

export const PROCESSOR_NAME = 'corelogic-effect-chain';
const QUANTUM_FRAMES = 128;
const METER_RATE_HZ = 30;
/** Replaced by `true` only in the test build (scripts/build-package.sh --test-hooks); see the header. */
const TEST_HOOKS = false;

/** The raw exports of the wasm module (src/wasm/mod.rs). */
interface Exports {
  memory: WebAssembly.Memory;
  __wbindgen_start(): void;
  __wbindgen_malloc(len: number, align: number): number;
  __wbindgen_free(ptr: number, len: number, align: number): void;
  __wbindgen_externrefs: WebAssembly.Table;
  chain_create(sampleRateHz: number, capacityFrames: number): number;
  chain_free(chain: number): number;
  chain_append_json(chain: number, len: number): number;
  chain_set_param(chain: number, insert: number, param: number, value: number, frame: number, source: number): number;
  chain_set_enabled(chain: number, insert: number, enabled: boolean, frame: number): number;
  chain_set_tempo(chain: number, bpm: number, frame: number): number;
  chain_process(chain: number, frames: number): number;
  chain_left_ptr(chain: number): number;
  chain_right_ptr(chain: number): number;
  chain_frame(chain: number): number;
  chain_insert_count(chain: number): number;
  chain_latency(chain: number): number;
  chain_gain_reduction_db(chain: number, insert: number): number;
  input_bytes_ptr(len: number): number;
  last_error_code(): number;
  last_error_len(): number;
  last_error_ptr(): number;
  processing_insert_ptr(): number;
  /** Only in the wasm built with the cargo feature `fault-injection`. */
  test_trap_arm?(chain: number, insert: number): void;
}

/** What the main thread passes: the compiled module and the chain JSON as UTF-8 bytes. */
export interface ChainProcessorOptions {
  module: WebAssembly.Module;
  chainJson: Uint8Array;
  /** Post meters (gain reduction per insert, output peak and RMS) at about 30 Hz. */
  meters?: boolean;
  /** The node's name, given back in trap reports. */
  name?: string;
  /** Test build only (TEST_HOOKS): `process()` makes garbage, as a view per call would. */
  testAllocate?: boolean;
}

export type ControlMessage =
  | { type: 'param'; insert: number; param: number; value: number; time?: number; source?: 'user' | 'automation' }
  | { type: 'enabled'; insert: number; enabled: boolean; time?: number }
  | { type: 'tempo'; bpm: number; time?: number }
  /** Replaces the whole chain (its state starts fresh); answers `chain` with the new inserts and latency. */
  | { type: 'chain'; chainJson: Uint8Array }
  /** Answered by `pong` with the same id once every earlier message was applied (an OfflineAudioContext does
   * not deliver messages while it renders: wait for this before `startRendering()`), with the context frame
   * and how many times this module was evaluated and registered its processor in the scope (tests check). */
  | { type: 'ping'; id: number }
  /** Frees the chain; the processor then outputs silence and lets the node be collected. */
  | { type: 'dispose' }
  /** Test build only (TEST_HOOKS): the insert's next run traps. */
  | { type: 'test-trap'; insert: number };

/** The first externref slot after wasm-bindgen 0.2.130's reserved ones (its glue sets the same slots). */
const EXTERNREF_BASE = 1024;

function utf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

function utf8Decode(bytes: Uint8Array): string {
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

/** Instantiates without the glue: the imports are the panic hook's and the externref table's (names hashed). */
function instantiate(module: WebAssembly.Module, onPanic: (message: string) => void): Exports {
  let w!: Exports;
  const byPrefix: Record<string, (...args: any[]) => unknown> = {
    __wbg_new_: () => new Error(),
    __wbg_stack_: (returnAddress: number, error: Error) => {
      const bytes = utf8Encode(String(error.stack));
      const ptr = w.__wbindgen_malloc(bytes.length, 1) >>> 0;
      new Uint8Array(w.memory.buffer).set(bytes, ptr);
      const view = new DataView(w.memory.buffer);
      view.setInt32(returnAddress + 4, bytes.length, true);
      view.setInt32(returnAddress, ptr, true);
    },
    __wbg_error_: (ptr: number, len: number) => {
      onPanic(utf8Decode(new Uint8Array(w.memory.buffer, ptr >>> 0, len)));
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

/** The one instance of this global scope (= this AudioContext), shared by its processors. */
interface Shared {
  module: WebAssembly.Module;
  exports: Exports;
  /** Increments whenever a trap forced a fresh instance: processors with an older one rebuild their chain. */
  generation: number;
  lastPanic: string;
  /** Where the instance keeps the index of the insert it is running (-1 outside `chain_process`). */
  processingInsertPtr: number;
  /** The last trap: which node and insert, for the other processors' notices. */
  lastTrap: { node: string; insert: number | null; message: string } | null;
}
const scope = globalThis as unknown as {
  __corelogicShared?: Shared;
  __corelogicRegistered?: boolean;
  /** How many times this module was evaluated in this scope (two copies of the package add it twice), and how
   * many times it called registerProcessor there (once: a second call of the name would throw). */
  __corelogicEvaluations?: number;
  __corelogicRegistrations?: number;
};
scope.__corelogicEvaluations = (scope.__corelogicEvaluations ?? 0) + 1;

function sharedInstance(module: WebAssembly.Module): Shared {
  let shared = scope.__corelogicShared;
  if (!shared) {
    shared = { module, exports: undefined as unknown as Exports, generation: 0, lastPanic: '', processingInsertPtr: 0, lastTrap: null };
    const s = shared;
    s.exports = instantiate(module, (message) => (s.lastPanic = message));
    s.processingInsertPtr = s.exports.processing_insert_ptr() >>> 0;
    scope.__corelogicShared = shared;
  }
  return shared;
}

function lastErrorMessage(w: Exports): string {
  const len = w.last_error_len() >>> 0;
  return utf8Decode(new Uint8Array(w.memory.buffer, w.last_error_ptr() >>> 0, len));
}

class ChainProcessor extends AudioWorkletProcessor {
  private shared: Shared;
  private generation = -1;
  private chain = -1;
  private inserts = 0;
  private buffer: ArrayBufferLike | null = null;
  private left: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private right: Float32Array<ArrayBufferLike> = new Float32Array(0);
  /** The context frame at the chain's frame 0 (the chain counts the frames it processed). */
  private contextFrameAtChainStart = 0;
  private chainFrames = 0;
  private chainJson: Uint8Array;
  private disposed = false;
  /** The last value of every parameter changed by message, replayed after a trap: key insert * 1024 + param. */
  private readonly lastParams = new Map<number, number>();
  private readonly lastEnabled = new Map<number, boolean>();
  private lastTempoBpm: number | null = null;
  private readonly meters: boolean;
  private readonly meterIntervalFrames = Math.round(sampleRate / METER_RATE_HZ);
  private framesSinceMeter = 0;
  private peak = 0;
  private sumSquares = 0;
  private meterFrames = 0;
  private gainReduction = new Float32Array(0);
  private failed = false;
  private readonly name: string;
  private readonly testAllocate: boolean;
  /** Test build only: where `testAllocate` keeps its garbage alive for one call. */
  private garbage: unknown = null;

  constructor(options: { processorOptions: ChainProcessorOptions }) {
    super(options);
    const { module, chainJson, meters, name, testAllocate } = options.processorOptions;
    this.chainJson = chainJson;
    this.meters = meters === true;
    this.name = typeof name === 'string' ? name : '';
    this.testAllocate = TEST_HOOKS && testAllocate === true;
    this.contextFrameAtChainStart = currentFrame;
    this.shared = undefined as unknown as Shared;
    try {
      this.shared = sharedInstance(module);
      this.build();
      this.port.postMessage({ type: 'ready', inserts: this.inserts, latency: this.shared.exports.chain_latency(this.chain) });
    } catch (e) {
      // A constructor exception reaches the page only as a bare `processorerror`: say what it was.
      this.failed = true;
      this.port.postMessage({ type: 'error', code: 'create', message: String((e as Error).message ?? e) });
    }
    this.port.onmessage = (event) => this.control(event.data as ControlMessage);
  }

  /** Creates the chain on the current instance, with the parameters changed so far. */
  private build(): void {
    const w = this.shared.exports;
    this.generation = this.shared.generation;
    this.chain = w.chain_create(sampleRate, QUANTUM_FRAMES);
    if (this.chain < 0) throw new Error(lastErrorMessage(w));
    const ptr = w.input_bytes_ptr(this.chainJson.length) >>> 0;
    new Uint8Array(w.memory.buffer, ptr, this.chainJson.length).set(this.chainJson);
    if (w.chain_append_json(this.chain, this.chainJson.length) < 0) throw new Error(lastErrorMessage(w));
    this.inserts = w.chain_insert_count(this.chain);
    this.gainReduction = new Float32Array(this.inserts);
    for (const [key, value] of this.lastParams) {
      w.chain_set_param(this.chain, Math.floor(key / 1024), key % 1024, value, 0, 1);
    }
    for (const [insert, enabled] of this.lastEnabled) w.chain_set_enabled(this.chain, insert, enabled, 0);
    if (this.lastTempoBpm !== null) w.chain_set_tempo(this.chain, this.lastTempoBpm, 0);
    this.contextFrameAtChainStart = currentFrame;
    this.chainFrames = 0;
    this.buffer = null;
  }

  /** A context time in seconds as a frame of the chain's clock (now when absent or past). */
  private chainFrameAt(time: number | undefined): number {
    const now = this.chainFrames;
    if (time === undefined) return now;
    return Math.max(now, Math.round(time * sampleRate) - this.contextFrameAtChainStart);
  }

  private control(message: ControlMessage): void {
    if (message.type === 'ping') {
      this.port.postMessage({ type: 'pong', id: message.id, frame: currentFrame, moduleEvaluations: scope.__corelogicEvaluations, registrations: scope.__corelogicRegistrations });
      return;
    }
    if (this.failed || this.disposed) return;
    const w = this.shared.exports;
    if (message.type === 'dispose') {
      w.chain_free(this.chain);
      this.disposed = true;
      return;
    }
    if (message.type === 'chain') {
      this.replaceChain(message.chainJson);
      return;
    }
    if (TEST_HOOKS && message.type === 'test-trap') {
      w.test_trap_arm?.(this.chain, message.insert);
      return;
    }
    let result = 0;
    if (message.type === 'param') {
      const source = message.source === 'automation' ? 1 : 0;
      const frame = this.chainFrameAt(message.time);
      result = w.chain_set_param(this.chain, message.insert, message.param, message.value, frame, source);
      if (result === 0) this.lastParams.set(message.insert * 1024 + message.param, message.value);
    } else if (message.type === 'enabled') {
      result = w.chain_set_enabled(this.chain, message.insert, message.enabled, this.chainFrameAt(message.time));
      if (result === 0) this.lastEnabled.set(message.insert, message.enabled);
    } else if (message.type === 'tempo') {
      result = w.chain_set_tempo(this.chain, message.bpm, this.chainFrameAt(message.time));
      if (result === 0) this.lastTempoBpm = message.bpm;
    }
    if (result < 0) {
      this.port.postMessage({ type: 'error', code: result, message: lastErrorMessage(w), request: message });
    }
  }

  /** Builds the new chain beside the old one and swaps only when it was accepted (then forgets the old
   * chain's parameter changes: they addressed its inserts). */
  private replaceChain(chainJson: Uint8Array): void {
    const w = this.shared.exports;
    const old = { chain: this.chain, json: this.chainJson, frames: this.chainFrames, start: this.contextFrameAtChainStart, params: new Map(this.lastParams), enabled: new Map(this.lastEnabled) };
    this.chainJson = chainJson;
    this.lastParams.clear();
    this.lastEnabled.clear();
    try {
      this.build();
      w.chain_free(old.chain);
      this.port.postMessage({ type: 'chain', inserts: this.inserts, latency: w.chain_latency(this.chain) });
    } catch (e) {
      if (this.chain !== old.chain && this.chain >= 0) w.chain_free(this.chain);
      this.chain = old.chain;
      this.chainJson = old.json;
      this.chainFrames = old.frames;
      this.contextFrameAtChainStart = old.start;
      for (const [k, v] of old.params) this.lastParams.set(k, v);
      for (const [k, v] of old.enabled) this.lastEnabled.set(k, v);
      this.inserts = w.chain_insert_count(old.chain);
      this.gainReduction = new Float32Array(this.inserts);
      this.buffer = null;
      this.port.postMessage({ type: 'error', code: 'chain', message: String((e as Error).message ?? e) });
    }
  }

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const output = outputs[0];
    if (this.disposed) {
      for (let c = 0; c < output.length; c++) output[c].fill(0);
      return false;
    }
    if (this.failed) {
      for (let c = 0; c < output.length; c++) output[c].fill(0);
      return true;
    }
    try {
      if (this.generation !== this.shared.generation) {
        // Another processor of this context trapped: this chain restarts on the fresh instance too.
        this.build();
        this.port.postMessage({ type: 'error', code: 'trap', ...this.shared.lastTrap, rebuilt: this.name });
      }
      const w = this.shared.exports;
      if (this.testAllocate) this.garbage = this.left.subarray(0, output[0].length);
      if (this.buffer !== w.memory.buffer) {
        const buffer = w.memory.buffer;
        this.buffer = buffer;
        this.left = new Float32Array(buffer, w.chain_left_ptr(this.chain) >>> 0, QUANTUM_FRAMES);
        this.right = new Float32Array(buffer, w.chain_right_ptr(this.chain) >>> 0, QUANTUM_FRAMES);
      }
      // Keep the context-to-chain frame mapping exact if the render thread skipped calls.
      this.contextFrameAtChainStart = currentFrame - this.chainFrames;
      const input = inputs[0];
      if (input === undefined || input.length === 0) {
        this.left.fill(0);
        this.right.fill(0);
      } else {
        this.left.set(input[0]);
        this.right.set(input.length > 1 ? input[1] : input[0]);
      }
      const frames = output[0].length;
      if (w.chain_process(this.chain, frames) !== 0) throw new Error(lastErrorMessage(w));
      this.chainFrames += frames;
      // Whole quanta copy without a subarray view (a view is an allocation).
      output[0].set(frames === QUANTUM_FRAMES ? this.left : this.left.subarray(0, frames));
      if (output.length > 1) output[1].set(frames === QUANTUM_FRAMES ? this.right : this.right.subarray(0, frames));
      if (this.meters) this.meter(w, frames);
    } catch (e) {
      for (let c = 0; c < output.length; c++) output[c].fill(0);
      this.recover(e);
    }
    return true;
  }

  private meter(w: Exports, frames: number): void {
    for (let i = 0; i < frames; i++) {
      const l = this.left[i];
      const r = this.right[i];
      this.peak = Math.max(this.peak, Math.abs(l), Math.abs(r));
      this.sumSquares += l * l + r * r;
    }
    this.meterFrames += frames;
    this.framesSinceMeter += frames;
    for (let i = 0; i < this.inserts; i++) {
      this.gainReduction[i] = Math.min(this.gainReduction[i], w.chain_gain_reduction_db(this.chain, i));
    }
    if (this.framesSinceMeter >= this.meterIntervalFrames) {
      const rms = Math.sqrt(this.sumSquares / (2 * this.meterFrames));
      this.port.postMessage({
        type: 'meters',
        gainReductionDb: Array.from(this.gainReduction),
        peak: this.peak,
        rms,
        frame: currentFrame + frames,
      });
      this.gainReduction.fill(0);
      this.peak = this.sumSquares = this.meterFrames = 0;
      // Keep the remainder, so reports average exactly METER_RATE_HZ although they fall on quantum boundaries.
      this.framesSinceMeter -= this.meterIntervalFrames;
    }
  }

  /** After a trap: a fresh instance from the same module for the whole context; this processor rebuilds now,
   * the others on their next block. */
  private recover(error: unknown): void {
    const shared = this.shared;
    const message = String((error as Error).message ?? error);
    let insert: number | null = null;
    if (this.generation === shared.generation) {
      // The trapped instance's memory still says which insert was running (no call into it is safe).
      const running = new DataView(shared.exports.memory.buffer).getInt32(shared.processingInsertPtr, true);
      insert = running >= 0 ? running : null;
      shared.lastTrap = { node: this.name, insert, message };
      shared.generation += 1;
      shared.exports = instantiate(shared.module, (m) => (shared.lastPanic = m));
      shared.processingInsertPtr = shared.exports.processing_insert_ptr() >>> 0;
    }
    this.buffer = null;
    try {
      this.build();
    } catch (e) {
      this.failed = true;
      this.port.postMessage({ type: 'error', code: 'create', message: String((e as Error).message ?? e) });
    }
    this.port.postMessage({ type: 'error', code: 'trap', message, panic: shared.lastPanic, node: this.name, insert });
  }
}

if (!scope.__corelogicRegistered) {
  scope.__corelogicRegistered = true;
  scope.__corelogicRegistrations = (scope.__corelogicRegistrations ?? 0) + 1;
  registerProcessor(PROCESSOR_NAME, ChainProcessor);
}
