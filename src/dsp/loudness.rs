//! Loudness per ITU-R BS.1770-4 and EBU R128, the DSP half shared by the analysis ([`crate::analysis::LoudnessMeter`])
//! and the engine's master meter: K-weighting at any sample rate (libebur128's design), 100 ms gating steps,
//! momentary (400 ms) and short-term (3 s) windows, gated integrated loudness and loudness range (EBU Tech 3342)
//! from fixed histograms, in one streaming [`GatedLoudness`] that allocates only when it is created.

/// BS.1770 offset: a 997 Hz sine at 0 dBFS in one front channel reads -3.01 LUFS.
const LOUDNESS_OFFSET: f64 = -0.691;
/// Absolute gate (BS.1770-4), LUFS.
pub const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// Relative gate for integrated loudness (BS.1770-4), LU below the absolute-gated loudness.
pub const RELATIVE_GATE_LU: f64 = -10.0;
/// Relative gate for loudness range (EBU Tech 3342), LU.
pub const RANGE_RELATIVE_GATE_LU: f64 = -20.0;
/// Loudness range percentiles (EBU Tech 3342).
pub const RANGE_PERCENTILES: (f64, f64) = (10.0, 95.0);

/// Gating blocks advance in steps of 100 ms; a momentary block is 4 steps (400 ms, 75 % overlap), a
/// short-term block 30 steps (3 s).
const STEPS_PER_SECOND: u64 = 10;
const MOMENTARY_STEPS: usize = 4;
const SHORT_TERM_STEPS: usize = 30;

/// Histogram of block loudness: bins of 0.01 LU from the absolute gate up. Gating and percentiles work on
/// these bins (each bin keeps the exact energy of its blocks), so memory does not grow with the input.
const HISTOGRAM_BIN_LU: f64 = 0.01;
const HISTOGRAM_TOP_LUFS: f64 = 12.0;
const HISTOGRAM_BINS: usize = ((HISTOGRAM_TOP_LUFS - ABSOLUTE_GATE_LUFS) / HISTOGRAM_BIN_LU) as usize;

/// Channel weights of BS.1770-4 (L, R, C, Ls, Rs); a mono file is one channel of weight 1.
const CHANNEL_WEIGHTS: [f64; 5] = [1.0, 1.0, 1.0, 1.41, 1.41];

/// Mean square (channel-weighted) to LUFS; 0 gives -inf.
#[inline]
pub fn energy_to_lufs(energy: f64) -> f64 {
    if energy > 0.0 {
        LOUDNESS_OFFSET + 10.0 * energy.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// LUFS to mean square (the inverse of [`energy_to_lufs`]).
pub fn lufs_to_energy(lufs: f64) -> f64 {
    10f64.powf((lufs - LOUDNESS_OFFSET) / 10.0)
}

/// A second-order section, direct form II transposed (as scipy's `lfilter`), in f64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Biquad {
    pub b: [f64; 3],
    /// a0 normalised to 1: `a[0]` is a1, `a[1]` is a2.
    pub a: [f64; 2],
    z1: f64,
    z2: f64,
}

impl Biquad {
    fn new(b: [f64; 3], a: [f64; 3]) -> Self {
        Self {
            b: [b[0] / a[0], b[1] / a[0], b[2] / a[0]],
            a: [a[1] / a[0], a[2] / a[0]],
            z1: 0.0,
            z2: 0.0,
        }
    }

    /// One sample. The sums are grouped as scipy's `lfilter` groups them (`b1 x + z2`, then `- a1 y`), which
    /// also keeps the feed-forward part off the recursion: the loop-carried chain is one multiply and two
    /// additions.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.z1;
        self.z1 = (self.b[1] * x + self.z2) - self.a[0] * y;
        self.z2 = self.b[2] * x - self.a[1] * y;
        y
    }

    pub fn reset(&mut self) {
        self.z1 = 0.0;
        self.z2 = 0.0;
    }

    /// Sets state below [`STATE_FLUSH`] to exactly 0. After sound stops, the state decays into f64's
    /// subnormal range and can stay there for good (a limit cycle of rounding), where x86 arithmetic is
    /// tens of times slower: 120 s of silence after 60 s of noise took 7x as long to analyse as noise.
    /// Provably no change to any result: a state below 1e-150 changes an output by at most about 1e-150,
    /// far below f64 rounding (2^-53 relative) of any output that a nonzero f32 input (at least 1.4e-45)
    /// produces, and an energy of 1e-300 is far below the -70 LUFS absolute gate.
    #[inline]
    pub fn flush_subnormal_state(&mut self) {
        for z in [&mut self.z1, &mut self.z2] {
            if z.abs() < STATE_FLUSH {
                *z = 0.0;
            }
        }
    }
}

