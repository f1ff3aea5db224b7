//! The dynamics effects (`compressor`, `limiter`, `expander`, `gate`) measured on their output through the public
//! API, against references computed here from the formulas of the effect contract (never the crate's own curves).

use corelogic_dsp::effects::{create, Effect, Event, Source};
use std::f64::consts::PI;

fn db(x: f64) -> f64 {
    20.0 * x.log10()
}

fn from_db(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// `amp * sin(2 pi f n / fs)`, computed in f64.
fn sine(fs: f64, hz: f64, amp: f64, frames: usize) -> Vec<f32> {
    (0..frames)
        .map(|n| (amp * (2.0 * PI * hz * n as f64 / fs).sin()) as f32)
        .collect()
}

fn peak(x: &[f32]) -> f64 {
    x.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64))
}

/// A small deterministic generator (64-bit LCG, top bits), uniform in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn make(id: &str, fs: f64, params: &[(&str, f64)]) -> Box<dyn Effect> {
    create(id, fs, params.iter().copied()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a mono signal (both channels equal) through a new effect; returns the left output.
fn run_mono(id: &str, fs: f64, params: &[(&str, f64)], input: &[f32]) -> Vec<f32> {
    let mut fx = make(id, fs, params);
    let (mut l, mut r) = (input.to_vec(), input.to_vec());
    fx.process(&mut l, &mut r, &[]);
    assert_eq!(l, r, "{id}: a mono input must give identical channels");
    l
}

/// The compressor's static curve (Giannoulis, Massberg and Reiss 2012, eq. 4), output level in dB.
fn compressor_reference_db(x: f64, threshold_db: f64, ratio: f64, knee_db: f64) -> f64 {
    if 2.0 * (x - threshold_db) < -knee_db {
        x
    } else if 2.0 * (x - threshold_db).abs() <= knee_db && knee_db > 0.0 {
        x + (1.0 / ratio - 1.0) * (x - threshold_db + knee_db / 2.0).powi(2) / (2.0 * knee_db)
    } else {
        threshold_db + (x - threshold_db) / ratio
    }
}

/// The output level of a steady 1 kHz sine at `level_db` through the compressor, as the peak of the last 100 ms.
fn compressed_level_db(fs: f64, params: &[(&str, f64)], level_db: f64) -> f64 {
    // 0.6 s: 60 attack time constants at the default 10 ms, so the detector has settled far below 0.01 dB.
    let frames = (0.6 * fs) as usize;
    let input = sine(fs, 1000.0, from_db(level_db), frames);
    let out = run_mono("compressor", fs, params, &input);
    let tail = (0.1 * fs) as usize;
    db(peak(&out[frames - tail..]) / peak(&input[frames - tail..])) + db(peak(&input[frames - tail..]))
}

#[test]
fn compressor_static_curve_matches_the_quadratic_knee_formula() {
    let mut worst = (0.0f64, String::new());
    let mut check = |fs: f64, t: f64, r: f64, knee: f64, detector: f64, x: f64| {
        let params = [
            ("thresholdDb", t),
            ("ratio", r),
            ("kneeDb", knee),
            ("detector", detector),
        ];
        let got = compressed_level_db(fs, &params, x);
        let want = compressor_reference_db(x, t, r, knee);
        let err = (got - want).abs();
        let what = format!("fs {fs} T {t} R {r} knee {knee} detector {detector} x {x}: got {got:.3}, want {want:.3}");
        assert!(err <= 0.5, "{what}");
        if err > worst.0 {
            worst = (err, what);
        }
    };
    for detector in [0.0, 1.0] {
        for t in [-60.0, -40.0, -20.0, -6.0, 0.0] {
            for r in [1.0, 2.0, 4.0, 10.0, 20.0] {
                for knee in [0.0, 12.0] {
                    // Below, at the edge of, inside and above the knee, up to 30 dB over the threshold.
                    for offset in [-20.0, -6.0, -3.0, 0.0, 3.0, 6.0, 12.0, 30.0] {
                        check(48_000.0, t, r, knee, detector, t + offset);
                    }
                }
            }
        }
    }
    for fs in [44_100.0, 96_000.0] {
        for detector in [0.0, 1.0] {
            for offset in [-10.0, -2.0, 2.0, 10.0, 24.0] {
                check(fs, -24.0, 6.0, 6.0, detector, -24.0 + offset);
            }
        }
    }
    println!(
        "compressor static curve: worst deviation {:.4} dB ({})",
        worst.0, worst.1
    );
}

#[test]
fn compressor_makeup_adds_exactly_and_mix_zero_is_identity() {
    let fs = 48_000.0;
    let mut rng = Rng(7);
    // A sine with a noisy envelope: the gain moves all the time.
    let input: Vec<f32> = (0..24_000)
        .map(|n| ((0.3 + 0.25 * rng.next()) * (2.0 * PI * 440.0 * n as f64 / fs).sin()) as f32)
        .collect();
    let base = [("thresholdDb", -30.0), ("ratio", 8.0), ("attackMs", 1.0)];
    let plain = run_mono("compressor", fs, &base, &input);
    let made_up = run_mono(
        "compressor",
        fs,
        &[base[0], base[1], base[2], ("makeupDb", 6.5)],
        &input,
    );
    let want = from_db(6.5);
    let mut checked = 0;
    for (a, b) in plain.iter().zip(&made_up) {
        if a.abs() > 1e-4 {
            let ratio = *b as f64 / *a as f64;
            assert!((ratio - want).abs() < 1e-5 * want, "makeup ratio {ratio} vs {want}");
            checked += 1;
        }
    }
    assert!(checked > 10_000);
    // The compressor really compresses here, so mix 0 being the input is not trivially true.
    assert!(peak(&plain) < 0.5 * peak(&input));
    let mut fx = make("compressor", fs, &[base[0], base[1], base[2], ("mix", 0.0)]);
    let (mut l, mut r) = (input.clone(), input.iter().map(|x| -0.5 * x).collect::<Vec<f32>>());
    fx.process(&mut l, &mut r, &[]);
    assert_eq!(fx.latency(), 0);
    for n in 0..input.len() {
        assert!(
            (l[n] - input[n]).abs() <= 1e-6 && (r[n] + 0.5 * input[n]).abs() <= 1e-6,
            "frame {n}"
        );
    }
}

/// The RMS detector is calibrated for sines (x sqrt(2)), so a square wave, whose RMS equals its peak, reads
/// 3.01 dB above its peak, while the peak detector reads the peak: the two modes really measure differently.
#[test]
fn rms_detector_reads_a_square_wave_3_db_above_the_peak_detector() {
    let fs = 48_000.0;
    let (t, r, x) = (-40.0, 20.0, -10.0);
    let amp = from_db(x) as f32;
    let input: Vec<f32> = (0..28_800)
        .map(|n| if (n / 24) % 2 == 0 { amp } else { -amp })
        .collect();
    for (detector, read_db) in [(0.0, x), (1.0, x + 20.0 * 2f64.sqrt().log10())] {
        let params = [("thresholdDb", t), ("ratio", r), ("detector", detector)];
        let out = run_mono("compressor", fs, &params, &input);
        let got = db(peak(&out[24_000..]));
        // Gain (T - read)(1 - 1/R) applied to the square's own level.
        let want = x + (t - read_db) * (1.0 - 1.0 / r);
        assert!(
            (got - want).abs() < 0.01,
            "detector {detector}: {got:.4} dB, want {want:.4}"
        );
    }
}

/// The level the compressor's peak detector reads, inferred from the gain it applies: with a hard knee and the
/// level above the threshold, the gain in dB is `(T - x)(1 - 1/R)`, so `x = T - gain_db / (1 - 1/R)`.
#[test]
fn peak_detector_reads_a_steady_sine_at_its_peak_within_a_tenth_of_a_db() {
    let (t, r) = (-40.0, 20.0);
    let mut worst = 0.0f64;
    // Sample rates and frequencies with a whole multiple of 4 samples per period, so the samples hit the peak,
    // and periods of exactly a tenth of the release time (the limit) or shorter.
    for (fs, release_ms, hz) in [
        (48_000.0, 5.0, 2000.0),
        (48_000.0, 5.0, 6000.0),
        (44_100.0, 5.0, 2205.0),
        (96_000.0, 5.0, 2000.0),
        (48_000.0, 20.0, 500.0),
        (44_100.0, 20.0, 44_100.0 / 88.0),
        (48_000.0, 100.0, 100.0),
        (44_100.0, 100.0, 44_100.0 / 440.0),
        (96_000.0, 2000.0, 1000.0),
    ] {
        assert!(1000.0 / hz <= release_ms / 10.0 + 1e-12);
        // The attack smoothing averages the peak stage's ripple (it dips between the sine's peaks, by up to
        // about 0.16 dB at the limit); with an attack time of at least half the sine's period the reading stays
        // within 0.1 dB. Shorter attacks let the ripple through (see the report in detector.rs).
        let half_period_ms = (500.0f64 / hz).max(0.1);
        for attack_ms in [half_period_ms, 10.0f64.max(half_period_ms), 200.0] {
            let amp = 0.5;
            // Settled: at least 12 attack time constants, and a second for the release stage.
            let frames = ((12.0 * attack_ms / 1000.0).max(1.0) * fs) as usize;
            let input = sine(fs, hz, amp, frames);
            let params = [
                ("thresholdDb", t),
                ("ratio", r),
                ("attackMs", attack_ms),
                ("releaseMs", release_ms),
            ];
            let out = run_mono("compressor", fs, &params, &input);
            for n in frames - (0.1 * fs) as usize..frames {
                if input[n].abs() as f64 > 0.3 * amp {
                    let gain_db = db(out[n] as f64 / input[n] as f64);
                    let read_db = t - gain_db / (1.0 - 1.0 / r);
                    let err = (read_db - db(amp)).abs();
                    assert!(
                        err <= 0.1,
                        "fs {fs} release {release_ms} ms attack {attack_ms} ms {hz} Hz: reads {read_db:.4} dB, peak {:.4}",
                        db(amp)
                    );
                    worst = worst.max(err);
                }
            }
        }
    }
    println!("peak detector: worst reading error {worst:.4} dB");
}

/// Checks every output sample of a limiter run against the ceiling, exactly (f32 output compared in f64).
fn assert_under_ceiling(out: &[f32], ceiling: f64, what: &str) {
    for (n, v) in out.iter().enumerate() {
        assert!(
            (v.abs() as f64) <= ceiling,
            "{what}: frame {n} = {v} over the ceiling {ceiling}"
        );
    }
}

#[test]
fn limiter_never_exceeds_its_ceiling() {
    let mut closest = f64::MAX;
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        for (ceiling_db, lookahead_ms, release_ms) in [
            (-1.0, 5.0, 50.0),
            (0.0, 0.5, 1.0),
            (-24.0, 10.0, 1000.0),
            (-6.0, 1.3, 10.0),
            (-0.1, 2.7, 300.0),
        ] {
            let ceiling = from_db(ceiling_db);
            let params = [
                ("ceilingDb", ceiling_db),
                ("lookaheadMs", lookahead_ms),
                ("releaseMs", release_ms),
            ];
            let frames = (0.3 * fs) as usize;
            let what = format!("fs {fs} ceiling {ceiling_db} lookahead {lookahead_ms} release {release_ms}");

            // +24 dB white noise, uncorrelated channels.
            let mut rng = Rng(fs as u64 + lookahead_ms as u64);
            let loud = from_db(24.0);
            let mut l: Vec<f32> = (0..frames).map(|_| (loud * rng.next()) as f32).collect();
            let mut r: Vec<f32> = (0..frames).map(|_| (loud * rng.next()) as f32).collect();
            let mut fx = make("limiter", fs, &params);
            fx.process(&mut l, &mut r, &[]);
            assert_under_ceiling(&l, ceiling, &what);
            assert_under_ceiling(&r, ceiling, &what);
            // It limits rather than mutes: the loudest samples come close to the ceiling.
            assert!(peak(&l) > from_db(ceiling_db - 1.0), "{what}: peak {}", peak(&l));
            closest = closest.min(ceiling - peak(&l).max(peak(&r)));

            // Full-scale noise with the input gain at +24 dB.
            let mut l: Vec<f32> = (0..frames).map(|_| rng.next() as f32).collect();
            let mut r = l.clone();
            let mut fx = make("limiter", fs, &[params[0], params[1], params[2], ("inputGainDb", 24.0)]);
            fx.process(&mut l, &mut r, &[]);
            assert_under_ceiling(&l, ceiling, &what);

            // Single-sample spikes of 16 in silence and in a quiet sine, in one channel or both, some adjacent.
            let mut l = sine(fs, 440.0, 0.01, frames);
            l[..frames / 3].fill(0.0);
            let mut r = l.clone();
            for k in 0..40 {
                let at = (rng.next().abs() * (frames - 2) as f64) as usize;
                l[at] = 16.0;
                if k % 3 == 0 {
                    r[at] = -16.0;
                }
                if k % 5 == 0 {
                    l[at + 1] = -16.0;
                }
            }
            let mut fx = make("limiter", fs, &params);
            fx.process(&mut l, &mut r, &[]);
            assert_under_ceiling(&l, ceiling, &what);
            assert_under_ceiling(&r, ceiling, &what);

            // A sine burst at +12 dBFS between silences.
            let mut l = sine(fs, 997.0, 4.0, frames);
            l[..frames / 4].fill(0.0);
            l[frames / 2..].fill(0.0);
            let mut r = l.clone();
            let mut fx = make("limiter", fs, &params);
            fx.process(&mut l, &mut r, &[]);
            assert_under_ceiling(&l, ceiling, &what);
        }
    }
    println!("limiter: the loudest noise run came within {closest:.3e} of its ceiling (linear)");
}

