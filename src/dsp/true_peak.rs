//! True peak per ITU-R BS.1770-4 Annex 2: 4x oversampling with the Annex's 48-tap interpolation filter.

/// Taps per polyphase branch of the Annex 2 filter.
pub const TAPS_PER_PHASE: usize = 12;
/// Oversampling factor (Annex 2).
pub const PHASES: usize = 4;

/// The Annex 2 interpolation filter (order 48) split into its four phases: phase `p` tap `j` is coefficient
/// `4 j + p` of the 48-tap prototype. Output sample `4 n + p` is `sum_j PHASE_COEFFICIENTS[p][j] * x[n - j]`.
/// Values as printed in ITU-R BS.1770-4, Annex 2, Table 1.
pub const PHASE_COEFFICIENTS: [[f64; TAPS_PER_PHASE]; PHASES] = [
    [
        0.0017089843750,
        0.0109863281250,
        -0.0196533203125,
        0.0332031250000,
        -0.0594482421875,
        0.1373291015625,
        0.9721679687500,
        -0.1022949218750,
        0.0476074218750,
        -0.0266113281250,
        0.0148925781250,
        -0.0083007812500,
    ],
    [
        -0.0291748046875,
        0.0292968750000,
        -0.0517578125000,
        0.0891113281250,
        -0.1665039062500,
        0.4650878906250,
        0.7797851562500,
        -0.2003173828125,
        0.1015625000000,
        -0.0582275390625,
        0.0330810546875,
        -0.0189208984375,
    ],
    [
        -0.0189208984375,
        0.0330810546875,
        -0.0582275390625,
        0.1015625000000,
        -0.2003173828125,
        0.7797851562500,
        0.4650878906250,
        -0.1665039062500,
        0.0891113281250,
        -0.0517578125000,
        0.0292968750000,
        -0.0291748046875,
    ],
    [
        -0.0083007812500,
        0.0148925781250,
        -0.0266113281250,
        0.0476074218750,
        -0.1022949218750,
        0.9721679687500,
        0.1373291015625,
        -0.0594482421875,
        0.0332031250000,
        -0.0196533203125,
        0.0109863281250,
        0.0017089843750,
    ],
];

/// [`PHASE_COEFFICIENTS`] in f32 (each is a multiple of 2^-13 below 1, so exactly representable).
const PHASE_COEFFICIENTS_F32: [[f32; TAPS_PER_PHASE]; PHASES] = {
    let mut out = [[0.0f32; TAPS_PER_PHASE]; PHASES];
    let mut p = 0;
    while p < PHASES {
        let mut j = 0;
        while j < TAPS_PER_PHASE {
            out[p][j] = PHASE_COEFFICIENTS[p][j] as f32;
            j += 1;
        }
        p += 1;
    }
    out
};

/// Samples processed per inner pass (the working buffer's size, beyond the 11 samples of history).
const CHUNK: usize = 256;
/// Outputs computed together (one AVX2 register of f32), and lanes of the running maximum.
const LANES: usize = 8;
/// History kept before each chunk.
const HISTORY: usize = TAPS_PER_PHASE - 1;

