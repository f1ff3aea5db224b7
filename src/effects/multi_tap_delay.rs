//! `multi-tap-delay`: up to 8 taps at k x spacing on one line fed by the input's mono sum, panned alternately.
//!
//! The line takes M = (L+R)/2 plus the last tap's signal (before its level) x feedback through the cut
//! filters. Tap k (1..taps) sounds at k x spacing with `tap{k}Level`; odd taps sit at pan -spread, even taps at
//! +spread, with the StereoPannerNode mono law (x = (pan + 1)/2, gainL = cos(x pi/2), gainR = sin(x pi/2)).
//! The spacing glides at most `MAX_RATE / 8` samples per sample, so even the 8th tap moves no faster than the
//! other delays' times. When synced, the spacing is the note value, shortened so that the last tap stays
//! within 5 s.

use super::delay_params::{SyncedTime, HIGH_CUT, LOW_CUT, NOTE_VALUE, SYNC};
use super::Kernel;
use crate::dsp::fractional_delay::{
    echoes_to_silence, DelayLine, DelayTime, FeedbackFilters, MAX_DELAY_SECONDS, MAX_RATE,
};
use crate::dsp::smoother::smoothing_frames;
use crate::params::{Category, EffectSpec, ParamSpec};
use std::f64::consts::FRAC_PI_2;

pub const MAX_TAPS: usize = 8;

const TAPS: usize = 0;
const SPACING_MS: usize = 1;
const FEEDBACK: usize = 2;
const TAP_LEVEL: usize = 4;
const SPREAD: usize = 12;
const LOW_CUT_HZ: usize = 13;
const HIGH_CUT_HZ: usize = 14;
const SYNC_TO_TEMPO: usize = 15;
const NOTE: usize = 16;

const fn level(name: &'static str) -> ParamSpec {
    ParamSpec::linear(name, "", 0.0, 1.0, 0.25)
}

pub static SPEC: EffectSpec = EffectSpec {
    id: "multi-tap-delay",
    name: "Multi-Tap Delay",
    category: Category::Delay,
    params: &[
        ParamSpec::integer("taps", 1.0, 8.0, 4.0),
        // Glides linearly, but its 10 to 625 ms range spans six octaves of time: a log knob.
        ParamSpec::linear("spacingMs", "ms", 10.0, 625.0, 250.0).log_taper(),
        ParamSpec::linear("feedback", "", 0.0, 0.95, 0.4),
        ParamSpec::linear("mix", "", 0.0, 1.0, 0.5),
        level("tap1Level"),
        level("tap2Level"),
        level("tap3Level"),
        level("tap4Level"),
        level("tap5Level"),
        level("tap6Level"),
        level("tap7Level"),
        level("tap8Level"),
        ParamSpec::linear("spread", "", 0.0, 1.0, 0.5),
        LOW_CUT,
        HIGH_CUT,
        SYNC,
        NOTE_VALUE,
    ],
    presets: &[],
};

/// The StereoPannerNode's mono panning law: (gainL, gainR) for pan in [-1, 1].
pub fn mono_pan(pan: f64) -> (f64, f64) {
    let x = (pan + 1.0) / 2.0;
    ((x * FRAC_PI_2).cos(), (x * FRAC_PI_2).sin())
}

pub struct MultiTapDelay {
    sample_rate: f64,
    line: DelayLine,
    filters: FeedbackFilters,
    spacing: SyncedTime,
    taps: usize,
    feedback: f32,
    /// Per tap: level x pan gain, left and right.
    gains: [(f32, f32); MAX_TAPS],
    /// A change of `taps` while audio runs: the old tap set, faded out against the new one.
    taps_fade: Option<TapsFade>,
    fade_frames: u64,
}

/// The outgoing tap set of a `taps` change. Both sets read the same line, so the crossfade needs no second
/// line: only the old count and gains, and how far the fade has gone.
#[derive(Debug, Clone, Copy)]
struct TapsFade {
    taps: usize,
    gains: [(f32, f32); MAX_TAPS],
    done: u64,
}

impl Kernel for MultiTapDelay {
    const SPEC: &'static EffectSpec = &SPEC;

    fn new(sample_rate: f64, params: &[f64]) -> Self {
        let mut k = MultiTapDelay {
            sample_rate,
            line: DelayLine::new(sample_rate),
            filters: FeedbackFilters::default(),
            spacing: SyncedTime::with_glide(
                DelayTime::with_max_rate(0.0, sample_rate, MAX_RATE / MAX_TAPS as f64),
                sample_rate,
            ),
            taps: 1,
            feedback: 0.0,
            gains: [(0.0, 0.0); MAX_TAPS],
            taps_fade: None,
            fade_frames: smoothing_frames(sample_rate),
        };
        k.set_params(params);
        k
    }

    /// `taps`, `syncToTempo` and `noteValue` change without a second kernel: the time glides, and a new tap
    /// count crossfades against the old one on the same line.
    const OWN_TRANSITIONS: bool = true;

