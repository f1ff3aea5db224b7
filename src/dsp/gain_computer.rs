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
//!
//! Per sample, [`render_feed_forward`] turns the detector's linear level into dB and the curve's gain back into
//! a linear factor in f32 with the approximations of [`super::fast_math`] (each within 6e-5 dB of
//! `log10`/`powf`). Where a curve is flat ([`FlatParts`]: below the compressor's knee, above the expander's
//! threshold or below its range floor) neither runs and the gain is exact, computed with `powf` at control rate,
//! as is `makeupDb`.

use super::detector::LevelDetector;
use super::fast_math::{fast_db_to_gain, fast_level_db, SILENCE_DB};
use crate::dsp::db_to_gain;

/// A static curve: the gain in dB (0 or negative) for an input level in dB, in f32 (the audio loop's precision;
/// parameters are f64, so terms that depend only on them are computed once per block).
pub trait GainCurve {
    fn gain_db(&self, x_db: f32) -> f32;

    /// Where the curve is flat, as linear levels (computed at control rate).
    fn flat_parts(&self) -> FlatParts;
}

/// The flat ends of a static curve, as linear detector levels: below `low_level` the gain is `low_db`, at or
/// above `high_level` it is `high_db` (0 and infinity turn either end off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlatParts {
    pub low_level: f64,
    pub low_db: f64,
    pub high_level: f64,
    pub high_db: f64,
}

/// The linear level of a curve's corner at `x_db`, for [`FlatParts`]: 0 (no level is below it) where the corner
/// is at or below `SILENCE_DB`, since every level up to silence reads as `SILENCE_DB` and so lies on the curve's
/// sloped part.
fn corner_level(x_db: f64) -> f64 {
    if x_db > SILENCE_DB as f64 {
        db_to_gain(x_db)
    } else {
        0.0
    }
}

/// A curve ready for the audio loop: its flat parts and the makeup gain as exact linear factors (`powf` at
/// control rate, then f32 like the samples).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GainPlan<C> {
    curve: C,
    low_level: f32,
    low_db: f32,
    high_level: f32,
    high_db: f32,
    /// The linear gains (makeup included) of the flat parts.
    low_gain: f32,
    high_gain: f32,
    makeup_gain: f32,
}

impl<C: GainCurve> GainPlan<C> {
    pub fn new(curve: C, makeup_db: f64) -> Self {
        let flat = curve.flat_parts();
        let makeup_gain = db_to_gain(makeup_db);
        GainPlan {
            curve,
            low_level: flat.low_level as f32,
            low_db: flat.low_db as f32,
            high_level: flat.high_level as f32,
            high_db: flat.high_db as f32,
            low_gain: (db_to_gain(flat.low_db) * makeup_gain) as f32,
            high_gain: (db_to_gain(flat.high_db) * makeup_gain) as f32,
            makeup_gain: makeup_gain as f32,
        }
    }

    /// The curve's gain in dB (without makeup) and the linear factor to apply (with makeup) at a linear level.
    #[inline]
    pub fn gain(&self, level: f32) -> (f32, f32) {
        if level < self.low_level {
            (self.low_db, self.low_gain)
        } else if level >= self.high_level {
            (self.high_db, self.high_gain)
        } else {
            let gain_db = self.curve.gain_db(fast_level_db(level));
            (gain_db, fast_db_to_gain(gain_db) * self.makeup_gain)
        }
    }

    /// The factor of `gain` alone, computed on both sides and then chosen, without a branch, so that a loop over
    /// levels runs it on SIMD lanes and overlaps samples.
    #[inline(always)]
    fn factor_without_branches(&self, level: f32) -> f32 {
        let sloped = fast_db_to_gain(self.curve.gain_db(fast_level_db(level))) * self.makeup_gain;
        let above_low = if level >= self.high_level {
            self.high_gain
        } else {
            sloped
        };
        if level < self.low_level {
            self.low_gain
        } else {
            above_low
        }
    }

