//! Effect chains addressed by number, for hosts that speak numbers only: the WebAssembly bindings (`src/wasm/`)
//! are a thin layer over this module, and it is plain Rust so that the same logic is tested natively.
//!
//! A [`Host`] owns chains. A chain has a sample rate, a capacity in frames and two preallocated channel buffers
//! (left, right) that [`Host::process`] runs through the chain's inserts in place. Everything on the audio path
//! ([`Host::process`], [`Host::set_param`], [`Host::set_enabled`], [`Host::set_tempo`], the meters) takes and
//! returns numbers, never allocates (event queues have a fixed capacity reserved when the insert is added),
//! never formats and never panics: bad input gives an [`ErrorCode`], and the readable message is formatted only
//! when the host asks for it ([`Host::last_error_message`]).
//!
//! Frames: a chain counts the frames it has processed since it was created (its clock). Events are stamped with
//! a frame of that clock; an event stamped at or before the chain's current frame applies at the start of the
//! next processed block. An insert added later starts its own clock then, and the host converts stamps.
//!
//! Control calls (creating chains, adding inserts, the listing) allocate and may take JSON.

pub mod engine;
pub mod zeroed;

use crate::analysis::{self, MAX_PEAK_BUCKETS, MAX_PEAK_CHANNELS};
use crate::chain::{parse_chain, ChainError};
use crate::effects::{registry, Effect, Event, Source, DEFAULT_BPM, SAMPLE_RATE_RANGE};
use crate::listing::listing_json;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

/// The index of the insert [`Host::process`] is running, -1 outside it. A trap leaves it set, and the
/// worklet reads it from the trapped instance's memory (no call into that instance is safe any more) to name
/// the insert that trapped. One static because a wasm instance has one thread; native hosts only write it.
pub static PROCESSING_INSERT: AtomicI32 = AtomicI32::new(-1);

/// Test-only fault injection (cargo feature `fault-injection`, off by default and in the published npm
/// package): arms a real trap (wasm `unreachable`) in one insert's next run, so the browser tests can check the
/// worklet's recovery from a genuine trap.
#[cfg(feature = "fault-injection")]
pub mod fault {
    use std::sync::atomic::{AtomicI64, Ordering};

    /// `chain << 32 | insert` of the armed insert, or -1.
    static ARMED: AtomicI64 = AtomicI64::new(-1);

    fn key(chain: u32, insert: usize) -> i64 {
        (i64::from(chain) << 32) | (insert as i64 & 0xffff_ffff)
    }

    /// Makes the insert's next run trap.
    pub fn arm(chain: u32, insert: u32) {
        ARMED.store(key(chain, insert as usize), Ordering::Relaxed);
    }

    /// Traps (once) if this insert was armed.
    pub(super) fn trap_if_armed(chain: u32, insert: usize) {
        if ARMED.load(Ordering::Relaxed) == key(chain, insert) {
            ARMED.store(-1, Ordering::Relaxed);
            #[cfg(target_arch = "wasm32")]
            core::arch::wasm32::unreachable();
            #[cfg(not(target_arch = "wasm32"))]
            std::process::abort();
        }
    }
}

/// The most frames one [`Host::process`] call may take per chain (the capacity a chain is created with is at
/// most this). 65536 frames of two f32 channels are 512 KiB.
pub const MAX_CAPACITY_FRAMES: u32 = 65_536;

/// How many pending events each insert can queue: enough for a 20 ms quantum full of automation at one event
/// per control interval (16 frames) for several parameters at once.
pub const EVENT_QUEUE_CAPACITY: usize = 256;

/// The largest frame stamp accepted: 2^53, above which an f64 from JavaScript no longer holds every whole
/// number.
pub const MAX_FRAME_STAMP: f64 = 9_007_199_254_740_992.0;

/// What went wrong, as the number a JavaScript caller receives (always negative, so that a function returning
/// a count or an index can return either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorCode {
    UnknownChain = -1,
    UnknownEffect = -2,
    UnknownInsert = -3,
    UnknownParameter = -4,
    BadValue = -5,
    BadSampleRate = -6,
    BadCapacity = -7,
    TooManyFrames = -8,
    EventQueueFull = -9,
    BadFrame = -10,
    BadTempo = -11,
    BadChainJson = -12,
    Internal = -13,
    BadSource = -14,
    /// Analysis or peaks input the analysis cannot measure (sample rate, channels, frames, buckets, levels).
    BadAnalysisInput = -15,
    UnknownEngine = -16,
    /// Project JSON the engine cannot build (the message names the JSON path).
    BadProject = -17,
    /// A command the engine cannot apply (the message says what was wrong).
    BadCommand = -18,
}

impl ErrorCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The details of the last error, kept as numbers and static names so that recording it never allocates; the
/// message is formatted on request.
#[derive(Debug, Clone, PartialEq)]
pub enum HostError {
    UnknownChain {
        chain: u32,
    },
    UnknownEffect {
        effect: u32,
    },
    UnknownInsert {
        chain: u32,
        insert: u32,
        inserts: usize,
    },
    UnknownParameter {
        effect: &'static str,
        param: u32,
        params: usize,
    },
    BadValue {
        effect: &'static str,
        param: u32,
        value: f64,
    },
    BadSampleRate {
        sample_rate_hz: f64,
    },
    BadCapacity {
        frames: u32,
    },
    TooManyFrames {
        frames: u32,
        capacity: u32,
    },
    EventQueueFull {
        chain: u32,
        insert: u32,
    },
    BadFrame {
        frame: f64,
    },
    BadTempo {
        bpm: f64,
    },
    BadChainJson(ChainError),
    Internal(String),
    BadSource {
        source: u32,
    },
    BadAnalysisInput(String),
    UnknownEngine {
        engine: u32,
    },
    BadProject(String),
    BadCommand(String),
}

