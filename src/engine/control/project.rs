//! The project model: the project JSON of the command line and the app's own `Track`, `Plugin`, `Send`, `Bus`
//! and `AutomationCurve` shapes, validated into a plain plan ([`ProjectPlan`]) whose every reference is an index.
//!
//! Parsing runs in two passes: each object is read on its own (types, ranges, effect ids and parameters), then
//! [`resolve`] checks what spans objects (unique ids, routing targets, `Bus.trackIds`, sidechain sources,
//! automation targets) and the routing graph (cycles). Values stay in the app's units (dB, -1..1, %), and every
//! error names the JSON path of the problem. The format is documented in `docs/project.md`.

use super::error::{Problem, ProjectError, Warning};
use super::json::{array, wrong, Obj, Range, Result};
use super::routing::RoutingGraph;
use crate::chain::{CURVE_EFFECT_ID, CURVE_LEN_RANGE};
use crate::effects::{find, EffectEntry, SAMPLE_RATE_RANGE};
use serde_json::Value;
use std::path::Path;

pub use super::plan::*;
pub use super::vocabulary::{db_to_gain, seconds_to_frame};
use super::vocabulary::{AutomationMode, CurveType, Lfo, LfoRate, LfoShape, TimeSignature};

const PROJECT_KEYS: &[&str] = &[
    "id",
    "name",
    "sampleRate",
    "bitDepth",
    "bpm",
    "timeSignature",
    "tracks",
    "buses",
    "master",
    "automation",
    "loop",
    "metronome",
    "createdAt",
    "updatedAt",
    "markers",
];

const TRACK_KEYS: &[&str] = &[
    "id",
    "name",
    "type",
    "color",
    "muted",
    "soloed",
    "armed",
    "inputGain",
    "volume",
    "pan",
    "stereoWidth",
    "phaseFlip",
    "duration",
    "parentTrackId",
    "childTrackIds",
    "automationMode",
    "inserts",
    "sends",
    "routing",
    "input",
    "audio",
    "clips",
];

const BUS_KEYS: &[&str] = &[
    "id",
    "name",
    "color",
    "volume",
    "pan",
    "muted",
    "soloed",
    "trackIds",
    "inserts",
    "sends",
    "routing",
    "automationMode",
];

const MASTER_KEYS: &[&str] = &["id", "name", "volume", "inserts", "automationMode"];

const INSERT_KEYS: &[&str] = &[
    "id",
    "name",
    "type",
    "enabled",
    "effect",
    "parameters",
    "preset",
    "curve",
    "sidechain",
];

const SEND_KEYS: &[&str] = &["id", "destination", "level", "prePost", "enabled"];

const CLIP_KEYS: &[&str] = &[
    "id",
    "name",
    "color",
    "path",
    "startTime",
    "offset",
    "duration",
    "gain",
    "fadeIn",
    "fadeOut",
];

const AUTOMATION_KEYS: &[&str] = &["id", "trackId", "parameter", "points", "mode", "recording", "lfo"];

const POINT_KEYS: &[&str] = &["id", "time", "value", "curveType"];

const LFO_KEYS: &[&str] = &["shape", "rateHz", "periodBeats", "depth", "phase", "seed"];

/// The app's `TrackType` values, in the order of [`TrackType`].
const TRACK_TYPES: &[&str] = &["audio", "instrument", "midi", "aux", "vca", "master"];

const AUTOMATION_MODES: &[&str] = &["off", "read", "write", "touch", "latch"];

const CURVE_TYPES: &[&str] = &["linear", "exponential", "logarithmic", "smooth", "step"];

const LFO_SHAPES: &[&str] = &["sine", "triangle", "square", "saw", "sampleAndHold"];

const PRE_POST: &[&str] = &["pre", "post"];

/// Parses and validates a project from JSON text. Relative clip paths are resolved against `base_dir` (the
/// project file's folder).
pub fn parse_project(json: &str, base_dir: &Path) -> Result<ProjectPlan> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| ProjectError::at("", Problem::Malformed(e.to_string())))?;
    parse_project_value(&root, base_dir)
}

