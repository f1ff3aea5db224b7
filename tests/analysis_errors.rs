//! Bad input to the analysis entry points gets an `AnalysisError` naming what was wrong, never a panic (a
//! panic in WebAssembly traps the whole engine): each case below, then a property test over random channel
//! counts, lengths, sample rates and sample values.

mod signals;
use corelogic_dsp::analysis::features::FrameAnalyzer;
use corelogic_dsp::analysis::mfcc::{self, MEL_BANDS};
use corelogic_dsp::analysis::tempo::TempoEstimator;
use corelogic_dsp::analysis::{
    self, AnalysisError, Analyzer, AudioSource, LoudnessMeter, PeaksBuilder, SliceSource, MAX_PEAK_BUCKETS,
};
use proptest::prelude::*;
use signals::noise_f64;
use std::f64::consts::PI;

const RATE_HZ: f64 = 48_000.0;

fn message<T>(result: Result<T, AnalysisError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_loudness_meter_names_a_bad_rate_channel_count_block_or_channel() {
    assert_eq!(LoudnessMeter::new(0.0, 2).err(), Some(AnalysisError::SampleRate(0.0)));
    assert!(LoudnessMeter::new(f64::NAN, 2).is_err());
    assert_eq!(
        message(LoudnessMeter::new(RATE_HZ, 6)),
        "6 channels: 1 to 5 are supported"
    );
    assert!(LoudnessMeter::new(RATE_HZ, 0).is_err());
    let mut meter = LoudnessMeter::new(RATE_HZ, 1).unwrap();
    let block = [0.5f32; 64];
    assert_eq!(
        message(meter.push(&[&block, &block])),
        "2 channel slices given, the loudness meter has 1"
    );
    assert_eq!(
        message(meter.push(&[])),
        "0 channel slices given, the loudness meter has 1"
    );
    let mut stereo = LoudnessMeter::new(RATE_HZ, 2).unwrap();
    assert_eq!(
        message(stereo.push(&[&block, &block[..10]])),
        "channel slice 1 has 10 samples but slice 0 has 64: the slices of a block must have equal lengths"
    );
    // A rejected block is not measured.
    assert_eq!(stereo.sample_peak(), 0.0);
    stereo.push(&[&block, &block]).unwrap();
    assert_eq!(stereo.sample_peak(), 0.5);
    assert_eq!(
        message(stereo.channel_true_peak(2)),
        "channel 2 asked for, the meter has 2 (0 to 1)"
    );
    assert!(stereo.channel_true_peak(1).unwrap() >= 0.5);
}

#[test]
fn the_analyser_names_a_bad_setup_block_or_call_order() {
    assert_eq!(message(Analyzer::new(RATE_HZ, 3)), "3 channels: 1 to 2 are supported");
    assert_eq!(
        message(Analyzer::new(500.0, 1)),
        "sample rate 500 Hz is not supported (1000 to 768000 Hz)"
    );
    let block = [0.25f32; 256];
    let mut a = Analyzer::new(RATE_HZ, 2).unwrap();
    assert_eq!(message(a.push(&[&block])), "1 channel slices given, the analyser has 2");
    assert!(matches!(
        a.push(&[&block, &block[1..]]),
        Err(AnalysisError::UnequalLengths { channel: 1, .. })
    ));
    assert!(message(a.push_second_pass(&[&block, &block])).starts_with("push_second_pass called without a second pass"));
    a.push(&[&block, &block]).unwrap();
    assert!(!a.end_first_pass().unwrap());
    assert_eq!(message(a.end_first_pass()), "end_first_pass called twice");
    assert!(message(a.push(&[&block, &block])).starts_with("push called after end_first_pass"));
    let result = a.finish().unwrap();
    assert_eq!(result.frames, 256, "only the accepted block was measured");
}

#[test]
fn finish_without_end_first_pass_ends_it_and_measures_the_same() {
    let block: Vec<f32> = noise_f64(3, 20_000).iter().map(|&v| (0.3 * v) as f32).collect();
    let mut ended = Analyzer::new(RATE_HZ, 1).unwrap();
    ended.push(&[&block]).unwrap();
    assert!(!ended.end_first_pass().unwrap());
    let mut direct = Analyzer::new(RATE_HZ, 1).unwrap();
    direct.push(&[&block]).unwrap();
    assert_eq!(direct.finish().unwrap(), ended.finish().unwrap());
}

#[test]
fn a_second_pass_of_other_length_is_an_error_naming_both_counts() {
    // tests/reference's long crescendo: 140 dB in 120 s at 8 kHz over quiet noise needs the second pass.
    let rate_hz = 8_000.0;
    let n = 120 * 8_000;
    let noise = noise_f64(10, n);
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate_hz;
            let level = 0.8 * 10f64.powf(140.0 / 20.0 * (t / 120.0 - 1.0));
            (level * (2.0 * PI * 440.0 * t).sin() + 1e-4 * noise[i]) as f32
        })
        .collect();
    let mut a = Analyzer::new(rate_hz, 1).unwrap();
    a.push(&[&x]).unwrap();
    assert!(a.end_first_pass().unwrap(), "this crescendo needs a second pass");
    assert!(message(a.push(&[&x])).starts_with("push called after end_first_pass"));
    a.push_second_pass(&[&x[..n / 2]]).unwrap();
    let e = a.finish().unwrap_err();
    assert!(
        matches!(e, AnalysisError::SecondPassFrames { first, second } if second < first),
        "{e}"
    );
    assert!(e.to_string().contains("feed the same samples again"), "{e}");
}

