//! A strip's level meter (docs/engine.md, "Metering"): sample peak since the last read, RMS over a sliding 300 ms
//! rectangular window (plain RMS, so a full-scale sine reads -3.01 dBFS), and a peak hold of 3 s, per channel.
//! All state is sized when the meter is made; updating and reading never allocate.

/// The RMS window (docs/engine.md).
pub const RMS_WINDOW_S: f64 = 0.300;
/// How long a peak is held (docs/engine.md).
pub const PEAK_HOLD_S: f64 = 3.0;
/// The hold is the largest of the last `PEAK_HOLD_S / HOLD_BUCKET_S` finished buckets and the one being filled:
/// the largest |sample| of the last 3.0 to 3.1 s.
pub const HOLD_BUCKET_S: f64 = 0.1;
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
    /// The largest |sample| of the last 3 s (3.0 to 3.1 s: the hold slides in 100 ms buckets), so a smaller
    /// peak inside the hold shows once a larger one has aged out.
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
    /// The peaks of the last finished hold buckets, as a ring.
    hold_buckets: Vec<[f32; 2]>,
    next_bucket: usize,
    /// The bucket being filled: its peak and frames so far.
    bucket_peak: [f32; 2],
    bucket_frames: u64,
    bucket_len_frames: u64,
    hold: [f32; 2],
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
            hold_buckets: vec![[0.0; 2]; (PEAK_HOLD_S / HOLD_BUCKET_S).round() as usize],
            next_bucket: 0,
            bucket_peak: [0.0; 2],
            bucket_frames: 0,
            bucket_len_frames: ((HOLD_BUCKET_S * sample_rate).round() as u64).max(1),
            hold: [0.0; 2],
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

    /// Counts a block's peak into the peak since the last read and into every hold bucket the block touches
    /// (where in the block the peak lies is not known: it is held at most one block longer).
    fn update_peaks(&mut self, block_peak: [f32; 2], frames: u64) {
        let take = |into: &mut [f32; 2]| {
            for (m, p) in into.iter_mut().zip(block_peak) {
                *m = m.max(p);
            }
        };
        take(&mut self.peak_since_read);
        let mut remaining = frames;
        loop {
            take(&mut self.bucket_peak);
            let room = self.bucket_len_frames - self.bucket_frames;
            if remaining < room {
                self.bucket_frames += remaining;
                break;
            }
            // The bucket is full: it joins the ring, replacing the oldest.
            remaining -= room;
            self.hold_buckets[self.next_bucket] = self.bucket_peak;
            self.next_bucket = (self.next_bucket + 1) % self.hold_buckets.len();
            self.bucket_peak = [0.0; 2];
            self.bucket_frames = 0;
            if remaining == 0 {
                break;
            }
        }
        self.hold = self
            .hold_buckets
            .iter()
            .fold(self.bucket_peak, |m, b| [m[0].max(b[0]), m[1].max(b[1])]);
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
        self.hold_buckets.iter_mut().for_each(|b| *b = [0.0; 2]);
        self.next_bucket = 0;
        self.bucket_peak = [0.0; 2];
        self.bucket_frames = 0;
        self.hold = [0.0; 2];
    }
}