/// Validates an already parsed project.
pub fn parse_project_value(root: &Value, base_dir: &Path) -> Result<ProjectPlan> {
    let obj = Obj::new(root, "")?;
    let mut warnings = Vec::new();
    obj.warn_unknown(PROJECT_KEYS, &mut warnings);
    let sample_rate = obj.number_in(
        "sampleRate",
        48_000.0,
        Range::new(SAMPLE_RATE_RANGE.0, SAMPLE_RATE_RANGE.1, "Hz"),
    )?;
    let bit_depth = match obj.number("bitDepth")? {
        None => None,
        Some(b) if b == 16.0 || b == 24.0 || b == 32.0 => Some(b as u32),
        Some(b) => {
            return Err(ProjectError::at(
                obj.at("bitDepth"),
                Problem::UnknownValue {
                    value: b.to_string(),
                    allowed: "16, 24, 32".into(),
                },
            ))
        }
    };
    let bpm = obj.number_in("bpm", 120.0, BPM)?;
    let time_signature = match obj.string("timeSignature")? {
        None => TimeSignature::default(),
        Some(text) => TimeSignature::parse(text).ok_or_else(|| {
            ProjectError::at(
                obj.at("timeSignature"),
                Problem::UnknownValue {
                    value: text.into(),
                    allowed: "BEATS/UNIT with BEATS 1 to 64 and UNIT 1, 2, 4, 8, 16 or 32, e.g. \"4/4\"".into(),
                },
            )
        })?,
    };

    let mut tracks = Vec::new();
    let mut buses = Vec::new();
    let mut master: Option<MasterPlan> = None;
    for (i, item) in obj.array("tracks")?.iter().enumerate() {
        let path = format!("tracks[{i}]");
        match parse_track(item, &path, base_dir, &mut warnings)? {
            Strip::Track(t) => tracks.push(t),
            Strip::Bus(b) => buses.push(b),
            Strip::Master(m) => set_master(&mut master, m)?,
            Strip::Ignored => {}
        }
    }
    for (i, item) in obj.array("buses")?.iter().enumerate() {
        buses.push(parse_bus(item, &format!("buses[{i}]"), &mut warnings)?);
    }
    if let Some(value) = obj.get("master") {
        let m = parse_master(value, "master", &mut warnings)?;
        set_master(&mut master, m)?;
    }
    let automation_values = obj.array("automation")?;
    let loop_region = obj.get("loop").map(|v| parse_loop(v, "loop")).transpose()?;
    let metronome = obj
        .get("metronome")
        .map(|v| parse_metronome(v, "metronome"))
        .transpose()?;

    let mut plan = ProjectPlan {
        sample_rate,
        bit_depth,
        bpm,
        time_signature,
        tracks,
        buses,
        master: master.unwrap_or_default(),
        automation: Vec::new(),
        loop_region,
        metronome,
        warnings,
    };
    resolve(&mut plan)?;
    let mut automation_warnings = Vec::new();
    for (i, item) in automation_values.iter().enumerate() {
        let automation = parse_automation(&plan, item, &format!("automation[{i}]"), &mut automation_warnings)?;
        plan.automation.push(automation);
    }
    plan.warnings.extend(automation_warnings);
    Ok(plan)
}

fn set_master(master: &mut Option<MasterPlan>, new: MasterPlan) -> Result<()> {
    if let Some(first) = master {
        return Err(ProjectError::at(
            new.path,
            Problem::MasterTwice {
                first: first.path.clone(),
            },
        ));
    }
    *master = Some(new);
    Ok(())
}

/// What one entry of `tracks` becomes.
pub enum Strip {
    Track(TrackPlan),
    /// A track of type `aux`.
    Bus(BusPlan),
    /// The app's `master-main` track (type `master`).
    Master(MasterPlan),
    /// A `vca` track (warned).
    Ignored,
}

fn automation_mode(obj: &Obj) -> Result<Option<AutomationMode>> {
    Ok(match obj.get("automationMode") {
        None => None,
        Some(_) => Some(AutomationMode::ALL[obj.choice("automationMode", AUTOMATION_MODES, 1)?]),
    })
}

fn id_of(obj: &Obj) -> Result<String> {
    Ok(obj.required_string("id")?.to_string())
}

