//! The plan a project is validated into ([`ProjectPlan`]): plain Rust values in the app's units, where every
//! reference is an index. The parser ([`super::project`]) builds it; the routing, the automation, the transport
//! and the render side read it.

use super::error::{Problem, ProjectError, Warning};
use super::json::{Range, Result};
use super::vocabulary::{db_to_gain, seconds_to_frame, AutomationMode, CurveType, Lfo, TimeSignature};
use crate::effects::{Effect, EffectEntry};
use std::path::PathBuf;

/// Fader and send levels in dB: the app's fader spans -60..+12; at or below -60 dB is silence, and lower values
/// are accepted down to -144 dB (below the 24-bit floor) so a project that stores "off" as a large negative
/// number loads.
pub const LEVEL_DB: Range = Range::new(-144.0, 12.0, "dB");
/// Input gain (trim) in dB.
pub const INPUT_GAIN_DB: Range = Range::new(-48.0, 24.0, "dB");
/// Pan, -1 (left) .. 1 (right), the StereoPannerNode's range.
pub const PAN: Range = Range::new(-1.0, 1.0, "");
/// Stereo width in %: 0 mono, 100 unchanged, 200 the side signal doubled.
pub const STEREO_WIDTH_PERCENT: Range = Range::new(0.0, 200.0, "%");
/// Timeline times (clip starts, offsets, durations, fades, automation points, loops): up to 24 hours.
pub const TIME_S: Range = Range::new(0.0, 86_400.0, "s");
/// Clip gain in dB.
pub const CLIP_GAIN_DB: Range = Range::new(-144.0, 24.0, "dB");
/// Tempo in beats per minute.
pub const BPM: Range = Range::new(1.0, 999.0, "BPM");
/// Metronome volume, linear 0..1 (the app's MetronomeSettings).
pub const METRONOME_VOLUME: Range = Range::new(0.0, 1.0, "");

/// The routing value that sends a strip to the master (the app writes "Master").
pub const MASTER_ROUTING: &str = "Master";
/// The app's id for its master track, also accepted as an automation target.
pub const MASTER_TRACK_ID: &str = "master-main";
/// The automation target and routing alias for the master.
pub const MASTER_ALIAS: &str = "master";

/// The effects whose detector can take a key input from another strip.
pub const SIDECHAIN_EFFECTS: &[&str] = &["compressor", "expander", "gate"];

/// The kind of a track that plays (or is silent) in the mixer; `aux` tracks become buses, `vca` tracks are
/// ignored and the `master` track is the master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Audio,
    Instrument,
    /// Silent: no audio source (the engine plays no MIDI), but its inserts and routing are valid.
    Midi,
}

/// Where a strip's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Master,
    /// An index into [`ProjectPlan::buses`].
    Bus(usize),
}

/// A mixer strip: a track, a bus or the master, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StripRef {
    Track(usize),
    Bus(usize),
    Master,
}

/// What an insert runs.
#[derive(Clone)]
pub enum InsertKind {
    /// An effect from the registry with validated values (defaults, then the preset, then `parameters`).
    Effect {
        entry: &'static EffectEntry,
        preset: Option<String>,
        parameters: Vec<(&'static str, f64)>,
        /// The wave-shaper's custom curve.
        curve: Option<Vec<f32>>,
    },
    /// The app's `meter` and `utility` plugins: audio passes unchanged.
    PassThrough,
    /// A plugin type the engine does not know (`third-party`, anything else): bypassed, with a warning.
    Bypassed,
}

impl std::fmt::Debug for InsertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InsertKind::Effect {
                entry,
                preset,
                parameters,
                curve,
            } => f
                .debug_struct("Effect")
                .field("effect", &entry.spec.id)
                .field("preset", preset)
                .field("parameters", parameters)
                .field("curve", &curve.as_ref().map(|c| c.len()))
                .finish(),
            InsertKind::PassThrough => f.write_str("PassThrough"),
            InsertKind::Bypassed => f.write_str("Bypassed"),
        }
    }
}

/// One insert of a strip.
#[derive(Debug, Clone)]
pub struct InsertPlan {
    /// The plugin id (`"#<index>"` when the JSON gives none; such an insert cannot be an automation target).
    pub id: String,
    pub name: String,
    /// The JSON path of the insert (`tracks[0].inserts[1]`).
    pub path: String,
    pub kind: InsertKind,
    pub enabled: bool,
    /// The strip whose output keys this insert's detector (compressor, expander, gate only).
    pub sidechain: Option<Sidechain>,
}

