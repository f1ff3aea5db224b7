//! Forward real FFTs of power-of-two lengths, built without rustfft's planner in the WebAssembly build.
//!
//! The planner picks its algorithm by length at run time, so a module that calls it links every algorithm it
//! could pick (Bluestein, Rader, Good-Thomas, mixed radix, 31 butterflies): about a fifth of the wasm code, while
//! the analysis and the meters only ever transform powers of two. In wasm32 the transform is built here from
//! exactly the algorithms rustfft 6.4's scalar planner (the one wasm32 gets) chooses for a power of two, so the
//! output is bit for bit what the planner's FFT gives; natively the planner stays, with its AVX/SSE algorithms.
//!
//! The real-to-complex step is realfft 3.5's `RealToComplexEven` (the N/2-point complex FFT of the packed
//! even/odd samples, then one twiddle pass that splits it into the N/2+1 bins of the real signal), rewritten
//! without its `unsafe` cast: the samples are packed into the scratch instead.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{FftError, RealToComplex};
use rustfft::algorithm::butterflies::{Butterfly16, Butterfly2, Butterfly32, Butterfly4, Butterfly8};
use rustfft::algorithm::{Dft, Radix4};
use rustfft::{Fft, FftDirection};

/// A forward real FFT of `2^len_log2` points (`len_log2` at least 1): in wasm32 the planner-free
/// [`PowerOfTwoForward`], natively realfft's planner.
pub fn forward_power_of_two(len_log2: u32) -> Arc<dyn RealToComplex<f64>> {
    #[cfg(target_arch = "wasm32")]
    {
        Arc::new(PowerOfTwoForward::new(len_log2))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        realfft::RealFftPlanner::<f64>::new().plan_fft_forward(1 << len_log2.max(1))
    }
}

/// The complex FFT of `2^exponent` points that rustfft 6.4's `FftPlannerScalar` builds
/// (`design_butterfly_algorithm` up to 32 points, above that `design_radixn`: Radix4 over a Butterfly8 base
/// for an odd exponent, over a Butterfly16 base for an even one).
fn scalar_planner_power_of_two(exponent: u32, direction: FftDirection) -> Arc<dyn Fft<f64>> {
    match exponent {
        0 => Arc::new(Dft::new(1, direction)),
        1 => Arc::new(Butterfly2::new(direction)),
        2 => Arc::new(Butterfly4::new(direction)),
        3 => Arc::new(Butterfly8::new(direction)),
        4 => Arc::new(Butterfly16::new(direction)),
        5 => Arc::new(Butterfly32::new(direction)),
        _ if exponent % 2 == 1 => Arc::new(Radix4::new_with_base(
            (exponent - 3) / 2,
            Arc::new(Butterfly8::new(direction)),
        )),
        _ => Arc::new(Radix4::new_with_base(
            (exponent - 4) / 2,
            Arc::new(Butterfly16::new(direction)),
        )),
    }
}

/// realfft's `compute_twiddle`: e^(-2 pi i index / len).
fn twiddle(index: usize, len: usize) -> Complex<f64> {
    let angle = -2.0 * std::f64::consts::PI / len as f64 * index as f64;
    Complex::new(angle.cos(), angle.sin())
}

/// A forward real FFT of a power-of-two length (realfft's `RealToComplexEven` over the scalar planner's
/// complex FFT of half the length).
pub struct PowerOfTwoForward {
    len: usize,
    fft: Arc<dyn Fft<f64>>,
    /// Twiddles 1 .. len/4, halved (realfft's).
    twiddles: Vec<Complex<f64>>,
}

impl PowerOfTwoForward {
    /// A transform of `2^len_log2` points; `len_log2` 0 is taken as 1 (a real FFT needs an even length).
    pub fn new(len_log2: u32) -> Self {
        let len_log2 = len_log2.max(1);
        let len = 1usize << len_log2;
        // realfft's twiddle count for a length divisible by 4; a 2-point transform needs none.
        let twiddles = (1..len / 4).map(|i| twiddle(i, len) * 0.5).collect();
        Self {
            len,
            fft: scalar_planner_power_of_two(len_log2 - 1, FftDirection::Forward),
            twiddles,
        }
    }
}

