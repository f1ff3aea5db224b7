//! Reverb building blocks: Freeverb's comb and allpass, a fractional ring buffer, a Schroeder allpass with a
//! modulatable length, the Jot absorptive one-pole loss filter, an absolute-frame sine LFO, and a feedback
//! delay network (FDN) with Hadamard mixing shared by the hall and the room.
//!
//! Every recursive path flushes denormals per sample ([`flush_f32`]/[`flush`]); buffers are allocated once for
//! the largest length any parameter can ask for at the sample rate.

use super::denormal::{flush, flush_f32};
use super::rng::Pcg32;
use super::settle::HighWater;
use std::f64::consts::PI;

/// Jezar's lowpass-feedback comb (Freeverb `comb.hpp`), with its own buffer length as the delay.
#[derive(Debug, Clone)]
pub struct FreeverbComb {
    buf: Vec<f32>,
    index: usize,
    store: f32,
}

impl FreeverbComb {
    pub fn new(length: usize) -> Self {
        FreeverbComb {
            buf: vec![0.0; length.max(1)],
            index: 0,
            store: 0.0,
        }
    }

    /// `out = buf[i]; store = out*damp2 + store*damp1; buf[i] = in + store*feedback`.
    #[inline(always)]
    pub fn tick(&mut self, input: f32, feedback: f32, damp1: f32, damp2: f32) -> f32 {
        let out = self.buf[self.index];
        self.store = flush_f32(out * damp2 + self.store * damp1);
        self.buf[self.index] = flush_f32(input + self.store * feedback);
        self.index += 1;
        if self.index == self.buf.len() {
            self.index = 0;
        }
        out
    }

    pub fn reset(&mut self) {
        self.buf.fill(0.0);
        self.index = 0;
        self.store = 0.0;
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        self.buf.copy_from_slice(&other.buf);
        self.index = other.index;
        self.store = other.store;
    }

    /// Whether the damping filter's state and every value in the buffer are within `limit` of zero. From
    /// such a state, with silent input, the comb never outputs more than `limit` (its loop only averages and
    /// scales by `feedback <= 1`). Scans the buffer, stopping at the first value above the limit.
    pub fn settled(&self, limit: f32) -> bool {
        self.store.abs() <= limit && self.buf.iter().all(|x| x.abs() <= limit)
    }
}

/// Freeverb's bank of eight combs for one channel over a block: `sums[n]` receives the combs' outputs at frame
/// `n` added in comb order from 0.0, and every comb's state moves as `tick` per sample would move it: the same
/// operations on the same values in the same order, so the result is identical. The combs run side by side,
/// frame by frame, in stretches in which no buffer index wraps: eight independent one-pole recursions per frame
/// keep the processor busy, and the wrap checks leave the inner loop.
pub fn freeverb_comb_bank(
    combs: &mut [FreeverbComb; 8],
    input: &[f32],
    sums: &mut [f32],
    feedback: f32,
    damp1: f32,
    damp2: f32,
) {
    let n = input.len().min(sums.len());
    let mut store: [f32; 8] = std::array::from_fn(|k| combs[k].store);
    let mut done = 0;
    while done < n {
        let run = combs.iter().map(|c| c.buf.len() - c.index).fold(n - done, usize::min);
        let mut segments = combs.each_mut().map(|c| {
            let i = c.index;
            &mut c.buf[i..i + run]
        });
        for (j, (x, sum)) in input[done..done + run]
            .iter()
            .zip(&mut sums[done..done + run])
            .enumerate()
        {
            // Gathered into an array, the eight recursions run as lanes of vector instructions; the writes
            // scatter back and the outputs add in comb order, as before.
            let outs: [f32; 8] = std::array::from_fn(|k| segments[k][j]);
            let mut writes = [0.0f32; 8];
            for ((w, out), store) in writes.iter_mut().zip(&outs).zip(store.iter_mut()) {
                *store = flush_f32(*out * damp2 + *store * damp1);
                *w = flush_f32(*x + *store * feedback);
            }
            for (segment, w) in segments.iter_mut().zip(writes) {
                segment[j] = w;
            }
            *sum = outs.iter().fold(0.0f32, |acc, out| acc + out);
        }
        for c in combs.iter_mut() {
            c.index += run;
            if c.index == c.buf.len() {
                c.index = 0;
            }
        }
        done += run;
    }
    for (c, s) in combs.iter_mut().zip(store) {
        c.store = s;
    }
}

