// corelogic-dsp in the browser: effect chains in an AudioWorklet, offline renders, analysis and waveform peaks in
// a Web Worker. The wasm module is compiled once per page on the main thread and handed to the worklet and the
// worker as a `WebAssembly.Module`; both are loaded from Blob URLs of sources inlined in this package. The wasm
// is the file next to this module, compiled while it downloads; a copy inlined as base64 (`wasm-inline.js`) is
// imported only when that file cannot be fetched (a bundler that moved this module without its assets).
// This module imports no other module statically: `loadCoreLogic` starts the wasm download together with the
// imports of the scripts (`assets.js`) and the listing (`effects.js`): a round trip earlier than after them.

import type { EffectId, EffectParameterNames } from './effects.js';
import type { AnalysisPart, WorkerReply, WorkerRequest } from './worker.js';

export type { EffectId, EffectParameterName, EffectParameterNames } from './effects.js';

/** The name the worklet module registers its processor under. */
export const PROCESSOR_NAME = 'corelogic-effect-chain';

// ---- errors ----

/** What went wrong, as a stable string. */
export type CoreLogicErrorCode =
  | 'unknown-effect'
  | 'unknown-insert'
  | 'unknown-parameter'
  | 'bad-value'
  | 'bad-chain'
  | 'bad-sample-rate'
  | 'bad-time'
  | 'bad-tempo'
  | 'bad-option'
  | 'bad-audio'
  | 'queue-full'
  | 'trap'
  | 'create'
  | 'processor'
  | 'disposed'
  | 'internal';

/** Where the problem was: the insert, its effect, the parameter and the value, or a chain JSON path. */
export interface CoreLogicErrorPath {
  /** The chain node's name (`ChainOptions.name`): for a trap, the node that trapped. */
  node?: string;
  insert?: number;
  effect?: string;
  parameter?: string | number;
  value?: unknown;
  /** A path into the chain given, e.g. `chain[1].parameters.ratio`. */
  json?: string;
  option?: string;
}

/** Every error the package throws, rejects with or reports through `onerror`. */
export class CoreLogicError extends Error {
  override readonly name = 'CoreLogicError';
  constructor(
    readonly code: CoreLogicErrorCode,
    message: string,
    readonly path: CoreLogicErrorPath = {},
  ) {
    super(message);
  }
}

/** The wasm module's negative error codes (docs/wasm.md) as the package's codes. */
const WASM_CODES: Record<number, CoreLogicErrorCode> = {
  [-1]: 'internal',
  [-2]: 'unknown-effect',
  [-3]: 'unknown-insert',
  [-4]: 'unknown-parameter',
  [-5]: 'bad-value',
  [-6]: 'bad-sample-rate',
  [-7]: 'internal',
  [-8]: 'internal',
  [-9]: 'queue-full',
  [-10]: 'bad-time',
  [-11]: 'bad-tempo',
  [-12]: 'bad-chain',
  [-13]: 'internal',
  [-14]: 'bad-option',
  [-15]: 'bad-audio',
};

function wasmError(code: number, message: string, path: CoreLogicErrorPath = {}): CoreLogicError {
  // Chain JSON errors start with the JSON path of what was wrong: `chain JSON: chain[1].parameters.x: ...`.
  const json = /^chain JSON: (chain\[\d+\][^:]*):/.exec(message)?.[1];
  return new CoreLogicError(WASM_CODES[code] ?? 'internal', message, json ? { ...path, json } : path);
}

// ---- the effect listing (corelogic-dsp effects --json) ----

export interface ParameterInfo {
  name: string;
  unit: string;
  min: number;
  max: number;
  default: number;
  integer: boolean;
  automatable: boolean;
  values?: { value: number; label: string }[];
  /** How a control maps its travel to the value: `log` for frequencies and times. */
  taper: 'linear' | 'log';
  changesLatency: boolean;
}

export interface EffectInfo {
  id: EffectId;
  name: string;
  category: string;
  /** In their frozen order: a parameter's index is its position here. */
  parameters: ParameterInfo[];
  presets: { name: string; parameters: Record<string, number> }[];
  latencySamplesAt48k: number;
  maxLatencySamplesAt48k: number;
}