/// No oversampled output exceeds this times the largest |input| among the 12 samples it is computed from:
/// the largest sum of |coefficients| over the phases, with a margin for f32 rounding in the 12-term sums.
fn output_bound_gain() -> f32 {
    let largest = PHASE_COEFFICIENTS
        .iter()
        .map(|phase| phase.iter().map(|c| c.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    (largest * (1.0 + 1e-5)) as f32
}

/// Chunks whose largest |input| is below f32's normal range (all subnormal) are filtered scaled up by this
/// power of two: exact for every subnormal (it only adds to the exponent), and it keeps the 12-tap sums out of
/// subnormal arithmetic, which x86 runs tens of times slower (a file of 1e-40 noise took 14x as long as
/// noise). The sums are then rounded relative to their size, as for normal input, instead of absolutely.
const TINY_SCALE: f32 = 18_446_744_073_709_551_616.0; // 2^64
/// [`TINY_SCALE`] times 2^-149 (f32's smallest subnormal): 2^-85, what one unit of a subnormal's mantissa
/// becomes when scaled.
const TINY_UNIT_SCALED: f32 = 1.0 / 38_685_626_227_668_133_590_597_632.0; // 2^-85

/// `x * TINY_SCALE`, exactly, for an `x` that is subnormal or zero, without subnormal arithmetic. IEEE 754
/// binary32: such an x is its 23 mantissa bits m times 2^-149, so x * 2^64 = m * 2^-85; m (below 2^23)
/// converts to f32 exactly and the product is a normal number (or 0), so no step rounds. Multiplying the
/// subnormal itself takes a microcode assist on x86 for every instruction (profiled: the plain `x * scale`
/// made the analysis's true peak of 1e-40 noise 2.9x as slow as of ordinary noise).
#[inline(always)]
fn subnormal_times_tiny_scale(x: f32) -> f32 {
    const SIGN: u32 = 0x8000_0000;
    const MANTISSA: u32 = 0x007f_ffff;
    let bits = x.to_bits();
    let magnitude = (bits & MANTISSA) as i32 as f32 * TINY_UNIT_SCALED;
    f32::from_bits(magnitude.to_bits() | (bits & SIGN))
}

/// Chunks whose largest |input| is at least this are filtered scaled down by [`HUGE_SCALE`], so that no sum
/// overflows f32 (the filter's gain is about 1.2: samples near f32::MAX gave an infinite true peak).
const HUGE_LIMIT: f32 = 21_267_647_932_558_653_966_460_912_964_485_513_216.0; // 2^124
/// See [`HUGE_LIMIT`]; a power of two, so the scaling is exact for the samples that matter there.
const HUGE_SCALE: f32 = 1.0 / 16.0;

/// One channel's true-peak detector: the last 11 input samples and the largest |oversampled| value so far.
/// Computed in f32 (the inputs are f32; 12-tap sums of exactly representable coefficients stay within about
/// 1e-6 dB of an f64 computation). No allocation: the buffers are fixed arrays.
#[derive(Debug, Clone)]
pub struct TruePeakDetector {
    /// `buf[..11]` is the history (oldest first); new samples are copied in after it.
    buf: [f32; HISTORY + CHUNK],
    peak: f32,
    /// The largest |oversampled| value of chunks filtered scaled ([`TINY_SCALE`], [`HUGE_LIMIT`]), unscaled
    /// (f64: it may exceed f32::MAX).
    scaled_peak: f64,
    /// See [`output_bound_gain`].
    bound_gain: f32,
}

impl Default for TruePeakDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl TruePeakDetector {
    pub fn new() -> Self {
        Self {
            buf: [0.0; HISTORY + CHUNK],
            peak: 0.0,
            scaled_peak: 0.0,
            bound_gain: output_bound_gain(),
        }
    }

    /// Feeds samples; returns the largest |value| of the oversampled outputs they produce (a meter's
    /// per-block reading).
    pub fn push(&mut self, samples: &[f32]) -> f64 {
        self.run(samples, false)
    }

    /// Feeds samples for the running maximum only ([`TruePeakDetector::peak`]): chunks whose outputs
    /// provably cannot exceed it (their largest |input| times the filter's gain bound is below it) are
    /// not filtered. The peak is the same as with [`TruePeakDetector::push`].
    pub fn accumulate(&mut self, samples: &[f32]) {
        self.run(samples, true);
    }

    fn run(&mut self, samples: &[f32], skip_quiet: bool) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.run_avx2(samples, skip_quiet) };
            }
        }
        self.run_portable(samples, skip_quiet)
    }

    /// The same loops compiled for AVX2 (8 lanes of f32 instead of SSE2's 4); same arithmetic, no FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&mut self, samples: &[f32], skip_quiet: bool) -> f64 {
        self.run_portable(samples, skip_quiet)
    }

    #[inline(always)]
    fn run_portable(&mut self, samples: &[f32], skip_quiet: bool) -> f64 {
        let mut block_peak = [0.0f32; LANES];
        let mut block_scaled_peak = 0.0f64;
        for chunk in samples.chunks(CHUNK) {
            let n = chunk.len();
            self.buf[HISTORY..HISTORY + n].copy_from_slice(chunk);
            let input = &self.buf[..HISTORY + n];
            let largest = largest_abs(input);
            // The bound's 1e-5 margin covers rounding relative to the values; below f32's normal range
            // rounding is absolute instead, so nothing is skipped until the peak is a normal number.
            let quiet = skip_quiet && {
                let peak = self.peak.max(block_peak_of(&block_peak));
                peak >= f32::MIN_POSITIVE && largest * self.bound_gain < peak
            };
            if !quiet {
                let scale = if largest >= HUGE_LIMIT {
                    HUGE_SCALE
                } else if largest > 0.0 && largest < f32::MIN_POSITIVE {
                    TINY_SCALE
                } else {
                    1.0
                };
                if scale == 1.0 {
                    filter_chunk(input, &mut block_peak);
                } else {
                    let mut scaled = [0.0f32; HISTORY + CHUNK];
                    if scale == TINY_SCALE {
                        for (y, &x) in scaled.iter_mut().zip(input) {
                            *y = subnormal_times_tiny_scale(x);
                        }
                    } else {
                        for (y, x) in scaled.iter_mut().zip(input) {
                            *y = x * scale;
                        }
                    }
                    let mut lanes = [0.0f32; LANES];
                    filter_chunk(&scaled[..input.len()], &mut lanes);
                    let unscaled = f64::from(block_peak_of(&lanes)) / f64::from(scale);
                    block_scaled_peak = block_scaled_peak.max(unscaled);
                }
            }
            self.buf.copy_within(n..n + HISTORY, 0);
        }
        let block_peak = block_peak_of(&block_peak);
        self.peak = self.peak.max(block_peak);
        self.scaled_peak = self.scaled_peak.max(block_scaled_peak);
        f64::from(block_peak).max(block_scaled_peak)
    }

    /// Feeds `TAPS_PER_PHASE - 1` zeros, so the last input samples have passed every tap (end of a file).
    pub fn flush(&mut self) {
        self.push(&[0.0; TAPS_PER_PHASE - 1]);
    }

    /// The largest |oversampled| value so far (linear).
    pub fn peak(&self) -> f64 {
        f64::from(self.peak).max(self.scaled_peak)
    }

    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// The largest of the lanes.
