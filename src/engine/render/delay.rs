//! Compensation delay lines: a stereo ring sized once for the most delay its path can need (from the inserts'
//! `max_latency`), so a latency change while playing never allocates inside a quantum.

/// A stereo delay of a whole number of frames, up to a capacity fixed when it is made.
#[derive(Debug, Clone, Default)]
pub struct CompensationDelay {
    left: Vec<f32>,
    right: Vec<f32>,
    write: usize,
    delay: usize,
    /// Frames until everything non-silent written so far has been read out (0: the ring's read window is all
    /// zeros, so a silent block can skip the ring entirely).
    pending: usize,
}

impl CompensationDelay {
    /// A delay line holding up to `capacity` frames of delay, set to `delay` (at most `capacity`). Allocates.
    pub fn new(capacity: usize, delay: usize) -> Self {
        let capacity = capacity.max(delay);
        let len = if capacity == 0 { 0 } else { capacity + 1 };
        CompensationDelay {
            left: vec![0.0; len],
            right: vec![0.0; len],
            write: 0,
            delay,
            pending: 0,
        }
    }

    pub fn delay(&self) -> usize {
        self.delay
    }

    pub fn capacity(&self) -> usize {
        self.left.len().saturating_sub(1)
    }

    /// Changes the delay and clears the ring (the path is re-aligned from silence). Grows the ring when the
    /// new delay exceeds its capacity: only from a command, never inside a quantum.
    pub fn set_delay(&mut self, delay: usize) {
        if delay > self.capacity() {
            *self = CompensationDelay::new(delay, delay);
            return;
        }
        self.delay = delay;
        self.clear();
    }

    /// Zeroes the ring.
    pub fn clear(&mut self) {
        self.left.fill(0.0);
        self.right.fill(0.0);
        self.pending = 0;
    }

    /// Delays a block in place. `silent` says the block is all zeros; returns whether the output is all zeros.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32], silent: bool) -> bool {
        if self.delay == 0 {
            return silent;
        }
        if silent && self.pending == 0 {
            return true;
        }
        let len = self.left.len();
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            self.left[self.write] = *l;
            self.right[self.write] = *r;
            let read = (self.write + len - self.delay) % len;
            *l = self.left[read];
            *r = self.right[read];
            self.write = (self.write + 1) % len;
        }
        self.pending = if silent {
            self.pending.saturating_sub(left.len())
        } else {
            self.delay
        };
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_by_whole_frames_across_blocks_and_skips_settled_silence() {
        let mut d = CompensationDelay::new(8, 3);
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
}
