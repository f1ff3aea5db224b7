//! The WebAssembly bindings: a thin numeric layer over [`crate::host`], compiled for wasm32 only. No DSP here.
//!
//! Every export takes and returns numbers, so wasm-bindgen's glue passes them straight through (no strings on
//! the audio path, nothing allocated per call). Conventions:
//! - functions returning `i32` return a count, an id or 0 on success and a negative [`ErrorCode`] on failure;
//! - functions returning a pointer (`u32`) return 0 on failure; `f32`/`f64` meters return NaN on failure;
//! - after a failure, `last_error_code()` is the code and `last_error_len()` formats the message (UTF-8 bytes at
//!   `last_error_ptr()`; the worklet scope has no TextDecoder, so decode them on the main thread).
//!
//! Text crosses as bytes: the listing JSON is read at `listing_json_ptr()` for `listing_json_len()` bytes, and
//! chain JSON is written into `input_bytes_ptr(len)` before `chain_append_json(chain, len)`.
//!
//! Audio: `chain_create(sampleRateHz, capacityFrames)` preallocates two f32 buffers; `chain_left_ptr` and
//! `chain_right_ptr` give their addresses once; JavaScript writes a block into them, calls
//! `chain_process(chain, frames)` and reads the result from the same place. Views over `memory.buffer` must be
//! re-created when the memory grows (a chain created later may grow it); the addresses stay valid.

use crate::host::{self, source_from_u32, ErrorCode, Host, HostError};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    /// One host per instance (wasm32 without threads: one thread, so this is a plain static).
    static HOST: RefCell<Host> = RefCell::new(Host::new());
}

/// Runs `f` on the host; a re-entrant call (impossible from JavaScript, which cannot call in while a call
/// runs) reports an internal error instead of panicking.
fn with_host<R>(f: impl FnOnce(&mut Host) -> R, busy: R) -> R {
    HOST.with(|cell| match cell.try_borrow_mut() {
        Ok(mut host) => f(&mut host),
        Err(_) => busy,
    })
}

/// A result as an `i32`: the value on success, the recorded error's code on failure.
fn code_of<T>(result: Result<T, HostError>, ok: impl FnOnce(T) -> i32) -> i32 {
    with_host(
        |host| match result {
            Ok(value) => ok(value),
            Err(e) => host.fail(e).code(),
        },
        ErrorCode::Internal.code(),
    )
}

/// Like [`code_of`] inside an already borrowed host.
fn record<T>(host: &mut Host, result: Result<T, HostError>, ok: impl FnOnce(T) -> i32) -> i32 {
    match result {
        Ok(value) => ok(value),
        Err(e) => host.fail(e).code(),
    }
}

#[wasm_bindgen(start)]
fn start() {
    // A panic (a bug: bad input never panics) prints its message to the console before the instance traps.
    console_error_panic_hook::set_once();
}

/// The address of an i32 in memory: the index of the insert `chain_process` is running, -1 outside it. Read it
/// once; after a trap, read the i32 there in the trapped instance's memory to learn which insert trapped.
#[wasm_bindgen]
pub fn processing_insert_ptr() -> u32 {
    host::PROCESSING_INSERT.as_ptr() as u32
}

/// Test-only (cargo feature `fault-injection`, absent from the published module): the insert's next run in
/// `chain_process` traps (wasm `unreachable`).
#[cfg(feature = "fault-injection")]
#[wasm_bindgen]
pub fn test_trap_arm(chain: u32, insert: u32) {
    host::fault::arm(chain, insert);
}

/// The number of registered effects; effect indices are 0 to this minus 1, in listing order.
#[wasm_bindgen]
pub fn effect_count() -> u32 {
    host::effect_count()
}

/// The number of parameters of an effect (the listing's order), or a negative error code.
#[wasm_bindgen]
pub fn effect_param_count(effect: u32) -> i32 {
    code_of(host::param_count(effect), |n| n as i32)
}

