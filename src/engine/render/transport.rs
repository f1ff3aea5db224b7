//! The running transport inside the engine (docs/engine.md, "Transport"): play, pause, stop, seek, loop, tempo,
//! time signature, the metronome and the micro-fades, on the audio clock. The arithmetic (frames, beats, tempo
//! anchors, loop wrap, click frames) is [`crate::engine::control::transport`]; this module holds the state that
//! moves with the quanta and the buffers it fills, all sized when the engine is built (nothing allocates inside
//! a quantum).
//!
//! The engine renders in runs: a run never crosses a loop wrap or the frame where a pending jump lands, so every
//! run has one contiguous stretch of timeline frames and every position-dependent value (automation, the
//! metronome) follows the transport position exactly, even when a wrap falls inside a quantum.
//!
//! Micro-fades (real-time only): the track inputs are scaled by a gate gain that moves by 1/F per frame
//! (F = [`TRANSPORT_FADE_S`] of frames, rounded down). Play fades in from 0; pause, stop and seek while playing
//! fade out over [X, X+F) while the timeline keeps running (the host keeps feeding the old position), then the
//! jump lands at X+F and the new position fades in. A loop wrap is known in advance: the fade-out ends at the
//! loop end ([E-F, E)) and the loop start fades in ([S, S+F)), so the loop stays exactly E-S frames long.
//! Tails of the inserts and the audio already in the graph ring on; only the inputs are gated.

use super::delay::CompensationDelay;
use super::engine::CommandError;
use crate::engine::control::plan::{ProjectPlan, BPM, METRONOME_VOLUME, TIME_S};
use crate::engine::control::transport::{Click, LoopFrames, TimeSignature, Transport};
use crate::engine::control::vocabulary::seconds_to_frame;
use std::f64::consts::TAU;

/// The longest transport fade (docs/engine.md: "a short fade (at most 5 ms)"); F = floor(5 ms x sampleRate).
pub const TRANSPORT_FADE_S: f64 = 0.005;
/// Ticks per beat in the UI snapshot (the common MIDI resolution of 960 PPQ).
pub const TICKS_PER_BEAT: u32 = 960;
/// The metronome click: a sine burst `amplitude x env(k) x sin(2 pi f k / sampleRate)` for 0 <= k < D, with
/// env(k) = min(1, k / A) x (1 - k / D)^2 (a 1 ms linear attack, then a quadratic decay to zero at 30 ms).
pub const CLICK_S: f64 = 0.030;
pub const CLICK_ATTACK_S: f64 = 0.001;
/// The accented click (beat 1 of a bar, when `accent_first`) sounds higher, at the full metronome volume...
pub const CLICK_ACCENT_HZ: f64 = 1_500.0;
/// ...the other beats lower and 6 dB softer.
pub const CLICK_BEAT_HZ: f64 = 1_000.0;
pub const CLICK_BEAT_LEVEL: f64 = 0.5;

/// Whether the transport plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayState {
    Playing,
    /// Stopped where it was.
    Paused,
    /// Stopped and returned to frame 0.
    Stopped,
}

/// A seek target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeekTarget {
    Frames(u64),
    /// frame = round(seconds x sampleRate).
    Seconds(f64),
    /// A beat count from the timeline's start through the tempo map (beat 0 = frame 0 before any change).
    Beats(f64),
}

/// A transport change from the UI (the worklet's messages), applied between quanta.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TransportCommand {
    Play,
    Pause,
    /// Stops and returns to frame 0.
    Stop,
    Seek(SeekTarget),
    /// The app's `setLoopRegion(startTime, endTime, enabled)`: loops [start, end) while enabled.
    Loop {
        enabled: bool,
        start_s: f64,
        end_s: f64,
    },
    /// A new tempo from the current position on (the beat count there is kept); tempo-synced inserts hear it.
    Tempo {
        bpm: f64,
    },
    /// A new time signature: a new bar starts at the next whole beat.
    TimeSignature(TimeSignature),
    /// The metronome: `volume` linear 0..1; `accent_first` accents beat 1 of each bar.
    Metronome {
        enabled: bool,
        volume: f64,
        accent_first: bool,
    },
    /// Micro-fades on (the default: a live host) or off (an offline render applies none).
    Fades {
        enabled: bool,
    },
}

