//! A mixer strip on the audio side: a track, a bus or the master, with its insert slots, sends, per-sample
//! parameters and work buffers, all sized when the strip is built. Rendering a strip never allocates.
//!
//! Signal order (docs/engine.md, "Mixer"): track = input gain -> phase flip -> inserts -> pre-fader sends -> stereo
//! width -> fader -> pan -> post-fader sends and output; bus = inserts -> fader -> pan -> output (its sends
//! tap as a track's do); master = inserts -> fader. Mute (and solo-mute) multiplies the output and every send
//! by the strip's audible gain, which glides like any user change.

use super::fade::DipFade;
use super::insert_meter::{Clock, InsertMeter};
use super::meter::Meter;
use super::mixing::{fader_gain, fader_gains, pan_matrix, trim_gain, widen};
use super::param::Param;
use super::recording::Writer;
use crate::effects::{Action, Effect, Event, Source};
use crate::engine::control::automation::{InsertPlayer, Lane};
use crate::engine::control::plan::StripRef;

/// An automated parameter of an insert: its effect parameter index, lane and player.
#[derive(Debug, Clone)]
pub struct InsertLane {
    pub index: usize,
    pub lane: Lane,
    pub player: InsertPlayer,
    /// The recording state, once a mode is set by command.
    pub writer: Option<Box<Writer>>,
}

/// The key (sidechain) input of an insert: written by the engine each quantum from its routing edge (the source
/// strip's output through the edge's compensation delay), read by the insert's detector. Sized at build.
pub struct KeyInput {
    /// Index of the routing graph edge that carries it.
    pub edge: usize,
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    /// The key is all zeros this quantum (the buffers then hold zeros too).
    pub silent: bool,
}

impl KeyInput {
    pub fn new(edge: usize, max_frames: usize) -> Self {
        KeyInput {
            edge,
            left: vec![0.0; max_frames],
            right: vec![0.0; max_frames],
            silent: true,
        }
    }

    /// Writes this quantum's key: `Some` block, or silence (zeroing the buffers only when they held sound).
    pub fn write(&mut self, block: Option<(&[f32], &[f32])>) {
        match block {
            Some((l, r)) => {
                self.left[..l.len()].copy_from_slice(l);
                self.right[..r.len()].copy_from_slice(r);
                self.silent = false;
            }
            None if !self.silent => {
                self.left.fill(0.0);
                self.right.fill(0.0);
                self.silent = true;
            }
            None => {}
        }
    }
}

/// One insert of a strip.
pub struct InsertSlot {
    /// The plugin id (for commands).
    pub id: String,
    /// `None` for an insert that runs no effect (audio passes unchanged).
    pub effect: Option<Box<dyn Effect>>,
    pub lanes: Vec<InsertLane>,
    /// User changes waiting for the next quantum (filled by commands, drained by the render).
    pub pending: Vec<Event>,
    /// The events of the current block (capacity fixed up front).
    events: Vec<Event>,
    /// The latency the current plan assumes for this insert.
    pub planned_latency: usize,
    /// The longest block the engine renders (sizes `events`).
    max_frames: usize,
    /// The sidechain key, for an insert whose plan names a source.
    pub key: Option<KeyInput>,
    /// The insert's processing time and audio since the last read.
    pub meter: InsertMeter,
}

/// Room for user events queued between two quanta.
pub const PENDING_EVENTS: usize = 64;

impl InsertSlot {
    pub fn new(id: String, effect: Option<Box<dyn Effect>>, lanes: Vec<InsertLane>, max_frames: usize) -> Self {
        let planned_latency = effect.as_ref().map_or(0, |e| e.latency());
        // Worst case: each lane changes at every frame of a block, plus every pending user event.
        let capacity = lanes.len() * (max_frames + 1) + PENDING_EVENTS;
        InsertSlot {
            id,
            effect,
            lanes,
            pending: Vec::with_capacity(PENDING_EVENTS),
            events: Vec::with_capacity(capacity),
            planned_latency,
            max_frames,
            key: None,
            meter: InsertMeter::default(),
        }
    }

