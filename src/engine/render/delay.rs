//! Compensation delay lines: a stereo ring sized once for the most delay its path can need (from the inserts'
//! `max_latency`), so a latency change while playing never allocates inside a quantum. A change while playing
//! dips the output around the switch ([`DipFade`]).

use super::fade::DipFade;

/// A stereo delay of a whole number of frames, up to a capacity fixed when it is made.
#[derive(Debug, Clone)]
pub struct CompensationDelay {
    left: Vec<f32>,
    right: Vec<f32>,
    write: usize,
    delay: usize,
    /// Frames until everything non-silent written so far has been read out (0: the ring's read window is all
    /// zeros, so a silent block can skip the ring entirely).
    pending: usize,
    /// How many of the most recent frames in the ring are the path's true history (a line at delay 0 skips the
    /// ring, and a silent line writes zeros only until the whole ring is zeros).
    valid: usize,
    /// Zero frames written since the last block that was not silent.
    zeros_written: usize,
    /// Whether the last block in was all zeros (a line fed silence with nothing in flight can switch at once).
    last_silent: bool,
    /// The delay to switch to at the bottom of `fade`.
    next_delay: Option<usize>,
    fade: DipFade,
}

impl Default for CompensationDelay {
    fn default() -> Self {
        CompensationDelay::new(0, 0, 48_000.0)
    }
}

impl CompensationDelay {
    /// A delay line holding up to `capacity` frames of delay, set to `delay` (at most `capacity`); a delay change
    /// while playing dips over [`super::fade::CHANGE_FADE_S`] at `sample_rate`. Allocates.
    pub fn new(capacity: usize, delay: usize, sample_rate: f64) -> Self {
        let capacity = capacity.max(delay);
        let len = if capacity == 0 { 0 } else { capacity + 1 };
        CompensationDelay {
            left: vec![0.0; len],
            right: vec![0.0; len],
            write: 0,
            delay,
            pending: 0,
            valid: len,
            zeros_written: len,
            last_silent: true,
            next_delay: None,
            fade: DipFade::new(sample_rate),
        }
    }

    /// The delay the line runs at, or is fading towards.
    pub fn delay(&self) -> usize {
        self.next_delay.unwrap_or(self.delay)
    }

    pub fn capacity(&self) -> usize {
        self.left.len().saturating_sub(1)
    }

    /// Grows the ring to hold `capacity` frames of delay, keeping its history (a command's work: allocates).
    pub fn ensure_capacity(&mut self, capacity: usize) {
        if capacity <= self.capacity() {
            return;
        }
        let (old_len, keep) = (self.left.len(), self.valid.min(self.left.len()));
        let len = capacity + 1;
        let (mut left, mut right) = (vec![0.0; len], vec![0.0; len]);
        for i in 0..keep {
            let from = (self.write + old_len - keep + i) % old_len;
            left[i] = self.left[from];
            right[i] = self.right[from];
        }
        self.left = left;
        self.right = right;
        self.write = keep % len;
        self.valid = keep;
        self.zeros_written = self.zeros_written.min(keep);
    }

    /// Sets the delay at once and clears the ring (a cold start: the path is re-aligned from silence). Grows
    /// the ring when needed: only from a command, never inside a quantum.
    pub fn set_delay(&mut self, delay: usize) {
        self.ensure_capacity(delay);
        self.delay = delay;
        self.next_delay = None;
        self.fade.cancel();
        self.clear();
    }

    /// Changes the delay while playing: the output dips to zero, the read position jumps at the bottom, and the
    /// output fades back in (after waiting for history the ring does not hold yet). A line with nothing sounding
    /// in flight switches at once. Grows the ring when needed (a command's work: allocates).
    pub fn retarget(&mut self, delay: usize) {
        if delay == self.delay() {
            return;
        }
        if self.pending == 0 && self.last_silent && !self.fade.is_active() {
            // Nothing sounding is in flight: the new delay reads silence until new audio arrives, as if it had
            // always been set.
            self.set_delay(delay);
            return;
        }
        self.ensure_capacity(delay);
        self.next_delay = Some(delay);
        self.fade.begin(0);
    }