/** One insert of a chain: the shape `corelogic-dsp process --chain` reads. */
export type ChainEntry = {
  [E in EffectId]: {
    effect: E;
    parameters?: Partial<EffectParameterNames[E]>;
    enabled?: boolean;
    preset?: string;
    /** wave-shaper's custom curve (mapped as the WaveShaperNode maps its curve). */
    curve?: number[];
  };
}[EffectId];

export type Chain = ChainEntry[];

/** Maps a control's travel (0 to 1) to a parameter value along its taper, and back. */
export function valueFromTravel(parameter: ParameterInfo, travel: number): number {
  const t = Math.min(1, Math.max(0, travel));
  const { min, max } = parameter;
  let value = parameter.taper === 'log' && min > 0 ? min * Math.pow(max / min, t) : min + (max - min) * t;
  if (parameter.integer) value = Math.round(value);
  return Math.min(max, Math.max(min, value));
}

export function travelFromValue(parameter: ParameterInfo, value: number): number {
  const { min, max } = parameter;
  if (max === min) return 0;
  const t = parameter.taper === 'log' && min > 0 ? Math.log(value / min) / Math.log(max / min) : (value - min) / (max - min);
  return Math.min(1, Math.max(0, t));
}

// ---- analysis results (corelogic-dsp analyze --json / peaks --json) ----

export interface Analysis {
  peakDb: number | null;
  truePeakDb: number | null;
  rmsDb: number | null;
  crestDb: number | null;
  integratedLufs: number | null;
  loudnessRangeLu: number | null;
  spectralCentroidHz: { mean: number; std: number };
  spectralRolloffHz: number;
  spectralFlatness: number;
  zeroCrossingRate: number;
  mfcc: number[];
  bandEnergy: { low: number; mid: number; high: number };
  tempoBpm: number | null;
}

export interface Peaks {
  sampleRate: number;
  channels: number;
  frames: number;
  /** Level k has `buckets x 2^k` buckets; `min[channel][bucket]`, `max[channel][bucket]`. */
  levels: { buckets: number; min: number[][]; max: number[][] }[];
}

export interface Meters {
  /** Deepest gain reduction of each insert since the last report, dB (0 or negative). */
  gainReductionDb: number[];
  /** Output peak and RMS over both channels since the last report (linear). */
  peak: number;
  rms: number;
  /** The context frame where the metered span ends. */
  frame: number;
}

export interface ChainOptions {
  /** Post meters at about 30 Hz to `onmeters` (off by default). */
  meters?: boolean;
  /** A name for the node, given in its error reports (default `chain-1`, `chain-2`, ... per page). */
  name?: string;
}

export interface ParameterChangeOptions {
  /** Context time in seconds at which the change applies (its frame); now when absent or past. */
  time?: number;
  /** `user` (default) glides over about 20 ms; `automation` applies exactly at its frame. */
  source?: 'user' | 'automation';
}

export interface RenderOptions {
  /** Seconds of output after the input ends (reverb and delay tails). */
  tail?: number;
  /** Called with the fraction rendered, 0 to 1. */
  onProgress?: (fraction: number) => void;
}

// ---- helpers ----

/** `Uint8Array.fromBase64` (TC39, in Chromium 140+, Firefox 133+, Safari 18.2+), where the browser has it. */
type FromBase64 = (base64: string) => Uint8Array<ArrayBuffer>;

