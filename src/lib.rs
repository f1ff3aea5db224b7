//! corelogic-dsp: the signal path of CoreLogic Studio (the effects, the analysis and the engine's control side;
//! the mixer's audio path is on its way), in plain Rust that runs natively, in WebAssembly and in the
//! `corelogic-dsp` command-line program. The repository's `docs/` holds the command-line contract
//! (`docs/cli.md`), the effect reference (`docs/effects.md`, generated from the parameter tables), the project
//! format (`docs/project.md`) and the WebAssembly interface (`docs/wasm.md`).
//!
//! - [`params`]: parameter tables and validation, the single source for every listing and UI.
//! - [`dsp`]: building blocks (biquads, glides, delay lines, denormal guards).
//! - [`effects`]: the effect framework, the effects and their registry.
//! - [`listing`]: the effect listing (parameters, tapers, latency) as typed data and JSON.
//! - [`chain`]: effect chains from JSON, validated with errors that name the JSON path.
//! - [`dither`]: quantisation to 16/24-bit integers with TPDF dither from a seeded PCG32.
//! - [`engine`]: the mixing engine (its control side so far: project model, routing, latency, automation,
//!   transport).
//! - [`analysis`]: loudness, true peak, spectral features, MFCCs, tempo and waveform peaks.
//! - [`host`]: effect chains addressed by number (the WebAssembly bindings in `src/wasm/` are a thin layer over it).
//! - `wav` (feature `cli`): reading and atomically writing WAV files; `interrupt` removes an unfinished output
//!   when a signal ends the program.

pub mod analysis;
pub mod chain;
pub mod dither;
pub mod dsp;
pub mod effects;
pub mod engine;
pub mod host;
#[cfg(feature = "cli")]
pub mod interrupt;
pub mod listing;
pub mod params;
#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(feature = "cli")]
pub mod wav;

pub use effects::{create, registry, Action, Effect, Event, Source, Tail};
pub use params::{EffectSpec, ParamError, ParamSpec, Taper};
