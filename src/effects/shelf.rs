//! The single-band kernel behind `low-shelf` and `high-shelf`.

use super::Kernel;
use crate::dsp::biquad::{BandType, Cascade, Coeffs};
use crate::params::EffectSpec;

/// What distinguishes the two shelves: their table and band type.
pub trait ShelfKind: Send + 'static {
    const SPEC: &'static EffectSpec;
    const BAND: BandType;
}

/// One RBJ shelf. Parameters: `frequencyHz`, `gainDb`, `q` (in that order in both tables).
pub struct Shelf<T: ShelfKind> {
    sample_rate: f64,
    cascade: Cascade,
    kind: std::marker::PhantomData<T>,
}

impl<T: ShelfKind> Kernel for Shelf<T> {
    const SPEC: &'static EffectSpec = T::SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut cascade = Cascade::default();
        cascade.set_active(1);
        let mut shelf = Shelf {
            sample_rate,
            cascade,
            kind: std::marker::PhantomData,
        };
        shelf.set_params(params);
        shelf
    }

    fn set_params(&mut self, p: &[f64]) {
        let (frequency_hz, gain_db, q) = (p[0], p[1], p[2]);
        let c = Coeffs::cookbook(T::BAND, frequency_hz, q, gain_db, self.sample_rate);
        self.cascade.set(0, c);
    }

    cascade_kernel!();
}
