//! The engine's master meter and per-insert meters against independent references, through a project with one
//! track whose input is the test signal: the EBU Tech 3341 and 3342 cases that can be synthesised, integrated
//! loudness against libebur128 (the `ebur128` crate), true peak against a 4x-oversampled BS.1770-4 Annex 2
//! reference computed in the test, correlation of in-phase, anti-phase and independent signals, the spectrum
//! against a direct DFT, and gain reduction, cost and sleep of inserts.

mod common;

use common::ebu::{
    reference_true_peak, segments, tech_3341_cases, tech_3342_cases, true_peak_case_signal, TECH_3341_TRUE_PEAK_CASES,
};
use common::engine::{engine, noise, QUANTUM, SR};
use corelogic_dsp::dsp::rng::Pcg32;
use corelogic_dsp::effects::create;
use corelogic_dsp::engine::control::project::StripRef;
use corelogic_dsp::engine::{Engine, MasterReading, TrackInput, SPECTRUM_BINS, SPECTRUM_SIZE};
use ebur128::{EbuR128, Mode};
use serde_json::{json, Value};
use std::cell::Cell;
use std::f64::consts::TAU;

/// One track, nothing on it: the master's output is the input.
fn plain_engine() -> Engine {
    engine(json!({"tracks": [{"id": "t", "type": "audio"}]}))
}

/// Plays a stereo signal through the engine's one track in 128-frame quanta.
fn play(e: &mut Engine, left: &[f32], right: &[f32]) {
    let (mut out_l, mut out_r) = (vec![0.0f32; QUANTUM], vec![0.0f32; QUANTUM]);
    for (l, r) in left.chunks(QUANTUM).zip(right.chunks(QUANTUM)) {
        let n = l.len();
        e.render(n, &[TrackInput::Stereo(l, r)], &mut out_l[..n], &mut out_r[..n]);
    }
}

fn metered(left: &[f32], right: &[f32]) -> MasterReading {
    let mut e = plain_engine();
    play(&mut e, left, right);
    e.read_master_meter()
}

fn sine(frames: usize, hz: f64, amplitude: f64, phase: f64) -> Vec<f32> {
    (0..frames)
        .map(|i| (amplitude * (TAU * hz * i as f64 / SR + phase).sin()) as f32)
        .collect()
}

#[test]
fn ebu_tech_3341_cases_1_to_5_through_the_master_meter() {
    for (name, parts, expected) in tech_3341_cases() {
        let x = segments(SR, &parts);
        let m = metered(&x, &x);
        println!(
            "{name}: integrated {:.3}, momentary {:.3}, short-term {:.3} LUFS (expected {expected} +/- 0.1)",
            m.integrated_lufs, m.momentary_lufs, m.short_term_lufs
        );
        assert!((m.integrated_lufs - expected).abs() <= 0.1, "{name}: {m:?}");
        if parts.len() == 1 {
            assert!((m.momentary_lufs - expected).abs() <= 0.1, "{name}: {m:?}");
            assert!((m.short_term_lufs - expected).abs() <= 0.1, "{name}: {m:?}");
        }
    }
}

#[test]
fn ebu_tech_3342_cases_1_to_4_loudness_range_through_the_master_meter() {
    for (name, parts, expected) in tech_3342_cases() {
        let x = segments(SR, &parts);
        let lra = metered(&x, &x).loudness_range_lu.expect("a range");
        println!("{name}: LRA {lra:.3} LU (expected {expected} +/- 1)");
        assert!((lra - expected).abs() <= 1.0, "{name}: {lra}");
    }
}

#[test]
fn ebu_tech_3341_true_peak_cases_15_to_19_through_the_master_meter() {
    for (name, divisor, amp, degrees, expected) in TECH_3341_TRUE_PEAK_CASES {
        let x = true_peak_case_signal(SR, divisor, amp, degrees);
        let tp = metered(&x, &x).max_true_peak_dbtp;
        println!("{name}: {tp:.3} dBTP (expected {expected} +0.2/-0.4)");
        assert!(tp <= expected + 0.2 && tp >= expected - 0.4, "{name}: {tp}");
    }
}

