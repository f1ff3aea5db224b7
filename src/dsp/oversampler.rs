//! The oversampler of every nonlinear effect: 1x, 2x, 4x or 8x with linear-phase FIR anti-aliasing filters.
//!
//! Design (the effect contract: pass up to 0.42 fs within 0.1 dB, reject at least 60 dB from 0.52 fs up, fs the base
//! rate, for upsampling images and decimation alike). A half-band filter centred on fs/2 cannot do this: its
//! transition band is symmetric about fs/2. So the oversampler is a cascade of 2x stages, each a Kaiser-windowed
//! sinc (windowed-sinc design, Kaiser 1974) designed at its own rate R = 2^k fs:
//! - stage 1 (R = 2 fs): pass 0.42 fs, stop 0.52 fs, 103 taps, beta for 80 dB. This one does the real work.
//! - stage 2 (R = 4 fs): its input holds nothing between 0.52 fs and R/2 - 0.52 fs (stage 1 removed it), so it
//!   only has to reject R/2 +- 0.52 fs: a half-band (cutoff R/4) with pass 0.52 fs, stop 1.48 fs, 21 taps.
//! - stage 3 (R = 8 fs): likewise pass 0.52 fs, stop 3.48 fs, 17 taps.
//!
//! Decimation runs the same stages in reverse, so the cascade's response is the product of the stage responses,
//! each periodic in its own rate, and at least 60 dB down everywhere from 0.52 fs up (the unit tests measure it).
//! Linear phase costs latency, reported in whole base-rate samples: each stage delays by (taps - 1) / 2 at its
//! rate on the way up and again on the way down, so 51 samples at 2x, 56 at 4x and 58 at 8x. Tap counts are
//! chosen so that every stage's round trip is a whole number of base-rate samples.
//!
//! Filtering is polyphase (only the non-zero samples of the zero-stuffed signal are multiplied; the decimator
//! computes only the samples it keeps), in f64. All buffers are allocated once for 4096-frame blocks x 8.

use crate::dsp::PIECE_FRAMES;
use std::f64::consts::PI;
use std::sync::OnceLock;

/// The highest oversampling factor.
pub const MAX_FACTOR: usize = 8;

/// Tap counts of the three 2x stages (odd, so each is linear phase with a whole-sample delay).
const STAGE_TAPS: [usize; 3] = [103, 21, 17];
/// Each stage's cutoff (the middle of its transition band) in cycles per sample at its own rate.
const STAGE_CUTOFF: [f64; 3] = [0.47 / 2.0, 0.25, 0.25];
/// Kaiser beta for about 80 dB stopband attenuation (Kaiser's formula 0.1102 (A - 8.7)).
const KAISER_BETA: f64 = 0.1102 * (80.0 - 8.7);

/// The zeroth-order modified Bessel function of the first kind, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..50 {
        term *= half / k as f64;
        sum += term * term;
        if term * term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// A Kaiser-windowed sinc low-pass with `taps` taps, cutoff in cycles per sample, unity gain at DC.
pub fn kaiser_lowpass(taps: usize, cutoff: f64, beta: f64) -> Vec<f64> {
    let centre = (taps - 1) as f64 / 2.0;
    let mut h: Vec<f64> = (0..taps)
        .map(|i| {
            let t = i as f64 - centre;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * PI * cutoff * t).sin() / (PI * t)
            };
            let r = t / centre;
            sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
        })
        .collect();
    let sum: f64 = h.iter().sum();
    for x in &mut h {
        *x /= sum;
    }
    h
}

/// One 2x stage: a polyphase interpolator and a decimator sharing one filter.
#[derive(Clone)]
struct Stage {
    /// Taps at even and odd indices, each scaled by 2 (the interpolator's gain for zero-stuffing).
    up_even: Vec<f64>,
    up_odd: Vec<f64>,
    taps: Vec<f64>,
    /// Interpolator input history, stored twice so that the newest `len` values are one contiguous slice.
    up_hist: Vec<f64>,
    up_pos: usize,
    down_hist: Vec<f64>,
    down_pos: usize,
}

/// Pushes a value into a doubled ring whose newest value sits at `pos` and returns the history slice,
/// newest first.
#[inline(always)]
fn push(hist: &mut [f64], pos: &mut usize, x: f64) {
    let len = hist.len() / 2;
    *pos = if *pos == 0 { len - 1 } else { *pos - 1 };
    hist[*pos] = x;
    hist[*pos + len] = x;
}

