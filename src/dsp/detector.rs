//! Level detectors for the dynamics effects: stereo-linked (they follow the louder channel), in f64.
//!
//! - [`Ballistics`]: the "smooth decoupled" peak detector of Giannoulis, Massberg and Reiss (JAES 2012, "Digital
//!   Dynamic Range Compressor Design: A Tutorial and Analysis"): an instant-attack peak stage with release,
//!   `y1 = max(x, aR*y1 + (1-aR)*x)`, followed by attack smoothing `y = aA*y + (1-aA)*y1`. Releasing *toward x*
//!   (rather than toward 0) keeps the peak stage close to the crest between the peaks of a steady sine, so such a
//!   sine reads as its peak where a plain branching one-pole follower on |x| reads it 1 to 3 dB low. Measured
//!   (tests/dynamics.rs) for a sine whose period is a tenth of the release time, the limit of the effect contract: the
//!   peak stage dips by up to about 0.16 dB just before each new peak, and the attack smoothing averages that
//!   ripple to a reading about 0.08 dB low once the attack time is at least half the sine's period (worst seen
//!   0.096 dB); with a much shorter attack the ripple passes through (0.1 ms attack, 2 kHz, 5 ms release, 48 kHz:
//!   the reading swings between -0.05 and -0.12 dB). Faster sines read closer to their peak.
//! - [`RmsWindow`]: the RMS over a 10 ms rectangular window, per channel, scaled by sqrt(2) so a steady sine
//!   reads its peak; the louder channel is taken.
//! - [`LevelDetector`]: either of the two above, then the same ballistics (the window runs in RMS mode only).
//!
//! Everything runs per sample, so the output does not depend on how the signal is split into blocks.

use super::denormal::flush;

/// The one-pole coefficient for a time constant (time to 63 % of a step): `exp(-1 / (t * fs))`.
/// A time of zero (or less) gives 0: the pole follows its input at once.
#[inline]
pub fn one_pole_coefficient(time_ms: f64, sample_rate: f64) -> f64 {
    let samples = time_ms * 0.001 * sample_rate;
    if samples > 0.0 {
        (-1.0 / samples).exp()
    } else {
        0.0
    }
}

/// How many samples the ballistics run between software denormal flushes (see [`Ballistics::process`]).
pub const FLUSH_INTERVAL: usize = 64;

/// The smooth decoupled peak detector's two stages (attack and release are one-pole time constants).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ballistics {
    attack_coeff: f64,
    release_coeff: f64,
    /// The instant-attack peak stage with release.
    peak: f64,
    /// The attack-smoothed output.
    out: f64,
}

impl Ballistics {
    pub fn new(attack_ms: f64, release_ms: f64, sample_rate: f64) -> Self {
        let mut b = Ballistics {
            attack_coeff: 0.0,
            release_coeff: 0.0,
            peak: 0.0,
            out: 0.0,
        };
        b.set_times(attack_ms, release_ms, sample_rate);
        b
    }

    pub fn set_times(&mut self, attack_ms: f64, release_ms: f64, sample_rate: f64) {
        self.attack_coeff = one_pole_coefficient(attack_ms, sample_rate);
        self.release_coeff = one_pole_coefficient(release_ms, sample_rate);
    }

    /// Runs a block of (non-negative) levels through the two stages in place: each becomes the detected level.
    ///
    /// The state stays in registers and is flushed every `FLUSH_INTERVAL` samples rather than per sample (the
    /// flush would lengthen the recursion's critical path): the fastest pole the parameter ranges allow (0.1 ms
    /// at 8 kHz, coefficient e^-1.25) shrinks a value by e^-80 = 1.8e-35 over that many samples, so state above
    /// the flush threshold (1e-30) at one flush is still far above the subnormals (below 2.2e-308) at the next.
    #[inline]
    pub fn process(&mut self, levels: &mut [f64]) {
        let (a_release, b_release) = (self.release_coeff, 1.0 - self.release_coeff);
        let (a_attack, b_attack) = (self.attack_coeff, 1.0 - self.attack_coeff);
        let (mut peak, mut out) = (self.peak, self.out);
        for chunk in levels.chunks_mut(FLUSH_INTERVAL) {
            for x in chunk.iter_mut() {
                // A comparison rather than `max` (whose NaN handling costs three more instructions on this
                // recursion's critical path): levels are never NaN.
                let released = a_release * peak + b_release * *x;
                peak = if released > *x { released } else { *x };
                out = a_attack * out + b_attack * peak;
                *x = out;
            }
            peak = flush(peak);
            out = flush(out);
        }
        (self.peak, self.out) = (peak, out);
    }

