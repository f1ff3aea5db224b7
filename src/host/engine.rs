//! Mixing engines addressed by number, for hosts that speak numbers (the WebAssembly bindings): an engine is
//! built from project JSON, takes each track's input from buffers the host preallocates, renders into two
//! output buffers, and takes commands as JSON (docs/engine.md, "Commands as JSON").
//!
//! Audio path: the caller writes up to `max_quantum` frames per track into [`Host::engine_inputs`] (planar:
//! track t's left channel at `t x 2 x max_quantum`, its right channel `max_quantum` later), says per track
//! whether it sounds ([`Host::engine_input_kinds`]: 0 silent, 1 mono in the left channel, 2 stereo), calls
//! [`Host::engine_render`] and reads the master from [`Host::engine_output`]. Rendering never allocates.
//! Commands, building and freeing allocate (between quanta).

use super::zeroed::{self, SystemBlocks, ZeroedBlocks, SLICE_BYTES};
use super::{Host, HostError};
use crate::effects::SAMPLE_RATE_RANGE;
use crate::engine::control::plan::Target;
use crate::engine::control::plan::{ProjectPlan, StripRef};
use crate::engine::control::project::{
    automation_mode_named, parse_bus, parse_insert, parse_points, parse_project, parse_send, parse_track,
    resolve_target, Strip as ParsedStrip,
};
use crate::engine::control::vocabulary::TimeSignature;
use crate::engine::render::transport::{SeekTarget, TransportCommand};
use crate::engine::{Command, Engine, MixParam, StructureChange, TrackInput, TrackInputs};
use serde_json::Value;
use std::path::Path;

/// The most frames one [`Host::engine_render`] call may take (the `max_quantum` an engine is built with).
pub const MAX_ENGINE_QUANTUM: u32 = 16_384;

/// Heap headroom an engine is built with, per 48 kHz of its sample rate, on top of room to replace every
/// effect kind's zeroed blocks once ([`super::zeroed`]): for the smaller allocations of inserts added while
/// playing, so that they take free memory instead of growing the WebAssembly memory on the audio thread
/// (`memory.grow` took 0.1 to 6 ms in V8, and its first use of a grown page faults it in).
pub const HEAP_RESERVE_BYTES_PER_48K: usize = 4 << 20;

/// How a track's input buffer is to be read this quantum.
pub const INPUT_SILENT: u8 = 0;
pub const INPUT_MONO: u8 = 1;
pub const INPUT_STEREO: u8 = 2;

/// One engine and the buffers it shares with the host.
pub struct EngineSlot {
    engine: Engine,
    max_quantum: usize,
    /// Planar: per track, left then right, `max_quantum` frames each.
    inputs: Vec<f32>,
    kinds: Vec<u8>,
    out_left: Vec<f32>,
    out_right: Vec<f32>,
}

/// The tracks' inputs as the engine reads them, straight from the host's buffers.
struct SlotInputs<'a> {
    inputs: &'a [f32],
    kinds: &'a [u8],
    quantum: usize,
}

impl TrackInputs for SlotInputs<'_> {
    fn input(&self, track: usize) -> TrackInput<'_> {
        let at = track * 2 * self.quantum;
        let (Some(kind), Some(both)) = (self.kinds.get(track), self.inputs.get(at..at + 2 * self.quantum)) else {
            return TrackInput::Silent;
        };
        let (left, right) = both.split_at(self.quantum);
        match *kind {
            INPUT_MONO => TrackInput::Mono(left),
            INPUT_STEREO => TrackInput::Stereo(left, right),
            _ => TrackInput::Silent,
        }
    }
}

