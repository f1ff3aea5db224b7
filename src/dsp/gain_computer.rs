//! Static gain curves of the dynamics effects, in dB (log-domain gain computers).
//!
//! The compressor curve is eq. 4 of Giannoulis, Massberg and Reiss (JAES 2012), the standard quadratic soft knee:
//! with threshold T, ratio R and knee width W (all in dB) and input level x (dB), the output level is
//! - x                                        for 2(x - T) < -W (below the knee: unity),
//! - x + (1/R - 1)(x - T + W/2)^2 / (2W)       for 2|x - T| <= W (inside the knee),
//! - T + (x - T)/R                            for 2(x - T) > W (above the knee).
//!
//! The downward-expander curve: below the threshold the level falls by (T - x)(R - 1) dB more, never more than
//! the range (`range_db`, 0 or negative).

use super::detector::LevelDetector;

/// A static curve: the gain in dB (0 or negative) for an input level in dB.
pub trait GainCurve {
    fn gain_db(&self, x_db: f64) -> f64;
}

/// The feed-forward loop shared by the compressor and the expander: per sample, the detector measures the
/// stereo-linked level, the curve turns it into a gain in dB, and both channels are multiplied by that gain plus
/// `makeup_db`. Returns the curve's last gain in dB (without makeup), for meters; `last_db` if the block is empty.
#[inline]
pub fn render_feed_forward(
    detector: &mut LevelDetector,
    curve: &impl GainCurve,
    makeup_db: f64,
    left: &mut [f32],
    right: &mut [f32],
    last_db: f64,
) -> f64 {
    let mut reduction_db = last_db;
    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
        let level = detector.tick(*l, *r);
        reduction_db = curve.gain_db(level_db(level));
        let gain = 10f64.powf((reduction_db + makeup_db) / 20.0);
        *l = (*l as f64 * gain) as f32;
        *r = (*r as f64 * gain) as f32;
    }
    reduction_db
}

/// The level in dB that a linear level of 0 (silence) is taken as, so that curves never see -inf
/// (-inf x 0 would be NaN for an expander at ratio 1).
pub const SILENCE_DB: f64 = -200.0;

/// A linear level (>= 0) in dB, with silence at `SILENCE_DB`.
#[inline]
pub fn level_db(level: f64) -> f64 {
    if level > 1e-10 {
        20.0 * level.log10()
    } else {
        SILENCE_DB
    }
}

/// The compressor's static curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressorCurve {
    pub threshold_db: f64,
    pub ratio: f64,
    pub knee_db: f64,
}

impl CompressorCurve {
    /// The output level in dB for an input level in dB.
    #[inline]
    pub fn output_db(&self, x_db: f64) -> f64 {
        let (t, r, w) = (self.threshold_db, self.ratio, self.knee_db);
        let over = x_db - t;
        if 2.0 * over < -w {
            x_db
        } else if 2.0 * over <= w && w > 0.0 {
            let d = over + 0.5 * w;
            x_db + (1.0 / r - 1.0) * d * d / (2.0 * w)
        } else {
            t + over / r
        }
    }
}

impl GainCurve for CompressorCurve {
    #[inline]
    fn gain_db(&self, x_db: f64) -> f64 {
        self.output_db(x_db) - x_db
    }
}

/// The downward expander's static curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpanderCurve {
    pub threshold_db: f64,
    pub ratio: f64,
    /// The most attenuation, as a gain in dB (0 or negative).
    pub range_db: f64,
}

impl GainCurve for ExpanderCurve {
    /// The gain in dB (0 or negative, never below `range_db`) for an input level in dB.
    #[inline]
    fn gain_db(&self, x_db: f64) -> f64 {
        if x_db >= self.threshold_db {
            0.0
        } else {
            (-(self.threshold_db - x_db) * (self.ratio - 1.0)).max(self.range_db)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressor_knee_joins_both_straight_parts_continuously() {
        let c = CompressorCurve {
            threshold_db: -20.0,
            ratio: 4.0,
            knee_db: 12.0,
        };
        assert!((c.output_db(-26.0) - -26.0).abs() < 1e-12);
        assert!((c.output_db(-14.0) - (-20.0 + 6.0 / 4.0)).abs() < 1e-12);
        assert_eq!(c.output_db(-40.0), -40.0);
        assert_eq!(c.output_db(0.0), -15.0);
        let hard = CompressorCurve { knee_db: 0.0, ..c };
        assert_eq!(hard.output_db(-20.0), -20.0);
        assert_eq!(hard.output_db(-12.0), -18.0);
    }

    #[test]
    fn expander_falls_by_ratio_and_stops_at_its_range() {
        let e = ExpanderCurve {
            threshold_db: -40.0,
            ratio: 3.0,
            range_db: -30.0,
        };
        assert_eq!(e.gain_db(-30.0), 0.0);
        assert_eq!(e.gain_db(-45.0), -10.0);
        assert_eq!(e.gain_db(-80.0), -30.0);
        let unity = ExpanderCurve { ratio: 1.0, ..e };
        assert_eq!(unity.gain_db(level_db(0.0)), 0.0);
    }
}
