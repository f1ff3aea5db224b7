//! Automation: curves compiled from points `{time, value, curveType}` to frames, evaluated per sample (track,
//! bus, send and master parameters) or on the 16-frame grid of absolute frames (insert parameters), automation
//! modes, LFO modulation and recording with thinning.
//!
//! The rules (docs/engine.md, "Automation"): frame = round(seconds x sampleRate); of several points on one frame the
//! last wins; the curve type of the left point shapes the segment to the next point, with u = (f - f0) /
//! (f1 - f0) in frames; before the first point the first value, after the last the last value. An insert
//! parameter takes the value at frame 16k and holds it for 16k..16k+15, except that the jump at the end of a
//! `step` segment happens at its own frame. The evaluators here never allocate: the render side calls them
//! every quantum.

use super::json::Range;
use super::plan::{AutomationPlan, PointPlan, ProjectPlan, Target};
use super::transport::frames_per_beat;
use super::vocabulary::seconds_to_frame;
pub use super::vocabulary::{AutomationMode, CurveType, Lfo, LfoRate, LfoShape};
use crate::effects::CONTROL_INTERVAL;

/// A point on the frame grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePoint {
    pub frame: u64,
    pub value: f64,
    pub curve: CurveType,
}

/// A curve compiled to frames: sorted, one point per frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompiledCurve {
    pub points: Vec<FramePoint>,
    /// Frames where a value jumps because the segment before them is a `step` (sorted).
    pub step_switches: Vec<u64>,
}

impl CompiledCurve {
    /// Puts points on the frame grid at a sample rate: sorted by frame (a stable sort, so among points on one
    /// frame the order given is kept) and, of several points on one frame, the last one kept.
    pub fn compile(points: &[PointPlan], sample_rate: f64) -> Self {
        let mut framed: Vec<FramePoint> = points
            .iter()
            .map(|p| FramePoint {
                frame: seconds_to_frame(p.time_s, sample_rate),
                value: p.value,
                curve: p.curve,
            })
            .collect();
        framed.sort_by_key(|p| p.frame);
        let mut kept: Vec<FramePoint> = Vec::with_capacity(framed.len());
        for p in framed {
            match kept.last_mut() {
                Some(last) if last.frame == p.frame => *last = p,
                _ => kept.push(p),
            }
        }
        let step_switches = kept
            .windows(2)
            .filter(|w| w[0].curve == CurveType::Step)
            .map(|w| w[1].frame)
            .collect();
        CompiledCurve {
            points: kept,
            step_switches,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The index of the last point at or before `frame` (None before the first point).
    fn segment(&self, frame: u64) -> Option<usize> {
        self.points.partition_point(|p| p.frame <= frame).checked_sub(1)
    }

    /// The value in segment `segment` (from [`Self::segment`]) at `frame`.
    #[inline]
    fn value_in(&self, segment: Option<usize>, frame: u64) -> f64 {
        let Some(i) = segment else {
            return self.points[0].value;
        };
        let p0 = self.points[i];
        let Some(p1) = self.points.get(i + 1) else {
            return p0.value;
        };
        let u = (frame - p0.frame) as f64 / (p1.frame - p0.frame) as f64;
        p0.value + (p1.value - p0.value) * p0.curve.shape(u)
    }

    /// The curve's value at a frame. Panics on an empty curve (a [`Lane`] never asks one).
    pub fn value_at(&self, frame: u64) -> f64 {
        self.value_in(self.segment(frame), frame)
    }
}

/// Where a parameter's value comes from at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    /// The project's static value (automation off).
    Static,
    /// The curve.
    Curve,
    /// The user's control (being written).
    Gesture,
}

/// The state of a user's control during playback, for the modes that write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GestureState {
    /// The control is held now.
    pub touched: bool,
    /// The control was touched since playback started (latch keeps writing until stop).
    pub touched_since_play: bool,
}