impl Host {
    /// Builds an engine from project JSON (the bytes last written to [`Host::input_bytes`]) at a sample rate,
    /// rendering at most `max_quantum` frames per call; returns its id. Creates every effect: may take
    /// milliseconds. Clips in the project are ignored here: the host feeds each track's audio.
    pub fn create_engine(&mut self, sample_rate_hz: f64, max_quantum: u32, json_len: usize) -> Result<u32, HostError> {
        if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&sample_rate_hz) {
            return Err(HostError::BadSampleRate { sample_rate_hz });
        }
        if !(1..=MAX_ENGINE_QUANTUM).contains(&max_quantum) {
            return Err(HostError::BadCapacity { frames: max_quantum });
        }
        let text = self.input_text(json_len).map_err(HostError::BadProject)?;
        let plan = parse_project(&text, Path::new(".")).map_err(|e| HostError::BadProject(e.to_string()))?;
        prepare_effects(sample_rate_hz);
        if !self.commands_warmed {
            warm_up_commands(sample_rate_hz);
            self.commands_warmed = true;
        }
        let tracks = plan.tracks.len();
        let quantum = max_quantum as usize;
        let engine = Engine::with_max_quantum(plan, sample_rate_hz, quantum.min(crate::engine::DEFAULT_MAX_QUANTUM))
            .map_err(|e| HostError::BadProject(e.to_string()))?;
        let slot = EngineSlot {
            engine,
            max_quantum: quantum,
            inputs: vec![0.0; tracks * 2 * quantum],
            kinds: vec![INPUT_SILENT; tracks],
            out_left: vec![0.0; quantum],
            out_right: vec![0.0; quantum],
        };
        let small = (HEAP_RESERVE_BYTES_PER_48K as f64 * sample_rate_hz / 48_000.0) as usize;
        reserve_heap(zeroed::with_blocks(|b| b.wanted_bytes()) + small);
        zeroed::with_blocks(|b| b.fill(&mut SystemBlocks));
        let id = match self.engines.iter().position(Option::is_none) {
            Some(free) => {
                self.engines[free] = Some(slot);
                free
            }
            None => {
                self.engines.push(Some(slot));
                self.engines.len() - 1
            }
        };
        Ok(id as u32)
    }

    /// Frees an engine and its buffers (pointers to them become invalid).
    pub fn free_engine(&mut self, engine: u32) -> Result<(), HostError> {
        self.engine_slot(engine)?;
        self.engines[engine as usize] = None;
        Ok(())
    }

    fn engine_slot(&mut self, engine: u32) -> Result<&mut EngineSlot, HostError> {
        self.engines
            .get_mut(engine as usize)
            .and_then(Option::as_mut)
            .ok_or(HostError::UnknownEngine { engine })
    }

    /// The engine itself (natively, for tests and tools).
    pub fn engine(&mut self, engine: u32) -> Result<&mut Engine, HostError> {
        Ok(&mut self.engine_slot(engine)?.engine)
    }

    /// The tracks' input buffers (planar: track t's left channel at `t x 2 x max_quantum`, right after it).
    pub fn engine_inputs(&mut self, engine: u32) -> Result<&mut [f32], HostError> {
        Ok(&mut self.engine_slot(engine)?.inputs)
    }

    /// Per track, how its input is read: [`INPUT_SILENT`], [`INPUT_MONO`] (the left channel) or
    /// [`INPUT_STEREO`].
    pub fn engine_input_kinds(&mut self, engine: u32) -> Result<&mut [u8], HostError> {
        Ok(&mut self.engine_slot(engine)?.kinds)
    }

    /// The master output of the last render (`max_quantum` frames; the first `frames` of the call are valid).
    pub fn engine_output(&mut self, engine: u32) -> Result<(&[f32], &[f32]), HostError> {
        let slot = self.engine_slot(engine)?;
        Ok((&slot.out_left, &slot.out_right))
    }

    /// Renders `frames` frames from the input buffers into the output buffers. Never allocates.
    pub fn engine_render(&mut self, engine: u32, frames: u32) -> Result<(), HostError> {
        let slot = self.engine_slot(engine)?;
        let n = frames as usize;
        if n > slot.max_quantum {
            return Err(HostError::TooManyFrames {
                frames,
                capacity: slot.max_quantum as u32,
            });
        }
        let inputs = SlotInputs {
            inputs: &slot.inputs,
            kinds: &slot.kinds,
            quantum: slot.max_quantum,
        };
        slot.engine
            .render(n, &inputs, &mut slot.out_left[..n], &mut slot.out_right[..n]);
        Ok(())
    }

    /// Between quanta: re-plans latency if an insert's latency changed, frees removed inserts (allocates only
    /// when something changed), and zeroes at most [`SLICE_BYTES`] of replacement blocks for inserts added
    /// since ([`super::zeroed`]).
    pub fn engine_maintain(&mut self, engine: u32) -> Result<(), HostError> {
        self.engine_slot(engine)?.engine.refresh_latency();
        zeroed::with_blocks(|b| b.step(&mut SystemBlocks, SLICE_BYTES));
        Ok(())
    }

    /// Applies a command given as JSON (the bytes last written to [`Host::input_bytes`]).
    pub fn engine_apply_json(&mut self, engine: u32, json_len: usize) -> Result<(), HostError> {
        let text = self.input_text(json_len).map_err(HostError::BadCommand)?;
        let slot = self.engine_slot(engine)?;
        let value: Value = serde_json::from_str(&text).map_err(|e| HostError::BadCommand(format!("not JSON: {e}")))?;
        let command = parse_command(&value, slot.engine.plan()).map_err(HostError::BadCommand)?;
        slot.engine
            .apply(command)
            .map_err(|e| HostError::BadCommand(e.to_string()))?;
        // Tracks added or removed: one input (and kind) per track the engine reads. The buffers may move, so
        // views of them are made again after a structure command (docs/engine.md).
        let count = slot.engine.input_count();
        if count != slot.kinds.len() {
            slot.kinds.resize(count, INPUT_SILENT);
            slot.inputs.resize(count * 2 * slot.max_quantum, 0.0);
        }
        Ok(())
    }

    /// The UTF-8 text of the first `len` bytes last written to [`Host::input_bytes`].
    fn input_text(&self, len: usize) -> Result<String, String> {
        match self.input_bytes.get(..len).map(std::str::from_utf8) {
            Some(Ok(text)) => Ok(text.to_string()),
            Some(Err(e)) => Err(format!("not UTF-8: {e}")),
            None => Err(format!("{len} bytes requested, {} written", self.input_bytes.len())),
        }
    }
}

