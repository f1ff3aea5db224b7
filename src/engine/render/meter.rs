//! A strip's level meter (docs/engine.md, "Metering"): sample peak since the last read, RMS over a sliding 300 ms
//! rectangular window (plain RMS, so a full-scale sine reads -3.01 dBFS), and a peak hold of 3 s, per channel.
//! All state is sized when the meter is made; updating and reading never allocate.

/// The RMS window (docs/engine.md).
pub const RMS_WINDOW_S: f64 = 0.300;
/// How long a peak is held (docs/engine.md).
pub const PEAK_HOLD_S: f64 = 3.0;
/// The RMS window slides in steps of this many frames: its length is round(0.3 s x rate / 16) x 16 frames
/// (exactly 300 ms at 48 kHz and 44.1 kHz x 16-frame multiples; within 8 frames, 0.2 ms, elsewhere).
pub const RMS_STEP_FRAMES: usize = 16;

/// What a meter shows, linear amplitudes per channel (left, right).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MeterReading {
    /// The largest |sample| since the last read.
    pub peak: [f32; 2],
    /// RMS over the last 300 ms.
    pub rms: [f32; 2],
    /// The largest |sample| of the last 3 s (held until a larger one, or until 3 s have passed).
    pub hold: [f32; 2],
}

/// The meter of one strip.
#[derive(Debug, Clone)]
pub struct Meter {
    /// Sums of squares of each finished 16-frame step, per channel, as a ring of the window's steps.
    steps: Vec<[f64; 2]>,
    next_step: usize,
    window_sum: [f64; 2],
    /// The step being filled.
    partial: [f64; 2],
    partial_frames: usize,
    window_frames: usize,
    peak_since_read: [f32; 2],
    hold: [f32; 2],
    hold_age_frames: [u64; 2],
    hold_frames: u64,
}

impl Meter {
    pub fn new(sample_rate: f64) -> Self {
        let steps = ((RMS_WINDOW_S * sample_rate / RMS_STEP_FRAMES as f64).round() as usize).max(1);
        Meter {
            steps: vec![[0.0; 2]; steps],
            next_step: 0,
            window_sum: [0.0; 2],
            partial: [0.0; 2],
            partial_frames: 0,
            window_frames: steps * RMS_STEP_FRAMES,
            peak_since_read: [0.0; 2],
            hold: [0.0; 2],
            hold_age_frames: [0; 2],
            hold_frames: (PEAK_HOLD_S * sample_rate).round() as u64,
        }
    }

    /// Measures a block of the strip's output.
    pub fn update(&mut self, left: &[f32], right: &[f32]) {
        let mut block_peak = [0.0f32; 2];
        for (&l, &r) in left.iter().zip(right) {
            block_peak[0] = block_peak[0].max(l.abs());
            block_peak[1] = block_peak[1].max(r.abs());
            self.partial[0] += f64::from(l) * f64::from(l);
            self.partial[1] += f64::from(r) * f64::from(r);
            self.partial_frames += 1;
            if self.partial_frames == RMS_STEP_FRAMES {
                self.finish_step();
            }
        }
        self.update_peaks(block_peak, left.len() as u64);
    }

    /// Measures a block of exact zeros (a sleeping strip) without reading samples.
    pub fn update_silent(&mut self, frames: usize) {
        let mut left = frames;
        while left > 0 {
            let take = (RMS_STEP_FRAMES - self.partial_frames).min(left);
            self.partial_frames += take;
            left -= take;
            if self.partial_frames == RMS_STEP_FRAMES {
                self.finish_step();
            }
        }
        self.update_peaks([0.0; 2], frames as u64);
    }

    fn finish_step(&mut self) {
        let old = self.steps[self.next_step];
        for ((sum, leaving), entering) in self.window_sum.iter_mut().zip(old).zip(self.partial) {
            // Subtracting what leaves the window; clamped at 0 against rounding.
            *sum = (*sum - leaving + entering).max(0.0);
        }
        self.steps[self.next_step] = self.partial;
        self.next_step = (self.next_step + 1) % self.steps.len();
        if self.next_step == 0 {
            // Once per window, the running sums are recomputed exactly (no drift over hours).
            for c in 0..2 {
                self.window_sum[c] = self.steps.iter().map(|s| s[c]).sum();
            }
        }
        self.partial = [0.0; 2];
        self.partial_frames = 0;
    }

    fn update_peaks(&mut self, block_peak: [f32; 2], frames: u64) {
        #[allow(clippy::needless_range_loop)] // four arrays indexed by channel
        for c in 0..2 {
            self.peak_since_read[c] = self.peak_since_read[c].max(block_peak[c]);
            self.hold_age_frames[c] += frames;
            if block_peak[c] >= self.hold[c] || self.hold_age_frames[c] > self.hold_frames {
                self.hold[c] = block_peak[c];
                self.hold_age_frames[c] = 0;
            }
        }
    }

    /// The current reading; the peak since the last read starts again.
    pub fn read(&mut self) -> MeterReading {
        let reading = self.peek();
        self.peak_since_read = [0.0; 2];
        reading
    }

    /// The current reading, leaving the peak since the last read as it is.
    pub fn peek(&self) -> MeterReading {
        let rms = |c: usize| (self.window_sum[c] / self.window_frames as f64).sqrt() as f32;
        MeterReading {
            peak: self.peak_since_read,
            rms: [rms(0), rms(1)],
            hold: self.hold,
        }
    }

    /// Clears everything (a stop or an explicit reset).
    pub fn reset(&mut self) {
        self.steps.iter_mut().for_each(|s| *s = [0.0; 2]);
        self.next_step = 0;
        self.window_sum = [0.0; 2];
        self.partial = [0.0; 2];
        self.partial_frames = 0;
        self.peak_since_read = [0.0; 2];
        self.hold = [0.0; 2];
        self.hold_age_frames = [0; 2];
    }
}
