//! A stereo delay line of fixed capacity with whole-sample reads (latency alignment and lookahead).

/// A stereo ring buffer holding up to `capacity` past frames; allocated once.
#[derive(Debug, Clone)]
pub struct StereoDelay {
    left: Vec<f32>,
    right: Vec<f32>,
    mask: usize,
    pos: usize,
}

impl StereoDelay {
    /// A line that can delay by up to `max_delay` frames.
    pub fn new(max_delay: usize) -> Self {
        let size = (max_delay + 1).next_power_of_two();
        StereoDelay {
            left: vec![0.0; size],
            right: vec![0.0; size],
            mask: size - 1,
            pos: 0,
        }
    }

    /// The longest delay this line supports.
    pub fn max_delay(&self) -> usize {
        self.mask
    }

    /// Writes one frame and returns the frame written `delay` frames earlier (`delay` is clamped).
    #[inline]
    pub fn tick(&mut self, l: f32, r: f32, delay: usize) -> (f32, f32) {
        self.left[self.pos] = l;
        self.right[self.pos] = r;
        let read = (self.pos.wrapping_sub(delay.min(self.mask))) & self.mask;
        let out = (self.left[read], self.right[read]);
        self.pos = (self.pos + 1) & self.mask;
        out
    }

    /// The frame written `delay` frames before the most recent one (0 = the most recent).
    #[inline]
    pub fn read(&self, delay: usize) -> (f32, f32) {
        let i = (self.pos.wrapping_sub(1 + delay.min(self.mask))) & self.mask;
        (self.left[i], self.right[i])
    }

    pub fn reset(&mut self) {
        self.left.fill(0.0);
        self.right.fill(0.0);
        self.pos = 0;
    }

    /// Copies contents and position from a line of the same capacity.
    pub fn copy_from(&mut self, other: &StereoDelay) {
        self.left.copy_from_slice(&other.left);
        self.right.copy_from_slice(&other.right);
        self.pos = other.pos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_by_the_requested_frames() {
        let mut d = StereoDelay::new(5);
        let out: Vec<f32> = (1..=8).map(|i| d.tick(i as f32, -(i as f32), 3).0).collect();
        assert_eq!(out, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(d.read(0), (8.0, -8.0));
        let mut z = StereoDelay::new(0);
        assert_eq!(z.tick(0.5, 0.25, 0), (0.5, 0.25));
    }
}