/// The UI's snapshot of the transport. Copy; reading it never allocates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransportState {
    pub play_state: PlayState,
    /// The timeline frame of the next quantum's input (what a host feeds from).
    pub input_frame: u64,
    /// The timeline frame heard now: while playing, the frame whose input went in the total latency ago (loop
    /// wraps and jumps included); while paused or stopped, the input frame.
    pub frame: u64,
    /// `frame` in seconds.
    pub seconds: f64,
    /// 1-based bar, 1-based beat within it and 0-based tick within the beat ([`TICKS_PER_BEAT`]) at `frame`.
    pub bar: u64,
    pub beat: u32,
    pub tick: u32,
    pub bpm: f64,
    pub signature: TimeSignature,
    /// The loop region in frames, when looping.
    pub loop_region: Option<LoopFrames>,
    pub metronome: bool,
}

impl TransportState {
    pub fn playing(&self) -> bool {
        self.play_state == PlayState::Playing
    }
    pub fn looping(&self) -> bool {
        self.loop_region.is_some()
    }
}

/// A stretch of a quantum's input frames whose audio comes from one contiguous stretch of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputRun {
    /// Where the run starts in the quantum.
    pub offset: usize,
    pub frames: usize,
    /// The timeline frame of its first sample.
    pub timeline_frame: u64,
    /// False while paused or stopped: the engine ignores these input frames.
    pub playing: bool,
}

/// A jump waiting for the fade-out to end.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    jump: Option<u64>,
    after: PlayState,
}

/// The part of the transport that decides positions and gate gains: plain data (cloning it never allocates),
/// so a host can preview a quantum's input runs on a copy.
#[derive(Debug, Clone, PartialEq)]
struct Clock {
    timeline: Transport,
    state: PlayState,
    /// The gate gain in steps of 1/F: 0..=F. It rises while nothing is pending and falls while a jump waits.
    level: u32,
    fade_frames: u32,
    pending: Option<Pending>,
    fades: bool,
}

impl Clock {
    fn new(timeline: Transport, fade_frames: u32) -> Self {
        let mut clock = Clock {
            timeline,
            state: PlayState::Playing,
            level: fade_frames,
            fade_frames,
            pending: None,
            fades: true,
        };
        clock.timeline.play();
        clock
    }

    fn playing(&self) -> bool {
        self.state == PlayState::Playing
    }

    /// Lands a pending jump once its fade-out has reached silence.
    fn land_pending(&mut self) {
        if self.level > 0 {
            return;
        }
        if let Some(p) = self.pending.take() {
            if let Some(frame) = p.jump {
                self.timeline.seek_frames(frame);
            }
            self.set_state(p.after);
        }
    }

    fn set_state(&mut self, state: PlayState) {
        self.state = state;
        if state == PlayState::Playing {
            self.timeline.play();
        } else {
            self.timeline.pause();
            self.level = 0;
        }
    }

    /// A jump (and the state after it): at once when not playing or without fades, else after a fade-out.
    fn jump(&mut self, jump: Option<u64>, after: PlayState) {
        if self.playing() && self.fades {
            let jump = jump.or(self.pending.and_then(|p| p.jump));
            self.pending = Some(Pending { jump, after });
            self.land_pending();
            return;
        }
        self.pending = None;
        if let Some(frame) = jump {
            self.timeline.seek_frames(frame);
        }
        if after == PlayState::Playing && !self.playing() {
            self.start_playing();
        } else if after != PlayState::Playing {
            self.set_state(after);
        }
    }

    fn start_playing(&mut self) {
        self.set_state(PlayState::Playing);
        self.level = if self.fades { 0 } else { self.fade_frames };
    }

