//! The engine: a [`ProjectPlan`] made into strips, insert slots and compensation delays at a sample rate, with
//! two calls: [`Engine::apply`] (a user change; may allocate, runs between quanta) and [`Engine::render`] (one
//! quantum; never allocates, locks, formats or panics on valid state).

use super::delay::CompensationDelay;
use super::fade::fade_in;
use super::insert_meter::{Clock, InsertReading};
use super::master_meter::{MasterMeter, MasterReading};
use super::meter::MeterReading;
use super::param::Param;
use super::recording::{self, Take};
use super::strip::{ChainChange, InsertLane, InsertSlot, KeyInput, SendSlot, SlotPlace, Strip, StripLatency};
use super::transport::{EngineTransport, InputRun, TransportCommand, TransportState};
use crate::dsp::denormal;
use crate::effects::{Effect, Event, Source, Tail};
use crate::engine::control::automation::AutomationMode;
use crate::engine::control::automation::{compile_all, InsertPlayer};
use crate::engine::control::error::Problem;
use crate::engine::control::plan::{InsertPlan, PointPlan, ProjectPlan, StripRef, Target, TargetParam};
use crate::engine::control::routing::{
    insert_latencies, plan_latency, render_tail, EdgeKind, InsertLatency, RoutingGraph, RENDER_TAIL_CAP_S,
};
use crate::engine::control::ProjectError;
use std::fmt;

#[path = "structure.rs"]
mod structure;
pub use structure::StructureChange;
use structure::{Departing, LeavingPath};

/// The longest block [`Engine::render`] processes at once; longer calls are cut into blocks of this size.
pub const DEFAULT_MAX_QUANTUM: usize = 128;

/// One track's input for a quantum, already positioned on the timeline (its clips' audio, or the node input
/// in the browser).
#[derive(Debug, Clone, Copy, Default)]
pub enum TrackInput<'a> {
    /// Nothing plays (an unconnected input, no clip at this position).
    #[default]
    Silent,
    /// One channel, fed to both sides.
    Mono(&'a [f32]),
    Stereo(&'a [f32], &'a [f32]),
}

/// Where the engine finds each track's input for a quantum: a slice of [`TrackInput`]s (a missing entry is
/// silent), or a host's own buffers (the WebAssembly host reads them from its memory without building a list).
pub trait TrackInputs {
    /// Track `track`'s input; slices at least as long as the frames rendered.
    fn input(&self, track: usize) -> TrackInput<'_>;
}

impl TrackInputs for [TrackInput<'_>] {
    fn input(&self, track: usize) -> TrackInput<'_> {
        self.get(track).copied().unwrap_or_default()
    }
}

impl TrackInputs for Vec<TrackInput<'_>> {
    fn input(&self, track: usize) -> TrackInput<'_> {
        self.as_slice().input(track)
    }
}

impl<const N: usize> TrackInputs for [TrackInput<'_>; N] {
    fn input(&self, track: usize) -> TrackInput<'_> {
        self.as_slice().input(track)
    }
}

/// A per-sample mixer parameter of a strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixParam {
    /// dB; at or below -60 dB silence.
    Volume,
    /// -1..1 (not on the master).
    Pan,
    /// dB (tracks only).
    InputGain,
    /// % (tracks only).
    StereoWidth,
    /// dB, by send index.
    SendLevel(usize),
}

/// A change from the UI or the host, applied between quanta.
#[derive(Debug, Clone)]
pub enum Command {
    /// A mixer value (glides over 20 ms).
    Set {
        strip: StripRef,
        param: MixParam,
        value: f64,
    },
    /// An insert parameter by name, as a user change (glides as the effect glides user changes).
    SetInsertParam {
        strip: StripRef,
        insert: usize,
        name: String,
        value: f64,
    },
    /// Mutes a track or a bus (silences its output and sends).
    Mute {
        strip: StripRef,
        muted: bool,
    },
    /// Solos a track.
    Solo {
        track: usize,
        soloed: bool,
    },
    PhaseFlip {
        track: usize,
        flipped: bool,
    },
    SendEnabled {
        strip: StripRef,
        send: usize,
        enabled: bool,
    },
    /// Adds an insert at position `at` of a strip's chain.
    AddInsert {
        strip: StripRef,
        at: usize,
        insert: InsertPlan,
    },
    RemoveInsert {
        strip: StripRef,
        insert: usize,
    },
    /// Moves an insert from one position of the chain to another.
    MoveInsert {
        strip: StripRef,
        from: usize,
        to: usize,
    },
    /// Enables or bypasses an insert (the effect crossfades).
    EnableInsert {
        strip: StripRef,
        insert: usize,
        enabled: bool,
    },
    /// Whether a track's source is mono (the mono pan law), known when its audio is loaded.
    MonoSource {
        track: usize,
        mono: bool,
    },
    /// Play, pause, stop, seek, loop, tempo, time signature, metronome, fades (docs/engine.md, "Transport").
    Transport(TransportCommand),
    /// Tracks, buses, sends and routing added, removed or changed (docs/engine.md, "Changing the mix while
    /// playing").
    Structure(StructureChange),
    /// A parameter's automation mode (docs/engine.md, "Recording automation"): off, read, write, touch or
    /// latch; creates its lane (empty) when it has none and arms its recorder in the modes that write.
    AutomationMode {
        target: Target,
        mode: AutomationMode,
    },
    /// The user holds (`true`) or releases a control (touch and latch record while or after it is held).
    Touch {
        target: Target,
        touching: bool,
    },
    /// Replaces a parameter's automation curve (points in seconds, in the parameter's unit).
    Automation {
        target: Target,
        points: Vec<PointPlan>,
    },
}