/// Reads one entry of `tracks` (the app's `Track`, plus `audio` or `clips`). Routing targets are resolved later.
pub fn parse_track(value: &Value, path: &str, base_dir: &Path, warnings: &mut Vec<Warning>) -> Result<Strip> {
    let obj = Obj::new(value, path)?;
    obj.warn_unknown(TRACK_KEYS, warnings);
    let id = id_of(&obj)?;
    let kind = obj.choice("type", TRACK_TYPES, 0)?;
    let kind = match TRACK_TYPES[kind] {
        "audio" => TrackKind::Audio,
        "instrument" => TrackKind::Instrument,
        "midi" => TrackKind::Midi,
        "aux" => return parse_bus(value, path, warnings).map(Strip::Bus),
        "master" => return parse_master(value, path, warnings).map(Strip::Master),
        _ => {
            warnings.push(Warning {
                path: path.to_string(),
                message: format!("vca track '{id}' ignored (the engine has no VCAs)"),
            });
            return Ok(Strip::Ignored);
        }
    };
    if id == MASTER_TRACK_ID || id == MASTER_ALIAS {
        return Err(ProjectError::at(
            obj.at("id"),
            Problem::UnknownValue {
                value: id,
                allowed: "any id but 'master' and 'master-main' (reserved for the master, type \"master\")".into(),
            },
        ));
    }
    let mut clips = Vec::new();
    if let Some(audio) = obj.get("audio") {
        clips.push(parse_clip(audio, &obj.at("audio"), base_dir, warnings)?);
    }
    for (i, clip) in obj.array("clips")?.iter().enumerate() {
        clips.push(parse_clip(
            clip,
            &format!("{}[{i}]", obj.at("clips")),
            base_dir,
            warnings,
        )?);
    }
    if kind == TrackKind::Midi && !clips.is_empty() {
        warnings.push(Warning {
            path: path.to_string(),
            message: format!("midi track '{id}' is silent: its audio clips are not played"),
        });
    }
    Ok(Strip::Track(TrackPlan {
        name: obj.string("name")?.unwrap_or(&id).to_string(),
        path: path.to_string(),
        kind,
        input_gain_db: obj.number_in("inputGain", 0.0, INPUT_GAIN_DB)?,
        phase_flip: obj.bool_or("phaseFlip", false)?,
        inserts: parse_inserts(&obj, warnings)?,
        sends: parse_sends(&obj, warnings)?,
        stereo_width_percent: obj.number_in("stereoWidth", 100.0, STEREO_WIDTH_PERCENT)?,
        volume_db: obj.number_in("volume", 0.0, LEVEL_DB)?,
        pan: obj.number_in("pan", 0.0, PAN)?,
        muted: obj.bool_or("muted", false)?,
        soloed: obj.bool_or("soloed", false)?,
        routing_id: obj.string("routing")?.unwrap_or(MASTER_ROUTING).to_string(),
        routing: Destination::Master,
        clips,
        automation_mode: automation_mode(&obj)?,
        id,
    }))
}

/// Reads one bus (an entry of `buses`, the app's `Bus`, or an `aux` track).
pub fn parse_bus(value: &Value, path: &str, warnings: &mut Vec<Warning>) -> Result<BusPlan> {
    let obj = Obj::new(value, path)?;
    let is_track = obj.get("type").is_some();
    obj.warn_unknown(if is_track { TRACK_KEYS } else { BUS_KEYS }, warnings);
    let id = id_of(&obj)?;
    let track_ids = match obj.get("trackIds") {
        None => None,
        Some(v) => Some(
            array(v, &obj.at("trackIds"))?
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    t.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| wrong(&format!("{}[{i}]", obj.at("trackIds")), "a track id (string)", t))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    Ok(BusPlan {
        name: obj.string("name")?.unwrap_or(&id).to_string(),
        path: path.to_string(),
        inserts: parse_inserts(&obj, warnings)?,
        sends: parse_sends(&obj, warnings)?,
        volume_db: obj.number_in("volume", 0.0, LEVEL_DB)?,
        pan: obj.number_in("pan", 0.0, PAN)?,
        muted: obj.bool_or("muted", false)?,
        routing_id: obj.string("routing")?.unwrap_or(MASTER_ROUTING).to_string(),
        routing: Destination::Master,
        track_ids,
        automation_mode: automation_mode(&obj)?,
        id,
    })
}

/// Reads the master (the `master` object, or the app's `master-main` track).
pub fn parse_master(value: &Value, path: &str, warnings: &mut Vec<Warning>) -> Result<MasterPlan> {
    let obj = Obj::new(value, path)?;
    let is_track = obj.get("type").is_some();
    obj.warn_unknown(if is_track { TRACK_KEYS } else { MASTER_KEYS }, warnings);
    Ok(MasterPlan {
        id: obj.string("id")?.unwrap_or(MASTER_TRACK_ID).to_string(),
        path: path.to_string(),
        inserts: parse_inserts(&obj, warnings)?,
        volume_db: obj.number_in("volume", 0.0, LEVEL_DB)?,
        automation_mode: automation_mode(&obj)?,
    })
}

fn parse_inserts(strip: &Obj, warnings: &mut Vec<Warning>) -> Result<Vec<InsertPlan>> {
    let inserts: Vec<InsertPlan> = strip
        .array("inserts")?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_insert(v, &format!("{}[{i}]", strip.at("inserts")), i, warnings))
        .collect::<Result<_>>()?;
    unique_ids(inserts.iter().map(|p| (p.id.as_str(), p.path.as_str())))?;
    Ok(inserts)
}

fn parse_sends(strip: &Obj, warnings: &mut Vec<Warning>) -> Result<Vec<SendPlan>> {
    let sends: Vec<SendPlan> = strip
        .array("sends")?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_send(v, &format!("{}[{i}]", strip.at("sends")), i, warnings))
        .collect::<Result<_>>()?;
    unique_ids(sends.iter().map(|s| (s.id.as_str(), s.path.as_str())))?;
    Ok(sends)
}