/// Creates every effect once at `sample_rate_hz` and runs it over one block of sound, for two reasons: a
/// WebAssembly engine (V8's) compiles a function on its first call, which would otherwise land on the first
/// quantum in which an insert of that kind is added while playing (tens of ms for some); and the large zeroed
/// buffers each kind asks for are noted, so that one set per kind is kept zeroed ([`super::zeroed`]).
pub fn prepare_effects(sample_rate_hz: f64) {
    const FRAMES: usize = 128;
    let sine: Vec<f32> = (0..FRAMES).map(|n| 0.25 * (0.05 * n as f32).sin()).collect();
    zeroed::with_blocks(ZeroedBlocks::clear_wanted);
    for entry in crate::effects::registry() {
        zeroed::with_blocks(ZeroedBlocks::begin_kind);
        let created = entry.create(sample_rate_hz, None, std::iter::empty());
        zeroed::with_blocks(ZeroedBlocks::end_kind);
        if let Ok(mut effect) = created {
            let (mut left, mut right) = (sine.clone(), sine.clone());
            effect.process(&mut left, &mut right, &[]);
            std::hint::black_box((&left, &right));
        }
    }
}

/// Runs the command path once on a small engine of its own (JSON parsing, adding, moving, setting, enabling and
/// removing inserts, latency re-planning, rendering across the dip fades), for the reason of
/// [`prepare_effects`]: in V8 the first `addInsert` of a session took 5 ms, compiling that path.
fn warm_up_commands(sample_rate_hz: f64) {
    const PROJECT: &str = r#"{"tracks": [{"id": "a", "inserts": [{"id": "eq", "effect": "parametric-eq"}],
        "sends": [{"id": "s", "destination": "b", "level": -6}]}], "buses": [{"id": "b"}],
        "master": {"inserts": [{"id": "lim", "effect": "limiter"}]}}"#;
    const COMMANDS: [&str; 6] = [
        r#"{"command": "addInsert", "strip": "a", "at": 1,
            "insert": {"id": "c", "effect": "compressor", "parameters": {"thresholdDb": -20}}}"#,
        r#"{"command": "setInsertParam", "strip": "a", "insert": 1, "name": "ratio", "value": 3}"#,
        r#"{"command": "moveInsert", "strip": "a", "from": 1, "to": 0}"#,
        r#"{"command": "enableInsert", "strip": "a", "insert": 0, "enabled": false}"#,
        r#"{"command": "set", "strip": "a", "param": "volume", "value": -3}"#,
        r#"{"command": "removeInsert", "strip": "a", "insert": 0}"#,
    ];
    let Ok(plan) = parse_project(PROJECT, Path::new(".")) else {
        return;
    };
    let Ok(mut engine) = Engine::with_max_quantum(plan, sample_rate_hz, crate::engine::DEFAULT_MAX_QUANTUM) else {
        return;
    };
    const FRAMES: usize = crate::engine::DEFAULT_MAX_QUANTUM;
    let input = [0.1f32; FRAMES];
    let inputs = [TrackInput::Mono(&input)];
    let (mut left, mut right) = ([0.0f32; FRAMES], [0.0f32; FRAMES]);
    for text in COMMANDS {
        let command = serde_json::from_str::<Value>(text).map(|v| parse_command(&v, engine.plan()));
        if let Ok(Ok(command)) = command {
            // A failure here only means less was warmed.
            let _ = engine.apply(command);
        }
        for _ in 0..4 {
            engine.render(FRAMES, &inputs, &mut left, &mut right);
            engine.refresh_latency();
        }
    }
}