    fn play(&mut self) {
        match self.pending {
            // A pause not yet landed is cancelled; a pending seek or stop still lands, then plays on.
            Some(p) if p.jump.is_none() => self.pending = None,
            Some(p) => {
                self.pending = Some(Pending {
                    after: PlayState::Playing,
                    ..p
                })
            }
            None if !self.playing() => self.start_playing(),
            None => {}
        }
    }

    /// How many frames (at most `max`) the next run has: it ends at a loop wrap or where a pending jump lands.
    fn run_len(&self, max: usize) -> usize {
        if !self.playing() {
            return max;
        }
        let mut n = max as u64;
        if let Some(wrap) = self
            .timeline
            .loop_region
            .and_then(|l| l.frames_before_wrap(self.timeline.position(), n))
        {
            n = n.min(wrap);
        }
        if self.pending.is_some() {
            n = n.min(u64::from(self.level));
        }
        n.max(1) as usize
    }

    /// The gate gain of the run's frame `i` (see the module's doc): the level ramp, limited before a loop wrap.
    fn gain(&self, i: u32) -> f32 {
        let f = self.fade_frames;
        let mut steps = if self.pending.is_some() {
            self.level.saturating_sub(i)
        } else {
            (self.level + i).min(f)
        };
        if self.fades {
            if let Some(l) = self.timeline.loop_region {
                let position = self.timeline.position() + u64::from(i);
                if l.end > l.start && position < l.end {
                    steps = steps.min((l.end - position).min(u64::from(f)) as u32);
                }
            }
        }
        if f == 0 {
            1.0
        } else {
            (f64::from(steps) / f64::from(f)) as f32
        }
    }

    /// Whether every frame of a run of `n` has gain 1.
    fn open(&self, n: usize) -> bool {
        let f = self.fade_frames;
        if !self.playing() || self.pending.is_some() && f > 0 || self.level < f {
            return false;
        }
        match self.timeline.loop_region {
            Some(l) if self.fades && l.end > l.start => {
                let end = self.timeline.position() + n as u64;
                self.timeline.position() >= l.end || end + u64::from(f) <= l.end
            }
            _ => true,
        }
    }

    /// Plays a run of `n` frames: the position advances (wrapping at the loop end, where the loop start fades
    /// in), the level moves along its ramp.
    fn advance(&mut self, n: usize) {
        if !self.playing() {
            return;
        }
        let before = self.timeline.position();
        let wraps = self
            .timeline
            .loop_region
            .and_then(|l| l.frames_before_wrap(before, n as u64))
            .is_some();
        self.timeline.advance(n as u64);
        let n = n.min(u32::MAX as usize) as u32;
        self.level = if self.pending.is_some() {
            self.level.saturating_sub(n)
        } else {
            (self.level + n).min(self.fade_frames)
        };
        if wraps && self.fades {
            self.level = 0;
        }
    }
}

/// One sounding metronome click.
#[derive(Debug, Clone, Copy, Default)]
struct Voice {
    /// Frames since its onset; `None` when silent.
    age: Option<u32>,
    /// Radians per frame.
    phase_step: f64,
    amplitude: f64,
}

/// The metronome: click onsets from the transport arithmetic, synthesised by two voices (a click at a loop's end
/// may still ring when the loop start's click begins).
#[derive(Debug, Clone)]
struct Metronome {
    enabled: bool,
    volume: f64,
    accent_first: bool,
    voices: [Voice; 2],
    click_frames: u32,
    attack_frames: u32,
    sample_rate: f64,
}

impl Metronome {
    /// The click envelope at frame `k` of a click (see [`CLICK_S`]).
    fn envelope(&self, k: u32) -> f64 {
        let attack = (f64::from(k) / f64::from(self.attack_frames.max(1))).min(1.0);
        let decay = 1.0 - f64::from(k) / f64::from(self.click_frames);
        attack * decay * decay
    }

