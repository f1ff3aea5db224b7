//! The four delays measured on their output against references written here (sharing no code with src):
//! echo positions and amplitudes, ping-pong alternation and width law, multi-tap positions/levels/pans,
//! stereo cross-feed and its cap, tempo sync, boundedness at maximum feedback, and click-free time changes.

mod signals;

use corelogic_dsp::effects::find;
use corelogic_dsp::{create, Effect, Event, Source};
use signals::Noise;
use std::f64::consts::PI;

const FS: f64 = 48_000.0;

/// The fastest the delay time may move, in samples per sample: the rate limit the delays document
/// (`MAX_RATE` in src/dsp/fractional_delay.rs, restated here rather than imported).
const MAX_RATE: f64 = 0.5;

/// Named parameter values.
type Params = &'static [(&'static str, f64)];

fn run(effect: &mut dyn Effect, left: &[f32], right: &[f32], events: &[Event]) -> (Vec<f32>, Vec<f32>) {
    let (mut l, mut r) = (left.to_vec(), right.to_vec());
    let mut start = 0;
    while start < l.len() {
        let end = (start + 1000).min(l.len());
        let first = events.partition_point(|e| e.frame < start as u64);
        let last = events.partition_point(|e| e.frame < end as u64);
        effect.process(&mut l[start..end], &mut r[start..end], &events[first..last]);
        start = end;
    }
    (l, r)
}

fn impulse(len: usize, at: usize, value: f32) -> Vec<f32> {
    let mut x = vec![0.0; len];
    x[at] = value;
    x
}

/// Largest difference between an output and the expected one.
fn max_error(got: &[f32], expected: &[f64]) -> f64 {
    got.iter()
        .zip(expected)
        .map(|(g, e)| (*g as f64 - e).abs())
        .fold(0.0, f64::max)
}

#[test]
fn simple_delay_echoes_sit_at_n_times_the_time_with_mix_times_feedback_powers() {
    let mut worst: f64 = 0.0;
    for (time_ms, feedback, mix) in [(10.0, 0.6, 0.7), (12.5, 0.95, 0.5), (0.0, 0.5, 1.0), (333.0, 0.3, 0.25)] {
        let d = (time_ms * FS / 1000.0) as usize;
        let d = d.max(1); // timeMs 0 reads one sample back (the feedback path's minimum delay)
        let len = 12 * d + 10;
        let params = [("timeMs", time_ms), ("feedback", feedback), ("mix", mix)];
        let mut effect = create("simple-delay", FS, params).unwrap();
        let x = impulse(len, 0, 1.0);
        let (l, r) = run(effect.as_mut(), &x, &x, &[]);
        let mut expected = vec![0.0; len];
        expected[0] = 1.0 - mix;
        for n in 1..=len / d {
            if n * d < len {
                expected[n * d] = mix * feedback.powi(n as i32 - 1);
            }
        }
        worst = worst.max(max_error(&l, &expected)).max(max_error(&r, &expected));
    }
    println!("simple-delay: largest echo error {worst:.2e}");
    assert!(worst <= 1e-6, "{worst}");
}

#[test]
fn ping_pong_alternates_right_then_left_with_feedback_powers_and_the_width_law() {
    let d = 480;
    let len = 10 * d + 5;
    let mut worst: f64 = 0.0;
    for width in [1.0, 0.5, 0.0] {
        let feedback = 0.7;
        let params = [("timeMs", 10.0), ("feedback", feedback), ("width", width), ("mix", 1.0)];
        let mut effect = create("ping-pong-delay", FS, params).unwrap();
        // A left-only impulse: the mono sum M = (L + R)/2 = 0.4.
        let (l, r) = run(effect.as_mut(), &impulse(len, 0, 0.8), &vec![0.0; len], &[]);
        let own = (PI / 4.0 * (1.0 - width)).cos();
        let other = (PI / 4.0 * (1.0 - width)).sin();
        let (mut el, mut er) = (vec![0.0; len], vec![0.0; len]);
        for n in (1..=len / d).filter(|n| n * d < len) {
            let echo = 0.4 * feedback.powi(n as i32 - 1);
            let (side, far) = if n % 2 == 1 {
                (&mut er, &mut el)
            } else {
                (&mut el, &mut er)
            };
            side[n * d] = own * echo;
            far[n * d] = other * echo;
        }
        let e = max_error(&l, &el).max(max_error(&r, &er));
        println!("ping-pong width {width}: largest echo error {e:.2e} (own side {own:.4}, other {other:.4})");
        worst = worst.max(e);
    }
    assert!(worst <= 1e-6, "{worst}");
}