/// Freeverb's own allpass form (`allpass.hpp`): `out = buf[i] - in; buf[i] = in + buf[i]*feedback`.
#[derive(Debug, Clone)]
pub struct FreeverbAllpass {
    buf: Vec<f32>,
    index: usize,
}

impl FreeverbAllpass {
    pub fn new(length: usize) -> Self {
        FreeverbAllpass {
            buf: vec![0.0; length.max(1)],
            index: 0,
        }
    }

    #[inline(always)]
    pub fn tick(&mut self, input: f32, feedback: f32) -> f32 {
        let stored = self.buf[self.index];
        let out = stored - input;
        self.buf[self.index] = flush_f32(input + stored * feedback);
        self.index += 1;
        if self.index == self.buf.len() {
            self.index = 0;
        }
        out
    }

    /// [`FreeverbAllpass::tick`] over a block in place, in stretches in which the index does not wrap (within
    /// one, no sample reads what another writes: the buffer is the delay).
    pub fn process_block(&mut self, block: &mut [f32], feedback: f32) {
        let mut done = 0;
        while done < block.len() {
            let run = (block.len() - done).min(self.buf.len() - self.index);
            let segment = &mut self.buf[self.index..self.index + run];
            for (x, stored) in block[done..done + run].iter_mut().zip(segment) {
                let input = *x;
                *x = *stored - input;
                *stored = flush_f32(input + *stored * feedback);
            }
            self.index += run;
            if self.index == self.buf.len() {
                self.index = 0;
            }
            done += run;
        }
    }

    pub fn reset(&mut self) {
        self.buf.fill(0.0);
        self.index = 0;
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        self.buf.copy_from_slice(&other.buf);
        self.index = other.index;
    }

    /// Whether every value in the buffer is within `limit` of zero (a scan that stops at the first above).
    pub fn settled(&self, limit: f32) -> bool {
        self.buf.iter().all(|x| x.abs() <= limit)
    }
}

/// A mono ring buffer of power-of-two capacity with integer and linearly interpolated reads, and a high-water
/// mark of what it holds (for sleeping: the ring answers without a scan).
#[derive(Debug, Clone)]
pub struct Ring {
    buf: Vec<f32>,
    mask: usize,
    pos: usize,
    mark: HighWater,
}

impl Ring {
    /// A buffer that can be read up to `max_delay` samples back (plus one for interpolation).
    pub fn new(max_delay: usize) -> Self {
        let size = (max_delay + 2).next_power_of_two();
        Ring {
            buf: vec![0.0; size],
            mask: size - 1,
            pos: 0,
            mark: HighWater::new(size),
        }
    }

    /// How many samples it holds (its capacity).
    pub fn held_samples(&self) -> usize {
        self.mask + 1
    }

    /// At least the largest magnitude it holds.
    pub fn peak(&self) -> f32 {
        self.mark.peak()
    }

    /// The longest delay a read may ask for.
    pub fn max_delay(&self) -> usize {
        self.mask - 1
    }

    /// Writes the next sample (flushed: every ring here sits in or feeds a recursive path).
    #[inline(always)]
    pub fn push(&mut self, x: f32) {
        self.pos = (self.pos + 1) & self.mask;
        let x = flush_f32(x);
        self.buf[self.pos] = x;
        self.mark.note(x);
    }

    /// The sample written `delay` pushes ago (0 = the last one); `delay` is clamped to the capacity.
    #[inline(always)]
    pub fn at(&self, delay: usize) -> f32 {
        self.buf[self.pos.wrapping_sub(delay.min(self.mask)) & self.mask]
    }

    /// Whether a block of `frames` pushes leaves every sample a read `delay` pushes back made during the block
    /// still in place after it (so [`Ring::add_run`] can make those reads afterwards).
    pub fn keeps_run(&self, delay: usize, frames: usize) -> bool {
        delay + frames <= self.mask + 1
    }

