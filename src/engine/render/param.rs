//! A per-sample mixer parameter (volume, pan, input gain, width, send level, the mute gain): either an
//! automation [`Lane`] evaluated per sample at the timeline position of its point in the graph, or the user's
//! value, which glides linearly over [`USER_GLIDE_S`] when it changes so that a change never clicks.

use crate::engine::control::automation::Lane;

/// How long a user's change of a mixer value takes (docs/engine.md: "smoothed (about 20 ms)").
pub const USER_GLIDE_S: f64 = 0.020;

/// One parameter's value source and its per-sample buffer.
#[derive(Debug, Clone)]
pub struct Param {
    pub lane: Option<Lane>,
    current: f64,
    target: f64,
    step: f64,
    remaining: usize,
    glide_frames: usize,
    /// The values of the last block filled (when it was not constant).
    pub values: Vec<f32>,
}

impl Param {
    /// A parameter at `value` from the first sample (no glide from a default), with room for `max_frames`.
    pub fn new(value: f64, sample_rate: f64, max_frames: usize) -> Self {
        Param {
            lane: None,
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
            glide_frames: ((USER_GLIDE_S * sample_rate).round() as usize).max(1),
            values: vec![0.0; max_frames],
        }
    }

    /// The user's (static) value: glides there; an automation lane in mode `off` uses it too.
    pub fn set(&mut self, value: f64) {
        if let Some(lane) = &mut self.lane {
            lane.static_value = value;
        }
        self.target = value;
        self.remaining = self.glide_frames;
        self.step = (self.target - self.current) / self.glide_frames as f64;
    }

    /// Jumps to the value at once (no glide).
    pub fn set_immediately(&mut self, value: f64) {
        if let Some(lane) = &mut self.lane {
            lane.static_value = value;
        }
        self.target = value;
        self.current = value;
        self.remaining = 0;
    }

    /// Ends a glide at its target (a sleeping strip skips its samples).
    pub fn settle(&mut self) {
        self.current = self.target;
        self.remaining = 0;
    }

    pub fn target(&self) -> f64 {
        self.target
    }

    fn lane_drives(&self) -> Option<&Lane> {
        self.lane
            .as_ref()
            .filter(|l| (l.follow_curve && !l.curve.is_empty()) || l.lfo.is_some())
    }

    /// The values of `frames` samples whose first is at timeline frame `timeline_start` (negative during the
    /// pre-roll of a latency: those samples take the value at frame 0). `Some(v)`: the value is `v` for the
    /// whole block (`values` untouched); `None`: `values[..frames]` holds them. Never allocates.
    pub fn fill(&mut self, timeline_start: i64, frames: usize) -> Option<f64> {
        let out = &mut self.values[..frames];
        if let Some(lane) = self
            .lane
            .as_ref()
            .filter(|l| (l.follow_curve && !l.curve.is_empty()) || l.lfo.is_some())
        {
            fill_lane(lane, timeline_start, out);
            return None;
        }
        if self.remaining == 0 {
            return Some(self.current);
        }
        for v in out.iter_mut() {
            if self.remaining > 0 {
                self.current += self.step;
                self.remaining -= 1;
                if self.remaining == 0 {
                    self.current = self.target;
                }
            }
            *v = self.current as f32;
        }
        None
    }

    /// Whether a glide is under way or an automation lane drives the value.
    pub fn is_moving(&self) -> bool {
        self.remaining > 0 || self.lane_drives().is_some()
    }
}

/// A lane's values for frames `start..start + out.len()`, frames before 0 taking the value at 0.
pub fn fill_lane(lane: &Lane, start: i64, out: &mut [f32]) {
    if start >= 0 {
        lane.fill(start as u64, out);
        return;
    }
    let skip = (start.unsigned_abs() as usize).min(out.len());
    let first = lane.value_at(0) as f32;
    out[..skip].fill(first);
    lane.fill(0, &mut out[skip..]);
}