/// Runs impulses well under a -1 dB ceiling through a limiter and checks that they come out unchanged, delayed
/// by exactly the reported latency: `lookahead + extra` frames. `left` holds (frame, value) pairs; the right
/// channel carries `right_first` at the first one.
fn assert_quiet_impulses_pass_delayed(
    fs: f64,
    lookahead_ms: f64,
    true_peak: f64,
    extra: usize,
    left: [(usize, f32); 2],
    right_first: f32,
) {
    let latency = (lookahead_ms * fs / 1000.0_f64).round() as usize + extra;
    let what = format!("fs {fs} lookahead {lookahead_ms} truePeak {true_peak}");
    let params = [
        ("lookaheadMs", lookahead_ms),
        ("ceilingDb", -1.0),
        ("truePeak", true_peak),
    ];
    let mut fx = make("limiter", fs, &params);
    assert_eq!(fx.latency(), latency, "{what}");
    let mut l = vec![0.0f32; 4000];
    for (at, v) in left {
        l[at] = v;
    }
    let mut r = l.clone();
    r[left[0].0] = right_first;
    fx.process(&mut l, &mut r, &[]);
    for (n, got) in l.iter().enumerate() {
        let want = left.iter().find(|(at, _)| at + latency == n).map_or(0.0, |v| v.1);
        assert_eq!(*got, want, "{what} frame {n}");
    }
    assert_eq!(r[left[0].0 + latency], right_first, "{what}");
}

