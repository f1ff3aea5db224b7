//! The render side of the engine: strips, insert slots, compensation delays and per-sample parameters, built
//! from the control side's plan. Imports run one way: control -> render -> effects -> dsp (this module reads
//! the plan types; the control side never imports it). Nothing here allocates inside a quantum: every buffer
//! is sized when a strip is built or a command is applied.

pub mod delay;
pub mod engine;
pub mod fade;
pub mod insert_meter;
pub mod master_meter;
pub mod meter;
pub mod mixing;
pub mod param;
pub mod recording;
pub mod strip;
pub mod transport;