/// Builds the listing JSON (once) and returns its length in bytes, or a negative error code.
#[wasm_bindgen]
pub fn listing_json_len() -> i32 {
    with_host(
        |host| {
            let result = host.listing_json().map(str::len);
            record(host, result, |n| n as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// The address of the listing JSON (call [`listing_json_len`] first), or 0.
#[wasm_bindgen]
pub fn listing_json_ptr() -> u32 {
    with_host(|host| host.listing_json().map_or(0, |s| s.as_ptr() as u32), 0)
}

/// The code of the last error (0 if none yet). Successful calls leave it unchanged.
#[wasm_bindgen]
pub fn last_error_code() -> i32 {
    with_host(|host| host.last_error_code(), ErrorCode::Internal.code())
}

/// Formats the last error's message and returns its length in UTF-8 bytes (0 if none). Allocates: not for the
/// audio thread's hot path.
#[wasm_bindgen]
pub fn last_error_len() -> u32 {
    with_host(|host| host.last_error_message().len() as u32, 0)
}

/// The address of the message [`last_error_len`] formatted.
#[wasm_bindgen]
pub fn last_error_ptr() -> u32 {
    with_host(|host| host.last_error_message().as_ptr() as u32, 0)
}

/// Reserves `len` bytes for input (chain JSON) and returns their address; valid until the next call.
#[wasm_bindgen]
pub fn input_bytes_ptr(len: u32) -> u32 {
    with_host(|host| host.input_bytes(len as usize).as_mut_ptr() as u32, 0)
}

/// Creates a chain at a sample rate with buffers for up to `capacity_frames` per block; returns its id.
#[wasm_bindgen]
pub fn chain_create(sample_rate_hz: f64, capacity_frames: u32) -> i32 {
    with_host(
        |host| {
            let result = host.create_chain(sample_rate_hz, capacity_frames);
            record(host, result, |id| id as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// Frees a chain; its buffer addresses become invalid.
#[wasm_bindgen]
pub fn chain_free(chain: u32) -> i32 {
    with_host(
        |host| {
            let result = host.free_chain(chain);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// Appends an effect by registry index at its defaults; returns the insert index.
#[wasm_bindgen]
pub fn chain_append(chain: u32, effect: u32) -> i32 {
    with_host(
        |host| {
            let result = host.append(chain, effect);
            record(host, result, |i| i as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// Appends the entries of a chain JSON written at `input_bytes_ptr(len)` (the CLI's `--chain` shape), all or
/// none; returns the index of the first added insert.
#[wasm_bindgen]
pub fn chain_append_json(chain: u32, len: u32) -> i32 {
    with_host(
        |host| {
            let result = host.append_json_from_input(chain, len as usize);
            record(host, result, |i| i as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// Queues a parameter change by index at a frame of the chain's clock; `source` 0 user (glides), 1 automation.
#[wasm_bindgen]
pub fn chain_set_param(chain: u32, insert: u32, param: u32, value: f64, frame: f64, source: u32) -> i32 {
    with_host(
        |host| {
            let result =
                source_from_u32(source).and_then(|source| host.set_param(chain, insert, param, value, frame, source));
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// Queues enabling (1) or bypassing (0) an insert at a frame.
#[wasm_bindgen]
pub fn chain_set_enabled(chain: u32, insert: u32, enabled: bool, frame: f64) -> i32 {
    with_host(
        |host| {
            let result = host.set_enabled(chain, insert, enabled, frame);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// Queues a tempo change (BPM) for the chain's tempo-synced effects at a frame.
#[wasm_bindgen]
pub fn chain_set_tempo(chain: u32, bpm: f64, frame: f64) -> i32 {
    with_host(
        |host| {
            let result = host.set_tempo(chain, bpm, frame);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// Processes the first `frames` frames of the chain's buffers in place.
#[wasm_bindgen]
pub fn chain_process(chain: u32, frames: u32) -> i32 {
    with_host(
        |host| {
            let result = host.process(chain, frames);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// The address of the chain's left buffer (f32 x capacity), or 0.
#[wasm_bindgen]
pub fn chain_left_ptr(chain: u32) -> u32 {
    with_host(
        |host| {
            let address = host_buffer(host, chain, 0);
            address_or_zero(host, address)
        },
        0,
    )
}

/// The address of the chain's right buffer (f32 x capacity), or 0.
#[wasm_bindgen]
pub fn chain_right_ptr(chain: u32) -> u32 {
    with_host(
        |host| {
            let address = host_buffer(host, chain, 1);
            address_or_zero(host, address)
        },
        0,
    )
}

/// The address of one channel's buffer (0 left, 1 right).
fn host_buffer(host: &mut Host, chain: u32, channel: usize) -> Result<u32, HostError> {
    host.buffers(chain)
        .map(|(left, right)| if channel == 0 { left as u32 } else { right as u32 })
}

fn address_or_zero(host: &mut Host, address: Result<u32, HostError>) -> u32 {
    address.unwrap_or_else(|e| {
        host.fail(e);
        0
    })
}

/// The chain's capacity in frames per block.
#[wasm_bindgen]
pub fn chain_capacity(chain: u32) -> i32 {
    code_of(with_host(|host| host.capacity_frames(chain), Err(busy())), |n| n as i32)
}

/// Frames the chain has processed (its clock), or a negative error code.
#[wasm_bindgen]
pub fn chain_frame(chain: u32) -> f64 {
    match with_host(|host| host.frame(chain), Err(busy())) {
        Ok(frame) => frame as f64,
        Err(e) => f64::from(with_host(|host| host.fail(e).code(), ErrorCode::Internal.code())),
    }
}

/// The number of inserts of the chain.
#[wasm_bindgen]
pub fn chain_insert_count(chain: u32) -> i32 {
    code_of(with_host(|host| host.insert_count(chain), Err(busy())), |n| n as i32)
}

/// The chain's total latency in samples.
#[wasm_bindgen]
pub fn chain_latency(chain: u32) -> i32 {
    code_of(with_host(|host| host.latency(chain), Err(busy())), |n| n as i32)
}

/// An insert's current gain reduction in dB (0 or negative), NaN on a bad index.
#[wasm_bindgen]
pub fn chain_gain_reduction_db(chain: u32, insert: u32) -> f32 {
    match with_host(|host| host.gain_reduction_db(chain, insert), Err(busy())) {
        Ok(db) => db,
        Err(e) => {
            with_host(|host| host.fail(e).code(), 0);
            f32::NAN
        }
    }
}

/// Clears the audio state and pending events of every insert of the chain.
#[wasm_bindgen]
pub fn chain_reset(chain: u32) -> i32 {
    with_host(
        |host| {
            let result = host.reset(chain);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// What a re-entrant call reports (see [`with_host`]).
fn busy() -> HostError {
    HostError::Internal(String::from("re-entrant call"))
}

/// Reserves room for `channels` x `frames` f32 samples (planar: channel 0's frames, then channel 1's) for
/// [`analyze`] or [`peaks`] and returns its address (4-byte aligned), or 0 on failure. Valid until the next call.
#[wasm_bindgen]
pub fn analysis_samples_ptr(channels: u32, frames: u32) -> u32 {
    with_host(
        |host| match host.analysis_samples(channels, frames) {
            Ok(samples) => samples.as_mut_ptr() as u32,
            Err(e) => {
                host.fail(e);
                0
            }
        },
        0,
    )
}

/// Analyses the samples written at `analysis_samples_ptr` (`corelogic-dsp analyze --json`'s measurements at
/// `sample_rate_hz`); returns the length of the JSON at `result_json_ptr()`, or a negative error code. Control
/// side only: allocates.
#[wasm_bindgen]
pub fn analyze(sample_rate_hz: f64, channels: u32, frames: u32) -> i32 {
    with_host(
        |host| {
            let result = host.analyze(sample_rate_hz, channels, frames).map(str::len);
            record(host, result, |n| n as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// [`analyze`] of half the measurements, for two Web Workers at once: `part` 1 the levels (peak, true peak,
/// RMS, crest, loudness, loudness range, tempo), 2 the frame features; the JSON has only that half's keys, and
/// the two objects together equal [`analyze`]'s. Any other `part` is an error naming it.
#[wasm_bindgen]
pub fn analyze_part(sample_rate_hz: f64, channels: u32, frames: u32, part: u32) -> i32 {
    use crate::analysis::Measurements;
    with_host(
        |host| {
            let result = match part {
                1 => host.analyze_measurements(sample_rate_hz, channels, frames, Measurements::Levels),
                2 => host.analyze_measurements(sample_rate_hz, channels, frames, Measurements::Spectrum),
                _ => Err(HostError::BadAnalysisInput(format!(
                    "analysis part {part}: 1 (levels) or 2 (spectrum)"
                ))),
            }
            .map(str::len);
            record(host, result, |n| n as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// Waveform peaks (`corelogic-dsp peaks --json`) of the samples written at `analysis_samples_ptr`; returns the
/// length of the JSON at `result_json_ptr()`, or a negative error code.
#[wasm_bindgen]
pub fn peaks(sample_rate_hz: f64, channels: u32, frames: u32, buckets: u32, levels: u32) -> i32 {
    with_host(
        |host| {
            let result = host
                .peaks(sample_rate_hz, channels, frames, buckets, levels)
                .map(str::len);
            record(host, result, |n| n as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// The address of the last [`analyze`] or [`peaks`] result (UTF-8 JSON).
#[wasm_bindgen]
pub fn result_json_ptr() -> u32 {
    with_host(|host| host.result_json().as_ptr() as u32, 0)
}

// ---- The mixing engine (docs/wasm.md, "The engine"). ----

/// Builds an engine from the project JSON written at `input_bytes_ptr(json_len)`, at a sample rate, rendering
/// at most `max_quantum` frames per call; returns its id. Creates every effect (may take milliseconds).
#[wasm_bindgen]
pub fn engine_create(sample_rate_hz: f64, max_quantum: u32, json_len: u32) -> i32 {
    with_host(
        |host| {
            let result = host.create_engine(sample_rate_hz, max_quantum, json_len as usize);
            record(host, result, |id| id as i32)
        },
        ErrorCode::Internal.code(),
    )
}

/// Frees an engine; its buffer addresses become invalid.
#[wasm_bindgen]
pub fn engine_free(engine: u32) -> i32 {
    with_host(
        |host| {
            let result = host.free_engine(engine);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// The address of the tracks' input buffers (f32, planar: track t's left channel at t x 2 x maxQuantum, its
/// right channel maxQuantum later), or 0.
#[wasm_bindgen]
pub fn engine_inputs_ptr(engine: u32) -> u32 {
    with_host(
        |host| {
            let address = host.engine_inputs(engine).map(|b| b.as_mut_ptr() as u32);
            address_or_zero(host, address)
        },
        0,
    )
}

/// The address of the per-track input kinds (u8: 0 silent, 1 mono in the left channel, 2 stereo), or 0.
#[wasm_bindgen]
pub fn engine_input_kinds_ptr(engine: u32) -> u32 {
    with_host(
        |host| {
            let address = host.engine_input_kinds(engine).map(|b| b.as_mut_ptr() as u32);
            address_or_zero(host, address)
        },
        0,
    )
}

/// The address of the master output's channel (0 left, 1 right; f32 x maxQuantum), or 0.
#[wasm_bindgen]
pub fn engine_output_ptr(engine: u32, channel: u32) -> u32 {
    with_host(
        |host| {
            let address = host.engine_output(engine).map(|(l, r)| {
                if channel == 0 {
                    l.as_ptr() as u32
                } else {
                    r.as_ptr() as u32
                }
            });
            address_or_zero(host, address)
        },
        0,
    )
}

/// Renders `frames` frames from the input buffers into the output buffers. Never allocates.
#[wasm_bindgen]
pub fn engine_render(engine: u32, frames: u32) -> i32 {
    with_host(
        |host| {
            let result = host.engine_render(engine, frames);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// Between quanta: re-plans latency when an insert's latency changed, frees removed inserts, and zeroes a slice
/// of the memory kept ready for inserts added while playing (docs/wasm.md, "Adding inserts while playing").
#[wasm_bindgen]
pub fn engine_maintain(engine: u32) -> i32 {
    with_host(
        |host| {
            let result = host.engine_maintain(engine);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// The memory kept zeroed for inserts added while playing (docs/wasm.md): `what` 0, how many large zeroed
/// allocations (effect buffers) were served from it since the module loaded; 1, how many had to be cleared when
/// made; 2, the bytes held ready now; anything else NaN.
#[wasm_bindgen]
pub fn heap_zeroed_blocks(what: u32) -> f64 {
    crate::host::zeroed::with_blocks(|b| match what {
        0 => b.served as f64,
        1 => b.missed as f64,
        2 => b.held_bytes() as f64,
        _ => f64::NAN,
    })
}

/// Applies a command given as JSON, written at `input_bytes_ptr(json_len)` (between quanta; may allocate).
#[wasm_bindgen]
pub fn engine_apply_json(engine: u32, json_len: u32) -> i32 {
    with_host(
        |host| {
            let result = host.engine_apply_json(engine, json_len as usize);
            record(host, result, |()| 0)
        },
        ErrorCode::Internal.code(),
    )
}

/// The engine's total latency in frames (the master lags the inputs by this much).
#[wasm_bindgen]
pub fn engine_latency(engine: u32) -> i32 {
    code_of(
        with_host(|host| host.engine(engine).map(|e| e.latency()), Err(busy())),
        |n| n as i32,
    )
}

/// The number of tracks (input buffers) of the engine.
#[wasm_bindgen]
pub fn engine_track_count(engine: u32) -> i32 {
    code_of(
        with_host(|host| host.engine(engine).map(|e| e.plan().tracks.len()), Err(busy())),
        |n| n as i32,
    )
}
