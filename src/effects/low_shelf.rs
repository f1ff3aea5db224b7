//! `low-shelf`: one RBJ cookbook low shelf.

use super::shelf::{Shelf, ShelfKind};
use crate::dsp::biquad::BandType;
use crate::params::{Category, EffectSpec, ParamSpec};

pub static SPEC: EffectSpec = EffectSpec {
    id: "low-shelf",
    name: "Low Shelf",
    category: Category::Eq,
    params: &[
        ParamSpec::log("frequencyHz", "Hz", 20.0, 20000.0, 100.0),
        ParamSpec::linear("gainDb", "dB", -24.0, 24.0, 0.0),
        ParamSpec::log("q", "", 0.1, 4.0, 0.7071),
    ],
    presets: &[],
};

pub struct Low;

impl ShelfKind for Low {
    const SPEC: &'static EffectSpec = &SPEC;
    const BAND: BandType = BandType::LowShelf;
}

pub type LowShelf = Shelf<Low>;