/// The StereoPannerNode mono law, from the Web Audio API text.
fn mono_pan(pan: f64) -> (f64, f64) {
    let x = (pan + 1.0) / 2.0;
    ((x * PI / 2.0).cos(), (x * PI / 2.0).sin())
}

#[test]
fn multi_tap_taps_sit_at_k_spacing_with_their_levels_pans_and_the_last_tap_feeding_back() {
    let spacing = 480; // 10 ms
    let taps = 3;
    let levels = [0.9, 0.5, 0.3];
    let (feedback, spread) = (0.5, 0.6);
    let mut params = vec![
        ("taps", taps as f64),
        ("spacingMs", 10.0),
        ("feedback", feedback),
        ("spread", spread),
        ("mix", 1.0),
    ];
    let names = ["tap1Level", "tap2Level", "tap3Level"];
    for (name, level) in names.iter().zip(levels) {
        params.push((name, level));
    }
    let mut effect = create("multi-tap-delay", FS, params).unwrap();
    let len = 5 * taps * spacing + 10;
    let (l, r) = run(effect.as_mut(), &impulse(len, 0, 1.0), &impulse(len, 0, 1.0), &[]);
    // The line: v[t] = M[t] + feedback * v[t - taps * spacing] (the last tap, before its level, fed back).
    let mut line = vec![0.0; len];
    for t in 0..len {
        line[t] = if t == 0 { 1.0 } else { 0.0 };
        if t >= taps * spacing {
            line[t] += feedback * line[t - taps * spacing];
        }
    }
    let (mut el, mut er) = (vec![0.0; len], vec![0.0; len]);
    for k in 1..=taps {
        let pan = if k % 2 == 1 { -spread } else { spread };
        let (gl, gr) = mono_pan(pan);
        for t in k * spacing..len {
            el[t] += levels[k - 1] * gl * line[t - k * spacing];
            er[t] += levels[k - 1] * gr * line[t - k * spacing];
        }
    }
    let e = max_error(&l, &el).max(max_error(&r, &er));
    println!(
        "multi-tap: largest error {e:.2e}; tap 1 at frame {spacing}: L {:.4} R {:.4}",
        l[spacing], r[spacing]
    );
    assert!(e <= 1e-6, "{e}");
    assert!(
        l[spacing] > r[spacing] && r[2 * spacing] > l[2 * spacing],
        "odd taps left, even right"
    );
}

/// Independent integer-delay reference of the stereo delay's loop.
fn stereo_reference(x: &[f32], dl: usize, dr: usize, fb: f64, cross: f64) -> (Vec<f64>, Vec<f64>) {
    let len = x.len();
    let (mut wl, mut wr) = (vec![0.0; len], vec![0.0; len]);
    let (mut yl, mut yr) = (vec![0.0; len], vec![0.0; len]);
    for t in 0..len {
        yl[t] = if t >= dl { wl[t - dl] } else { 0.0 };
        yr[t] = if t >= dr { wr[t - dr] } else { 0.0 };
        wl[t] = x[t] as f64 + fb * yl[t] + cross * yr[t];
        wr[t] = fb * yr[t] + cross * yl[t];
    }
    (yl, yr)
}

#[test]
fn stereo_delay_cross_feeds_and_caps_the_loop_gain_at_0_95() {
    let (dl, dr) = (240, 336);
    let len = 8000;
    let x = impulse(len, 0, 1.0);
    for (fb, cross) in [(0.3, 0.4), (0.8, 0.6), (0.95, 0.95)] {
        let params = [
            ("timeLeftMs", 5.0),
            ("timeRightMs", 7.0),
            ("feedback", fb),
            ("crossFeedback", cross),
            ("mix", 1.0),
        ];
        let mut effect = create("stereo-delay", FS, params).unwrap();
        let (l, r) = run(effect.as_mut(), &x, &vec![0.0; len], &[]);
        let scale = if fb + cross > 0.95 { 0.95 / (fb + cross) } else { 1.0 };
        let (el, er) = stereo_reference(&x, dl, dr, fb * scale, cross * scale);
        let e = max_error(&l, &el).max(max_error(&r, &er));
        let (ul, _) = stereo_reference(&x, dl, dr, fb, cross);
        let uncapped = max_error(&l, &ul);
        println!("stereo-delay fb {fb} cross {cross}: error {e:.2e} vs the capped loop, {uncapped:.2e} vs uncapped");
        assert!(e <= 1e-6, "{e}");
        // The first cross-fed echo: left at dl, then into the right line, out at dl + dr.
        assert!((r[dl + dr] as f64 - cross * scale).abs() <= 1e-6);
        if scale < 1.0 {
            assert!(uncapped > 1e-3, "the cap changed nothing");
        }
    }
}

