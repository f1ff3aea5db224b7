//! Memory at engine scale, measured with a counting allocator: the bytes each effect instance holds at 48 and
//! 192 kHz, and a large session (128 tracks of `parametric-eq` + `compressor`, 16 buses of `plate-reverb` +
//! `ping-pong-delay`). Run with `cargo test --release --test memory -- --nocapture` for the table.

mod common;

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