/// The dot product of a symmetric `h` (`h[k] = h[n-1-k]`: every filter here is linear phase) and `x`, from
/// h's first half: each tap multiplies the sum of the two samples it weighs, so half the multiplies. Four
/// interleaved partial sums, so that it is not one chain of dependent additions and vectorises; the same sums
/// in the same order on every path (SSE2, AVX2, wasm), so the same result.
#[inline(always)]
fn dot_symmetric(h: &[f64], x: &[f64]) -> f64 {
    debug_assert_eq!(h.len(), x.len(), "one sample per tap");
    let n = x.len();
    let half = n / 2;
    let mut lanes = [0.0; 4];
    let front = x[..half].chunks_exact(4);
    let back = x[n - half..].rchunks_exact(4);
    let taps = h[..half].chunks_exact(4);
    let done = half - half % 4;
    for ((a, b), c) in front.zip(back).zip(taps) {
        for l in 0..4 {
            lanes[l] += c[l] * (a[l] + b[3 - l]);
        }
    }
    let mut tail = 0.0;
    for k in done..half {
        tail += h[k] * (x[k] + x[n - 1 - k]);
    }
    if n % 2 == 1 {
        tail += h[half] * x[half];
    }
    ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) + tail
}

/// A stage's filter: the Kaiser low-pass, made symmetric to the last bit (dot_symmetric relies on it), whatever
/// the sine's rounding.
fn stage_filter(taps: usize, cutoff: f64) -> Vec<f64> {
    let mut h = kaiser_lowpass(taps, cutoff, KAISER_BETA);
    for k in 0..taps / 2 {
        let v = 0.5 * (h[k] + h[taps - 1 - k]);
        (h[k], h[taps - 1 - k]) = (v, v);
    }
    h
}

/// The three stages' filters, designed once per process: the design (a Bessel series per tap) is most of what
/// creating an oversampled effect costs, and an effect created while playing then only copies them.
fn stage_filters() -> &'static [Vec<f64>; 3] {
    static FILTERS: OnceLock<[Vec<f64>; 3]> = OnceLock::new();
    FILTERS.get_or_init(|| [0, 1, 2].map(|i| stage_filter(STAGE_TAPS[i], STAGE_CUTOFF[i])))
}

impl Stage {
    #[cfg(test)]
    fn new(taps: usize, cutoff: f64) -> Self {
        Self::from_filter(stage_filter(taps, cutoff))
    }

    fn from_filter(h: Vec<f64>) -> Self {
        let taps = h.len();
        let up_even: Vec<f64> = h.iter().step_by(2).map(|x| 2.0 * x).collect();
        let up_odd: Vec<f64> = h.iter().skip(1).step_by(2).map(|x| 2.0 * x).collect();
        let up_len = up_even.len();
        Stage {
            up_even,
            up_odd,
            up_hist: vec![0.0; 2 * up_len],
            up_pos: 0,
            down_hist: vec![0.0; 2 * taps],
            down_pos: 0,
            taps: h,
        }
    }

    /// One input sample at the lower rate -> two output samples at the higher rate.
    #[inline(always)]
    fn up(&mut self, x: f64) -> (f64, f64) {
        push(&mut self.up_hist, &mut self.up_pos, x);
        let n = self.up_even.len();
        let hist = &self.up_hist[self.up_pos..self.up_pos + n];
        (
            dot_symmetric(&self.up_even, hist),
            dot_symmetric(&self.up_odd, &hist[..self.up_odd.len()]),
        )
    }

    /// Two input samples at the higher rate -> one output sample at the lower rate (the first one is kept).
    #[inline(always)]
    fn down(&mut self, a: f64, b: f64) -> f64 {
        push(&mut self.down_hist, &mut self.down_pos, a);
        let n = self.taps.len();
        let y = dot_symmetric(&self.taps, &self.down_hist[self.down_pos..self.down_pos + n]);
        push(&mut self.down_hist, &mut self.down_pos, b);
        y
    }

