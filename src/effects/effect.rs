//! What the audio side sees of an effect: the [`Effect`] trait, frame-stamped [`Event`]s and [`Tail`]s.

use crate::dsp::shaper::CurveError;
use crate::params::{EffectSpec, ParamError};

/// Control-rate work (glide steps, coefficient updates) happens at absolute frames that are multiples of this.
pub const CONTROL_INTERVAL: u64 = 16;

/// The lowest and highest sample rates an effect accepts.
pub const SAMPLE_RATE_RANGE: (f64, f64) = (8_000.0, 192_000.0);

/// Where a parameter change comes from, which decides how it reaches the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A user gesture: glides over about 20 ms.
    User,
    /// An automation value: takes effect exactly at its frame, no extra smoothing.
    Automation,
}

/// What an event does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Sets the parameter at `index` of the effect's table.
    Set { index: usize, value: f64, source: Source },
    /// Enables (true) or bypasses (false) the effect, with a crossfade.
    Enable(bool),
    /// The transport tempo in beats per minute, for tempo-synced parameters (non-finite or <= 0 is ignored).
    Tempo(f64),
}

/// The tempo an effect assumes until it is told another (the CLI's `--bpm` default).
pub const DEFAULT_BPM: f64 = 120.0;

/// A change stamped with the absolute frame (the effect's own clock, see [`Effect::frame`]) it applies at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub frame: u64,
    pub action: Action,
}

impl Event {
    /// A validated parameter change by name.
    pub fn set(spec: &EffectSpec, name: &str, value: f64, frame: u64, source: Source) -> Result<Event, ParamError> {
        let index = spec.param_index(name)?;
        let value = spec.check(index, value)?;
        Ok(Event {
            frame,
            action: Action::Set { index, value, source },
        })
    }

    /// Enable or bypass at a frame.
    pub fn enable(enabled: bool, frame: u64) -> Event {
        Event {
            frame,
            action: Action::Enable(enabled),
        }
    }

    /// A tempo change at a frame.
    pub fn tempo(bpm: f64, frame: u64) -> Event {
        Event {
            frame,
            action: Action::Tempo(bpm),
        }
    }
}

/// How long an effect keeps sounding after its input stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// A conservative bound in samples (after the reported latency), capped at 30 s.
    Samples(u64),
    /// Sounds until something changes (a frozen reverb).
    Infinite,
}

/// The most a tail is reported as (docs/effects.md).
pub const MAX_TAIL_SECONDS: f64 = 30.0;

/// An effect instance on the audio side. Every method is real-time safe: no allocation, lock, panic or
/// formatting.
pub trait Effect: Send {
    fn spec(&self) -> &'static EffectSpec;
    fn sample_rate(&self) -> f64;
    /// The frame the next processed sample has: frames processed since creation.
    fn frame(&self) -> u64;
    /// Processes a stereo block in place. `events` are this block's changes, sorted by frame, each passed once:
    /// an event stamped before the block applies at its first frame (passing an event again re-applies it, which
    /// restarts a user glide), and an event after the block's end is not applied (pass it with the block that
    /// holds its frame).
    fn process(&mut self, left: &mut [f32], right: &mut [f32], events: &[Event]) {
        self.process_keyed(left, right, None, events);
    }
    /// [`Effect::process`] with an optional stereo key (sidechain) block for the detector of a dynamics effect
    /// (`compressor`, `expander`, `gate`: [`Effect::takes_key`]). The key's slices are at least as long as the
    /// block and hold the frames that line up with `left`/`right`; it is sanitised like the input (non-finite
    /// samples read as 0). With a key the detector hears the key alone and the gain it implies is applied to the
    /// effect's own input; `None` (or an effect without a detector, which ignores the key) is plain `process`.
    /// A keyed effect does not sleep while its key sounds, since its detector must follow the key even while
    /// its own input is silent; a sleeping one wakes on the first non-silent key sample.
    fn process_keyed(&mut self, left: &mut [f32], right: &mut [f32], key: Option<(&[f32], &[f32])>, events: &[Event]);
    /// Whether the effect's detector takes a key (sidechain) input in [`Effect::process_keyed`].
    fn takes_key(&self) -> bool;
    /// Latency in whole samples; the dry path of `mix` and bypass is delayed by it.
    fn latency(&self) -> usize;
    fn tail(&self) -> Tail;
    /// Clears all audio state (delay lines, filter memories, detectors); parameters are kept.
    fn reset(&mut self);
    /// The parameter's current target value (what was last set).
    fn param(&self, index: usize) -> f64;
    fn is_enabled(&self) -> bool;
    /// Enables or bypasses at once, with no fade: for setting an insert up before audio runs (a chain entry or a
    /// project insert with `enabled: false`). While audio runs, send [`Event::enable`] instead.
    fn set_enabled_immediately(&mut self, enabled: bool);
    /// Sets the tempo at once (before audio runs); while audio runs, send [`Event::tempo`] instead.
    fn set_tempo_immediately(&mut self, bpm: f64);
    /// Current gain reduction in dB (0 or negative) for dynamics meters; 0 for other effects and while bypassed.
    fn gain_reduction_db(&self) -> f32;
    /// The deepest gain reduction in dB (0 or negative) since the last call, read at the end of every
    /// [`PIECE_FRAMES`](crate::dsp::PIECE_FRAMES)-frame piece, then reset: what a meter polled at about 30 Hz shows. 0 while bypassed.
    fn take_peak_gain_reduction_db(&mut self) -> f32;
    /// Changes the custom curve (the `wave-shaper`'s; 2 to 4096 finite values) at an absolute frame, crossfaded
    /// like an integer parameter. The curve is validated and copied into preallocated storage at once (no
    /// allocation, no formatting: the error is a plain value); a later call before that frame replaces it.
    /// Effects that take no curve return [`CurveError::NotAccepted`].
    fn set_curve(&mut self, curve: &[f32], frame: u64) -> Result<(), CurveError>;
    /// Loads a custom curve at once, with no fade: for setting an insert up before audio runs.
    fn set_curve_immediately(&mut self, curve: &[f32]) -> Result<(), CurveError>;
    /// Whether the effect is asleep: its input has been silent and its state settled, so it outputs exact zeros
    /// without running its kernel (see the module documentation). Wakes by itself on the first non-silent
    /// sample or event.
    fn is_asleep(&self) -> bool;
    /// Allows (the default) or forbids sleeping; forbidding wakes the effect at once. For tests that compare
    /// against an instance that never sleeps, and for hosts that want constant cost.
    fn set_sleep_allowed(&mut self, allowed: bool);
    /// Whether the kernel is running at all: false while asleep, and while bypassed once the bypass fade has
    /// ended (the dry path alone runs then). For CPU meters.
    fn is_kernel_running(&self) -> bool;
    /// The largest latency any parameter values can give at this sample rate, for sizing compensation delays.
    fn max_latency(&self) -> usize;
}