/// Which value a parameter follows: `off` the static value; `read` the curve; `write` the control for the whole
/// pass; `touch` the control while it is held, the curve otherwise; `latch` the curve until the first touch,
/// then the control until the transport stops. An offline render reads the curve in every mode but `off`.
pub fn value_source(mode: AutomationMode, gesture: GestureState, offline: bool) -> ValueSource {
    match mode {
        AutomationMode::Off => ValueSource::Static,
        _ if offline => ValueSource::Curve,
        AutomationMode::Read => ValueSource::Curve,
        AutomationMode::Write => ValueSource::Gesture,
        AutomationMode::Touch if gesture.touched => ValueSource::Gesture,
        AutomationMode::Latch if gesture.touched_since_play => ValueSource::Gesture,
        AutomationMode::Touch | AutomationMode::Latch => ValueSource::Curve,
    }
}

/// Everything that decides one parameter's value over the timeline: its curve (if any), static value, LFO and
/// range, at a sample rate and tempo.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub curve: CompiledCurve,
    /// The value without automation (the project's), used when the curve is empty or the mode is off.
    pub static_value: f64,
    pub lfo: Option<Lfo>,
    pub range: Range,
    pub sample_rate: f64,
    pub bpm: f64,
    /// False in mode `off` (or for a render of a curve in `off`): the curve is ignored, the LFO still runs.
    pub follow_curve: bool,
    /// The tempo map a tempo-synced LFO follows: `bpm` applies from this frame, where the beat count was the
    /// second value (frame 0, beat 0 until a tempo change).
    pub tempo_anchor: (u64, f64),
    /// The tempo before the last change `(anchor frame, anchor beats, bpm)`: frames before the current anchor
    /// (read behind latency) keep the old tempo.
    pub previous_tempo: Option<(u64, f64, f64)>,
}

impl Lane {
    pub fn new(curve: CompiledCurve, static_value: f64, range: Range, sample_rate: f64, bpm: f64) -> Self {
        Lane {
            curve,
            static_value,
            lfo: None,
            range,
            sample_rate,
            bpm,
            follow_curve: true,
            tempo_anchor: (0, 0.0),
            previous_tempo: None,
        }
    }

    /// The beat count at a timeline frame through the lane's tempo map (the transport's arithmetic:
    /// `control::transport::Transport::beats_at`, with the previous tempo kept for frames before the change).
    pub fn beats_at(&self, frame: u64) -> f64 {
        let (anchor_frame, anchor_beats, bpm) = match self.previous_tempo {
            Some(previous) if frame < self.tempo_anchor.0 => previous,
            _ => (self.tempo_anchor.0, self.tempo_anchor.1, self.bpm),
        };
        anchor_beats + (frame as f64 - anchor_frame as f64) / frames_per_beat(self.sample_rate, bpm)
    }

    /// A new tempo from timeline frame `frame` on (the beat count there is kept, so a tempo-synced LFO keeps
    /// its phase and changes its period at that frame). Never allocates.
    pub fn set_tempo(&mut self, bpm: f64, frame: u64) {
        let beats = self.beats_at(frame);
        self.previous_tempo = Some((self.tempo_anchor.0, self.tempo_anchor.1, self.bpm));
        self.tempo_anchor = (frame, beats);
        self.bpm = bpm;
    }

    /// The LFO's waveform at a frame: cycles = seconds x Hz, or beats / (beats per cycle) through the tempo map;
    /// plus the phase. Before any tempo change both equal `Lfo::wave_at`.
    #[inline]
    fn lfo_wave(&self, lfo: &Lfo, frame: u64) -> f64 {
        match lfo.rate {
            LfoRate::Hz(_) => lfo.wave_at(frame, self.sample_rate, self.bpm),
            LfoRate::Beats(period) => lfo.wave_of_cycles(self.beats_at(frame) / period + lfo.phase),
        }
    }

    pub fn with_lfo(self, lfo: Option<Lfo>) -> Self {
        Lane { lfo, ..self }
    }

    fn base_segment(&self, frame: u64) -> Option<usize> {
        self.curve.segment(frame)
    }

    #[inline]
    fn base_in(&self, segment: Option<usize>, frame: u64) -> f64 {
        if self.follow_curve && !self.curve.is_empty() {
            self.curve.value_in(segment, frame)
        } else {
            self.static_value
        }
    }