/// Filter state below this is set to 0 ([`Biquad::flush_subnormal_state`]).
pub const STATE_FLUSH: f64 = 1e-150;

/// Stereo K-weighting: both channels' filters (the same coefficients) as two lanes of one loop, in the
/// same arithmetic as [`Biquad::process`], so the compiler can run the channels side by side in one
/// vector register. Returns each channel's sum of squares.
#[inline]
fn k_weight_stereo(left: &mut [Biquad; 2], right: &mut [Biquad; 2], l: &[f32], r: &[f32]) -> [f64; 2] {
    let [shelf, high_pass] = [left[0], left[1]];
    let (mut s1, mut s2) = ([left[0].z1, right[0].z1], [left[0].z2, right[0].z2]);
    let (mut h1, mut h2) = ([left[1].z1, right[1].z1], [left[1].z2, right[1].z2]);
    let mut sums = [0.0; 2];
    for (&a, &b) in l.iter().zip(r) {
        let x = [f64::from(a), f64::from(b)];
        let mut y = [0.0; 2];
        for c in 0..2 {
            let u = shelf.b[0] * x[c] + s1[c];
            s1[c] = (shelf.b[1] * x[c] + s2[c]) - shelf.a[0] * u;
            s2[c] = shelf.b[2] * x[c] - shelf.a[1] * u;
            y[c] = high_pass.b[0] * u + h1[c];
            h1[c] = (high_pass.b[1] * u + h2[c]) - high_pass.a[0] * y[c];
            h2[c] = high_pass.b[2] * u - high_pass.a[1] * y[c];
            sums[c] += y[c] * y[c];
        }
    }
    for (c, filters) in [left, right].into_iter().enumerate() {
        (filters[0].z1, filters[0].z2) = (s1[c], s2[c]);
        (filters[1].z1, filters[1].z2) = (h1[c], h2[c]);
    }
    sums
}

/// BS.1770-4 Table 1: the pre-filter (high shelf) at 48 kHz, numerator then denominator (a0 = 1).
pub const BS1770_SHELF_48K: ([f64; 3], [f64; 3]) = (
    [1.53512485958697, -2.69169618940638, 1.19839281085285],
    [1.0, -1.69065929318241, 0.73248077421585],
);
/// BS.1770-4 Table 2: the RLB weighting (high pass) at 48 kHz, numerator then denominator (a0 = 1).
pub const BS1770_HIGH_PASS_48K: ([f64; 3], [f64; 3]) = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]);

/// The analog prototypes that reproduce the published 48 kHz filters through the bilinear transform with
/// pre-warping at the prototype's frequency (libebur128's `ebur128_init_filter`, after Raiden's fit of the
/// BS.1770 tables): shelf corner, gain, Q and the exponent of the mid-band gain; high-pass corner and Q.
const SHELF_F0_HZ: f64 = 1681.974450955533;
const SHELF_GAIN_DB: f64 = 3.999843853973347;
const SHELF_Q: f64 = 0.7071752369554196;
const SHELF_VB_EXPONENT: f64 = 0.4996667741545416;
const HIGH_PASS_F0_HZ: f64 = 38.13547087602444;
const HIGH_PASS_Q: f64 = 0.5003270373238773;

