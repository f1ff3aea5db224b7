//! The strip's fixed-function stages as small pure functions: fader and trim gains, stereo width and the
//! Web Audio `StereoPannerNode` pan laws.

use crate::dsp::fast_math::exp_f64;

/// At or below this fader level a track, bus, send or master is silent (docs/engine.md, "Mixer": the app's fader
/// floor).
pub const SILENCE_DB: f64 = -60.0;

/// A fader's (volume, send level) linear gain: 10^(dB/20), exactly 0 at or below [`SILENCE_DB`].
#[inline]
pub fn fader_gain(level_db: f64) -> f64 {
    if level_db <= SILENCE_DB {
        0.0
    } else {
        trim_gain(level_db)
    }
}

/// A trim's (input gain) linear gain: 10^(dB/20) = exp(dB x ln(10) / 20), with no floor. Automated faders
/// evaluate it per sample ([`exp_f64`]: far inside f32 precision, and a block of it vectorises).
#[inline]
pub fn trim_gain(gain_db: f64) -> f64 {
    exp_f64(gain_db * (std::f64::consts::LN_10 / 20.0))
}

/// A block of fader gains times the audible (mute/solo) gain, in place: `gains` holds the fader's dB per sample
/// on entry unless `db` gives one value for the block; `audible` is one value or `audible_values` per sample. Each
/// case is its own plain loop, so that the per-sample `exp` vectorises.
pub fn fader_gains(gains: &mut [f32], db: Option<f64>, audible: Option<f64>, audible_values: &[f32]) {
    match (db, audible) {
        (Some(db), Some(a)) => gains.fill((fader_gain(db) * a) as f32),
        (None, Some(a)) => gains
            .iter_mut()
            .for_each(|g| *g = (fader_gain(f64::from(*g)) * a) as f32),
        (Some(db), None) => {
            let fader = fader_gain(db);
            for (g, a) in gains.iter_mut().zip(audible_values) {
                *g = (fader * f64::from(*a)) as f32;
            }
        }
        (None, None) => {
            for (g, a) in gains.iter_mut().zip(audible_values) {
                *g = (fader_gain(f64::from(*g)) * f64::from(*a)) as f32;
            }
        }
    }
}

/// The left and right gains of the mono panning law. W3C Web Audio API, "StereoPannerNode", panning
/// algorithm for a mono input: x = (pan + 1) / 2, gainL = cos(x pi / 2), gainR = sin(x pi / 2).
#[inline]
pub fn mono_pan_gains(pan: f64) -> (f64, f64) {
    let x = (pan.clamp(-1.0, 1.0) + 1.0) / 2.0;
    let angle = x * std::f64::consts::FRAC_PI_2;
    (angle.cos(), angle.sin())
}

/// The stereo panning law of the same section of the Web Audio API: for pan <= 0, x = pan + 1 and
/// outL = inL + inR gainL, outR = inR gainR; for pan > 0, x = pan and outL = inL gainL, outR = inR + inL gainR;
/// with gainL = cos(x pi / 2), gainR = sin(x pi / 2). Returns the coefficients (ll, rl, lr, rr) of
/// outL = ll inL + rl inR, outR = lr inL + rr inR.
#[inline]
pub fn stereo_pan_matrix(pan: f64) -> [f64; 4] {
    let pan = pan.clamp(-1.0, 1.0);
    let x = if pan <= 0.0 { pan + 1.0 } else { pan };
    let angle = x * std::f64::consts::FRAC_PI_2;
    let (gain_l, gain_r) = (angle.cos(), angle.sin());
    if pan <= 0.0 {
        [1.0, gain_l, 0.0, gain_r]
    } else {
        [gain_l, 0.0, gain_r, 1.0]
    }
}

/// The mono law as a matrix: its left gain on L and its right gain on R (docs/engine.md: equal to the node when
/// L = R, so a mono track's level does not jump when a stereo effect is inserted).
#[inline]
pub fn mono_pan_matrix(pan: f64) -> [f64; 4] {
    let (gain_l, gain_r) = mono_pan_gains(pan);
    [gain_l, 0.0, 0.0, gain_r]
}

/// The pan matrix of a track (mono law for a mono source) or a bus (stereo law).
#[inline]
pub fn pan_matrix(pan: f64, mono_source: bool) -> [f64; 4] {
    if mono_source {
        mono_pan_matrix(pan)
    } else {
        stereo_pan_matrix(pan)
    }
}

/// Stereo width (docs/engine.md): M = (L + R) / 2, S = (L - R) / 2 x width / 100, L' = M + S, R' = M - S, with no
/// gain compensation.
#[inline]
pub fn widen(left: f32, right: f32, width_percent: f32) -> (f32, f32) {
    let mid = (left + right) * 0.5;
    let side = (left - right) * 0.5 * (width_percent / 100.0);
    (mid + side, mid - side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fader_floor_is_silence_and_zero_db_is_unity() {
        assert_eq!(fader_gain(-60.0), 0.0);
        assert_eq!(fader_gain(0.0), 1.0);
        assert!((fader_gain(-6.0) - 0.501_187_233_6).abs() < 1e-9);
    }

    #[test]
    fn centre_pan_is_minus_three_db_mono_and_unity_stereo() {
        let (l, r) = mono_pan_gains(0.0);
        assert!((l - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12 && (r - l).abs() < 1e-12);
        let centre = stereo_pan_matrix(0.0);
        assert!(centre[0] == 1.0 && centre[1].abs() < 1e-12 && centre[2] == 0.0 && centre[3] == 1.0);
        let hard_left = stereo_pan_matrix(-1.0);
        assert!((hard_left[1] - 1.0).abs() < 1e-12 && hard_left[3].abs() < 1e-12);
    }

    #[test]
    fn zero_width_is_mono_and_full_width_is_unchanged() {
        assert_eq!(widen(1.0, 0.0, 0.0), (0.5, 0.5));
        let (l, r) = widen(0.3, -0.2, 100.0);
        assert!((l - 0.3).abs() < 1e-7 && (r + 0.2).abs() < 1e-7);
    }
}