    /// Starts a click in a free voice (or else the older one); returns the voice.
    fn start(&mut self, click: Click) -> usize {
        let accent = self.accent_first && click.downbeat;
        let (hz, level) = if accent {
            (CLICK_ACCENT_HZ, 1.0)
        } else {
            (CLICK_BEAT_HZ, CLICK_BEAT_LEVEL)
        };
        let k = match self.voices.iter().position(|v| v.age.is_none()) {
            Some(k) => k,
            None => usize::from(self.voices[1].age > self.voices[0].age),
        };
        self.voices[k] = Voice {
            age: Some(0),
            phase_step: TAU * hz / self.sample_rate,
            amplitude: self.volume * level,
        };
        k
    }

    /// Adds voice `k` into `out[from..]`; returns whether it sounded.
    fn render_voice(&mut self, k: usize, out: &mut [f32], from: usize) -> bool {
        let voice = self.voices[k];
        let Some(mut age) = voice.age else { return false };
        for x in out[from..].iter_mut() {
            if age >= self.click_frames {
                break;
            }
            *x += (voice.amplitude * self.envelope(age) * (voice.phase_step * f64::from(age)).sin()) as f32;
            age += 1;
        }
        self.voices[k].age = (age < self.click_frames).then_some(age);
        true
    }
}

/// How many stretches of played timeline the heard position is looked up in: enough for the latency of any
/// chain unless the loop is only a few quanta long (then the position falls back to input frame - latency).
const HISTORY_RUNS: usize = 32;

/// A stretch of the timeline as it went into the graph: from output-clock frame `clock` on, timeline frames
/// from `timeline` on (or held there when not playing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct HeardRun {
    clock: u64,
    timeline: u64,
    playing: bool,
}

/// The recent runs, newest last in a ring, so the snapshot can say which timeline frame the output is playing
/// when the latency spans a loop wrap or a jump. Fixed size: never allocates.
#[derive(Debug, Clone)]
struct History {
    runs: [HeardRun; HISTORY_RUNS],
    len: usize,
    next: usize,
    /// Frames rendered so far (the output clock).
    clock: u64,
}

impl History {
    fn new() -> Self {
        History {
            runs: [HeardRun::default(); HISTORY_RUNS],
            len: 0,
            next: 0,
            clock: 0,
        }
    }

    fn newest(&self, back: usize) -> HeardRun {
        self.runs[(self.next + HISTORY_RUNS - 1 - back) % HISTORY_RUNS]
    }

    /// Records a run of `frames` starting at timeline frame `timeline` (merged into the newest when it continues
    /// it).
    fn record(&mut self, timeline: u64, playing: bool, frames: usize) {
        let continues = self.len > 0 && {
            let last = self.newest(0);
            let expected = if last.playing {
                last.timeline + (self.clock - last.clock)
            } else {
                last.timeline
            };
            last.playing == playing && expected == timeline
        };
        if !continues {
            self.runs[self.next] = HeardRun {
                clock: self.clock,
                timeline,
                playing,
            };
            self.next = (self.next + 1) % HISTORY_RUNS;
            self.len = (self.len + 1).min(HISTORY_RUNS);
        }
        self.clock += frames as u64;
    }