    /// After a block of `out.len()` pushes: adds `sign` x what `at(delay)` read just after each of them, i.e.
    /// `out[i] += sign * at(delay + out.len() - 1 - i)`, reading the ring in order (the same sums as reading per
    /// push, from contiguous memory). Needs [`Ring::keeps_run`].
    #[inline]
    pub fn add_run(&self, delay: usize, sign: f32, out: &mut [f32]) {
        let start = self.pos.wrapping_sub(delay + out.len() - 1);
        for (i, o) in out.iter_mut().enumerate() {
            *o += sign * self.buf[start.wrapping_add(i) & self.mask];
        }
    }

    /// A linearly interpolated read `delay` (>= 0, fractional) pushes ago.
    #[inline(always)]
    pub fn at_frac(&self, delay: f64) -> f32 {
        self.at_split(self.split(delay))
    }

    /// A fractional delay (>= 0) split into whole pushes and a fraction, once for as long as it holds.
    #[inline(always)]
    pub fn split(&self, delay: f64) -> SplitDelay {
        let delay = delay.clamp(0.0, self.max_delay() as f64);
        let whole = delay as usize;
        SplitDelay {
            whole,
            frac: (delay - whole as f64) as f32,
        }
    }

    /// [`Ring::at_frac`] at a delay split ahead (the same arithmetic, so the same result).
    #[inline(always)]
    pub fn at_split(&self, delay: SplitDelay) -> f32 {
        let a = self.at(delay.whole);
        let b = self.at(delay.whole + 1);
        a + (b - a) * delay.frac
    }

    pub fn reset(&mut self) {
        self.buf.fill(0.0);
        self.pos = 0;
        self.mark.reset();
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        self.buf.copy_from_slice(&other.buf);
        self.pos = other.pos;
        self.mark = other.mark;
    }
}

/// A stereo pre-delay whose time slews by at most `SLEW` samples per sample toward its target, so a moving
/// `preDelayMs` (stepped every 16 frames by a glide, or jumped by automation) never clicks.
#[derive(Debug, Clone)]
pub struct PreDelay {
    left: Ring,
    right: Ring,
    now: f64,
    target: f64,
}

impl PreDelay {
    /// How fast the read position may move, in samples per sample (a pitch change of at most +-50 %).
    pub const SLEW: f64 = 0.5;

    pub fn new(max_delay: usize) -> Self {
        PreDelay {
            left: Ring::new(max_delay),
            right: Ring::new(max_delay),
            now: 0.0,
            target: 0.0,
        }
    }

    /// Sets the target delay in samples; `jump` sets it at once (at creation).
    pub fn set(&mut self, samples: f64, jump: bool) {
        self.target = samples.clamp(0.0, self.left.max_delay() as f64);
        if jump {
            self.now = self.target;
        }
    }

    /// The longest delay it may have now or while slewing to the target.
    pub fn longest(&self) -> f64 {
        self.now.max(self.target)
    }

    /// Whether its time has reached its target and both rings hold nothing above `limit`.
    pub fn settled(&self, limit: f32) -> bool {
        self.now == self.target && self.left.peak() <= limit && self.right.peak() <= limit
    }

    /// How many samples its rings hold.
    pub fn held_samples(&self) -> usize {
        self.left.held_samples() + self.right.held_samples()
    }

    #[inline(always)]
    pub fn tick(&mut self, l: f32, r: f32) -> (f32, f32) {
        self.now += (self.target - self.now).clamp(-Self::SLEW, Self::SLEW);
        self.left.push(l);
        self.right.push(r);
        (self.left.at_frac(self.now), self.right.at_frac(self.now))
    }

    pub fn reset(&mut self) {
        self.left.reset();
        self.right.reset();
        self.now = self.target;
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        self.left.copy_state_from(&other.left);
        self.right.copy_state_from(&other.right);
        self.now = other.now;
    }
}

/// The largest sum of read-point gains a reverb here forms its output from (the hall's 16 lines at 1/4 and
/// 0.6 of wet gain: 2.4; the plate's 7 taps at 0.6: 4.2; the room's 18 early taps and 8 lines: about 5.3),
/// rounded up generously.
const TAP_GAIN_BOUND: f32 = 16.0;