#[inline(always)]
fn block_peak_of(lanes: &[f32; LANES]) -> f32 {
    lanes.iter().copied().fold(0.0f32, f32::max)
}

/// The largest |x| (in lanes, so it vectorises).
#[inline(always)]
fn largest_abs(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut groups = xs.chunks_exact(LANES);
    for group in &mut groups {
        for (m, x) in lanes.iter_mut().zip(group) {
            *m = m.max(x.abs());
        }
    }
    for x in groups.remainder() {
        lanes[0] = lanes[0].max(x.abs());
    }
    block_peak_of(&lanes)
}

/// Filters `input[HISTORY..]` (with `input[..HISTORY]` as history) through the four phases and raises
/// `peak` (per lane) to the |outputs|. Each output is the sum of its 12 products in tap order, starting from
/// 0, whichever path computes it, so all paths give identical results.
#[inline(always)]
fn filter_chunk(input: &[f32], peak: &mut [f32; LANES]) {
    let n = input.len() - HISTORY;
    #[cfg(target_arch = "x86_64")]
    let done = if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { filter_avx2(input, peak) }
    } else {
        0
    };
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = filter_simd128(input, peak);
    #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
    let done = 0;
    for i in done..n {
        for phase in &PHASE_COEFFICIENTS_F32 {
            let mut acc = 0.0f32;
            for (j, &c) in phase.iter().enumerate() {
                acc += c * input[HISTORY + i - j];
            }
            peak[i % LANES] = larger(peak[i % LANES], acc.abs());
        }
    }
}

/// The outputs of [`filter_chunk`] eight at a time in AVX registers (multiply, then add: no FMA, so the
/// same rounding as the scalar loop). Returns how many outputs it computed (a multiple of 8).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn filter_avx2(input: &[f32], peak: &mut [f32; LANES]) -> usize {
    use std::arch::x86_64::*;
    let n = input.len() - HISTORY;
    let whole = n - n % LANES;
    let sign = _mm256_set1_ps(-0.0);
    let mut largest = _mm256_loadu_ps(peak.as_ptr());
    let mut base = 0;
    while base < whole {
        // x[j] holds inputs base + HISTORY - j .. + 8 (in bounds: base + 8 <= n).
        let x: [__m256; TAPS_PER_PHASE] =
            std::array::from_fn(|j| _mm256_loadu_ps(input[base + HISTORY - j..base + HISTORY - j + LANES].as_ptr()));
        for phase in &PHASE_COEFFICIENTS_F32 {
            let mut acc = _mm256_setzero_ps();
            for (xj, &c) in x.iter().zip(phase) {
                acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(c), *xj));
            }
            // max_ps returns its second operand when either is NaN: a NaN output is ignored, as the
            // scalar path's `larger` ignores it.
            largest = _mm256_max_ps(_mm256_andnot_ps(sign, acc), largest);
        }
        base += LANES;
    }
    _mm256_storeu_ps(peak.as_mut_ptr(), largest);
    whole
}

