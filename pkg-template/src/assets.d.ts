// Written by scripts/build-package.sh into assets.js: the two scripts the package loads from Blob URLs (no
// bundler plugin, no asset URL to resolve, no cross-origin isolation needed).

/** The AudioWorkletProcessor module (worklet/processor.ts compiled). */
export declare const WORKLET_SOURCE: string;
/** The Web Worker module (src/worker.ts compiled): listing, chain validation, analysis, peaks. */
export declare const WORKER_SOURCE: string;