impl RealToComplex<f64> for PowerOfTwoForward {
    fn process(&self, input: &mut [f64], output: &mut [Complex<f64>]) -> Result<(), FftError> {
        let mut scratch = self.make_scratch_vec();
        self.process_with_scratch(input, output, &mut scratch)
    }

    fn process_with_scratch(
        &self,
        input: &mut [f64],
        output: &mut [Complex<f64>],
        scratch: &mut [Complex<f64>],
    ) -> Result<(), FftError> {
        if input.len() != self.len {
            return Err(FftError::InputBuffer(self.len, input.len()));
        }
        if output.len() != self.complex_len() {
            return Err(FftError::OutputBuffer(self.complex_len(), output.len()));
        }
        if scratch.len() < self.get_scratch_len() {
            return Err(FftError::ScratchBuffer(self.get_scratch_len(), scratch.len()));
        }
        let half = self.len / 2;
        let (packed, fft_scratch) = scratch.split_at_mut(half);
        for (z, pair) in packed.iter_mut().zip(input.chunks_exact(2)) {
            *z = Complex::new(pair[0], pair[1]);
        }
        self.fft
            .process_outofplace_with_scratch(packed, &mut output[..half], fft_scratch);
        split_bins(output, &self.twiddles);
        Ok(())
    }

    fn get_scratch_len(&self) -> usize {
        self.len / 2 + self.fft.get_outofplace_scratch_len()
    }

    fn len(&self) -> usize {
        self.len
    }

    fn make_input_vec(&self) -> Vec<f64> {
        vec![0.0; self.len]
    }

    fn make_output_vec(&self) -> Vec<Complex<f64>> {
        vec![Complex::new(0.0, 0.0); self.complex_len()]
    }

    fn make_scratch_vec(&self) -> Vec<Complex<f64>> {
        vec![Complex::new(0.0, 0.0); self.get_scratch_len()]
    }
}