    /// Multiplies each frame of a stereo block by the factor for its level (`levels[n]` for frame n). A block
    /// whose levels all lie in one flat part gets that part's exact factor without computing the curve.
    pub fn apply(&self, levels: &[f32], left: &mut [f32], right: &mut [f32]) {
        let (lowest, highest) = level_range(levels);
        let frames = left.iter_mut().zip(right.iter_mut()).zip(levels);
        if highest < self.low_level || lowest >= self.high_level {
            let factor = self.gain(highest).1;
            for ((l, r), _) in frames {
                *l *= factor;
                *r *= factor;
            }
        } else {
            for ((l, r), level) in frames {
                let factor = self.factor_without_branches(*level);
                *l *= factor;
                *r *= factor;
            }
        }
    }
}

/// The lowest and highest of a block of levels (non-negative and not NaN; infinity and -infinity if empty).
///
/// On the bits as integers, whose order is that of non-negative floats: integer min/max reductions run on SIMD
/// lanes, where float ones (with their NaN rules) stay one sample at a time.
fn level_range(levels: &[f32]) -> (f32, f32) {
    let (lowest, highest) = levels.iter().fold((i32::MAX, i32::MIN), |(lo, hi), x| {
        let bits = x.to_bits() as i32;
        (lo.min(bits), hi.max(bits))
    });
    if levels.is_empty() {
        (f32::INFINITY, f32::NEG_INFINITY)
    } else {
        (f32::from_bits(lowest as u32), f32::from_bits(highest as u32))
    }
}

/// How many frames the feed-forward loop measures before it applies their gains (stack buffers of levels).
const CHUNK_FRAMES: usize = 64;

/// The feed-forward loop shared by the compressor and the expander: the detector measures the stereo-linked
/// level of each frame, the plan turns it into a gain, and both channels are multiplied by it. Returns the
/// curve's last gain in dB (without makeup), for meters; `last_db` if the block is empty.
///
/// It runs in two passes per chunk of frames: the detector (a recursion, one sample after the other), then the
/// gains, whose samples do not depend on each other, so they run on SIMD lanes and the processor overlaps their
/// log/exp chains (one pass per sample was bound by the latency of detector, log and exp in a row). The result
/// per sample is the same whatever the chunking.
#[inline]
pub fn render_feed_forward(
    detector: &mut LevelDetector,
    plan: &GainPlan<impl GainCurve>,
    left: &mut [f32],
    right: &mut [f32],
    last_db: f64,
) -> f64 {
    render_feed_forward_keyed(detector, plan, left, right, None, last_db)
}