    #[inline]
    pub fn modulated(&self, base: f64, frame: u64) -> f64 {
        match &self.lfo {
            None => base,
            Some(lfo) => self.range.clamp(base + lfo.depth * self.lfo_wave(lfo, frame)),
        }
    }

    /// The parameter's value at a timeline frame (per-sample parameters).
    pub fn value_at(&self, frame: u64) -> f64 {
        self.modulated(self.base_in(self.base_segment(frame), frame), frame)
    }

    /// Fills `out` with the values of frames `start..start + out.len()`, one per sample, without allocating:
    /// one binary search for the first segment, then the frames of each segment in one run (the same values as
    /// [`Self::value_at`] per frame).
    pub fn fill(&self, start: u64, out: &mut [f32]) {
        let put = |o: &mut f32, frame: u64, base: f64| *o = self.modulated(base, frame) as f32;
        if !self.follow_curve || self.curve.is_empty() {
            for (k, o) in out.iter_mut().enumerate() {
                put(o, start + k as u64, self.static_value);
            }
            return;
        }
        let points = &self.curve.points;
        let mut segment = self.base_segment(start);
        let mut k = 0;
        // One run per segment: each ends at the next point's frame (points are sorted, at distinct frames, so
        // every run is at least one frame long and there are at most as many runs as points; a run is never
        // empty, so the loop ends whatever the points).
        while k < out.len() {
            let next = segment.map_or(0, |i| i + 1);
            // (Compared in u64 before narrowing: a point 2^32 frames ahead must not wrap on 32-bit targets.)
            let run_end = points
                .get(next)
                .map_or(out.len(), |p| {
                    p.frame.saturating_sub(start).min(out.len() as u64) as usize
                })
                .max(k + 1);
            let frames = (start + k as u64..).zip(&mut out[k..run_end]);
            match (segment, points.get(next)) {
                (Some(i), Some(p1)) => {
                    let p0 = points[i];
                    let (span, rise) = ((p1.frame - p0.frame) as f64, p1.value - p0.value);
                    for (frame, o) in frames {
                        let u = (frame - p0.frame) as f64 / span;
                        put(o, frame, p0.value + rise * p0.curve.shape(u));
                    }
                }
                (Some(i), None) => frames.for_each(|(frame, o)| put(o, frame, points[i].value)),
                (None, _) => frames.for_each(|(frame, o)| put(o, frame, points[0].value)),
            }
            k = run_end;
            segment = Some(next);
        }
    }

    /// The frame whose value an insert parameter holds at `frame`: the grid frame 16k at or before it, or a
    /// later step switch at or before it (the jump at the end of a `step` segment is not delayed to the grid).
    pub fn insert_eval_frame(&self, frame: u64) -> u64 {
        let grid = frame - frame % CONTROL_INTERVAL;
        if !self.follow_curve {
            return grid;
        }
        let switches = &self.curve.step_switches;
        let last_switch = switches
            .partition_point(|&s| s <= frame)
            .checked_sub(1)
            .map(|i| switches[i]);
        match last_switch {
            Some(s) if s > grid => s,
            _ => grid,
        }
    }

    /// An insert parameter's value at a frame (grid-held, see [`Self::insert_eval_frame`]).
    pub fn insert_value_at(&self, frame: u64) -> f64 {
        self.value_at(self.insert_eval_frame(frame))
    }

    /// The change events of an insert parameter for the block `start..start + len` (timeline frames): each
    /// frame where its grid-held value differs from the last one emitted, in order, passed to `emit(frame,
    /// value)`. After a seek or at the start, `player` is fresh, so the block's first frame emits the current
    /// value (static values apply from the first sample). Allocates nothing.
    pub fn insert_events(&self, player: &mut InsertPlayer, start: u64, len: usize, mut emit: impl FnMut(u64, f64)) {
        let end = start + len as u64;
        if len == 0 {
            return;
        }
        let mut emit_if_changed = |player: &mut InsertPlayer, frame: u64| {
            let value = self.insert_value_at(frame);
            if player.last != Some(value) {
                player.last = Some(value);
                emit(frame, value);
            }
        };
        emit_if_changed(player, start);
        let switches = if self.follow_curve {
            &self.curve.step_switches[..]
        } else {
            &[]
        };
        let mut s = switches.partition_point(|&f| f <= start);
        let mut grid = (start / CONTROL_INTERVAL + 1) * CONTROL_INTERVAL;
        loop {
            let next_switch = switches.get(s).copied().filter(|&f| f < end);
            let next_grid = Some(grid).filter(|&g| g < end);
            let frame = match (next_grid, next_switch) {
                (None, None) => break,
                (Some(g), None) => g,
                (None, Some(f)) => f,
                (Some(g), Some(f)) => g.min(f),
            };
            if next_grid == Some(frame) {
                grid += CONTROL_INTERVAL;
            }
            if next_switch == Some(frame) {
                s += 1;
            }
            emit_if_changed(player, frame);
        }
    }
}

