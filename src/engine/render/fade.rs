//! The dip fade that hides a structural switch while playing: an insert added, removed or moved, or a
//! compensation delay changed when latency changes. The signal fades out linearly over [`CHANGE_FADE_S`], stays
//! at zero to the end of that block, the switch happens at the next block's first frame, and the signal fades
//! back in over the same length (after an optional hold, for a new insert whose latency must fill first).
//!
//! A linear ramp of F frames changes the gain by 1/F per frame, so around a switch no sample-to-sample step
//! exceeds the signal's own step plus its amplitude / F, where a hard switch can step by twice the amplitude.
//! Paths whose fades start in the same block switch in the same block, so parallel paths re-align together.

/// The length of each half of the dip (docs/engine.md: the same 5 ms as the transport's fades).
pub const CHANGE_FADE_S: f64 = 0.005;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Gain 1, nothing to do.
    Idle,
    /// Fading out; the switch is due at the first block start after the gain reached 0.
    Out,
    /// At zero for `hold` more frames after the switch, then fading in.
    In,
}

/// A gain ramp around one switch point. Never allocates.
#[derive(Debug, Clone)]
pub struct DipFade {
    phase: Phase,
    /// The gain is `step / frames` (0..=frames).
    step: usize,
    frames: usize,
    /// Frames to stay at zero after the switch before fading in.
    hold: usize,
}

impl DipFade {
    pub fn new(sample_rate: f64) -> Self {
        DipFade {
            phase: Phase::Idle,
            step: 0,
            frames: ((CHANGE_FADE_S * sample_rate).round() as usize).max(1),
            hold: 0,
        }
    }

    /// The frames of one half of the dip.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Whether a fade is under way (the signal is not simply passed).
    pub fn is_active(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Starts fading out towards a switch (from the current gain, when fading in already). `hold` frames of zeros
    /// follow the switch before the fade in (the longest wait for any new audio behind the switch).
    pub fn begin(&mut self, hold: usize) {
        if self.phase == Phase::Idle {
            self.step = self.frames;
        }
        self.hold = self.hold.max(hold);
        self.phase = Phase::Out;
    }

    /// Called at a block start: true when the switch is due now (the fade-out has reached zero). The caller
    /// switches, and the fade moves on to its hold and fade in.
    pub fn take_switch(&mut self) -> bool {
        if self.phase == Phase::Out && self.step == 0 {
            self.phase = Phase::In;
            return true;
        }
        false
    }

    /// Stays at zero for at least `frames` more frames before fading in (called right after a switch that
    /// turned out to need it).
    pub fn hold_for(&mut self, frames: usize) {
        self.hold = self.hold.max(frames);
    }

    /// Abandons the fade at gain 1 (a cold start: there is nothing to hide).
    pub fn cancel(&mut self) {
        self.phase = Phase::Idle;
        self.step = self.frames;
        self.hold = 0;
    }

    /// Multiplies a block by the ramp. Returns whether the block came out all zeros because of it (so a caller
    /// may treat the block as silent).
    pub fn apply(&mut self, left: &mut [f32], right: &mut [f32]) -> bool {
        if self.phase == Phase::Idle {
            return false;
        }
        let mut all_zero = true;
        let scale = 1.0 / self.frames as f32;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            match self.phase {
                Phase::Out => self.step = self.step.saturating_sub(1),
                Phase::In if self.hold > 0 => self.hold -= 1,
                Phase::In => {
                    self.step += 1;
                    if self.step >= self.frames {
                        self.step = self.frames;
                        self.phase = Phase::Idle;
                    }
                }
                Phase::Idle => {}
            }
            if self.step == self.frames {
                continue;
            }
            let g = self.step as f32 * scale;
            *l *= g;
            *r *= g;
            all_zero &= self.step == 0;
        }
        all_zero
    }
}

/// Scales a block by a linear fade-in that is `done` frames along of `frames` (the gain `(done + i) / frames`,
/// at most 1); returns the frames along after it. A path that replaces another fades in this way while the old
/// one fades out by the complement, so the two sum to the signal.
pub fn fade_in(left: &mut [f32], right: &mut [f32], done: usize, frames: usize) -> usize {
    for (i, (l, r)) in left.iter_mut().zip(right.iter_mut()).enumerate() {
        let g = ((done + i) as f32 / frames as f32).min(1.0);
        *l *= g;
        *r *= g;
    }
    done + left.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a fade over blocks of constant 1.0, switching when due; returns the gains and the switch frames.
    fn run(fade: &mut DipFade, blocks: usize, block: usize) -> (Vec<f32>, Vec<usize>) {
        let (mut gains, mut switches) = (Vec::new(), Vec::new());
        for b in 0..blocks {
            if fade.take_switch() {
                switches.push(b * block);
            }
            let (mut l, mut r) = (vec![1.0; block], vec![1.0; block]);
            fade.apply(&mut l, &mut r);
            gains.extend(l);
        }
        (gains, switches)
    }

    #[test]
    fn fades_out_to_zero_switches_at_the_next_block_and_fades_back_in() {
        let mut fade = DipFade::new(48_000.0);
        assert_eq!(fade.frames(), 240);
        fade.begin(0);
        let (gains, switches) = run(&mut fade, 8, 128);
        // Out over frames 0..240 (gain (239-n)/240 at frame n), zero to the end of block 1, switch at 256.
        assert_eq!(switches, [256]);
        for (n, g) in gains.iter().enumerate().take(240) {
            assert!((g - (239 - n) as f32 / 240.0).abs() < 1e-6, "frame {n}: {g}");
        }
        assert!(gains[239..256].iter().all(|&g| g == 0.0));
        // In over 256..496: gain (n-255)/240, then 1.
        for (n, g) in gains.iter().enumerate().take(496).skip(256) {
            assert!((g - (n - 255) as f32 / 240.0).abs() < 1e-6, "frame {n}: {g}");
        }
        assert!(gains[495..].iter().all(|&g| g == 1.0));
        assert!(!fade.is_active());
        let largest_step = gains.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
        assert!(largest_step <= 1.0 / 240.0 + 1e-6, "{largest_step}");
    }

    #[test]
    fn a_hold_keeps_zero_after_the_switch_and_a_new_begin_reverses_a_fade_in() {
        let mut fade = DipFade::new(48_000.0);
        fade.begin(300);
        let (gains, switches) = run(&mut fade, 4, 128);
        assert_eq!(switches, [256]);
        assert!(gains[239..].iter().all(|&g| g == 0.0), "held through frame 511");
        let (gains, _) = run(&mut fade, 1, 128);
        // 300 - 256 = 44 more frames of hold, then the ramp.
        assert!(gains[..44].iter().all(|&g| g == 0.0));
        assert!((gains[44] - 1.0 / 240.0).abs() < 1e-6);
        // Reverse half-way up: the gain falls from where it was, without a step.
        let before = gains[127];
        fade.begin(0);
        let (gains, _) = run(&mut fade, 1, 128);
        assert!((gains[0] - (before - 1.0 / 240.0)).abs() < 1e-6);
    }
}