/// The outputs of [`filter_chunk`] eight at a time in two WebAssembly SIMD registers of four f32 (lanes 0-3
/// and 4-7 of `peak`): multiply, then add, in tap order (wasm has no fused multiply-add here), so the same
/// rounding as the scalar loop and the AVX2 path; the browser's true peak equals the CLI's bit for bit.
/// Without it the scalar loop was 36 % of `analyze` in wasm (Node's --cpu-prof, 3 minutes of stereo).
/// Returns how many outputs it computed (a multiple of 8).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn filter_simd128(input: &[f32], peak: &mut [f32; LANES]) -> usize {
    use std::arch::wasm32::*;
    const HALF: usize = LANES / 2;
    let n = input.len() - HISTORY;
    let whole = n - n % LANES;
    // Plain (bounds-checked) loads: u8 slices of 16 bytes read through `v128_load` would need unsafe.
    let load = |at: usize| -> v128 {
        let x = &input[at..at + HALF];
        f32x4(x[0], x[1], x[2], x[3])
    };
    let mut low = f32x4(peak[0], peak[1], peak[2], peak[3]);
    let mut high = f32x4(peak[4], peak[5], peak[6], peak[7]);
    let mut base = 0;
    while base < whole {
        // lo[j] and hi[j] hold inputs base + HISTORY - j .. + 4 and .. + 8 (in bounds: base + 8 <= n).
        let lo: [v128; TAPS_PER_PHASE] = std::array::from_fn(|j| load(base + HISTORY - j));
        let hi: [v128; TAPS_PER_PHASE] = std::array::from_fn(|j| load(base + HISTORY - j + HALF));
        for phase in &PHASE_COEFFICIENTS_F32 {
            let mut acc_lo = f32x4_splat(0.0);
            let mut acc_hi = f32x4_splat(0.0);
            for ((l, h), &c) in lo.iter().zip(&hi).zip(phase) {
                let c = f32x4_splat(c);
                acc_lo = f32x4_add(acc_lo, f32x4_mul(c, *l));
                acc_hi = f32x4_add(acc_hi, f32x4_mul(c, *h));
            }
            // pmax(a, b) is `if a < b { b } else { a }`: the scalar path's `larger`, which keeps the running
            // value when the output is NaN.
            low = f32x4_pmax(low, f32x4_abs(acc_lo));
            high = f32x4_pmax(high, f32x4_abs(acc_hi));
        }
        base += LANES;
    }
    let lanes = |v: v128| {
        [
            f32x4_extract_lane::<0>(v),
            f32x4_extract_lane::<1>(v),
            f32x4_extract_lane::<2>(v),
            f32x4_extract_lane::<3>(v),
        ]
    };
    peak[..HALF].copy_from_slice(&lanes(low));
    peak[HALF..].copy_from_slice(&lanes(high));
    whole
}