impl HostError {
    pub fn code(&self) -> ErrorCode {
        match self {
            HostError::UnknownChain { .. } => ErrorCode::UnknownChain,
            HostError::UnknownEffect { .. } => ErrorCode::UnknownEffect,
            HostError::UnknownInsert { .. } => ErrorCode::UnknownInsert,
            HostError::UnknownParameter { .. } => ErrorCode::UnknownParameter,
            HostError::BadValue { .. } => ErrorCode::BadValue,
            HostError::BadSampleRate { .. } => ErrorCode::BadSampleRate,
            HostError::BadCapacity { .. } => ErrorCode::BadCapacity,
            HostError::TooManyFrames { .. } => ErrorCode::TooManyFrames,
            HostError::EventQueueFull { .. } => ErrorCode::EventQueueFull,
            HostError::BadFrame { .. } => ErrorCode::BadFrame,
            HostError::BadTempo { .. } => ErrorCode::BadTempo,
            HostError::BadChainJson(_) => ErrorCode::BadChainJson,
            HostError::Internal(_) => ErrorCode::Internal,
            HostError::BadSource { .. } => ErrorCode::BadSource,
            HostError::BadAnalysisInput(_) => ErrorCode::BadAnalysisInput,
            HostError::UnknownEngine { .. } => ErrorCode::UnknownEngine,
            HostError::BadProject(_) => ErrorCode::BadProject,
            HostError::BadCommand(_) => ErrorCode::BadCommand,
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::UnknownChain { chain } => write!(f, "no chain {chain} (freed or never created)"),
            HostError::UnknownEffect { effect } => write!(
                f,
                "no effect with index {effect} (effect indices are 0 to {}, in listing order)",
                registry().len() - 1
            ),
            HostError::UnknownInsert { chain, insert, inserts } => {
                write!(f, "chain {chain} has no insert {insert} (it has {inserts} inserts)")
            }
            HostError::UnknownParameter { effect, param, params } => write!(
                f,
                "effect '{effect}' has no parameter with index {param} (parameter indices are 0 to {})",
                params.saturating_sub(1)
            ),
            HostError::BadValue { effect, param, value } => {
                let spec = crate::effects::find(effect).map(|e| e.spec);
                match spec.map(|s| s.check(*param as usize, *value)) {
                    Ok(Err(e)) => write!(f, "parameter index {param}: {e}"),
                    _ => write!(
                        f,
                        "effect '{effect}': parameter index {param}: value {value} is not allowed"
                    ),
                }
            }
            HostError::BadSampleRate { sample_rate_hz } => write!(
                f,
                "sample rate {sample_rate_hz} Hz is not supported (allowed: {} to {} Hz)",
                SAMPLE_RATE_RANGE.0, SAMPLE_RATE_RANGE.1
            ),
            HostError::BadCapacity { frames } => write!(
                f,
                "a chain's capacity is 1 to {MAX_CAPACITY_FRAMES} frames per block, not {frames}"
            ),
            HostError::TooManyFrames { frames, capacity } => write!(
                f,
                "cannot process {frames} frames: the chain was created for at most {capacity} per block"
            ),
            HostError::EventQueueFull { chain, insert } => write!(
                f,
                "chain {chain} insert {insert}: more than {EVENT_QUEUE_CAPACITY} pending events (process the \
                 frames they are stamped at first)"
            ),
            HostError::BadFrame { frame } => write!(f, "frame stamp {frame} is not a whole number from 0 to 2^53"),
            HostError::BadTempo { bpm } => write!(f, "tempo {bpm} BPM is not a positive finite number"),
            HostError::BadChainJson(e) => write!(f, "chain JSON: {e}"),
            HostError::Internal(message) => write!(f, "internal error: {message}"),
            HostError::BadSource { source } => {
                write!(
                    f,
                    "change source {source} is neither 0 (user, glides) nor 1 (automation, exact)"
                )
            }
            HostError::BadAnalysisInput(message) => write!(f, "analysis: {message}"),
            HostError::UnknownEngine { engine } => write!(f, "no engine {engine} (freed or never created)"),
            HostError::BadProject(message) => write!(f, "project: {message}"),
            HostError::BadCommand(message) => write!(f, "command: {message}"),
        }
    }
}

/// One insert of a chain.
struct Insert {
    effect: Box<dyn Effect>,
    /// Pending events in the effect's own clock, sorted by frame (stable: equal frames keep arrival order).
    events: Vec<Event>,
    /// The chain's frame when the insert was added: the effect's frame 0.
    start_frame: u64,
}

