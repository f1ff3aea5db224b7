//! The effect framework (parameter events, smoothing, crossfades, mix, bypass, latency) and the registry.
//!
//! An effect is split in two halves. Its *kernel* (one file per effect id) is the DSP alone: it renders a
//! stereo block with parameters that are constant for that block, and never validates or allocates. The
//! generic [`Processor`] around it owns everything every effect needs alike: frame-stamped parameter events,
//! user glides on a 16-frame grid of absolute frames, crossfades for parameters that cannot glide, the
//! `mix` blend with a latency-aligned dry path, click-free bypass, input sanitising and the frame clock.

/// The `Kernel` methods of an effect that is a biquad cascade in a field named `cascade`: render, reset, state
/// copy and tail all delegate to it.
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

use crate::dsp::delay_line::StereoDelay;
use crate::dsp::denormal;
use crate::dsp::smoother::{smoothing_frames, Glide, Ramp};
use crate::params::{EffectSpec, ParamError, ParamKind};
use std::fmt;

/// The longest block `process` handles in one piece; longer slices are split (no limit for callers).
pub const MAX_BLOCK: usize = 4096;

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

/// The most a tail is reported as (effects.md).
pub const MAX_TAIL_SECONDS: f64 = 30.0;

/// An effect instance on the audio side. Every method is real-time safe: no allocation, lock or panic.
pub trait Effect: Send {
    fn spec(&self) -> &'static EffectSpec;
    fn sample_rate(&self) -> f64;
    /// The frame the next processed sample has: frames processed since creation.
    fn frame(&self) -> u64;
    /// Processes a stereo block in place. `events` are this block's changes, sorted by frame, each passed once:
    /// an event stamped before the block applies at its first frame (passing an event again re-applies it, which
    /// restarts a user glide), and an event after the block's end is not applied (pass it with the block that
    /// holds its frame).
    fn process(&mut self, left: &mut [f32], right: &mut [f32], events: &[Event]);
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
    /// Current gain reduction in dB (0 or negative) for dynamics meters; 0 for other effects.
    fn gain_reduction_db(&self) -> f32;
    /// Loads a custom curve (the `wave-shaper`'s; 2 to 4096 finite values) into preallocated storage. A control
    /// side call like the setters above: it copies without allocating when the curve is accepted (only the
    /// error message allocates). Effects that take no curve return an error naming themselves.
    fn set_curve(&mut self, curve: &[f32]) -> Result<(), String>;
}

/// The DSP of one effect, rendered by a [`Processor`].
pub trait Kernel: Send + Sized + 'static {
    const SPEC: &'static EffectSpec;

    /// Creates the kernel and allocates everything it will ever need. Allocation sizes may depend on the
    /// sample rate only (never on parameters), so that two kernels can always copy each other's state.
    fn new(sample_rate: f64, params: &[f64]) -> Self;

    /// Applies parameter values (already smoothed). Called between samples at control points.
    fn set_params(&mut self, params: &[f64]);

    /// Receives the values last set for every parameter (where glides are heading), right before each
    /// `set_params`. Most kernels ignore it; the limiter applies a lowered ceiling at once rather than at the end
    /// of its glide, so that its output stays at or below the lower of the old and new ceiling.
    fn set_targets(&mut self, _targets: &[f64]) {}

    /// The transport tempo changed (beats per minute, finite and > 0). Called at the event's frame; kernels with
    /// tempo-synced times recompute them here (gliding as their own times do). The default ignores it.
    fn set_tempo(&mut self, _bpm: f64) {}

    /// Renders a block in place with the current parameters. `frame` is the absolute frame of the first sample,
    /// for any modulation that must not depend on block boundaries. For effects with a `mix` parameter this
    /// renders the wet signal alone; the processor blends it.
    fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]);

    fn reset(&mut self);

    /// Copies the audio state of another kernel of the same sample rate (no allocation).
    fn copy_state_from(&mut self, other: &Self);

    /// Latency in whole samples at the current parameters.
    fn latency(&self) -> usize {
        0
    }

    /// The largest latency any parameter values can give at this sample rate.
    fn max_latency(_sample_rate: f64) -> usize {
        0
    }

    /// Tail after the latency, in samples; `None` for infinite.
    fn tail_samples(&self) -> Option<u64>;

    fn gain_reduction_db(&self) -> f32 {
        0.0
    }

    /// Loads a custom curve into preallocated storage (control side; see [`Effect::set_curve`]). The processor
    /// calls it on both kernel instances. The default takes no curve.
    fn set_curve(&mut self, _curve: &[f32]) -> Result<(), String> {
        Err(format!("effect '{}' takes no curve", Self::SPEC.id))
    }
}