    /// Makes room for the events of every lane (after lanes are added by a command).
    pub fn reserve_events(&mut self) {
        let capacity = self.lanes.len() * (self.max_frames + 1) + PENDING_EVENTS.max(self.pending.len());
        self.events.reserve(capacity.saturating_sub(self.events.len()));
    }

    /// Queues a user event for the next quantum, making room for it in the block's events (between quanta:
    /// may allocate).
    pub fn queue(&mut self, event: Event) {
        self.pending.push(event);
        let needed = self.lanes.len() * (self.max_frames + 1) + self.pending.len();
        self.events.reserve(needed.saturating_sub(self.events.len()));
    }

    /// Whether the slot can be skipped: no effect, or an effect asleep with nothing to tell it and no key
    /// sounding (a keyed detector follows its key while the strip's own input is silent).
    fn is_quiet(&self) -> bool {
        self.pending.is_empty()
            && self.key.as_ref().map_or(true, |k| k.silent)
            && self.effect.as_ref().map_or(true, |e| e.is_asleep())
    }

    /// Runs the insert over a block whose first sample sits at timeline frame `timeline_start` at this point
    /// of the graph (the input position minus the latency upstream of the insert). Automation events are
    /// stamped with the effect's own frame: effect frame = its current frame + (timeline frame -
    /// timeline_start).
    fn process(&mut self, left: &mut [f32], right: &mut [f32], timeline_start: i64) {
        let Some(effect) = self.effect.as_mut() else {
            return;
        };
        let frames = left.len();
        let effect_start = effect.frame();
        self.events.clear();
        for e in self.pending.drain(..) {
            // Queued between quanta: they apply at this block's first frame.
            self.events.push(Event {
                frame: effect_start,
                ..e
            });
        }
        // Frames before timeline 0 (the pre-roll of upstream latency) keep the values the effect was made with.
        let skip = if timeline_start < 0 {
            (timeline_start.unsigned_abs() as usize).min(frames)
        } else {
            0
        };
        let first = timeline_start.max(0) as u64;
        let events = &mut self.events;
        for lane in &mut self.lanes {
            let index = lane.index;
            if let Some(w) = lane.writer.as_mut().filter(|w| w.follows_user()) {
                // The user's control drives the parameter (its events are in `pending`): no curve events, and
                // the user's value is recorded at this insert's timeline frame.
                if skip < frames {
                    w.recorder.push(first, w.user_value);
                }
                continue;
            }
            lane.lane
                .insert_events(&mut lane.player, first, frames - skip, |frame, value| {
                    if events.len() < events.capacity() {
                        events.push(Event {
                            frame: effect_start + skip as u64 + (frame - first),
                            action: Action::Set {
                                index,
                                value,
                                source: Source::Automation,
                            },
                        });
                    }
                });
        }
        // In place and allocation-free; equal frames keep no particular order (lanes target different
        // parameters, and user events come first at the block's first frame either way).
        self.events.sort_unstable_by_key(|e| e.frame);
        let key = self.key.as_ref().map(|k| (&k.left[..frames], &k.right[..frames]));
        effect.process_keyed(left, right, key, &self.events);
    }
}

/// A change of a strip's insert chain, made at the bottom of the strip's dip fade (docs/engine.md, "Changing
/// inserts while playing"). Indices are those of the chain as the earlier changes leave it.
// Not boxed: unboxing the new slot inside the quantum would free the box there.
#[allow(clippy::large_enum_variant)]
pub enum ChainChange {
    Add { at: usize, slot: InsertSlot },
    Remove { at: usize },
    Move { from: usize, to: usize },
}

