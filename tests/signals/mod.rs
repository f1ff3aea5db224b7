//! Deterministic test signals shared by the test binaries (`mod signals;`), independent of the crate.
// Each binary uses part of this module.
#![allow(dead_code)]

/// xorshift64 (13, 7, 17): uniform noise in [-1, 1) from the top 53 bits of the state.
/// `tests/reference/generate.py` implements the same generator for the librosa fixtures.
pub struct Noise(pub u64);

impl Noise {
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// The next value rounded to f32.
    pub fn next(&mut self) -> f32 {
        self.next_f64() as f32
    }
}

/// `n` values of [`Noise`] from `seed`.
pub fn noise_f64(seed: u64, n: usize) -> Vec<f64> {
    let mut noise = Noise(seed);
    (0..n).map(|_| noise.next_f64()).collect()
}

/// `n` values of [`Noise`] from `seed`, rounded to f32.
pub fn noise_f32(seed: u64, n: usize) -> Vec<f32> {
    let mut noise = Noise(seed);
    (0..n).map(|_| noise.next()).collect()
}