/// The generic half of every effect: events, glides, crossfades, mix, bypass, latency alignment.
pub struct Processor<K: Kernel> {
    sample_rate: f64,
    frame: u64,
    /// The value last set for each parameter (what a glide heads to, what a crossfade switches to).
    targets: Vec<f64>,
    glides: Vec<Glide>,
    /// The values the kernel currently runs with.
    current: Vec<f64>,
    gliding: bool,
    /// A parameter that cannot glide was set and may differ from what the kernel runs with.
    pending: bool,
    kernel: K,
    /// The outgoing state during a crossfade of a parameter that cannot glide.
    spare: K,
    spare_params: Vec<f64>,
    crossfade: Option<Ramp>,
    enabled: bool,
    bypass_fade: Option<Ramp>,
    mix_index: Option<usize>,
    dry: StereoDelay,
    dry_left: Vec<f32>,
    dry_right: Vec<f32>,
    alt_left: Vec<f32>,
    alt_right: Vec<f32>,
    fade_frames: u64,
}

impl<K: Kernel> Processor<K> {
    /// Creates the effect at a sample rate with a complete, validated parameter vector.
    pub fn new(sample_rate: f64, params: &[f64]) -> Self {
        let spec = K::SPEC;
        let params: Vec<f64> = spec
            .params
            .iter()
            .zip(params.iter().chain(std::iter::repeat(&f64::NAN)))
            .map(|(p, v)| if v.is_finite() { *v } else { p.default })
            .collect();
        Processor {
            sample_rate,
            frame: 0,
            glides: params.iter().map(|v| Glide::constant(*v)).collect(),
            current: params.clone(),
            spare_params: params.clone(),
            gliding: false,
            pending: false,
            kernel: K::new(sample_rate, &params),
            spare: K::new(sample_rate, &params),
            crossfade: None,
            enabled: true,
            bypass_fade: None,
            mix_index: spec.index_of("mix"),
            // Room for a whole block beyond the latency, so the dry path is copied in a few slices.
            dry: StereoDelay::new(K::max_latency(sample_rate) + MAX_BLOCK),
            dry_left: vec![0.0; MAX_BLOCK],
            dry_right: vec![0.0; MAX_BLOCK],
            alt_left: vec![0.0; MAX_BLOCK],
            alt_right: vec![0.0; MAX_BLOCK],
            fade_frames: smoothing_frames(sample_rate),
            targets: params,
        }
    }

