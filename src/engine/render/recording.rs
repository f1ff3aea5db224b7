//! Automation recording on the audio side (docs/engine.md, "Recording automation"): per automated parameter a
//! [`Writer`] holding its mode, the state of the user's control and a [`LaneRecorder`] whose buffer is sized
//! when recording is armed, so a quantum only writes into it. Finishing a take (thinning, merging into the
//! curve) runs between quanta in [`finish_take`].
//!
//! Which value a parameter follows is [`value_source`] (control side); what is recorded is the value the
//! parameter plays at the first frame of each block (before LFO modulation), at the timeline frame of that
//! point of the graph (the input position minus the latency upstream), so a read of the recorded curve plays
//! the same values at the same frames.

use super::engine::CommandError;
use super::param::Param;
use super::strip::{InsertLane, InsertSlot, Strip};
use super::transport::TransportCommand;
use crate::engine::control::automation::InsertPlayer;
use crate::engine::control::automation::{
    record_tolerance, thin, value_source, AutomationMode, CompiledCurve, CurveType, FramePoint, GestureState, Lane,
    ValueSource, RECORD_INTERVAL_S, THINNING_SHARE,
};
use crate::engine::control::plan::{
    PointPlan, StripRef, TargetParam, INPUT_GAIN_DB, LEVEL_DB, PAN, STEREO_WIDTH_PERCENT,
};
use crate::engine::control::vocabulary::seconds_to_frame;
use crate::engine::control::Range;

/// Room for recorded values per armed parameter: at one value per 20 ms, 10 minutes of gesture (480 KB). When
/// it fills, later values are dropped except the last one, which replaces the final value kept when the take
/// ends (a straight line to it), and the take says `truncated`. A host that takes recordings out at every
/// touch release and stop never comes near it.
pub const RECORD_CAPACITY_VALUES: usize = 30_000;
/// Room for separate stretches per take (a loop wrap or a seek while writing starts a new one; each touch is
/// one). When full, recording stops until the take is taken out.
pub const RECORD_MAX_STRETCHES: usize = 64;

/// Values at timeline frames, at most one per 20 ms, in stretches of non-decreasing frames. Never allocates
/// after [`LaneRecorder::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct LaneRecorder {
    interval_frames: u64,
    values: Vec<(u64, f64)>,
    /// Index into `values` where each stretch starts.
    starts: Vec<usize>,
    /// The latest value, not kept because it came sooner than 20 ms after the last kept one.
    pending: Option<(u64, f64)>,
    /// The last stretch takes values.
    open: bool,
    /// Values were dropped because the buffer was full.
    truncated: bool,
}