    /// The timeline frame that went in `latency` frames before the next one, if the history reaches back there.
    fn heard(&self, latency: u64) -> Option<u64> {
        let target = self.clock.checked_sub(latency)?;
        (0..self.len)
            .map(|back| self.newest(back))
            .find(|r| r.clock <= target)
            .map(|r| {
                if r.playing {
                    r.timeline + (target - r.clock)
                } else {
                    r.timeline
                }
            })
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// What the engine's track inputs get in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Open,
    Closed,
    /// Scaled by `gains[..n]`.
    Ramp,
}

/// The engine's transport: the clock, the gate gains of the current run, and the metronome with its delay.
#[derive(Debug, Clone)]
pub struct EngineTransport {
    clock: Clock,
    gate: Gate,
    gains: Vec<f32>,
    metronome: Metronome,
    click_left: Vec<f32>,
    click_right: Vec<f32>,
    click_silent: bool,
    /// Delays the clicks by the total latency, so a click sounds with the audio of its timeline frame.
    click_delay: CompensationDelay,
    history: History,
    sample_rate: f64,
}

impl EngineTransport {
    /// Playing from frame 0 with the project's tempo, signature and metronome (its loop region is not applied:
    /// an offline render ignores it; a live host sends [`TransportCommand::Loop`]).
    pub fn new(plan: &ProjectPlan, sample_rate: f64, max_frames: usize) -> Self {
        let fade_frames = (TRANSPORT_FADE_S * sample_rate).floor() as u32;
        let metronome = plan.metronome.as_ref();
        EngineTransport {
            clock: Clock::new(Transport::new(sample_rate, plan.bpm, plan.time_signature), fade_frames),
            gate: Gate::Open,
            gains: vec![1.0; max_frames],
            metronome: Metronome {
                enabled: metronome.is_some_and(|m| m.enabled),
                volume: metronome.map_or(0.0, |m| m.volume),
                accent_first: metronome.map_or(true, |m| m.accent_first),
                voices: [Voice::default(); 2],
                click_frames: ((CLICK_S * sample_rate).round() as u32).max(1),
                attack_frames: (CLICK_ATTACK_S * sample_rate).round() as u32,
                sample_rate,
            },
            click_left: vec![0.0; max_frames],
            click_right: vec![0.0; max_frames],
            click_silent: true,
            click_delay: CompensationDelay::new(0, 0, sample_rate),
            history: History::new(),
            sample_rate,
        }
    }

    /// The timeline frame of the next input frame.
    pub fn position(&self) -> u64 {
        self.clock.timeline.position()
    }

    /// The fade length F in frames.
    pub fn fade_frames(&self) -> u32 {
        self.clock.fade_frames
    }

    /// Applies a command (validated; a bad value is an error naming it). Allocates only for an error.
    pub fn apply(&mut self, command: TransportCommand) -> Result<(), CommandError> {
        let clock = &mut self.clock;
        match command {
            TransportCommand::Play => clock.play(),
            // A stopped transport stays stopped (at its start point).
            TransportCommand::Pause if clock.state == PlayState::Stopped && clock.pending.is_none() => {}
            TransportCommand::Pause => clock.jump(None, PlayState::Paused),
            TransportCommand::Stop => clock.jump(Some(0), PlayState::Stopped),
            TransportCommand::Seek(target) => {
                let frame = seek_frame(&clock.timeline, target)?;
                // A stopped transport is no longer at its start point after a seek: it is paused there.
                let after = match clock.pending.map_or(clock.state, |p| p.after) {
                    PlayState::Stopped => PlayState::Paused,
                    state => state,
                };
                clock.jump(Some(frame), after);
            }
            TransportCommand::Loop {
                enabled,
                start_s,
                end_s,
            } => {
                clock.timeline.loop_region = if enabled {
                    for (name, s) in [("start", start_s), ("end", end_s)] {
                        if !TIME_S.contains(s) {
                            return Err(CommandError(format!(
                                "loop {name} must be within 0 to 86400 s, got {s}"
                            )));
                        }
                    }
                    let region = LoopFrames::from_seconds(start_s, end_s, self.sample_rate);
                    if region.end <= region.start {
                        return Err(CommandError(format!(
                            "loop end ({end_s} s) must be at least one frame after its start ({start_s} s)"
                        )));
                    }
                    Some(region)
                } else {
                    None
                };
            }
            TransportCommand::Tempo { bpm } => {
                if !BPM.contains(bpm) {
                    return Err(CommandError(format!("tempo must be within 1 to 999 BPM, got {bpm}")));
                }
                let at = clock.timeline.position();
                clock.timeline.set_tempo(bpm, at);
            }
            TransportCommand::TimeSignature(signature) => {
                let (beats, unit) = (signature.beats_per_bar, signature.beat_unit);
                if !(1..=64).contains(&beats) || ![1, 2, 4, 8, 16, 32].contains(&unit) {
                    return Err(CommandError(format!(
                        "time signature {beats}/{unit}: beats must be 1 to 64 and the unit 1, 2, 4, 8, 16 or 32"
                    )));
                }
                let at = clock.timeline.position();
                clock.timeline.set_signature(signature, at);
            }
            TransportCommand::Metronome {
                enabled,
                volume,
                accent_first,
            } => {
                if !METRONOME_VOLUME.contains(volume) {
                    return Err(CommandError(format!(
                        "metronome volume must be within 0 to 1, got {volume}"
                    )));
                }
                let m = &mut self.metronome;
                (m.enabled, m.volume, m.accent_first) = (enabled, volume, accent_first);
            }
            TransportCommand::Fades { enabled } => {
                clock.fades = enabled;
                if !enabled {
                    // Any fade under way ends now; a pending jump lands at once.
                    clock.level = if clock.playing() { clock.fade_frames } else { 0 };
                    if let Some(p) = clock.pending {
                        clock.pending = None;
                        clock.jump(p.jump, p.after);
                    }
                }
            }
        }
        Ok(())
    }