/// Where an insert of the chain as the plan has it (all queued changes made) is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotPlace {
    /// In the running chain, at this index.
    Running(usize),
    /// Still waiting in the queued change at this index.
    Queued(usize),
}

/// A send from a strip to a bus.
pub struct SendSlot {
    /// Index of the routing graph edge that carries it.
    pub edge: usize,
    pub pre_fader: bool,
    pub enabled: bool,
    pub level: Param,
    /// The send's linear gain per sample (level and audible gain), or the constant of the whole block.
    pub gain: Vec<f32>,
    pub gain_constant: Option<f32>,
    /// The gain at the last frame rendered (where a removed send's fade starts).
    pub last_gain: f32,
}

/// The latency plan of a strip, copied into preallocated storage.
#[derive(Debug, Clone, Default)]
pub struct StripLatency {
    pub alignment: usize,
    pub before_insert: Vec<usize>,
    pub output: usize,
}

impl StripLatency {
    fn before(&self, k: usize) -> usize {
        self.before_insert.get(k).copied().unwrap_or(self.output)
    }
}

/// A track, a bus or the master.
pub struct Strip {
    pub kind: StripRef,
    pub inserts: Vec<InsertSlot>,
    pub sends: Vec<SendSlot>,
    /// The graph edge of the strip's output (`None` for the master).
    pub output_edge: Option<usize>,
    /// Frames into the fade-in of an output edge that replaced another (a route change), or None.
    pub output_entering: Option<usize>,
    /// A removed pre-fader send is still fading out: keep the pre-fader tap.
    pub leaving_pre_tap: bool,
    /// The sidechain edges that carry this strip's output to the keys of inserts.
    pub key_edges: Vec<usize>,
    pub input_gain: Param,
    pub width: Param,
    pub volume: Param,
    pub pan: Param,
    /// 1 when the strip sounds, 0 when muted or solo-muted; glides.
    pub audible: Param,
    pub phase_flip: bool,
    /// A track whose source is mono pans with the mono law.
    pub mono_source: bool,
    pub muted: bool,
    pub soloed: bool,
    pub latency: StripLatency,
    /// Buses and the master: the sum of what reaches them this quantum.
    pub in_left: Vec<f32>,
    pub in_right: Vec<f32>,
    pub in_active: bool,
    /// The strip's output (after pan and the audible gain) and the pre-fader tap (after the inserts).
    pub out_left: Vec<f32>,
    pub out_right: Vec<f32>,
    pub out_silent: bool,
    pub pre_left: Vec<f32>,
    pub pre_right: Vec<f32>,
    /// Whether the strip skipped its work this quantum (silent input, inserts asleep).
    pub asleep: bool,
    /// The level of the strip's output (tracks and buses after pan and mute, the master after its fader).
    pub meter: Meter,
    /// Chain changes waiting for the bottom of `chain_fade` (capacity reserved by the command).
    pub changes: Vec<ChainChange>,
    /// The dip around chain changes, on the inserts' output.
    pub chain_fade: DipFade,
    /// Removed inserts, dropped between quanta (freeing memory is no work for the audio thread).
    pub removed: Vec<InsertSlot>,
    /// The latency plan of the chain after the queued changes, swapped in with them.
    pub next_latency: StripLatency,
    pub next_latency_pending: bool,
    /// The host clock that times each insert (None: not timed).
    pub clock: Option<Clock>,
}

fn all_zero(buf: &[f32]) -> bool {
    buf.iter().all(|&x| x == 0.0)
}

impl Strip {
    /// Adds a block arriving along an edge to this strip's input (a bus or the master): the quantum's first
    /// arrival is copied, later ones are summed.
    pub fn add_to_input(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len();
        let (dl, dr) = (&mut self.in_left[..n], &mut self.in_right[..n]);
        if self.in_active {
            dl.iter_mut().zip(left).for_each(|(d, s)| *d += s);
            dr.iter_mut().zip(right).for_each(|(d, s)| *d += s);
        } else {
            dl.copy_from_slice(left);
            dr.copy_from_slice(right);
            self.in_active = true;
        }
    }