impl LaneRecorder {
    /// Allocates the buffer (between quanta).
    pub fn new(sample_rate: f64) -> Self {
        LaneRecorder {
            interval_frames: seconds_to_frame(RECORD_INTERVAL_S, sample_rate).max(1),
            values: Vec::with_capacity(RECORD_CAPACITY_VALUES),
            starts: Vec::with_capacity(RECORD_MAX_STRETCHES),
            pending: None,
            open: false,
            truncated: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Starts a stretch (no-op when one is open, or when there is no room for another).
    pub fn open(&mut self) {
        if self.open {
            return;
        }
        if self.starts.len() == self.starts.capacity() {
            self.truncated = true;
            return;
        }
        self.starts.push(self.values.len());
        self.open = true;
    }

    /// Ends the open stretch: its latest value replaces the last one kept (so the final value is never lost and
    /// no two kept values are closer than 20 ms), or is kept when the stretch has none.
    pub fn close(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        let start = self.starts.last().copied().unwrap_or(0);
        if let Some(pending) = self.pending.take() {
            if self.values.len() > start + 1 {
                let last = self.values.len() - 1;
                self.values[last] = pending;
            } else if self.values.len() < self.values.capacity() {
                self.values.push(pending);
            }
        }
        if self.values.len() == start {
            // Nothing was recorded in it.
            self.starts.pop();
        }
    }

    /// A value at a timeline frame. A frame before the last one (a loop wrap, a jump) starts a new stretch.
    /// Never allocates.
    pub fn push(&mut self, frame: u64, value: f64) {
        if !self.open {
            return;
        }
        let start = self.starts.last().copied().unwrap_or(0);
        let last = self.values[start..].last().map(|&(f, _)| f);
        let last = match (last, self.pending) {
            (_, Some((p, _))) => Some(p),
            (l, None) => l,
        };
        if last.is_some_and(|l| frame < l) {
            self.close();
            self.open();
            if !self.open {
                return;
            }
            return self.push(frame, value);
        }
        let kept = self.values[start..].last().map(|&(f, _)| f);
        match kept {
            Some(k) if frame < k + self.interval_frames => self.pending = Some((frame, value)),
            _ if self.values.len() == self.values.capacity() => {
                self.truncated = true;
                self.pending = Some((frame, value));
            }
            _ => {
                self.values.push((frame, value));
                self.pending = None;
            }
        }
    }

    /// Takes out the closed stretches (between quanta; the open one stays).
    fn take_closed(&mut self) -> (Vec<Vec<(u64, f64)>>, bool) {
        let closed = if self.open {
            self.starts.len() - 1
        } else {
            self.starts.len()
        };
        let end = self.starts.get(closed).copied().unwrap_or(self.values.len());
        let stretches = (0..closed)
            .map(|k| {
                let to = self.starts.get(k + 1).copied().unwrap_or(end).min(end);
                self.values[self.starts[k]..to].to_vec()
            })
            .collect();
        self.values.drain(..end);
        self.starts.drain(..closed);
        for s in &mut self.starts {
            *s -= end;
        }
        let truncated = std::mem::take(&mut self.truncated);
        (stretches, truncated)
    }
}

/// The recording state of one automated parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Writer {
    pub mode: AutomationMode,
    pub gesture: GestureState,
    /// The user's latest value (insert parameters; a mixer parameter keeps it in its glide).
    pub user_value: f64,
    pub recorder: LaneRecorder,
}

impl Writer {
    pub fn new(mode: AutomationMode, user_value: f64, sample_rate: f64) -> Self {
        Writer {
            mode,
            gesture: GestureState::default(),
            user_value,
            recorder: LaneRecorder::new(sample_rate),
        }
    }

    /// Whether the parameter follows the user's control now (live: never the offline rule).
    pub fn follows_user(&self) -> bool {
        value_source(self.mode, self.gesture, false) == ValueSource::Gesture
    }

    /// Opens or closes the recording for the transport state and the control (between quanta): write records
    /// from play to stop, touch while held, latch from the first touch until stop.
    pub fn update(&mut self, playing: bool) {
        if !playing {
            self.gesture.touched_since_play = false;
        }
        if playing && self.follows_user() {
            self.recorder.open();
        } else {
            self.recorder.close();
        }
    }

    /// The control is touched or released (between quanta).
    pub fn touch(&mut self, touching: bool, playing: bool) {
        self.gesture.touched = touching;
        if touching && playing {
            self.gesture.touched_since_play = true;
        }
        self.update(playing);
    }

    /// A jump of the timeline (a seek): the stretch ends, a new one starts at the new position.
    pub fn jump(&mut self, playing: bool) {
        self.recorder.close();
        self.update(playing);
    }
}

/// A finished take: the recorded points (thinned, linear) and the lane's whole curve after they overwrote the
/// stretch of timeline they cover, which is what the app stores as its `AutomationCurve.points`.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    /// The recorded points, in seconds on the timeline, in the parameter's unit.
    pub recorded: Vec<PointPlan>,
    /// The curve after the take (the engine's lane already plays it).
    pub curve: Vec<PointPlan>,
    /// The recorder's buffer filled (see [`RECORD_CAPACITY_VALUES`]).
    pub truncated: bool,
}

/// Finishes the closed stretches of a writer: each thinned (Ramer-Douglas-Peucker, [`thin`]) to
/// [`THINNING_SHARE`] of the parameter's tolerance ([`record_tolerance`]: 0.1 dB, or 0.5 % of its range) and
/// merged into the lane's curve. None when nothing was recorded. Between quanta (allocates).
pub fn finish_take(writer: &mut Writer, lane: &mut Lane) -> Option<Take> {
    let (stretches, truncated) = writer.recorder.take_closed();
    if stretches.is_empty() {
        return None;
    }
    let tolerance = record_tolerance(lane.range) * THINNING_SHARE;
    let mut recorded = Vec::new();
    let mut points = lane.curve.points.clone();
    for stretch in stretches {
        let thinned = thin(&stretch, tolerance);
        points = overwrite(&points, &thinned, |f| lane_curve_value(lane, f));
        recorded.extend(thinned);
    }
    lane.curve = compiled(&points);
    let sample_rate = lane.sample_rate;
    let to_plan = |(frame, value): (u64, f64), curve: CurveType| PointPlan {
        time_s: frame as f64 / sample_rate,
        value,
        curve,
    };
    Some(Take {
        recorded: recorded.into_iter().map(|p| to_plan(p, CurveType::Linear)).collect(),
        curve: lane
            .curve
            .points
            .iter()
            .map(|p| to_plan((p.frame, p.value), p.curve))
            .collect(),
        truncated,
    })
}