#[test]
fn limiter_latency_is_the_lookahead_and_a_quiet_impulse_passes_unchanged() {
    for (fs, lookahead_ms) in [
        (44_100.0, 0.5),
        (48_000.0, 1.3),
        (96_000.0, 5.0),
        (44_100.0, 10.0),
        (8_000.0, 2.01),
    ] {
        assert_quiet_impulses_pass_delayed(fs, lookahead_ms, 0.0, 0, [(100, 0.5), (2000, -0.8)], 0.25);
    }
}

/// `truePeak = 1` adds 29 frames (the detector's delay of 21 and the hold of 8) to the lookahead, at every rate.
#[test]
fn true_peak_latency_is_the_lookahead_plus_29_frames_and_a_quiet_impulse_passes_unchanged() {
    for (fs, lookahead_ms) in [(44_100.0, 0.5), (48_000.0, 1.3), (96_000.0, 10.0), (8_000.0, 2.01)] {
        assert_quiet_impulses_pass_delayed(fs, lookahead_ms, 1.0, 29, [(100, 0.3), (2000, -0.4)], 0.25);
    }
}

#[test]
fn limiter_holds_the_lower_ceiling_while_a_ceiling_change_glides() {
    let fs = 48_000.0;
    let frames = 24_000;
    for (from_db_, to_db) in [(-1.0, -12.0), (-12.0, -1.0), (0.0, -24.0)] {
        let mut fx = make(
            "limiter",
            fs,
            &[("ceilingDb", from_db_), ("lookaheadMs", 2.0), ("releaseMs", 5.0)],
        );
        let latency = fx.latency();
        let change = 10_007u64;
        let event = Event::set(fx.spec(), "ceilingDb", to_db, change, Source::User).unwrap();
        let mut rng = Rng(3);
        let mut l: Vec<f32> = (0..frames).map(|_| (4.0 * rng.next()) as f32).collect();
        let mut r = l.clone();
        // In blocks, so the event lands mid-block; an event is passed until the block that contains it.
        for (bl, br) in l.chunks_mut(333).zip(r.chunks_mut(333)) {
            let events = if event.frame >= fx.frame() { vec![event] } else { vec![] };
            fx.process(bl, br, &events);
        }
        // The glide lasts 20 ms; until it ends the lower of both ceilings holds, afterwards the new one. Output
        // frame n carries input frame n - latency.
        let glide_end = change + (0.02 * fs) as u64;
        for (n, v) in l.iter().enumerate().skip(latency) {
            let input_frame = (n - latency) as u64;
            let ceiling_db = if input_frame < change {
                from_db_
            } else if input_frame < glide_end {
                from_db_.min(to_db)
            } else {
                to_db
            };
            assert!(
                v.abs() as f64 <= from_db(ceiling_db),
                "{from_db_} -> {to_db}: output frame {n} = {v} over {ceiling_db} dB"
            );
        }
        // The new ceiling is reached, not just respected.
        assert!(peak(&l[frames - 2000..]) > from_db(to_db - 1.0));
    }
}