impl InsertPlan {
    /// The effect id, when the insert runs one.
    pub fn effect_id(&self) -> Option<&'static str> {
        match &self.kind {
            InsertKind::Effect { entry, .. } => Some(entry.spec.id),
            _ => None,
        }
    }

    /// Creates the insert's effect at a sample rate and tempo, set up before audio runs (parameters, custom
    /// curve, enabled or bypassed from the first sample, tempo); `None` for an insert that runs no effect (audio
    /// passes unchanged). May allocate: call it while loading or between quanta.
    pub fn create(&self, sample_rate: f64, bpm: f64) -> Result<Option<Box<dyn Effect>>> {
        let InsertKind::Effect {
            entry,
            preset,
            parameters,
            curve,
        } = &self.kind
        else {
            return Ok(None);
        };
        let values = parameters.iter().map(|(n, v)| (*n, *v));
        let mut effect = entry
            .create(sample_rate, preset.as_deref(), values)
            .map_err(|e| ProjectError::at(&self.path, Problem::Effect(e)))?;
        if let Some(curve) = curve {
            effect
                .set_curve_immediately(curve)
                .map_err(|e| ProjectError::at(format!("{}.curve", self.path), Problem::Curve(e.to_string())))?;
        }
        effect.set_enabled_immediately(self.enabled);
        effect.set_tempo_immediately(bpm);
        Ok(Some(effect))
    }
}

/// A sidechain key source: the named strip's output feeds the insert's detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidechain {
    pub source_id: String,
    /// Resolved by [`resolve`](super::project::resolve).
    pub source: Option<StripRef>,
}

/// A send from a strip to a bus.
#[derive(Debug, Clone, PartialEq)]
pub struct SendPlan {
    pub id: String,
    pub path: String,
    pub destination_id: String,
    /// An index into [`ProjectPlan::buses`], resolved by [`resolve`](super::project::resolve).
    pub destination: usize,
    pub level_db: f64,
    /// Taps after the inserts, before width and fader (`prePost: "pre"`); otherwise after pan.
    pub pre_fader: bool,
    pub enabled: bool,
}

/// A clip of a track, in seconds as the JSON gives it; [`ClipFrames`] puts it on the frame grid.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipPlan {
    pub path: String,
    /// The audio file, relative paths resolved against the project file's folder.
    pub file: PathBuf,
    pub start_s: f64,
    pub offset_s: f64,
    /// `None`: to the end of the file.
    pub duration_s: Option<f64>,
    pub gain_db: f64,
    pub fade_in_s: f64,
    pub fade_out_s: f64,
}

/// A clip on the frame grid, with its gain envelope (docs/engine.md's clip formula).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipFrames {
    /// First timeline frame, s = round(startTime x sr).
    pub start: u64,
    /// First file frame, o = round(offset x sr).
    pub offset: u64,
    /// Length in frames, d.
    pub duration: u64,
    pub fade_in: u64,
    pub fade_out: u64,
    pub gain: f64,
}

impl ClipFrames {
    /// Puts a clip on the grid at a sample rate. `file_frames` (the file's length at that rate) bounds a clip
    /// without a duration, and a duration longer than the file (the rest is silence either way).
    pub fn new(clip: &ClipPlan, sample_rate: f64, file_frames: u64) -> Self {
        let offset = seconds_to_frame(clip.offset_s, sample_rate);
        let available = file_frames.saturating_sub(offset);
        let duration = match clip.duration_s {
            Some(d) => seconds_to_frame(d, sample_rate).min(available),
            None => available,
        };
        let (mut fade_in, mut fade_out) = (
            seconds_to_frame(clip.fade_in_s, sample_rate),
            seconds_to_frame(clip.fade_out_s, sample_rate),
        );
        // Fades longer than the clip together are scaled down in proportion (docs/engine.md), rounded to whole
        // frames so that they still add up to the clip.
        if fade_in + fade_out > duration {
            let scale = duration as f64 / (fade_in + fade_out) as f64;
            fade_in = ((fade_in as f64 * scale).round() as u64).min(duration);
            fade_out = duration - fade_in;
        }
        ClipFrames {
            start: seconds_to_frame(clip.start_s, sample_rate),
            offset,
            duration,
            fade_in,
            fade_out,
            gain: db_to_gain(clip.gain_db),
        }
    }