/// A chain: inserts in series over two preallocated channel buffers.
struct Chain {
    sample_rate_hz: f64,
    left: Vec<f32>,
    right: Vec<f32>,
    frame: u64,
    tempo_bpm: f64,
    inserts: Vec<Insert>,
}

impl Chain {
    fn capacity_frames(&self) -> u32 {
        self.left.len() as u32
    }

    /// The insert and the event stamp in its clock.
    fn push_event(
        &mut self,
        chain: u32,
        insert: u32,
        chain_frame: u64,
        make: impl FnOnce(u64) -> Event,
    ) -> Result<(), HostError> {
        let inserts = self.inserts.len();
        let slot = self
            .inserts
            .get_mut(insert as usize)
            .ok_or(HostError::UnknownInsert { chain, insert, inserts })?;
        if slot.events.len() == slot.events.capacity() {
            return Err(HostError::EventQueueFull { chain, insert });
        }
        let event = make(chain_frame.saturating_sub(slot.start_frame));
        // After every event of the same frame: the later call wins, as it would applied in call order.
        let at = slot.events.partition_point(|e| e.frame <= event.frame);
        slot.events.insert(at, event); // within the reserved capacity: no allocation
        Ok(())
    }
}

/// The chains of one host (one per WebAssembly instance), the last error, and the byte buffers that cross the
/// boundary.
#[derive(Default)]
pub struct Host {
    chains: Vec<Option<Chain>>,
    last_error: Option<HostError>,
    /// The last error's message, formatted by [`Host::last_error_message`].
    error_text: String,
    /// The effect listing JSON, built on first request.
    listing: Option<String>,
    /// Bytes the caller writes (e.g. chain JSON) before a call that reads them.
    input_bytes: Vec<u8>,
    /// Samples the caller writes before [`Host::analyze`] or [`Host::peaks`]: planar, channel after channel.
    analysis_samples: Vec<f32>,
    /// The last analysis or peaks result (JSON).
    result_json: String,
    /// Mixing engines, by id ([`engine`]).
    engines: Vec<Option<engine::EngineSlot>>,
    /// Whether the command path has run once in this instance (`engine::warm_up_commands`).
    commands_warmed: bool,
}

/// The most samples (frames x channels) one analysis or peaks call takes: 512 MiB of f32, a 23-minute stereo
/// file at 192 kHz; a bound on what a request can make the host allocate.
pub const MAX_ANALYSIS_SAMPLES: u64 = 1 << 27;

/// A frame stamp from an f64: a whole number from 0 to 2^53 (pure).
pub fn frame_from_f64(frame: f64) -> Result<u64, HostError> {
    if (0.0..=MAX_FRAME_STAMP).contains(&frame) && frame.fract() == 0.0 {
        Ok(frame as u64)
    } else {
        Err(HostError::BadFrame { frame })
    }
}

/// A change's source from its number: 0 user (glides over about 20 ms), 1 automation (exact at its frame).
pub fn source_from_u32(source: u32) -> Result<Source, HostError> {
    match source {
        0 => Ok(Source::User),
        1 => Ok(Source::Automation),
        _ => Err(HostError::BadSource { source }),
    }
}

impl Host {
    pub fn new() -> Self {
        Host::default()
    }

    /// Records an error and returns its code.
    pub fn fail(&mut self, error: HostError) -> ErrorCode {
        let code = error.code();
        self.last_error = Some(error);
        code
    }

    /// The code of the last error (0 if none happened yet). Successful calls do not clear it.
    pub fn last_error_code(&self) -> i32 {
        self.last_error.as_ref().map_or(0, |e| e.code().code())
    }

    /// The last error's message (empty if none); formats it (allocates), so call it off the audio path.
    pub fn last_error_message(&mut self) -> &str {
        self.error_text = self.last_error.as_ref().map(|e| e.to_string()).unwrap_or_default();
        &self.error_text
    }

    pub fn last_error(&self) -> Option<&HostError> {
        self.last_error.as_ref()
    }

    /// The effect listing as JSON ([`crate::listing`]), built once.
    pub fn listing_json(&mut self) -> Result<&str, HostError> {
        if self.listing.is_none() {
            self.listing = Some(listing_json().map_err(|e| HostError::Internal(e.to_string()))?);
        }
        Ok(self.listing.as_deref().unwrap_or_default())
    }

    /// A buffer of `len` bytes the caller fills before a call that reads input bytes; valid until the next call.
    pub fn input_bytes(&mut self, len: usize) -> &mut [u8] {
        self.input_bytes.resize(len, 0);
        &mut self.input_bytes
    }

    /// A buffer for `channels` x `frames` samples (planar: channel 0's frames, then channel 1's) that the caller
    /// fills before [`Host::analyze`] or [`Host::peaks`]; valid until the next call.
    pub fn analysis_samples(&mut self, channels: u32, frames: u32) -> Result<&mut [f32], HostError> {
        let samples = u64::from(channels) * u64::from(frames);
        if channels == 0 || channels as usize > MAX_PEAK_CHANNELS {
            return Err(HostError::BadAnalysisInput(format!(
                "{channels} channels: 1 to {MAX_PEAK_CHANNELS} are supported"
            )));
        }
        if samples > MAX_ANALYSIS_SAMPLES {
            return Err(HostError::BadAnalysisInput(format!(
                "{frames} frames x {channels} channels is more than {MAX_ANALYSIS_SAMPLES} samples"
            )));
        }
        self.analysis_samples.clear();
        self.analysis_samples.resize(samples as usize, 0.0);
        Ok(&mut self.analysis_samples)
    }

