//! A per-sample mixer parameter (volume, pan, input gain, width, send level, the mute gain): either an
//! automation [`Lane`] evaluated per sample at the timeline position of its point in the graph, or the user's
//! value, which glides linearly over [`USER_GLIDE_S`] when it changes so that a change never clicks.

use super::recording::Writer;
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
    /// The recording state, once a mode is set by command (`Command::AutomationMode`).
    pub writer: Option<Box<Writer>>,
    /// The value of the last sample filled (where a touch takes over from the curve).
    last: f64,
    /// The user's control drove the last block (its release glides back to the curve).
    was_user: bool,
    /// The glide back to the curve after a release: an offset added to the curve, fading out linearly.
    return_offset: f64,
    return_remaining: usize,
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
            writer: None,
            last: value,
            was_user: false,
            return_offset: 0.0,
            return_remaining: 0,
        }
    }

    /// The user takes the control where the parameter is now (a touch, or writing starting): no jump, and a
    /// following `set` glides from here. Between quanta.
    pub fn take_over(&mut self) {
        self.current = self.last;
        self.target = self.last;
        self.remaining = 0;
    }

    fn follows_user(&self) -> bool {
        self.writer.as_ref().is_some_and(|w| w.follows_user())
    }

    /// A block the strip skipped (asleep): the value holds at its target, and is recorded if the user's
    /// control is being written. Never allocates.
    pub fn record_idle(&mut self, timeline_start: i64) {
        let value = self.target;
        if let Some(w) = self.writer.as_mut().filter(|w| w.follows_user()) {
            w.recorder.push(timeline_start.max(0) as u64, value);
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
        if frames == 0 {
            return Some(self.current);
        }
        let user = self.follows_user();
        let result = if user {
            self.fill_user(timeline_start, frames)
        } else {
            self.fill_source(timeline_start, frames)
        };
        self.was_user = user;
        self.last = result.unwrap_or_else(|| f64::from(self.values[frames - 1]));
        result
    }

    /// While the user's control is written: its (glided) value, recorded at the block's first frame, then
    /// the LFO on top.
    fn fill_user(&mut self, timeline_start: i64, frames: usize) -> Option<f64> {
        let glided = self.fill_glide(frames);
        let first = glided.unwrap_or_else(|| f64::from(self.values[0]));
        if let Some(w) = self.writer.as_mut() {
            w.recorder.push(timeline_start.max(0) as u64, first);
        }
        let Some(lane) = self.lane.as_ref().filter(|l| l.lfo.is_some()) else {
            return glided;
        };
        for (k, v) in self.values[..frames].iter_mut().enumerate() {
            let base = glided.unwrap_or(f64::from(*v));
            let frame = (timeline_start + k as i64).max(0) as u64;
            *v = lane.modulated(base, frame) as f32;
        }
        None
    }

    /// The lane (curve or LFO) when it drives, else the user's glide; after a release, the glide back to the
    /// curve over [`USER_GLIDE_S`].
    fn fill_source(&mut self, timeline_start: i64, frames: usize) -> Option<f64> {
        if self.lane_drives().is_none() {
            return self.fill_glide(frames);
        }
        let out = &mut self.values[..frames];
        if let Some(lane) = self.lane.as_ref() {
            fill_lane(lane, timeline_start, out);
        }
        if self.was_user {
            self.return_offset = self.last - f64::from(out[0]);
            self.return_remaining = self.glide_frames;
        }
        if self.return_remaining > 0 {
            let step = self.return_offset / self.glide_frames as f64;
            for v in out.iter_mut() {
                if self.return_remaining == 0 {
                    break;
                }
                *v += (step * self.return_remaining as f64) as f32;
                self.return_remaining -= 1;
            }
        }
        None
    }

    /// The user's value, gliding to its target.
    fn fill_glide(&mut self, frames: usize) -> Option<f64> {
        let out = &mut self.values[..frames];
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
        self.remaining > 0 || self.return_remaining > 0 || self.lane_drives().is_some()
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
