//! The stereo core shared by `saturation`, `distortion` and `wave-shaper`: oversampling around a curve with
//! first-order ADAA, then (for the first two) a DC blocker, the `toneHz` low-pass and the output gain.
//! `saturation` and `distortion` differ only in their table and in how parameters pick the curve ([`Voicing`]):
//! both are a [`DrivenShaper`].

use super::Kernel;
use crate::dsp::biquad::{BandType, Cascade, Coeffs};
use crate::dsp::db_to_gain;
use crate::dsp::denormal::flush;
use crate::dsp::oversampler::Oversampler;
use crate::dsp::shaper::{Adaa, Curve, CustomCurve, DcBlocker, Shaper};
use crate::params::{EffectSpec, ParamKind, ParamSpec};
use std::marker::PhantomData;

/// The `oversample` parameter (1, 2, 4 or 8; default 2). Changing it changes the latency, so it is not
/// automatable, and a change fades out, switches and fades in (see [`crate::effects::Processor`]).
pub const OVERSAMPLE: ParamSpec = ParamSpec {
    kind: ParamKind::Choice(&[(1.0, "1x"), (2.0, "2x"), (4.0, "4x"), (8.0, "8x")]),
    ..ParamSpec::integer("oversample", 1.0, 8.0, 2.0).changing_latency()
};

/// The DC blocker's corner: at most 5 Hz (docs/effects.md); 3 Hz keeps 20 Hz within 0.1 dB.
pub const DC_CORNER_HZ: f64 = 3.0;

/// The pole of the filter after ADAA that makes up for its droop: in the curve's linear region first-order
/// ADAA is the two-sample average (1 + z^-1)/2, |H| = cos(w/2), -0.48 dB at 10 kHz at 2x 48 kHz. The one-pole
/// (1 + b)/(1 + b z^-1) with b = 1/2 cancels most of it (the product stays below 1 at every frequency, so it adds
/// no gain): -0.07 dB at 10 kHz at 2x, -0.24 dB at 20 kHz.
const DROOP_POLE: f64 = 0.5;

/// What the oversampled section applies per sample.
#[derive(Clone, Copy)]
pub enum Shape<'a> {
    /// An analytic curve with ADAA.
    Analytic(Curve),
    /// A custom curve: mapped exactly at 1x (docs/effects.md), with ADAA when oversampling.
    Table(&'a CustomCurve),
}

/// Oversampler and ADAA state for two channels.
#[derive(Clone)]
pub struct ShapingCore {
    oversampler: [Oversampler; 2],
    adaa: [Adaa; 2],
    /// The droop compensation's last output per channel.
    droop: [f64; 2],
}

impl ShapingCore {
    pub fn new(factor: f64) -> Self {
        let mut core = ShapingCore {
            oversampler: [Oversampler::new(), Oversampler::new()],
            adaa: [Adaa::default(); 2],
            droop: [0.0; 2],
        };
        core.set_factor(factor);
        core
    }

    pub fn set_factor(&mut self, factor: f64) {
        for o in &mut self.oversampler {
            o.set_factor(factor as usize);
        }
    }

    pub fn latency(&self) -> usize {
        self.oversampler[0].latency()
    }

    /// Multiplies by `drive`, then shapes each channel at the oversampled rate.
    pub fn render(&mut self, drive: f64, shape: Shape, left: &mut [f32], right: &mut [f32]) {
        let oversampling = self.oversampler[0].factor() > 1;
        for (ch, block) in [left, right].into_iter().enumerate() {
            let oversampler = &mut self.oversampler[ch];
            let adaa = &mut self.adaa[ch];
            let droop = &mut self.droop[ch];
            match shape {
                Shape::Analytic(curve) => shape_with_adaa(oversampler, adaa, droop, &curve, drive, block),
                Shape::Table(table) if oversampling => shape_with_adaa(oversampler, adaa, droop, table, drive, block),
                // At 1x the mapping is exactly the WaveShaperNode's (docs/effects.md: no ADAA there).
                Shape::Table(table) => oversampler.process(block, |x| {
                    let u = drive * x;
                    adaa.skip(u);
                    *droop = 0.0;
                    table.map(u)
                }),
            }
        }
    }

    /// The oversampler's filters, then the droop filter's pole (0.5^17 < 1e-5) at the high rate.
    pub fn tail_samples(&self) -> u64 {
        self.oversampler[0].tail_samples() + 17
    }

    pub fn reset(&mut self) {
        for o in &mut self.oversampler {
            o.reset();
        }
        self.adaa = [Adaa::default(); 2];
        self.droop = [0.0; 2];
    }

    /// Whether the oversamplers, the ADAA's last inputs and the droop filter are within `limit` of zero.
    pub fn settled(&self, limit: f64) -> bool {
        self.oversampler.iter().all(|o| o.settled(limit))
            && self.adaa.iter().all(|a| a.settled(limit))
            && self.droop.iter().all(|d| d.abs() <= limit)
    }

    pub fn copy_state_from(&mut self, other: &ShapingCore) {
        for (o, p) in self.oversampler.iter_mut().zip(other.oversampler.iter()) {
            o.copy_state_from(p);
        }
        self.adaa = other.adaa;
        self.droop = other.droop;
    }
}

/// One channel through the oversampler: `drive`, the curve with ADAA, then the droop compensation.
fn shape_with_adaa<S: Shaper>(
    oversampler: &mut Oversampler,
    adaa: &mut Adaa,
    droop: &mut f64,
    curve: &S,
    drive: f64,
    block: &mut [f32],
) {
    adaa.prime(curve);
    oversampler.process(block, |x| {
        let y = adaa.tick(curve, drive * x);
        *droop = flush((1.0 + DROOP_POLE) * y - DROOP_POLE * *droop);
        *droop
    });
}

