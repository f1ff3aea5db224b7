//! `high-shelf`: one RBJ cookbook high shelf.

use super::shelf::{Shelf, ShelfKind};
use crate::dsp::biquad::BandType;
use crate::params::{Category, EffectSpec, ParamSpec};

pub static SPEC: EffectSpec = EffectSpec {
    id: "high-shelf",
    name: "High Shelf",
    category: Category::Eq,
    params: &[
        ParamSpec::log("frequencyHz", "Hz", 20.0, 20000.0, 8000.0),
        ParamSpec::linear("gainDb", "dB", -24.0, 24.0, 0.0),
        ParamSpec::log("q", "", 0.1, 4.0, 0.7071),
    ],
    presets: &[],
};

pub struct High;

impl ShelfKind for High {
    const SPEC: &'static EffectSpec = &SPEC;
    const BAND: BandType = BandType::HighShelf;
}

pub type HighShelf = Shelf<High>;