    /// The samples written by the caller, as one slice per channel, checked against what was reserved.
    fn written_channels(&self, channels: u32, frames: u32) -> Result<Vec<&[f32]>, HostError> {
        let (channels, frames) = (channels as usize, frames as usize);
        if channels == 0 || channels * frames != self.analysis_samples.len() {
            return Err(HostError::BadAnalysisInput(format!(
                "{channels} channels x {frames} frames do not match the {} samples reserved by analysis_samples_ptr",
                self.analysis_samples.len()
            )));
        }
        if frames == 0 {
            return Ok(vec![&[]; channels]);
        }
        Ok(self.analysis_samples.chunks_exact(frames).collect())
    }

    /// Analyses the samples written at [`Host::analysis_samples`] (1 or 2 channels) and returns the JSON of
    /// `corelogic-dsp analyze --json` ([`crate::analysis::json`]).
    pub fn analyze(&mut self, sample_rate_hz: f64, channels: u32, frames: u32) -> Result<&str, HostError> {
        self.analyze_measurements(sample_rate_hz, channels, frames, analysis::Measurements::All)
    }

    /// [`Host::analyze`] of some of the measurements: the JSON has only their keys
    /// ([`analysis::json::analysis_json_of`]).
    pub fn analyze_measurements(
        &mut self,
        sample_rate_hz: f64,
        channels: u32,
        frames: u32,
        measurements: analysis::Measurements,
    ) -> Result<&str, HostError> {
        let slices = self.written_channels(channels, frames)?;
        let result = analysis::analyze_measurements(sample_rate_hz, &slices, measurements)
            .map_err(|e| HostError::BadAnalysisInput(e.to_string()))?;
        self.result_json = analysis::json::analysis_json_of(&result, measurements).to_string();
        Ok(&self.result_json)
    }

    /// Waveform peaks of the samples written at [`Host::analysis_samples`] (1 to 8 channels): the JSON of
    /// `corelogic-dsp peaks --json` ([`crate::analysis::json`]).
    pub fn peaks(
        &mut self,
        sample_rate_hz: f64,
        channels: u32,
        frames: u32,
        buckets: u32,
        levels: u32,
    ) -> Result<&str, HostError> {
        let slices = self.written_channels(channels, frames)?;
        let bad = |e: analysis::AnalysisError| HostError::BadAnalysisInput(e.to_string());
        if let Some(finest) = (buckets as usize).checked_mul(1usize << levels.clamp(1, 16).saturating_sub(1)) {
            if finest > MAX_PEAK_BUCKETS {
                return Err(HostError::BadAnalysisInput(format!(
                    "{buckets} buckets with {levels} levels asks for more than {MAX_PEAK_BUCKETS} buckets at the finest level"
                )));
            }
        }
        let mut builder =
            analysis::PeaksBuilder::new(u64::from(frames), channels as usize, buckets as usize, levels as usize)
                .map_err(bad)?;
        builder.push(&slices).map_err(bad)?;
        self.result_json =
            analysis::json::peaks_json(sample_rate_hz, channels as usize, u64::from(frames), &builder.finish());
        Ok(&self.result_json)
    }

    /// The last result of [`Host::analyze`] or [`Host::peaks`].
    pub fn result_json(&self) -> &str {
        &self.result_json
    }

    /// Creates a chain with no inserts; returns its id. Ids of freed chains are reused.
    pub fn create_chain(&mut self, sample_rate_hz: f64, capacity_frames: u32) -> Result<u32, HostError> {
        if !(SAMPLE_RATE_RANGE.0..=SAMPLE_RATE_RANGE.1).contains(&sample_rate_hz) {
            return Err(HostError::BadSampleRate { sample_rate_hz });
        }
        if !(1..=MAX_CAPACITY_FRAMES).contains(&capacity_frames) {
            return Err(HostError::BadCapacity {
                frames: capacity_frames,
            });
        }
        let chain = Chain {
            sample_rate_hz,
            left: vec![0.0; capacity_frames as usize],
            right: vec![0.0; capacity_frames as usize],
            frame: 0,
            tempo_bpm: DEFAULT_BPM,
            inserts: Vec::new(),
        };
        let id = match self.chains.iter().position(Option::is_none) {
            Some(free) => {
                self.chains[free] = Some(chain);
                free
            }
            None => {
                self.chains.push(Some(chain));
                self.chains.len() - 1
            }
        };
        Ok(id as u32)
    }

    /// Frees a chain and its buffers (pointers to them become invalid).
    pub fn free_chain(&mut self, chain: u32) -> Result<(), HostError> {
        self.chain_mut(chain)?;
        self.chains[chain as usize] = None;
        Ok(())
    }

    fn chain_mut(&mut self, chain: u32) -> Result<&mut Chain, HostError> {
        self.chains
            .get_mut(chain as usize)
            .and_then(Option::as_mut)
            .ok_or(HostError::UnknownChain { chain })
    }

    fn chain_ref(&self, chain: u32) -> Result<&Chain, HostError> {
        self.chains
            .get(chain as usize)
            .and_then(Option::as_ref)
            .ok_or(HostError::UnknownChain { chain })
    }