    /// `input` up into `out` (twice as long).
    fn up_block(&mut self, input: &[f64], out: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.up_block_avx2(input, out) };
            }
        }
        self.up_block_portable(input, out)
    }

    /// `input` (twice as long as `out`) down into `out`.
    fn down_block(&mut self, input: &[f64], out: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.down_block_avx2(input, out) };
            }
        }
        self.down_block_portable(input, out)
    }

    /// The same loops compiled for AVX2 (four f64 lanes); same arithmetic (no FMA), so the same results.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn up_block_avx2(&mut self, input: &[f64], out: &mut [f64]) {
        self.up_block_portable(input, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn down_block_avx2(&mut self, input: &[f64], out: &mut [f64]) {
        self.down_block_portable(input, out)
    }

    #[inline(always)]
    fn up_block_portable(&mut self, input: &[f64], out: &mut [f64]) {
        for (&x, pair) in input.iter().zip(out.chunks_exact_mut(2)) {
            let (e, o) = self.up(x);
            pair[0] = e;
            pair[1] = o;
        }
    }

    #[inline(always)]
    fn down_block_portable(&mut self, input: &[f64], out: &mut [f64]) {
        for (pair, y) in input.chunks_exact(2).zip(out.iter_mut()) {
            *y = self.down(pair[0], pair[1]);
        }
    }

    /// Round-trip delay (up then down) in samples at the lower rate.
    fn round_trip(&self) -> usize {
        (self.taps.len() - 1) / 2
    }

    fn reset(&mut self) {
        self.up_hist.fill(0.0);
        self.down_hist.fill(0.0);
        self.up_pos = 0;
        self.down_pos = 0;
    }

    fn flush(&mut self) {
        for x in self.up_hist.iter_mut().chain(self.down_hist.iter_mut()) {
            *x = super::denormal::flush(*x);
        }
    }

    fn settled(&self, limit: f64) -> bool {
        self.up_hist.iter().chain(&self.down_hist).all(|x| x.abs() <= limit)
    }

    fn copy_state_from(&mut self, other: &Stage) {
        self.up_hist.copy_from_slice(&other.up_hist);
        self.down_hist.copy_from_slice(&other.down_hist);
        self.up_pos = other.up_pos;
        self.down_pos = other.down_pos;
    }
}