    /// The kernel, for tests and meters.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    fn apply(&mut self, event: &Event, at: u64) {
        match event.action {
            Action::Tempo(bpm) => {
                if bpm.is_finite() && bpm > 0.0 {
                    self.kernel.set_tempo(bpm);
                    self.spare.set_tempo(bpm);
                }
            }
            Action::Enable(on) => {
                if on != self.enabled {
                    self.enabled = on;
                    // Reverse a fade in progress from where it stands, so the weight never jumps.
                    let done = self.bypass_fade.map_or(1.0, |r| r.weight(at)) as f64;
                    let undone = ((1.0 - done) * self.fade_frames as f64).round() as u64;
                    let start = at.saturating_sub(undone);
                    self.bypass_fade = Some(Ramp {
                        start,
                        frames: self.fade_frames,
                    });
                }
            }
            Action::Set { index, value, source } => {
                let Some(spec) = K::SPEC.params.get(index) else {
                    return;
                };
                let value = if value.is_finite() { value } else { spec.default };
                let value = value.clamp(spec.min, spec.max);
                let value = if spec.is_integer() { value.round() } else { value };
                self.targets[index] = value;
                if spec.glides() {
                    self.glides[index] = match source {
                        Source::Automation => Glide::constant(value),
                        Source::User => Glide::new(
                            self.glides[index].value_at(at),
                            value,
                            at,
                            self.fade_frames,
                            spec.kind == ParamKind::Log,
                        ),
                    };
                    self.gliding = true;
                } else {
                    self.pending = true;
                }
            }
        }
    }

    /// Brings the kernel's parameters to their values at frame `at`; starts a crossfade when a parameter that
    /// cannot glide differs from what the kernel runs with (one crossfade at a time: a change that arrives
    /// during one starts when it ends).
    fn update_controls(&mut self, at: u64) {
        let params = K::SPEC.params;
        if self.pending && self.crossfade.is_none() {
            self.pending = false;
            let differs = (0..params.len()).any(|i| !params[i].glides() && self.current[i] != self.targets[i]);
            if differs {
                // The outgoing state keeps its parameters; the incoming one starts from a copy of that state.
                self.spare_params.copy_from_slice(&self.current);
                std::mem::swap(&mut self.kernel, &mut self.spare);
                self.kernel.copy_state_from(&self.spare);
                for (i, spec) in params.iter().enumerate() {
                    if !spec.glides() {
                        self.current[i] = self.targets[i];
                    }
                }
                self.crossfade = Some(Ramp {
                    start: at,
                    frames: self.fade_frames,
                });
            }
        }
        let mut still_gliding = false;
        for (i, spec) in params.iter().enumerate() {
            if spec.glides() {
                let g = &self.glides[i];
                self.current[i] = g.value_at(at);
                self.spare_params[i] = self.current[i];
                still_gliding |= !g.settled_at(at);
            }
        }
        self.gliding = still_gliding;
        self.kernel.set_targets(&self.targets);
        self.kernel.set_params(&self.current);
        if self.crossfade.is_some() {
            self.spare.set_targets(&self.targets);
            self.spare.set_params(&self.spare_params);
        }
    }

    fn process_chunk(&mut self, left: &mut [f32], right: &mut [f32], events: &[Event], next: &mut usize) {
        let n = left.len();
        denormal::sanitize(left);
        denormal::sanitize(right);
        let mut i = 0;
        while i < n {
            let at = self.frame + i as u64;
            let mut changed = false;
            while let Some(e) = events.get(*next).filter(|e| e.frame <= at) {
                self.apply(e, at);
                *next += 1;
                changed = true;
            }
            let on_grid = at % CONTROL_INTERVAL == 0;
            if changed || (self.gliding && on_grid) || (self.pending && self.crossfade.is_none()) {
                self.update_controls(at);
            }
            // The segment ends at the next event, the next control point while gliding, or the block's end.
            let mut end = n;
            if let Some(e) = events.get(*next) {
                end = end.min((e.frame.saturating_sub(self.frame)) as usize).max(i + 1);
            }
            if self.gliding {
                let to_grid = CONTROL_INTERVAL - at % CONTROL_INTERVAL;
                end = end.min(i + to_grid as usize);
            }
            if let Some(x) = self.crossfade {
                end = end.min((x.end() + 1 - self.frame) as usize).max(i + 1);
            }
            self.render_segment(at, &mut left[i..end], &mut right[i..end]);
            i = end;
        }
        self.frame += n as u64;
    }

    fn render_segment(&mut self, at: u64, left: &mut [f32], right: &mut [f32]) {
        let len = left.len();
        let latency = self.kernel.latency();
        let (dry_l, dry_r) = (&mut self.dry_left[..len], &mut self.dry_right[..len]);
        self.dry.process_block(left, right, dry_l, dry_r, latency);
        if let Some(x) = self.crossfade {
            let (alt_l, alt_r) = (&mut self.alt_left[..len], &mut self.alt_right[..len]);
            alt_l.copy_from_slice(left);
            alt_r.copy_from_slice(right);
            self.spare.render(at, alt_l, alt_r);
            self.kernel.render(at, left, right);
            for k in 0..len {
                let w = x.weight(at + k as u64);
                left[k] = alt_l[k] + (left[k] - alt_l[k]) * w;
                right[k] = alt_r[k] + (right[k] - alt_r[k]) * w;
            }
            if at + len as u64 > x.end() {
                self.crossfade = None;
                self.pending = true;
            }
        } else {
            self.kernel.render(at, left, right);
        }
        if let Some(m) = self.mix_index {
            let mix = self.current[m] as f32;
            for k in 0..len {
                left[k] = dry_l[k] * (1.0 - mix) + left[k] * mix;
                right[k] = dry_r[k] * (1.0 - mix) + right[k] * mix;
            }
        }
        if let Some(fade) = self.bypass_fade {
            for k in 0..len {
                let w = fade.weight(at + k as u64);
                let wet = if self.enabled { w } else { 1.0 - w };
                left[k] = dry_l[k] + (left[k] - dry_l[k]) * wet;
                right[k] = dry_r[k] + (right[k] - dry_r[k]) * wet;
            }
            if at + len as u64 > fade.end() {
                self.bypass_fade = None;
            }
        } else if !self.enabled {
            left.copy_from_slice(dry_l);
            right.copy_from_slice(dry_r);
        }
        // A last guard: sanitised input never makes a non-finite output, so this only catches a kernel bug.
        denormal::sanitize(left);
        denormal::sanitize(right);
    }
}