    /// The gain at clip frame n (0 <= n < d): 10^(gain/20) x min(1, n / Fi, (d - n) / Fo), a zero fade's term left
    /// out (docs/engine.md); 0 outside the clip.
    pub fn gain_at(&self, n: u64) -> f64 {
        if n >= self.duration {
            return 0.0;
        }
        let mut g: f64 = 1.0;
        if self.fade_in > 0 {
            g = g.min(n as f64 / self.fade_in as f64);
        }
        if self.fade_out > 0 {
            g = g.min((self.duration - n) as f64 / self.fade_out as f64);
        }
        self.gain * g
    }
}

/// A track that plays clips (or, for `midi`, is silent).
#[derive(Debug, Clone)]
pub struct TrackPlan {
    pub id: String,
    pub name: String,
    pub path: String,
    pub kind: TrackKind,
    pub input_gain_db: f64,
    pub phase_flip: bool,
    pub inserts: Vec<InsertPlan>,
    pub sends: Vec<SendPlan>,
    pub stereo_width_percent: f64,
    pub volume_db: f64,
    pub pan: f64,
    pub muted: bool,
    pub soloed: bool,
    pub routing_id: String,
    /// Resolved by [`resolve`](super::project::resolve).
    pub routing: Destination,
    pub clips: Vec<ClipPlan>,
    pub automation_mode: Option<AutomationMode>,
}

/// A bus: an entry of `buses`, or a track of type `aux`.
#[derive(Debug, Clone)]
pub struct BusPlan {
    pub id: String,
    pub name: String,
    pub path: String,
    pub inserts: Vec<InsertPlan>,
    pub sends: Vec<SendPlan>,
    pub volume_db: f64,
    pub pan: f64,
    pub muted: bool,
    pub routing_id: String,
    pub routing: Destination,
    /// The app's `Bus.trackIds` as given (checked against the tracks' routing), with its path.
    pub track_ids: Option<Vec<String>>,
    pub automation_mode: Option<AutomationMode>,
}

/// The master: the `master` object or the app's `master-main` track.
#[derive(Debug, Clone)]
pub struct MasterPlan {
    pub id: String,
    /// Where it was given (`master`, `tracks[5]`), or empty for the default master.
    pub path: String,
    pub inserts: Vec<InsertPlan>,
    pub volume_db: f64,
    pub automation_mode: Option<AutomationMode>,
}

impl Default for MasterPlan {
    fn default() -> Self {
        MasterPlan {
            id: MASTER_TRACK_ID.to_string(),
            path: String::new(),
            inserts: Vec::new(),
            volume_db: 0.0,
            automation_mode: None,
        }
    }
}

/// An automatable mixer or insert parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetParam {
    Volume,
    Pan,
    InputGain,
    StereoWidth,
    /// An index into the strip's sends.
    SendLevel(usize),
    /// An insert of the strip and a parameter index of its effect's table.
    Insert {
        insert: usize,
        index: usize,
    },
}

/// What an automation curve drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub strip: StripRef,
    pub param: TargetParam,
}

/// One automation point as given (seconds, the parameter's unit).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointPlan {
    pub time_s: f64,
    pub value: f64,
    pub curve: CurveType,
}

/// One automation curve, validated and resolved.
#[derive(Debug, Clone)]
pub struct AutomationPlan {
    pub id: String,
    pub path: String,
    pub track_id: String,
    pub parameter: String,
    pub target: Target,
    /// The parameter's range (values were checked against it; LFO output is clamped to it).
    pub range: Range,
    /// In the order given (the compiler sorts by frame, keeping that order among equal frames).
    pub points: Vec<PointPlan>,
    pub mode: Option<AutomationMode>,
    pub lfo: Option<Lfo>,
}

/// The app's loop region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopRegion {
    pub enabled: bool,
    pub start_s: f64,
    pub end_s: f64,
}

/// The app's MetronomeSettings.
#[derive(Debug, Clone, PartialEq)]
pub struct Metronome {
    pub enabled: bool,
    pub volume: f64,
    pub beat_sound: String,
    pub accent_first: bool,
}