#[test]
fn limiter_lookahead_change_crossfades_under_the_ceiling_and_reports_the_new_latency() {
    let fs = 48_000.0;
    for (from_ms, to_ms) in [(1.0, 10.0), (10.0, 0.5), (5.0, 5.5)] {
        let mut fx = make(
            "limiter",
            fs,
            &[("lookaheadMs", from_ms), ("ceilingDb", -3.0), ("releaseMs", 20.0)],
        );
        let event = Event::set(fx.spec(), "lookaheadMs", to_ms, 5000, Source::User).unwrap();
        let mut rng = Rng(11);
        let mut l: Vec<f32> = (0..20_000)
            .map(|n| ((1.0 + 7.0 * ((n / 300) % 2) as f64) * rng.next()) as f32)
            .collect();
        let mut r = l.clone();
        fx.process(&mut l, &mut r, &[event]);
        assert_under_ceiling(&l, from_db(-3.0), &format!("lookahead {from_ms} -> {to_ms}"));
        assert_eq!(fx.latency(), (to_ms * fs / 1000.0_f64).round() as usize);
    }
}

#[test]
fn expander_attenuates_by_the_ratio_below_threshold_and_stops_at_its_range() {
    let fs = 48_000.0;
    let frames = 48_000;
    let mut worst = 0.0f64;
    let mut check = |t: f64, ratio: f64, range: f64, x: f64| {
        let input = sine(fs, 1000.0, from_db(x), frames);
        let params = [("thresholdDb", t), ("ratio", ratio), ("rangeDb", range)];
        let out = run_mono("expander", fs, &params, &input);
        let tail = frames - 4800;
        let got = db(peak(&out[tail..]) / peak(&input[tail..])) + x;
        let want = if x >= t {
            x
        } else {
            x - ((t - x) * (ratio - 1.0)).min(-range)
        };
        let err = (got - want).abs();
        assert!(
            err <= 0.5,
            "T {t} R {ratio} range {range} x {x}: got {got:.3}, want {want:.3}"
        );
        worst = worst.max(err);
    };
    for t in [-60.0, -40.0, -20.0] {
        for ratio in [1.0, 1.5, 2.0, 4.0, 10.0] {
            for offset in [6.0, -1.0, -3.0, -10.0, -20.0] {
                check(t, ratio, -90.0, t + offset);
            }
        }
    }
    // The range floor: far below the threshold the attenuation is exactly the range.
    for range in [-6.0, -20.0, -40.0, -60.0] {
        check(-20.0, 10.0, range, -50.0);
        check(-30.0, 3.0, range, -70.0);
    }
    println!("expander: worst deviation {worst:.4} dB");
}

