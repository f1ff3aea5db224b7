//! The 19 effects, one file per id, and the framework they share.
//!
//! An effect is split in two halves. Its *kernel* ([`Kernel`], one file per effect id) is the DSP alone: it
//! renders a stereo block with parameters that are constant for that block, and never validates or
//! allocates. The [`Processor`] around it, one non-generic framework that holds the kernel as a trait object,
//! owns everything every effect needs alike: frame-stamped parameter events, user glides on a 16-frame grid of
//! absolute frames, crossfades for parameters that cannot glide, the `mix` blend with a latency-aligned dry
//! path, click-free bypass, latency changes, sleeping, input sanitising and the frame clock. [`Effect`] is what
//! the audio side holds; [`registry()`] lists them all.
//!
//! Framework files: `effect.rs` (the [`Effect`] trait and events), `kernel.rs` ([`Kernel`]), `processor.rs`
//! ([`Processor`]) and `registry.rs` (ids to constructors).

/// The `Kernel` methods of an effect that is a biquad cascade in a field named `cascade`: render, reset, state
/// copy, tail and settling all delegate to it.
macro_rules! cascade_kernel {
    () => {
        fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
            self.cascade.process(left, right);
        }

        fn reset(&mut self) {
            self.cascade.reset();
        }

        fn copy_state_from(&mut self, other: &Self) {
            self.cascade.copy_state_from(&other.cascade);
        }

        fn tail_samples(&self) -> Option<u64> {
            Some(self.cascade.tail_samples())
        }

        fn settled(&self, floor: f32) -> bool {
            self.cascade.settled(floor)
        }
    };
}

pub mod compressor;
mod delay_params;
pub mod distortion;
pub mod expander;
mod feed_forward;
pub mod freeverb;
pub mod gate;
pub mod hall_reverb;
pub mod high_low_pass;
pub mod high_shelf;
pub mod limiter;
pub mod low_shelf;
pub mod multi_tap_delay;
pub mod parametric_eq;
pub mod ping_pong_delay;
pub mod plate_reverb;
pub mod room_reverb;
pub mod saturation;
mod shaping;
mod shelf;
pub mod simple_delay;
pub mod stereo_delay;
pub mod wave_shaper;

mod effect;
mod kernel;
mod processor;
mod registry;

pub use crate::dsp::shaper::CurveError;
pub use effect::{
    Action, Effect, Event, Source, Tail, CONTROL_INTERVAL, DEFAULT_BPM, MAX_TAIL_SECONDS, SAMPLE_RATE_RANGE,
};
pub use kernel::Kernel;
pub use processor::{Processor, SETTLE_FLOOR_RATIO, SILENCE_THRESHOLD};
pub use registry::{create, find, registry, CreateError, EffectEntry};