/// The old curve's value at a frame (None when it has no points).
fn lane_curve_value(lane: &Lane, frame: u64) -> Option<f64> {
    (!lane.curve.is_empty()).then(|| lane.curve.value_at(frame))
}

/// A curve from sorted points, one per frame (the step switches re-derived).
fn compiled(points: &[FramePoint]) -> CompiledCurve {
    let step_switches = points
        .windows(2)
        .filter(|w| w[0].curve == CurveType::Step)
        .map(|w| w[1].frame)
        .collect();
    CompiledCurve {
        points: points.to_vec(),
        step_switches,
    }
}

/// Overwrites the stretch `[first, last]` of a curve's frames with recorded points (linear): the old points
/// inside it go; where the old curve has points on either side, a point with the old curve's value is put one
/// frame before and one frame after the stretch, so the curve outside it plays as before (what a DAW does at a
/// punch-in and punch-out). `old_value` is the old curve's value at a frame.
pub fn overwrite(
    old: &[FramePoint],
    recorded: &[(u64, f64)],
    old_value: impl Fn(u64) -> Option<f64>,
) -> Vec<FramePoint> {
    let (Some(&(first, _)), Some(&(last, _))) = (recorded.first(), recorded.last()) else {
        return old.to_vec();
    };
    let linear = |(frame, value): (u64, f64)| FramePoint {
        frame,
        value,
        curve: CurveType::Linear,
    };
    let mut out: Vec<FramePoint> = old.iter().copied().filter(|p| p.frame + 1 < first).collect();
    let curve_at = |frame: u64| {
        old.iter()
            .find(|p| p.frame == frame)
            .map_or(CurveType::Linear, |p| p.curve)
    };
    if first > 0 && old.iter().any(|p| p.frame < first) {
        if let Some(value) = old_value(first - 1) {
            out.push(FramePoint {
                frame: first - 1,
                value,
                curve: CurveType::Linear,
            });
        }
    }
    out.extend(recorded.iter().copied().map(linear));
    if old.iter().any(|p| p.frame > last) {
        if let Some(value) = old_value(last + 1) {
            // A non-linear segment across the punch-out restarts its shape here (exact for linear ones).
            out.push(FramePoint {
                frame: last + 1,
                value,
                curve: curve_at(last + 1),
            });
        }
    }
    out.extend(old.iter().copied().filter(|p| p.frame > last + 1));
    out
}

/// A parameter of a strip as the recording commands reach it.
enum ParamSlot<'a> {
    Mixer(&'a mut Param),
    Insert(&'a mut InsertSlot, usize),
}

/// The parameter a target names on its strip (an insert by its position in the planned chain).
fn param_slot(strip: &mut Strip, param: TargetParam) -> Result<ParamSlot<'_>, CommandError> {
    let kind = strip.kind;
    let mixer = |p| Ok(ParamSlot::Mixer(p));
    match (param, kind) {
        (TargetParam::Volume, _) => mixer(&mut strip.volume),
        (TargetParam::Pan, StripRef::Master) => Err(CommandError("the master has no pan".into())),
        (TargetParam::Pan, _) => mixer(&mut strip.pan),
        (TargetParam::InputGain, StripRef::Track(_)) => mixer(&mut strip.input_gain),
        (TargetParam::StereoWidth, StripRef::Track(_)) => mixer(&mut strip.width),
        (TargetParam::InputGain | TargetParam::StereoWidth, _) => {
            Err(CommandError("only tracks have input gain and stereo width".into()))
        }
        (TargetParam::SendLevel(k), _) => match strip.sends.get_mut(k) {
            Some(send) => mixer(&mut send.level),
            None => Err(CommandError(format!("no send {k} on {kind:?}"))),
        },
        (TargetParam::Insert { insert, index }, _) => {
            let len = strip.planned_places().len();
            let slot = strip
                .planned_slot(insert)
                .ok_or_else(|| CommandError(format!("no insert {insert} on {kind:?} (the chain has {len})")))?;
            match slot.effect.as_ref() {
                Some(e) if index < e.spec().params.len() => Ok(ParamSlot::Insert(slot, index)),
                Some(e) => Err(CommandError(format!("'{}' has no parameter {index}", e.spec().id))),
                None => Err(CommandError(format!("insert {insert} of {kind:?} runs no effect"))),
            }
        }
    }
}