/// The gain a gate applied per sample, from a steady input and its output (None where the input is too small to
/// tell).
fn inferred_gains(input: &[f32], output: &[f32], min_input: f32) -> Vec<Option<f64>> {
    input
        .iter()
        .zip(output)
        .map(|(x, y)| (x.abs() >= min_input).then(|| *y as f64 / *x as f64))
        .collect()
}

#[test]
fn gate_hysteresis_keeps_its_state_between_the_two_levels() {
    let fs = 48_000.0;
    let (t, hysteresis, range) = (-30.0, 6.0, -60.0);
    let params = [
        ("thresholdDb", t),
        ("hysteresisDb", hysteresis),
        ("rangeDb", range),
        ("holdMs", 10.0),
        ("releaseMs", 10.0),
    ];
    let segment = 24_000;
    // Ends on a 1 kHz sine at `last_db`, after `first_db` (None: silence).
    let final_gain = |first_db: Option<f64>, last_db: f64| {
        let mut input = match first_db {
            Some(d) => sine(fs, 1000.0, from_db(d), segment),
            None => vec![0.0; segment],
        };
        input.extend(sine(fs, 1000.0, from_db(last_db), segment));
        let out = run_mono("gate", fs, &params, &input);
        let tail = input.len() - 4800;
        peak(&out[tail..]) / peak(&input[tail..])
    };
    let between = t - hysteresis / 2.0;
    // Open before: stays open.
    assert!((final_gain(Some(-10.0), between) - 1.0).abs() < 1e-6);
    // Closed before: stays closed.
    assert!((final_gain(None, between) - from_db(range)).abs() < 1e-6 * from_db(range).max(1e-3));
    // Below threshold - hysteresis it does close, and above the threshold it opens (so the above can fail).
    assert!((final_gain(Some(-10.0), t - hysteresis - 1.0) - from_db(range)).abs() < 1e-6);
    assert!((final_gain(None, t + 1.0) - 1.0).abs() < 1e-6);
}

#[test]
fn gate_holds_for_hold_ms_after_the_level_drops() {
    // The gate's level is the peak over the last 20 ms (documented in gate.rs), so it drops below the close level
    // 20 ms after the last loud sample; the gate then stays open for holdMs and closes on the next sample. Both
    // spans are whole samples (round(ms * fs / 1000)); the tolerance of one sample covers that rounding.
    let mut worst = 0i64;
    for fs in [44_100.0, 48_000.0, 96_000.0] {
        for hold_ms in [0.0, 10.0, 50.0, 500.0] {
            let (t, hysteresis) = (-30.0, 4.0);
            let params = [("thresholdDb", t), ("hysteresisDb", hysteresis), ("holdMs", hold_ms)];
            let loud = (0.2 * fs) as usize;
            let mut input = sine(fs, 1000.0, 0.3, loud);
            // Then a quiet constant (-50 dB, below the close level): the gain is output / input on every sample.
            input.extend(std::iter::repeat(from_db(-50.0) as f32).take((0.7 * fs) as usize));
            let out = run_mono("gate", fs, &params, &input);
            let close_level = from_db(t - hysteresis) as f32;
            let last_loud = (0..loud).rev().find(|&n| input[n].abs() >= close_level).unwrap();
            let window = (0.020 * fs).round() as usize;
            let hold = (hold_ms * fs / 1000.0).round() as usize;
            let expected = last_loud + window + hold;
            let closed_at = (loud..input.len())
                .find(|&n| (out[n] as f64 / input[n] as f64) < 1.0 - 1e-6)
                .unwrap();
            let error = closed_at as i64 - expected as i64;
            assert!(
                error.abs() <= 1,
                "fs {fs} hold {hold_ms} ms: closes at {closed_at}, expected {expected}"
            );
            worst = worst.max(error.abs());
        }
    }
    println!("gate hold: worst timing error {worst} samples");
}