/// A command that cannot apply, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandError(pub String);

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandError {}

impl From<ProjectError> for CommandError {
    fn from(e: ProjectError) -> Self {
        CommandError(e.to_string())
    }
}

/// The mixing engine of one project at one sample rate.
pub struct Engine {
    plan: ProjectPlan,
    sample_rate: f64,
    max_frames: usize,
    graph: RoutingGraph,
    /// Render order, as indices into `strips` (= `graph.nodes`).
    order: Vec<usize>,
    strips: Vec<Strip>,
    /// Parallel to `graph.edges`.
    edge_delays: Vec<CompensationDelay>,
    /// Each track's timeline input delay (its alignment: non-zero only when a later key needs it).
    input_delays: Vec<CompensationDelay>,
    scratch_left: Vec<f32>,
    scratch_right: Vec<f32>,
    /// The timeline position, play state, micro-fades and metronome.
    transport: EngineTransport,
    total_latency: usize,
    /// Loudness, true peak, correlation and spectrum of the master's output.
    master_meter: MasterMeter,
    /// Removed strips dipping out (structure.rs).
    departing: Vec<Departing>,
    /// Output and send paths that a route change or a removed send left: fading out into their old
    /// destinations (structure.rs).
    leaving: Vec<LeavingPath>,
    /// The frames of a path's fade when a route changes or a send is removed (the dip's half length).
    change_fade_frames: usize,
    /// The transport plays (as the last transport command left it): automation in write modes records.
    writing_playing: bool,
}

impl Engine {
    /// Builds the engine of a project at a sample rate (the project's own `sampleRate` is replaced by it:
    /// automation and clips are put on this rate's frame grid), rendering blocks of at most
    /// [`DEFAULT_MAX_QUANTUM`] frames internally. Creates every effect: may take milliseconds.
    pub fn new(plan: ProjectPlan, sample_rate: f64) -> Result<Engine, ProjectError> {
        Engine::with_max_quantum(plan, sample_rate, DEFAULT_MAX_QUANTUM)
    }