/// The K-weighting stages designed from the analog prototypes at any rate (libebur128's derivation):
/// with K = tan(pi f0 / fs), the shelf is (Vh + Vb K/Q + K^2, 2 (K^2 - Vh), Vh - Vb K/Q + K^2) over
/// (1 + K/Q + K^2, 2 (K^2 - 1), 1 - K/Q + K^2), Vh = 10^(G/20), Vb = Vh^0.49967; the high pass keeps the
/// published numerator (1, -2, 1) over the same denominator form. At 48 kHz this reproduces Tables 1 and 2 to
/// within 1e-15; [`k_weighting`] uses the tables themselves there.
pub fn k_weighting_design(sample_rate_hz: f64) -> ([[f64; 3]; 2], [[f64; 3]; 2]) {
    let k = (std::f64::consts::PI * SHELF_F0_HZ / sample_rate_hz).tan();
    let vh = 10f64.powf(SHELF_GAIN_DB / 20.0);
    let vb = vh.powf(SHELF_VB_EXPONENT);
    let a0 = 1.0 + k / SHELF_Q + k * k;
    let shelf = [
        [
            (vh + vb * k / SHELF_Q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / SHELF_Q + k * k) / a0,
        ],
        [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / SHELF_Q + k * k) / a0],
    ];
    let k = (std::f64::consts::PI * HIGH_PASS_F0_HZ / sample_rate_hz).tan();
    let a0 = 1.0 + k / HIGH_PASS_Q + k * k;
    let high_pass = [
        [1.0, -2.0, 1.0],
        [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HIGH_PASS_Q + k * k) / a0],
    ];
    (shelf, high_pass)
}

/// The two K-weighting stages (pre-filter high shelf, then RLB high pass) for `sample_rate_hz`, as
/// BS.1770-4 defines them: at 48 kHz exactly the published coefficients (Tables 1 and 2), at other rates the
/// analog design that reproduces them ([`k_weighting_design`], as libebur128 does). pyloudnorm's default
/// design (Audio EQ Cookbook shelf at 1500 Hz and 38 Hz high pass) reads about 0.04 LU lower on music; its
/// "DeMan" filter class is this design.
pub fn k_weighting(sample_rate_hz: f64) -> [Biquad; 2] {
    if sample_rate_hz == 48_000.0 {
        let (shelf, high_pass) = (BS1770_SHELF_48K, BS1770_HIGH_PASS_48K);
        return [Biquad::new(shelf.0, shelf.1), Biquad::new(high_pass.0, high_pass.1)];
    }
    let (shelf, high_pass) = k_weighting_design(sample_rate_hz);
    [Biquad::new(shelf[0], shelf[1]), Biquad::new(high_pass[0], high_pass[1])]
}

/// Block loudness values in fixed bins above the absolute gate, with the energy and count of each bin.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    energy: Vec<f64>,
    count: Vec<u64>,
}

impl Histogram {
    fn new() -> Self {
        Self {
            energy: vec![0.0; HISTOGRAM_BINS],
            count: vec![0; HISTOGRAM_BINS],
        }
    }

    fn clear(&mut self) {
        self.energy.fill(0.0);
        self.count.fill(0);
    }

    /// Adds a block of the given mean-square energy; blocks below the absolute gate are dropped.
    fn add(&mut self, energy: f64) {
        let lufs = energy_to_lufs(energy);
        if lufs < ABSOLUTE_GATE_LUFS {
            return;
        }
        let bin = (((lufs - ABSOLUTE_GATE_LUFS) / HISTOGRAM_BIN_LU) as usize).min(HISTOGRAM_BINS - 1);
        self.energy[bin] += energy;
        self.count[bin] += 1;
    }

    fn bin_centre(bin: usize) -> f64 {
        ABSOLUTE_GATE_LUFS + (bin as f64 + 0.5) * HISTOGRAM_BIN_LU
    }

    /// Bins above `gate_lufs` (by their centre): (total energy, block count).
    fn sum_above(&self, gate_lufs: f64) -> (f64, u64) {
        let first = ((gate_lufs - ABSOLUTE_GATE_LUFS) / HISTOGRAM_BIN_LU - 0.5)
            .ceil()
            .max(0.0) as usize;
        let first = first.min(HISTOGRAM_BINS);
        let energy = self.energy[first..].iter().sum();
        let count = self.count[first..].iter().sum();
        (energy, count)
    }

    /// The relative-gate threshold: the absolute-gated mean loudness plus `relative_lu`; None with no blocks.
    fn relative_gate(&self, relative_lu: f64) -> Option<f64> {
        let (energy, count) = self.sum_above(ABSOLUTE_GATE_LUFS);
        (count > 0).then(|| energy_to_lufs(energy / count as f64) + relative_lu)
    }