    /// A cold start at `frame` (the engine's `seek`): no fade, the pending jump dropped, the metronome silenced.
    pub fn cold_start(&mut self, frame: u64) {
        let clock = &mut self.clock;
        clock.pending = None;
        clock.timeline.seek_frames(frame);
        clock.level = if clock.playing() { clock.fade_frames } else { 0 };
        for v in &mut self.metronome.voices {
            v.age = None;
        }
        self.click_delay.clear();
        self.history.clear();
    }

    /// Sets the metronome's delay to the total latency (between quanta: may allocate when it grows). A click in
    /// flight dips and re-aligns as the other paths do.
    pub fn set_output_latency(&mut self, frames: usize) {
        self.click_delay.retarget(frames);
    }

    /// Starts a run of at most `max` frames (at most the engine's block size): lands a pending jump whose
    /// fade-out has ended, decides the run's length, its gate gains and its metronome clicks. Returns the
    /// run's length. Never allocates.
    pub fn begin_run(&mut self, max: usize) -> usize {
        let clock = &mut self.clock;
        clock.land_pending();
        let n = clock.run_len(max);
        self.gate = if !clock.playing() {
            Gate::Closed
        } else if clock.open(n) {
            Gate::Open
        } else {
            for (i, g) in self.gains[..n].iter_mut().enumerate() {
                *g = clock.gain(i as u32);
            }
            Gate::Ramp
        };
        let clicks = &mut self.click_left[..n];
        clicks.fill(0.0);
        let m = &mut self.metronome;
        let mut sounding = false;
        for k in 0..m.voices.len() {
            sounding |= m.render_voice(k, clicks, 0);
        }
        if m.enabled && clock.playing() {
            let start = clock.timeline.position();
            clock.timeline.clicks(start, n as u64, |click| {
                let k = m.start(click);
                sounding |= m.render_voice(k, clicks, (click.frame - start) as usize);
            });
        }
        self.click_silent = !sounding;
        n
    }

    /// Gates a track's input of the current run; returns whether it is now silent.
    pub fn gate_input(&self, left: &mut [f32], right: &mut [f32], silent: bool) -> bool {
        match self.gate {
            Gate::Open => silent,
            Gate::Closed => true,
            Gate::Ramp => {
                if !silent {
                    let gains = &self.gains[..left.len()];
                    for ((l, r), g) in left.iter_mut().zip(right.iter_mut()).zip(gains) {
                        *l *= g;
                        *r *= g;
                    }
                }
                silent
            }
        }
    }

    /// Whether the current run ignores the inputs (paused or stopped): a host's input is not even read.
    pub fn inputs_closed(&self) -> bool {
        self.gate == Gate::Closed
    }

