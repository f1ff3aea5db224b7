//! Waveform peaks: min/max per bucket per channel at several zoom levels, in one pass over the samples.
//!
//! Level 0 has `buckets` buckets; level k has `buckets x 2^k`. Bucket i of a level with B buckets over n
//! frames covers frames floor(i n / B) .. floor((i + 1) n / B), so bucket i of level k is exactly buckets 2i
//! and 2i + 1 of level k + 1: only the finest level is computed from the samples, and each coarser level is
//! the pairwise min/max of the one below it, equal to a direct min/max. An empty bucket (fewer frames than
//! buckets) reads 0 / 0.

use super::error::{check_block, AnalysisError};

/// The most buckets a level may have (the finest, `buckets x 2^(levels - 1)`): a display's worth, not a copy
/// of the file, and a bound on what a request can make the builder allocate.
pub const MAX_PEAK_BUCKETS: usize = 1 << 24;
/// The most zoom levels.
pub const MAX_PEAK_LEVELS: usize = 16;
/// The most channels: 7.1 surround, the largest common layout.
pub const MAX_PEAK_CHANNELS: usize = 8;

/// Min/max of one level: `min[channel][bucket]`, `max[channel][bucket]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakLevel {
    pub buckets: usize,
    pub min: Vec<Vec<f32>>,
    pub max: Vec<Vec<f32>>,
}

/// Accumulates the finest level while samples stream in; [`PeaksBuilder::finish`] derives the others.
#[derive(Debug, Clone)]
pub struct PeaksBuilder {
    total_frames: u64,
    fine_buckets: usize,
    levels: usize,
    position: u64,
    bucket: usize,
    bucket_end: u64,
    min: Vec<Vec<f32>>,
    max: Vec<Vec<f32>>,
}

impl PeaksBuilder {
    /// `levels` zoom levels (1 to [`MAX_PEAK_LEVELS`]) for a signal of `total_frames` frames and `channels`
    /// channels (1 to [`MAX_PEAK_CHANNELS`]), the coarsest with `buckets` buckets (at least 1; the finest
    /// level's `buckets x 2^(levels - 1)` at most [`MAX_PEAK_BUCKETS`]). Anything else is an error naming it.
    pub fn new(total_frames: u64, channels: usize, buckets: usize, levels: usize) -> Result<Self, AnalysisError> {
        if !(1..=MAX_PEAK_CHANNELS).contains(&channels) {
            return Err(AnalysisError::Channels {
                given: channels,
                max: MAX_PEAK_CHANNELS,
            });
        }
        let problem = |problem| AnalysisError::Peaks {
            buckets,
            levels,
            problem,
        };
        if buckets == 0 {
            return Err(problem("at least 1 bucket is needed"));
        }
        if !(1..=MAX_PEAK_LEVELS).contains(&levels) {
            return Err(problem("levels must be from 1 to 16"));
        }
        let fine_buckets = buckets
            .checked_mul(1 << (levels - 1))
            .filter(|&n| n <= MAX_PEAK_BUCKETS)
            .ok_or_else(|| problem("the finest level would have more than 16777216 buckets"))?;
        let mut builder = Self {
            total_frames,
            fine_buckets,
            levels,
            position: 0,
            bucket: 0,
            bucket_end: 0,
            min: vec![vec![f32::INFINITY; fine_buckets]; channels],
            max: vec![vec![f32::NEG_INFINITY; fine_buckets]; channels],
        };
        builder.bucket_end = builder.boundary(1);
        builder.skip_empty();
        Ok(builder)
    }

    fn boundary(&self, i: usize) -> u64 {
        (u128::from(self.total_frames) * i as u128 / self.fine_buckets as u128) as u64
    }

    fn skip_empty(&mut self) {
        while self.bucket < self.fine_buckets && self.position >= self.bucket_end {
            self.bucket += 1;
            self.bucket_end = self.boundary(self.bucket + 1);
        }
    }

    /// Feeds one block, one slice per channel, of equal lengths (else an error, and nothing of the block is
    /// taken). Samples past `total_frames` are ignored.
    pub fn push(&mut self, channels: &[&[f32]]) -> Result<(), AnalysisError> {
        let frames = check_block("peaks builder", channels, self.min.len())?;
        let mut done = 0;
        while done < frames && self.bucket < self.fine_buckets {
            let take = ((self.bucket_end - self.position) as usize).min(frames - done);
            for (c, samples) in channels.iter().enumerate() {
                let (mut lo, mut hi) = (self.min[c][self.bucket], self.max[c][self.bucket]);
                for &x in &samples[done..done + take] {
                    lo = lo.min(x);
                    hi = hi.max(x);
                }
                self.min[c][self.bucket] = lo;
                self.max[c][self.bucket] = hi;
            }
            done += take;
            self.position += take as u64;
            self.skip_empty();
        }
        Ok(())
    }

    /// All levels, coarsest first.
    pub fn finish(self) -> Vec<PeakLevel> {
        let mut levels = Vec::with_capacity(self.levels);
        let mut current = PeakLevel {
            buckets: self.fine_buckets,
            min: self.min,
            max: self.max,
        };
        for _ in 1..self.levels {
            let coarser = PeakLevel {
                buckets: current.buckets / 2,
                min: current
                    .min
                    .iter()
                    .map(|m| m.chunks_exact(2).map(|p| p[0].min(p[1])).collect())
                    .collect(),
                max: current
                    .max
                    .iter()
                    .map(|m| m.chunks_exact(2).map(|p| p[0].max(p[1])).collect())
                    .collect(),
            };
            levels.push(current);
            current = coarser;
        }
        levels.push(current);
        levels.reverse();
        for level in &mut levels {
            for (lo, hi) in level.min.iter_mut().flatten().zip(level.max.iter_mut().flatten()) {
                if *lo > *hi {
                    (*lo, *hi) = (0.0, 0.0);
                }
            }
        }
        levels
    }
}