    /// [`Engine::new`] with another internal block size (an offline host may prefer larger blocks).
    pub fn with_max_quantum(
        mut plan: ProjectPlan,
        sample_rate: f64,
        max_frames: usize,
    ) -> Result<Engine, ProjectError> {
        let max_frames = max_frames.max(1);
        plan.sample_rate = sample_rate;
        let graph = RoutingGraph::from_plan(&plan);
        let order_refs = graph.render_order()?;
        let node_of = |s: StripRef| graph.nodes.iter().position(|n| *n == s).unwrap_or(0);
        let order = order_refs.iter().map(|&s| node_of(s)).collect();
        let mut strips = Vec::with_capacity(graph.nodes.len());
        for &kind in &graph.nodes {
            strips.push(build_strip(&plan, &graph, kind, sample_rate, max_frames)?);
        }
        // Automation: per-sample lanes on mixer parameters, event lanes on insert parameters.
        for (target, lane) in compile_all(&plan) {
            let strip = &mut strips[node_of(target.strip)];
            let param = match target.param {
                TargetParam::Volume => &mut strip.volume,
                TargetParam::Pan => &mut strip.pan,
                TargetParam::InputGain => &mut strip.input_gain,
                TargetParam::StereoWidth => &mut strip.width,
                TargetParam::SendLevel(s) => &mut strip.sends[s].level,
                TargetParam::Insert { insert, index } => {
                    let slot = &mut strip.inserts[insert];
                    slot.lanes.retain(|l| l.index != index);
                    slot.lanes.push(InsertLane {
                        index,
                        lane,
                        player: InsertPlayer::default(),
                        writer: None,
                    });
                    slot.reserve_events();
                    continue;
                }
            };
            param.lane = Some(lane);
        }
        let tracks = plan.tracks.len();
        let transport = EngineTransport::new(&plan, sample_rate, max_frames);
        let mut engine = Engine {
            edge_delays: vec![CompensationDelay::new(0, 0, sample_rate); graph.edges.len()],
            input_delays: vec![CompensationDelay::new(0, 0, sample_rate); tracks],
            plan,
            sample_rate,
            max_frames,
            graph,
            order,
            strips,
            scratch_left: vec![0.0; max_frames],
            scratch_right: vec![0.0; max_frames],
            transport,
            total_latency: 0,
            master_meter: MasterMeter::new(sample_rate),
            departing: Vec::new(),
            leaving: Vec::new(),
            change_fade_frames: super::fade::DipFade::new(sample_rate).frames(),
            writing_playing: true,
        };
        engine.arm_project_writers();
        engine.update_audible(true);
        engine.replan_latency(false);
        Ok(engine)
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The plan as the engine holds it now (inserts added or removed by commands included).
    pub fn plan(&self) -> &ProjectPlan {
        &self.plan
    }

    /// The timeline frame of the next quantum's input.
    pub fn position(&self) -> u64 {
        self.transport.position()
    }

    /// The transport's snapshot for the UI (position heard now, bar/beat/tick, tempo, signature, loop). Never
    /// allocates.
    pub fn transport_state(&self) -> TransportState {
        self.transport.state(self.total_latency)
    }

    /// Where the next `frames` input frames come from on the timeline (they jump at a loop wrap or where a
    /// pending seek lands; while paused or stopped the engine ignores them): a host feeds each run's audio.
    /// Allocates nothing.
    pub fn input_runs(&self, frames: usize, emit: impl FnMut(InputRun)) {
        self.transport.input_runs(frames, self.max_frames, emit);
    }

    /// The total latency L: the master's output lags the tracks' input by L frames. An offline render runs L
    /// frames longer and drops the first L.
    pub fn latency(&self) -> usize {
        self.total_latency
    }

    /// A cold start at a timeline frame (a seek, or a render's `--start`): every effect's audio state, every
    /// compensation delay and every automation player is cleared, so the next quantum starts from silence with
    /// the values at that position.
    pub fn seek(&mut self, frame: u64) {
        self.transport.cold_start(frame);
        for strip in &mut self.strips {
            for slot in &mut strip.inserts {
                if let Some(effect) = &mut slot.effect {
                    effect.reset();
                }
                for lane in &mut slot.lanes {
                    lane.player.reset();
                }
            }
            strip.in_active = false;
            strip.make_changes_now();
        }
        for d in self.edge_delays.iter_mut().chain(self.input_delays.iter_mut()) {
            d.set_delay(d.delay());
        }
        // Removed strips still dipping out have nothing left to hide after a cold start.
        for d in &mut self.departing {
            d.done = true;
        }
    }

    /// The longest tail along any signal path from a track to the master, in frames (docs/render.md: the tails of the
    /// inserts on the path added up, capped at 10 s; an infinite tail counts as the cap).
    pub fn render_tail_frames(&self) -> u64 {
        let tails: Vec<Vec<Option<u64>>> = self
            .strips
            .iter()
            .map(|s| {
                s.inserts
                    .iter()
                    .map(|slot| match slot.effect.as_ref().map(|e| (e.is_enabled(), e.tail())) {
                        None | Some((false, _)) => Some(0),
                        Some((true, Tail::Samples(t))) => Some(t),
                        Some((true, Tail::Infinite)) => None,
                    })
                    .collect()
            })
            .collect();
        let order: Vec<StripRef> = self.order.iter().map(|&n| self.graph.nodes[n]).collect();
        let cap = (RENDER_TAIL_CAP_S * self.sample_rate).round() as u64;
        render_tail(&self.graph, &order, &tails, cap)
    }

    /// A strip's meter: peak since the last read (which this call restarts), RMS over 300 ms, 3 s peak hold.
    /// Never allocates.
    pub fn read_meter(&mut self, strip: StripRef) -> MeterReading {
        let n = self.node_of(strip);
        self.strips[n].meter.read()
    }

    /// Clears every meter (a stop or an explicit reset): strip levels, the master's loudness integration, loudness
    /// range, true peaks, correlation and spectrum, and the inserts' cost and gain reduction. Pause and seek keep
    /// them (docs/engine.md: integrated loudness and loudness range accumulate while playing).
    pub fn reset_meters(&mut self) {
        for s in &mut self.strips {
            s.meter.reset();
            for slot in &mut s.inserts {
                slot.meter.reset();
                if let Some(effect) = &mut slot.effect {
                    effect.take_peak_gain_reduction_db();
                }
            }
        }
        self.master_meter.reset();
    }

    /// The master's loudness, true peak and correlation (docs/engine.md, "Metering"); the true peak since the
    /// last read restarts. Never allocates.
    pub fn read_master_meter(&mut self) -> MasterReading {
        self.master_meter.read()
    }

    /// The master's spectrum in dB per bin into `out` (see [`MasterMeter::read_spectrum`]); returns the bins
    /// written. Never allocates.
    pub fn read_spectrum(&mut self, out: &mut [f32]) -> usize {
        self.master_meter.read_spectrum(out)
    }

    /// Switches the master's loudness, true-peak, correlation and spectrum meters on (the default) or off.
    pub fn set_master_meter_enabled(&mut self, enabled: bool) {
        self.master_meter.set_enabled(enabled);
    }

    /// Sets the host clock that times every insert (None, the default: not timed). Natively
    /// [`super::insert_meter::native_clock_s`]; on wasm32 nothing in the core may call `Instant`.
    pub fn set_clock(&mut self, clock: Option<Clock>) {
        for s in &mut self.strips {
            s.clock = clock;
        }
    }

    /// An insert's meter: deepest gain reduction, processing cost and load since the last read (which this call
    /// restarts), and whether it sleeps. Never allocates; an error names a strip or insert the project lacks.
    pub fn read_insert_meter(&mut self, strip: StripRef, insert: usize) -> Result<InsertReading, CommandError> {
        let sample_rate = self.sample_rate;
        let slot = planned_slot(self.strip_mut(strip)?, insert)?;
        let (cost_us_per_quantum, load, frames, timed) = slot.meter.take(sample_rate);
        let (gain_reduction_db, asleep, kernel_running) = match &mut slot.effect {
            Some(e) => (e.take_peak_gain_reduction_db(), e.is_asleep(), e.is_kernel_running()),
            None => (0.0, false, false),
        };
        Ok(InsertReading {
            gain_reduction_db,
            cost_us_per_quantum,
            load,
            frames,
            timed,
            asleep,
            kernel_running,
        })
    }

    /// Whether a strip skipped its work in the last quantum (silent input, inserts asleep).
    pub fn is_asleep(&self, strip: StripRef) -> bool {
        self.strips[self.node_of(strip)].asleep
    }

    fn node_of(&self, strip: StripRef) -> usize {
        let tracks = self.plan.tracks.len();
        match strip {
            StripRef::Track(i) => i,
            StripRef::Bus(b) => tracks + b,
            StripRef::Master => tracks + self.plan.buses.len(),
        }
    }

    fn strip_mut(&mut self, strip: StripRef) -> Result<&mut Strip, CommandError> {
        let n = self.node_of(strip);
        let valid = match strip {
            StripRef::Track(i) => i < self.plan.tracks.len(),
            StripRef::Bus(b) => b < self.plan.buses.len(),
            StripRef::Master => true,
        };
        if !valid {
            return Err(CommandError(format!("no strip {strip:?} in this project")));
        }
        Ok(&mut self.strips[n])
    }

    /// Applies a user change. Runs between quanta: may allocate (an insert's effect is created here).
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        self.drop_removed();
        let sample_rate = self.sample_rate;
        let max_frames = self.max_frames;
        let cx = self.recording_context();
        match command {
            Command::Set { strip, param, value } => {
                let s = self.strip_mut(strip)?;
                let p = match (param, strip) {
                    (MixParam::Volume, _) => &mut s.volume,
                    (MixParam::Pan, StripRef::Master) => return Err(CommandError("the master has no pan".into())),
                    (MixParam::Pan, _) => &mut s.pan,
                    (MixParam::InputGain, StripRef::Track(_)) => &mut s.input_gain,
                    (MixParam::StereoWidth, StripRef::Track(_)) => &mut s.width,
                    (MixParam::InputGain | MixParam::StereoWidth, _) => {
                        return Err(CommandError("only tracks have input gain and stereo width".into()))
                    }
                    (MixParam::SendLevel(k), _) => match s.sends.get_mut(k) {
                        Some(send) => &mut send.level,
                        None => return Err(CommandError(format!("no send {k} on {strip:?}"))),
                    },
                };
                if !value.is_finite() {
                    return Err(CommandError(format!("{param:?} must be a finite number, got {value}")));
                }
                recording::before_set(p, cx);
                p.set(value);
            }
            Command::SetInsertParam {
                strip,
                insert,
                name,
                value,
            } => {
                let slot = planned_slot(self.strip_mut(strip)?, insert)?;
                let Some(effect) = slot.effect.as_ref() else {
                    return Err(CommandError(format!("insert {insert} of {strip:?} runs no effect")));
                };
                let event = Event::set(effect.spec(), &name, value, 0, Source::User)
                    .map_err(|e| CommandError(e.to_string()))?;
                if let crate::effects::Action::Set { index, value, .. } = event.action {
                    recording::on_insert_set(slot, index, value, cx);
                }
                slot.queue(event);
            }
            Command::Mute { strip, muted } => {
                if strip == StripRef::Master {
                    return Err(CommandError("the master cannot be muted".into()));
                }
                self.strip_mut(strip)?.muted = muted;
                self.update_audible(false);
            }
            Command::Solo { track, soloed } => {
                self.strip_mut(StripRef::Track(track))?.soloed = soloed;
                self.update_audible(false);
            }
            Command::PhaseFlip { track, flipped } => self.strip_mut(StripRef::Track(track))?.phase_flip = flipped,
            Command::MonoSource { track, mono } => self.strip_mut(StripRef::Track(track))?.mono_source = mono,
            Command::Structure(change) => self.change_structure(change)?,
            Command::Transport(t) => {
                self.transport.apply(t)?;
                self.after_transport_for_recording(t);
                if let TransportCommand::Tempo { bpm } = t {
                    // Tempo-synced inserts hear the new tempo; inserts added later are made with it.
                    self.plan.bpm = bpm;
                    for slot in self.strips.iter_mut().flat_map(|s| s.inserts.iter_mut()) {
                        if slot.effect.is_some() {
                            slot.queue(Event::tempo(bpm, 0));
                        }
                    }
                }
            }
            Command::AutomationMode { target, mode } => {
                recording::set_mode(self.strip_mut(target.strip)?, target.param, mode, cx)?
            }
            Command::Touch { target, touching } => {
                recording::touch(self.strip_mut(target.strip)?, target.param, touching, cx)?
            }
            Command::Automation { target, points } => {
                recording::set_curve(self.strip_mut(target.strip)?, target.param, &points, cx)?
            }
            Command::SendEnabled { strip, send, enabled } => {
                let s = self.strip_mut(strip)?;
                let slot = s
                    .sends
                    .get_mut(send)
                    .ok_or_else(|| CommandError(format!("no send {send} on {strip:?}")))?;
                slot.enabled = enabled;
            }
            Command::EnableInsert { strip, insert, enabled } => {
                let slot = planned_slot(self.strip_mut(strip)?, insert)?;
                slot.queue(Event::enable(enabled, 0));
            }
            // Chain changes wait for the bottom of the strip's dip fade (docs/engine.md, "Changing inserts while
            // playing"); the plan, and so the indices of later commands, change at once.
            Command::AddInsert { strip, at, mut insert } => {
                self.strip_mut(strip)?;
                let len = plan_inserts(&mut self.plan, strip).len();
                if at > len {
                    return Err(CommandError(format!(
                        "insert position {at} is past the chain's end ({len})"
                    )));
                }
                let effect = insert.create(sample_rate, self.plan.bpm)?;
                let keyed = self.resolve_key(&mut insert, effect.as_deref())?;
                let hold = effect.as_ref().map_or(0, |e| e.latency());
                let slot = InsertSlot::new(insert.id.clone(), effect, Vec::new(), max_frames);
                self.strip_mut(strip)?.queue_change(ChainChange::Add { at, slot }, hold);
                plan_inserts(&mut self.plan, strip).insert(at, insert);
                if keyed || self.has_keys(strip) {
                    if let Err(e) = self.rebuild_keys() {
                        // A key that closes a cycle: undo the insert (its dip passes with nothing changed).
                        let node = self.node_of(strip);
                        self.strips[node].changes.pop();
                        plan_inserts(&mut self.plan, strip).remove(at);
                        self.rebuild_keys()?;
                        return Err(e.into());
                    }
                }
                self.replan_latency(true);
            }
            Command::RemoveInsert { strip, insert } => {
                self.strip_mut(strip)?;
                check_planned(&mut self.plan, strip, insert)?;
                let keyed = self.has_keys(strip);
                self.strip_mut(strip)?
                    .queue_change(ChainChange::Remove { at: insert }, 0);
                plan_inserts(&mut self.plan, strip).remove(insert);
                if keyed {
                    self.rebuild_keys()?;
                }
                self.replan_latency(true);
            }
            Command::MoveInsert { strip, from, to } => {
                self.strip_mut(strip)?;
                check_planned(&mut self.plan, strip, from)?;
                check_planned(&mut self.plan, strip, to)?;
                self.strip_mut(strip)?.queue_change(ChainChange::Move { from, to }, 0);
                let plan = plan_inserts(&mut self.plan, strip);
                let p = plan.remove(from);
                plan.insert(to, p);
                if self.has_keys(strip) {
                    self.rebuild_keys()?;
                }
                self.replan_latency(true);
            }
        }
        self.refresh_latency();
        Ok(())
    }

