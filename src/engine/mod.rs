//! The mixing engine. Imports run one way: `control` (parsing, validation, routing and latency planning,
//! automation compiling; may allocate) -> the render side (strips, insert slots, compensation delays, meters;
//! never allocates inside a quantum) -> [`crate::effects`] -> [`crate::dsp`].
//!
//! - [`control::project`]: the project JSON (and the app's own `Track`, `Plugin`, `Send`, `Bus`,
//!   `AutomationCurve` shapes) validated into a plain plan, with errors that name the JSON path.
//! - [`control::routing`]: the routing graph, cycle detection naming the cycle, render order, latency planning.
//! - [`control::automation`]: curves compiled to frames, per-sample and 16-frame-grid evaluation, modes, LFOs,
//!   recording with thinning.
//! - [`control::transport`]: seconds/frames/beats, loop wrap, bar/beat and metronome click frames.

pub mod control;
pub mod render;

pub use render::engine::{
    Command, CommandError, Engine, MixParam, StructureChange, TrackInput, TrackInputs, DEFAULT_MAX_QUANTUM,
};
#[cfg(not(target_arch = "wasm32"))]
pub use render::insert_meter::native_clock_s;
pub use render::insert_meter::{Clock, InsertReading};
pub use render::master_meter::{MasterReading, SPECTRUM_BINS, SPECTRUM_SIZE};
pub use render::meter::MeterReading;
pub use render::transport::{InputRun, PlayState, SeekTarget, TransportCommand, TransportState};