    pub fn new(kind: StripRef, sample_rate: f64, max_frames: usize) -> Self {
        let param = |v: f64| Param::new(v, sample_rate, max_frames);
        Strip {
            kind,
            inserts: Vec::new(),
            sends: Vec::new(),
            output_edge: None,
            output_entering: None,
            leaving_pre_tap: false,
            key_edges: Vec::new(),
            input_gain: param(0.0),
            width: param(100.0),
            volume: param(0.0),
            pan: param(0.0),
            audible: param(1.0),
            phase_flip: false,
            mono_source: false,
            muted: false,
            soloed: false,
            latency: StripLatency::default(),
            in_left: vec![0.0; max_frames],
            in_right: vec![0.0; max_frames],
            in_active: false,
            out_left: vec![0.0; max_frames],
            out_right: vec![0.0; max_frames],
            out_silent: true,
            pre_left: vec![0.0; max_frames],
            pre_right: vec![0.0; max_frames],
            // A strip that has not rendered yet holds no sound.
            asleep: true,
            meter: Meter::new(sample_rate),
            changes: Vec::new(),
            chain_fade: DipFade::new(sample_rate),
            removed: Vec::new(),
            next_latency: StripLatency::default(),
            next_latency_pending: false,
            clock: None,
        }
    }

    /// Queues a chain change for the bottom of the dip fade, reserving what making it needs (a command's work:
    /// may allocate). `hold` is how long a new insert's output takes to arrive (its latency): the fade in waits.
    pub fn queue_change(&mut self, change: ChainChange, hold: usize) {
        match &change {
            ChainChange::Add { .. } => self.inserts.reserve(1 + self.queued_adds()),
            ChainChange::Remove { .. } => self.removed.reserve(1 + self.queued_removes()),
            ChainChange::Move { .. } => {}
        }
        self.changes.push(change);
        self.chain_fade.begin(hold);
    }