    /// The last detected level.
    pub fn value(&self) -> f64 {
        self.out
    }

    /// Whether both stages are within `limit` of zero.
    pub fn settled(&self, limit: f64) -> bool {
        self.peak <= limit && self.out <= limit
    }

    pub fn reset(&mut self) {
        self.peak = 0.0;
        self.out = 0.0;
    }

    /// Copies the state (not the time constants).
    pub fn copy_state_from(&mut self, other: &Ballistics) {
        self.peak = other.peak;
        self.out = other.out;
    }
}

/// The RMS window length (the effect contract: the compressor's RMS detector uses a 10 ms window).
pub const RMS_WINDOW_MS: f64 = 10.0;

/// A stereo running RMS over a rectangular window of `RMS_WINDOW_MS`, calibrated by sqrt(2) so that a steady sine
/// reads its peak, returning the louder channel.
///
/// The running sums of squares are f64 and cannot drift: besides the running sum (add the newest square, subtract
/// the one leaving the window) a fresh sum accumulates the squares since the last restart, and every window length
/// it holds exactly the current window, so it replaces the running sum. Rounding error therefore never
/// accumulates over more than two window lengths of updates; sums are clamped at 0 before the square root.
#[derive(Debug, Clone)]
pub struct RmsWindow {
    squares: Vec<[f64; 2]>,
    len: usize,
    pos: usize,
    sum: [f64; 2],
    fresh: [f64; 2],
}

impl RmsWindow {
    pub fn new(sample_rate: f64) -> Self {
        let len = ((RMS_WINDOW_MS * 0.001 * sample_rate).round() as usize).max(1);
        RmsWindow {
            squares: vec![[0.0; 2]; len],
            len,
            pos: 0,
            sum: [0.0; 2],
            fresh: [0.0; 2],
        }
    }

    /// Feeds one stereo frame and returns the calibrated RMS of the louder channel over the window.
    #[inline]
    pub fn tick(&mut self, left: f32, right: f32) -> f64 {
        let new = [left as f64 * left as f64, right as f64 * right as f64];
        let old = self.squares[self.pos];
        self.squares[self.pos] = new;
        for c in 0..2 {
            self.sum[c] += new[c] - old[c];
            self.fresh[c] += new[c];
        }
        self.pos += 1;
        if self.pos == self.len {
            // `fresh` now holds exactly the squares of the whole window.
            self.pos = 0;
            self.sum = self.fresh;
            self.fresh = [0.0; 2];
        }
        let mean = self.sum[0].max(self.sum[1]).max(0.0) / self.len as f64;
        (2.0 * mean).sqrt()
    }

    /// Whether every square in the window is within `limit`² of zero (a scan of the window: 10 ms).
    pub fn settled(&self, limit: f64) -> bool {
        let squared = limit * limit;
        self.squares.iter().all(|[l, r]| *l <= squared && *r <= squared)
    }

    pub fn reset(&mut self) {
        self.squares.fill([0.0; 2]);
        self.pos = 0;
        self.sum = [0.0; 2];
        self.fresh = [0.0; 2];
    }

    /// Fills the window as if every frame of it had read `level` (both channels): it then reads `level`.
    /// O(window length), once per mode switch, at control rate.
    pub fn fill(&mut self, level: f64) {
        // A calibrated reading of `level` is a mean square of level^2 / 2.
        let square = 0.5 * level * level;
        self.squares.fill([square; 2]);
        self.sum = [square * self.len as f64; 2];
        // `fresh` holds the squares since the last restart: the frames before `pos`.
        self.fresh = [square * self.pos as f64; 2];
    }

    /// Copies contents from a window of the same sample rate (same length; no allocation).
    pub fn copy_state_from(&mut self, other: &RmsWindow) {
        self.squares.copy_from_slice(&other.squares);
        self.pos = other.pos;
        self.sum = other.sum;
        self.fresh = other.fresh;
    }
}

/// What a [`LevelDetector`] measures before its ballistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorMode {
    /// The louder channel's |x|.
    Peak,
    /// The louder channel's RMS over 10 ms, x sqrt(2).
    Rms,
}