/// The level every value of a reverb's state (`held_samples` values in all) must be at or below for the
/// kernel to count as settled under the processor's `floor`.
///
/// The networks are passive: allpasses are lossless, the FDN mixes with an orthonormal matrix, every loop gain
/// is below 1, and shifting a delay line moves values without changing them. So the Euclidean norm of the whole
/// state never grows once the input is silent, and any value read later is at most that norm, which is at most
/// `sqrt(N) p` for N held values each at most p. The output sums reads with gains of at most `TAP_GAIN_BOUND`
/// in all: state at or below `floor * 1e-3 / (TAP_GAIN_BOUND sqrt(N))` keeps every later output sample 60 dB
/// below the floor.
pub fn settle_limit(floor: f32, held_samples: usize) -> f32 {
    floor * 1e-3 / (TAP_GAIN_BOUND * (held_samples.max(1) as f32).sqrt())
}

/// A fractional delay split once ([`Ring::split`]) for reads at a delay that holds over a block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitDelay {
    whole: usize,
    frac: f32,
}

/// A Schroeder allpass `H(z) = (-g + z^-D) / (1 - g z^-D)` with a fractional (modulatable) length D >= 1:
/// `w = x + g*w[n-D]`, `y = w[n-D] - g*w`.
#[derive(Debug, Clone)]
pub struct Allpass {
    ring: Ring,
}

impl Allpass {
    pub fn new(max_delay: usize) -> Self {
        Allpass {
            ring: Ring::new(max_delay),
        }
    }

    /// One sample through the allpass of length `delay` (samples, >= 1) and coefficient `g` (|g| < 1).
    #[inline(always)]
    pub fn tick(&mut self, x: f32, delay: f64, g: f32) -> f32 {
        self.tick_at(x, self.read_point(delay), g)
    }

    /// Where an allpass of length `delay` reads, split once for a block in which the length holds.
    #[inline(always)]
    pub fn read_point(&self, delay: f64) -> SplitDelay {
        // `push` comes after the read, so a length of D reads D - 1 pushes back.
        self.ring.split(delay.max(1.0) - 1.0)
    }

    /// [`Allpass::tick`] at a length split ahead ([`Allpass::read_point`]): the same result.
    #[inline(always)]
    pub fn tick_at(&mut self, x: f32, read_point: SplitDelay, g: f32) -> f32 {
        let delayed = self.ring.at_split(read_point);
        let w = x + g * delayed;
        self.ring.push(w);
        delayed - g * w
    }

    /// The internal line, for output taps (0 = the value written last).
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// At least the largest magnitude of its state.
    pub fn peak(&self) -> f32 {
        self.ring.peak()
    }

    /// How many samples it holds.
    pub fn held_samples(&self) -> usize {
        self.ring.held_samples()
    }

    pub fn reset(&mut self) {
        self.ring.reset();
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        self.ring.copy_state_from(&other.ring);
    }
}

/// The number of samples an allpass (coefficient `g`, length `delay`) takes to ring down by 100 dB: its
/// impulse response after the first term is `(1 - g^2) g^(k-1)` every `delay` samples.
pub fn allpass_tail_samples(g: f64, delay: f64) -> f64 {
    let g = g.abs().clamp(1e-6, 0.999);
    (1.0 + (1e-5f64).ln() / g.ln()) * delay
}

/// A one-pole lowpass in f64: `y = (1 - p) x + p y[-1]`, DC gain 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct OnePole {
    pub pole: f64,
    state: f64,
}

impl OnePole {
    pub fn new(pole: f64) -> Self {
        OnePole { pole, state: 0.0 }
    }

    #[inline(always)]
    pub fn tick(&mut self, x: f64) -> f64 {
        self.state = flush((1.0 - self.pole) * x + self.pole * self.state);
        self.state
    }

    pub fn reset(&mut self) {
        self.state = 0.0;
    }

    /// The magnitude of its state.
    pub fn peak(&self) -> f32 {
        self.state.abs() as f32
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        self.state = other.state;
    }

    /// |H| at angular frequency `w` (radians per sample).
    pub fn magnitude(pole: f64, w: f64) -> f64 {
        (1.0 - pole) / (1.0 - 2.0 * pole * w.cos() + pole * pole).sqrt()
    }
}