#[test]
fn gate_closed_gain_is_the_range() {
    let fs = 48_000.0;
    for range in [-90.0, -60.0, -40.0, -10.0, 0.0] {
        let input = sine(fs, 1000.0, from_db(-60.0), 48_000);
        let params = [("thresholdDb", -40.0), ("rangeDb", range), ("releaseMs", 20.0)];
        let out = run_mono("gate", fs, &params, &input);
        let gains = inferred_gains(&input[40_000..], &out[40_000..], 1e-4);
        for g in gains.into_iter().flatten() {
            assert!(
                (g - from_db(range)).abs() <= 1e-6 * from_db(range),
                "range {range}: gain {g}"
            );
        }
    }
}

#[test]
fn gate_gain_moves_no_faster_than_its_one_pole() {
    for (fs, attack_ms, release_ms) in [(48_000.0, 1.0, 20.0), (44_100.0, 0.01, 1.0), (96_000.0, 50.0, 300.0)] {
        let range = -60.0;
        let params = [
            ("thresholdDb", -30.0),
            ("attackMs", attack_ms),
            ("releaseMs", release_ms),
            ("holdMs", 5.0),
            ("rangeDb", range),
        ];
        // A steady 1 kHz sine whose amplitude alternates between loud (-6 dB) and quiet (-50 dB) every 0.5 s.
        let frames = (3.0 * fs) as usize;
        let half = (0.5 * fs) as usize;
        let loud_part = |n: usize| (n / half) % 2 == 0;
        let amp = |n: usize| if loud_part(n) { from_db(-6.0) } else { from_db(-50.0) };
        let input: Vec<f32> = (0..frames)
            .map(|n| (amp(n) * (2.0 * PI * 1000.0 * n as f64 / fs).sin()) as f32)
            .collect();
        let out = run_mono("gate", fs, &params, &input);
        let gains: Vec<Option<f64>> = (0..frames)
            .map(|n| (input[n].abs() as f64 >= 0.3 * amp(n)).then(|| out[n] as f64 / input[n] as f64))
            .collect();
        let closed = from_db(range);
        let (attack, release) = (
            1.0 - (-1.0 / (attack_ms / 1000.0 * fs)).exp(),
            1.0 - (-1.0 / (release_ms / 1000.0 * fs)).exp(),
        );
        let (mut steps, mut closest) = (0, 0.0f64);
        for n in 1..frames {
            let (Some(g), Some(prev)) = (gains[n], gains[n - 1]) else {
                continue;
            };
            // f32 output and input: the inferred gains carry a relative error of a few 1e-8.
            let eps = 1e-6 * g.max(prev);
            let change = g - prev;
            if change.abs() <= eps {
                continue;
            }
            let (target, step) = if change > 0.0 { (1.0, attack) } else { (closed, release) };
            let bound = step * (target - prev).abs();
            assert!(
                change.abs() <= bound + eps,
                "fs {fs} attack {attack_ms} release {release_ms}: frame {n} moves {change:e}, one-pole allows {bound:e}"
            );
            // Where the step is far above the inference error, its size relative to the one-pole's is exact to
            // a few 1e-4: the gate's gain moves by exactly that one-pole.
            if bound > 1e3 * eps {
                steps += 1;
                closest = closest.max(change.abs() / bound);
            }
        }
        // The gain did go through transitions, and at the one-pole's own speed (not slower).
        assert!(steps > 10, "{steps}");
        assert!(
            closest > 0.999 && closest < 1.0 + 1e-3,
            "fastest step is {closest} of the one-pole's"
        );
        println!("gate fs {fs}: {steps} gain steps, the fastest at {closest:.7} of the one-pole's bound");
        // Open at the end of a loud part, closed at the end of a quiet one.
        let late_loud = (half - 40..half).rev().find_map(|n| gains[n]).unwrap();
        assert!((late_loud - 1.0).abs() < 1e-3, "{late_loud}");
        // The quiet part lasts 0.5 s, of which the 20 ms level window and the 5 ms hold keep the gate open.
        let late_quiet = (2 * half - 40..2 * half).rev().find_map(|n| gains[n]).unwrap();
        let want = closed + (1.0 - closed) * (-(0.5 - 0.025) / (release_ms / 1000.0)).exp();
        assert!((late_quiet - want).abs() < 0.01 * want, "{late_quiet} vs {want}");
    }
}