impl<K: Kernel> Effect for Processor<K> {
    fn spec(&self) -> &'static EffectSpec {
        K::SPEC
    }

    fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    fn frame(&self) -> u64 {
        self.frame
    }

    fn process(&mut self, left: &mut [f32], right: &mut [f32], events: &[Event]) {
        let n = left.len().min(right.len());
        let mut next = 0;
        let mut start = 0;
        while start < n {
            let end = (start + MAX_BLOCK).min(n);
            let (l, r) = (&mut left[start..end], &mut right[start..end]);
            self.process_chunk(l, r, events, &mut next);
            start = end;
        }
    }

    fn latency(&self) -> usize {
        self.kernel.latency()
    }

    fn tail(&self) -> Tail {
        let cap = (MAX_TAIL_SECONDS * self.sample_rate) as u64;
        let mut tail = self.kernel.tail_samples();
        if self.crossfade.is_some() {
            tail = tail.zip(self.spare.tail_samples()).map(|(a, b)| a.max(b));
        }
        match tail {
            Some(t) => Tail::Samples(t.min(cap)),
            None => Tail::Infinite,
        }
    }

    fn reset(&mut self) {
        self.kernel.reset();
        self.spare.reset();
        self.dry.reset();
        self.crossfade = None;
        self.bypass_fade = None;
        for (i, g) in self.glides.iter_mut().enumerate() {
            *g = Glide::constant(self.targets[i]);
        }
        self.gliding = false;
        self.pending = false;
        self.current.copy_from_slice(&self.targets);
        self.spare_params.copy_from_slice(&self.targets);
        self.kernel.set_targets(&self.targets);
        self.kernel.set_params(&self.current);
        self.spare.set_targets(&self.targets);
        self.spare.set_params(&self.current);
    }

    fn param(&self, index: usize) -> f64 {
        self.targets.get(index).copied().unwrap_or(f64::NAN)
    }

    fn is_enabled(&self) -> bool {
        self.enabled
    }

    fn set_enabled_immediately(&mut self, enabled: bool) {
        self.enabled = enabled;
        self.bypass_fade = None;
    }

    fn set_tempo_immediately(&mut self, bpm: f64) {
        let at = self.frame;
        self.apply(&Event::tempo(bpm, at), at);
    }

    fn gain_reduction_db(&self) -> f32 {
        self.kernel.gain_reduction_db()
    }

    fn set_curve(&mut self, curve: &[f32]) -> Result<(), String> {
        self.kernel.set_curve(curve)?;
        self.spare.set_curve(curve)
    }
}