/// The pole of a one-pole lowpass whose time constant matches `pole_at_ref` at `ref_rate` (Dattorro's
/// coefficients at 29761 Hz), at another sample rate.
pub fn rescale_pole(pole_at_ref: f64, ref_rate: f64, sample_rate: f64) -> f64 {
    if pole_at_ref <= 0.0 {
        0.0
    } else {
        pole_at_ref.powf(ref_rate / sample_rate)
    }
}

/// A sine LFO whose value is a pure function of the absolute frame: exact `sin` every 64 frames, a rotation
/// in between (so the value never depends on where blocks start).
#[derive(Debug, Clone, Copy)]
pub struct Lfo {
    /// Radians per frame, and its sine and cosine (the rotation between exact evaluations).
    step: f64,
    step_sin: f64,
    step_cos: f64,
    phase0: f64,
    sin: f64,
    cos: f64,
    /// The frame the stored (sin, cos) belong to, or `u64::MAX` when unknown.
    at: u64,
}

impl Lfo {
    pub fn new(rate_hz: f64, phase: f64, sample_rate: f64) -> Self {
        let step = 2.0 * PI * rate_hz / sample_rate;
        Lfo {
            step,
            step_sin: step.sin(),
            step_cos: step.cos(),
            phase0: phase,
            sin: 0.0,
            cos: 1.0,
            at: u64::MAX,
        }
    }

    /// sin(phase + step * frame).
    #[inline(always)]
    pub fn value(&mut self, frame: u64) -> f64 {
        if frame % 64 == 0 || self.at.wrapping_add(1) != frame {
            // Reduce the frame modulo a whole number of periods' worth of f64 precision: phase stays exact.
            let angle = self.phase0 + self.step * frame as f64;
            (self.sin, self.cos) = angle.sin_cos();
        } else {
            let (s, c) = (self.step_sin, self.step_cos);
            (self.sin, self.cos) = (self.sin * c + self.cos * s, self.cos * c - self.sin * s);
        }
        self.at = frame;
        self.sin
    }
}

/// Decay of a loss filter: close to `T(w) = t_dc / (1 + k (1 - cos w))`, i.e. the decay time halves where
/// `k (1 - cos w) = 1`, and exactly `rt60` at [`RT60_REFERENCE_HZ`]. See [`LossDesign::line`].
#[derive(Debug, Clone, Copy)]
pub struct LossDesign {
    pub rt60: f64,
    /// RT60 at DC, seconds (the shape's estimate; [`Fdn::dc_rt60`] gives the exact one).
    pub t_dc: f64,
    pub k: f64,
    /// The reference frequency in radians per sample.
    pub w_ref: f64,
}

/// Where the RT60 parameter of the FDN reverbs is met exactly: inside the 500 Hz - 2 kHz band the effect contract
/// measures, at its lower part (the slowest decaying part of the band dominates a Schroeder T30).
pub const RT60_REFERENCE_HZ: f64 = 700.0;

impl LossDesign {
    /// RT60 `rt60` seconds at `RT60_REFERENCE_HZ`, decay time about halved (the one-pole's shape, more where the loss per pass is large) near `damping_hz` (both clamped to 0.49 fs).
    pub fn new(rt60: f64, damping_hz: f64, sample_rate: f64) -> Self {
        let w = |hz: f64| 2.0 * PI * super::clamp_frequency(hz, sample_rate) / sample_rate;
        let k = 1.0 / (1.0 - w(damping_hz).cos());
        let w_ref = w(RT60_REFERENCE_HZ);
        let t_dc = rt60 * (1.0 + k * (1.0 - w_ref.cos()));
        LossDesign { rt60, t_dc, k, w_ref }
    }