#[test]
fn dynamics_output_does_not_depend_on_block_sizes() {
    let fs = 48_000.0;
    let mut rng = Rng(5);
    let frames = 30_000;
    // Noise bursts of varying loudness, with silences: every detector and gate state is exercised.
    let input: Vec<f32> = (0..frames)
        .map(|n| {
            let level = [0.0, 0.01, 0.3, 3.0][(n / 2500) % 4];
            (level * rng.next()) as f32
        })
        .collect();
    for (id, params) in [
        ("compressor", vec![("thresholdDb", -30.0), ("detector", 1.0)]),
        ("compressor", vec![("thresholdDb", -30.0), ("kneeDb", 10.0)]),
        ("limiter", vec![("lookaheadMs", 3.3)]),
        ("expander", vec![("thresholdDb", -20.0)]),
        ("gate", vec![("thresholdDb", -20.0), ("holdMs", 7.0)]),
    ] {
        let whole = run_mono(id, fs, &params, &input);
        let mut fx = make(id, fs, &params);
        let (mut l, mut r) = (input.clone(), input.clone());
        let mut start = 0;
        for size in [1usize, 7, 64, 333, 4096, 1000].iter().cycle() {
            if start >= frames {
                break;
            }
            let end = (start + size).min(frames);
            fx.process(&mut l[start..end], &mut r[start..end], &[]);
            start = end;
        }
        for n in 0..frames {
            assert!(
                (l[n] - whole[n]).abs() <= 1e-6,
                "{id} frame {n}: {} vs {}",
                l[n],
                whole[n]
            );
        }
    }
}

#[test]
fn dynamics_report_gain_reduction_and_no_tail() {
    let fs = 48_000.0;
    for (id, params, input_db, want_db) in [
        ("compressor", vec![("thresholdDb", -20.0), ("ratio", 4.0)], -8.0, -9.0),
        ("expander", vec![("thresholdDb", -20.0), ("ratio", 2.0)], -30.0, -10.0),
        ("gate", vec![("thresholdDb", -20.0), ("rangeDb", -30.0)], -40.0, -30.0),
        ("limiter", vec![("ceilingDb", -12.0), ("releaseMs", 1000.0)], 0.0, -12.0),
    ] {
        let mut fx = make(id, fs, &params);
        // A square wave at the level: its level is the same on every sample, so the meter reads steadily.
        let amp = from_db(input_db) as f32;
        let mut l: Vec<f32> = (0..48_000)
            .map(|n| if (n / 24) % 2 == 0 { amp } else { -amp })
            .collect();
        let mut r = l.clone();
        fx.process(&mut l, &mut r, &[]);
        let got = fx.gain_reduction_db() as f64;
        assert!((got - want_db).abs() < 0.05, "{id}: meter {got} dB, want {want_db}");
        assert_eq!(fx.tail(), corelogic_dsp::Tail::Samples(0), "{id}");
    }
}

/// The compressor's and expander's level-to-dB and dB-to-gain approximations against `log10` and `powf` in f64,
/// densely (every 0.001 dB) over the detector levels and gains from -200 to +100 dB and at the edges: each stays
/// within its stated bound and within 0.001 dB.
#[test]
fn fast_level_db_and_db_to_gain_stay_within_a_thousandth_of_a_db() {
    use corelogic_dsp::dsp::fast_math::{
        fast_db_to_gain, fast_level_db, DB_TO_GAIN_MAX_ERROR, LEVEL_DB_MAX_ERROR, SILENCE_LEVEL,
    };
    let (mut worst_level, mut worst_gain) = ((0.0f64, 0.0f64), (0.0f64, 0.0f64));
    let steps = 300_000;
    let mut edges = vec![-200.0, 100.0, 0.0, -100.0, -6.0206, 6.0206];
    // The level just above the silence floor, where the approximation starts.
    edges.push(db(f32::from_bits(SILENCE_LEVEL.to_bits() + 1) as f64));
    let grid = (0..=steps).map(|i| -200.0 + 300.0 * i as f64 / steps as f64);
    for x_db in grid.chain(edges) {
        let level = from_db(x_db) as f32;
        if level > SILENCE_LEVEL {
            let err = (fast_level_db(level) as f64 - db(level as f64)).abs();
            if err > worst_level.0 {
                worst_level = (err, x_db);
            }
        }
        let gain_db = x_db as f32;
        let got = fast_db_to_gain(gain_db) as f64;
        let err = db(got / from_db(gain_db as f64)).abs();
        if err > worst_gain.0 {
            worst_gain = (err, x_db);
        }
    }
    println!(
        "fast_level_db: worst {:.2e} dB (at {:.3} dB); fast_db_to_gain: worst {:.2e} dB (at {:.3} dB)",
        worst_level.0, worst_level.1, worst_gain.0, worst_gain.1
    );
    assert!(
        worst_level.0 <= LEVEL_DB_MAX_ERROR as f64 && worst_level.0 <= 0.001,
        "{worst_level:?}"
    );
    assert!(
        worst_gain.0 <= DB_TO_GAIN_MAX_ERROR as f64 && worst_gain.0 <= 0.001,
        "{worst_gain:?}"
    );
}