    /// Ends the run: mixes the (latency-delayed) clicks into the output and advances the clock.
    pub fn end_run(&mut self, out_left: &mut [f32], out_right: &mut [f32]) {
        let n = out_left.len();
        let (cl, cr) = (&mut self.click_left[..n], &mut self.click_right[..n]);
        if self.click_silent {
            cr.fill(0.0);
        } else {
            cr.copy_from_slice(cl);
        }
        if !self.click_delay.process(cl, cr, self.click_silent) {
            for (o, c) in out_left.iter_mut().zip(cl.iter()) {
                *o += c;
            }
            for (o, c) in out_right.iter_mut().zip(cr.iter()) {
                *o += c;
            }
        }
        self.history
            .record(self.clock.timeline.position(), self.clock.playing(), n);
        self.clock.advance(n);
    }

    /// The input runs of the next `frames` frames rendered in blocks of at most `max_frames`, merged where the
    /// timeline continues: where a host takes each run's audio from. Allocates nothing.
    pub fn input_runs(&self, frames: usize, max_frames: usize, mut emit: impl FnMut(InputRun)) {
        let mut clock = self.clock.clone();
        let mut run: Option<InputRun> = None;
        let mut done = 0;
        while done < frames {
            clock.land_pending();
            let n = clock.run_len((frames - done).min(max_frames.max(1)));
            let next = InputRun {
                offset: done,
                frames: n,
                timeline_frame: clock.timeline.position(),
                playing: clock.playing(),
            };
            run = match run {
                Some(r)
                    if r.playing == next.playing
                        && (!r.playing || r.timeline_frame + r.frames as u64 == next.timeline_frame) =>
                {
                    Some(InputRun {
                        frames: r.frames + n,
                        ..r
                    })
                }
                Some(r) => {
                    emit(r);
                    Some(next)
                }
                None => Some(next),
            };
            clock.advance(n);
            done += n;
        }
        if let Some(r) = run {
            emit(r);
        }
    }

    /// The UI's snapshot; `latency` is the engine's total latency. Never allocates.
    pub fn state(&self, latency: usize) -> TransportState {
        let timeline = &self.clock.timeline;
        let playing = self.clock.playing();
        let heard = if playing {
            let fallback = timeline.position().saturating_sub(latency as u64);
            self.history.heard(latency as u64).unwrap_or(fallback)
        } else {
            timeline.position()
        };
        let snapshot = timeline.snapshot_at(heard);
        let beats = timeline.beats_at(snapshot.sample_frame);
        let tick = ((beats - beats.floor()) * f64::from(TICKS_PER_BEAT)) as u32;
        TransportState {
            play_state: self.clock.state,
            input_frame: timeline.position(),
            frame: snapshot.sample_frame,
            seconds: snapshot.time_seconds,
            bar: snapshot.bar,
            beat: snapshot.beat,
            tick: tick.min(TICKS_PER_BEAT - 1),
            bpm: snapshot.bpm,
            signature: timeline.signature(),
            loop_region: timeline.loop_region,
            metronome: self.metronome.enabled,
        }
    }
}

/// The frame a seek lands on, validated.
fn seek_frame(timeline: &Transport, target: SeekTarget) -> Result<u64, CommandError> {
    let bad = |what: &str, v: f64| CommandError(format!("seek: {what} must be a finite number >= 0, got {v}"));
    match target {
        SeekTarget::Frames(f) => Ok(f),
        SeekTarget::Seconds(s) if s.is_finite() && s >= 0.0 => Ok(seconds_to_frame(s, timeline.sample_rate)),
        SeekTarget::Seconds(s) => Err(bad("seconds", s)),
        SeekTarget::Beats(b) if b.is_finite() && b >= 0.0 => Ok(timeline.frame_of_beat(b).round().max(0.0) as u64),
        SeekTarget::Beats(b) => Err(bad("beats", b)),
    }
}