    /// Zeroes the ring (skipped when it holds zeros only: a silent track's many lines re-aligned by one command).
    pub fn clear(&mut self) {
        if self.zeros_written < self.left.len() {
            self.left.fill(0.0);
            self.right.fill(0.0);
        }
        self.pending = 0;
        self.valid = self.left.len();
        self.zeros_written = self.left.len();
    }

    /// Delays a block in place. `silent` says the block is all zeros; returns whether the output is all zeros.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], silent: bool) -> bool {
        let frames = left.len();
        self.last_silent = silent;
        if self.fade.take_switch() {
            if let Some(delay) = self.next_delay.take() {
                // Reads behind the history the ring holds would replay stale frames: wait for them.
                self.fade.hold_for(delay.saturating_sub(self.valid));
                self.delay = delay;
                self.pending = self.pending.max(delay);
            }
        }
        let fading = self.fade.is_active();
        if self.delay == 0 && !fading {
            // Passed straight through: the ring keeps no history meanwhile.
            if !silent {
                self.valid = 0;
                self.zeros_written = 0;
            }
            return silent;
        }
        if silent && self.pending == 0 && !fading {
            // Everything sounding has been read out. The ring records the silence until it is all zeros, so a
            // later switch to a longer delay reads true history.
            if self.zeros_written < self.left.len() {
                self.write_zeros(frames);
            }
            return true;
        }
        let len = self.left.len();
        if len > 0 {
            for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                self.left[self.write] = *l;
                self.right[self.write] = *r;
                let read = (self.write + len - self.delay) % len;
                *l = self.left[read];
                *r = self.right[read];
                self.write = (self.write + 1) % len;
            }
            self.valid = (self.valid + frames).min(len);
        }
        if silent {
            self.zeros_written = (self.zeros_written + frames).min(len);
            self.pending = self.pending.saturating_sub(frames);
        } else {
            self.zeros_written = 0;
            self.pending = self.delay;
        }
        self.fade.apply(left, right)
    }

    fn write_zeros(&mut self, frames: usize) {
        let len = self.left.len();
        for _ in 0..frames.min(len) {
            self.left[self.write] = 0.0;
            self.right[self.write] = 0.0;
            self.write = (self.write + 1) % len;
        }
        self.valid = (self.valid + frames).min(len);
        self.zeros_written = (self.zeros_written + frames).min(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_by_whole_frames_across_blocks_and_skips_settled_silence() {
        let mut d = CompensationDelay::new(8, 3, 48_000.0);
        let input: Vec<f32> = (1..=10).map(|x| x as f32).collect();
        let mut out = Vec::new();
        for block in input.chunks(4) {
            let (mut l, mut r) = (block.to_vec(), block.to_vec());
            d.process(&mut l, &mut r, false);
            out.extend(l);
        }
        assert_eq!(out, [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let (mut l, mut r) = (vec![0.0; 4], vec![0.0; 4]);
        assert!(!d.process(&mut l, &mut r, true));
        assert_eq!(l, [8.0, 9.0, 10.0, 0.0]);
        assert!(d.process(&mut [0.0; 4], &mut [0.0; 4], true));
    }

    /// A cold re-alignment (`set_delay`) reads silence, whether the ring still held audio (cleared) or had
    /// recorded silence all round (nothing to clear).
    #[test]
    fn a_cold_delay_change_reads_silence_after_audio_or_after_a_ring_of_silence() {
        let audio: Vec<f32> = (1..=12).map(|x| x as f32).collect();
        for silent_blocks in [1usize, 2, 8] {
            let mut d = CompensationDelay::new(8, 3, 48_000.0);
            let (mut l, mut r) = (audio.clone(), audio.clone());
            d.process(&mut l, &mut r, false);
            for _ in 0..silent_blocks {
                d.process(&mut [0.0; 4], &mut [0.0; 4], true);
            }
            d.set_delay(8);
            // Zeros flagged as sound, so that the ring is read.
            let (mut l, mut r) = (vec![0.0; 12], vec![0.0; 12]);
            d.process(&mut l, &mut r, false);
            assert!(
                l.iter().chain(&r).all(|&x| x == 0.0),
                "after {silent_blocks} silent blocks: {l:?}"
            );
        }
    }
}