/// A mono oversampler: up by `factor`, a per-sample function at the high rate, down again.
#[derive(Clone)]
pub struct Oversampler {
    stages: [Stage; 3],
    factor: usize,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Default for Oversampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Oversampler {
    /// Allocates everything for every factor (so that two instances can always copy each other's state).
    pub fn new() -> Self {
        Oversampler {
            stages: stage_filters().clone().map(Stage::from_filter),
            factor: 1,
            a: vec![0.0; PIECE_FRAMES * MAX_FACTOR],
            b: vec![0.0; PIECE_FRAMES * MAX_FACTOR],
        }
    }

    /// Sets the factor (1, 2, 4 or 8; other values round down to one of these).
    pub fn set_factor(&mut self, factor: usize) {
        self.factor = match factor {
            0..=1 => 1,
            2..=3 => 2,
            4..=7 => 4,
            _ => 8,
        };
    }

    pub fn factor(&self) -> usize {
        self.factor
    }

    fn active_stages(&self) -> usize {
        self.factor.trailing_zeros() as usize
    }

    /// Latency in base-rate samples at the current factor.
    pub fn latency(&self) -> usize {
        let mut total = 0;
        for (k, s) in self.stages[..self.active_stages()].iter().enumerate() {
            total += s.round_trip() >> k;
        }
        total
    }

    /// The largest latency of any factor.
    pub fn max_latency() -> usize {
        static LATENCY: OnceLock<usize> = OnceLock::new();
        *LATENCY.get_or_init(|| {
            let mut o = Oversampler {
                stages: stage_filters().clone().map(Stage::from_filter),
                factor: MAX_FACTOR,
                a: Vec::new(),
                b: Vec::new(),
            };
            o.set_factor(MAX_FACTOR);
            o.latency()
        })
    }

    /// Upsamples `block` (at most `PIECE_FRAMES` frames), applies `shape` to every high-rate sample in order, and
    /// decimates back into `block`.
    pub fn process(&mut self, block: &mut [f32], mut shape: impl FnMut(f64) -> f64) {
        let n = block.len().min(PIECE_FRAMES);
        let stages = self.active_stages();
        if stages == 0 {
            for x in &mut block[..n] {
                *x = shape(*x as f64) as f32;
            }
            return;
        }
        for (dst, src) in self.a.iter_mut().zip(block.iter()) {
            *dst = *src as f64;
        }
        let mut len = n;
        for stage in &mut self.stages[..stages] {
            stage.up_block(&self.a[..len], &mut self.b[..2 * len]);
            len *= 2;
            std::mem::swap(&mut self.a, &mut self.b);
        }
        for x in &mut self.a[..len] {
            *x = shape(*x);
        }
        for stage in self.stages[..stages].iter_mut().rev() {
            len /= 2;
            stage.down_block(&self.a[..2 * len], &mut self.b[..len]);
            std::mem::swap(&mut self.a, &mut self.b);
        }
        for (dst, src) in block[..n].iter_mut().zip(self.a.iter()) {
            *dst = *src as f32;
        }
        for s in &mut self.stages[..stages] {
            s.flush();
        }
    }

    /// Upsamples only (for tests of image rejection): `out` receives `factor` x `input.len()` samples.
    pub fn upsample(&mut self, input: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(input);
        for s in 0..self.active_stages() {
            let mut next = Vec::with_capacity(out.len() * 2);
            for x in out.iter() {
                let (e, o) = self.stages[s].up(*x);
                next.push(e);
                next.push(o);
            }
            *out = next;
        }
    }

    /// Decimates only (for tests of alias rejection): `input.len()` must be a multiple of the factor.
    pub fn downsample(&mut self, input: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend_from_slice(input);
        for s in (0..self.active_stages()).rev() {
            let next: Vec<f64> = out.chunks_exact(2).map(|p| self.stages[s].down(p[0], p[1])).collect();
            *out = next;
        }
    }

    pub fn reset(&mut self) {
        for s in &mut self.stages {
            s.reset();
        }
    }

    /// Whether every filter history (of every factor's stages) is within `limit` of zero.
    pub fn settled(&self, limit: f64) -> bool {
        self.stages.iter().all(|s| s.settled(limit))
    }

    pub fn copy_state_from(&mut self, other: &Oversampler) {
        for (s, o) in self.stages.iter_mut().zip(other.stages.iter()) {
            s.copy_state_from(o);
        }
    }

    /// Samples after which the filters' memory of an impulse is gone (base rate).
    pub fn tail_samples(&self) -> u64 {
        2 * self.latency() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_dot_equals_the_plain_dot_product() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in [1usize, 2, 3, 4, 5, 8, 9, 10, 11, 17, 21, 51, 52, 103] {
            let half: Vec<f64> = (0..n.div_ceil(2)).map(|_| next()).collect();
            let h: Vec<f64> = (0..n).map(|k| half[k.min(n - 1 - k)]).collect();
            let x: Vec<f64> = (0..n).map(|_| next()).collect();
            let plain: f64 = h.iter().zip(&x).map(|(a, b)| a * b).sum();
            let ours = dot_symmetric(&h, &x);
            assert!((ours - plain).abs() <= 1e-13, "{n} taps: {ours} vs {plain}");
        }
    }

    #[test]
    fn every_code_path_gives_the_same_samples() {
        // The dispatching block functions (AVX2 when the CPU has it) against the portable loops.
        let input: Vec<f64> = (0..300)
            .map(|i| (i as f64 * 0.37).sin() * (i as f64 * 0.013).cos())
            .collect();
        for (taps, cutoff) in STAGE_TAPS.into_iter().zip(STAGE_CUTOFF) {
            let (mut a, mut b) = (Stage::new(taps, cutoff), Stage::new(taps, cutoff));
            let (mut up_a, mut up_b) = (vec![0.0; 600], vec![0.0; 600]);
            a.up_block(&input, &mut up_a);
            b.up_block_portable(&input, &mut up_b);
            assert_eq!(up_a, up_b, "{taps} taps, up");
            let (mut down_a, mut down_b) = (vec![0.0; 300], vec![0.0; 300]);
            a.down_block(&up_a, &mut down_a);
            b.down_block_portable(&up_b, &mut down_b);
            assert_eq!(down_a, down_b, "{taps} taps, down");
        }
    }

    /// Amplitude of the component at `freq` (cycles per sample) in `x`, by correlation over a whole number of
    /// cycles (the caller picks lengths that make it so), after a Hann window for leakage.
    fn amplitude(x: &[f64], freq: f64) -> f64 {
        let n = x.len();
        let (mut re, mut im, mut wsum) = (0.0, 0.0, 0.0);
        for (i, v) in x.iter().enumerate() {
            let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos();
            let p = 2.0 * PI * freq * i as f64;
            re += w * v * p.cos();
            im += w * v * p.sin();
            wsum += w;
        }
        2.0 * (re * re + im * im).sqrt() / wsum
    }

    fn sine(freq: f64, len: usize) -> Vec<f64> {
        (0..len).map(|i| (2.0 * PI * freq * i as f64).sin()).collect()
    }

    #[test]
    fn latency_is_whole_samples_and_grows_with_the_factor() {
        let mut o = Oversampler::new();
        let lat: Vec<usize> = [1, 2, 4, 8]
            .iter()
            .map(|f| {
                o.set_factor(*f);
                o.latency()
            })
            .collect();
        assert_eq!(lat, vec![0, 51, 56, 58]);
        assert_eq!(Oversampler::max_latency(), 58);
    }

    /// Up then down with an identity in between: flat within 0.1 dB up to 0.42 fs, and an impulse comes out
    /// at exactly the reported latency.
    #[test]
    fn round_trip_passband_is_flat_within_0_1_db_to_0_42_fs() {
        for factor in [2, 4, 8] {
            let mut worst: f64 = 0.0;
            for k in 0..=42 {
                let f = (k as f64 * 0.01).max(0.002);
                let mut o = Oversampler::new();
                o.set_factor(factor);
                let mut block: Vec<f32> = sine(f, 4096).iter().map(|x| *x as f32).collect();
                o.process(&mut block, |x| x);
                let out: Vec<f64> = block[1000..].iter().map(|x| *x as f64).collect();
                let db = 20.0 * amplitude(&out, f).log10();
                worst = worst.max(db.abs());
            }
            println!("{factor}x round trip: worst passband deviation {worst:.4} dB up to 0.42 fs");
            assert!(worst <= 0.1, "{factor}x: passband deviation {worst} dB");

            let mut o = Oversampler::new();
            o.set_factor(factor);
            let mut impulse = vec![0.0f32; 256];
            impulse[3] = 1.0;
            o.process(&mut impulse, |x| x);
            let peak = impulse
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap()
                .0;
            assert_eq!(peak, 3 + o.latency(), "{factor}x: impulse peak position");
        }
    }

    /// The upsampler alone: a base-rate sine at f in the passband has images at k fs +- f; every image at or
    /// above 0.52 fs (fs the base rate) is at least 60 dB below the sine.
    #[test]
    fn upsampling_images_are_rejected_by_60_db() {
        for factor in [2usize, 4, 8] {
            let mut worst = f64::NEG_INFINITY;
            for f_base in [0.05, 0.2, 0.3, 0.42, 0.48] {
                let mut o = Oversampler::new();
                o.set_factor(factor);
                let mut out = Vec::new();
                o.upsample(&sine(f_base / 1.0, 3000), &mut out);
                let out = &out[500 * factor..];
                let signal = amplitude(out, f_base / factor as f64);
                for k in 1..factor {
                    for image in [k as f64 - f_base, k as f64 + f_base] {
                        if image >= 0.52 && image <= factor as f64 / 2.0 {
                            let a = amplitude(out, image / factor as f64);
                            worst = worst.max(20.0 * (a / signal).log10());
                        }
                    }
                }
            }
            println!("{factor}x upsampling: largest image {worst:.1} dB");
            assert!(worst <= -60.0, "{factor}x: image at {worst} dB");
        }
    }

    /// The decimator alone: high-rate sines from 0.52 fs to the high rate's Nyquist come out at least 60 dB
    /// down; passband sines within 0.1 dB.
    #[test]
    fn decimation_rejects_60_db_from_0_52_fs_up() {
        for factor in [2usize, 4, 8] {
            let nyquist = factor as f64 / 2.0;
            let mut worst_stop = f64::NEG_INFINITY;
            let mut worst_pass: f64 = 0.0;
            let mut f = 0.01;
            while f < nyquist {
                let mut o = Oversampler::new();
                o.set_factor(factor);
                let mut out = Vec::new();
                o.downsample(&sine(f / factor as f64, 4096 * factor), &mut out);
                let out = &out[200..];
                // A component at f folds to its alias in the base band.
                let folded = {
                    let m = f.rem_euclid(1.0);
                    if m > 0.5 {
                        1.0 - m
                    } else {
                        m
                    }
                };
                let a = 20.0 * amplitude(out, folded).log10();
                if f >= 0.52 {
                    worst_stop = worst_stop.max(a);
                } else if f <= 0.42 {
                    worst_pass = worst_pass.max(a.abs());
                }
                f += if f < 0.6 { 0.01 } else { 0.0371 };
            }
            println!("{factor}x decimation: passband {worst_pass:.4} dB, worst stopband {worst_stop:.1} dB");
            assert!(worst_stop <= -60.0, "{factor}x: stopband {worst_stop} dB");
            assert!(worst_pass <= 0.1, "{factor}x: passband {worst_pass} dB");
        }
    }
}