    /// The finished recording of a parameter since the last take (docs/engine.md, "Recording automation"): the
    /// recorded points, thinned, and the lane's whole curve after they overwrote their stretch (the engine
    /// already plays it); None when nothing was recorded. A stretch still being written (a touch held, write
    /// or latch before stop) stays for a later take. Between quanta (allocates).
    pub fn take_recorded(&mut self, target: Target) -> Result<Option<Take>, CommandError> {
        recording::take(self.strip_mut(target.strip)?, target.param)
    }

    fn recording_context(&self) -> recording::Context {
        recording::Context {
            sample_rate: self.sample_rate,
            bpm: self.plan.bpm,
            playing: self.writing_playing,
        }
    }

    /// Opens or closes recordings after a transport command, and re-derives tempo-synced LFOs at a tempo
    /// change (from the input position on, as the transport's beat count).
    fn after_transport_for_recording(&mut self, command: TransportCommand) {
        match command {
            TransportCommand::Play => self.writing_playing = true,
            TransportCommand::Pause | TransportCommand::Stop => self.writing_playing = false,
            _ => {}
        }
        let cx = self.recording_context();
        let position = self.transport.position();
        for strip in &mut self.strips {
            recording::on_transport(strip, command, cx);
            if let TransportCommand::Tempo { bpm } = command {
                recording::on_tempo(strip, bpm, position);
            }
        }
    }