/// realfft's post-processing: turns the half-length complex FFT of the packed samples (in `bins[..len/2]`) into
/// the len/2+1 bins of the real signal, with the same operations in the same order.
fn split_bins(bins: &mut [Complex<f64>], twiddles: &[Complex<f64>]) {
    let (left, right) = bins.split_at_mut(bins.len() / 2);
    let (Some(first), Some(last)) = (left.first_mut(), right.last_mut()) else {
        return;
    };
    let z0 = *first;
    *first = Complex::new(z0.re + z0.im, 0.0);
    *last = Complex::new(z0.re - z0.im, 0.0);
    let right_len = right.len();
    let (left, right) = (&mut left[1..], &mut right[..right_len - 1]);
    for ((tw, out), out_rev) in twiddles.iter().zip(left.iter_mut()).zip(right.iter_mut().rev()) {
        let sum = *out + *out_rev;
        let diff = *out - *out_rev;
        let twiddled_re_sum = sum * tw.re;
        let twiddled_im_sum = sum * tw.im;
        let twiddled_re_diff = diff * tw.re;
        let twiddled_im_diff = diff * tw.im;
        let half_sum_re = 0.5 * sum.re;
        let half_diff_im = 0.5 * diff.im;
        let twiddled_re = twiddled_re_sum.im + twiddled_im_diff.re;
        let twiddled_im = twiddled_im_sum.im - twiddled_re_diff.re;
        *out = Complex::new(half_sum_re + twiddled_re, half_diff_im + twiddled_im);
        *out_rev = Complex::new(half_sum_re - twiddled_re, twiddled_im - half_diff_im);
    }
    // An odd number of bins (every power of two of 4 points or more) leaves the middle one, conjugated.
    if bins.len() % 2 == 1 {
        let middle = bins.len() / 2;
        bins[middle].im = -bins[middle].im;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;
    use rustfft::FftPlannerScalar;

    /// xorshift32 samples in [-1, 1).
    fn noise(len: usize, seed: u32) -> Vec<f64> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as f64 / 2_147_483_648.0 - 1.0
            })
            .collect()
    }

    /// The textbook DFT X[k] = sum x[n] e^(-2 pi i k n / N), bins 0 ..= N/2.
    fn naive_dft(x: &[f64]) -> Vec<Complex<f64>> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                x.iter().enumerate().fold(Complex::new(0.0, 0.0), |acc, (j, &v)| {
                    let angle = -2.0 * std::f64::consts::PI * ((k * j) % n) as f64 / n as f64;
                    acc + Complex::new(angle.cos(), angle.sin()) * v
                })
            })
            .collect()
    }

    fn transform(fft: &dyn RealToComplex<f64>, x: &[f64]) -> Vec<Complex<f64>> {
        let mut input = x.to_vec();
        let mut output = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        fft.process_with_scratch(&mut input, &mut output, &mut scratch).unwrap();
        output
    }

    #[test]
    fn bins_equal_the_textbook_dft_for_every_length_from_2_to_4096() {
        for len_log2 in 1..=12 {
            let x = noise(1 << len_log2, 7 + len_log2);
            let ours = transform(&PowerOfTwoForward::new(len_log2), &x);
            let reference = naive_dft(&x);
            let scale = (x.len() as f64).sqrt();
            for (k, (a, b)) in ours.iter().zip(&reference).enumerate() {
                let err = (a - b).norm() / scale;
                assert!(err < 1e-12, "2^{len_log2} points, bin {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn inner_fft_is_the_scalar_planners_bit_for_bit() {
        // The wasm build's promise: the same output as the planner's FFT it replaces.
        let mut planner = FftPlannerScalar::<f64>::new();
        for exponent in 0..=13 {
            let len = 1usize << exponent;
            let x: Vec<Complex<f64>> = noise(2 * len, 3 + exponent)
                .chunks_exact(2)
                .map(|p| Complex::new(p[0], p[1]))
                .collect();
            let mut ours = x.clone();
            scalar_planner_power_of_two(exponent, FftDirection::Forward).process(&mut ours);
            let mut theirs = x;
            planner.plan_fft_forward(len).process(&mut theirs);
            assert_eq!(ours, theirs, "{len} points");
        }
    }

    #[test]
    fn bins_agree_with_realffts_native_planner() {
        // realfft natively plans its inner FFT with AVX/SSE; its split step is the same arithmetic, so with
        // bins that agree to rounding the outputs agree to rounding, and the textbook test above bounds both.
        for len_log2 in [6, 11, 12] {
            let x = noise(1 << len_log2, 11);
            let ours = transform(&PowerOfTwoForward::new(len_log2), &x);
            let theirs = transform(&*RealFftPlanner::<f64>::new().plan_fft_forward(1 << len_log2), &x);
            for (a, b) in ours.iter().zip(&theirs) {
                assert!((a - b).norm() < 1e-9, "2^{len_log2}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn wrong_buffer_lengths_are_errors_naming_the_buffer() {
        let fft = PowerOfTwoForward::new(4);
        let mut output = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        assert!(matches!(
            fft.process_with_scratch(&mut [0.0; 15], &mut output, &mut scratch),
            Err(FftError::InputBuffer(16, 15))
        ));
        assert!(matches!(
            fft.process_with_scratch(&mut [0.0; 16], &mut output[..8], &mut scratch),
            Err(FftError::OutputBuffer(9, 8))
        ));
        let short = scratch.len() - 1;
        assert!(matches!(
            fft.process_with_scratch(&mut [0.0; 16], &mut output, &mut scratch[..short]),
            Err(FftError::ScratchBuffer(_, _))
        ));
    }
}