/// The lane of one automation curve of a project, for an offline render or playback: the curve on the frame
/// grid, the project's static value, its LFO, and whether the curve is followed (every mode but `off`; which
/// value a user's control overrides it with while writing is [`value_source`]'s business).
pub fn lane_for(project: &ProjectPlan, automation: &AutomationPlan) -> Lane {
    let curve = CompiledCurve::compile(&automation.points, project.sample_rate);
    let mut lane = Lane::new(
        curve,
        project.static_value(automation.target),
        automation.range,
        project.sample_rate,
        project.bpm,
    )
    .with_lfo(automation.lfo);
    lane.follow_curve = project.effective_mode(automation) != AutomationMode::Off;
    lane
}

/// Every automation curve of a project as a lane, with its target, in the project's order.
pub fn compile_all(project: &ProjectPlan) -> Vec<(Target, Lane)> {
    project
        .automation
        .iter()
        .map(|a| (a.target, lane_for(project, a)))
        .collect()
}

/// What an insert parameter's player remembers between blocks: the last value sent to the effect.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InsertPlayer {
    pub last: Option<f64>,
}

impl InsertPlayer {
    /// Forget the last value (after a seek, so the next block sends the value at its start).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// The shortest time between two recorded points (docs/engine.md: at most one point per 20 ms).
pub const RECORD_INTERVAL_S: f64 = 0.020;
/// How closely thinned points must reproduce a gesture: 0.1 dB for dB parameters...
pub const RECORD_TOLERANCE_DB: f64 = 0.1;
/// ...and 0.5 % of the range for the others.
pub const RECORD_TOLERANCE_FRACTION: f64 = 0.005;

/// The recording tolerance of a parameter with a range.
pub fn record_tolerance(range: Range) -> f64 {
    if range.unit == "dB" {
        RECORD_TOLERANCE_DB
    } else {
        RECORD_TOLERANCE_FRACTION * range.span()
    }
}

/// The share of the tolerance thinning may use at the recorded samples: the rest covers the gesture between
/// samples (at most 20 ms apart, where a fader's move is nearly straight).
pub const THINNING_SHARE: f64 = 0.9;

/// Records a gesture while writing or touching: values at timeline frames, at most one per 20 ms, thinned when
/// finished. A value arriving sooner than 20 ms after the last kept one is held as pending and, when the gesture
/// ends, replaces the last kept value (so the gesture's final value is never lost, and no two points are closer
/// than 20 ms; a gesture shorter than 20 ms records its final value alone).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorder {
    interval_frames: u64,
    kept: Vec<(u64, f64)>,
    pending: Option<(u64, f64)>,
}

impl Recorder {
    pub fn new(sample_rate: f64) -> Self {
        Recorder {
            interval_frames: seconds_to_frame(RECORD_INTERVAL_S, sample_rate).max(1),
            kept: Vec::new(),
            pending: None,
        }
    }

    /// A control value at a timeline frame (frames non-decreasing).
    pub fn push(&mut self, frame: u64, value: f64) {
        match self.kept.last() {
            Some(&(last, _)) if frame < last + self.interval_frames => self.pending = Some((frame, value)),
            _ => {
                self.kept.push((frame, value));
                self.pending = None;
            }
        }
    }