#[test]
fn true_peak_matches_a_4x_oversampled_annex_2_reference_within_0_01_db() {
    // A sine at fs/4 whose samples miss its crests (phase 45 degrees: samples at 0.707 of the peak), a sine near
    // Nyquist and noise; 256 zeros after each let the filter ring out inside what the engine sees.
    let frames = 14_400;
    let with_tail = |mut x: Vec<f32>| {
        x.resize(x.len() + 256, 0.0);
        x
    };
    let signals = [
        (
            "fs/4 at 45 degrees",
            sine(frames, SR / 4.0, 0.9, TAU / 8.0),
            sine(frames, SR / 4.0, 0.5, 0.0),
        ),
        (
            "near Nyquist",
            sine(frames, 19_997.0, 0.7, 1.0),
            sine(frames, 23_000.0, 0.9, 0.2),
        ),
        ("noise", noise(3, frames, 0.8), noise(4, frames, 0.6)),
    ];
    for (name, l, r) in signals {
        let (l, r) = (with_tail(l), with_tail(r));
        let sample_peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
        let reference = 20.0 * reference_true_peak(&l).max(reference_true_peak(&r)).log10();
        let got = metered(&l, &r).max_true_peak_dbtp;
        println!(
            "{name}: {got:.4} dBTP, reference {reference:.4}, sample peak {:.4} dBFS",
            20.0 * f64::from(sample_peak).log10()
        );
        assert!((got - reference).abs() <= 0.01, "{name}: {got} vs {reference}");
    }
}

#[test]
fn the_true_peak_since_the_last_read_restarts_and_the_overall_one_stays() {
    // The loud tone ends with 256 zeros, so the oversampling filter's history holds none of it when the quiet
    // tone starts (its first outputs would otherwise still carry the loud samples).
    let mut loud = sine(48_000, 997.0, 0.8, 0.0);
    loud.resize(48_256, 0.0);
    let quiet = sine(48_000, 997.0, 0.1, 0.0);
    let mut e = plain_engine();
    play(&mut e, &loud, &loud);
    let first = e.read_master_meter();
    play(&mut e, &quiet, &quiet);
    let second = e.read_master_meter();
    println!(
        "since read {:.3} then {:.3} dBTP",
        first.true_peak_dbtp, second.true_peak_dbtp
    );
    assert!((first.true_peak_dbtp - 20.0 * 0.8f64.log10()).abs() < 0.05, "{first:?}");
    assert!(
        (second.true_peak_dbtp - 20.0 * 0.1f64.log10()).abs() < 0.05,
        "{second:?}"
    );
    assert_eq!(second.max_true_peak_dbtp, first.max_true_peak_dbtp);
}

/// Music-like material of 20 s: a bass tone, a chord and filtered noise, swelling by up to 20 dB (so the relative
/// gate drops blocks) with 1.5 s under the absolute gate.
fn material(seconds: f64) -> (Vec<f32>, Vec<f32>) {
    let frames = (SR * seconds) as usize;
    let mut rng = Pcg32::new(99, 3);
    let mut smoothed = 0.0;
    let (mut left, mut right) = (Vec::with_capacity(frames), Vec::with_capacity(frames));
    for n in 0..frames {
        let t = n as f64 / SR;
        let gain = if (9.0..10.5).contains(&t) {
            1e-5
        } else {
            10f64.powf(-10.0 * (1.0 - (TAU * 0.1 * t).cos()) / 20.0)
        };
        let white = rng.next_f64() * 2.0 - 1.0;
        smoothed += 0.05 * (white - smoothed);
        let bass = 0.3 * (TAU * 55.0 * t).sin();
        let chord: f64 = [261.63, 329.63, 392.0].iter().map(|f| 0.1 * (TAU * f * t).sin()).sum();
        left.push((gain * (bass + chord + 0.2 * smoothed + 0.02 * white)) as f32);
        right.push((gain * (bass - 0.5 * chord + 0.14 * smoothed + 0.05 * (TAU * 5000.0 * t).sin())) as f32);
    }
    (left, right)
}

#[test]
fn integrated_loudness_of_20_s_of_material_agrees_with_libebur128_within_0_01_lu() {
    let (left, right) = material(20.0);
    let got = metered(&left, &right).integrated_lufs;
    let mut reference = EbuR128::new(2, SR as u32, Mode::I).unwrap();
    reference.add_frames_planar_f32(&[&left, &right]).unwrap();
    let expected = reference.loudness_global().unwrap();
    println!(
        "engine {got:.4} LUFS, libebur128 {expected:.4} LUFS, difference {:.4} LU",
        got - expected
    );
    assert!(
        expected.is_finite() && expected > -40.0,
        "material too quiet: {expected}"
    );
    assert!((got - expected).abs() <= 0.01, "{got} vs {expected}");
}

