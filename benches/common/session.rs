//! The benchmark sessions of the mixing engine, as project JSON (shared by `benches/engine.rs`, the wasm engine
//! benchmark through `examples/engine_session.rs`, and the memory test): every track `parametric-eq` with 4
//! active bands at +/-6 dB + an engaged `compressor`, volume automation; master `limiter`.

use serde_json::{json, Value};

fn track(i: usize, sends: Value) -> Value {
    json!({"id": format!("t{i}"), "type": "audio", "volume": -12, "pan": (i % 9) as f64 / 4.0 - 1.0,
        "sends": sends,
        "inserts": [
            {"id": "eq", "effect": "parametric-eq", "parameters": {"b1GainDb": 6, "b2GainDb": -6, "b3GainDb": 6,
                                                                    "b4Type": 1, "b4FrequencyHz": 3000, "b4GainDb": -6}},
            {"id": "comp", "effect": "compressor", "parameters": {"thresholdDb": -30, "ratio": 4}}]})
}

fn volume_automation(tracks: usize) -> Vec<Value> {
    (0..tracks)
        .map(|i| {
            json!({"trackId": format!("t{i}"), "parameter": "volume",
            "points": [{"time": 0, "value": -18}, {"time": 30, "value": -6, "curveType": "smooth"}]})
        })
        .collect()
}

/// `tracks` tracks, each with a post-fader send to one of `buses` buses of `plate-reverb` + `ping-pong-delay`
/// (128 tracks and 16 buses: the large session).
pub fn bus_session(tracks: usize, buses: usize) -> Value {
    let bus_list: Vec<Value> = (0..buses)
        .map(|b| {
            json!({"id": format!("b{b}"), "inserts": [
            {"id": "plate", "effect": "plate-reverb", "parameters": {"mix": 1}},
            {"id": "pp", "effect": "ping-pong-delay"}]})
        })
        .collect();
    let track_list: Vec<Value> = (0..tracks)
        .map(|i| {
            track(
                i,
                json!([{"id": "s", "destination": format!("b{}", i % buses.max(1)), "level": -10}]),
            )
        })
        .collect();
    json!({"tracks": track_list, "buses": bus_list, "automation": volume_automation(tracks),
           "master": {"inserts": [{"id": "lim", "effect": "limiter"}]}})
}

/// The 64-track session: sends to a `plate-reverb` bus and a `ping-pong-delay` bus.
pub fn sixty_four_track_session() -> Value {
    let tracks: Vec<Value> = (0..64)
        .map(|i| {
            track(
                i,
                json!([{"id": "r", "destination": "verb", "level": -14}, {"id": "d", "destination": "delay", "level": -18}]),
            )
        })
        .collect();
    json!({"tracks": tracks,
        "buses": [{"id": "verb", "inserts": [{"id": "plate", "effect": "plate-reverb", "parameters": {"mix": 1}}]},
                  {"id": "delay", "inserts": [{"id": "pp", "effect": "ping-pong-delay", "parameters": {"mix": 1}}]}],
        "automation": volume_automation(64),
        "master": {"inserts": [{"id": "lim", "effect": "limiter"}]}})
}

/// The 16 inserts added while the session plays (the insert-adding benchmark): EQs, compressors, a
/// `ping-pong-delay`, a limiter and others, as `addInsert` commands on tracks 0-15 (JSON, docs/engine.md).
pub fn added_inserts() -> Vec<Value> {
    let effects = [
        json!({"id": "pp+", "effect": "ping-pong-delay"}),
        json!({"id": "eq+", "effect": "parametric-eq", "parameters": {"b2GainDb": 4}}),
        json!({"id": "comp+", "effect": "compressor"}),
        json!({"id": "lim+", "effect": "limiter"}),
        json!({"id": "sat+", "effect": "saturation"}),
        json!({"id": "hall+", "effect": "hall-reverb"}),
        json!({"id": "gate+", "effect": "gate"}),
        json!({"id": "delay+", "effect": "simple-delay"}),
    ];
    (0..16)
        .map(|k| {
            json!({"command": "addInsert", "strip": format!("t{k}"), "at": 2,
                   "insert": effects[k % effects.len()].clone()})
        })
        .collect()
}
