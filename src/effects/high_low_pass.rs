//! `high-low-pass`: a Butterworth high-pass or low-pass of order 1 to 8 (bilinear, pre-warped).

use super::Kernel;
use crate::dsp::biquad::{butterworth, Cascade, Coeffs, MAX_SECTIONS};
use crate::params::{Category, EffectSpec, ParamSpec};

pub static SPEC: EffectSpec = EffectSpec {
    id: "high-low-pass",
    name: "High/Low Pass",
    category: Category::Eq,
    params: &[
        ParamSpec::enumeration("mode", &["highPass", "lowPass"], 0.0),
        ParamSpec::log("frequencyHz", "Hz", 20.0, 20000.0, 1000.0),
        ParamSpec::integer("order", 1.0, 8.0, 2.0),
    ],
    presets: &[],
};

pub struct HighLowPass {
    sample_rate: f64,
    cascade: Cascade,
    design: (f64, f64, f64),
}

impl Kernel for HighLowPass {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = HighLowPass {
            sample_rate,
            cascade: Cascade::default(),
            design: (f64::NAN, 0.0, 0.0),
        };
        k.set_params(params);
        k
    }

    fn set_params(&mut self, p: &[f64]) {
        let design = (p[0], p[1], p[2]);
        if design == self.design {
            return;
        }
        self.design = design;
        let mut sections = [Coeffs::IDENTITY; MAX_SECTIONS];
        let high_pass = p[0] == 0.0;
        let n = butterworth(high_pass, p[2] as usize, p[1], self.sample_rate, &mut sections);
        for (i, c) in sections[..n].iter().enumerate() {
            self.cascade.set(i, *c);
        }
        self.cascade.set_active(n);
    }

    cascade_kernel!();
}