    fn queued_adds(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| matches!(c, ChainChange::Add { .. }))
            .count()
    }

    fn queued_removes(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| matches!(c, ChainChange::Remove { .. }))
            .count()
    }

    /// Where each insert of the planned chain (the running chain with the queued changes made) is now.
    /// Allocates (commands only).
    pub fn planned_places(&self) -> Vec<SlotPlace> {
        let mut places: Vec<SlotPlace> = (0..self.inserts.len()).map(SlotPlace::Running).collect();
        for (c, change) in self.changes.iter().enumerate() {
            match *change {
                ChainChange::Add { at, .. } => places.insert(at.min(places.len()), SlotPlace::Queued(c)),
                ChainChange::Remove { at } => {
                    if at < places.len() {
                        places.remove(at);
                    }
                }
                ChainChange::Move { from, to } => {
                    if from < places.len() {
                        let p = places.remove(from);
                        places.insert(to.min(places.len()), p);
                    }
                }
            }
        }
        places
    }

    /// Where insert `k` of the planned chain is now, found by undoing the queued changes from the last (never
    /// allocates, so meters can read it inside a quantum). None when `k` is past the planned chain's end.
    pub fn planned_place(&self, k: usize) -> Option<SlotPlace> {
        let mut p = k;
        for (c, change) in self.changes.iter().enumerate().rev() {
            match *change {
                ChainChange::Add { at, .. } => {
                    if p == at {
                        return Some(SlotPlace::Queued(c));
                    }
                    if p > at {
                        p -= 1;
                    }
                }
                ChainChange::Remove { at } => {
                    if p >= at {
                        p += 1;
                    }
                }
                ChainChange::Move { from, to } => {
                    p = if p == to {
                        from
                    } else {
                        // The inverse of "remove at from, insert at to" for the others.
                        let q = if p < to { p } else { p - 1 };
                        if q < from {
                            q
                        } else {
                            q + 1
                        }
                    };
                }
            }
        }
        (p < self.inserts.len()).then_some(SlotPlace::Running(p))
    }

    /// The slot of the planned chain at `k` (running, or waiting in a queued change). Never allocates.
    pub fn planned_slot(&mut self, k: usize) -> Option<&mut InsertSlot> {
        match self.planned_place(k)? {
            SlotPlace::Running(i) => self.inserts.get_mut(i),
            SlotPlace::Queued(c) => match &mut self.changes[c] {
                ChainChange::Add { slot, .. } => Some(slot),
                _ => None,
            },
        }
    }

    /// Sets the latency plan of the chain as the plan has it: at once, or with the queued changes.
    pub fn set_latency(&mut self, latency: StripLatency) {
        if self.changes.is_empty() {
            self.latency = latency;
        } else {
            self.next_latency = latency;
            self.next_latency_pending = true;
        }
    }

    /// Makes the queued chain changes now (the bottom of the dip, or a cold start). Never allocates: the
    /// commands reserved the room.
    pub fn make_changes(&mut self) {
        for change in self.changes.drain(..) {
            match change {
                ChainChange::Add { at, slot } => {
                    let at = at.min(self.inserts.len());
                    self.inserts.insert(at, slot);
                }
                ChainChange::Remove { at } => {
                    if at < self.inserts.len() {
                        self.removed.push(self.inserts.remove(at));
                    }
                }
                ChainChange::Move { from, to } => {
                    if from < self.inserts.len() {
                        let slot = self.inserts.remove(from);
                        let to = to.min(self.inserts.len());
                        self.inserts.insert(to, slot);
                    }
                }
            }
        }
        if self.next_latency_pending {
            std::mem::swap(&mut self.latency, &mut self.next_latency);
            self.next_latency_pending = false;
        }
    }

    /// A cold start: queued changes made at once, no fade.
    pub fn make_changes_now(&mut self) {
        self.make_changes();
        self.chain_fade.cancel();
    }

    /// A skipped (sleeping) block still records the values of controls being written, at each point's
    /// timeline frame. Never allocates.
    fn record_idle(&mut self, position: i64) {
        let at_output = position - self.latency.output as i64;
        self.input_gain.record_idle(position - self.latency.alignment as i64);
        for p in [&mut self.width, &mut self.volume, &mut self.pan] {
            p.record_idle(at_output);
        }
        for s in &mut self.sends {
            s.level.record_idle(at_output);
        }
        for (k, slot) in self.inserts.iter_mut().enumerate() {
            let at = (position - self.latency.before(k) as i64).max(0) as u64;
            for lane in &mut slot.lanes {
                if let Some(w) = lane.writer.as_mut().filter(|w| w.follows_user()) {
                    w.recorder.push(at, w.user_value);
                }
            }
        }
    }

    fn is_track(&self) -> bool {
        matches!(self.kind, StripRef::Track(_))
    }

    /// Renders one quantum of `frames` whose input sits in `in_left`/`in_right` (a track's already sanitised
    /// and aligned; `input_silent` says it is all zeros). `position` is the timeline frame of the input's
    /// first sample; each stage's automation is read at `position` minus the latency upstream of it.
    pub fn render(&mut self, frames: usize, position: u64, input_silent: bool) {
        let position = position as i64;
        let quiet = input_silent && self.inserts.iter().all(InsertSlot::is_quiet);
        if (quiet || self.asleep) && (self.chain_fade.is_active() || !self.changes.is_empty()) {
            // Nothing sounded in the last quantum (or sounds now) and no insert holds a tail: switching the chain
            // here is the same as having had the new chain all along, so it needs no dip.
            self.make_changes_now();
        } else if self.chain_fade.take_switch() {
            self.make_changes();
        }
        if quiet {
            // Sleeping: exact zeros out, nothing run. Glides of static values end at their targets.
            self.asleep = true;
            self.out_silent = true;
            for p in [
                &mut self.input_gain,
                &mut self.width,
                &mut self.pan,
                &mut self.volume,
                &mut self.audible,
            ] {
                p.settle();
            }
            for s in &mut self.sends {
                s.level.settle();
                s.gain_constant = Some(0.0);
            }
            // Meters still fall while the strip sleeps.
            self.meter.update_silent(frames);
            for slot in &mut self.inserts {
                slot.meter.count(frames, None);
            }
            self.record_idle(position);
            return;
        }
        self.asleep = false;
        let is_track = self.is_track();
        let (l, r) = (&mut self.in_left[..frames], &mut self.in_right[..frames]);
        if input_silent {
            l.fill(0.0);
            r.fill(0.0);
        }
        if is_track {
            // Input gain and phase flip sit at the strip's input (its alignment upstream).
            let at_input = position - self.latency.alignment as i64;
            let sign = if self.phase_flip { -1.0 } else { 1.0 };
            match self.input_gain.fill(at_input, frames) {
                Some(db) => {
                    let g = (sign * trim_gain(db)) as f32;
                    if g != 1.0 {
                        l.iter_mut().chain(r.iter_mut()).for_each(|x| *x *= g);
                    }
                }
                None => {
                    for ((x, y), db) in l.iter_mut().zip(r.iter_mut()).zip(&self.input_gain.values) {
                        let g = (sign * trim_gain(f64::from(*db))) as f32;
                        *x *= g;
                        *y *= g;
                    }
                }
            }
        }
        let clock = self.clock;
        for (k, slot) in self.inserts.iter_mut().enumerate() {
            let started_s = clock.map(|now| now());
            slot.process(l, r, position - self.latency.before(k) as i64);
            slot.meter
                .count(frames, clock.zip(started_s).map(|(now, t0)| now() - t0));
        }
        self.chain_fade.apply(l, r);
        let at_output = position - self.latency.output as i64;
        if self.leaving_pre_tap || self.sends.iter().any(|s| s.pre_fader) {
            self.pre_left[..frames].copy_from_slice(l);
            self.pre_right[..frames].copy_from_slice(r);
        }
        // Width (tracks).
        if is_track {
            match self.width.fill(at_output, frames) {
                Some(100.0) => {}
                Some(w) => {
                    for (x, y) in l.iter_mut().zip(r.iter_mut()) {
                        (*x, *y) = widen(*x, *y, w as f32);
                    }
                }
                None => {
                    for ((x, y), w) in l.iter_mut().zip(r.iter_mut()).zip(&self.width.values) {
                        (*x, *y) = widen(*x, *y, *w);
                    }
                }
            }
        }
        // Fader, pan and the audible gain, in one pass with per-sample or constant coefficients.
        let volume = self.volume.fill(at_output, frames);
        let audible = self.audible.fill(at_output, frames);
        let has_pan = !matches!(self.kind, StripRef::Master);
        let pan = if has_pan {
            self.pan.fill(at_output, frames)
        } else {
            Some(0.0)
        };
        let mono = self.mono_source && is_track;
        let constant_pan = if has_pan {
            pan.map(|p| pan_matrix(p, mono))
        } else {
            Some([1.0, 0.0, 0.0, 1.0])
        };
        // The gain: one value for the block, or per sample into the volume's buffer (dB turned into gain).
        let constant_gain = match (volume, audible) {
            (Some(v), Some(a)) => Some(fader_gain(v) * a),
            _ => {
                fader_gains(
                    &mut self.volume.values[..frames],
                    volume,
                    audible,
                    &self.audible.values[..frames],
                );
                None
            }
        };
        let (ol, or) = (&mut self.out_left[..frames], &mut self.out_right[..frames]);
        match (constant_gain, constant_pan) {
            (Some(g), Some(m)) => {
                // The common case: static fader and pan, a 2x2 matrix with the gain folded in.
                let m = m.map(|c| (c * g) as f32);
                for n in 0..frames {
                    let (x, y) = (l[n], r[n]);
                    ol[n] = m[0] * x + m[1] * y;
                    or[n] = m[2] * x + m[3] * y;
                }
            }
            _ => {
                for n in 0..frames {
                    let gain = constant_gain.unwrap_or_else(|| f64::from(self.volume.values[n]));
                    let m = constant_pan.unwrap_or_else(|| pan_matrix(f64::from(self.pan.values[n]), mono));
                    let (x, y) = (f64::from(l[n]), f64::from(r[n]));
                    ol[n] = ((m[0] * x + m[1] * y) * gain) as f32;
                    or[n] = ((m[2] * x + m[3] * y) * gain) as f32;
                }
            }
        }
        self.out_silent = all_zero(ol) && all_zero(or);
        self.meter.update(ol, or);
        // Send gains: the level, and for a pre-fader send the audible gain (the output tap already holds it).
        for s in &mut self.sends {
            let level = s.level.fill(at_output, frames);
            let audible = if s.pre_fader { audible } else { Some(1.0) };
            s.gain_constant = match (level, audible, s.enabled) {
                (_, _, false) => Some(0.0),
                (Some(db), Some(a), true) => Some((fader_gain(db) * a) as f32),
                _ => {
                    if level.is_none() {
                        s.gain[..frames].copy_from_slice(&s.level.values[..frames]);
                    }
                    fader_gains(&mut s.gain[..frames], level, audible, &self.audible.values[..frames]);
                    None
                }
            };
            if frames > 0 {
                s.last_gain = s.gain_constant.unwrap_or(s.gain[frames - 1]);
            }
        }
    }

    /// The signal a send carries before its gain: the pre-fader tap (after the inserts) or the output.
    pub fn tap(&self, pre_fader: bool) -> (&[f32], &[f32]) {
        if pre_fader {
            (&self.pre_left, &self.pre_right)
        } else {
            (&self.out_left, &self.out_right)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::rng::Pcg32;

    /// The allocation-free lookup (undoing the queued changes) agrees with replaying them on a list, for random
    /// queues of adds, removes and moves.
    #[test]
    fn planned_place_agrees_with_replaying_the_queued_changes() {
        let mut rng = Pcg32::new(11, 3);
        let slot = || InsertSlot::new("x".into(), None, Vec::new(), 16);
        for _ in 0..500 {
            let mut strip = Strip::new(StripRef::Track(0), 48_000.0, 16);
            let running = rng.next_u32() as usize % 5;
            for _ in 0..running {
                strip.inserts.push(slot());
            }
            let mut len = running;
            for _ in 0..(rng.next_u32() % 6) {
                let pick = |rng: &mut Pcg32, n: usize| rng.next_u32() as usize % n.max(1);
                let change = match rng.next_u32() % 3 {
                    0 => ChainChange::Add {
                        at: pick(&mut rng, len + 1),
                        slot: slot(),
                    },
                    1 if len > 0 => ChainChange::Remove {
                        at: pick(&mut rng, len),
                    },
                    _ if len > 0 => ChainChange::Move {
                        from: pick(&mut rng, len),
                        to: pick(&mut rng, len),
                    },
                    _ => continue,
                };
                match change {
                    ChainChange::Add { .. } => len += 1,
                    ChainChange::Remove { .. } => len -= 1,
                    ChainChange::Move { .. } => {}
                }
                strip.changes.push(change);
            }
            let places = strip.planned_places();
            assert_eq!(places.len(), len);
            for (k, place) in places.iter().enumerate() {
                assert_eq!(strip.planned_place(k), Some(*place), "insert {k}");
            }
            assert_eq!(strip.planned_place(len), None);
        }
    }
}