/// Rejects the second use of an id, naming where it was first used.
fn unique_ids<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Result<()> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (id, path) in items {
        if let Some((_, first)) = seen.iter().find(|(seen_id, _)| *seen_id == id) {
            return Err(ProjectError::at(
                format!("{path}.id"),
                Problem::DuplicateId {
                    id: id.to_string(),
                    first: first.to_string(),
                },
            ));
        }
        seen.push((id, path));
    }
    Ok(())
}

/// The effect an app plugin `type` stands for when `effect` is absent, with the values it starts from.
/// `Err(kind)`: a type that runs no effect.
fn default_effect(plugin_type: &str) -> std::result::Result<DefaultEffect, InsertKind> {
    match plugin_type {
        "eq" => Ok(("parametric-eq", &[])),
        "compressor" => Ok(("compressor", &[])),
        "gate" => Ok(("gate", &[])),
        "saturation" => Ok(("saturation", &[])),
        "delay" => Ok(("simple-delay", &[("mix", 0.3)])),
        // Freeverb's dry is scaled by 2 inside, so 0.5 is unity dry; wet stays at its default of 1/3.
        "reverb" => Ok(("freeverb", &[("dry", 0.5), ("wet", 1.0 / 3.0)])),
        "meter" | "utility" => Err(InsertKind::PassThrough),
        _ => Err(InsertKind::Bypassed),
    }
}

/// Reads one insert (the app's `Plugin`, plus `effect`, `preset`, `curve` and `sidechain`).
pub fn parse_insert(value: &Value, path: &str, index: usize, warnings: &mut Vec<Warning>) -> Result<InsertPlan> {
    let obj = Obj::new(value, path)?;
    obj.warn_unknown(INSERT_KEYS, warnings);
    let id = obj
        .string("id")?
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{index}"));
    let plugin_type = obj.string("type")?;
    let (entry, base): (&'static EffectEntry, &[(&'static str, f64)]) = match obj.string("effect")? {
        Some(effect_id) => (
            find(effect_id).map_err(|e| ProjectError::at(obj.at("effect"), Problem::Effect(e)))?,
            &[],
        ),
        None => match plugin_type {
            None => return Err(ProjectError::at(path, Problem::Missing("effect"))),
            Some(t) => match default_effect(t) {
                Ok((effect_id, base)) => (find(effect_id).expect("default effects are registered"), base),
                Err(kind) => {
                    if kind == InsertKind::Bypassed {
                        warnings.push(Warning {
                            path: obj.at("type"),
                            message: format!("plugin type '{t}' has no effect in this engine: bypassed"),
                        });
                    }
                    return Ok(InsertPlan {
                        name: obj.string("name")?.unwrap_or(&id).to_string(),
                        id,
                        path: path.to_string(),
                        kind,
                        enabled: obj.bool_or("enabled", true)?,
                        sidechain: None,
                    });
                }
            },
        },
    };
    let spec = entry.spec;
    let preset = match obj.string("preset")? {
        None => None,
        Some(name) => {
            spec.preset(name)
                .map_err(|e| ProjectError::at(obj.at("preset"), Problem::Param(e)))?;
            Some(name.to_string())
        }
    };
    let mut parameters: Vec<(&'static str, f64)> = base.to_vec();
    if let Some(params) = obj.get("parameters") {
        let params = Obj::new(params, obj.at("parameters"))?;
        for (name, v) in params.map {
            let at = params.at(name);
            let number = v.as_f64().ok_or_else(|| wrong(&at, "a number", v))?;
            let i = spec
                .param_index(name)
                .map_err(|e| ProjectError::at(&at, Problem::Param(e)))?;
            spec.check(i, number)
                .map_err(|e| ProjectError::at(&at, Problem::Param(e)))?;
            parameters.retain(|(n, _)| *n != spec.params[i].name);
            parameters.push((spec.params[i].name, number));
        }
    }
    let curve = match obj.get("curve") {
        None => None,
        Some(v) => Some(parse_curve(spec.id, v, &obj.at("curve"))?),
    };
    let sidechain = match obj.string("sidechain")? {
        None => None,
        Some(source) => {
            if !SIDECHAIN_EFFECTS.contains(&spec.id) {
                return Err(ProjectError::at(
                    obj.at("sidechain"),
                    Problem::NoSidechain { effect: spec.id },
                ));
            }
            Some(Sidechain {
                source_id: source.to_string(),
                source: None,
            })
        }
    };
    Ok(InsertPlan {
        name: obj.string("name")?.unwrap_or(&id).to_string(),
        id,
        path: path.to_string(),
        kind: InsertKind::Effect {
            entry,
            preset,
            parameters,
            curve,
        },
        enabled: obj.bool_or("enabled", true)?,
        sidechain,
    })
}

