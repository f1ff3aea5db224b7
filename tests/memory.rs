//! Memory at engine scale, measured with a counting allocator: the bytes each effect instance holds at 48 and
//! 192 kHz, and a large session (128 tracks of `parametric-eq` + `compressor`, 16 buses of `plate-reverb` +
//! `ping-pong-delay`), and the mixing engine of that session (the benchmark session: strips, sends, automation,
//! meters, compensation delays and a master limiter). Run with
//! `cargo test --release --test memory -- --nocapture` for the table.

mod common;
#[allow(dead_code)]
#[path = "../benches/common/session.rs"]
mod session;

use common::live_bytes;
use corelogic_dsp::effects::{create, registry, Effect};

/// Bytes an effect instance holds: live bytes after creating it minus before.
fn instance_bytes(id: &str, sample_rate: f64) -> (isize, Box<dyn Effect>) {
    let before = live_bytes();
    let effect = create(id, sample_rate, []).unwrap();
    (live_bytes() - before, effect)
}

#[test]
fn every_effect_instance_size_and_eq_filter_dynamics_at_most_32_kb() {
    println!("| effect | bytes at 48 kHz | bytes at 192 kHz |");
    println!("|---|---|---|");
    for entry in registry() {
        let id = entry.spec.id;
        let (at48, _a) = instance_bytes(id, 48_000.0);
        let (at192, _b) = instance_bytes(id, 192_000.0);
        println!("| {id} | {at48} | {at192} |");
        let small = [
            "parametric-eq",
            "low-shelf",
            "high-shelf",
            "high-low-pass",
            "compressor",
            "limiter",
            "expander",
            "gate",
        ];
        if small.contains(&id) {
            assert!(at48 <= 32 * 1024, "{id} holds {at48} bytes at 48 kHz (at most 32 KB)");
        }
    }
}

/// The large session's live bytes at a sample rate.
fn session_bytes(sample_rate: f64) -> isize {
    let before = live_bytes();
    let mut inserts: Vec<Box<dyn Effect>> = Vec::new();
    for _ in 0..128 {
        inserts.push(create("parametric-eq", sample_rate, []).unwrap());
        inserts.push(create("compressor", sample_rate, []).unwrap());
    }
    for _ in 0..16 {
        inserts.push(create("plate-reverb", sample_rate, []).unwrap());
        inserts.push(create("ping-pong-delay", sample_rate, []).unwrap());
    }
    // Run a quantum through every insert: nothing may grow on the audio side.
    let (mut l, mut r) = ([0.1f32; 128], [0.1f32; 128]);
    for insert in &mut inserts {
        insert.process(&mut l, &mut r, &[]);
    }
    let bytes = live_bytes() - before;
    drop(inserts);
    bytes
}

#[test]
fn large_session_holds_at_most_48_mib_at_48_khz() {
    let mib = |b: isize| b as f64 / (1024.0 * 1024.0);
    let at48 = session_bytes(48_000.0);
    let at192 = session_bytes(192_000.0);
    println!(
        "128 x (parametric-eq + compressor) + 16 x (plate-reverb + ping-pong-delay): {:.1} MiB at 48 kHz, {:.1} MiB at 192 kHz",
        mib(at48),
        mib(at192)
    );
    assert!(mib(at48) <= 48.0, "{:.1} MiB at 48 kHz", mib(at48));
}

/// The whole engine of the benchmark session (128 tracks, 16 buses: every strip, send, automation lane, meter
/// and compensation delay with the effects), after a second of playback.
#[test]
fn the_128_track_16_bus_engine_holds_at_most_64_mib_at_48_khz() {
    use corelogic_dsp::engine::control::project::parse_project_value;
    use corelogic_dsp::engine::{Engine, TrackInput};
    let before = live_bytes();
    let plan = parse_project_value(&session::bus_session(128, 16), std::path::Path::new(".")).unwrap();
    let mut engine = Engine::new(plan, 48_000.0).unwrap();
    let (l, r) = (vec![0.1f32; 128], vec![-0.1f32; 128]);
    let inputs = vec![TrackInput::Stereo(&l, &r); 128];
    let (mut out_l, mut out_r) = ([0.0f32; 128], [0.0f32; 128]);
    for _ in 0..375 {
        engine.render(128, &inputs, &mut out_l, &mut out_r);
    }
    let mib = (live_bytes() - before) as f64 / (1024.0 * 1024.0);
    println!("the 128-track, 16-bus engine: {mib:.1} MiB live at 48 kHz");
    assert!(mib <= 64.0, "{mib:.1} MiB");
    drop(engine);
}
