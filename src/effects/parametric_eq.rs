//! `parametric-eq`: eight RBJ cookbook bands in series and an output gain.

use super::Kernel;
use crate::dsp::biquad::{BandType, Cascade, Coeffs, MAX_SECTIONS};
use crate::dsp::db_to_gain;
use crate::params::{Category, EffectSpec, ParamSpec};

pub const BANDS: usize = 8;
const PER_BAND: usize = 4;
const OUTPUT_GAIN: usize = BANDS * PER_BAND;

macro_rules! band {
    ($n:literal, $type:expr, $freq:expr) => {
        [
            ParamSpec::enumeration(concat!("b", $n, "Type"), BandType::LABELS, $type),
            ParamSpec::log(concat!("b", $n, "FrequencyHz"), "Hz", 20.0, 20000.0, $freq),
            ParamSpec::linear(concat!("b", $n, "GainDb"), "dB", -24.0, 24.0, 0.0),
            ParamSpec::log(concat!("b", $n, "Q"), "", 0.1, 18.0, 0.7071),
        ]
    };
}

const fn params() -> [ParamSpec; OUTPUT_GAIN + 1] {
    let bands = [
        band!(1, 2.0, 100.0),
        band!(2, 1.0, 1000.0),
        band!(3, 3.0, 10000.0),
        band!(4, 0.0, 1000.0),
        band!(5, 0.0, 1000.0),
        band!(6, 0.0, 1000.0),
        band!(7, 0.0, 1000.0),
        band!(8, 0.0, 1000.0),
    ];
    let mut out = [ParamSpec::linear("outputGainDb", "dB", -24.0, 24.0, 0.0); OUTPUT_GAIN + 1];
    let mut i = 0;
    while i < OUTPUT_GAIN {
        out[i] = bands[i / PER_BAND][i % PER_BAND];
        i += 1;
    }
    out
}

static PARAMS: [ParamSpec; OUTPUT_GAIN + 1] = params();

pub static SPEC: EffectSpec = EffectSpec {
    id: "parametric-eq",
    name: "Parametric EQ",
    category: Category::Eq,
    params: &PARAMS,
    presets: &[],
};

/// One band's settings, to skip recomputing coefficients that did not change.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Band {
    kind: BandType,
    frequency_hz: f64,
    gain_db: f64,
    q: f64,
}

pub struct ParametricEq {
    sample_rate: f64,
    cascade: Cascade,
    bands: [Option<Band>; BANDS],
    /// The cascade section each active band runs in (off bands are skipped entirely).
    slot: [Option<usize>; BANDS],
}

impl Kernel for ParametricEq {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut eq = ParametricEq {
            sample_rate,
            cascade: Cascade::default(),
            bands: [None; BANDS],
            slot: [None; BANDS],
        };
        eq.set_params(params);
        eq
    }

    fn set_params(&mut self, p: &[f64]) {
        let kinds: [BandType; BANDS] = std::array::from_fn(|b| BandType::from_index(p[b * PER_BAND]));
        let layout_changed = (0..BANDS).any(|b| (kinds[b] != BandType::Off) != self.slot[b].is_some());
        if layout_changed {
            // Keep each band's filter memory with the band when the set of active bands changes.
            let saved: [[f64; 4]; BANDS] =
                std::array::from_fn(|b| self.slot[b].map_or([0.0; 4], |s| self.cascade.state(s)));
            let mut next = 0;
            for b in 0..BANDS {
                self.slot[b] = (kinds[b] != BandType::Off).then(|| {
                    next += 1;
                    next - 1
                });
                if let Some(s) = self.slot[b] {
                    self.cascade.set_state(s, saved[b]);
                }
            }
            self.cascade.set_active(next.min(MAX_SECTIONS));
        }
        for b in 0..BANDS {
            let band = Band {
                kind: kinds[b],
                frequency_hz: p[b * PER_BAND + 1],
                gain_db: p[b * PER_BAND + 2],
                q: p[b * PER_BAND + 3],
            };
            if self.bands[b] != Some(band) || layout_changed {
                self.bands[b] = Some(band);
                if let Some(s) = self.slot[b] {
                    let c = Coeffs::cookbook(band.kind, band.frequency_hz, band.q, band.gain_db, self.sample_rate);
                    self.cascade.set(s, c);
                }
            }
        }
        self.cascade.set_gain(db_to_gain(p[OUTPUT_GAIN]));
    }

    cascade_kernel!();
}