    /// The `k`-th smallest block loudness (0-based) among the bins from `first`, at bin resolution.
    fn nth_from(&self, first: usize, k: u64) -> f64 {
        let mut seen = 0;
        for bin in first..HISTOGRAM_BINS {
            seen += self.count[bin];
            if seen > k {
                return Self::bin_centre(bin);
            }
        }
        Self::bin_centre(HISTOGRAM_BINS - 1)
    }
}

/// Channels [`GatedLoudness`] weighs (BS.1770-4 order L, R, C, Ls, Rs).
pub const MAX_CHANNELS: usize = CHANNEL_WEIGHTS.len();

/// The loudness half of a BS.1770-4 meter for 1 to 5 channels (BS.1770-4 order L, R, C, Ls, Rs): K-weighting,
/// 100 ms steps, momentary and short-term windows, and the histograms behind integrated loudness and loudness
/// range. Nothing is allocated after [`GatedLoudness::new`]; memory does not grow with the input.
///
/// Resolution: integrated loudness sums the exact energy of the blocks it keeps, so only a block within half a bin
/// (0.005 LU) of a gate can be kept or dropped wrongly; loudness range reads its percentiles at bin centres, so it
/// is within one bin (0.01 LU) of the exact percentiles of the same blocks.
#[derive(Debug, Clone)]
pub struct GatedLoudness {
    sample_rate_hz: f64,
    channels: usize,
    filters: Vec<[Biquad; 2]>,
    /// Samples fed so far (per channel).
    position: u64,
    /// 100 ms steps completed so far.
    steps: u64,
    /// Where the current step ends (sample index): floor((steps + 1) x rate / 10).
    step_end: u64,
    /// Channel-weighted sum of squares of the K-weighted signal in the current step.
    step_sum: f64,
    /// The last 30 completed steps' sums, a ring indexed by `steps % 30`.
    recent: [f64; SHORT_TERM_STEPS],
    integrated: Histogram,
    range: Histogram,
    max_momentary_energy: f64,
    max_short_term_energy: f64,
}