function base64Bytes(base64: string): Uint8Array<ArrayBuffer> {
  // The native decoder takes about 1 ms for the module, the loop below about 8 ms (benches/browser).
  const native = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
  if (typeof native === 'function') return native(base64);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** How `loadCoreLogic` got the wasm module: `streaming` (the package's `.wasm` file compiled while it
 * downloads), `fetched` (that file served with another MIME type than `application/wasm`, so compiled once
 * downloaded), `inline` (the file could not be fetched: the base64 copy inlined in the package). */
export type WasmSource = 'streaming' | 'fetched' | 'inline';

/** The wasm file next to this module (scripts/build-package.sh copies it there). */
const WASM_FILE = 'corelogic_dsp_bg.wasm';
/** Every wasm binary starts with these 4 bytes, `\0asm` (WebAssembly core specification, binary format, "Modules"). */
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** The package's wasm file, compiled while it downloads where the server says `application/wasm`. Rejects
 * when the file is missing or is not wasm (e.g. a dev server's HTML page for an unknown path). */
async function compileWasmFile(): Promise<{ module: WebAssembly.Module; source: WasmSource }> {
  // A literal `new URL('./file', import.meta.url)`: the form bundlers (Vite, webpack 5, Parcel) recognise and
  // emit as an asset of the build.
  const response = await fetch(new URL('./corelogic_dsp_bg.wasm', import.meta.url));
  if (!response.ok) throw new Error(`${WASM_FILE}: HTTP ${response.status}`);
  const type = (response.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
  // compileStreaming rejects any other type (WebAssembly Web API, "compile a potential WebAssembly response").
  if (type === 'application/wasm') return { module: await WebAssembly.compileStreaming(response), source: 'streaming' };
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (!WASM_MAGIC.every((b, i) => bytes[i] === b)) throw new Error(`${WASM_FILE}: served as '${type}', not wasm`);
  return { module: await WebAssembly.compile(bytes), source: 'fetched' };
}

/** The wasm module: the package's file, or the inlined copy when that fails (only then is it downloaded). */
async function compileWasm(): Promise<{ module: WebAssembly.Module; source: WasmSource }> {
  let fileError: unknown;
  try {
    return await compileWasmFile();
  } catch (e) {
    fileError = e;
  }
  try {
    const { WASM_BASE64 } = await import('./wasm-inline.js');
    return { module: await WebAssembly.compile(base64Bytes(WASM_BASE64)), source: 'inline' };
  } catch (e) {
    throw new CoreLogicError(
      'internal',
      `could not load the wasm module: ${WASM_FILE} (${String(fileError)}), then the inlined copy (${String(e)})`,
    );
  }
}

function blobUrl(source: string): string {
  return URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
}

function checkTime(time: number | undefined, path: CoreLogicErrorPath): void {
  if (time !== undefined && !(Number.isFinite(time) && time >= 0)) {
    throw new CoreLogicError('bad-time', `time ${time} is not a context time in seconds (a finite number >= 0)`, {
      ...path,
      value: time,
    });
  }
}

/** The channels of an AudioBuffer (1 or 2 for chains and analysis, up to 8 for peaks), copied. */
function channelsOf(buffer: AudioBuffer, maxChannels: number): Float32Array[] {
  if (typeof buffer !== 'object' || buffer === null || typeof buffer.getChannelData !== 'function') {
    throw new CoreLogicError('bad-audio', 'expected an AudioBuffer', { value: buffer });
  }
  if (buffer.numberOfChannels > maxChannels) {
    throw new CoreLogicError(
      'bad-audio',
      `an AudioBuffer of ${buffer.numberOfChannels} channels: 1 to ${maxChannels} are supported`,
      { value: buffer.numberOfChannels },
    );
  }
  return Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c).slice());
}

/** The two halves of an analysis as one object, its keys in the CLI's (sorted) order. */
function joinAnalysis(levels: Partial<Analysis>, spectrum: Partial<Analysis>): Analysis {
  const both: Record<string, unknown> = { ...levels, ...spectrum };
  return Object.fromEntries(Object.keys(both).sort().map((k) => [k, both[k]])) as unknown as Analysis;
}

// ---- the worker (control side of the wasm module) ----

class WorkerClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private readonly worker: Worker;
  /** Set once the worker has died (its script failed to start or threw at the top level): every request from
   * then on rejects with it at once instead of waiting for an answer that will not come. */
  private failure: CoreLogicError | null = null;

  /** Starts the worker from its module's source; `init` gives it the wasm module. The worker handles requests
   * in order, so requests sent after `init` are answered after it (with its error if it failed). Throws a
   * `CoreLogicError` when the page does not allow the worker (e.g. a Content-Security-Policy without `blob:`). */
  constructor(workerSource: string) {
    try {
      this.worker = new Worker(blobUrl(workerSource), { type: 'module', name: 'corelogic-dsp' });
    } catch (e) {
      throw new CoreLogicError('internal', `the worker could not start: ${String((e as Error).message ?? e)}`);
    }
    this.worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(wasmError(reply.error.code, reply.error.message));
      else waiting.resolve(reply.result);
    };
    this.worker.onerror = (event) => {
      const why = event.message || 'its script did not run (a Content-Security-Policy may forbid blob: workers)';
      this.failure = new CoreLogicError('internal', `the worker failed: ${why}`);
      for (const waiting of this.pending.values()) waiting.reject(this.failure);
      this.pending.clear();
    };
  }

  /** Hands the worker the compiled module (its first request: the others are answered after it). */
  init(module: WebAssembly.Module): void {
    this.call({ op: 'init', module }).catch(() => {
      // A failed init fails every later request with the worker's own message (worker.ts keeps it).
    });
  }

  /** Whether the worker has died (requests to it reject at once). */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Stops the worker; pending and later requests reject. */
  terminate(): void {
    this.worker.terminate();
    this.failure ??= new CoreLogicError('internal', 'the worker was stopped');
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }

  call<T>(request: DistributiveOmit<WorkerRequest, 'id'>, transfer: Transferable[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// ---- the package ----

let loading: Promise<CoreLogic> | null = null;

/** Compiles the wasm module (once per page) and reads the effect listing. */
export function loadCoreLogic(): Promise<CoreLogic> {
  loading ??= CoreLogic.load().catch((e) => {
    loading = null;
    throw e;
  });
  return loading;
}

/** The package bound to one AudioContext (or OfflineAudioContext): `createChain` is `createEffectChain` on it. */
export interface Engine {
  readonly coreLogic: CoreLogic;
  readonly context: BaseAudioContext;
  createChain(chain: Chain, options?: ChainOptions): Promise<EffectChainNode>;
}

/** Loads the package (once per page) and binds it to `context`. */
export async function createEngine(context: BaseAudioContext): Promise<Engine> {
  const coreLogic = await loadCoreLogic();
  return {
    coreLogic,
    context,
    createChain: (chain, options) => coreLogic.createEffectChain(context, chain, options),
  };
}

export class CoreLogic {
  /** Worklet modules added, per context (a context needs the module once). */
  private readonly worklets = new WeakMap<BaseAudioContext, Promise<void>>();
  private readonly byId: Map<string, EffectInfo>;
  /** The second worker, started by the first `analyze` (see there). */
  private spectrumWorker: WorkerClient | null = null;

  private constructor(
    /** The compiled wasm module (the worklet and the worker instantiate it). */
    readonly module: WebAssembly.Module,
    /** Where the module came from: its own file (`streaming` or `fetched`) or the inlined copy (`inline`). */
    readonly wasmSource: WasmSource,
    /** Every effect with its parameters (order frozen: indices address them), presets and latency. */
    readonly effects: readonly EffectInfo[],
    private readonly worker: WorkerClient,
    /** The worklet's and the worker's module sources. */
    private readonly scripts: { WORKLET_SOURCE: string; WORKER_SOURCE: string },
  ) {
    this.byId = new Map(effects.map((e) => [e.id, e]));
  }

  static async load(): Promise<CoreLogic> {
    // The wasm downloads and compiles while the two small modules are imported and the worker's script starts
    // (a thread, its module evaluated); the listing is the package's own copy. So the first chain waits for
    // neither the worker nor a round trip to it (page load to first audio, docs/package.md).
    const wasm = compileWasm();
    // Awaited below; this keeps a rejection that comes while the imports are awaited from counting as unhandled.
    wasm.catch(() => {});
    const [scripts, { EFFECT_LISTING_JSON }] = await Promise.all([import('./assets.js'), import('./effects.js')]).catch(
      (e: unknown) => {
        throw new CoreLogicError('internal', `the package's modules could not be loaded: ${String((e as Error).message ?? e)}`);
      },
    );
    const worker = new WorkerClient(scripts.WORKER_SOURCE);
    let loaded: Awaited<typeof wasm>;
    try {
      loaded = await wasm;
    } catch (e) {
      worker.terminate(); // a retry starts its own
      throw e;
    }
    const { module, source } = loaded;
    worker.init(module);
    return new CoreLogic(module, source, JSON.parse(EFFECT_LISTING_JSON) as EffectInfo[], worker, scripts);
  }

  /** The listing entry of an effect id. */
  effect(id: string): EffectInfo {
    const info = this.byId.get(id);
    if (!info) {
      throw new CoreLogicError('unknown-effect', `no effect '${id}' (known: ${[...this.byId.keys()].join(', ')})`, {
        effect: id,
      });
    }
    return info;
  }

  /** Checks a chain as the wasm module will read it; resolves to its latency in frames at the sample rate. */
  async validateChain(chain: Chain, sampleRateHz: number): Promise<number> {
    if (!Array.isArray(chain)) {
      throw new CoreLogicError('bad-chain', 'a chain is an array of {effect, parameters?, enabled?, preset?}', {
        value: chain,
      });
    }
    const { latency } = await this.worker.call<{ latency: number }>({
      op: 'validate',
      chainJson: JSON.stringify(chain),
      sampleRateHz,
    });
    return latency;
  }

  private addWorklet(context: BaseAudioContext): Promise<void> {
    let added = this.worklets.get(context);
    if (!added) {
      // The module guards its registration, so a second copy of this package adding it again is harmless.
      added = context.audioWorklet.addModule(blobUrl(this.scripts.WORKLET_SOURCE));
      this.worklets.set(context, added);
    }
    return added;
  }

  /** A stereo-in, stereo-out AudioNode running `chain`, ready to connect. */
  async createEffectChain(context: BaseAudioContext, chain: Chain, options: ChainOptions = {}): Promise<EffectChainNode> {
    // The worklet module is added while the worker checks the chain (both are needed; neither needs the other).
    const [latency] = await Promise.all([this.validateChain(chain, context.sampleRate), this.addWorklet(context)]);
    if (options.name !== undefined && typeof options.name !== 'string') {
      throw new CoreLogicError('bad-option', `name ${String(options.name)} is not a string`, { option: 'name', value: options.name });
    }
    const name = options.name ?? `chain-${++chainNodesCreated}`;
    const node = new EffectChainNode(context, this, chain, latency, options.meters === true, name);
    await node.ready;
    return node;
  }

  /** Renders `input` through `chain` offline with the CLI's `process` conventions: stereo out at the input's
   * rate, the input's length plus `tail` seconds, latency not removed. */
  async renderChain(chain: Chain, input: AudioBuffer, options: RenderOptions = {}): Promise<AudioBuffer> {
    channelsOf(input, 2);
    const tail = options.tail ?? 0;
    if (!(Number.isFinite(tail) && tail >= 0)) {
      throw new CoreLogicError('bad-option', `tail ${tail} is not a number of seconds >= 0`, { option: 'tail', value: tail });
    }
    const sampleRate = input.sampleRate;
    const length = input.length + Math.round(tail * sampleRate);
    const context = new OfflineAudioContext({ numberOfChannels: 2, length, sampleRate });
    const node = await this.createEffectChain(context, chain);
    let failure: CoreLogicError | null = null;
    node.onerror = (e) => (failure ??= e);
    const source = new AudioBufferSourceNode(context, { buffer: input });
    source.connect(node).connect(context.destination);
    source.start(0);
    const onProgress = options.onProgress;
    if (onProgress) {
      const steps = 20;
      for (let k = 1; k < steps; k++) {
        // Suspend points are quantised to 128-frame render quanta.
        const frame = Math.floor((length * k) / steps / 128) * 128;
        if (frame <= 0 || frame >= length) continue;
        context.suspend(frame / sampleRate).then(() => {
          onProgress(frame / length);
          void context.resume();
        });
      }
    }
    const rendered = await context.startRendering();
    node.dispose();
    if (failure) throw failure;
    onProgress?.(1);
    return rendered;
  }

  /** `corelogic-dsp analyze --json`'s measurements of a mono or stereo AudioBuffer at its own sample rate, run
   * in the worker. */
  async analyze(buffer: AudioBuffer): Promise<Analysis> {
    const channels = channelsOf(buffer, 2);
    const sampleRateHz = buffer.sampleRate;
    if (this.spectrumWorker?.failed) this.spectrumWorker = null;
    if (!this.spectrumWorker && navigator.hardwareConcurrency >= 2) {
      try {
        this.spectrumWorker = new WorkerClient(this.scripts.WORKER_SOURCE);
        this.spectrumWorker.init(this.module);
      } catch {
        this.spectrumWorker = null; // one worker then: the same numbers, later
      }
    }
    if (!this.spectrumWorker) {
      return this.worker.call<Analysis>({ op: 'analyze', sampleRateHz, channels }, channels.map((c) => c.buffer));
    }
    // Two workers at once, each on its own copy (workers share no memory without cross-origin isolation): the
    // levels (loudness, true peak, tempo) here, the frame features in a second worker. The CLI uses two
    // threads the same way; the two halves joined are its JSON, bit for bit (tests/analysis.rs).
    const copies = channels.map((c) => c.slice());
    const half = (worker: WorkerClient, part: AnalysisPart, samples: Float32Array[]) =>
      worker.call<Partial<Analysis>>({ op: 'analyze', sampleRateHz, channels: samples, part }, samples.map((c) => c.buffer));
    return Promise.all([half(this.worker, 'levels', channels), half(this.spectrumWorker, 'spectrum', copies)]).then(
      ([levels, spectrum]) => joinAnalysis(levels, spectrum),
    );
  }

  /** Waveform peaks (`corelogic-dsp peaks --json`): `levels` zoom levels, the coarsest with `buckets` buckets. */
  peaks(buffer: AudioBuffer, options: { buckets: number; levels?: number }): Promise<Peaks> {
    const { buckets, levels = 1 } = options ?? {};
    for (const [option, value] of [['buckets', buckets], ['levels', levels]] as const) {
      if (!(Number.isInteger(value) && value >= 1 && value <= 0xffffffff)) {
        return Promise.reject(
          new CoreLogicError('bad-option', `${option} ${value} is not a whole number >= 1`, { option, value }),
        );
      }
    }
    let channels: Float32Array[];
    try {
      channels = channelsOf(buffer, 8);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.worker.call<Peaks>(
      { op: 'peaks', sampleRateHz: buffer.sampleRate, channels, buckets, levels },
      channels.map((c) => c.buffer),
    );
  }

  /** A parameter's index and table entry, by name or index; a bad one throws naming it. */
  parameter(effect: string, parameter: string | number, insert?: number): { index: number; info: ParameterInfo } {
    const info = this.effect(effect);
    const index =
      typeof parameter === 'number' ? parameter : info.parameters.findIndex((p) => p.name === parameter);
    const found = Number.isInteger(index) ? info.parameters[index] : undefined;
    if (!found) {
      throw new CoreLogicError(
        'unknown-parameter',
        `effect '${effect}' has no parameter ${JSON.stringify(parameter)} (it has ${info.parameters.map((p) => p.name).join(', ')})`,
        { insert, effect, parameter },
      );
    }
    return { index, info: found };
  }

  /** Checks a value against a parameter's table; throws `bad-value` naming the effect, parameter and value. */
  checkValue(effect: string, parameter: ParameterInfo, value: number, insert?: number): void {
    const path = { insert, effect, parameter: parameter.name, value };
    const fail = (allowed: string) =>
      new CoreLogicError('bad-value', `effect '${effect}': parameter '${parameter.name}' = ${value} is not allowed; allowed: ${allowed}`, path);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw fail('a finite number');
    if (parameter.values && !parameter.values.some((v) => v.value === value)) {
      throw fail(parameter.values.map((v) => `${v.value} (${v.label})`).join(', '));
    }
    if (value < parameter.min || value > parameter.max) throw fail(`a number from ${parameter.min} to ${parameter.max}`);
    if (parameter.integer && !Number.isInteger(value)) throw fail(`a whole number from ${parameter.min} to ${parameter.max}`);
  }
}

// ---- the node ----

/** Names the nodes created without one. */
let chainNodesCreated = 0;

type ProcessorMessage =
  | { type: 'ready'; inserts: number; latency: number }
  | { type: 'chain'; inserts: number; latency: number }
  | { type: 'pong'; id: number; frame: number }
  | ({ type: 'meters' } & Meters)
  | {
      type: 'error';
      code: number | 'trap' | 'create' | 'chain';
      message: string;
      request?: { insert?: number };
      /** A trap: the node and insert that trapped, and (in the other nodes' notices) the node rebuilt. */
      node?: string;
      insert?: number | null;
      rebuilt?: string;
    };

/** An AudioWorkletNode running one effect chain: stereo in, stereo out. */
export class EffectChainNode extends AudioWorkletNode {
  /** Called about 30 times a second when created with `meters: true`. */
  onmeters: ((meters: Meters) => void) | null = null;
  /** Errors that happen on the audio thread: a trap (the node recovers by itself), a rejected message. */
  onerror: ((error: CoreLogicError) => void) | null = null;
  /** Resolves once the processor has built the chain. */
  readonly ready: Promise<void>;
  private chainEntries: Chain;
  private latencyFrames: number;
  private disposed = false;
  private pings = 0;
  private readonly waiting = new Map<number, (frame: number) => void>();
  private chainChange: { resolve: () => void; reject: (e: CoreLogicError) => void; chain: Chain } | null = null;

  constructor(
    context: BaseAudioContext,
    private readonly core: CoreLogic,
    chain: Chain,
    latency: number,
    meters: boolean,
    /** The name given in its error reports. */
    readonly name: string,
  ) {
    super(context, PROCESSOR_NAME, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      channelCount: 2,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: { module: core.module, chainJson: new TextEncoder().encode(JSON.stringify(chain)), meters, name },
    });
    this.chainEntries = structuredClone(chain);
    this.latencyFrames = latency;
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    this.ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.onprocessorerror = () => {
      const error = new CoreLogicError('processor', 'the AudioWorkletProcessor failed (processorerror)');
      settle.reject(error);
      this.report(error);
    };
    this.port.onmessage = (event: MessageEvent<ProcessorMessage>) => {
      const m = event.data;
      if (m.type === 'ready') {
        this.latencyFrames = m.latency;
        settle.resolve();
      } else if (m.type === 'meters') {
        this.onmeters?.({ gainReductionDb: m.gainReductionDb, peak: m.peak, rms: m.rms, frame: m.frame });
      } else if (m.type === 'pong') {
        this.waiting.get(m.id)?.(m.frame);
        this.waiting.delete(m.id);
      } else if (m.type === 'chain') {
        this.latencyFrames = m.latency;
        if (this.chainChange) this.chainEntries = this.chainChange.chain;
        this.chainChange?.resolve();
        this.chainChange = null;
      } else if (m.type === 'error') {
        if (m.code === 'create') {
          settle.reject(new CoreLogicError('create', m.message));
        } else if (m.code === 'chain') {
          this.chainChange?.reject(new CoreLogicError('bad-chain', m.message));
          this.chainChange = null;
        } else if (m.code === 'trap') {
          this.report(this.trapError(m.message, m.node, m.insert ?? undefined, m.rebuilt));
        } else {
          this.report(wasmError(m.code, m.message, { insert: m.request?.insert }));
        }
      }
    };
  }

  /** A trap report: this node's own (it output one silent block) or another node's of the same context. */
  private trapError(message: string, node: string | undefined, insert: number | undefined, rebuilt?: string): CoreLogicError {
    const own = rebuilt === undefined;
    const effect = own && insert !== undefined ? this.chainEntries[insert]?.effect : undefined;
    const where = `chain node '${node ?? '?'}' trapped` + (insert === undefined ? '' : ` in insert ${insert}`) + (effect ? ` (${effect})` : '');
    const what = own
      ? 'it output one silent block, and every chain of its AudioContext was rebuilt with its parameters on a fresh instance'
      : `this node ('${this.name}') shares its AudioContext's instance, so its chain was rebuilt with its parameters too`;
    return new CoreLogicError('trap', `${where}: ${what} (${message})`, { node, insert, effect });
  }

  private report(error: CoreLogicError): void {
    if (this.onerror) this.onerror(error);
    else console.error(error);
  }

  private check(): void {
    if (this.disposed) throw new CoreLogicError('disposed', 'this chain node was disposed');
  }

  /** The chain's latency in frames (for the host's own alignment). */
  get latency(): number {
    return this.latencyFrames;
  }

  /** The chain as last set. */
  get chain(): Chain {
    return structuredClone(this.chainEntries);
  }

  private entry(insert: number): ChainEntry {
    const entry = Number.isInteger(insert) ? this.chainEntries[insert] : undefined;
    if (!entry) {
      throw new CoreLogicError(
        'unknown-insert',
        `insert ${insert} does not exist (the chain has ${this.chainEntries.length} inserts)`,
        { insert },
      );
    }
    return entry;
  }

  /** Changes a parameter (by name or index) of an insert at a context time (now by default). */
  setParameter(insert: number, parameter: string | number, value: number, options: ParameterChangeOptions = {}): void {
    this.check();
    const entry = this.entry(insert);
    const { index, info } = this.core.parameter(entry.effect, parameter, insert);
    this.core.checkValue(entry.effect, info, value, insert);
    checkTime(options.time, { insert, effect: entry.effect, parameter: info.name });
    const source = options.source ?? 'user';
    if (source !== 'user' && source !== 'automation') {
      throw new CoreLogicError('bad-option', `source '${source}' is neither 'user' nor 'automation'`, {
        option: 'source',
        value: source,
      });
    }
    this.port.postMessage({ type: 'param', insert, param: index, value, time: options.time, source });
  }

  /** Enables or bypasses (20 ms crossfade, latency kept) an insert at a context time. */
  setEnabled(insert: number, enabled: boolean, time?: number): void {
    this.check();
    this.entry(insert);
    checkTime(time, { insert });
    this.port.postMessage({ type: 'enabled', insert, enabled: Boolean(enabled), time });
  }

  /** The tempo for tempo-synced delays, BPM. */
  setTempo(bpm: number, time?: number): void {
    this.check();
    if (!(Number.isFinite(bpm) && bpm > 0)) {
      throw new CoreLogicError('bad-tempo', `tempo ${bpm} BPM is not a positive finite number`, { value: bpm });
    }
    checkTime(time, {});
    this.port.postMessage({ type: 'tempo', bpm, time });
  }

  /** Replaces the chain (the new one starts from a fresh state); rejects naming what was wrong, keeping the old. */
  async setChain(chain: Chain): Promise<void> {
    this.check();
    await this.core.validateChain(chain, this.context.sampleRate);
    if (this.chainChange) throw new CoreLogicError('bad-option', 'a chain change is already pending');
    await new Promise<void>((resolve, reject) => {
      this.chainChange = { resolve, reject, chain: structuredClone(chain) };
      this.port.postMessage({ type: 'chain', chainJson: new TextEncoder().encode(JSON.stringify(chain)) });
    });
  }

  /** Resolves once every message sent so far reached the processor (an OfflineAudioContext does not deliver
   * messages while it renders: await this before `startRendering()`). Resolves to the context frame at which
   * the processor received it. */
  flush(): Promise<number> {
    const id = ++this.pings;
    return new Promise<number>((resolve) => {
      this.waiting.set(id, resolve);
      this.port.postMessage({ type: 'ping', id });
    });
  }

  /** Frees the chain and disconnects the node. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.port.postMessage({ type: 'dispose' });
    this.disconnect();
  }
}