/// The range of a mixer parameter.
fn mixer_range(param: TargetParam) -> Range {
    match param {
        TargetParam::Pan => PAN,
        TargetParam::InputGain => INPUT_GAIN_DB,
        TargetParam::StereoWidth => STEREO_WIDTH_PERCENT,
        _ => LEVEL_DB,
    }
}

/// What the engine knows that a new lane needs: rate, tempo map (from a transport lane), play state.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub sample_rate: f64,
    pub bpm: f64,
    /// The transport plays (or will when its pending jump lands): writing records.
    pub playing: bool,
}

/// A lane with an empty curve at the parameter's current value (a parameter automated for the first time).
fn empty_lane(value: f64, range: Range, cx: Context) -> Lane {
    Lane::new(CompiledCurve::default(), value, range, cx.sample_rate, cx.bpm)
}

/// The insert lane of parameter `index`, created (empty) if missing. Between quanta (may allocate).
fn insert_lane(slot: &mut InsertSlot, index: usize, cx: Context) -> &mut InsertLane {
    if let Some(k) = slot.lanes.iter().position(|l| l.index == index) {
        return &mut slot.lanes[k];
    }
    let (value, range) = match slot.effect.as_ref() {
        Some(e) => {
            let p = &e.spec().params[index];
            (e.param(index), Range::new(p.min, p.max, p.unit))
        }
        None => (0.0, Range::new(0.0, 0.0, "")),
    };
    slot.lanes.push(InsertLane {
        index,
        lane: empty_lane(value, range, cx),
        player: InsertPlayer::default(),
        writer: None,
    });
    slot.reserve_events();
    slot.lanes.last_mut().expect("just pushed")
}

/// `Command::AutomationMode`: sets a parameter's mode (creating its lane, empty, when it has none), arming its
/// recorder for write, touch and latch. Between quanta.
pub fn set_mode(strip: &mut Strip, param: TargetParam, mode: AutomationMode, cx: Context) -> Result<(), CommandError> {
    match param_slot(strip, param)? {
        ParamSlot::Mixer(p) => {
            let before = p.writer.as_ref().is_some_and(|w| w.follows_user());
            let value = p.target();
            let lane = p.lane.get_or_insert_with(|| empty_lane(value, mixer_range(param), cx));
            lane.follow_curve = mode != AutomationMode::Off;
            let writer = p
                .writer
                .get_or_insert_with(|| Box::new(Writer::new(mode, value, cx.sample_rate)));
            writer.mode = mode;
            writer.update(cx.playing);
            if !before && writer.follows_user() {
                p.take_over();
            }
        }
        ParamSlot::Insert(slot, index) => {
            let current = slot.effect.as_ref().map_or(0.0, |e| e.param(index));
            let lane = insert_lane(slot, index, cx);
            let before = lane.writer.as_ref().is_some_and(|w| w.follows_user());
            lane.lane.follow_curve = mode != AutomationMode::Off;
            let writer = lane
                .writer
                .get_or_insert_with(|| Box::new(Writer::new(mode, current, cx.sample_rate)));
            writer.mode = mode;
            writer.update(cx.playing);
            if before && !writer.follows_user() {
                // Back to the curve: its value is sent again at the next block.
                lane.player.reset();
            } else if !before && writer.follows_user() {
                writer.user_value = current;
            }
        }
    }
    Ok(())
}