    /// Appends an effect by registry index at its defaults; returns the insert's index.
    pub fn append(&mut self, chain: u32, effect: u32) -> Result<u32, HostError> {
        let entry = registry()
            .get(effect as usize)
            .ok_or(HostError::UnknownEffect { effect })?;
        let c = self.chain_mut(chain)?;
        let mut created = entry
            .create(c.sample_rate_hz, None, [])
            .map_err(|e| HostError::Internal(e.to_string()))?;
        created.set_tempo_immediately(c.tempo_bpm);
        Ok(push_insert(c, created))
    }

    /// Appends every entry of a chain JSON (the CLI's `--chain` shape: effect ids, presets, parameters,
    /// `enabled`, curves), all or none; returns the index of the first added insert.
    pub fn append_json(&mut self, chain: u32, json: &str) -> Result<u32, HostError> {
        let c = self.chain_mut(chain)?;
        let entries = parse_chain(json).map_err(HostError::BadChainJson)?;
        let created = entries
            .iter()
            .map(|e| e.create(c.sample_rate_hz, c.tempo_bpm))
            .collect::<Result<Vec<_>, _>>()
            .map_err(HostError::BadChainJson)?;
        let first = c.inserts.len() as u32;
        for effect in created {
            push_insert(c, effect);
        }
        Ok(first)
    }

    /// [`Host::append_json`] on the bytes last written to [`Host::input_bytes`] (UTF-8).
    pub fn append_json_from_input(&mut self, chain: u32, len: usize) -> Result<u32, HostError> {
        let bytes = std::mem::take(&mut self.input_bytes);
        let result = match bytes.get(..len).map(std::str::from_utf8) {
            Some(Ok(json)) => self.append_json(chain, json),
            Some(Err(e)) => Err(HostError::BadChainJson(ChainError {
                path: String::new(),
                message: format!("not UTF-8: {e}"),
            })),
            None => Err(HostError::BadChainJson(ChainError {
                path: String::new(),
                message: format!("{len} bytes requested, {} written", bytes.len()),
            })),
        };
        self.input_bytes = bytes;
        result
    }

    /// Queues a parameter change (by index in the effect's table) at a frame of the chain's clock. Real-time
    /// safe.
    pub fn set_param(
        &mut self,
        chain: u32,
        insert: u32,
        param: u32,
        value: f64,
        frame: f64,
        source: Source,
    ) -> Result<(), HostError> {
        let frame = frame_from_f64(frame)?;
        let c = self.chain_mut(chain)?;
        let inserts = c.inserts.len();
        let spec = c
            .inserts
            .get(insert as usize)
            .ok_or(HostError::UnknownInsert { chain, insert, inserts })?
            .effect
            .spec();
        let row = spec.params.get(param as usize).ok_or(HostError::UnknownParameter {
            effect: spec.id,
            param,
            params: spec.params.len(),
        })?;
        let value = row.check(value).map_err(|_| HostError::BadValue {
            effect: spec.id,
            param,
            value,
        })?;
        let index = param as usize;
        c.push_event(chain, insert, frame, |at| Event {
            frame: at,
            action: crate::effects::Action::Set { index, value, source },
        })
    }

    /// Queues enabling (true) or bypassing (false) an insert at a frame, crossfaded. Real-time safe.
    pub fn set_enabled(&mut self, chain: u32, insert: u32, enabled: bool, frame: f64) -> Result<(), HostError> {
        let frame = frame_from_f64(frame)?;
        self.chain_mut(chain)?
            .push_event(chain, insert, frame, |at| Event::enable(enabled, at))
    }

    /// Queues a tempo change for every insert of a chain at a frame (and for inserts added later). All or none:
    /// fails without queueing if any insert's queue is full. Real-time safe.
    pub fn set_tempo(&mut self, chain: u32, bpm: f64, frame: f64) -> Result<(), HostError> {
        let frame = frame_from_f64(frame)?;
        if !(bpm.is_finite() && bpm > 0.0) {
            return Err(HostError::BadTempo { bpm });
        }
        let c = self.chain_mut(chain)?;
        if let Some(full) = c.inserts.iter().position(|i| i.events.len() == i.events.capacity()) {
            return Err(HostError::EventQueueFull {
                chain,
                insert: full as u32,
            });
        }
        c.tempo_bpm = bpm;
        for insert in 0..c.inserts.len() as u32 {
            c.push_event(chain, insert, frame, |at| Event::tempo(bpm, at))?;
        }
        Ok(())
    }

    /// Runs the first `frames` frames of the chain's buffers through its inserts in place, applying the events
    /// stamped before the block's end. Real-time safe.
    pub fn process(&mut self, chain: u32, frames: u32) -> Result<(), HostError> {
        let c = self.chain_mut(chain)?;
        if frames > c.capacity_frames() {
            return Err(HostError::TooManyFrames {
                frames,
                capacity: c.capacity_frames(),
            });
        }
        let n = frames as usize;
        let (left, right) = (&mut c.left[..n], &mut c.right[..n]);
        for (index, insert) in c.inserts.iter_mut().enumerate() {
            PROCESSING_INSERT.store(index as i32, Ordering::Relaxed);
            #[cfg(feature = "fault-injection")]
            fault::trap_if_armed(chain, index);
            let block_end = insert.effect.frame() + u64::from(frames);
            let due = insert.events.partition_point(|e| e.frame < block_end);
            insert.effect.process(left, right, &insert.events[..due]);
            insert.events.drain(..due); // shifts the rest down in place: no allocation
        }
        PROCESSING_INSERT.store(-1, Ordering::Relaxed);
        c.frame += u64::from(frames);
        Ok(())
    }