    /// The gesture as sampled: at most one value per 20 ms, ending with its last value.
    pub fn samples(&self) -> Vec<(u64, f64)> {
        let mut all = self.kept.clone();
        if let Some(pending) = self.pending {
            all.pop();
            all.push(pending);
        }
        all
    }

    /// The recorded points, thinned so that linear segments between them reproduce every sample within
    /// [`THINNING_SHARE`] x `tolerance` (in the parameter's unit; see [`record_tolerance`]).
    pub fn finish(&self, tolerance: f64, sample_rate: f64) -> Vec<PointPlan> {
        thin(&self.samples(), tolerance * THINNING_SHARE)
            .into_iter()
            .map(|(frame, value)| PointPlan {
                time_s: frame as f64 / sample_rate,
                value,
                curve: CurveType::Linear,
            })
            .collect()
    }
}

/// Ramer-Douglas-Peucker (Ramer 1972; Douglas and Peucker 1973) with the vertical distance (the value error of
/// linear interpolation, which is what a listener hears) instead of the perpendicular one: keeps the ends, and
/// recursively the sample farthest from the chord while that distance exceeds `tolerance`.
pub fn thin(samples: &[(u64, f64)], tolerance: f64) -> Vec<(u64, f64)> {
    if samples.len() <= 2 {
        return samples.to_vec();
    }
    let mut keep = vec![false; samples.len()];
    keep[0] = true;
    keep[samples.len() - 1] = true;
    let mut stack = vec![(0usize, samples.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (fa, va) = samples[a];
        let (fb, vb) = samples[b];
        let mut worst = (0.0f64, a);
        for (i, &(f, v)) in samples.iter().enumerate().take(b).skip(a + 1) {
            let u = if fb > fa {
                (f - fa) as f64 / (fb - fa) as f64
            } else {
                0.0
            };
            let error = (v - (va + (vb - va) * u)).abs();
            if error > worst.0 {
                worst = (error, i);
            }
        }
        if worst.0 > tolerance {
            keep[worst.1] = true;
            stack.push((a, worst.1));
            stack.push((worst.1, b));
        }
    }
    samples.iter().zip(keep).filter(|(_, k)| *k).map(|(s, _)| *s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(frame: u64, value: f64, curve: CurveType) -> FramePoint {
        FramePoint { frame, value, curve }
    }

    /// `fill` is a faster walk of `value_at`: every frame of every block equals it exactly, across segment
    /// boundaries, before the first and after the last point, with and without an LFO, in mode off.
    #[test]
    fn fill_gives_value_at_for_every_frame() {
        let curves = [
            CurveType::Linear,
            CurveType::Exponential,
            CurveType::Logarithmic,
            CurveType::Smooth,
            CurveType::Step,
        ];
        let points: Vec<FramePoint> = (0..12)
            .map(|i| {
                point(
                    40 + i as u64 * 37 + (i as u64 % 3) * 5,
                    (i as f64 * 1.7).sin() * 20.0,
                    curves[i % 5],
                )
            })
            .collect();
        let curve = CompiledCurve {
            step_switches: points
                .windows(2)
                .filter(|w| w[0].curve == CurveType::Step)
                .map(|w| w[1].frame)
                .collect(),
            points,
        };
        let base = Lane::new(curve, -3.0, Range::new(-60.0, 12.0, "dB"), 48_000.0, 120.0);
        let lfo = Lfo {
            shape: LfoShape::Triangle,
            rate: LfoRate::Hz(90.0),
            depth: 30.0,
            phase: 0.1,
            seed: 7,
        };
        let off = Lane {
            follow_curve: false,
            ..base.clone()
        };
        for lane in [
            base.clone(),
            base.with_lfo(Some(lfo)),
            off.clone(),
            off.with_lfo(Some(lfo)),
        ] {
            for (start, len) in [(0u64, 700usize), (3, 128), (77, 1), (114, 40), (500, 300), (600, 16)] {
                let mut out = vec![f32::NAN; len];
                lane.fill(start, &mut out);
                for (k, &v) in out.iter().enumerate() {
                    let frame = start + k as u64;
                    assert_eq!(v, lane.value_at(frame) as f32, "frame {frame} of ({start}, {len})");
                }
            }
        }
    }
}
