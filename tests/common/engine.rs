//! What the engine tests (and the effect-level sidechain test) share: the engine built from project JSON at
//! the rate every engine test runs at, their test signals (seeded noise, a full-scale DC quantum, the sidechain
//! key and the steady input it ducks), the gain an unkeyed effect applies to a key, and the sample-by-sample
//! comparison within a tolerance each test decides.

use corelogic_dsp::dsp::rng::Pcg32;
use corelogic_dsp::effects::create;
use corelogic_dsp::engine::control::project::parse_project_value;
use corelogic_dsp::engine::{Engine, TrackInput};
use serde_json::Value;
use std::f64::consts::TAU;
use std::path::Path;

/// The sample rate every engine test runs at, in Hz.
pub const SR: f64 = 48_000.0;
/// Frames in one render quantum: the Web Audio API's block, the engine's unit of work.
pub const QUANTUM: usize = 128;

/// The engine of a project given as JSON (relative paths from the working directory), at `SR`.
pub fn engine(project: Value) -> Engine {
    let plan = parse_project_value(&project, Path::new(".")).expect("a valid project");
    Engine::new(plan, SR).expect("the engine builds")
}

/// Uniform white noise in [-amplitude, amplitude): PCG32 (O'Neill 2014) with `seed` on stream 7.
pub fn noise(seed: u64, frames: usize, amplitude: f64) -> Vec<f32> {
    let mut rng = Pcg32::new(seed, 7);
    (0..frames)
        .map(|_| ((rng.next_f64() * 2.0 - 1.0) * amplitude) as f32)
        .collect()
}

/// One quantum with every track of the engine's plan fed full-scale DC on both sides: the (left, right) output.
pub fn render_dc_quantum(e: &mut Engine) -> (Vec<f32>, Vec<f32>) {
    let dc = vec![1.0f32; QUANTUM];
    let tracks = e.plan().tracks.len();
    let inputs: Vec<TrackInput> = (0..tracks).map(|_| TrackInput::Stereo(&dc, &dc)).collect();
    let (mut l, mut r) = (vec![0.0f32; QUANTUM], vec![0.0f32; QUANTUM]);
    e.render(QUANTUM, &inputs, &mut l, &mut r);
    (l, r)
}

/// Linear gain of a level in dB: 10^(dB / 20).
pub fn db_to_gain(level_db: f64) -> f64 {
    10f64.powf(level_db / 20.0)
}

/// Level in dB of a linear gain: 20 log10(gain).
pub fn gain_to_db(gain: f64) -> f64 {
    20.0 * gain.log10()
}

/// The largest absolute sample value.
pub fn peak<T: Copy + Into<f64>>(x: &[T]) -> f64 {
    x.iter().fold(0.0f64, |m, &v| m.max(v.into().abs()))
}

/// The largest sample-to-sample step (the difference taken in f64, exact for f32 samples) and the index of the
/// sample it ends on.
pub fn largest_step_at(x: &[f32]) -> (f64, usize) {
    x.windows(2)
        .enumerate()
        .map(|(n, w)| ((f64::from(w[1]) - f64::from(w[0])).abs(), n + 1))
        .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a })
}

/// The largest sample-to-sample step.
pub fn largest_step(x: &[f32]) -> f64 {
    largest_step_at(x).0
}

/// Asserts that `got` and `want` have the same length and |got - want| <= `tolerance` at every sample (compared
/// in f64); the message names `what`, the sample, both values and the tolerance.
pub fn assert_within<T: Copy + Into<f64>>(got: &[f32], want: &[T], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (n, (&g, &w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (f64::from(g), w.into());
        assert!(
            (g - w).abs() <= tolerance,
            "{what}: sample {n}: got {g}, want {w} (tolerance {tolerance:e})"
        );
    }
}

/// A sidechain key whose magnitude is its envelope at every sample (the sign alternates, so a detector's
/// rectifier reads the envelope itself): bursts at -6 dBFS over a floor at -50 dBFS, never zero, so an
/// effect's gain on it can be read back as output / input.
pub fn key_signal(frames: usize) -> Vec<f32> {
    (0..frames)
        .map(|n| {
            let loud = (4_800..9_600).contains(&n) || (14_400..16_800).contains(&n);
            let level = if loud { 0.5 } else { 0.003_162 };
            let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
            (sign * level) as f32
        })
        .collect()
}

/// The input a key ducks: a steady 1 kHz sine at -26 dBFS left and a 700 Hz cosine at 0.04 right, above every
/// threshold the keyed tests use, so unkeyed an effect treats it very differently from the key.
pub fn steady_input(frames: usize, sample_rate_hz: f64) -> (Vec<f32>, Vec<f32>) {
    let left = (0..frames)
        .map(|n| (0.05 * (TAU * 1000.0 * n as f64 / sample_rate_hz).sin()) as f32)
        .collect();
    let right = (0..frames)
        .map(|n| (0.04 * (TAU * 700.0 * n as f64 / sample_rate_hz).cos()) as f32)
        .collect();
    (left, right)
}

/// The per-sample gain a standalone, unkeyed effect `id` with `params` at `sample_rate_hz` applies when the key
/// is its input on both channels (output / input): what a keyed instance must apply to its own input.
pub fn gain_from_key(id: &str, sample_rate_hz: f64, params: &[(&str, f64)], key: &[f32]) -> Vec<f64> {
    let mut fx = create(id, sample_rate_hz, params.iter().copied()).unwrap_or_else(|e| panic!("{id}: {e}"));
    let (mut l, mut r) = (key.to_vec(), key.to_vec());
    fx.process(&mut l, &mut r, &[]);
    l.iter().zip(key).map(|(y, x)| f64::from(*y) / f64::from(*x)).collect()
}
