//! Parameter glides and crossfade ramps, both pure functions of the absolute frame.
//!
//! Because a glide's value depends only on the frame it is read at (never on how many blocks came before),
//! output does not depend on how a signal is split into blocks.

/// How long a user's parameter change glides, and how long integer changes and bypass crossfade.
pub const SMOOTHING_SECONDS: f64 = 0.020;

/// The number of frames for `SMOOTHING_SECONDS` at a sample rate (at least 1).
pub fn smoothing_frames(sample_rate: f64) -> u64 {
    ((SMOOTHING_SECONDS * sample_rate).round() as u64).max(1)
}

/// A linear glide from one value to another over a span of frames, optionally in the log domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glide {
    from: f64,
    to: f64,
    start: u64,
    frames: u64,
    log: bool,
}

impl Glide {
    /// A constant value.
    pub fn constant(value: f64) -> Self {
        Glide {
            from: value,
            to: value,
            start: 0,
            frames: 0,
            log: false,
        }
    }

    /// Glides from `from` at frame `start` to `to` at `start + frames`. In the log domain both ends must be > 0.
    pub fn new(from: f64, to: f64, start: u64, frames: u64, log: bool) -> Self {
        let log = log && from > 0.0 && to > 0.0;
        Glide {
            from,
            to,
            start,
            frames,
            log,
        }
    }

    /// The value at an absolute frame.
    #[inline]
    pub fn value_at(&self, frame: u64) -> f64 {
        if frame >= self.start + self.frames {
            return self.to;
        }
        if frame <= self.start {
            return self.from;
        }
        let u = (frame - self.start) as f64 / self.frames as f64;
        if self.log {
            (self.from.ln() + (self.to.ln() - self.from.ln()) * u).exp()
        } else {
            self.from + (self.to - self.from) * u
        }
    }

    /// The value the glide ends at.
    pub fn target(&self) -> f64 {
        self.to
    }

    /// Whether the glide has reached its target by `frame`.
    #[inline]
    pub fn settled_at(&self, frame: u64) -> bool {
        frame >= self.start + self.frames
    }
}

/// A linear 0 -> 1 ramp starting at an absolute frame (crossfades and bypass fades).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    pub start: u64,
    pub frames: u64,
}

impl Ramp {
    /// The weight of the new state at `frame`: reaches 1 on the ramp's last frame.
    #[inline]
    pub fn weight(&self, frame: u64) -> f32 {
        if frame < self.start {
            0.0
        } else if frame + 1 >= self.start + self.frames {
            1.0
        } else {
            ((frame - self.start + 1) as f64 / self.frames as f64) as f32
        }
    }

    /// The first frame at which the weight is 1.
    pub fn end(&self) -> u64 {
        self.start + self.frames.max(1) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glide_is_linear_and_ends_at_target() {
        let g = Glide::new(0.0, 10.0, 100, 10, false);
        assert_eq!(g.value_at(50), 0.0);
        assert_eq!(g.value_at(105), 5.0);
        assert_eq!(g.value_at(110), 10.0);
        assert!(g.settled_at(110) && !g.settled_at(109));
    }

    #[test]
    fn log_glide_passes_the_geometric_mean_halfway() {
        let g = Glide::new(100.0, 10000.0, 0, 10, true);
        assert!((g.value_at(5) - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn ramp_weight_rises_to_one_over_its_frames() {
        let r = Ramp { start: 10, frames: 4 };
        let w: Vec<f32> = (9..15).map(|f| r.weight(f)).collect();
        assert_eq!(w, vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.0]);
        assert_eq!(r.end(), 13);
    }
}