/// `Command::Touch`: the user holds or releases a control. A parameter with no mode set by command and no
/// writing mode in the project ignores it (reading needs no touch). Between quanta.
pub fn touch(strip: &mut Strip, param: TargetParam, touching: bool, cx: Context) -> Result<(), CommandError> {
    match param_slot(strip, param)? {
        ParamSlot::Mixer(p) => {
            let Some(writer) = p.writer.as_mut() else { return Ok(()) };
            let before = writer.follows_user();
            writer.touch(touching, cx.playing);
            if !before && writer.follows_user() {
                p.take_over();
            }
        }
        ParamSlot::Insert(slot, index) => {
            let current = slot.effect.as_ref().map_or(0.0, |e| e.param(index));
            let Some(lane) = slot.lanes.iter_mut().find(|l| l.index == index) else {
                return Ok(());
            };
            let Some(writer) = lane.writer.as_mut() else {
                return Ok(());
            };
            let before = writer.follows_user();
            writer.touch(touching, cx.playing);
            if !before && writer.follows_user() {
                writer.user_value = current;
            } else if before && !writer.follows_user() {
                lane.player.reset();
            }
        }
    }
    Ok(())
}

/// Before a user's `Set` of a mixer parameter: in touch and latch, a change while playing counts as a touch
/// (released by `Command::Touch { touching: false }`).
pub fn before_set(p: &mut Param, cx: Context) {
    let Some(writer) = p.writer.as_mut() else { return };
    if cx.playing && matches!(writer.mode, AutomationMode::Touch | AutomationMode::Latch) && !writer.gesture.touched {
        let before = writer.follows_user();
        writer.touch(true, cx.playing);
        if !before && writer.follows_user() {
            p.take_over();
        }
    }
}

/// After a user's change of an insert parameter: its lane's static value (mode off) and the writer's user
/// value follow it; in touch and latch a change while playing counts as a touch.
pub fn on_insert_set(slot: &mut InsertSlot, index: usize, value: f64, cx: Context) {
    let Some(lane) = slot.lanes.iter_mut().find(|l| l.index == index) else {
        return;
    };
    lane.lane.static_value = value;
    let Some(writer) = lane.writer.as_mut() else { return };
    if cx.playing && matches!(writer.mode, AutomationMode::Touch | AutomationMode::Latch) && !writer.gesture.touched {
        writer.touch(true, cx.playing);
    }
    writer.user_value = value;
}

/// Every lane of a strip (mixer parameters and insert parameters of the running chain).
fn for_each_param(strip: &mut Strip, mut mixer: impl FnMut(&mut Param), mut insert: impl FnMut(&mut InsertLane)) {
    for p in [
        &mut strip.input_gain,
        &mut strip.width,
        &mut strip.volume,
        &mut strip.pan,
    ] {
        mixer(p);
    }
    for s in &mut strip.sends {
        mixer(&mut s.level);
    }
    for slot in strip.inserts.iter_mut() {
        for lane in &mut slot.lanes {
            insert(lane);
        }
    }
}

/// After a transport command: play opens the writers' recordings, pause and stop close them (latch lets go),
/// a seek ends the stretch. Between quanta.
pub fn on_transport(strip: &mut Strip, command: TransportCommand, cx: Context) {
    let seek = matches!(command, TransportCommand::Seek(_));
    let insert_update = |lane: &mut InsertLane| {
        let Some(w) = lane.writer.as_mut() else { return };
        let before = w.follows_user();
        if seek {
            w.jump(cx.playing);
        } else {
            w.update(cx.playing);
        }
        if before && !w.follows_user() {
            lane.player.reset();
        }
    };
    for_each_param(
        strip,
        |p| {
            if let Some(w) = p.writer.as_mut() {
                if seek {
                    w.jump(cx.playing);
                } else {
                    w.update(cx.playing);
                }
            }
        },
        insert_update,
    );
}

/// A tempo change at timeline frame `frame`: every lane's tempo-synced LFO follows it from there.
pub fn on_tempo(strip: &mut Strip, bpm: f64, frame: u64) {
    for_each_param(
        strip,
        |p| {
            if let Some(lane) = p.lane.as_mut() {
                lane.set_tempo(bpm, frame);
            }
        },
        |l| l.lane.set_tempo(bpm, frame),
    );
}