#[test]
fn correlation_of_in_phase_anti_phase_and_independent_noise() {
    let a = noise(1, 48_000, 0.5);
    let b = noise(2, 48_000, 0.5);
    let minus_a: Vec<f32> = a.iter().map(|x| -x).collect();
    let in_phase = metered(&a, &a).correlation;
    let anti_phase = metered(&a, &minus_a).correlation;
    let independent = metered(&a, &b).correlation;
    // Independent noise: the sample correlation over the 300 ms window (14 400 frames) has a standard deviation
    // of 1/sqrt(14 400) = 0.0083; 4 of them bound it.
    let bound = 4.0 / (0.3 * SR).sqrt();
    println!("in phase {in_phase}, anti-phase {anti_phase}, independent {independent} (bound {bound:.4})");
    assert!((in_phase - 1.0).abs() < 1e-9, "{in_phase}");
    assert!((anti_phase + 1.0).abs() < 1e-9, "{anti_phase}");
    assert!(independent.abs() < bound, "{independent}");
    assert_eq!(metered(&a, &vec![0.0; a.len()]).correlation, 0.0);
}

/// The level in dB of bin `k` of the last `SPECTRUM_SIZE` samples, by a direct DFT with a periodic Hann window,
/// scaled by 2 / sum(window) (the window's coherent gain undone).
fn direct_bin_db(x: &[f32], k: usize) -> f64 {
    let frame = &x[x.len() - SPECTRUM_SIZE..];
    let n = SPECTRUM_SIZE as f64;
    let (mut re, mut im, mut window_sum) = (0.0, 0.0, 0.0);
    for (i, &v) in frame.iter().enumerate() {
        let w = 0.5 - 0.5 * (TAU * i as f64 / n).cos();
        window_sum += w;
        let angle = TAU * (k * i) as f64 / n;
        re += w * f64::from(v) * angle.cos();
        im -= w * f64::from(v) * angle.sin();
    }
    20.0 * (2.0 * (re * re + im * im).sqrt() / window_sum).log10()
}

#[test]
fn the_spectrum_peaks_at_the_sines_bin_with_the_level_the_window_gives() {
    let mut spectrum = vec![0.0f32; SPECTRUM_BINS];
    // 1 kHz: off a bin centre (85.33 bins).
    let x = sine(3 * SPECTRUM_SIZE, 1000.0, 0.5, 0.3);
    let mut e = plain_engine();
    play(&mut e, &x, &x);
    assert_eq!(e.read_spectrum(&mut spectrum), SPECTRUM_BINS);
    let peak_bin = (0..SPECTRUM_BINS)
        .max_by(|&a, &b| spectrum[a].total_cmp(&spectrum[b]))
        .unwrap();
    let expected_bin = (1000.0 * SPECTRUM_SIZE as f64 / SR).round() as usize;
    let direct = direct_bin_db(&x, peak_bin);
    println!(
        "1 kHz: peak bin {peak_bin} (expected {expected_bin}), {} dB, direct DFT {direct:.4} dB",
        spectrum[peak_bin]
    );
    assert_eq!(peak_bin, expected_bin);
    assert!((f64::from(spectrum[peak_bin]) - direct).abs() < 0.01);
    // A sine centred on bin 100 reads its amplitude there: the Hann window's coherent gain (1/2) is undone.
    let hz = 100.0 * SR / SPECTRUM_SIZE as f64;
    let x = sine(3 * SPECTRUM_SIZE, hz, 0.25, 1.0);
    let mut e = plain_engine();
    play(&mut e, &x, &x);
    e.read_spectrum(&mut spectrum);
    let expected_db = 20.0 * 0.25f64.log10();
    println!("bin-centred: {} dB (expected {expected_db:.4})", spectrum[100]);
    assert!((f64::from(spectrum[100]) - expected_db).abs() < 0.01);
    // A shorter buffer gets the lowest bins only.
    let mut few = [0.0f32; 8];
    assert_eq!(e.read_spectrum(&mut few), 8);
    assert_eq!(few[..], spectrum[..8]);
}

#[test]
fn reset_clears_the_integration_and_a_switched_off_meter_reads_nothing() {
    let x = segments(SR, &[(2.0, -23.0)]);
    let mut e = plain_engine();
    play(&mut e, &x, &x);
    assert!((e.read_master_meter().integrated_lufs + 23.0).abs() < 0.1);
    e.reset_meters();
    let cleared = e.read_master_meter();
    assert_eq!(cleared.integrated_lufs, f64::NEG_INFINITY, "{cleared:?}");
    assert_eq!(cleared.max_true_peak_dbtp, f64::NEG_INFINITY, "{cleared:?}");
    let mut e = plain_engine();
    e.set_master_meter_enabled(false);
    play(&mut e, &x, &x);
    assert_eq!(e.read_master_meter().integrated_lufs, f64::NEG_INFINITY);
    e.set_master_meter_enabled(true);
    play(&mut e, &x, &x);
    assert!((e.read_master_meter().integrated_lufs + 23.0).abs() < 0.1);
}