/// A validated project: every id resolved to an index, every value in range.
#[derive(Debug, Clone)]
pub struct ProjectPlan {
    pub sample_rate: f64,
    pub bit_depth: Option<u32>,
    pub bpm: f64,
    pub time_signature: TimeSignature,
    pub tracks: Vec<TrackPlan>,
    pub buses: Vec<BusPlan>,
    pub master: MasterPlan,
    pub automation: Vec<AutomationPlan>,
    pub loop_region: Option<LoopRegion>,
    pub metronome: Option<Metronome>,
    /// What was accepted but should be told (stderr in the CLI).
    pub warnings: Vec<Warning>,
}

impl ProjectPlan {
    /// The inserts of a strip.
    pub fn inserts(&self, strip: StripRef) -> &[InsertPlan] {
        match strip {
            StripRef::Track(i) => &self.tracks[i].inserts,
            StripRef::Bus(i) => &self.buses[i].inserts,
            StripRef::Master => &self.master.inserts,
        }
    }

    /// The sends of a strip (the master has none).
    pub fn sends(&self, strip: StripRef) -> &[SendPlan] {
        match strip {
            StripRef::Track(i) => &self.tracks[i].sends,
            StripRef::Bus(i) => &self.buses[i].sends,
            StripRef::Master => &[],
        }
    }

    /// The id of a strip.
    pub fn strip_id(&self, strip: StripRef) -> &str {
        match strip {
            StripRef::Track(i) => &self.tracks[i].id,
            StripRef::Bus(i) => &self.buses[i].id,
            StripRef::Master => &self.master.id,
        }
    }

    /// Finds a strip by id ("master", "Master" and the master's own id name the master).
    pub fn strip_by_id(&self, id: &str) -> Option<StripRef> {
        if id == MASTER_ALIAS || id == MASTER_ROUTING || id == self.master.id {
            return Some(StripRef::Master);
        }
        if let Some(i) = self.tracks.iter().position(|t| t.id == id) {
            return Some(StripRef::Track(i));
        }
        self.buses.iter().position(|b| b.id == id).map(StripRef::Bus)
    }

    /// The project's static value of a target (the value without automation).
    pub fn static_value(&self, target: Target) -> f64 {
        let strip = target.strip;
        match target.param {
            TargetParam::Volume => match strip {
                StripRef::Track(i) => self.tracks[i].volume_db,
                StripRef::Bus(i) => self.buses[i].volume_db,
                StripRef::Master => self.master.volume_db,
            },
            TargetParam::Pan => match strip {
                StripRef::Track(i) => self.tracks[i].pan,
                StripRef::Bus(i) => self.buses[i].pan,
                StripRef::Master => 0.0,
            },
            TargetParam::InputGain => match strip {
                StripRef::Track(i) => self.tracks[i].input_gain_db,
                _ => 0.0,
            },
            TargetParam::StereoWidth => match strip {
                StripRef::Track(i) => self.tracks[i].stereo_width_percent,
                _ => 100.0,
            },
            TargetParam::SendLevel(s) => self.sends(strip)[s].level_db,
            TargetParam::Insert { insert, index } => match &self.inserts(strip)[insert].kind {
                InsertKind::Effect {
                    entry,
                    preset,
                    parameters,
                    ..
                } => {
                    let values = parameters.iter().map(|(n, v)| (*n, *v));
                    // Validated when parsed, so resolving again cannot fail; the default is a safe fallback.
                    entry
                        .spec
                        .resolve(preset.as_deref(), values)
                        .map(|all| all[index])
                        .unwrap_or(entry.spec.params[index].default)
                }
                _ => 0.0,
            },
        }
    }

    /// Which tracks sound: a muted track never does; when any track is soloed, only soloed tracks do (mute wins
    /// over solo). Buses are not silenced by solo (they carry what soloed tracks send them).
    pub fn audible_tracks(&self) -> Vec<bool> {
        let any_solo = self.tracks.iter().any(|t| t.soloed);
        self.tracks
            .iter()
            .map(|t| !t.muted && (!any_solo || t.soloed))
            .collect()
    }

    /// The automation mode that applies to a curve: its own `mode` wins over the strip's `automationMode`;
    /// with neither, `read`.
    pub fn effective_mode(&self, automation: &AutomationPlan) -> AutomationMode {
        let strip_mode = match automation.target.strip {
            StripRef::Track(i) => self.tracks[i].automation_mode,
            StripRef::Bus(i) => self.buses[i].automation_mode,
            StripRef::Master => self.master.automation_mode,
        };
        automation.mode.or(strip_mode).unwrap_or(AutomationMode::Read)
    }
}