/// First frame at which |x| exceeds a threshold.
fn first_echo(x: &[f32], from: usize) -> usize {
    x.iter()
        .skip(from)
        .position(|v| v.abs() > 1e-3)
        .map(|p| p + from)
        .unwrap_or(usize::MAX)
}

#[test]
fn tempo_synced_times_follow_the_tempo_set_before_and_during_playback() {
    // (bpm, noteValue, expected delay in seconds): 1/4, 1/8, 1/16, dotted 1/8, triplet 1/8, 1/1 clamped to 5 s.
    let cases = [
        (120.0, 2.0, 0.5),
        (90.0, 2.0, 2.0 / 3.0),
        (150.0, 4.0, 0.1),
        (120.0, 5.0, 0.375),
        (120.0, 6.0, 1.0 / 6.0),
        (60.0, 3.0, 0.5),
        (40.0, 0.0, 5.0),
    ];
    for (bpm, note, seconds) in cases {
        for id in ["simple-delay", "ping-pong-delay", "stereo-delay"] {
            let params = [
                ("syncToTempo", 1.0),
                ("noteValue", note),
                ("timeMs", 10.0),
                ("timeLeftMs", 10.0),
            ]
            .into_iter()
            .filter(|(n, _)| find(id).unwrap().spec.index_of(n).is_some());
            let mut effect = create(id, FS, params).unwrap();
            effect.set_tempo_immediately(bpm);
            let expected = (seconds * FS).round() as usize;
            let len = expected + 100;
            let (l, r) = run(effect.as_mut(), &impulse(len, 0, 1.0), &impulse(len, 0, 1.0), &[]);
            let wet = if id == "ping-pong-delay" { &r } else { &l };
            assert_eq!(first_echo(wet, 1), expected, "{id} at {bpm} BPM, note {note}");
        }
    }
    // The stereo delay's right side follows noteValueRight (default 1/8).
    let mut effect = create("stereo-delay", FS, [("syncToTempo", 1.0)]).unwrap();
    effect.set_tempo_immediately(100.0);
    let (_, r) = run(effect.as_mut(), &vec![0.0; 20_000], &impulse(20_000, 0, 1.0), &[]);
    assert_eq!(first_echo(&r, 1), 14_400, "1/8 at 100 BPM");
    // Multi-tap: the spacing is the note, shortened so that the last of 8 taps stays within 5 s.
    let params = [
        ("syncToTempo", 1.0),
        ("noteValue", 0.0),
        ("taps", 8.0),
        ("feedback", 0.0),
    ];
    let mut effect = create("multi-tap-delay", FS, params).unwrap();
    effect.set_tempo_immediately(60.0); // a whole note is 4 s; 8 x 4 s > 5 s, so spacing = 5 s / 8
    let len = 5 * 48_000 + 100;
    let (l, _) = run(effect.as_mut(), &impulse(len, 0, 1.0), &impulse(len, 0, 1.0), &[]);
    assert_eq!(first_echo(&l, 1), 30_000);
    assert_eq!(first_echo(&l, 30_001), 60_000);
    assert!(l[240_000].abs() > 1e-3, "the 8th tap at 5 s");
    // A tempo event during playback: the time glides to the new tempo's; once settled, echoes sit there.
    let mut effect = create("simple-delay", FS, [("syncToTempo", 1.0), ("feedback", 0.0)]).unwrap();
    let len = 200_000;
    let events = [Event::tempo(150.0, 1234)];
    let (l, _) = run(
        effect.as_mut(),
        &impulse(len, 120_000, 1.0),
        &impulse(len, 120_000, 1.0),
        &events,
    );
    assert_eq!(first_echo(&l, 120_001), 120_000 + 19_200, "1/4 at 150 BPM");
    println!("tempo sync: every synced echo at round(note length x fs), via set_tempo_immediately and Event::tempo");
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// The bound: each loop has gain at most 0.95 at every frequency (line and linear interpolation <= 1,
/// Butterworth filters <= 1, feedback <= 0.95; stereo: feedback + crossFeedback capped at 0.95; ping-pong: two
/// lines each <= 0.95), so by the small-gain theorem a line's signal is at most 1 / (1 - 0.95) = 20 times the
/// input in energy (the ping-pong's two lines together: (1 + 0.95) / (1 - 0.95^2) = 20 too). A delay's output
/// RMS is therefore at most 20 x (sum of tap levels, 1 for single-output lines) x the input's RMS over any span
/// starting from silence. Full-scale noise for 60 s at 0.95 feedback with the filters at every pair of extremes.
#[test]
fn output_stays_within_the_small_gain_bound_for_60_s_at_maximum_feedback() {
    let len = 60 * 48_000;
    let mut noise = Noise(42);
    let input: Vec<f32> = (0..len).map(|_| noise.next()).collect();
    let input_rms = rms(&input);
    let cases: [(&str, Params, f64); 4] = [
        ("simple-delay", &[("timeMs", 3.0)], 1.0),
        ("ping-pong-delay", &[("timeMs", 3.0)], 1.0),
        (
            "stereo-delay",
            &[("timeLeftMs", 3.0), ("timeRightMs", 2.0), ("crossFeedback", 0.95)],
            1.0,
        ),
        (
            "multi-tap-delay",
            &[
                ("taps", 2.0),
                ("spacingMs", 10.0),
                ("tap1Level", 1.0),
                ("tap2Level", 1.0),
            ],
            2.0,
        ),
    ];
    for (id, extra, levels) in cases {
        for (low, high) in [(20.0, 20_000.0), (2000.0, 1000.0), (2000.0, 20_000.0), (20.0, 1000.0)] {
            let mut params = vec![("feedback", 0.95), ("mix", 1.0), ("lowCutHz", low), ("highCutHz", high)];
            params.extend_from_slice(extra);
            let mut effect = create(id, FS, params).unwrap();
            let (l, r) = run(effect.as_mut(), &input, &input, &[]);
            let out_rms = rms(&l).max(rms(&r));
            let last_second = rms(&l[len - 48_000..]).max(rms(&r[len - 48_000..]));
            let peak = l.iter().chain(&r).fold(0.0f32, |m, x| m.max(x.abs()));
            let bound = 20.0 * levels * input_rms;
            println!(
                "{id} cuts {low}/{high} Hz: output RMS {out_rms:.3} (last second {last_second:.3}), peak {peak:.2}, bound {bound:.2}"
            );
            assert!(out_rms <= bound && last_second <= bound, "{id}: {out_rms}");
            assert!(peak.is_finite());
        }
    }
}

/// A 100 Hz sine through each delay (feedback 0, mix 1) while the time moves by user and automation changes:
/// the read position advances 1 - (change of delay) per sample, between 1 - r and 1 + r, and linear
/// interpolation of the input never changes faster than the input's own largest step per sample, so
/// |y[n] - y[n-1]| <= (1 + r) max |x[n] - x[n-1]| with r = MAX_RATE = 0.5 samples per sample.
#[test]
fn moving_the_delay_time_never_clicks() {
    let len = 240_000;
    let input: Vec<f32> = (0..len)
        .map(|n| (0.5 * (2.0 * PI * 100.0 * n as f64 / FS).sin()) as f32)
        .collect();
    let in_step = input.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max) as f64;
    let cases: [(&str, &str, Params); 4] = [
        ("simple-delay", "timeMs", &[]),
        ("ping-pong-delay", "timeMs", &[]),
        ("stereo-delay", "timeLeftMs", &[]),
        (
            "multi-tap-delay",
            "spacingMs",
            &[("taps", 1.0), ("tap1Level", 1.0), ("spread", 1.0)],
        ),
    ];
    for (id, time, extra) in cases {
        let spec = find(id).unwrap().spec;
        let mut params = vec![("feedback", 0.0), ("mix", 1.0), (time, 100.0)];
        params.extend_from_slice(extra);
        let mut effect = create(id, FS, params).unwrap();
        let events = [
            Event::set(spec, time, 30.0, 30_011, Source::User).unwrap(),
            Event::set(spec, time, 400.0, 90_007, Source::Automation).unwrap(),
            Event::set(spec, time, 10.0, 150_003, Source::Automation).unwrap(),
        ];
        let (l, r) = run(effect.as_mut(), &input, &input, &events);
        let out_step = l
            .windows(2)
            .chain(r.windows(2))
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max) as f64;
        let ratio = out_step / in_step;
        println!(
            "{id}: largest output step / largest input step = {ratio:.4} (bound 1 + r = {})",
            1.0 + MAX_RATE
        );
        assert!(ratio <= 1.0 + MAX_RATE + 1e-4, "{id}: {ratio}");
        // The time did move: the output at the end follows the last setting, not the first.
        assert!(ratio > 0.9);
    }
}