    /// Jot's absorptive one-pole for a line of `delay` samples: (gain, pole) of `g (1 - b) / (1 - b z^-1)`.
    /// The pole gives the Nyquist/DC ratio of the shape (`t_dc / (1 + 2k)` at Nyquist); the gain is then set
    /// so that the line loses exactly what `rt60` asks at the reference frequency (at most 0.99999).
    pub fn line(&self, delay: f64, sample_rate: f64) -> (f64, f64) {
        let per_second = -3.0 * delay / (sample_rate * self.t_dc);
        let r = 10f64.powf(per_second * 2.0 * self.k);
        let mut b = (1.0 - r) / (1.0 + r);
        let target = 10f64.powf(-3.0 * delay / (sample_rate * self.rt60));
        // Where the loss per pass is large (short decays, low damping frequencies) the one-pole's corner falls
        // toward the reference; limit the pole so that DC decays at most twice as slowly as the reference
        // (|D(w_ref)| >= sqrt(target)), found by bisection (the magnitude falls as the pole grows).
        let floor = target.sqrt();
        if OnePole::magnitude(b, self.w_ref) < floor {
            let (mut lo, mut hi) = (0.0, b);
            for _ in 0..40 {
                let mid = 0.5 * (lo + hi);
                if OnePole::magnitude(mid, self.w_ref) < floor {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            b = lo;
        }
        let g = (target / OnePole::magnitude(b, self.w_ref)).min(0.99999);
        (g, b)
    }
}

/// The most lines an [`Fdn`] has.
pub const FDN_MAX_LINES: usize = 16;

/// A feedback delay network of N = 8 or 16 lines: each line a fractional ring (optionally modulated), a Jot
/// loss filter, then an orthonormal Hadamard mix back into the lines. Two decorrelated outputs.
#[derive(Debug, Clone)]
pub struct Fdn {
    n: usize,
    lines: [Ring; FDN_MAX_LINES],
    /// Nominal lengths in samples (at the current size).
    lengths: [f64; FDN_MAX_LINES],
    gains: [f64; FDN_MAX_LINES],
    poles: [f64; FDN_MAX_LINES],
    filter_state: [f64; FDN_MAX_LINES],
    lfos: [Lfo; FDN_MAX_LINES],
    /// Modulation depth per line in samples (0 = unmodulated).
    depths: [f64; FDN_MAX_LINES],
    out_signs: [[f32; FDN_MAX_LINES]; 2],
}

impl Fdn {
    /// `n` lines (8 or 16) each able to hold `max_length` samples plus its modulation; `depth_samples` of
    /// modulation at `rate_hz` (spread by a fixed-seed PCG32) on every other line.
    pub fn new(n: usize, max_length: usize, depth_samples: f64, rate_hz: f64, sample_rate: f64, seed: u64) -> Self {
        let n = if n >= 16 { 16 } else { 8 };
        let mut rng = Pcg32::new(seed, 7);
        let cap = max_length + depth_samples.ceil() as usize + 4;
        let lfos = std::array::from_fn(|_| {
            let rate = rate_hz * (0.6 + 0.8 * rng.next_f64());
            Lfo::new(rate, 2.0 * PI * rng.next_f64(), sample_rate)
        });
        let depths = std::array::from_fn(|i| if i % 2 == 0 && i < n { depth_samples } else { 0.0 });
        // Output sign patterns: two rows of the Hadamard matrix (orthogonal), so left and right are uncorrelated
        // when the lines are.
        let mut out_signs = [[0.0f32; FDN_MAX_LINES]; 2];
        for (row, pattern) in out_signs.iter_mut().zip([0b0110usize, 0b0101]) {
            for (i, s) in row.iter_mut().enumerate().take(n) {
                *s = if (i & pattern).count_ones() % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
        Fdn {
            n,
            lines: std::array::from_fn(|_| Ring::new(if n > 0 { cap } else { 1 })),
            lengths: [1.0; FDN_MAX_LINES],
            gains: [0.0; FDN_MAX_LINES],
            poles: [0.0; FDN_MAX_LINES],
            filter_state: [0.0; FDN_MAX_LINES],
            lfos,
            depths,
            out_signs,
        }
    }

    pub fn lines(&self) -> usize {
        self.n
    }

    /// Sets the nominal lengths (clamped to the capacity) and the loss filters for `design`.
    #[allow(clippy::needless_range_loop)] // several parallel per-line arrays
    pub fn set(&mut self, lengths: &[f64], design: &LossDesign, sample_rate: f64) {
        for i in 0..self.n {
            let max = self.lines[i].max_delay() as f64 - self.depths[i] - 2.0;
            // Whole samples: a fixed fractional read would low-pass every pass (linear interpolation at a
            // half-sample loses 0.07 dB at 2 kHz and 48 kHz per pass, shortening long decays by ~10 %).
            let len = lengths[i].round().clamp(2.0 + self.depths[i], max);
            self.lengths[i] = len;
            let (g, b) = design.line(len, sample_rate);
            // A modulated read sweeps the fraction: on average linear interpolation keeps
            // |H|^2 = 1 - (1 - cos w)/3 of the power; compensate at the reference frequency.
            let interpolation = if self.depths[i] > 0.0 {
                (1.0 - (1.0 - design.w_ref.cos()) / 3.0).sqrt()
            } else {
                1.0
            };
            (self.gains[i], self.poles[i]) = ((g / interpolation).min(0.99999), b);
        }
    }

    /// The slowest decay of any line at any frequency (its DC RT60, the loss filters being low-passes), s.
    pub fn dc_rt60(&self, sample_rate: f64) -> f64 {
        (0..self.n).fold(0.0, |m, i| {
            m.max(-3.0 * self.lengths[i] / (sample_rate * self.gains[i].log10()))
        })
    }

    /// At least the largest magnitude of its state (lines and loss filters).
    pub fn peak(&self) -> f32 {
        let filters = self.filter_state[..self.n].iter().fold(0.0f64, |m, x| m.max(x.abs())) as f32;
        self.lines[..self.n].iter().fold(filters, |m, l| m.max(l.peak()))
    }

    /// How many samples its lines hold.
    pub fn held_samples(&self) -> usize {
        self.lines[..self.n].iter().map(Ring::held_samples).sum::<usize>() + self.n
    }

    /// The longest nominal line in samples.
    pub fn longest(&self) -> f64 {
        self.lengths[..self.n].iter().fold(0.0, |m, x| m.max(*x))
    }

    /// One frame: `inputs[i]` is added to line i; returns the two outputs (scaled by 1/sqrt(N)).
    #[inline]
    #[allow(clippy::needless_range_loop)] // several parallel per-line arrays
    pub fn tick(&mut self, frame: u64, inputs: &[f32; FDN_MAX_LINES]) -> (f32, f32) {
        let n = self.n;
        let mut v = [0.0f64; FDN_MAX_LINES];
        for i in 0..n {
            let mut delay = self.lengths[i] - 1.0;
            if self.depths[i] > 0.0 {
                delay += self.depths[i] * self.lfos[i].value(frame);
            }
            let x = self.lines[i].at_frac(delay) as f64;
            let b = self.poles[i];
            self.filter_state[i] = flush(self.gains[i] * (1.0 - b) * x + b * self.filter_state[i]);
            v[i] = self.filter_state[i];
        }
        let (mut out_l, mut out_r) = (0.0f32, 0.0f32);
        for i in 0..n {
            out_l += self.out_signs[0][i] * v[i] as f32;
            out_r += self.out_signs[1][i] * v[i] as f32;
        }
        hadamard(&mut v[..n]);
        let norm = 1.0 / (n as f64).sqrt();
        for i in 0..n {
            self.lines[i].push((v[i] * norm) as f32 + inputs[i]);
        }
        (out_l * norm as f32, out_r * norm as f32)
    }

    pub fn reset(&mut self) {
        for l in self.lines.iter_mut() {
            l.reset();
        }
        self.filter_state = [0.0; FDN_MAX_LINES];
    }

    pub fn copy_state_from(&mut self, other: &Self) {
        for (a, b) in self.lines.iter_mut().zip(other.lines.iter()) {
            a.copy_state_from(b);
        }
        self.filter_state = other.filter_state;
        self.lfos = other.lfos;
    }
}

/// The unnormalised fast Walsh-Hadamard transform in place (length a power of two).
#[inline(always)]
fn hadamard(v: &mut [f64]) {
    let n = v.len();
    let mut h = 1;
    while h < n {
        let mut i = 0;
        while i < n {
            for j in i..i + h {
                let (a, b) = (v[j], v[j + h]);
                v[j] = a + b;
                v[j + h] = a - b;
            }
            i += 2 * h;
        }
        h *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `add_run` after a block sums what `at` read after each push of it, wherever `keeps_run` allows it
    /// (across the buffer's wrap, up to the longest delay it allows).
    #[test]
    fn a_run_after_the_block_reads_what_each_push_read() {
        let mut ring = Ring::new(60); // 64 samples
        let mut x = 0.37f32;
        for frames in [1usize, 5, 16, 40, 64] {
            for delay in [0usize, 3, 17, 23, 63] {
                if !ring.keeps_run(delay, frames) {
                    assert!(delay + frames > 64);
                    continue;
                }
                let mut per_push = vec![0.25f32; frames];
                for o in per_push.iter_mut() {
                    x = (x * 3.7 + 0.1).fract() - 0.5;
                    ring.push(x);
                    *o += -0.5 * ring.at(delay);
                }
                let mut run = vec![0.25f32; frames];
                ring.add_run(delay, -0.5, &mut run);
                assert_eq!(run, per_push, "{frames} frames, delay {delay}");
            }
        }
    }

    /// The block forms against `tick` per sample (Jezar's loop): identical bits, across buffer wraps and
    /// uneven block sizes.
    #[test]
    fn freeverb_blocks_equal_per_sample_ticks_exactly() {
        let lengths = [37, 41, 43, 47, 53, 59, 61, 67];
        let mut by_tick: [FreeverbComb; 8] = std::array::from_fn(|k| FreeverbComb::new(lengths[k]));
        let mut by_block = by_tick.clone();
        let mut ap_tick = [FreeverbAllpass::new(29), FreeverbAllpass::new(31)];
        let mut ap_block = ap_tick.clone();
        let mut rng = Pcg32::new(5, 1);
        let input: Vec<f32> = (0..2000).map(|_| (rng.next_f64() - 0.5) as f32).collect();
        let (fb, d1, d2) = (0.84, 0.2, 0.8);
        let mut expected = Vec::new();
        for x in &input {
            let mut acc = 0.0f32;
            for c in by_tick.iter_mut() {
                acc += c.tick(*x, fb, d1, d2);
            }
            for a in ap_tick.iter_mut() {
                acc = a.tick(acc, 0.5);
            }
            expected.push(acc);
        }
        let mut got = vec![0.0; input.len()];
        let mut start = 0;
        for size in [1, 100, 7, 500, 64].iter().cycle() {
            if start >= input.len() {
                break;
            }
            let end = (start + size).min(input.len());
            freeverb_comb_bank(&mut by_block, &input[start..end], &mut got[start..end], fb, d1, d2);
            for a in ap_block.iter_mut() {
                a.process_block(&mut got[start..end], 0.5);
            }
            start = end;
        }
        assert!(expected.iter().any(|y| y.abs() > 0.1), "the combs produced nothing");
        assert!(expected.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn hadamard_is_orthogonal_after_normalising() {
        let mut v = [0.0; 8];
        v[3] = 1.0;
        hadamard(&mut v);
        let energy: f64 = v.iter().map(|x| x * x).sum::<f64>() / 8.0;
        assert!((energy - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lfo_does_not_depend_on_where_reading_starts() {
        let mut a = Lfo::new(0.7, 0.3, 48_000.0);
        let mut b = Lfo::new(0.7, 0.3, 48_000.0);
        let va: Vec<f64> = (0..1000).map(|f| a.value(f)).collect();
        let vb: Vec<f64> = (500..1000).map(|f| b.value(f)).collect();
        for (x, y) in va[500..].iter().zip(&vb) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn loss_design_meets_rt60_at_the_reference_and_halves_at_the_damping_frequency() {
        let fs = 48_000.0;
        let d = LossDesign::new(2.0, 6000.0, fs);
        let delay = 2000.0;
        let (g, b) = d.line(delay, fs);
        let mag = |hz: f64| {
            let w = 2.0 * PI * hz / fs;
            g * OnePole::magnitude(b, w)
        };
        let rt = |hz: f64| -3.0 * delay / (fs * mag(hz).log10());
        assert!(
            (rt(RT60_REFERENCE_HZ) / 2.0 - 1.0).abs() < 0.01,
            "{}",
            rt(RT60_REFERENCE_HZ)
        );
        // The one-pole only approximates the shape: well below the reference decay at the damping frequency.
        let ratio = rt(6000.0) / rt(RT60_REFERENCE_HZ);
        assert!((0.2..0.6).contains(&ratio), "{ratio}");
        assert!(rt(100.0) > rt(RT60_REFERENCE_HZ));
    }
}
