//! A stereo delay line of fixed capacity with whole-sample reads (latency alignment and lookahead).

/// A stereo ring buffer holding up to `capacity` past frames; allocated once.
#[derive(Debug, Clone)]
pub struct StereoLine {
    left: Vec<f32>,
    right: Vec<f32>,
    mask: usize,
    pos: usize,
}

impl StereoLine {
    /// A line that can delay by up to `max_delay` frames.
    pub fn new(max_delay: usize) -> Self {
        let size = (max_delay + 1).next_power_of_two();
        StereoLine {
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

    /// Writes a block and fills `out_*` with the frames written `delay` frames earlier (`delay` is clamped):
    /// the same as `tick` per frame, with slice copies.
    pub fn process_block(
        &mut self,
        left: &[f32],
        right: &[f32],
        out_left: &mut [f32],
        out_right: &mut [f32],
        delay: usize,
    ) {
        let n = left.len().min(right.len()).min(out_left.len()).min(out_right.len());
        let size = self.mask + 1;
        let delay = delay.min(self.mask);
        let mut done = 0;
        while done < n {
            // Write the chunk first, then read it back `delay` frames behind (as `tick` does per frame). Chunks
            // stop at the ring's end for both positions, and are at most `size - delay` long so the write never
            // overwrites an old frame that this chunk still has to read.
            let write = self.pos;
            let read = write.wrapping_sub(delay) & self.mask;
            let len = (n - done).min(size - write).min(size - read).min(size - delay);
            self.left[write..write + len].copy_from_slice(&left[done..done + len]);
            self.right[write..write + len].copy_from_slice(&right[done..done + len]);
            out_left[done..done + len].copy_from_slice(&self.left[read..read + len]);
            out_right[done..done + len].copy_from_slice(&self.right[read..read + len]);
            self.pos = (write + len) & self.mask;
            done += len;
        }
    }

    /// The frame written `delay` frames before the most recent one (0 = the most recent).
    #[inline]
    pub fn read(&self, delay: usize) -> (f32, f32) {
        let i = (self.pos.wrapping_sub(1 + delay.min(self.mask))) & self.mask;
        (self.left[i], self.right[i])
    }

    /// Whether every frame the line holds is within `limit` of zero (a scan of the whole line).
    pub fn settled(&self, limit: f32) -> bool {
        self.left.iter().chain(&self.right).all(|x| x.abs() <= limit)
    }

    pub fn reset(&mut self) {
        self.left.fill(0.0);
        self.right.fill(0.0);
        self.pos = 0;
    }

    /// Copies contents and position from a line of the same capacity.
    pub fn copy_from(&mut self, other: &StereoLine) {
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
        let mut d = StereoLine::new(5);
        let out: Vec<f32> = (1..=8).map(|i| d.tick(i as f32, -(i as f32), 3).0).collect();
        assert_eq!(out, vec![0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(d.read(0), (8.0, -8.0));
        let mut z = StereoLine::new(0);
        assert_eq!(z.tick(0.5, 0.25, 0), (0.5, 0.25));
    }

    #[test]
    fn block_processing_equals_frame_by_frame_for_every_delay_and_block() {
        let input: Vec<f32> = (0..300).map(|i| i as f32 * 0.5 - 7.0).collect();
        for delay in [0, 1, 5, 17, 31] {
            for block in [1, 3, 16, 40, 100] {
                let (mut a, mut b) = (StereoLine::new(31), StereoLine::new(31));
                let (mut out_l, mut out_r) = (vec![0.0; 300], vec![0.0; 300]);
                for start in (0..300).step_by(block) {
                    let end = (start + block).min(300);
                    b.process_block(
                        &input[start..end],
                        &input[start..end],
                        &mut out_l[start..end],
                        &mut out_r[start..end],
                        delay,
                    );
                }
                let expected: Vec<f32> = input.iter().map(|x| a.tick(*x, *x, delay).0).collect();
                assert_eq!(out_l, expected, "delay {delay} block {block}");
                assert_eq!(out_r, expected);
            }
        }
    }
}