    /// Arms the recorders of the project's curves in a writing mode (at build; the parser resolved their
    /// targets, so none fails).
    fn arm_project_writers(&mut self) {
        let cx = self.recording_context();
        let modes: Vec<(Target, AutomationMode)> = self
            .plan
            .automation
            .iter()
            .map(|a| (a.target, self.plan.effective_mode(a)))
            .collect();
        for (target, mode) in modes {
            if let Ok(strip) = self.strip_mut(target.strip) {
                let _ = recording::arm_project(strip, target.param, mode, cx);
            }
        }
    }

    /// Whether any insert of a strip's planned chain is keyed.
    fn has_keys(&self, strip: StripRef) -> bool {
        self.plan.inserts(strip).iter().any(|p| p.sidechain.is_some())
    }

    /// Resolves the sidechain source of an insert added by command (by id, when the command left it unresolved)
    /// and checks that its effect takes a key; returns whether the insert is keyed.
    fn resolve_key(&self, insert: &mut InsertPlan, effect: Option<&dyn Effect>) -> Result<bool, CommandError> {
        let Some(sidechain) = &mut insert.sidechain else {
            return Ok(false);
        };
        if let Some(e) = effect.filter(|e| !e.takes_key()) {
            let problem = Problem::NoSidechain { effect: e.spec().id };
            return Err(ProjectError::at(format!("{}.sidechain", insert.path), problem).into());
        }
        if sidechain.source.is_none() {
            sidechain.source = self.plan.strip_by_id(&sidechain.source_id);
        }
        match sidechain.source {
            Some(_) => Ok(true),
            None => Err(CommandError(format!(
                "{}.sidechain: no track or bus '{}'",
                insert.path, sidechain.source_id
            ))),
        }
    }

