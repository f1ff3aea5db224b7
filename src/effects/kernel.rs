//! What an effect's DSP implements: the [`Kernel`] trait, rendered by a [`super::Processor`]; and
//! [`DynKernel`], the object-safe face of every kernel that the one, non-generic processor holds.

use crate::params::EffectSpec;
use std::any::Any;

/// The DSP of one effect, rendered by a [`Processor`](super::Processor).
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

    /// True for kernels whose detector takes a key (sidechain) input ([`Kernel::render_keyed`]); the processor
    /// keeps key scratch only for them and drops the key of every other kernel.
    const TAKES_KEY: bool = false;

    /// Renders a block in place with a key: the detector hears `key_left`/`key_right` (sanitised, as long as the
    /// block, aligned with it) and the gain applies to `left`/`right`. The default ignores the key.
    fn render_keyed(&mut self, frame: u64, left: &mut [f32], right: &mut [f32], _key_left: &[f32], _key_right: &[f32]) {
        self.render(frame, left, right);
    }

    fn reset(&mut self);

    /// Copies the audio state (and a loaded custom curve) of another kernel of the same sample rate (no
    /// allocation).
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

    /// Whether the kernel's audio and control state has settled at or below `floor`: every delay line, filter
    /// memory and detector within `floor` of rest, no glide or internal fade under way. Fed silence from then
    /// on, its output would stay within about `floor` of zero, so the processor may stop running it and output
    /// exact zeros (see the [`Processor`](super::Processor) documentation). Judged on the state itself, never on
    /// the reported tail. Called at most once per piece while the input is silent. The default, false, keeps
    /// the kernel running for ever; a frozen reverb must never answer true.
    fn settled(&self, _floor: f32) -> bool {
        false
    }

    /// True when the kernel makes every change of its non-gliding parameters click-free by itself (the delays
    /// glide their time when `syncToTempo`, `noteValue` or `taps` change): the processor then applies such
    /// changes directly and keeps no second kernel for crossfades.
    const OWN_TRANSITIONS: bool = false;

    /// True for kernels that take a custom curve ([`Kernel::load_curve`]).
    const TAKES_CURVE: bool = false;

    /// Loads a validated custom curve into preallocated storage (see [`Effect::set_curve`](super::Effect::set_curve)). Kernels that take
    /// a curve copy it in [`Kernel::copy_state_from`] too, so that a crossfade's two states agree.
    fn load_curve(&mut self, _curve: &[f32]) {}
}

/// The object-safe face of a [`Kernel`]: what the processor calls per piece or per control point. One processor
/// serves every effect through it instead of one generic copy per effect kind (the copies were most of the
/// effects' share of the wasm module, docs/wasm.md "Size"); a kernel renders whole segments, so one virtual
/// call per segment costs nothing measurable. The trait's consts are read once, at creation, by
/// [`super::Processor::new`]. Every `K: Kernel` has it through the blanket impl below.
pub(crate) trait DynKernel: Send + Any {
    fn set_params(&mut self, params: &[f64]);
    fn set_targets(&mut self, targets: &[f64]);
    fn set_tempo(&mut self, bpm: f64);
    fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]);
    fn render_keyed(&mut self, frame: u64, left: &mut [f32], right: &mut [f32], key_left: &[f32], key_right: &[f32]);
    fn reset(&mut self);
    /// [`Kernel::copy_state_from`] for a kernel of the same type; a kernel of another type (which the processor
    /// never pairs) leaves the state as it is.
    fn copy_state_from_dyn(&mut self, other: &dyn DynKernel);
    fn latency(&self) -> usize;
    fn tail_samples(&self) -> Option<u64>;
    fn gain_reduction_db(&self) -> f32;
    fn settled(&self, floor: f32) -> bool;
    fn load_curve(&mut self, curve: &[f32]);
    /// For the downcasts of [`DynKernel::copy_state_from_dyn`] and the processor's typed kernel accessor.
    fn as_any(&self) -> &dyn Any;
}

impl<K: Kernel> DynKernel for K {
    fn set_params(&mut self, params: &[f64]) {
        Kernel::set_params(self, params);
    }

    fn set_targets(&mut self, targets: &[f64]) {
        Kernel::set_targets(self, targets);
    }

    fn set_tempo(&mut self, bpm: f64) {
        Kernel::set_tempo(self, bpm);
    }

    fn render(&mut self, frame: u64, left: &mut [f32], right: &mut [f32]) {
        Kernel::render(self, frame, left, right);
    }

    fn render_keyed(&mut self, frame: u64, left: &mut [f32], right: &mut [f32], key_left: &[f32], key_right: &[f32]) {
        Kernel::render_keyed(self, frame, left, right, key_left, key_right);
    }

    fn reset(&mut self) {
        Kernel::reset(self);
    }

    fn copy_state_from_dyn(&mut self, other: &dyn DynKernel) {
        if let Some(other) = other.as_any().downcast_ref::<K>() {
            Kernel::copy_state_from(self, other);
        }
    }

    fn latency(&self) -> usize {
        Kernel::latency(self)
    }

    fn tail_samples(&self) -> Option<u64> {
        Kernel::tail_samples(self)
    }

    fn gain_reduction_db(&self) -> f32 {
        Kernel::gain_reduction_db(self)
    }

    fn settled(&self, floor: f32) -> bool {
        Kernel::settled(self, floor)
    }

    fn load_curve(&mut self, curve: &[f32]) {
        Kernel::load_curve(self, curve);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