/// max(a, b) for values that are never NaN here (one instruction, unlike f32::max's NaN rules).
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_the_symmetric_prototype() {
        for j in 0..TAPS_PER_PHASE {
            assert_eq!(PHASE_COEFFICIENTS[0][j], PHASE_COEFFICIENTS[3][TAPS_PER_PHASE - 1 - j]);
            assert_eq!(PHASE_COEFFICIENTS[1][j], PHASE_COEFFICIENTS[2][TAPS_PER_PHASE - 1 - j]);
        }
    }

    #[test]
    fn impulse_response_is_the_coefficient_table() {
        let mut d = TruePeakDetector::new();
        for n in 0..TAPS_PER_PHASE {
            let block_peak = d.push(&[if n == 0 { 1.0 } else { 0.0 }]);
            let expected = PHASE_COEFFICIENTS.iter().map(|p| p[n].abs()).fold(0.0, f64::max);
            assert_eq!(block_peak, expected, "output block {n}");
        }
        assert_eq!(d.peak(), 0.9721679687500);
    }

    #[test]
    fn skipping_quiet_chunks_does_not_change_the_peak() {
        // Loud first (so later chunks are skipped), then quiet, then a louder burst, and a signal whose
        // inter-sample peak lies between samples (fs/4 sine at 45 degrees).
        let mut x: Vec<f32> = (0..5000).map(|i| 0.8 * (i as f32 * 0.05).sin()).collect();
        x.extend((0..20_000).map(|i| 0.01 * (i as f32 * 0.3).sin()));
        x.extend((0..3000).map(|i| 0.9 * (i as f32 * 1.2).cos()));
        x.extend((0..4000).map(|i| 0.2 * (std::f32::consts::FRAC_PI_2 * i as f32 + 0.785).sin()));
        let mut exact = TruePeakDetector::new();
        let mut skipping = TruePeakDetector::new();
        for part in x.chunks(1000) {
            exact.push(part);
            skipping.accumulate(part);
            assert_eq!(exact.peak(), skipping.peak());
        }
    }

    #[test]
    fn skipping_is_exact_for_subnormal_input_too() {
        // Below f32's normal range rounding is absolute, not relative: a chunk whose bound lies just
        // under the running peak can still exceed it (found in review). Signs of phase 1 reversed.
        let u = f32::from_bits(1); // 2^-149
        let signs = [-1.0f32, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        let mut x = vec![0.0f32; 768];
        for (j, s) in signs.iter().enumerate() {
            x[j] = s * 4732.0 * u;
            x[512 + j] = s * 4732.0 * u;
        }
        x[11] = signs[11] * 4672.0 * u;
        let mut exact = TruePeakDetector::new();
        exact.push(&x);
        let mut skipping = TruePeakDetector::new();
        skipping.accumulate(&x);
        assert_eq!(exact.peak(), skipping.peak());
    }

    /// The direct 4-phase, 12-tap sums of `x` in f64 (no skipping, no scaling): the reference peak.
    fn direct_peak_f64(x: &[f32]) -> f64 {
        let mut padded = vec![0.0f64; HISTORY];
        padded.extend(x.iter().map(|&v| f64::from(v)));
        padded.extend(std::iter::repeat(0.0).take(HISTORY));
        let mut peak = 0.0f64;
        for i in HISTORY..padded.len() {
            for phase in &PHASE_COEFFICIENTS {
                let acc: f64 = phase.iter().enumerate().map(|(j, c)| c * padded[i - j]).sum();
                peak = peak.max(acc.abs());
            }
        }
        peak
    }

    #[test]
    fn samples_near_f32_max_give_a_finite_true_peak_equal_to_the_f64_sums() {
        let x: Vec<f32> = (0..2000)
            .map(|i| f32::MAX * (i as f32 * 0.9).sin() * if i % 3 == 0 { 1.0 } else { 0.99 })
            .collect();
        let mut d = TruePeakDetector::new();
        d.accumulate(&x);
        d.flush();
        let expected = direct_peak_f64(&x);
        assert!(expected > f64::from(f32::MAX), "the reference exceeds f32: {expected}");
        assert!(d.peak().is_finite());
        assert!((d.peak() / expected - 1.0).abs() < 1e-6, "{} vs {expected}", d.peak());
    }

    #[test]
    fn subnormal_input_is_measured_relative_to_its_size() {
        // 1e-40 noise (every sample subnormal): scaled filtering gives the f64 sums within f32 rounding.
        let mut state = 0x2468_ace1u32;
        let x: Vec<f32> = (0..3000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 2e-40
            })
            .collect();
        assert!(x.iter().all(|v| v.abs() < f32::MIN_POSITIVE));
        let mut d = TruePeakDetector::new();
        d.accumulate(&x);
        d.flush();
        let expected = direct_peak_f64(&x);
        // The inputs themselves are subnormal (quantised to 2^-149, about 1e-5 of 1e-40): the sums of the
        // same inputs agree to f32 rounding.
        assert!((d.peak() / expected - 1.0).abs() < 1e-6, "{} vs {expected}", d.peak());
    }

    #[test]
    fn subnormal_scaling_by_bits_equals_the_multiplication_for_every_subnormal() {
        // Exhaustive: both signs of every subnormal mantissa, and 0 (the reference is the plain IEEE product,
        // exact because it only adds 64 to the exponent).
        assert_eq!(TINY_UNIT_SCALED.to_bits(), (127 - 85) << 23, "2^-85");
        assert_eq!(TINY_SCALE * f32::from_bits(1), TINY_UNIT_SCALED);
        for m in 0..=0x007f_ffffu32 {
            for x in [f32::from_bits(m), -f32::from_bits(m)] {
                let scaled = subnormal_times_tiny_scale(x);
                assert_eq!(scaled.to_bits(), (x * TINY_SCALE).to_bits(), "mantissa {m:#x}, x {x:e}");
                assert_eq!(f64::from(scaled), f64::from(x) * 2f64.powi(64), "mantissa {m:#x}");
            }
        }
    }

    #[test]
    fn block_size_does_not_change_the_peak() {
        let x: Vec<f32> = (0..3000)
            .map(|i| (i as f32 * 0.37).sin() * (i as f32 * 0.011).cos())
            .collect();
        let mut whole = TruePeakDetector::new();
        whole.push(&x);
        let mut pieces = TruePeakDetector::new();
        for part in x.chunks(7) {
            pieces.push(part);
        }
        assert_eq!(whole.peak(), pieces.peak());
    }
}