    /// Rebuilds the routing graph's sidechain edges from the plan after a change to a chain with a keyed insert
    /// (the edges name inserts by position): a new render order (a key that closes a cycle is an error, and
    /// nothing changes), each key's buffers and compensation delay (a moved key restarts from silence). Other
    /// edges come first in the graph and keep their indices. Between quanta: may allocate.
    fn rebuild_keys(&mut self) -> Result<(), ProjectError> {
        let graph = RoutingGraph::from_plan(&self.plan);
        let order_refs = graph.render_order()?;
        let node_of = |s: StripRef| graph.nodes.iter().position(|n| *n == s).unwrap_or(0);
        self.order = order_refs.iter().map(|&s| node_of(s)).collect();
        let kept = graph
            .edges
            .iter()
            .take_while(|e| !matches!(e.kind, EdgeKind::Sidechain { .. }))
            .count();
        let max_frames = self.max_frames;
        self.edge_delays.truncate(kept);
        let sample_rate = self.sample_rate;
        self.edge_delays
            .resize_with(graph.edges.len(), || CompensationDelay::new(0, 0, sample_rate));
        for strip in &mut self.strips {
            strip.key_edges.clear();
        }
        for (n, strip) in self.strips.iter_mut().enumerate() {
            for (k, plan) in self.plan.inserts(graph.nodes[n]).iter().enumerate() {
                if plan.sidechain.is_none() {
                    if let Some(slot) = strip.planned_slot(k) {
                        slot.key = None;
                    }
                }
            }
        }
        for (e, edge) in graph.edges.iter().enumerate().skip(kept) {
            if let EdgeKind::Sidechain { insert } = edge.kind {
                self.strips[node_of(edge.from)].key_edges.push(e);
                if let Some(slot) = self.strips[node_of(edge.to)].planned_slot(insert) {
                    let key = slot.key.get_or_insert_with(|| KeyInput::new(e, max_frames));
                    key.edge = e;
                    key.write(None);
                }
            }
        }
        self.graph = graph;
        Ok(())
    }

    /// Re-plans latency compensation when an insert's latency differs from the plan (a `lookaheadMs` or
    /// `oversample` change takes effect inside the effect some pieces after the command): call between quanta.
    /// Allocates only when something changed.
    pub fn refresh_latency(&mut self) {
        self.drop_removed();
        let stale = self.strips.iter().any(|s| {
            s.inserts
                .iter()
                .any(|slot| slot.effect.as_ref().map_or(0, |e| e.latency()) != slot.planned_latency)
        });
        if stale {
            self.replan_latency(true);
        }
    }

    /// Frees the inserts removed by earlier commands (they leave the chain inside a quantum, where freeing
    /// memory is not the audio thread's work).
    fn drop_removed(&mut self) {
        for s in &mut self.strips {
            s.removed.clear();
        }
        self.drop_departed();
    }

    /// Plans latency compensation from the inserts' current and maximum latencies (of the chains as the plan has
    /// them, queued changes made) and sets every delay: at once for a cold start, else with a dip fade.
    fn replan_latency(&mut self, playing: bool) {
        let places: Vec<Vec<SlotPlace>> = self.strips.iter().map(Strip::planned_places).collect();
        let strips = &self.strips;
        let node_of = |s: StripRef| self.node_of(s);
        let slot_at = |n: usize, k: usize| -> Option<&InsertSlot> {
            match places[n].get(k).copied()? {
                SlotPlace::Running(i) => strips[n].inserts.get(i),
                SlotPlace::Queued(c) => match &strips[n].changes[c] {
                    ChainChange::Add { slot, .. } => Some(slot),
                    _ => None,
                },
            }
        };
        let latencies = insert_latencies(&self.graph, &self.plan, |strip, k| {
            match slot_at(node_of(strip), k).and_then(|slot| slot.effect.as_ref()) {
                Some(e) => InsertLatency {
                    current: e.latency(),
                    max: e.max_latency().max(e.latency()),
                },
                None => InsertLatency::default(),
            }
        });
        let order: Vec<StripRef> = self.order.iter().map(|&n| self.graph.nodes[n]).collect();
        let plan = plan_latency(&self.graph, &order, &latencies);
        for ((n, strip), node) in self.strips.iter_mut().enumerate().zip(plan.nodes) {
            strip.set_latency(StripLatency {
                alignment: node.alignment,
                before_insert: node.before_insert,
                output: node.output,
            });
            for (k, l) in latencies[n].iter().enumerate() {
                if let Some(slot) = strip.planned_slot(k) {
                    slot.planned_latency = l.current;
                }
            }
            if let StripRef::Track(i) = strip.kind {
                set_delay(&mut self.input_delays[i], node.alignment_max, node.input_delay, playing);
            }
        }
        for (line, edge_plan) in self.edge_delays.iter_mut().zip(&plan.edges) {
            set_delay(line, edge_plan.capacity, edge_plan.delay, playing);
        }
        self.total_latency = plan.total;
        self.transport.set_output_latency(plan.total);
    }

    /// Recomputes who sounds (docs/engine.md: mute wins over solo; buses stay audible under solo).
    fn update_audible(&mut self, immediately: bool) {
        let any_solo = self
            .strips
            .iter()
            .any(|s| matches!(s.kind, StripRef::Track(_)) && s.soloed);
        for s in &mut self.strips {
            let audible = match s.kind {
                StripRef::Track(_) => !s.muted && (!any_solo || s.soloed),
                StripRef::Bus(_) => !s.muted,
                StripRef::Master => true,
            };
            let value = if audible { 1.0 } else { 0.0 };
            if immediately {
                s.audible.set_immediately(value);
            } else if s.audible.target() != value {
                s.audible.set(value);
            }
        }
    }