    /// Pointers to the chain's left and right buffers (capacity frames each); they stay valid until the chain is
    /// freed (wasm memory growth moves no allocation, but JavaScript must re-create its views over a new
    /// `memory.buffer`).
    pub fn buffers(&mut self, chain: u32) -> Result<(*mut f32, *mut f32), HostError> {
        let c = self.chain_mut(chain)?;
        Ok((c.left.as_mut_ptr(), c.right.as_mut_ptr()))
    }

    /// The chain's buffers as slices, for native hosts and tests.
    pub fn buffers_mut(&mut self, chain: u32) -> Result<(&mut [f32], &mut [f32]), HostError> {
        let c = self.chain_mut(chain)?;
        Ok((&mut c.left, &mut c.right))
    }

    pub fn capacity_frames(&self, chain: u32) -> Result<u32, HostError> {
        Ok(self.chain_ref(chain)?.capacity_frames())
    }

    /// Frames the chain has processed since it was created (its clock).
    pub fn frame(&self, chain: u32) -> Result<u64, HostError> {
        Ok(self.chain_ref(chain)?.frame)
    }

    pub fn insert_count(&self, chain: u32) -> Result<u32, HostError> {
        Ok(self.chain_ref(chain)?.inserts.len() as u32)
    }

    /// The chain's total latency in samples.
    pub fn latency(&self, chain: u32) -> Result<u32, HostError> {
        Ok(self
            .chain_ref(chain)?
            .inserts
            .iter()
            .map(|i| i.effect.latency() as u32)
            .sum())
    }

    /// An insert's current gain reduction in dB (0 or negative). Real-time safe.
    pub fn gain_reduction_db(&self, chain: u32, insert: u32) -> Result<f32, HostError> {
        let c = self.chain_ref(chain)?;
        let inserts = c.inserts.len();
        let slot = c
            .inserts
            .get(insert as usize)
            .ok_or(HostError::UnknownInsert { chain, insert, inserts })?;
        Ok(slot.effect.gain_reduction_db())
    }

    /// Clears every insert's audio state and pending events (parameters and the clock are kept).
    pub fn reset(&mut self, chain: u32) -> Result<(), HostError> {
        for insert in &mut self.chain_mut(chain)?.inserts {
            insert.effect.reset();
            insert.events.clear();
        }
        Ok(())
    }
}

/// Adds an effect to a chain with its event queue reserved; returns its index.
fn push_insert(chain: &mut Chain, effect: Box<dyn Effect>) -> u32 {
    chain.inserts.push(Insert {
        effect,
        events: Vec::with_capacity(EVENT_QUEUE_CAPACITY),
        start_frame: chain.frame,
    });
    chain.inserts.len() as u32 - 1
}

/// The number of parameters of the effect at a registry index.
pub fn param_count(effect: u32) -> Result<u32, HostError> {
    registry()
        .get(effect as usize)
        .map(|e| e.spec.params.len() as u32)
        .ok_or(HostError::UnknownEffect { effect })
}