const COMPRESSOR: [(&str, f64); 3] = [("thresholdDb", -30.0), ("ratio", 4.0), ("attackMs", 5.0)];

fn compressor_engine() -> Engine {
    let parameters: serde_json::Map<String, Value> =
        COMPRESSOR.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    engine(json!({"tracks": [{"id": "t", "type": "audio",
        "inserts": [{"id": "c", "effect": "compressor", "parameters": parameters}]}]}))
}

#[test]
fn gain_reduction_read_through_the_engine_is_the_effects_own_and_restarts_on_read() {
    let x = sine(24_000, 440.0, 0.5, 0.0);
    let mut e = compressor_engine();
    play(&mut e, &x, &x);
    let through_engine = e.read_insert_meter(StripRef::Track(0), 0).unwrap();
    // The same compressor driven directly with the same quanta.
    let mut direct = create("compressor", SR, COMPRESSOR).unwrap();
    for block in x.chunks(QUANTUM) {
        let (mut l, mut r) = (block.to_vec(), block.to_vec());
        direct.process(&mut l, &mut r, &[]);
    }
    let own = direct.take_peak_gain_reduction_db();
    println!("engine {} dB, effect {own} dB", through_engine.gain_reduction_db);
    assert!(own < -10.0, "the compressor is engaged: {own}");
    assert_eq!(through_engine.gain_reduction_db, own);
    assert!(!through_engine.asleep && through_engine.kernel_running);
    // Read again with nothing rendered: the deepest-since-read restarted.
    assert_eq!(
        e.read_insert_meter(StripRef::Track(0), 0).unwrap().gain_reduction_db,
        0.0
    );
    // A bad address is an error naming it.
    let err = e.read_insert_meter(StripRef::Track(0), 3).unwrap_err();
    assert!(err.to_string().contains("no insert 3"), "{err}");
    assert!(e.read_insert_meter(StripRef::Bus(2), 0).is_err());
}

thread_local! {
    static TICKS: Cell<u64> = const { Cell::new(0) };
}

/// A test clock: every call advances it by exactly 1 us (on this thread), so each timed insert costs 1 us.
fn ticking_clock() -> f64 {
    TICKS.with(|t| {
        t.set(t.get() + 1);
        t.get() as f64 * 1e-6
    })
}

#[test]
fn a_sleeping_insert_reports_asleep_and_its_cost_counts_only_the_quanta_it_ran() {
    let mut e = compressor_engine();
    e.set_clock(Some(ticking_clock));
    let x = sine(12_800, 440.0, 0.5, 0.0);
    play(&mut e, &x, &x);
    let running = e.read_insert_meter(StripRef::Track(0), 0).unwrap();
    println!("running: {running:?}");
    assert!(running.timed && !running.asleep && running.frames == 12_800);
    assert!((running.cost_us_per_quantum - 1.0).abs() < 1e-6, "{running:?}");
    let quantum_s = QUANTUM as f64 / SR;
    assert!((running.load - 1e-6 / quantum_s).abs() < 1e-9, "{running:?}");
    // Silence until the compressor (and then the track) sleeps: its cost per quantum falls below 1 us.
    let silence = vec![0.0f32; 10 * 48_000];
    play(&mut e, &silence, &silence);
    let sleeping = e.read_insert_meter(StripRef::Track(0), 0).unwrap();
    println!("sleeping: {sleeping:?}");
    assert!(sleeping.asleep && !sleeping.kernel_running, "{sleeping:?}");
    assert!(sleeping.cost_us_per_quantum < 0.5, "{sleeping:?}");
    play(&mut e, &silence[..12_800], &silence[..12_800]);
    let asleep = e.read_insert_meter(StripRef::Track(0), 0).unwrap();
    assert_eq!(
        (asleep.cost_us_per_quantum, asleep.frames, asleep.asleep),
        (0.0, 12_800, true)
    );
    // Without a clock nothing is timed.
    e.set_clock(None);
    play(&mut e, &x, &x);
    let untimed = e.read_insert_meter(StripRef::Track(0), 0).unwrap();
    assert!(!untimed.timed && untimed.cost_us_per_quantum == 0.0, "{untimed:?}");
}
