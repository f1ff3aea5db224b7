//! Integrated loudness against libebur128's algorithm (the `ebur128` crate, a port of the meter behind ffmpeg
//! and rsgain, which passes the EBU Tech 3341/3342 files), in its exact mode (`Mode::I` without the histogram
//! flag: every block energy kept), on generated stereo material of 12 s at 44.1, 48 and 96 kHz. Both use
//! BS.1770-4's K-weighting (at 48 kHz the published coefficients; elsewhere the same analog design), so the
//! readings agree to within 0.01 LU.

use corelogic_dsp::analysis::LoudnessMeter;
use ebur128::{EbuR128, Mode};

/// Deterministic white noise in [-1, 1) (xorshift32).
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f64 / u32::MAX as f64 * 2.0 - 1.0
    }
}

/// Music-like material: a bass tone, a chord and filtered noise, with a level that moves by up to 20 dB
/// (so the relative gate removes some blocks) and 1.5 s of near-silence (below the absolute gate).
fn material(rate_hz: f64, seconds: f64, seed: u32) -> (Vec<f32>, Vec<f32>) {
    let frames = (rate_hz * seconds) as usize;
    let mut noise = Noise(seed);
    let mut smoothed = 0.0;
    let (mut left, mut right) = (Vec::with_capacity(frames), Vec::with_capacity(frames));
    for n in 0..frames {
        let t = n as f64 / rate_hz;
        let tau = std::f64::consts::TAU;
        // Level envelope: slow swells of 20 dB, then a near-silent stretch from 6 to 7.5 s.
        let level_db = -10.0 * (1.0 - (tau * 0.15 * t).cos());
        let gain = if (6.0..7.5).contains(&t) {
            1e-5
        } else {
            10f64.powf(level_db / 20.0)
        };
        smoothed += 0.05 * (noise.next() - smoothed);
        let bass = 0.3 * (tau * 55.0 * t).sin();
        let chord: f64 = [261.63, 329.63, 392.0].iter().map(|f| 0.1 * (tau * f * t).sin()).sum();
        let hiss = 0.2 * smoothed + 0.02 * noise.next();
        left.push((gain * (bass + chord + hiss)) as f32);
        right.push((gain * (bass - 0.5 * chord + 0.7 * hiss + 0.05 * (tau * 5000.0 * t).sin())) as f32);
    }
    (left, right)
}

#[test]
fn integrated_loudness_agrees_with_libebur128_within_0_01_lu_at_44k1_48k_and_96k() {
    for (rate_hz, seed) in [(44_100u32, 11), (48_000, 22), (96_000, 33)] {
        let (left, right) = material(f64::from(rate_hz), 12.0, seed);
        let mut ours = LoudnessMeter::new(f64::from(rate_hz), 2).unwrap();
        ours.push(&[&left, &right]).unwrap();
        let mut reference = EbuR128::new(2, rate_hz, Mode::I).unwrap();
        reference.add_frames_planar_f32(&[&left, &right]).unwrap();
        let (got, expected) = (ours.integrated_lufs(), reference.loudness_global().unwrap());
        println!(
            "{rate_hz} Hz: ours {got:.4} LUFS, libebur128 {expected:.4} LUFS, difference {:.4} LU",
            got - expected
        );
        assert!(
            expected.is_finite() && expected > -40.0,
            "{rate_hz} Hz: material too quiet: {expected}"
        );
        assert!((got - expected).abs() <= 0.01, "{rate_hz} Hz: {got} vs {expected}");
    }
}