#[test]
fn analyze_and_slice_source_name_bad_channel_slices() {
    let x = [0.1f32; 100];
    assert_eq!(
        message(analysis::analyze(RATE_HZ, &[])),
        "0 channels: 1 to 2 are supported"
    );
    assert_eq!(
        message(analysis::analyze(RATE_HZ, &[&x, &x, &x])),
        "3 channels: 1 to 2 are supported"
    );
    assert!(matches!(
        analysis::analyze(RATE_HZ, &[&x, &x[..99]]),
        Err(AnalysisError::UnequalLengths {
            channel: 1,
            frames: 99,
            first_frames: 100
        })
    ));
    assert!(matches!(
        analysis::analyze(f64::INFINITY, &[&x]),
        Err(AnalysisError::SampleRate(_))
    ));
    assert!(SliceSource::new(RATE_HZ, &[&x, &x[..1]]).is_err());
    assert_eq!(analysis::analyze(RATE_HZ, &[&x, &x]).unwrap().frames, 100);
    assert_eq!(
        analysis::analyze(RATE_HZ, &[&[], &[]]).unwrap().frames,
        0,
        "empty input is measurable"
    );
}

/// A source that claims to have read more frames than it was given room for.
struct LyingSource;

impl AudioSource for LyingSource {
    type Error = std::convert::Infallible;
    fn sample_rate_hz(&self) -> f64 {
        RATE_HZ
    }
    fn channels(&self) -> usize {
        1
    }
    fn frames(&self) -> u64 {
        1
    }
    fn read(&mut self, left: &mut [f32], _right: &mut [f32]) -> Result<usize, Self::Error> {
        Ok(left.len() + 1)
    }
    fn rewind(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn a_source_reporting_more_frames_than_its_block_holds_is_an_error() {
    let result = analysis::analyze_source(&mut LyingSource, |_| {}).unwrap();
    assert_eq!(
        message(result),
        format!(
            "the audio source reported {} frames read into a block of {}",
            analysis::READ_BLOCK + 1,
            analysis::READ_BLOCK
        )
    );
}

#[test]
fn peaks_name_bad_buckets_levels_and_channels() {
    assert_eq!(
        message(PeaksBuilder::new(100, 2, 0, 1)),
        "0 buckets with 1 levels: at least 1 bucket is needed"
    );
    assert_eq!(
        message(PeaksBuilder::new(100, 2, 4, 0)),
        "4 buckets with 0 levels: levels must be from 1 to 16"
    );
    assert!(message(PeaksBuilder::new(100, 2, 4, 17)).contains("from 1 to 16"));
    let too_many = message(PeaksBuilder::new(100, 2, MAX_PEAK_BUCKETS, 2));
    assert!(
        too_many.contains(&format!("more than {MAX_PEAK_BUCKETS} buckets")),
        "{too_many}"
    );
    assert!(
        PeaksBuilder::new(100, 2, usize::MAX, 16).is_err(),
        "an overflowing product is an error"
    );
    assert!(PeaksBuilder::new(100, 2, MAX_PEAK_BUCKETS, 1).is_ok());
    assert_eq!(
        message(PeaksBuilder::new(100, 0, 4, 1)),
        "0 channels: 1 to 8 are supported"
    );
    let mut builder = PeaksBuilder::new(4, 2, 2, 1).unwrap();
    assert_eq!(
        message(builder.push(&[&[1.0, -1.0]])),
        "1 channel slices given, the peaks builder has 2"
    );
    assert!(builder.push(&[&[1.0, -1.0], &[0.5]]).is_err());
    builder
        .push(&[&[1.0, -1.0, 0.5, 0.25], &[0.5, 0.5, -2.0, 0.0]])
        .unwrap();
    let level = &builder.finish()[0];
    assert_eq!(
        (level.min[0].clone(), level.max[0].clone()),
        (vec![-1.0, 0.25], vec![1.0, 0.5])
    );
    assert_eq!(
        (level.min[1].clone(), level.max[1].clone()),
        (vec![0.5, -2.0], vec![0.5, 0.0])
    );
}

#[test]
fn the_building_blocks_name_a_bad_rate_or_size() {
    assert!(matches!(FrameAnalyzer::new(0.0), Err(AnalysisError::SampleRate(_))));
    assert!(matches!(TempoEstimator::new(1e12), Err(AnalysisError::SampleRate(_))));
    assert!(matches!(
        mfcc::mel_filterbank(-1.0, 2048),
        Err(AnalysisError::SampleRate(_))
    ));
    assert_eq!(
        message(mfcc::mel_filterbank(RATE_HZ, 0)),
        "FFT size 0: 2 to 1048576 are supported"
    );
    assert!(mfcc::mel_filterbank(RATE_HZ, usize::MAX).is_err());
    let bands = mfcc::mel_filterbank(RATE_HZ, 2048).unwrap();
    let mut out = [0.0; MEL_BANDS];
    let short = vec![1.0; 100];
    let e = message(mfcc::mel_power(&bands, &short, &mut out));
    assert!(
        e.starts_with("a power spectrum of 100 bins given, the mel filterbank needs"),
        "{e}"
    );
    // A flat unit spectrum: each band's power is the sum of its weights.
    mfcc::mel_power(&bands, &vec![1.0; 1025], &mut out).unwrap();
    let expected: f64 = bands[10].weights.iter().sum();
    assert_eq!(out[10], expected);
}

/// A sample rate from a set with the edges and nonsense mixed in.
fn any_rate() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(-48_000.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(999.0),
        Just(1000.0),
        Just(8000.0),
        Just(44_100.0),
        Just(768_000.0),
        Just(1e9),
        1000.0..200_000.0f64,
    ]
}

/// A sample: mostly audio, sometimes NaN, infinities or huge values.
fn any_sample() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -1.0f32..1.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(-1e30f32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random channel counts (0 to 6), per-channel lengths (equal or not), rates and samples: every public
    /// entry point returns a result, and never panics.
    #[test]
    fn analysis_entry_points_never_panic(
        rate in any_rate(),
        channels in proptest::collection::vec(proptest::collection::vec(any_sample(), 0..3000), 0..6),
        meter_channels in 0usize..7,
        buckets in 0usize..40,
        levels in 0usize..20,
        index in 0usize..8,
    ) {
        let slices: Vec<&[f32]> = channels.iter().map(|c| c.as_slice()).collect();
        let _ = analysis::analyze(rate, &slices);
        if let Ok(mut meter) = LoudnessMeter::new(rate, meter_channels) {
            let _ = meter.push(&slices);
            let _ = meter.push(&slices);
            let _ = (meter.integrated_lufs(), meter.loudness_range_lu(), meter.momentary_lufs());
            let _ = (meter.short_term_lufs(), meter.true_peak(), meter.channel_true_peak(index));
            meter.flush_true_peak();
        }
        if let Ok(mut a) = Analyzer::new(rate, meter_channels) {
            let _ = a.push(&slices);
            let _ = a.push_second_pass(&slices);
            if a.end_first_pass() == Ok(true) {
                let _ = a.push_second_pass(&slices);
            }
            let _ = a.finish();
        }
        let frames = slices.first().map_or(0, |c| c.len()) as u64;
        if let Ok(mut builder) = PeaksBuilder::new(frames, meter_channels, buckets, levels) {
            let _ = builder.push(&slices);
            let _ = builder.finish();
        }
        let _ = mfcc::mel_filterbank(rate, buckets);
    }
}