/// Zero, subnormal and tiny inputs give finite outputs and meters (no NaN or -inf from log(0) reaches them), and
/// silence stays exactly silent.
#[test]
fn dynamics_handle_silence_and_subnormal_levels() {
    let fs = 48_000.0;
    let tiny = [0.0, f32::from_bits(1), -f32::from_bits(1), 1e-39, 1e-30, 1e-12, 1e-8];
    let input: Vec<f32> = (0..9600).map(|n| tiny[(n / 1200) % tiny.len()]).collect();
    for (id, params) in [
        (
            "compressor",
            vec![("thresholdDb", -60.0), ("ratio", 20.0), ("kneeDb", 24.0)],
        ),
        (
            "compressor",
            vec![("thresholdDb", -60.0), ("detector", 1.0), ("makeupDb", 24.0)],
        ),
        ("expander", vec![("thresholdDb", -80.0), ("ratio", 1.0)]),
        (
            "expander",
            vec![("thresholdDb", -80.0), ("ratio", 1.01), ("rangeDb", -90.0)],
        ),
        (
            "expander",
            vec![("thresholdDb", 0.0), ("ratio", 20.0), ("rangeDb", 0.0)],
        ),
    ] {
        let mut fx = make(id, fs, &params);
        let (mut l, mut r) = (input.clone(), input.clone());
        fx.process(&mut l, &mut r, &[]);
        let meter = fx.gain_reduction_db();
        assert!(meter.is_finite() && meter <= 0.0, "{id} {params:?}: meter {meter}");
        for (n, (x, y)) in input.iter().zip(&l).enumerate() {
            assert!(
                y.is_finite() && y.abs() <= 16.0 * x.abs(),
                "{id} {params:?} frame {n}: {x} -> {y}"
            );
            if *x == 0.0 {
                assert_eq!(*y, 0.0, "{id} {params:?} frame {n}");
            }
        }
    }
}

/// Below the knee the compressor skips its gain computer: the output is the input exactly, times the exact
/// makeup factor (10^(makeup/20) rounded once to f32, the sample format).
#[test]
fn compressor_below_the_knee_is_exact_and_makeup_is_an_exact_factor() {
    let fs = 48_000.0;
    let input = sine(fs, 997.0, from_db(-33.0), 24_000);
    for makeup in [0.0, 6.5, -12.0] {
        let params = [("thresholdDb", -20.0), ("kneeDb", 24.0), ("makeupDb", makeup)];
        let out = run_mono("compressor", fs, &params, &input);
        let factor = from_db(makeup) as f32;
        for (n, (x, y)) in input.iter().zip(&out).enumerate() {
            assert_eq!(*y, x * factor, "makeup {makeup} frame {n}");
        }
    }
}

/// A switch of detector mode crossfades to a state copied from the outgoing one. The RMS window runs only in RMS
/// mode, so a switch from peak to RMS starts it from the level the detector read: the gain moves from one steady
/// value to the other without swinging outside them (a window starting empty would read low, and the gain would
/// rise for the first 10 ms). Checked both ways, on a square wave whose RMS reading is 3.01 dB above its peak one,
/// with the fastest attack and release, so that the detector follows what its window reads.
#[test]
fn compressor_detector_switch_moves_between_the_two_steady_gains() {
    let fs = 48_000.0;
    let (t, r, x) = (-40.0, 20.0, -10.0);
    let amp = from_db(x) as f32;
    let frames = 48_000;
    let switch_at = 24_000u64;
    let input: Vec<f32> = (0..frames)
        .map(|n| if (n / 24) % 2 == 0 { amp } else { -amp })
        .collect();
    // Gains (T - read)(1 - 1/R) in dB: the peak detector reads x, the RMS one x + 3.01 dB.
    let peak_gain = (t - x) * (1.0 - 1.0 / r);
    let rms_gain = (t - x - 20.0 * 2f64.sqrt().log10()) * (1.0 - 1.0 / r);
    for (from, to, want_before, want_after) in [(0.0, 1.0, peak_gain, rms_gain), (1.0, 0.0, rms_gain, peak_gain)] {
        let mut fx = make(
            "compressor",
            fs,
            &[
                ("thresholdDb", t),
                ("ratio", r),
                ("attackMs", 0.1),
                ("releaseMs", 5.0),
                ("detector", from),
            ],
        );
        let event = Event::set(fx.spec(), "detector", to, switch_at, Source::User).unwrap();
        let (mut left, mut right) = (input.clone(), input.clone());
        fx.process(&mut left, &mut right, &[event]);
        let gains: Vec<f64> = left.iter().map(|y| db(y.abs() as f64 / amp as f64)).collect();
        let (lo, hi) = (want_before.min(want_after) - 0.05, want_before.max(want_after) + 0.05);
        let before = switch_at as usize;
        assert!(
            (gains[before - 1] - want_before).abs() < 0.05,
            "{from} -> {to}: {}",
            gains[before - 1]
        );
        for (n, g) in gains.iter().enumerate().skip(before) {
            assert!(
                *g >= lo && *g <= hi,
                "{from} -> {to}: gain {g:.3} dB at frame {n}, outside [{lo:.3}, {hi:.3}]"
            );
        }
        assert!(
            (gains[frames - 1] - want_after).abs() < 0.05,
            "{from} -> {to}: {}",
            gains[frames - 1]
        );
        assert!((fx.gain_reduction_db() as f64 - want_after).abs() < 0.05);
    }
}