/// `Engine::take_recorded`: the finished take of a parameter (None when nothing was recorded since the last
/// take). Between quanta (allocates).
pub fn take(strip: &mut Strip, param: TargetParam) -> Result<Option<Take>, CommandError> {
    Ok(match param_slot(strip, param)? {
        ParamSlot::Mixer(p) => match (p.writer.as_mut(), p.lane.as_mut()) {
            (Some(w), Some(lane)) => finish_take(w, lane),
            _ => None,
        },
        ParamSlot::Insert(slot, index) => {
            let lane = slot.lanes.iter_mut().find(|l| l.index == index);
            match lane {
                Some(InsertLane {
                    writer: Some(w), lane, ..
                }) => finish_take(w, lane),
                _ => None,
            }
        }
    })
}

/// `Command::Automation`: replaces a parameter's curve (the app edited it, or stores a take), values checked
/// against its range. Between quanta.
pub fn set_curve(strip: &mut Strip, param: TargetParam, points: &[PointPlan], cx: Context) -> Result<(), CommandError> {
    let check = |range: Range| -> Result<(), CommandError> {
        for (k, p) in points.iter().enumerate() {
            if !(p.time_s.is_finite() && p.time_s >= 0.0) {
                return Err(CommandError(format!(
                    "points[{k}].time must be a finite number >= 0, got {}",
                    p.time_s
                )));
            }
            if !(p.value.is_finite() && p.value >= range.min && p.value <= range.max) {
                return Err(CommandError(format!(
                    "points[{k}].value must be within {} to {} {}, got {}",
                    range.min, range.max, range.unit, p.value
                )));
            }
        }
        Ok(())
    };
    let curve = CompiledCurve::compile(points, cx.sample_rate);
    match param_slot(strip, param)? {
        ParamSlot::Mixer(p) => {
            let value = p.target();
            let lane = p.lane.get_or_insert_with(|| empty_lane(value, mixer_range(param), cx));
            check(lane.range)?;
            lane.curve = curve;
        }
        ParamSlot::Insert(slot, index) => {
            let lane = insert_lane(slot, index, cx);
            check(lane.lane.range)?;
            lane.lane.curve = curve;
            lane.player.reset();
        }
    }
    Ok(())
}

/// Arms the writers of the project's curves whose mode writes (write, touch, latch). At build.
pub fn arm_project(
    strip: &mut Strip,
    param: TargetParam,
    mode: AutomationMode,
    cx: Context,
) -> Result<(), CommandError> {
    if matches!(
        mode,
        AutomationMode::Write | AutomationMode::Touch | AutomationMode::Latch
    ) {
        set_mode(strip, param, mode, cx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stretch keeps one value per 20 ms and ends with its final value; a frame going back starts another.
    #[test]
    fn recorder_keeps_one_value_per_interval_and_splits_at_a_jump_back() {
        let mut r = LaneRecorder::new(48_000.0);
        r.open();
        for k in 0..100u64 {
            r.push(k * 128, k as f64);
        }
        // Back to 0: a second stretch.
        r.push(0, -1.0);
        r.push(960, -2.0);
        r.close();
        let (stretches, truncated) = r.take_closed();
        assert!(!truncated);
        assert_eq!(stretches.len(), 2);
        let first = &stretches[0];
        // 960 frames = 20 ms: 7.5 blocks, so every 8th block is kept.
        assert!(first.windows(2).all(|w| w[1].0 - w[0].0 >= 960));
        assert_eq!(first.first(), Some(&(0, 0.0)));
        assert_eq!(first.last(), Some(&(99 * 128, 99.0)));
        assert_eq!(stretches[1], vec![(0, -1.0), (960, -2.0)]);
    }

    /// Overwriting keeps the old curve outside the stretch: its values one frame before and after are kept.
    #[test]
    fn overwrite_keeps_the_old_curve_outside_the_stretch() {
        let old = [
            FramePoint {
                frame: 0,
                value: 0.0,
                curve: CurveType::Linear,
            },
            FramePoint {
                frame: 1000,
                value: 10.0,
                curve: CurveType::Linear,
            },
        ];
        let curve = compiled(&old);
        let merged = overwrite(&old, &[(400, -5.0), (600, -5.0)], |f| Some(curve.value_at(f)));
        let frames: Vec<u64> = merged.iter().map(|p| p.frame).collect();
        assert_eq!(frames, vec![0, 399, 400, 600, 601, 1000]);
        let m = compiled(&merged);
        for f in [0u64, 200, 399, 601, 800, 1000] {
            assert!((m.value_at(f) - curve.value_at(f)).abs() < 1e-12, "frame {f}");
        }
        assert_eq!(m.value_at(500), -5.0);
    }
}
