//! The native half of the wasm cost table: runs the configurations of `benches/wasm/configs.json` (after every
//! registered effect at its defaults) through [`corelogic_dsp::host::Host`], the very code the wasm build
//! exports, and prints microseconds per 128-frame quantum as JSON. `benches/wasm/cost-table.mjs` runs it
//! interleaved with the wasm build and prints the table; run by hand (CI only compiles it):
//!
//! ```text
//! cargo build --release --example wasm_cost_native
//! target/release/examples/wasm_cost_native benches/wasm/configs.json
//! ```
//!
//! The input is the same noise as the wasm harness's: xorshift32 (Marsaglia 2003, shifts 13/17/5) from seed
//! 0x9E3779B9, each value `(x >> 8) / 2^24 - 0.5` (exact in f32), a 48000-frame left table then a right one;
//! chain `c` reads quantum `q` at frame `(c * 7919 + q * 128) mod (48000 - 128)`, so chains are uncorrelated.

use corelogic_dsp::host::Host;
use corelogic_dsp::listing::listing;
use serde_json::{json, Value};
use std::time::Instant;

const NOISE_TABLE_FRAMES: usize = 48_000;
const CHAIN_STRIDE_FRAMES: usize = 7919;
/// Quanta timed per configuration: this many chain-quanta in total, at least `MIN_QUANTA` quanta.
const CHAIN_QUANTA_PER_CONFIG: usize = 4000;
const MIN_QUANTA: usize = 200;

/// Marsaglia's xorshift32 noise in [-0.5, 0.5), the left table then the right one.
fn noise_tables() -> (Vec<f32>, Vec<f32>) {
    let mut x: u32 = 0x9E37_79B9;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x >> 8) as f32 / 16_777_216.0 - 0.5
    };
    let left = (0..NOISE_TABLE_FRAMES).map(|_| next()).collect();
    let right = (0..NOISE_TABLE_FRAMES).map(|_| next()).collect();
    (left, right)
}

/// The configurations: every effect at its defaults, then the file's.
fn configs(file: &Value) -> Vec<(String, Vec<(usize, String)>)> {
    let mut out: Vec<(String, Vec<(usize, String)>)> = listing()
        .expect("the listing builds")
        .iter()
        .map(|e| (e.id.to_string(), vec![(1, json!([{ "effect": e.id }]).to_string())]))
        .collect();
    for config in file["configs"].as_array().expect("configs is an array") {
        let groups = config["chains"]
            .as_array()
            .expect("chains is an array")
            .iter()
            .map(|g| (g["count"].as_u64().expect("count") as usize, g["chain"].to_string()))
            .collect();
        out.push((config["label"].as_str().expect("label").to_string(), groups));
    }
    out
}

/// Microseconds per quantum of one configuration.
fn measure(groups: &[(usize, String)], sample_rate_hz: f64, quantum: usize, noise: &(Vec<f32>, Vec<f32>)) -> f64 {
    let mut host = Host::new();
    let mut chains = Vec::new();
    for (count, chain_json) in groups {
        for _ in 0..*count {
            let id = host.create_chain(sample_rate_hz, quantum as u32).expect("chain");
            host.append_json(id, chain_json).expect("valid chain JSON");
            chains.push(id);
        }
    }
    let quanta = (CHAIN_QUANTA_PER_CONFIG / chains.len()).max(MIN_QUANTA);
    let span = NOISE_TABLE_FRAMES - quantum;
    let mut run = |first: usize, count: usize| {
        for q in first..first + count {
            for (c, &id) in chains.iter().enumerate() {
                let at = (c * CHAIN_STRIDE_FRAMES + q * quantum) % span;
                let (left, right) = host.buffers_mut(id).expect("chain");
                left.copy_from_slice(&noise.0[at..at + quantum]);
                right.copy_from_slice(&noise.1[at..at + quantum]);
                host.process(id, quantum as u32).expect("process");
            }
        }
    };
    let warm_up = quanta / 4;
    run(0, warm_up);
    let start = Instant::now();
    run(warm_up, quanta);
    start.elapsed().as_secs_f64() * 1e6 / quanta as f64
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "benches/wasm/configs.json".to_string());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let file: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let sample_rate_hz = file["sampleRateHz"].as_f64().expect("sampleRateHz");
    let quantum = file["quantumFrames"].as_u64().expect("quantumFrames") as usize;
    let noise = noise_tables();
    let configs = configs(&file);
    // One discarded pass, as the wasm harness makes (there for V8's tier-up; here for a cold process's caches,
    // page faults and clock ramp-up, which otherwise fall on the first configuration).
    for (_, groups) in &configs {
        measure(groups, sample_rate_hz, quantum, &noise);
    }
    let results: Vec<Value> = configs
        .iter()
        .map(|(label, groups)| {
            json!({ "label": label, "usPerQuantum": measure(groups, sample_rate_hz, quantum, &noise) })
        })
        .collect();
    println!("{}", json!({ "results": results }));
}