    fn set_params(&mut self, p: &[f64]) {
        let taps = (p[TAPS] as usize).clamp(1, MAX_TAPS);
        if taps != self.taps && self.spacing.is_started() {
            self.taps_fade = Some(TapsFade {
                taps: self.taps,
                gains: self.gains,
                done: 0,
            });
        }
        self.taps = taps;
        // The last tap reads taps x spacing back: the spacing is capped so that it fits the line.
        let longest = MAX_DELAY_SECONDS / self.taps as f64;
        self.spacing
            .set(p[SPACING_MS], p[SYNC_TO_TEMPO] >= 0.5, p[NOTE], longest);
        self.feedback = p[FEEDBACK] as f32;
        for (k, g) in self.gains.iter_mut().enumerate() {
            // Tap k + 1: odd taps (index 0, 2, ...) left, even taps right.
            let pan = if k % 2 == 0 { -p[SPREAD] } else { p[SPREAD] };
            let (gl, gr) = mono_pan(pan);
            let level = p[TAP_LEVEL + k];
            *g = ((level * gl) as f32, (level * gr) as f32);
        }
        self.filters.set(p[LOW_CUT_HZ], p[HIGH_CUT_HZ], self.sample_rate);
    }

    fn set_tempo(&mut self, bpm: f64) {
        self.spacing.set_tempo(bpm);
    }

    fn render(&mut self, _frame: u64, left: &mut [f32], right: &mut [f32]) {
        self.spacing.start();
        if self.taps_fade.is_some() {
            return self.render_taps_fade(left, right);
        }
        let taps = self.taps;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let spacing = self.spacing.tick();
            let mono = 0.5 * (*l + *r);
            let (mut out_l, mut out_r) = (0.0, 0.0);
            let mut last = 0.0;
            for (k, (gl, gr)) in self.gains[..taps].iter().enumerate() {
                last = self.line.read((k + 1) as f64 * spacing);
                out_l += gl * last;
                out_r += gr * last;
            }
            let back = self.filters.process(last);
            self.line.write(mono + self.feedback * back);
            *l = out_l;
            *r = out_r;
        }
    }

    fn reset(&mut self) {
        self.line.reset();
        self.filters.reset();
        self.spacing.reset();
        self.taps_fade = None;
    }

    fn copy_state_from(&mut self, other: &Self) {
        self.line.copy_from(&other.line);
        self.filters.copy_state_from(&other.filters);
        self.spacing.copy_state_from(&other.spacing);
        self.taps_fade = other.taps_fade;
    }

    /// The line and filters 60 dB below the floor divided by the tap count (the taps add up), the spacing not
    /// gliding and no `taps` crossfade under way.
    fn settled(&self, floor: f32) -> bool {
        let limit = floor * 1e-3 / MAX_TAPS as f32;
        self.taps_fade.is_none()
            && self.spacing.settled()
            && self.line.peak() <= limit
            && self.filters.settled(limit as f64)
    }

    /// The loop runs through the last tap: its period is taps x spacing.
    fn tail_samples(&self) -> Option<u64> {
        let spacing = self.spacing.longest();
        let period = (self.taps as f64 * spacing).max(1.0).ceil() as u64;
        let echoes = echoes_to_silence(self.feedback as f64);
        Some(echoes * (period + self.filters.tail_samples()) + 1)
    }
}

impl MultiTapDelay {
    /// Renders while a `taps` change fades: the outputs and the feedback source (each set's last tap) of the
    /// old and new tap sets, weighted linearly over the fade.
    fn render_taps_fade(&mut self, left: &mut [f32], right: &mut [f32]) {
        let Some(mut fade) = self.taps_fade else { return };
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            fade.done += 1;
            let w = (fade.done as f64 / self.fade_frames as f64).min(1.0) as f32;
            let spacing = self.spacing.tick();
            let mono = 0.5 * (*l + *r);
            let (mut out_l, mut out_r) = (0.0, 0.0);
            let (mut last_new, mut last_old) = (0.0, 0.0);
            for k in 0..self.taps.max(fade.taps) {
                let tap = self.line.read((k + 1) as f64 * spacing);
                let (new_l, new_r) = if k < self.taps { self.gains[k] } else { (0.0, 0.0) };
                let (old_l, old_r) = if k < fade.taps { fade.gains[k] } else { (0.0, 0.0) };
                out_l += (old_l + (new_l - old_l) * w) * tap;
                out_r += (old_r + (new_r - old_r) * w) * tap;
                if k + 1 == self.taps {
                    last_new = tap;
                }
                if k + 1 == fade.taps {
                    last_old = tap;
                }
            }
            let back = self.filters.process(last_old + (last_new - last_old) * w);
            self.line.write(mono + self.feedback * back);
            *l = out_l;
            *r = out_r;
        }
        self.taps_fade = (fade.done < self.fade_frames).then_some(fade);
    }
}