/// A registered effect: its table and how to create it.
pub struct EffectEntry {
    pub spec: &'static EffectSpec,
    create: fn(f64, &[f64]) -> Box<dyn Effect>,
}

fn create_boxed<K: Kernel>(sample_rate: f64, params: &[f64]) -> Box<dyn Effect> {
    Box::new(Processor::<K>::new(sample_rate, params))
}

const fn entry<K: Kernel>() -> EffectEntry {
    EffectEntry {
        spec: K::SPEC,
        create: create_boxed::<K>,
    }
}

static REGISTRY: &[EffectEntry] = &[
    entry::<parametric_eq::ParametricEq>(),
    entry::<low_shelf::LowShelf>(),
    entry::<high_shelf::HighShelf>(),
    entry::<high_low_pass::HighLowPass>(),
    entry::<compressor::Compressor>(),
    entry::<limiter::Limiter>(),
    entry::<expander::Expander>(),
    entry::<gate::Gate>(),
    entry::<saturation::Saturation>(),
    entry::<distortion::Distortion>(),
    entry::<wave_shaper::WaveShaper>(),
    entry::<simple_delay::SimpleDelay>(),
    entry::<ping_pong_delay::PingPongDelay>(),
    entry::<multi_tap_delay::MultiTapDelay>(),
    entry::<stereo_delay::StereoDelay>(),
    entry::<freeverb::Freeverb>(),
    entry::<hall_reverb::HallReverb>(),
    entry::<plate_reverb::PlateReverb>(),
    entry::<room_reverb::RoomReverb>(),
];

/// Every implemented effect, in listing order.
pub fn registry() -> &'static [EffectEntry] {
    REGISTRY
}

/// Why an effect could not be created.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateError {
    UnknownEffect(String),
    SampleRate(f64),
    Param(ParamError),
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::UnknownEffect(id) => {
                let known: Vec<&str> = REGISTRY.iter().map(|e| e.spec.id).collect();
                write!(f, "unknown effect '{id}' (effects: {})", known.join(", "))
            }
            CreateError::SampleRate(sr) => write!(
                f,
                "sample rate {sr} Hz is not supported (allowed: {} to {} Hz)",
                SAMPLE_RATE_RANGE.0, SAMPLE_RATE_RANGE.1
            ),
            CreateError::Param(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CreateError {}

impl From<ParamError> for CreateError {
    fn from(e: ParamError) -> Self {
        CreateError::Param(e)
    }
}

/// Looks up an effect by id.
pub fn find(id: &str) -> Result<&'static EffectEntry, CreateError> {
    REGISTRY
        .iter()
        .find(|e| e.spec.id == id)
        .ok_or_else(|| CreateError::UnknownEffect(id.to_string()))
}

impl EffectEntry {
    /// Creates the effect from a preset (optional) and named values on top, all validated.
    pub fn create<'a>(
        &self,
        sample_rate: f64,
        preset: Option<&str>,
        values: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Box<dyn Effect>, CreateError> {
        if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&sample_rate) {
            return Err(CreateError::SampleRate(sample_rate));
        }
        let params = self.spec.resolve(preset, values)?;
        Ok((self.create)(sample_rate, &params))
    }
}

/// Creates an effect by id with named parameter values (defaults for the rest).
pub fn create<'a>(
    id: &str,
    sample_rate: f64,
    values: impl IntoIterator<Item = (&'a str, f64)>,
) -> Result<Box<dyn Effect>, CreateError> {
    find(id)?.create(sample_rate, None, values)
}
