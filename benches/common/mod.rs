//! What the hand-run benchmarks share: the session's rate and quantum, and their test noise.

pub const FS: f64 = 48_000.0;
pub const QUANTUM: usize = 128;
/// Distinct noise quanta per track, cycled.
pub const NOISE_QUANTA: usize = 16;

/// Uniform xorshift64 noise in [-0.5, 0.5), from a seed.
pub fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}