/// The post-processing of `saturation` and `distortion`: DC blocker, `toneHz` low-pass (2nd-order
/// Butterworth, off at or above 0.49 fs), output gain.
#[derive(Clone)]
pub struct PostFilter {
    sample_rate: f64,
    dc: DcBlocker,
    tone: Cascade,
    tone_hz: f64,
}

impl PostFilter {
    pub fn new(sample_rate: f64) -> Self {
        PostFilter {
            sample_rate,
            dc: DcBlocker::new(DC_CORNER_HZ, sample_rate),
            tone: Cascade::default(),
            tone_hz: f64::NAN,
        }
    }

    pub fn set(&mut self, tone_hz: f64, output_gain: f64) {
        if tone_hz != self.tone_hz {
            self.tone_hz = tone_hz;
            let c = Coeffs::cookbook(
                BandType::LowPass,
                tone_hz,
                std::f64::consts::FRAC_1_SQRT_2,
                0.0,
                self.sample_rate,
            );
            self.tone.set(0, c);
            let active = usize::from(c != Coeffs::IDENTITY);
            if active == 1 && self.tone.active() == 0 {
                self.tone.clear_section(0);
            }
            self.tone.set_active(active);
        }
        self.tone.set_gain(output_gain);
    }

    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.dc.process(0, left);
        self.dc.process(1, right);
        self.tone.process(left, right);
    }

    pub fn tail_samples(&self) -> u64 {
        self.dc.tail_samples() + self.tone.tail_samples()
    }

    pub fn reset(&mut self) {
        self.dc.reset();
        self.tone.reset();
    }

    /// The largest state the shaping before this filter may keep for the output to stay far below `floor`:
    /// 60 dB below it, less the output gain.
    pub fn input_limit(&self, floor: f32) -> f64 {
        floor as f64 * 1e-3 / self.tone.gain().abs().max(1.0)
    }

    /// Whether the DC blocker and the tone filter are settled (see [`Cascade::settled`]).
    pub fn settled(&self, floor: f32) -> bool {
        self.dc.settled(self.input_limit(floor)) && self.tone.settled(floor)
    }

    pub fn copy_state_from(&mut self, other: &PostFilter) {
        self.dc.copy_state_from(&other.dc);
        self.tone.copy_state_from(&other.tone);
    }
}

/// What sets a driven shaper apart: its table (which must have `driveDb`, `toneHz`, `outputDb` and
/// `oversample`) and the curve its parameters select.
pub trait Voicing: Send + 'static {
    const SPEC: &'static EffectSpec;
    fn curve(params: &[f64]) -> Curve;
}

/// Where the parameters every driven shaper has sit in its table.
#[derive(Clone, Copy)]
struct Indices {
    drive_db: usize,
    tone_hz: usize,
    output_db: usize,
    oversample: usize,
}

impl Indices {
    fn of(spec: &EffectSpec) -> Self {
        // The tables are static and tested: a missing name is a programming error, found at creation.
        let at = |name| {
            spec.index_of(name)
                .unwrap_or_else(|| panic!("{} has no parameter {name}", spec.id))
        };
        Indices {
            drive_db: at("driveDb"),
            tone_hz: at("toneHz"),
            output_db: at("outputDb"),
            oversample: at("oversample"),
        }
    }
}

/// x * drive -> oversampled curve with ADAA -> DC blocker -> tone low-pass -> output gain (`mix` is the
/// processor's).
pub struct DrivenShaper<V: Voicing> {
    core: ShapingCore,
    post: PostFilter,
    drive: f64,
    curve: Curve,
    at: Indices,
    voicing: PhantomData<V>,
}

impl<V: Voicing> Kernel for DrivenShaper<V> {
    const SPEC: &'static EffectSpec = V::SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let at = Indices::of(V::SPEC);
        let mut k = DrivenShaper {
            core: ShapingCore::new(params[at.oversample]),
            post: PostFilter::new(sample_rate),
            drive: 1.0,
            curve: Curve::Tanh { k: 1.0 },
            at,
            voicing: PhantomData,
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        let at = self.at;
        self.drive = db_to_gain(p[at.drive_db]);
        self.curve = V::curve(p);
        self.core.set_factor(p[at.oversample]);
        self.post.set(p[at.tone_hz], db_to_gain(p[at.output_db]));
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.core.render(self.drive, Shape::Analytic(self.curve), left, right);
        self.post.process(left, right);
    }

    fn reset(&mut self) {
        self.core.reset();
        self.post.reset();
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.core.copy_state_from(&other.core);
        self.post.copy_state_from(&other.post);
    }

    fn latency(&self) -> usize {
        self.core.latency()
    }

    fn max_latency(_sample_rate: f64) -> usize {
        Oversampler::max_latency()
    }

    fn tail_samples(&self) -> Option<u64> {
        Some(self.core.tail_samples() + self.post.tail_samples())
    }

    /// The shaping state is measured before `drive` (the oversampler's input) and after it (the ADAA), so its
    /// limit is divided by the drive as well as the output gain.
    fn settled(&self, floor: f32) -> bool {
        let limit = self.post.input_limit(floor) / self.drive.max(1.0);
        // A curve that maps silence elsewhere than 0 feeds the DC blocker a constant: its state never settles.
        self.curve.value(0.0) == 0.0 && self.core.settled(limit) && self.post.settled(floor)
    }
}
