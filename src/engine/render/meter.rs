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
    /// How many of the most recent finished steps are exact zeros (at most the ring's length: then the whole
    /// window is silent).
    zero_steps: usize,
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
            zero_steps: steps,
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
        let frames = left.len().min(right.len());
        let (left, right) = (&left[..frames], &right[..frames]);
        let block_peak = [abs_peak(left), abs_peak(right)];
        // The step being filled takes frames one by one until it is full; whole steps after it are summed at once
        // (four partial sums each, so the additions do not wait on one another).
        let head = ((RMS_STEP_FRAMES - self.partial_frames) % RMS_STEP_FRAMES).min(frames);
        self.add_frames(&left[..head], &right[..head]);
        let mut at = head;
        while frames - at >= RMS_STEP_FRAMES {
            let end = at + RMS_STEP_FRAMES;
            self.partial = [step_energy(&left[at..end]), step_energy(&right[at..end])];
            self.finish_step();
            at = end;
        }
        self.add_frames(&left[at..], &right[at..]);
        self.update_peaks(block_peak, frames as u64);
    }

    /// Adds frames to the step being filled, finishing it when it is full.
    fn add_frames(&mut self, left: &[f32], right: &[f32]) {
        for (&l, &r) in left.iter().zip(right) {
            self.partial[0] += f64::from(l) * f64::from(l);
            self.partial[1] += f64::from(r) * f64::from(r);
            self.partial_frames += 1;
            if self.partial_frames == RMS_STEP_FRAMES {
                self.finish_step();
            }
        }
    }

    /// Measures a block of exact zeros (a sleeping strip) without reading samples.
    pub fn update_silent(&mut self, frames: usize) {
        if self.zero_steps == self.steps.len() && self.partial == [0.0; 2] {
            // The window holds zeros only, so every step these frames finish is zeros too: only the position in
            // the ring moves (a sleeping strip's meter touches none of its steps).
            let total = self.partial_frames + frames;
            self.next_step = (self.next_step + total / RMS_STEP_FRAMES) % self.steps.len();
            self.partial_frames = total % RMS_STEP_FRAMES;
            self.window_sum = [0.0; 2];
            self.update_peaks([0.0; 2], frames as u64);
            return;
        }
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
        self.zero_steps = if self.partial == [0.0; 2] {
            (self.zero_steps + 1).min(self.steps.len())
        } else {
            0
        };
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
        self.zero_steps = self.steps.len();
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

/// The sum of squares of one step's samples, in f64, as four interleaved partial sums.
fn step_energy(x: &[f32]) -> f64 {
    let mut sums = [0.0f64; 4];
    for four in x.chunks_exact(4) {
        for (s, &v) in sums.iter_mut().zip(four) {
            *s += f64::from(v) * f64::from(v);
        }
    }
    for &v in x.chunks_exact(4).remainder() {
        sums[0] += f64::from(v) * f64::from(v);
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3])
}

/// The largest |sample| of a block. Non-negative floats order like their bit patterns, so this is an integer
/// maximum (which vectorises); a NaN would compare above every number, and is then skipped as `f32::max` does.
fn abs_peak(x: &[f32]) -> f32 {
    let bits = x.iter().fold(0u32, |m, v| m.max(v.to_bits() & 0x7fff_ffff));
    if bits <= f32::INFINITY.to_bits() {
        f32::from_bits(bits)
    } else {
        x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(n: usize) -> Vec<f32> {
        // A deterministic, uneven signal: a sine with a slow ramp, so every step's energy differs.
        (0..n)
            .map(|i| (i as f32 * 0.37).sin() * (1.0 + i as f32 * 1e-3))
            .collect()
    }

    #[test]
    fn the_block_peak_is_the_largest_magnitude_and_skips_nan() {
        let mut x = signal(333);
        x[200] = -7.5;
        assert_eq!(abs_peak(&x), 7.5);
        x[10] = f32::NAN;
        assert_eq!(abs_peak(&x), 7.5);
        assert_eq!(abs_peak(&[]), 0.0);
        assert_eq!(abs_peak(&[-0.0, f32::NEG_INFINITY]), f32::INFINITY);
    }

    #[test]
    fn the_rms_does_not_depend_on_how_the_signal_is_cut_into_blocks() {
        let x = signal(48_000);
        let direct = {
            // The definition: the plain RMS of the window's last frames.
            let window = &x[x.len() - 14_400..];
            (window.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / window.len() as f64).sqrt()
        };
        for sizes in [&[128usize][..], &[1, 7, 16, 33, 100, 3], &[16_000]] {
            let mut meter = Meter::new(48_000.0);
            let (mut at, mut k) = (0, 0);
            while at < x.len() {
                let n = sizes[k % sizes.len()].min(x.len() - at);
                meter.update(&x[at..at + n], &x[at..at + n]);
                at += n;
                k += 1;
            }
            let got = f64::from(meter.read().rms[0]);
            assert!(
                (got - direct).abs() <= 1e-6 * direct,
                "blocks {sizes:?}: {got} vs {direct}"
            );
        }
    }

    #[test]
    fn a_silent_meter_that_skips_its_steps_reads_like_one_fed_zeros() {
        let x = signal(20_000);
        let zeros = vec![0.0f32; 128];
        let (mut skipping, mut fed) = (Meter::new(48_000.0), Meter::new(48_000.0));
        let compare = |skipping: &mut Meter, fed: &mut Meter, what: &str| {
            let (a, b) = (skipping.read(), fed.read());
            for c in 0..2 {
                assert!(
                    (a.rms[c] - b.rms[c]).abs() <= 1e-6 * b.rms[c].max(1e-30),
                    "{what}: {a:?} vs {b:?}"
                );
                assert_eq!((a.peak[c], a.hold[c]), (b.peak[c], b.hold[c]), "{what}");
            }
        };
        // Sound, then silence shorter than the window, then two windows of it, then sound again; odd block sizes
        // so that the steps do not line up with the blocks.
        for (what, sound, silent_blocks) in [("short", 1_000, 20), ("long", 3_333, 300), ("again", 777, 1)] {
            skipping.update(&x[..sound], &x[..sound]);
            fed.update(&x[..sound], &x[..sound]);
            for _ in 0..silent_blocks {
                skipping.update_silent(100);
                fed.update(&zeros[..100], &zeros[..100]);
            }
            compare(&mut skipping, &mut fed, what);
        }
        for _ in 0..300 {
            skipping.update_silent(128);
        }
        assert_eq!(skipping.read().rms, [0.0, 0.0]);
    }
}