impl GatedLoudness {
    /// A meter for `channels` channels at a positive sample rate; `channels` is clamped to 1..=[`MAX_CHANNELS`]
    /// (callers check it first: the analysis reports an error, the engine always meters 2).
    pub fn new(sample_rate_hz: f64, channels: usize) -> Self {
        let channels = channels.clamp(1, MAX_CHANNELS);
        let mut meter = Self {
            sample_rate_hz,
            channels,
            filters: vec![k_weighting(sample_rate_hz); channels],
            position: 0,
            steps: 0,
            step_end: 0,
            step_sum: 0.0,
            recent: [0.0; SHORT_TERM_STEPS],
            integrated: Histogram::new(),
            range: Histogram::new(),
            max_momentary_energy: 0.0,
            max_short_term_energy: 0.0,
        };
        meter.step_end = meter.step_boundary(1);
        meter
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Clears everything: filters, windows, integration.
    pub fn reset(&mut self) {
        self.filters.iter_mut().flatten().for_each(Biquad::reset);
        self.position = 0;
        self.steps = 0;
        self.step_end = self.step_boundary(1);
        self.step_sum = 0.0;
        self.recent = [0.0; SHORT_TERM_STEPS];
        self.integrated.clear();
        self.range.clear();
        self.max_momentary_energy = 0.0;
        self.max_short_term_energy = 0.0;
    }

    /// Sample index where step `j` begins: floor(j x rate / 10), as pyloudnorm places its blocks.
    fn step_boundary(&self, j: u64) -> u64 {
        (j as f64 * self.sample_rate_hz / STEPS_PER_SECOND as f64 + 1e-9).floor() as u64
    }

    /// Feeds one block: `channels[c]` holds channel c's samples. Slices past the meter's channels are ignored,
    /// and only the frames every slice has are measured (callers pass equal lengths; the analysis checks them).
    pub fn push(&mut self, channels: &[&[f32]]) {
        let channels = &channels[..channels.len().min(self.channels)];
        let frames = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut done = 0;
        while done < frames {
            let take = ((self.step_end - self.position) as usize).min(frames - done);
            if let ([l, r], [fl, fr]) = (channels, self.filters.as_mut_slice()) {
                let [sum_l, sum_r] = k_weight_stereo(fl, fr, &l[done..done + take], &r[done..done + take]);
                self.step_sum += CHANNEL_WEIGHTS[0] * sum_l + CHANNEL_WEIGHTS[1] * sum_r;
            } else {
                for (c, samples) in channels.iter().enumerate() {
                    let [shelf, high_pass] = &mut self.filters[c];
                    let mut sum = 0.0;
                    for &x in &samples[done..done + take] {
                        let y = high_pass.process(shelf.process(f64::from(x)));
                        sum += y * y;
                    }
                    self.step_sum += CHANNEL_WEIGHTS[c] * sum;
                }
            }
            // Once per segment (at most 100 ms): subnormal state lasts at most one segment.
            self.filters
                .iter_mut()
                .flatten()
                .for_each(Biquad::flush_subnormal_state);
            done += take;
            self.position += take as u64;
            if self.position == self.step_end {
                self.complete_step();
            }
        }
    }

    fn complete_step(&mut self) {
        self.recent[(self.steps % SHORT_TERM_STEPS as u64) as usize] = self.step_sum;
        self.steps += 1;
        self.step_sum = 0.0;
        self.step_end = self.step_boundary(self.steps + 1);
        if self.steps >= MOMENTARY_STEPS as u64 {
            let energy = self.window_energy(MOMENTARY_STEPS);
            self.integrated.add(energy);
            self.max_momentary_energy = self.max_momentary_energy.max(energy);
        }
        if self.steps >= SHORT_TERM_STEPS as u64 {
            let energy = self.window_energy(SHORT_TERM_STEPS);
            self.range.add(energy);
            self.max_short_term_energy = self.max_short_term_energy.max(energy);
        }
    }

    /// Mean square of the last `steps` completed steps, over the window's nominal length (BS.1770).
    fn window_energy(&self, steps: usize) -> f64 {
        let newest = self.steps as usize;
        let sum: f64 = (1..=steps)
            .map(|back| self.recent[(newest + SHORT_TERM_STEPS - back) % SHORT_TERM_STEPS])
            .sum();
        sum / (steps as f64 / STEPS_PER_SECOND as f64 * self.sample_rate_hz)
    }

    /// Momentary loudness (the last 400 ms of complete 100 ms steps), LUFS; -inf for silence.
    pub fn momentary_lufs(&self) -> f64 {
        energy_to_lufs(self.window_energy(MOMENTARY_STEPS))
    }

    /// Short-term loudness (the last 3 s of complete 100 ms steps), LUFS; -inf for silence.
    pub fn short_term_lufs(&self) -> f64 {
        energy_to_lufs(self.window_energy(SHORT_TERM_STEPS))
    }

    /// The highest momentary loudness of a complete 400 ms block so far.
    pub fn max_momentary_lufs(&self) -> f64 {
        energy_to_lufs(self.max_momentary_energy)
    }

    /// The highest short-term loudness of a complete 3 s block so far.
    pub fn max_short_term_lufs(&self) -> f64 {
        energy_to_lufs(self.max_short_term_energy)
    }

    /// Gated integrated loudness (BS.1770-4) of everything fed since creation or reset, LUFS; -inf when no
    /// 400 ms block passes the absolute gate (silence, or less than 400 ms of input).
    pub fn integrated_lufs(&self) -> f64 {
        let Some(gate) = self.integrated.relative_gate(RELATIVE_GATE_LU) else {
            return f64::NEG_INFINITY;
        };
        let (energy, count) = self.integrated.sum_above(gate);
        if count == 0 {
            return f64::NEG_INFINITY;
        }
        energy_to_lufs(energy / count as f64)
    }

    /// Loudness range (EBU Tech 3342) in LU: the spread between the 10th and 95th percentiles of the
    /// short-term loudness of complete 3 s blocks (every 100 ms) that pass the -70 LUFS gate and the gate
    /// 20 LU below their mean. None when no block passes (silence, or less than 3 s of input).
    pub fn loudness_range_lu(&self) -> Option<f64> {
        let gate = self.range.relative_gate(RANGE_RELATIVE_GATE_LU)?;
        let first = ((gate - ABSOLUTE_GATE_LUFS) / HISTOGRAM_BIN_LU - 0.5).ceil().max(0.0) as usize;
        let first = first.min(HISTOGRAM_BINS);
        let n: u64 = self.range.count[first..].iter().sum();
        if n == 0 {
            return None;
        }
        // numpy's default percentile: linear interpolation between the order statistics around p/100 x (n-1).
        let percentile = |p: f64| {
            let rank = p / 100.0 * (n - 1) as f64;
            let (lo, frac) = (rank.floor() as u64, rank - rank.floor());
            let below = self.range.nth_from(first, lo);
            let above = self.range.nth_from(first, (lo + 1).min(n - 1));
            below + frac * (above - below)
        };
        Some((percentile(RANGE_PERCENTILES.1) - percentile(RANGE_PERCENTILES.0)).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Magnitude response of a biquad at `hz`.
    fn response_db(q: &Biquad, hz: f64, rate: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * hz / rate;
        let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
        let num = ((q.b[0] + q.b[1] * c1 + q.b[2] * c2).powi(2) + (q.b[1] * s1 + q.b[2] * s2).powi(2)).sqrt();
        let den = ((1.0 + q.a[0] * c1 + q.a[1] * c2).powi(2) + (q.a[0] * s1 + q.a[1] * s2).powi(2)).sqrt();
        20.0 * (num / den).log10()
    }

    #[test]
    fn k_weighting_at_48k_matches_the_published_filter_response() {
        // BS.1770-4 Table 1 and Table 2 (48 kHz).
        let shelf = Biquad::new(
            [1.53512485958697, -2.69169618940638, 1.19839281085285],
            [1.0, -1.69065929318241, 0.73248077421585],
        );
        let hp = Biquad::new([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]);
        let [s, h] = k_weighting(48_000.0);
        for hz in [20.0, 50.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0] {
            let published = response_db(&shelf, hz, 48e3) + response_db(&hp, hz, 48e3);
            let ours = response_db(&s, hz, 48e3) + response_db(&h, hz, 48e3);
            assert!((published - ours).abs() < 0.05, "{hz} Hz: {published} vs {ours}");
        }
    }

    #[test]
    fn k_weighting_at_48k_is_exactly_the_published_coefficients() {
        let [s, h] = k_weighting(48_000.0);
        assert_eq!(
            (s.b, s.a),
            (BS1770_SHELF_48K.0, [BS1770_SHELF_48K.1[1], BS1770_SHELF_48K.1[2]])
        );
        assert_eq!(
            (h.b, h.a),
            (
                BS1770_HIGH_PASS_48K.0,
                [BS1770_HIGH_PASS_48K.1[1], BS1770_HIGH_PASS_48K.1[2]]
            )
        );
    }

    #[test]
    fn the_analog_design_reproduces_the_published_48k_coefficients() {
        // The tables are printed to 14 decimals; the fitted prototypes reproduce them to f64 rounding (the
        // largest difference is 8.9e-16, on the shelf's b1).
        let (shelf, high_pass) = k_weighting_design(48_000.0);
        for (designed, published) in [(shelf, BS1770_SHELF_48K), (high_pass, BS1770_HIGH_PASS_48K)] {
            for (d, p) in designed[0]
                .iter()
                .chain(&designed[1])
                .zip(published.0.iter().chain(&published.1))
            {
                assert!((d - p).abs() < 1e-12, "{d} vs {p}");
            }
        }
    }

    #[test]
    fn filter_state_after_sound_reaches_exact_zero_instead_of_lingering_subnormal() {
        // Without the flush the state decays into f64's subnormal range and stays there (x * a rounds back to
        // the same subnormal): 20 s of silence after noise leaves it subnormal, never 0.
        let mut meter = GatedLoudness::new(48_000.0, 2);
        let mut state = 0x1357_9bdfu32;
        let noise: Vec<f32> = (0..48_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.5
            })
            .collect();
        meter.push(&[&noise, &noise]);
        let zeros = vec![0.0f32; 20 * 48_000];
        meter.push(&[&zeros, &zeros]);
        for filter in meter.filters.iter().flatten() {
            assert_eq!((filter.z1, filter.z2), (0.0, 0.0), "{filter:?}");
        }
    }

    #[test]
    fn histogram_keeps_blocks_above_the_gate_only() {
        let mut h = Histogram::new();
        h.add(lufs_to_energy(-80.0));
        h.add(lufs_to_energy(-20.0));
        let (e, n) = h.sum_above(ABSOLUTE_GATE_LUFS);
        assert_eq!(n, 1);
        assert!((energy_to_lufs(e) + 20.0).abs() < 1e-9);
    }
}
