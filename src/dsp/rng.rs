//! PCG32 (PCG-XSH-RR, 64-bit state, 32-bit output; M. E. O'Neill, "PCG: A Family of Simple Fast
//! Space-Efficient Statistically Good Algorithms for Random Number Generation", 2014): a small named PRNG
//! whose output is fixed by its seed on every platform, for dither and any seeded noise or modulation.

/// The LCG multiplier of PCG32 (O'Neill's reference implementation, `pcg32_random_r`).
const MULTIPLIER: u64 = 6_364_136_223_846_793_005;

/// A PCG32 generator: 64-bit LCG state and an odd increment that selects one of 2^63 streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcg32 {
    state: u64,
    increment: u64,
}

impl Pcg32 {
    /// Seeds as the reference `pcg32_srandom_r(initstate, initseq)` does, so outputs match the published ones.
    pub fn new(init_state: u64, stream: u64) -> Self {
        let mut rng = Pcg32 {
            state: 0,
            increment: (stream << 1) | 1,
        };
        rng.next_u32();
        rng.state = rng.state.wrapping_add(init_state);
        rng.next_u32();
        rng
    }

    /// The next 32 uniformly distributed bits.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old.wrapping_mul(MULTIPLIER).wrapping_add(self.increment);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rotation = (old >> 59) as u32;
        xorshifted.rotate_right(rotation)
    }

    /// A uniform value in [0, 1) with 53 random bits (two outputs: the high 32 and 21 of the next).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        let high = u64::from(self.next_u32());
        let low = u64::from(self.next_u32() >> 11);
        ((high << 21) | low) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_pcg32_demo_output_for_seed_42_stream_54() {
        // pcg32-demo (pcg-c-basic) after pcg32_srandom_r(&rng, 42u, 54u), "Round 1".
        let expected: [u32; 6] = [0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e];
        let mut rng = Pcg32::new(42, 54);
        let got: Vec<u32> = (0..6).map(|_| rng.next_u32()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn same_seed_same_sequence_other_stream_other_sequence() {
        let (mut a, mut b, mut c) = (Pcg32::new(7, 1), Pcg32::new(7, 1), Pcg32::new(7, 2));
        let sa: Vec<u32> = (0..100).map(|_| a.next_u32()).collect();
        let sb: Vec<u32> = (0..100).map(|_| b.next_u32()).collect();
        let sc: Vec<u32> = (0..100).map(|_| c.next_u32()).collect();
        assert_eq!(sa, sb);
        assert_ne!(sa, sc);
    }

    #[test]
    fn next_f64_is_in_unit_interval_with_uniform_mean_and_variance() {
        let mut rng = Pcg32::new(1, 1);
        let n = 200_000;
        let values: Vec<f64> = (0..n).map(|_| rng.next_f64()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        // Uniform [0, 1): mean 1/2, variance 1/12; the standard error of the mean is ~0.00065 here.
        assert!((mean - 0.5).abs() < 0.004, "mean {mean}");
        assert!((variance - 1.0 / 12.0).abs() < 0.002, "variance {variance}");
    }
}
