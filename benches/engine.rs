//! The mixing engine at session scale (`cargo bench --bench engine`; CI only compiles it). Every track plays
//! uncorrelated noise (nothing sleeps), EQ bands at +/-6 dB, compressors engaged.
//!
//! 1. 128 tracks + 16 buses, 48 kHz, 128-frame quanta: each track `parametric-eq` (4 active bands) +
//!    `compressor`, a post-fader send to one of 16 buses of `plate-reverb` + `ping-pong-delay`, volume
//!    automation; master `limiter`. Reported as the median and 99th-percentile quantum, in microseconds and as
//!    a share of the quantum's 2.667 ms. Goal: at most 33 %.
//! 2. The 64-track session (sends to a `plate-reverb` bus and a `ping-pong-delay` bus), reported as x real time
//!    on one core. Goal: at least 10x.

use corelogic_dsp::engine::control::project::parse_project_value;
use corelogic_dsp::engine::{Engine, TrackInput};
use serde_json::Value;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

mod common;
#[path = "common/session.rs"]
mod session;
use session::{bus_session, sixty_four_track_session};
use common::{noise, FS, NOISE_QUANTA, QUANTUM};

fn engine(project: Value) -> Engine {
    let plan = parse_project_value(&project, Path::new(".")).expect("valid project");
    Engine::new(plan, FS).expect("engine")
}

/// Renders `quanta` quanta and returns each one's time in microseconds.
fn run(engine: &mut Engine, inputs: &[(Vec<f32>, Vec<f32>)], quanta: usize) -> Vec<f64> {
    let (mut l, mut r) = ([0.0f32; QUANTUM], [0.0f32; QUANTUM]);
    let mut times = Vec::with_capacity(quanta);
    let mut blocks: Vec<TrackInput> = Vec::with_capacity(inputs.len());
    for q in 0..quanta {
        let at = (q % NOISE_QUANTA) * QUANTUM;
        blocks.clear();
        blocks.extend(
            inputs
                .iter()
                .map(|(a, b)| TrackInput::Stereo(&a[at..at + QUANTUM], &b[at..at + QUANTUM])),
        );
        let start = Instant::now();
        engine.render(QUANTUM, &blocks, &mut l, &mut r);
        times.push(start.elapsed().as_secs_f64() * 1e6);
        black_box(&l);
    }
    times
}

fn percentile(times: &mut [f64], p: f64) -> f64 {
    times.sort_by(|a, b| a.total_cmp(b));
    times[((times.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let quantum_us = QUANTUM as f64 / FS * 1e6;
    let inputs = |n: usize| -> Vec<(Vec<f32>, Vec<f32>)> {
        (0..n)
            .map(|i| {
                (
                    noise(i as u64 + 1, QUANTUM * NOISE_QUANTA),
                    noise(i as u64 + 1001, QUANTUM * NOISE_QUANTA),
                )
            })
            .collect()
    };

    // 1. 128 tracks + 16 buses.
    let mut big = engine(bus_session(128, 16));
    let big_inputs = inputs(128);
    run(&mut big, &big_inputs, 200);
    let mut times = run(&mut big, &big_inputs, 3_000);
    let median = percentile(&mut times, 0.5);
    let p99 = percentile(&mut times, 0.99);
    println!(
        "128 tracks + 16 buses: median {median:.0} us ({:.1} % of the {quantum_us:.0} us quantum), 99th percentile {p99:.0} us ({:.1} %)",
        100.0 * median / quantum_us,
        100.0 * p99 / quantum_us
    );

    // 2. 64 tracks, x real time.
    let mut session = engine(sixty_four_track_session());
    let session_inputs = inputs(64);
    run(&mut session, &session_inputs, 200);
    let quanta = 3_750; // 10 s of audio
    let start = Instant::now();
    run(&mut session, &session_inputs, quanta);
    let seconds = start.elapsed().as_secs_f64();
    let audio_s = (quanta * QUANTUM) as f64 / FS;
    println!(
        "64-track session: {:.1} x real time on one core ({audio_s:.0} s of audio in {seconds:.2} s)",
        audio_s / seconds
    );
}