/// Grows the heap by about `bytes` ahead of need: takes that much and gives it back, so that the allocator
/// holds it free for later allocations. Skipped when the memory cannot grow (the engine works without it).
// The fallible reserve is the point (the lint's `vec![0; n]` aborts when memory runs out), and `resize` writes
// the pages, where `vec![0; n]` would take fresh ones untouched.
#[allow(clippy::slow_vector_initialization)]
fn reserve_heap(bytes: usize) {
    let mut block: Vec<u8> = Vec::new();
    if block.try_reserve_exact(bytes).is_ok() {
        // Written once, so that the system backs the pages now rather than at their first use.
        block.resize(bytes, 0);
        std::hint::black_box(block.as_mut_ptr());
    }
}

/// The string at `key` of command `name`'s object, or an error naming the key and what it should hold.
fn required_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
    key: &str,
    what: &str,
) -> Result<&'a str, String> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name}: '{key}' ({what}) is missing"))
}

/// A command from its JSON form (docs/engine.md, "Commands as JSON"): `{"command": "<name>", ...}` with strips
/// named by id (`"master"` for the master). The error says which key was wrong and why.
pub fn parse_command(value: &Value, plan: &ProjectPlan) -> Result<Command, String> {
    let obj = value.as_object().ok_or("a command is a JSON object")?;
    let name = obj
        .get("command")
        .and_then(Value::as_str)
        .ok_or("'command' (a string) is missing")?;
    let number = |key: &str| -> Result<f64, String> {
        obj.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("{name}: '{key}' (a number) is missing"))
    };
    let index = |key: &str| -> Result<usize, String> {
        let v = obj.get(key).and_then(Value::as_u64);
        v.map(|v| v as usize)
            .ok_or_else(|| format!("{name}: '{key}' (a whole number from 0) is missing"))
    };
    let flag = |key: &str| -> Result<bool, String> {
        obj.get(key)
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("{name}: '{key}' (true or false) is missing"))
    };
    let strip = |key: &str| -> Result<StripRef, String> {
        let id = required_str(obj, name, key, "a strip id")?;
        plan.strip_by_id(id)
            .ok_or_else(|| format!("{name}: no track or bus with id '{id}'"))
    };
    let track = |key: &str| -> Result<usize, String> {
        match strip(key)? {
            StripRef::Track(i) => Ok(i),
            _ => Err(format!("{name}: '{key}' must name a track")),
        }
    };
    // A parameter as the project format's automation `parameter` names it, on the strip `strip`.
    let target = || -> Result<Target, String> {
        let strip = strip("strip")?;
        let parameter = obj.get("parameter").and_then(Value::as_str).ok_or_else(|| {
            format!("{name}: 'parameter' (e.g. volume, sends.<id>.level, inserts.<id>.<name>) is missing")
        })?;
        resolve_target(plan, strip, parameter, "parameter").map_err(|e| format!("{name}: {e}"))
    };
    Ok(match name {
        "automationMode" => {
            let mode = obj.get("mode").and_then(Value::as_str);
            let mode = mode.and_then(automation_mode_named).ok_or_else(|| {
                format!("automationMode: 'mode' is {mode:?}; allowed: off, read, write, touch, latch")
            })?;
            Command::AutomationMode {
                target: target()?,
                mode,
            }
        }
        "touch" => Command::Touch {
            target: target()?,
            touching: flag("touching")?,
        },
        "automation" => {
            let points = obj
                .get("points")
                .ok_or("automation: 'points' (an array of points) is missing")?;
            Command::Automation {
                target: target()?,
                points: parse_points(points, "points").map_err(|e| format!("automation: {e}"))?,
            }
        }
        "set" => {
            let param = match obj.get("param").and_then(Value::as_str) {
                Some("volume") => MixParam::Volume,
                Some("pan") => MixParam::Pan,
                Some("inputGain") => MixParam::InputGain,
                Some("stereoWidth") => MixParam::StereoWidth,
                Some("sendLevel") => MixParam::SendLevel(index("send")?),
                other => {
                    return Err(format!(
                        "set: 'param' is {other:?}; allowed: volume, pan, inputGain, stereoWidth, sendLevel"
                    ))
                }
            };
            Command::Set {
                strip: strip("strip")?,
                param,
                value: number("value")?,
            }
        }
        "setInsertParam" => Command::SetInsertParam {
            strip: strip("strip")?,
            insert: index("insert")?,
            name: required_str(obj, name, "name", "a parameter name")?.to_string(),
            value: number("value")?,
        },
        "mute" => Command::Mute {
            strip: strip("strip")?,
            muted: flag("muted")?,
        },
        "solo" => Command::Solo {
            track: track("strip")?,
            soloed: flag("soloed")?,
        },
        "phaseFlip" => Command::PhaseFlip {
            track: track("strip")?,
            flipped: flag("flipped")?,
        },
        "monoSource" => Command::MonoSource {
            track: track("strip")?,
            mono: flag("mono")?,
        },
        "sendEnabled" => Command::SendEnabled {
            strip: strip("strip")?,
            send: index("send")?,
            enabled: flag("enabled")?,
        },
        "enableInsert" => Command::EnableInsert {
            strip: strip("strip")?,
            insert: index("insert")?,
            enabled: flag("enabled")?,
        },
        "addInsert" => {
            let at = index("at")?;
            let insert = obj
                .get("insert")
                .ok_or("addInsert: 'insert' (an insert object) is missing")?;
            let mut warnings = Vec::new();
            let insert = parse_insert(insert, "insert", at, &mut warnings).map_err(|e| format!("addInsert: {e}"))?;
            Command::AddInsert {
                strip: strip("strip")?,
                at,
                insert,
            }
        }
        "removeInsert" => Command::RemoveInsert {
            strip: strip("strip")?,
            insert: index("insert")?,
        },
        "moveInsert" => Command::MoveInsert {
            strip: strip("strip")?,
            from: index("from")?,
            to: index("to")?,
        },
        "play" => Command::Transport(TransportCommand::Play),
        "pause" => Command::Transport(TransportCommand::Pause),
        "stop" => Command::Transport(TransportCommand::Stop),
        "seek" => {
            let given: Vec<&str> = ["seconds", "frames", "beats"]
                .into_iter()
                .filter(|k| obj.contains_key(*k))
                .collect();
            let target = match given.as_slice() {
                ["seconds"] => SeekTarget::Seconds(number("seconds")?),
                ["frames"] => SeekTarget::Frames(index("frames")? as u64),
                ["beats"] => SeekTarget::Beats(number("beats")?),
                _ => return Err("seek: give exactly one of 'seconds', 'frames' or 'beats'".into()),
            };
            Command::Transport(TransportCommand::Seek(target))
        }
        "loop" => Command::Transport(TransportCommand::Loop {
            enabled: flag("enabled")?,
            start_s: number("start")?,
            end_s: number("end")?,
        }),
        "tempo" => Command::Transport(TransportCommand::Tempo { bpm: number("bpm")? }),
        "timeSignature" => {
            let part = |key: &str| -> Result<u32, String> {
                u32::try_from(index(key)?).map_err(|_| format!("timeSignature: '{key}' is too large"))
            };
            Command::Transport(TransportCommand::TimeSignature(TimeSignature {
                beats_per_bar: part("beatsPerBar")?,
                beat_unit: part("beatUnit")?,
            }))
        }
        "metronome" => Command::Transport(TransportCommand::Metronome {
            enabled: flag("enabled")?,
            volume: obj.get("volume").map_or(Ok(1.0), |_| number("volume"))?,
            accent_first: obj.get("accentFirst").map_or(Ok(true), |_| flag("accentFirst"))?,
        }),
        "addTrack" | "removeTrack" | "addBus" | "removeBus" | "addSend" | "removeSend" | "route" => {
            Command::Structure(parse_structure(name, obj, plan)?)
        }
        other => {
            return Err(format!(
                "unknown command '{other}'; allowed: set, setInsertParam, mute, solo, phaseFlip, monoSource, \
                 sendEnabled, enableInsert, addInsert, removeInsert, moveInsert, addTrack, removeTrack, addBus, \
                 removeBus, addSend, removeSend, route, play, pause, stop, seek, loop, tempo, timeSignature, \
                 metronome, automationMode, touch, automation"
            ))
        }
    })
}