    /// Renders `frames` frames: `inputs[i]` is track i's input (missing entries are silent; slices at least
    /// `frames` long), the master's output goes to `out_left`/`out_right` (at least `frames` long). The output
    /// lags the input by [`Engine::latency`] frames. Never allocates.
    pub fn render<I: TrackInputs + ?Sized>(
        &mut self,
        frames: usize,
        inputs: &I,
        out_left: &mut [f32],
        out_right: &mut [f32],
    ) {
        let mut done = 0;
        while done < frames {
            // A run ends at a loop wrap or where a pending jump lands.
            let n = self.transport.begin_run((frames - done).min(self.max_frames));
            self.render_block(
                done,
                n,
                inputs,
                &mut out_left[done..done + n],
                &mut out_right[done..done + n],
            );
            done += n;
        }
    }

    fn render_block(
        &mut self,
        offset: usize,
        n: usize,
        inputs: &(impl TrackInputs + ?Sized),
        out_left: &mut [f32],
        out_right: &mut [f32],
    ) {
        for s in &mut self.strips {
            s.in_active = false;
        }
        self.render_departing(offset, n, inputs);
        for k in 0..self.order.len() {
            let node = self.order[k];
            let kind = self.strips[node].kind;
            let silent = match kind {
                StripRef::Track(i) => {
                    let strip = &mut self.strips[node];
                    let (l, r) = (&mut strip.in_left[..n], &mut strip.in_right[..n]);
                    let silent = self.transport.inputs_closed() || load_input(inputs.input(i), offset, l, r);
                    let silent = self.transport.gate_input(l, r, silent);
                    self.input_delays[i].process(l, r, silent)
                }
                _ => !self.strips[node].in_active,
            };
            self.strips[node].render(n, self.transport.position(), silent);
            if kind == StripRef::Master {
                let strip = &self.strips[node];
                if strip.out_silent {
                    out_left.fill(0.0);
                    out_right.fill(0.0);
                } else {
                    out_left.copy_from_slice(&strip.out_left[..n]);
                    out_right.copy_from_slice(&strip.out_right[..n]);
                }
                self.master_meter.update(out_left, out_right);
            } else {
                self.distribute(node, n);
                self.deliver_keys(node, n);
            }
        }
        self.transport.end_run(out_left, out_right);
    }

    /// Carries a strip's output and sends along their edges: gain, compensation delay, then into the
    /// destination's sum.
    fn distribute(&mut self, node: usize, n: usize) {
        let sends = self.strips[node].sends.len();
        for k in 0..=sends {
            let strip = &self.strips[node];
            let (edge, tap_pre, gain, gain_constant) = if k == sends {
                let Some(edge) = strip.output_edge else { continue };
                (edge, false, &[][..], Some(1.0))
            } else {
                let s = &strip.sends[k];
                (s.edge, s.pre_fader, &s.gain[..n], s.gain_constant)
            };
            let dest_node = self.node_of(self.graph.edges[edge].to);
            let tap_silent = strip.asleep || (!tap_pre && strip.out_silent) || gain_constant == Some(0.0);
            let (sl, sr) = (&mut self.scratch_left[..n], &mut self.scratch_right[..n]);
            if !tap_silent {
                let (tl, tr) = strip.tap(tap_pre);
                match gain_constant {
                    Some(g) => {
                        for i in 0..n {
                            sl[i] = tl[i] * g;
                            sr[i] = tr[i] * g;
                        }
                    }
                    None => {
                        for i in 0..n {
                            sl[i] = tl[i] * gain[i];
                            sr[i] = tr[i] * gain[i];
                        }
                    }
                }
            } else {
                sl.fill(0.0);
                sr.fill(0.0);
            }
            if k == sends {
                let entering = &mut self.strips[node].output_entering;
                if let Some(done) = entering {
                    *done = fade_in(sl, sr, *done, self.change_fade_frames);
                    if *done >= self.change_fade_frames {
                        *entering = None;
                    }
                }
            }
            let silent = self.edge_delays[edge].process(sl, sr, tap_silent);
            if silent {
                continue;
            }
            self.strips[dest_node].add_to_input(sl, sr);
        }
        if !self.leaving.is_empty() {
            self.distribute_leaving(node, n);
        }
    }
}

impl Engine {
    /// Carries a strip's output (post-fader, post-pan and after its mute: what its output edge carries) along
    /// its sidechain edges: the compensation delay, then into the key buffer of the keyed insert, which renders
    /// later in the order.
    fn deliver_keys(&mut self, node: usize, n: usize) {
        for k in 0..self.strips[node].key_edges.len() {
            let edge = self.strips[node].key_edges[k];
            let (to, kind) = (self.graph.edges[edge].to, self.graph.edges[edge].kind);
            if !matches!(kind, EdgeKind::Sidechain { .. }) {
                continue;
            }
            let dest = self.node_of(to);
            let strip = &self.strips[node];
            let source_silent = strip.asleep || strip.out_silent;
            let (sl, sr) = (&mut self.scratch_left[..n], &mut self.scratch_right[..n]);
            if source_silent {
                sl.fill(0.0);
                sr.fill(0.0);
            } else {
                sl.copy_from_slice(&strip.out_left[..n]);
                sr.copy_from_slice(&strip.out_right[..n]);
            }
            let silent = self.edge_delays[edge].process(sl, sr, source_silent);
            // Found by its edge: while a chain change waits, the running chain's positions are not the plan's.
            let key = self.strips[dest]
                .inserts
                .iter_mut()
                .find_map(|s| s.key.as_mut().filter(|k| k.edge == edge));
            if let Some(key) = key {
                key.write((!silent).then_some((&*sl, &*sr)));
            }
        }
    }
}

