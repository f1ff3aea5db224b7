//! The vocabulary every part of the control side shares: curve types, automation modes, LFO shapes and rates,
//! time signatures, and the conversions of seconds to frames and dB to gain. It sits below the plan
//! ([`super::plan`]), which the parser, the routing, the automation and the transport all build on.

use crate::dsp::rng::Pcg32;

/// How a segment moves from its left point's value v0 to the next point's v1, as a function of u in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveType {
    /// v0 + (v1 - v0) u
    Linear,
    /// v0 + (v1 - v0) u^2
    Exponential,
    /// v0 + (v1 - v0) (1 - (1 - u)^2)
    Logarithmic,
    /// v0 + (v1 - v0) (3u^2 - 2u^3), smoothstep
    Smooth,
    /// v0 until the next point
    Step,
}

impl CurveType {
    /// In the order of the JSON names (linear, exponential, logarithmic, smooth, step).
    pub const ALL: [CurveType; 5] = [
        CurveType::Linear,
        CurveType::Exponential,
        CurveType::Logarithmic,
        CurveType::Smooth,
        CurveType::Step,
    ];

    /// The fraction of the way from v0 to v1 at u (docs/engine.md's five formulas).
    pub fn shape(self, u: f64) -> f64 {
        match self {
            CurveType::Linear => u,
            CurveType::Exponential => u * u,
            CurveType::Logarithmic => 1.0 - (1.0 - u) * (1.0 - u),
            CurveType::Smooth => u * u * (3.0 - 2.0 * u),
            CurveType::Step => 0.0,
        }
    }
}

/// The automation modes; the curve's own mode wins over the strip's `automationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutomationMode {
    Off,
    Read,
    Write,
    Touch,
    Latch,
}

impl AutomationMode {
    /// In the order of the JSON names (off, read, write, touch, latch).
    pub const ALL: [AutomationMode; 5] = [
        AutomationMode::Off,
        AutomationMode::Read,
        AutomationMode::Write,
        AutomationMode::Touch,
        AutomationMode::Latch,
    ];
}

/// An LFO's waveform, each from -1 to 1 over one cycle of phase p in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LfoShape {
    /// sin(2 pi p)
    Sine,
    /// 0 at p = 0, 1 at 1/4, -1 at 3/4 (a sine's turning points, joined by straight lines)
    Triangle,
    /// 1 for p < 1/2, -1 after
    Square,
    /// 2p - 1, rising
    Saw,
    /// A value per cycle, uniform in [-1, 1), from PCG32 seeded with (seed, cycle index): the same at every
    /// host and after any seek.
    SampleAndHold,
}

impl LfoShape {
    /// In the order of the JSON names (sine, triangle, square, saw, sampleAndHold).
    pub const ALL: [LfoShape; 5] = [
        LfoShape::Sine,
        LfoShape::Triangle,
        LfoShape::Square,
        LfoShape::Saw,
        LfoShape::SampleAndHold,
    ];
}

/// An LFO's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LfoRate {
    /// Cycles per second.
    Hz(f64),
    /// Beats per cycle at the transport tempo (a quarter-note beat: 1 = one cycle per beat).
    Beats(f64),
}

/// LFO modulation of a parameter: `depth` (in the parameter's unit) x the waveform, added to the automated or
/// static value and clamped to the parameter's range. Its phase is a function of the absolute timeline frame
/// (`phase` cycles at frame 0), so it is the same after a seek and in every host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lfo {
    pub shape: LfoShape,
    pub rate: LfoRate,
    pub depth: f64,
    /// Phase at timeline frame 0, in cycles (0..1).
    pub phase: f64,
    pub seed: u64,
}

impl Lfo {
    /// Cycles per second at a tempo.
    pub fn rate_hz(&self, bpm: f64) -> f64 {
        match self.rate {
            LfoRate::Hz(hz) => hz,
            LfoRate::Beats(beats) => bpm / 60.0 / beats,
        }
    }

    /// The waveform (-1..1) at a timeline frame.
    pub fn wave_at(&self, frame: u64, sample_rate: f64, bpm: f64) -> f64 {
        self.wave_of_cycles(frame as f64 * self.rate_hz(bpm) / sample_rate + self.phase)
    }

    /// The waveform (-1..1) after `cycles` cycles (phase included): the caller decides how cycles follow the
    /// timeline (seconds for a rate in Hz, beats through the tempo map for a tempo-synced rate).
    pub fn wave_of_cycles(&self, cycles: f64) -> f64 {
        let p = cycles - cycles.floor();
        match self.shape {
            LfoShape::Sine => (std::f64::consts::TAU * p).sin(),
            LfoShape::Triangle => {
                if p < 0.25 {
                    4.0 * p
                } else if p < 0.75 {
                    2.0 - 4.0 * p
                } else {
                    4.0 * p - 4.0
                }
            }
            LfoShape::Square => {
                if p < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
            LfoShape::Saw => 2.0 * p - 1.0,
            LfoShape::SampleAndHold => {
                let cycle = cycles.floor() as i64 as u64;
                Pcg32::new(self.seed, cycle).next_f64() * 2.0 - 1.0
            }
        }
    }
}

/// A time signature: `beats_per_bar` beats of 1/`beat_unit` notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSignature {
    pub beats_per_bar: u32,
    pub beat_unit: u32,
}

impl Default for TimeSignature {
    fn default() -> Self {
        TimeSignature {
            beats_per_bar: 4,
            beat_unit: 4,
        }
    }
}

impl TimeSignature {
    /// Parses "4/4", "6/8", "7/16": beats 1 to 64, unit a power of two from 1 to 32.
    pub fn parse(text: &str) -> Option<Self> {
        let (beats, unit) = text.trim().split_once('/')?;
        let beats: u32 = beats.trim().parse().ok()?;
        let unit: u32 = unit.trim().parse().ok()?;
        ((1..=64).contains(&beats) && [1, 2, 4, 8, 16, 32].contains(&unit)).then_some(TimeSignature {
            beats_per_bar: beats,
            beat_unit: unit,
        })
    }
}

/// frame = round(seconds x sampleRate), everywhere (docs/engine.md, "Time to samples").
pub fn seconds_to_frame(seconds: f64, sample_rate: f64) -> u64 {
    (seconds * sample_rate).round().max(0.0) as u64
}

/// dB to linear amplitude, 10^(dB/20).
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}