/// [`render_feed_forward`] with an optional key: with `Some((key_left, key_right))` (each at least as long as
/// the block) the detector measures the key instead of the input, and the gains still apply to the input (a
/// sidechain, as in Giannoulis et al.'s feed-forward design with the detector fed by another signal).
#[inline(always)]
pub fn render_feed_forward_keyed(
    detector: &mut LevelDetector,
    plan: &GainPlan<impl GainCurve>,
    left: &mut [f32],
    right: &mut [f32],
    key: Option<(&[f32], &[f32])>,
    last_db: f64,
) -> f64 {
    let mut detected = [0.0f64; CHUNK_FRAMES];
    let mut levels = [0.0f32; CHUNK_FRAMES];
    let mut reduction_db = last_db;
    for (c, (l, r)) in left
        .chunks_mut(CHUNK_FRAMES)
        .zip(right.chunks_mut(CHUNK_FRAMES))
        .enumerate()
    {
        let frames = l.len().min(r.len());
        let (detected, levels) = (&mut detected[..frames], &mut levels[..frames]);
        match key {
            Some((kl, kr)) => {
                let at = c * CHUNK_FRAMES;
                detector.process(&kl[at..at + frames], &kr[at..at + frames], detected);
            }
            None => detector.process(&l[..frames], &r[..frames], detected),
        }
        for (level, x) in levels.iter_mut().zip(detected.iter()) {
            *level = *x as f32;
        }
        plan.apply(levels, &mut l[..frames], &mut r[..frames]);
        if let Some(last) = levels.last() {
            reduction_db = plan.gain(*last).0 as f64;
        }
    }
    reduction_db
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
    /// `output_db(x) - x` in f32, with the divisions by R and 2W turned into factors (loop invariants):
    /// 0 below the knee, (1/R - 1) d^2 / (2W) inside it with d = x - T + W/2, (1/R - 1)(x - T) above it.
    #[inline(always)]
    fn gain_db(&self, x_db: f32) -> f32 {
        let slope = 1.0 / self.ratio - 1.0;
        let knee_factor = (0.5 * slope / self.knee_db) as f32;
        let (t, w) = (self.threshold_db as f32, self.knee_db as f32);
        let over = x_db - t;
        let d = over + 0.5 * w;
        let knee = knee_factor * d * d;
        let above = slope as f32 * over;
        if 2.0 * over < -w {
            0.0
        } else if 2.0 * over <= w && w > 0.0 {
            knee
        } else {
            above
        }
    }

    /// Unity below the knee (2(x - T) < -W), everywhere at ratio 1; never flat above.
    fn flat_parts(&self) -> FlatParts {
        let knee_start_db = self.threshold_db - 0.5 * self.knee_db;
        FlatParts {
            low_level: if self.ratio > 1.0 {
                corner_level(knee_start_db)
            } else {
                f64::INFINITY
            },
            low_db: 0.0,
            high_level: f64::INFINITY,
            high_db: 0.0,
        }
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
    #[inline(always)]
    fn gain_db(&self, x_db: f32) -> f32 {
        let t = self.threshold_db as f32;
        let sloped = (-(t - x_db) * (self.ratio - 1.0) as f32).max(self.range_db as f32);
        if x_db >= t {
            0.0
        } else {
            sloped
        }
    }

    /// Unity at or above the threshold (everywhere at ratio 1); `range_db` at or below the floor
    /// T + range / (R - 1), where the slope meets the range.
    fn flat_parts(&self) -> FlatParts {
        let (low_level, high_level) = if self.ratio > 1.0 {
            let floor_db = self.threshold_db + self.range_db / (self.ratio - 1.0);
            (corner_level(floor_db), corner_level(self.threshold_db))
        } else {
            (0.0, 0.0)
        };
        FlatParts {
            low_level,
            low_db: self.range_db,
            high_level,
            high_db: 0.0,
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
        assert_eq!(unity.gain_db(fast_level_db(0.0)), 0.0);
    }

    #[test]
    fn level_range_finds_the_extremes_of_non_negative_levels() {
        assert_eq!(level_range(&[0.5, 0.0, 3e-39, 7.0, 1e-10]), (0.0, 7.0));
        assert_eq!(level_range(&[2.0]), (2.0, 2.0));
        assert_eq!(level_range(&[]), (f32::INFINITY, f32::NEG_INFINITY));
    }

    /// The f32 gain the audio loop uses against the f64 curve it is derived from, densely over -200..+100 dB.
    #[test]
    fn compressor_f32_gain_matches_the_f64_curve() {
        let mut worst = 0.0f64;
        for (t, r, w) in [
            (-20.0, 4.0, 12.0),
            (-60.0, 20.0, 24.0),
            (0.0, 1.5, 0.0),
            (-6.0, 1.0, 6.0),
        ] {
            let c = CompressorCurve {
                threshold_db: t,
                ratio: r,
                knee_db: w,
            };
            for i in 0..=30_000 {
                let x = -200.0 + i as f64 * 0.01;
                let x32 = x as f32;
                let want = c.output_db(x32 as f64) - x32 as f64;
                worst = worst.max((c.gain_db(x32) as f64 - want).abs());
            }
        }
        // f32 rounding of gains up to 190 dB: a few ulps of 128 (7.6e-6 each).
        assert!(worst < 5e-5, "{worst}");
    }
}
