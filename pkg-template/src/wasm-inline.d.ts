// Written by scripts/build-package.sh into wasm-inline.js: the wasm module as base64, imported (dynamically)
// only when the package's corelogic_dsp_bg.wasm cannot be fetched, e.g. under a dev server that moved the
// package's JavaScript without its assets.

/** The optimised wasm module (corelogic_dsp_bg.wasm), base64. */
export declare const WASM_BASE64: string;
