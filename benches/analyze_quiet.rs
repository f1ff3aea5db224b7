//! `analyze` on quiet input against noise of the same length. Run by hand (CI only compiles it):
//!
//! ```text
//! cargo bench --bench analyze_quiet
//! ```
//!
//! Times (best of 3, wall clock, one stereo 48 kHz signal of 90 s each) the whole analysis of
//! - noise: uniform white noise at about -12 dBFS;
//! - silence after sound: 30 s of that noise, then 60 s of digital silence;
//! - subnormal noise: the noise scaled to 1e-40 (every sample an f32 subnormal);
//!
//! and prints each time and its ratio to noise (goal: at most 1.5x). The causes of the slowdowns it was
//! written for: the K-weighting state decaying into f64 subnormals after the sound stops (now flushed below
//! 1e-150, `analysis::loudness::STATE_FLUSH`), and the true-peak filter on subnormal samples: first its f32
//! sums (now filtered scaled by 2^64, exactly), then that scaling itself, a multiplication of subnormals
//! (now done on the mantissa bits, `dsp::true_peak`). The true peak runs on the analyser's second thread
//! with the K-weighting and the tempo, a path about as long as the frame features' on the first: its extra
//! time on subnormal input was added in full to the wall time.
//!
//! What remains, timed stage by stage on x86-64 (each stage alone, 1e-40 noise against noise): nothing
//! measurable. The mixdown, the sum of squares, the K-weighting, the true peak and the tempo's onset envelope
//! are within the machine's noise of their time on noise (both FFTs are f64, where 1e-40 is a normal
//! number), and the frame features are about 10 % faster (their power lies under librosa's 1e-10 floors).
//! Ratios above 1 here come from other load on the machine: read them on a quiet one. That the results on
//! subnormal input are unchanged is tested in `tests/analysis.rs` (the subnormal-input test).

use corelogic_dsp::analysis::analyze;
use std::time::{Duration, Instant};

const RATE_HZ: f64 = 48_000.0;
const SECONDS: usize = 90;
const RUNS: usize = 3;

/// Deterministic white noise at about -12 dBFS (xorshift32).
fn noise(frames: usize, seed: u32) -> Vec<f32> {
    let mut state = seed;
    (0..frames)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 - 0.5) * 0.5
        })
        .collect()
}

/// The best wall time of [`RUNS`] analyses of a stereo signal.
fn best_time(left: &[f32], right: &[f32]) -> Duration {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let analysis = analyze(RATE_HZ, &[left, right]).expect("a valid signal");
            std::hint::black_box(analysis);
            started.elapsed()
        })
        .min()
        .expect("at least one run")
}

fn main() {
    let frames = SECONDS * RATE_HZ as usize;
    let (left, right) = (noise(frames, 0x1234_5678), noise(frames, 0x8765_4321));
    let noise_time = best_time(&left, &right);
    let sound_then_silence = |x: &[f32]| -> Vec<f32> {
        let sound = frames / 3;
        x[..sound]
            .iter()
            .copied()
            .chain(std::iter::repeat(0.0).take(frames - sound))
            .collect()
    };
    let subnormal = |x: &[f32]| -> Vec<f32> { x.iter().map(|v| v * 4e-40).collect() };
    println!("analyze, {SECONDS} s stereo at 48 kHz, best of {RUNS}");
    println!("noise                    {:>8.3} s", noise_time.as_secs_f64());
    for (name, l, r) in [
        (
            "silence after sound",
            sound_then_silence(&left),
            sound_then_silence(&right),
        ),
        ("subnormal (1e-40) noise", subnormal(&left), subnormal(&right)),
    ] {
        let time = best_time(&l, &r);
        println!(
            "{name:<24} {:>8.3} s  {:.2}x noise",
            time.as_secs_f64(),
            time.as_secs_f64() / noise_time.as_secs_f64()
        );
    }
}