/// A stereo-linked level detector: peak or RMS, then the smooth decoupled ballistics. Returns linear levels.
///
/// The RMS window runs only in RMS mode (it costs as much as the rest of a compressor). A mode switch is a
/// crossfade to a kernel whose state is copied from the outgoing one, so a detector that enters RMS mode from
/// peak-mode state, whose window is stale, first fills its window with the level the ballistics last read
/// (`RmsWindow::fill`): the reading carries on from there instead of restarting from an empty (or old) window.
#[derive(Debug, Clone)]
pub struct LevelDetector {
    mode: DetectorMode,
    rms: RmsWindow,
    /// Whether `rms` holds the recent input (the state was last run in RMS mode).
    rms_current: bool,
    ballistics: Ballistics,
    sample_rate: f64,
}

impl LevelDetector {
    pub fn new(sample_rate: f64, mode: DetectorMode, attack_ms: f64, release_ms: f64) -> Self {
        let mut d = LevelDetector {
            mode,
            rms: RmsWindow::new(sample_rate),
            // An empty window matches the silent ballistics it starts with.
            rms_current: true,
            ballistics: Ballistics::new(attack_ms, release_ms, sample_rate),
            sample_rate,
        };
        d.refresh_window();
        d
    }

    pub fn set(&mut self, mode: DetectorMode, attack_ms: f64, release_ms: f64) {
        self.mode = mode;
        self.ballistics.set_times(attack_ms, release_ms, self.sample_rate);
        self.refresh_window();
    }

    pub fn mode(&self) -> DetectorMode {
        self.mode
    }

    /// Keeps `rms_current` true only while in RMS mode, filling a stale window on entering it.
    fn refresh_window(&mut self) {
        match self.mode {
            DetectorMode::Peak => self.rms_current = false,
            DetectorMode::Rms if !self.rms_current => {
                self.rms.fill(self.ballistics.value());
                self.rms_current = true;
            }
            DetectorMode::Rms => {}
        }
    }

    /// Measures a stereo block: `levels[n]` becomes the detected linear level after frame n (the three slices
    /// have the same length).
    pub fn process(&mut self, left: &[f32], right: &[f32], levels: &mut [f64]) {
        // The mode is chosen once per block, so each loop runs one detector without a branch per sample.
        let frames = left.iter().zip(right).zip(levels.iter_mut());
        match self.mode {
            DetectorMode::Peak => {
                for ((l, r), level) in frames {
                    let (l, r) = (l.abs(), r.abs());
                    *level = if l > r { l } else { r } as f64;
                }
            }
            DetectorMode::Rms => {
                for ((l, r), level) in frames {
                    *level = self.rms.tick(*l, *r);
                }
            }
        }
        self.ballistics.process(levels);
    }

    /// Whether the detector's state is within `limit` of zero: its ballistics, and its RMS window when that
    /// holds the recent input.
    pub fn settled(&self, limit: f64) -> bool {
        self.ballistics.settled(limit) && (!self.rms_current || self.rms.settled(limit))
    }

    pub fn reset(&mut self) {
        self.rms.reset();
        self.ballistics.reset();
        self.rms_current = true;
        self.refresh_window();
    }

    /// Copies the state of a detector of the same sample rate (the window only where the other one ran it);
    /// a stale window is filled if this detector is in RMS mode.
    pub fn copy_state_from(&mut self, other: &LevelDetector) {
        if other.rms_current {
            self.rms.copy_state_from(&other.rms);
        }
        self.rms_current = other.rms_current;
        self.ballistics.copy_state_from(&other.ballistics);
        self.refresh_window();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pole_reaches_63_percent_after_its_time_constant() {
        let fs = 48_000.0;
        let a = one_pole_coefficient(10.0, fs);
        let mut y = 0.0;
        for _ in 0..480 {
            y = a * y + (1.0 - a);
        }
        assert!((y - (1.0 - (-1.0f64).exp())).abs() < 1e-3, "{y}");
        assert_eq!(one_pole_coefficient(0.0, fs), 0.0);
    }

    #[test]
    fn rms_window_reads_a_sine_as_its_peak_and_cannot_drift() {
        let fs = 48_000.0;
        let mut w = RmsWindow::new(fs);
        let mut last = 0.0;
        for n in 0..48_000 {
            let x = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / fs).sin() as f32;
            last = w.tick(x, 0.25 * x);
        }
        assert!((last - 0.5).abs() < 1e-6, "{last}");
        // After a loud signal and then silence, the sums restart at exactly 0.
        for _ in 0..2 * 480 {
            last = w.tick(0.0, 0.0);
        }
        assert_eq!(last, 0.0);
    }
}