/// Copies a track's input into its buffers, sanitised once (non-finite samples become 0, before anything else
/// sees them); returns whether the block is all zeros.
fn load_input(input: TrackInput, offset: usize, left: &mut [f32], right: &mut [f32]) -> bool {
    let n = left.len();
    match input {
        TrackInput::Silent => return true,
        TrackInput::Mono(m) => {
            left.copy_from_slice(&m[offset..offset + n]);
            denormal::sanitize(left);
            right.copy_from_slice(left);
        }
        TrackInput::Stereo(l, r) => {
            left.copy_from_slice(&l[offset..offset + n]);
            right.copy_from_slice(&r[offset..offset + n]);
            denormal::sanitize(left);
            denormal::sanitize(right);
        }
    }
    left.iter().chain(right.iter()).all(|&x| x == 0.0)
}

/// Sizes a compensation delay for the most its path can need and sets its delay: at once (a cold start) or,
/// while playing, with a dip fade.
fn set_delay(line: &mut CompensationDelay, capacity: usize, delay: usize, playing: bool) {
    line.ensure_capacity(capacity);
    if line.delay() == delay {
        return;
    }
    if playing {
        line.retarget(delay);
    } else {
        line.set_delay(delay);
    }
}

/// The insert at position `insert` of the chain as the plan has it (queued changes made). Allocates only to
/// format an error.
fn planned_slot(strip: &mut Strip, insert: usize) -> Result<&mut InsertSlot, CommandError> {
    if strip.planned_place(insert).is_none() {
        let len = strip.planned_places().len();
        return Err(CommandError(format!("no insert {insert} (the chain has {len})")));
    }
    strip
        .planned_slot(insert)
        .ok_or_else(|| CommandError(format!("no insert {insert}")))
}

/// Checks that position `insert` exists in a strip's planned chain.
fn check_planned(plan: &mut ProjectPlan, strip: StripRef, insert: usize) -> Result<(), CommandError> {
    let len = plan_inserts(plan, strip).len();
    if insert >= len {
        return Err(CommandError(format!("no insert {insert} (the chain has {len})")));
    }
    Ok(())
}

fn plan_inserts(plan: &mut ProjectPlan, strip: StripRef) -> &mut Vec<InsertPlan> {
    match strip {
        StripRef::Track(i) => &mut plan.tracks[i].inserts,
        StripRef::Bus(b) => &mut plan.buses[b].inserts,
        StripRef::Master => &mut plan.master.inserts,
    }
}

/// A strip of the plan with its effects created and its static values set from the first sample.
fn build_strip(
    plan: &ProjectPlan,
    graph: &RoutingGraph,
    kind: StripRef,
    sample_rate: f64,
    max_frames: usize,
) -> Result<Strip, ProjectError> {
    let mut strip = Strip::new(kind, sample_rate, max_frames);
    let param = |v: f64| Param::new(v, sample_rate, max_frames);
    match kind {
        StripRef::Track(i) => {
            let t = &plan.tracks[i];
            strip.input_gain = param(t.input_gain_db);
            strip.phase_flip = t.phase_flip;
            strip.width = param(t.stereo_width_percent);
            strip.volume = param(t.volume_db);
            strip.pan = param(t.pan);
            strip.muted = t.muted;
            strip.soloed = t.soloed;
        }
        StripRef::Bus(b) => {
            let bus = &plan.buses[b];
            strip.volume = param(bus.volume_db);
            strip.pan = param(bus.pan);
            strip.muted = bus.muted;
        }
        StripRef::Master => strip.volume = param(plan.master.volume_db),
    }
    for insert in plan.inserts(kind) {
        let effect = insert.create(sample_rate, plan.bpm)?;
        strip
            .inserts
            .push(InsertSlot::new(insert.id.clone(), effect, Vec::new(), max_frames));
    }
    for (e, edge) in graph.edges.iter().enumerate() {
        if let (EdgeKind::Sidechain { insert }, true) = (edge.kind, edge.to == kind) {
            if let Some(slot) = strip.inserts.get_mut(insert) {
                slot.key = Some(KeyInput::new(e, max_frames));
            }
        }
    }
    for (e, edge) in graph.edges.iter().enumerate() {
        if edge.from != kind {
            continue;
        }
        match edge.kind {
            EdgeKind::Output => strip.output_edge = Some(e),
            EdgeKind::Send { send, pre_fader } => {
                let s = &plan.sends(kind)[send];
                strip.sends.push(SendSlot {
                    edge: e,
                    pre_fader,
                    enabled: s.enabled,
                    level: param(s.level_db),
                    gain: vec![0.0; max_frames],
                    gain_constant: None,
                    last_gain: 0.0,
                });
            }
            EdgeKind::Sidechain { .. } => strip.key_edges.push(e),
        }
    }
    Ok(strip)
}