/// The number of registered effects (registry indices are 0 to this minus 1).
pub fn effect_count() -> u32 {
    registry().len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{build_chain, process_in_series};
    use crate::dsp::rng::Pcg32;

    fn noise(frames: usize, seed: u64) -> Vec<f32> {
        let mut rng = Pcg32::new(seed, 7);
        (0..frames).map(|_| (rng.next_f64() - 0.5) as f32).collect()
    }

    fn index_of(id: &str) -> u32 {
        registry().iter().position(|e| e.spec.id == id).unwrap() as u32
    }

    /// The host's chain equals the library's chain (`chain::build_chain` + `process_in_series`, the CLI's path)
    /// sample for sample, whatever the block sizes, since both run the same effects on the same piece grid.
    #[test]
    fn a_host_chain_equals_the_library_chain() {
        let json = r#"[{"effect": "parametric-eq", "parameters": {"b2GainDb": 6, "b3GainDb": -6}},
                       {"effect": "compressor", "parameters": {"thresholdDb": -30}},
                       {"effect": "ping-pong-delay"}]"#;
        let (left_in, right_in) = (noise(4000, 1), noise(4000, 2));
        let mut reference = build_chain(&parse_chain(json).unwrap(), 48_000.0, DEFAULT_BPM).unwrap();
        let (mut left_ref, mut right_ref) = (left_in.clone(), right_in.clone());
        process_in_series(&mut reference, &mut left_ref, &mut right_ref);

        let mut host = Host::new();
        let chain = host.create_chain(48_000.0, 300).unwrap();
        assert_eq!(host.append_json(chain, json).unwrap(), 0);
        let (mut left_out, mut right_out) = (Vec::new(), Vec::new());
        let mut start = 0;
        for block in [128usize, 300, 7, 1, 256].iter().cycle() {
            if start == left_in.len() {
                break;
            }
            let n = (*block).min(left_in.len() - start);
            let (l, r) = host.buffers_mut(chain).unwrap();
            l[..n].copy_from_slice(&left_in[start..start + n]);
            r[..n].copy_from_slice(&right_in[start..start + n]);
            host.process(chain, n as u32).unwrap();
            let (l, r) = host.buffers_mut(chain).unwrap();
            left_out.extend_from_slice(&l[..n]);
            right_out.extend_from_slice(&r[..n]);
            start += n;
        }
        assert_eq!(left_out, left_ref);
        assert_eq!(right_out, right_ref);
        assert_eq!(host.frame(chain).unwrap(), 4000);
    }

    /// A parameter set by index at a frame equals the library's `Event::set` by name at that frame.
    #[test]
    fn a_stamped_parameter_lands_at_its_frame() {
        let gain = index_of("high-shelf");
        let spec = registry()[gain as usize].spec;
        let param = spec.index_of("gainDb").unwrap();
        let input = noise(1024, 3);
        let mut reference = crate::effects::create("high-shelf", 48_000.0, []).unwrap();
        let (mut l_ref, mut r_ref) = (input.clone(), input.clone());
        let event = Event::set(spec, "gainDb", 12.0, 300, Source::Automation).unwrap();
        reference.process(&mut l_ref[..512], &mut r_ref[..512], &[event]);
        reference.process(&mut l_ref[512..], &mut r_ref[512..], &[]);

        let mut host = Host::new();
        let chain = host.create_chain(48_000.0, 512).unwrap();
        host.append(chain, gain).unwrap();
        host.set_param(chain, 0, param as u32, 12.0, 300.0, Source::Automation)
            .unwrap();
        let mut out = Vec::new();
        for half in input.chunks(512) {
            let (l, r) = host.buffers_mut(chain).unwrap();
            l.copy_from_slice(half);
            r.copy_from_slice(half);
            host.process(chain, 512).unwrap();
            out.extend_from_slice(host.buffers_mut(chain).unwrap().0);
        }
        assert_eq!(out, l_ref);
        assert_ne!(out[..300], out[300..600], "the change happened");
        assert_ne!(out, input, "the shelf changed the signal");
    }

    /// An insert added after the chain ran takes stamps in the chain's clock.
    #[test]
    fn a_late_insert_converts_frame_stamps() {
        let mut host = Host::new();
        let chain = host.create_chain(48_000.0, 256).unwrap();
        host.process(chain, 256).unwrap();
        let insert = host.append(chain, index_of("parametric-eq")).unwrap();
        let spec = registry()[index_of("parametric-eq") as usize].spec;
        let param = spec.index_of("outputGainDb").unwrap() as u32;
        host.set_param(chain, insert, param, -6.0, 256.0 + 100.0, Source::Automation)
            .unwrap();
        let (l, r) = host.buffers_mut(chain).unwrap();
        l.fill(0.5);
        r.fill(0.5);
        host.process(chain, 256).unwrap();
        let (l, _) = host.buffers_mut(chain).unwrap();
        // The shelves at 0 dB pass DC at unity, so the step is the output gain alone, exactly at frame 100.
        let expected_ratio = 10f32.powf(-6.0 / 20.0);
        assert!((l[100] / l[99] - expected_ratio).abs() < 1e-5, "{} {}", l[99], l[100]);
        assert!((l[99] / l[98] - 1.0).abs() < 1e-5, "{} {}", l[98], l[99]);
    }

    #[test]
    fn bad_input_gives_codes_and_messages() {
        let mut host = Host::new();
        let e = host.create_chain(1000.0, 128).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadSampleRate);
        assert_eq!(
            e.to_string(),
            "sample rate 1000 Hz is not supported (allowed: 8000 to 192000 Hz)"
        );
        assert_eq!(
            host.create_chain(48_000.0, 0).unwrap_err().code(),
            ErrorCode::BadCapacity
        );
        let chain = host.create_chain(48_000.0, 128).unwrap();
        let e = host.append(chain, 19).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no effect with index 19 (effect indices are 0 to 18, in listing order)"
        );
        assert_eq!(host.append(7, 0).unwrap_err().code(), ErrorCode::UnknownChain);
        let comp = host.append(chain, index_of("compressor")).unwrap();
        let e = host.set_param(chain, 5, 0, 0.0, 0.0, Source::User).unwrap_err();
        assert_eq!(e.to_string(), "chain 0 has no insert 5 (it has 1 inserts)");
        let e = host.set_param(chain, comp, 99, 0.0, 0.0, Source::User).unwrap_err();
        assert_eq!(
            e.to_string(),
            "effect 'compressor' has no parameter with index 99 (parameter indices are 0 to 7)"
        );
        let e = host.set_param(chain, comp, 0, 5.0, 0.0, Source::User).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadValue);
        assert_eq!(
            e.to_string(),
            "parameter index 0: effect 'compressor': parameter 'thresholdDb' = 5 is out of range; allowed: a \
             number from -60 to 0"
        );
        let e = host.set_param(chain, comp, 0, f64::NAN, 0.0, Source::User).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadValue);
        let e = host.set_param(chain, comp, 0, -10.0, -1.0, Source::User).unwrap_err();
        assert_eq!(e.to_string(), "frame stamp -1 is not a whole number from 0 to 2^53");
        assert_eq!(host.set_tempo(chain, 0.0, 0.0).unwrap_err().code(), ErrorCode::BadTempo);
        let e = host.process(chain, 129).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot process 129 frames: the chain was created for at most 128 per block"
        );
        let e = host
            .append_json(chain, r#"[{"effect": "compressor", "parameters": {"ratio": 0}}]"#)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadChainJson);
        assert!(
            e.to_string().starts_with("chain JSON: chain[0].parameters.ratio: "),
            "{e}"
        );
        assert_eq!(host.insert_count(chain).unwrap(), 1, "a failed append adds nothing");
        host.free_chain(chain).unwrap();
        assert_eq!(host.process(chain, 1).unwrap_err().code(), ErrorCode::UnknownChain);
        let code = host.fail(HostError::BadTempo { bpm: -1.0 });
        assert_eq!(host.last_error_code(), code.code());
        assert_eq!(
            host.last_error_message(),
            "tempo -1 BPM is not a positive finite number"
        );
    }

    #[test]
    fn event_queues_are_bounded_and_later_calls_win_at_equal_frames() {
        let mut host = Host::new();
        let chain = host.create_chain(48_000.0, 64).unwrap();
        let eq = host.append(chain, index_of("parametric-eq")).unwrap();
        let param = registry()[0].spec.index_of("outputGainDb").unwrap() as u32;
        for _ in 0..EVENT_QUEUE_CAPACITY - 1 {
            host.set_param(chain, eq, param, -12.0, 10.0, Source::Automation)
                .unwrap();
        }
        host.set_param(chain, eq, param, -6.0, 10.0, Source::Automation)
            .unwrap();
        let e = host
            .set_param(chain, eq, param, 0.0, 10.0, Source::Automation)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::EventQueueFull);
        let (l, r) = host.buffers_mut(chain).unwrap();
        l.fill(1.0);
        r.fill(1.0);
        host.process(chain, 64).unwrap();
        let (l, _) = host.buffers_mut(chain).unwrap();
        assert!((l[63] - 10f32.powf(-6.0 / 20.0)).abs() < 1e-6, "{}", l[63]);
        host.set_param(chain, eq, param, 0.0, 64.0, Source::Automation).unwrap();
    }

    #[test]
    fn the_listing_is_the_library_listing() {
        let mut host = Host::new();
        assert_eq!(host.listing_json().unwrap(), listing_json().unwrap());
        assert_eq!(effect_count(), 19);
        assert_eq!(param_count(index_of("compressor")).unwrap(), 8);
    }

    /// The host's analysis and peaks are the library's (the same JSON the CLI prints), from planar samples.
    #[test]
    fn analysis_and_peaks_equal_the_library() {
        let (left, right) = (noise(48_000, 3), noise(48_000, 4));
        let mut host = Host::new();
        let samples = host.analysis_samples(2, 48_000).unwrap();
        samples[..48_000].copy_from_slice(&left);
        samples[48_000..].copy_from_slice(&right);
        let expected = analysis::json::analysis_json(&analysis::analyze(44_100.0, &[&left, &right]).unwrap());
        assert_eq!(host.analyze(44_100.0, 2, 48_000).unwrap(), expected.to_string());
        let mut builder = analysis::PeaksBuilder::new(48_000, 2, 100, 3).unwrap();
        builder.push(&[&left, &right]).unwrap();
        let expected = analysis::json::peaks_json(44_100.0, 2, 48_000, &builder.finish());
        assert_eq!(host.peaks(44_100.0, 2, 48_000, 100, 3).unwrap(), expected);
        assert_eq!(host.result_json(), expected);
    }

    #[test]
    fn bad_analysis_input_names_what_was_wrong() {
        let mut host = Host::new();
        let message = |e: HostError| (e.code(), e.to_string());
        let (code, text) = message(host.analysis_samples(9, 10).unwrap_err());
        assert_eq!(
            (code, text.as_str()),
            (
                ErrorCode::BadAnalysisInput,
                "analysis: 9 channels: 1 to 8 are supported"
            )
        );
        assert!(message(host.analysis_samples(2, u32::MAX).unwrap_err())
            .1
            .contains("more than 134217728 samples"));
        host.analysis_samples(2, 100).unwrap();
        assert!(message(host.analyze(48_000.0, 2, 99).unwrap_err())
            .1
            .contains("do not match the 200 samples"));
        assert!(message(host.analyze(10.0, 2, 100).unwrap_err())
            .1
            .contains("sample rate 10 Hz"));
        host.analysis_samples(3, 100).unwrap();
        assert!(message(host.analyze(48_000.0, 3, 100).unwrap_err())
            .1
            .contains("3 channels: 1 to 2"));
        assert!(message(host.peaks(48_000.0, 3, 100, 0, 1).unwrap_err())
            .1
            .contains("at least 1 bucket"));
        assert!(message(host.peaks(48_000.0, 3, 100, 1 << 20, 8).unwrap_err())
            .1
            .contains("finest level"));
        assert_eq!(ErrorCode::BadAnalysisInput.code(), -15);
    }
}
