//! The registry: every effect id with its table and constructor, and creating effects by id.

use super::{
    compressor, distortion, expander, freeverb, gate, hall_reverb, high_low_pass, high_shelf, limiter, low_shelf,
    multi_tap_delay, parametric_eq, ping_pong_delay, plate_reverb, room_reverb, saturation, simple_delay, stereo_delay,
    wave_shaper,
};
use super::{Effect, Kernel, Processor, SAMPLE_RATE_RANGE};
use crate::params::{EffectSpec, ParamError};
use std::fmt;

/// A registered effect: its table and how to create it.
pub struct EffectEntry {
    pub spec: &'static EffectSpec,
    create: fn(f64, &[f64]) -> Box<dyn Effect>,
}

fn create_boxed<K: Kernel>(sample_rate: f64, params: &[f64]) -> Box<dyn Effect> {
    Box::new(Processor::new::<K>(sample_rate, params))
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