/// The structure commands (docs/engine.md, "Changing the mix while playing"): strips by id, a track, bus or send
/// as the project format writes it.
fn parse_structure(
    name: &str,
    obj: &serde_json::Map<String, Value>,
    plan: &ProjectPlan,
) -> Result<StructureChange, String> {
    let strip = |key: &str| -> Result<StripRef, String> {
        let id = required_str(obj, name, key, "a strip id")?;
        match plan.strip_by_id(id) {
            Some(StripRef::Master) => Err(format!(
                "{name}: '{key}' names the master, which cannot be {name}'s strip"
            )),
            Some(s) => Ok(s),
            None => Err(format!("{name}: no track or bus with id '{id}'")),
        }
    };
    let object = |key: &str| -> Result<&Value, String> {
        obj.get(key)
            .filter(|v| v.is_object())
            .ok_or_else(|| format!("{name}: '{key}' (an object) is missing"))
    };
    let mut warnings = Vec::new();
    Ok(match name {
        "addTrack" => {
            let at = match obj.get("at") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .ok_or_else(|| format!("addTrack: 'at' must be a whole number from 0, got {v}"))?
                        as usize,
                ),
            };
            match parse_track(object("track")?, "track", Path::new("."), &mut warnings)
                .map_err(|e| format!("addTrack: {e}"))?
            {
                ParsedStrip::Track(track) => StructureChange::AddTrack {
                    at,
                    track: Box::new(track),
                },
                // The app's aux tracks are buses.
                ParsedStrip::Bus(bus) => StructureChange::AddBus { bus: Box::new(bus) },
                ParsedStrip::Master(_) => return Err("addTrack: the master exists already".into()),
                ParsedStrip::Ignored => return Err("addTrack: vca tracks are not part of the mix".into()),
            }
        }
        "removeTrack" => match strip("strip")? {
            StripRef::Track(track) => StructureChange::RemoveTrack { track },
            StripRef::Bus(bus) => StructureChange::RemoveBus { bus },
            StripRef::Master => unreachable!("refused above"),
        },
        "addBus" => StructureChange::AddBus {
            bus: Box::new(parse_bus(object("bus")?, "bus", &mut warnings).map_err(|e| format!("addBus: {e}"))?),
        },
        "removeBus" => match strip("strip")? {
            StripRef::Bus(bus) => StructureChange::RemoveBus { bus },
            _ => return Err("removeBus: 'strip' must name a bus".into()),
        },
        "addSend" => {
            let at = strip("strip")?;
            // A send without an id is named "#n": the first n its strip does not use yet.
            let sends = plan.sends(at);
            let index = (sends.len()..)
                .find(|n| sends.iter().all(|s| s.id != format!("#{n}")))
                .unwrap_or(sends.len());
            StructureChange::AddSend {
                strip: at,
                send: parse_send(object("send")?, "send", index, &mut warnings).map_err(|e| format!("addSend: {e}"))?,
            }
        }
        "removeSend" => {
            let at = strip("strip")?;
            let sends = plan.sends(at);
            let send = match obj.get("send") {
                Some(Value::String(id)) => sends
                    .iter()
                    .position(|s| &s.id == id)
                    .ok_or_else(|| format!("removeSend: no send '{id}' on '{}'", plan.strip_id(at)))?,
                Some(v) if v.as_u64().is_some() => v.as_u64().unwrap_or(0) as usize,
                _ => return Err("removeSend: 'send' (a send id or index) is missing".into()),
            };
            StructureChange::RemoveSend { strip: at, send }
        }
        "route" => StructureChange::Route {
            strip: strip("strip")?,
            to: required_str(obj, name, "to", "\"Master\" or a bus id")?.to_string(),
        },
        other => return Err(format!("{other} is not a structure command")),
    })
}