impl PartialEq for InsertKind {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (InsertKind::PassThrough, InsertKind::PassThrough) | (InsertKind::Bypassed, InsertKind::Bypassed) => true,
            (
                InsertKind::Effect {
                    entry: a,
                    preset: pa,
                    parameters: va,
                    curve: ca,
                },
                InsertKind::Effect {
                    entry: b,
                    preset: pb,
                    parameters: vb,
                    curve: cb,
                },
            ) => a.spec.id == b.spec.id && pa == pb && va == vb && ca == cb,
            _ => false,
        }
    }
}

fn parse_curve(effect_id: &'static str, value: &Value, path: &str) -> Result<Vec<f32>> {
    if effect_id != CURVE_EFFECT_ID {
        return Err(ProjectError::at(
            path,
            Problem::Curve(format!(
                "effect '{effect_id}' takes no curve (only '{CURVE_EFFECT_ID}' does)"
            )),
        ));
    }
    let items = array(value, path)?;
    let (min_len, max_len) = CURVE_LEN_RANGE;
    if !(min_len..=max_len).contains(&items.len()) {
        return Err(ProjectError::at(
            path,
            Problem::Curve(format!(
                "a curve has {min_len} to {max_len} values, this one has {}",
                items.len()
            )),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .map(|x| x as f32)
                .filter(|x| x.is_finite())
                .ok_or_else(|| wrong(&format!("{path}[{i}]"), "a finite number", v))
        })
        .collect()
}

/// Reads one send (the app's `Send`).
pub fn parse_send(value: &Value, path: &str, index: usize, warnings: &mut Vec<Warning>) -> Result<SendPlan> {
    let obj = Obj::new(value, path)?;
    obj.warn_unknown(SEND_KEYS, warnings);
    Ok(SendPlan {
        id: obj
            .string("id")?
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{index}")),
        path: path.to_string(),
        destination_id: obj.required_string("destination")?.to_string(),
        destination: 0,
        level_db: obj.number_in("level", 0.0, LEVEL_DB)?,
        pre_fader: obj.choice("prePost", PRE_POST, 1)? == 0,
        enabled: obj.bool_or("enabled", true)?,
    })
}

/// Reads one clip (`audio` or an entry of `clips`).
pub fn parse_clip(value: &Value, path: &str, base_dir: &Path, warnings: &mut Vec<Warning>) -> Result<ClipPlan> {
    let obj = Obj::new(value, path)?;
    obj.warn_unknown(CLIP_KEYS, warnings);
    let file = obj.required_string("path")?;
    let duration_s = match obj.number("duration")? {
        None => None,
        Some(d) => Some(TIME_S.check(d, &obj.at("duration"))?),
    };
    Ok(ClipPlan {
        path: path.to_string(),
        file: base_dir.join(file),
        start_s: obj.number_in("startTime", 0.0, TIME_S)?,
        offset_s: obj.number_in("offset", 0.0, TIME_S)?,
        duration_s,
        gain_db: obj.number_in("gain", 0.0, CLIP_GAIN_DB)?,
        fade_in_s: obj.number_in("fadeIn", 0.0, TIME_S)?,
        fade_out_s: obj.number_in("fadeOut", 0.0, TIME_S)?,
    })
}

fn parse_loop(value: &Value, path: &str) -> Result<LoopRegion> {
    let obj = Obj::new(value, path)?;
    let start_s = obj.required_number_in("startTime", TIME_S)?;
    let end_s = obj.required_number_in("endTime", TIME_S)?;
    if end_s <= start_s {
        return Err(ProjectError::at(
            obj.at("endTime"),
            Problem::NotAfter {
                value: end_s,
                other_key: "startTime",
                other: start_s,
            },
        ));
    }
    Ok(LoopRegion {
        enabled: obj.bool_or("enabled", true)?,
        start_s,
        end_s,
    })
}

fn parse_metronome(value: &Value, path: &str) -> Result<Metronome> {
    let obj = Obj::new(value, path)?;
    Ok(Metronome {
        enabled: obj.bool_or("enabled", false)?,
        volume: obj.number_in("volume", 0.3, METRONOME_VOLUME)?,
        beat_sound: obj.string("beatSound")?.unwrap_or("click").to_string(),
        accent_first: obj.bool_or("accentFirst", true)?,
    })
}

/// The second pass: unique ids, routing and send destinations, `Bus.trackIds`, sidechain sources, then the
/// routing graph's cycle check.
pub fn resolve(plan: &mut ProjectPlan) -> Result<()> {
    let strips = plan
        .tracks
        .iter()
        .map(|t| (t.id.as_str(), t.path.as_str()))
        .chain(plan.buses.iter().map(|b| (b.id.as_str(), b.path.as_str())));
    unique_ids(strips)?;
    if let Some(b) = plan
        .buses
        .iter()
        .find(|b| b.id == MASTER_ALIAS || b.id == MASTER_TRACK_ID)
    {
        return Err(ProjectError::at(
            format!("{}.id", b.path),
            Problem::DuplicateId {
                id: b.id.clone(),
                first: "the master".into(),
            },
        ));
    }
    let bus_ids: Vec<String> = plan.buses.iter().map(|b| b.id.clone()).collect();
    let track_ids: Vec<String> = plan.tracks.iter().map(|t| t.id.clone()).collect();
    let find_bus = |id: &str, path: String| -> Result<usize> {
        if let Some(i) = bus_ids.iter().position(|b| b == id) {
            return Ok(i);
        }
        if track_ids.iter().any(|t| t == id) {
            return Err(ProjectError::at(path, Problem::NotABus { id: id.into() }));
        }
        Err(ProjectError::at(
            path,
            Problem::UnknownDestination {
                id: id.into(),
                known: bus_ids.join(", "),
            },
        ))
    };
    let routing = |id: &str, path: String| -> Result<Destination> {
        if id == MASTER_ROUTING || id == MASTER_ALIAS || id == MASTER_TRACK_ID {
            Ok(Destination::Master)
        } else {
            find_bus(id, path).map(Destination::Bus)
        }
    };
    for t in &mut plan.tracks {
        t.routing = routing(&t.routing_id, format!("{}.routing", t.path))?;
        for s in &mut t.sends {
            s.destination = find_bus(&s.destination_id, format!("{}.destination", s.path))?;
        }
    }
    for b in &mut plan.buses {
        b.routing = routing(&b.routing_id, format!("{}.routing", b.path))?;
        for s in &mut b.sends {
            s.destination = find_bus(&s.destination_id, format!("{}.destination", s.path))?;
        }
    }
    check_track_ids(plan)?;
    resolve_sidechains(plan)?;
    RoutingGraph::from_plan(plan).render_order()?;
    Ok(())
}

/// `Bus.trackIds`, when given, must list exactly the tracks whose `routing` is that bus.
fn check_track_ids(plan: &ProjectPlan) -> Result<()> {
    for (b, bus) in plan.buses.iter().enumerate() {
        let Some(ids) = &bus.track_ids else { continue };
        for (i, id) in ids.iter().enumerate() {
            let path = format!("{}.trackIds[{i}]", bus.path);
            let track = plan.tracks.iter().find(|t| &t.id == id).ok_or_else(|| {
                ProjectError::at(
                    &path,
                    Problem::UnknownTarget {
                        what: "track",
                        id: id.clone(),
                        known: plan.tracks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>().join(", "),
                    },
                )
            })?;
            if track.routing != Destination::Bus(b) {
                return Err(ProjectError::at(path, disagreement(track, bus)));
            }
        }
        if let Some(track) = plan
            .tracks
            .iter()
            .find(|t| t.routing == Destination::Bus(b) && !ids.contains(&t.id))
        {
            return Err(ProjectError::at(
                format!("{}.trackIds", bus.path),
                disagreement(track, bus),
            ));
        }
    }
    Ok(())
}

fn disagreement(track: &TrackPlan, bus: &BusPlan) -> Problem {
    Problem::TrackIdsDisagree {
        track: track.id.clone(),
        bus: bus.id.clone(),
        routing_path: format!("{}.routing", track.path),
        routing: track.routing_id.clone(),
    }
}

fn resolve_sidechains(plan: &mut ProjectPlan) -> Result<()> {
    // Look every source up first (reading the plan), then write the results (no clone of the plan).
    let strips: Vec<StripRef> = (0..plan.tracks.len())
        .map(StripRef::Track)
        .chain((0..plan.buses.len()).map(StripRef::Bus))
        .chain([StripRef::Master])
        .collect();
    let mut found = Vec::new();
    for &strip in &strips {
        for (k, insert) in plan.inserts(strip).iter().enumerate() {
            let Some(sidechain) = &insert.sidechain else {
                continue;
            };
            match plan.strip_by_id(&sidechain.source_id) {
                Some(StripRef::Master) | None => {
                    let known: Vec<&str> = plan
                        .tracks
                        .iter()
                        .map(|t| t.id.as_str())
                        .chain(plan.buses.iter().map(|b| b.id.as_str()))
                        .collect();
                    return Err(ProjectError::at(
                        format!("{}.sidechain", insert.path),
                        Problem::UnknownTarget {
                            what: "track or bus",
                            id: sidechain.source_id.clone(),
                            known: known.join(", "),
                        },
                    ));
                }
                Some(source) => found.push((strip, k, source)),
            }
        }
    }
    for (strip, k, source) in found {
        let inserts = match strip {
            StripRef::Track(i) => &mut plan.tracks[i].inserts,
            StripRef::Bus(i) => &mut plan.buses[i].inserts,
            StripRef::Master => &mut plan.master.inserts,
        };
        if let Some(sidechain) = &mut inserts[k].sidechain {
            sidechain.source = Some(source);
        }
    }
    Ok(())
}

/// Reads one automation curve (the app's `AutomationCurve`, plus `lfo`) against a resolved plan.
pub fn parse_automation(
    plan: &ProjectPlan,
    value: &Value,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Result<AutomationPlan> {
    let obj = Obj::new(value, path)?;
    obj.warn_unknown(AUTOMATION_KEYS, warnings);
    let track_id = obj.required_string("trackId")?;
    let parameter = obj.required_string("parameter")?;
    let strip = plan.strip_by_id(track_id).ok_or_else(|| {
        let known: Vec<&str> = plan
            .tracks
            .iter()
            .map(|t| t.id.as_str())
            .chain(plan.buses.iter().map(|b| b.id.as_str()))
            .chain([MASTER_ALIAS])
            .collect();
        ProjectError::at(
            obj.at("trackId"),
            Problem::UnknownTarget {
                what: "track or bus",
                id: track_id.into(),
                known: known.join(", "),
            },
        )
    })?;
    let (param, range, spec_check) = resolve_parameter(plan, strip, parameter, &obj.at("parameter"))?;
    let mut points = Vec::new();
    for (i, item) in obj.array("points")?.iter().enumerate() {
        let p = Obj::new(item, format!("{}[{i}]", obj.at("points")))?;
        p.warn_unknown(POINT_KEYS, warnings);
        let time_s = p.required_number_in("time", TIME_S)?;
        let value = p.required("value")?;
        let value = value.as_f64().ok_or_else(|| wrong(&p.at("value"), "a number", value))?;
        let value = match &spec_check {
            Some((spec, index)) => spec
                .check(*index, value)
                .map_err(|e| ProjectError::at(p.at("value"), Problem::Param(e)))?,
            None => range.check(value, &p.at("value"))?,
        };
        let curve = CurveType::ALL[p.choice("curveType", CURVE_TYPES, 0)?];
        points.push(PointPlan { time_s, value, curve });
    }
    let lfo = obj
        .get("lfo")
        .map(|v| parse_lfo(v, &obj.at("lfo"), range))
        .transpose()?;
    if points.is_empty() && lfo.is_none() {
        return Err(ProjectError::at(path, Problem::NothingToAutomate));
    }
    let mode = match obj.get("mode") {
        None => None,
        Some(_) => Some(AutomationMode::ALL[obj.choice("mode", AUTOMATION_MODES, 1)?]),
    };
    Ok(AutomationPlan {
        id: obj.string("id")?.unwrap_or("").to_string(),
        path: path.to_string(),
        track_id: track_id.to_string(),
        parameter: parameter.to_string(),
        target: Target { strip, param },
        range,
        points,
        mode,
        lfo,
    })
}

/// The target of an automation `parameter` name on a strip (`volume`, `pan`, `inputGain`, `stereoWidth`,
/// `sends.<id>.level`, `inserts.<id>.<name>`), for commands; the error names `path`.
pub fn resolve_target(plan: &ProjectPlan, strip: StripRef, parameter: &str, path: &str) -> Result<Target> {
    let (param, _, _) = resolve_parameter(plan, strip, parameter, path)?;
    Ok(Target { strip, param })
}

/// An automation mode by its name (`off`, `read`, `write`, `touch`, `latch`).
pub fn automation_mode_named(name: &str) -> Option<AutomationMode> {
    AUTOMATION_MODES
        .iter()
        .position(|m| *m == name)
        .map(|k| AutomationMode::ALL[k])
}

/// Automation points `[{time, value, curveType}]` as a command gives them (time checked here; values against
/// the parameter's range by the engine).
pub fn parse_points(value: &Value, path: &str) -> Result<Vec<PointPlan>> {
    let items = value
        .as_array()
        .ok_or_else(|| wrong(path, "an array of points", value))?;
    let mut points = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = Obj::new(item, format!("{path}[{i}]"))?;
        let time_s = p.required_number_in("time", TIME_S)?;
        let value = p.required("value")?;
        let value = value.as_f64().ok_or_else(|| wrong(&p.at("value"), "a number", value))?;
        let curve = CurveType::ALL[p.choice("curveType", CURVE_TYPES, 0)?];
        points.push(PointPlan { time_s, value, curve });
    }
    Ok(points)
}

/// An effect id and the values it starts from.
type DefaultEffect = (&'static str, &'static [(&'static str, f64)]);

type ParamCheck = Option<(&'static crate::params::EffectSpec, usize)>;

/// Resolves `volume`, `pan`, `inputGain`, `stereoWidth`, `sends.<id>.level` or `inserts.<id>.<name>` on a strip.
fn resolve_parameter(
    plan: &ProjectPlan,
    strip: StripRef,
    parameter: &str,
    path: &str,
) -> Result<(TargetParam, Range, ParamCheck)> {
    let not = |reason: &str| {
        ProjectError::at(
            path,
            Problem::NotAutomatable {
                parameter: parameter.to_string(),
                reason: reason.to_string(),
            },
        )
    };
    let is_track = matches!(strip, StripRef::Track(_));
    match parameter {
        "volume" => return Ok((TargetParam::Volume, LEVEL_DB, None)),
        "pan" if strip == StripRef::Master => return Err(not("the master has no pan")),
        "pan" => return Ok((TargetParam::Pan, PAN, None)),
        "inputGain" if is_track => return Ok((TargetParam::InputGain, INPUT_GAIN_DB, None)),
        "stereoWidth" if is_track => return Ok((TargetParam::StereoWidth, STEREO_WIDTH_PERCENT, None)),
        "inputGain" | "stereoWidth" => return Err(not("only tracks have it (buses: inserts, volume, pan)")),
        _ => {}
    }
    let parts: Vec<&str> = parameter.splitn(3, '.').collect();
    match parts.as_slice() {
        ["sends", send_id, "level"] => {
            let sends = plan.sends(strip);
            let s = sends.iter().position(|s| s.id == *send_id).ok_or_else(|| {
                ProjectError::at(
                    path,
                    Problem::UnknownTarget {
                        what: "send",
                        id: (*send_id).into(),
                        known: sends.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", "),
                    },
                )
            })?;
            Ok((TargetParam::SendLevel(s), LEVEL_DB, None))
        }
        ["inserts", insert_id, name] => {
            let inserts = plan.inserts(strip);
            let i = inserts.iter().position(|p| p.id == *insert_id).ok_or_else(|| {
                ProjectError::at(
                    path,
                    Problem::UnknownTarget {
                        what: "insert",
                        id: (*insert_id).into(),
                        known: inserts.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", "),
                    },
                )
            })?;
            let InsertKind::Effect { entry, .. } = &inserts[i].kind else {
                return Err(not("the insert runs no effect"));
            };
            let spec = entry.spec;
            let index = spec
                .param_index(name)
                .map_err(|e| ProjectError::at(path, Problem::Param(e)))?;
            let p = &spec.params[index];
            if !p.automatable {
                return Err(not(&format!(
                    "'{}' of '{}' changes structure or latency (set it, do not automate it)",
                    p.name, spec.id
                )));
            }
            Ok((
                TargetParam::Insert { insert: i, index },
                Range::new(p.min, p.max, p.unit),
                Some((spec, index)),
            ))
        }
        _ => Err(ProjectError::at(
            path,
            Problem::UnknownValue {
                value: parameter.to_string(),
                allowed:
                    "volume, pan, inputGain, stereoWidth, sends.<sendId>.level, inserts.<pluginId>.<parameterName>"
                        .into(),
            },
        )),
    }
}

fn parse_lfo(value: &Value, path: &str, range: Range) -> Result<Lfo> {
    let obj = Obj::new(value, path)?;
    if let Some(key) = obj.map.keys().find(|k| !LFO_KEYS.contains(&k.as_str())) {
        return Err(ProjectError::at(
            obj.at(key),
            Problem::UnknownValue {
                value: key.clone(),
                allowed: LFO_KEYS.join(", "),
            },
        ));
    }
    let shape = LfoShape::ALL[obj.choice("shape", LFO_SHAPES, 0)?];
    let rate = match (obj.number("rateHz")?, obj.number("periodBeats")?) {
        (Some(_), None) => LfoRate::Hz(obj.number_in("rateHz", 1.0, Range::new(0.001, 100.0, "Hz"))?),
        (None, Some(_)) => LfoRate::Beats(obj.number_in("periodBeats", 1.0, Range::new(1.0 / 64.0, 256.0, "beats"))?),
        _ => {
            return Err(ProjectError::at(
                path,
                Problem::ExactlyOneOf(&["rateHz", "periodBeats"]),
            ))
        }
    };
    let depth = obj.required_number_in("depth", Range::new(0.0, range.span(), range.unit))?;
    let phase = obj.number_in("phase", 0.0, Range::new(0.0, 1.0, "cycles"))?;
    let seed = obj.number_in("seed", 1.0, Range::new(0.0, 4_294_967_295.0, ""))?;
    if seed.fract() != 0.0 {
        return Err(ProjectError::at(obj.at("seed"), Problem::NotInteger(seed)));
    }
    Ok(Lfo {
        shape,
        rate,
        depth,
        phase,
        seed: seed as u64,
    })
}
