//! The render side of the mixing engine against independent computations written here: fader, both Web Audio
//! pan laws, width, phase flip, input gain, mute/solo, sends (pre and post fader) into buses with inserts,
//! bus-to-bus routing, the master fader, automation curves on track and insert parameters, latency
//! compensation, input sanitising, track sleeping and a quantum that never allocates.

mod common;

use common::engine::{assert_within, db_to_gain, engine, gain_from_key, key_signal, noise, peak, steady_input, SR};
use corelogic_dsp::effects::{create, Action, Event, Source};
use corelogic_dsp::engine::control::project::{parse_project_value, ProjectPlan, StripRef};
use corelogic_dsp::engine::{native_clock_s, Command, Engine, MixParam, TrackInput, SPECTRUM_BINS};
use serde_json::{json, Value};
use std::f64::consts::{FRAC_PI_2, TAU};
use std::path::Path;

const N: usize = 4_800;

fn plan(value: Value) -> ProjectPlan {
    parse_project_value(&value, Path::new(".")).expect("a valid project")
}

/// A track's test input.
#[derive(Clone)]
enum Input {
    Mono(Vec<f32>),
    Stereo(Vec<f32>, Vec<f32>),
}

impl Input {
    fn left(&self) -> &[f32] {
        match self {
            Input::Mono(m) => m,
            Input::Stereo(l, _) => l,
        }
    }
    fn right(&self) -> &[f32] {
        match self {
            Input::Mono(m) => m,
            Input::Stereo(_, r) => r,
        }
    }
}

fn stereo_noise(seed: u64, amplitude: f64) -> Input {
    Input::Stereo(noise(seed, N, amplitude), noise(seed + 100, N, amplitude))
}

/// Renders `frames` timeline frames offline: runs L frames longer (zeros fed after the inputs) in 128-frame
/// quanta and drops the first L, as a timeline-aligned render does.
fn render(engine: &mut Engine, inputs: &[Input], frames: usize) -> (Vec<f32>, Vec<f32>) {
    let latency = engine.latency();
    let total = frames + latency;
    let padded: Vec<(Vec<f32>, Vec<f32>)> = inputs
        .iter()
        .map(|i| {
            let mut l = i.left().to_vec();
            let mut r = i.right().to_vec();
            l.resize(total, 0.0);
            r.resize(total, 0.0);
            (l, r)
        })
        .collect();
    let (mut out_l, mut out_r) = (vec![0.0f32; total], vec![0.0f32; total]);
    let mut at = 0;
    while at < total {
        let n = (total - at).min(128);
        let blocks: Vec<TrackInput> = padded
            .iter()
            .zip(inputs)
            .map(|((l, r), i)| match i {
                Input::Mono(_) => TrackInput::Mono(&l[at..at + n]),
                Input::Stereo(..) => TrackInput::Stereo(&l[at..at + n], &r[at..at + n]),
            })
            .collect();
        engine.render(n, &blocks, &mut out_l[at..at + n], &mut out_r[at..at + n]);
        at += n;
    }
    (out_l[latency..].to_vec(), out_r[latency..].to_vec())
}

/// Asserts |got - want| <= 1e-5 x the peak of `want` (and at least 1e-9 absolute) at every sample.
fn assert_matches(got: &[f32], want: &[f64], what: &str) {
    assert_within(got, want, (1e-5 * peak(want)).max(1e-9), what);
}

/// The Web Audio API's StereoPannerNode (W3C Web Audio API, "StereoPannerNode" panning algorithm), written
/// here from the specification: mono input x = (pan + 1) / 2, L = in cos(x pi/2), R = in sin(x pi/2); stereo
/// input with pan <= 0: x = pan + 1, L = inL + inR cos(x pi/2), R = inR sin(x pi/2); pan > 0: x = pan,
/// L = inL cos(x pi/2), R = inR + inL sin(x pi/2).
fn web_audio_pan(pan: f64, mono: bool, l: f64, r: f64) -> (f64, f64) {
    if mono {
        let x = (pan + 1.0) / 2.0;
        return (l * (x * FRAC_PI_2).cos(), r * (x * FRAC_PI_2).sin());
    }
    if pan <= 0.0 {
        let x = pan + 1.0;
        (l + r * (x * FRAC_PI_2).cos(), r * (x * FRAC_PI_2).sin())
    } else {
        let x = pan;
        (l * (x * FRAC_PI_2).cos(), r + l * (x * FRAC_PI_2).sin())
    }
}

fn track(id: &str, extra: Value) -> Value {
    let mut t = json!({"id": id, "type": "audio"});
    if let (Some(t), Some(extra)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            t.insert(k.clone(), v.clone());
        }
    }
    t
}

#[test]
fn fader_and_stereo_pan_follow_the_web_audio_stereo_law() {
    for pan in [-0.7, -0.2, 0.0, 0.35, 1.0] {
        let mut e = engine(json!({"tracks": [track("t1", json!({"volume": -7.5, "pan": pan}))]}));
        let input = stereo_noise(1, 0.5);
        let (l, r) = render(&mut e, std::slice::from_ref(&input), N);
        let (mut want_l, mut want_r) = (Vec::new(), Vec::new());
        for n in 0..N {
            let g = db_to_gain(-7.5);
            let (x, y) = web_audio_pan(pan, false, f64::from(input.left()[n]), f64::from(input.right()[n]));
            want_l.push(x * g);
            want_r.push(y * g);
        }
        assert_matches(&l, &want_l, &format!("left at pan {pan}"));
        assert_matches(&r, &want_r, &format!("right at pan {pan}"));
    }
}

#[test]
fn a_mono_source_pans_with_the_mono_law() {
    for pan in [-1.0, -0.4, 0.0, 0.6] {
        let mut e = engine(json!({"tracks": [track("t1", json!({"pan": pan, "volume": 3}))]}));
        e.apply(Command::MonoSource { track: 0, mono: true }).unwrap();
        let input = Input::Mono(noise(2, N, 0.5));
        let (l, r) = render(&mut e, std::slice::from_ref(&input), N);
        let (want_l, want_r): (Vec<f64>, Vec<f64>) = input
            .left()
            .iter()
            .map(|&x| {
                let (a, b) = web_audio_pan(pan, true, f64::from(x), f64::from(x));
                (a * db_to_gain(3.0), b * db_to_gain(3.0))
            })
            .unzip();
        assert_matches(&l, &want_l, &format!("left at pan {pan}"));
        assert_matches(&r, &want_r, &format!("right at pan {pan}"));
    }
}

#[test]
fn the_fader_floor_is_silence() {
    let mut e = engine(json!({"tracks": [track("t1", json!({"volume": -60}))]}));
    let (l, r) = render(&mut e, &[stereo_noise(3, 0.9)], N);
    assert!(l.iter().chain(&r).all(|&x| x == 0.0));
}

#[test]
fn input_gain_phase_flip_and_width_in_order() {
    let mut e =
        engine(json!({"tracks": [track("t1", json!({"inputGain": -4, "phaseFlip": true, "stereoWidth": 150}))]}));
    let input = stereo_noise(4, 0.4);
    let (l, r) = render(&mut e, std::slice::from_ref(&input), N);
    let (mut want_l, mut want_r) = (Vec::new(), Vec::new());
    for n in 0..N {
        let (x, y) = (
            -f64::from(input.left()[n]) * db_to_gain(-4.0),
            -f64::from(input.right()[n]) * db_to_gain(-4.0),
        );
        let (m, s) = ((x + y) / 2.0, (x - y) / 2.0 * 1.5);
        want_l.push(m + s);
        want_r.push(m - s);
    }
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn mute_and_solo_silence_tracks_and_their_sends_but_not_buses() {
    // t1 soloed and sending to the bus; t2 not soloed; t3 soloed but muted (mute wins).
    let project = json!({
        "tracks": [
            track("t1", json!({"soloed": true, "sends": [{"id": "s", "destination": "bus", "level": -6}]})),
            track("t2", json!({"sends": [{"id": "s", "destination": "bus", "level": 0}]})),
            track("t3", json!({"soloed": true, "muted": true, "sends": [{"id": "s", "destination": "bus", "level": 0, "prePost": "pre"}]})),
        ],
        "buses": [{"id": "bus", "volume": -3}]
    });
    let mut e = engine(project);
    let inputs = [stereo_noise(5, 0.3), stereo_noise(6, 0.3), stereo_noise(7, 0.3)];
    let (l, r) = render(&mut e, &inputs, N);
    let gain = 1.0 + db_to_gain(-6.0) * db_to_gain(-3.0);
    let want_l: Vec<f64> = inputs[0].left().iter().map(|&x| f64::from(x) * gain).collect();
    let want_r: Vec<f64> = inputs[0].right().iter().map(|&x| f64::from(x) * gain).collect();
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn a_post_fader_send_feeds_a_bus_through_its_insert() {
    let project = json!({
        "tracks": [track("t1", json!({"volume": -2, "sends": [{"id": "s", "destination": "fx", "level": -9}]}))],
        "buses": [{"id": "fx", "volume": -1, "pan": 0.5,
                   "inserts": [{"id": "hp", "effect": "high-low-pass", "parameters": {"mode": 1, "frequencyHz": 800}}]}]
    });
    let mut e = engine(project);
    let input = stereo_noise(8, 0.5);
    let (l, r) = render(&mut e, std::slice::from_ref(&input), N);
    // The bus's insert, run here on its own over the send's signal.
    let mut hp = create("high-low-pass", SR, [("mode", 1.0), ("frequencyHz", 800.0)]).unwrap();
    let send = db_to_gain(-2.0) * db_to_gain(-9.0);
    let mut sl: Vec<f32> = input.left().iter().map(|&x| (f64::from(x) * send) as f32).collect();
    let mut sr: Vec<f32> = input.right().iter().map(|&x| (f64::from(x) * send) as f32).collect();
    hp.process(&mut sl, &mut sr, &[]);
    let (mut want_l, mut want_r) = (Vec::new(), Vec::new());
    for n in 0..N {
        let (bl, br) = web_audio_pan(
            0.5,
            false,
            f64::from(sl[n]) * db_to_gain(-1.0),
            f64::from(sr[n]) * db_to_gain(-1.0),
        );
        want_l.push(f64::from(input.left()[n]) * db_to_gain(-2.0) + bl);
        want_r.push(f64::from(input.right()[n]) * db_to_gain(-2.0) + br);
    }
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn a_pre_fader_send_ignores_the_fader_width_and_pan() {
    let project = json!({
        "tracks": [track("t1", json!({"volume": -60, "pan": 1, "stereoWidth": 0,
                                      "sends": [{"id": "s", "destination": "b", "level": -5, "prePost": "pre"}]}))],
        "buses": [{"id": "b"}]
    });
    let mut e = engine(project);
    let input = stereo_noise(9, 0.5);
    let (l, r) = render(&mut e, std::slice::from_ref(&input), N);
    let want_l: Vec<f64> = input.left().iter().map(|&x| f64::from(x) * db_to_gain(-5.0)).collect();
    let want_r: Vec<f64> = input.right().iter().map(|&x| f64::from(x) * db_to_gain(-5.0)).collect();
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn bus_to_bus_routing_and_the_master_fader() {
    let project = json!({
        "tracks": [track("t1", json!({"routing": "a"})), track("t2", json!({"routing": "b", "volume": -3}))],
        "buses": [{"id": "a", "volume": -4, "routing": "b"}, {"id": "b", "volume": 2, "pan": -0.5}],
        "master": {"volume": -1.5}
    });
    let mut e = engine(project);
    let inputs = [stereo_noise(10, 0.2), stereo_noise(11, 0.2)];
    let (l, r) = render(&mut e, &inputs, N);
    let (mut want_l, mut want_r) = (Vec::new(), Vec::new());
    for n in 0..N {
        let into_b_l =
            f64::from(inputs[0].left()[n]) * db_to_gain(-4.0) + f64::from(inputs[1].left()[n]) * db_to_gain(-3.0);
        let into_b_r =
            f64::from(inputs[0].right()[n]) * db_to_gain(-4.0) + f64::from(inputs[1].right()[n]) * db_to_gain(-3.0);
        let (x, y) = web_audio_pan(-0.5, false, into_b_l * db_to_gain(2.0), into_b_r * db_to_gain(2.0));
        want_l.push(x * db_to_gain(-1.5));
        want_r.push(y * db_to_gain(-1.5));
    }
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

/// docs/engine.md's five curve shapes, written here from the specification.
fn curve_shape(curve: &str, u: f64) -> f64 {
    match curve {
        "linear" => u,
        "exponential" => u * u,
        "logarithmic" => 1.0 - (1.0 - u) * (1.0 - u),
        "smooth" => 3.0 * u * u - 2.0 * u * u * u,
        _ => 0.0,
    }
}

#[test]
fn each_curve_type_on_a_track_volume_is_followed_per_sample() {
    for curve in ["linear", "exponential", "logarithmic", "smooth", "step"] {
        // Points at 0.01 s (frame 480) and 0.07 s (frame 3360): -20 dB to 0 dB; the static volume (-6) is
        // overridden from the first sample.
        let project = json!({
            "tracks": [track("t1", json!({"volume": -6}))],
            "automation": [{"trackId": "t1", "parameter": "volume", "points": [
                {"time": 0.01, "value": -20, "curveType": curve},
                {"time": 0.07, "value": 0, "curveType": "linear"}]}]
        });
        let mut e = engine(project);
        let input = stereo_noise(12, 0.5);
        let (l, _) = render(&mut e, std::slice::from_ref(&input), N);
        let want: Vec<f64> = (0..N)
            .map(|n| {
                let v = if n < 480 {
                    -20.0
                } else if n >= 3360 {
                    0.0
                } else {
                    -20.0 + 20.0 * curve_shape(curve, (n - 480) as f64 / 2880.0)
                };
                f64::from(input.left()[n]) * db_to_gain(v)
            })
            .collect();
        assert_matches(&l, &want, curve);
    }
}

#[test]
fn send_and_pan_automation_follow_their_curves() {
    let project = json!({
        "tracks": [track("t1", json!({"volume": -60,
                                       "sends": [{"id": "s", "destination": "b", "level": -6, "prePost": "pre"}]}))],
        "buses": [{"id": "b"}],
        "automation": [{"trackId": "t1", "parameter": "sends.s.level", "points": [
            {"time": 0, "value": -30, "curveType": "smooth"}, {"time": 0.05, "value": -3, "curveType": "step"},
            {"time": 0.08, "value": -12, "curveType": "linear"}]},
            {"trackId": "b", "parameter": "pan", "points": [{"time": 0, "value": -1}, {"time": 0.1, "value": 1}]}]
    });
    let mut e = engine(project);
    let input = stereo_noise(13, 0.5);
    let (l, r) = render(&mut e, std::slice::from_ref(&input), N);
    let (mut want_l, mut want_r) = (Vec::new(), Vec::new());
    for n in 0..N {
        let level = if n < 2400 {
            -30.0 + 27.0 * curve_shape("smooth", n as f64 / 2400.0)
        } else if n < 3840 {
            -3.0
        } else {
            -12.0
        };
        let pan = -1.0 + 2.0 * n as f64 / 4800.0;
        let g = db_to_gain(level);
        let (x, y) = web_audio_pan(
            pan,
            false,
            f64::from(input.left()[n]) * g,
            f64::from(input.right()[n]) * g,
        );
        want_l.push(x);
        want_r.push(y);
    }
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn insert_automation_holds_on_the_16_frame_grid_and_steps_on_its_frame() {
    // The EQ's bands are at 0 dB (identity): its output gain is the whole effect. A linear ramp from -12 to
    // 0 dB over 0..0.04 s, then a step down to -6 dB at 0.06 s (frame 2880, on the grid) and a step at
    // frame 3367 (off the grid: 0.0701458 s rounds to 3367), which must switch on its own frame.
    let project = json!({
        "tracks": [track("t1", json!({"inserts": [{"id": "eq", "effect": "parametric-eq"}]}))],
        "automation": [{"trackId": "t1", "parameter": "inserts.eq.outputGainDb", "points": [
            {"time": 0, "value": -12, "curveType": "linear"},
            {"time": 0.04, "value": 0, "curveType": "step"},
            {"time": 0.06, "value": -6, "curveType": "step"},
            {"time": 3367.0 / 48000.0, "value": 3, "curveType": "step"}]}]
    });
    let mut e = engine(project);
    let input = stereo_noise(14, 0.3);
    let (l, _) = render(&mut e, std::slice::from_ref(&input), N);
    let want: Vec<f64> = (0..N)
        .map(|n| {
            let grid = n - n % 16;
            let v = if n >= 3367 {
                3.0
            } else if n >= 2880 {
                -6.0
            } else if grid >= 1920 {
                0.0
            } else {
                -12.0 + 12.0 * grid as f64 / 1920.0
            };
            f64::from(input.left()[n]) * db_to_gain(v)
        })
        .collect();
    assert_matches(&l, &want, "output gain automation");
}

#[test]
fn latency_compensation_keeps_parallel_paths_aligned_and_the_render_on_the_timeline() {
    // Two identical tracks, one through a limiter that never engages (peak 0.1, ceiling -1 dB): the master
    // holds exactly twice one track, on the timeline frames of the input.
    let project = json!({
        "tracks": [track("plain", json!({})),
                   track("limited", json!({"inserts": [{"id": "lim", "effect": "limiter"}]}))]
    });
    let mut e = engine(project);
    assert_eq!(e.latency(), 240, "the limiter's 5 ms lookahead at 48 kHz");
    let input = stereo_noise(15, 0.1);
    let (l, r) = render(&mut e, &[input.clone(), input.clone()], N);
    let want_l: Vec<f64> = input.left().iter().map(|&x| 2.0 * f64::from(x)).collect();
    let want_r: Vec<f64> = input.right().iter().map(|&x| 2.0 * f64::from(x)).collect();
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn latency_compensation_aligns_a_send_bus_and_automation_after_the_limiter() {
    // The limiter sits on the track; a post-fader send reaches a bus, the track's output reaches the master
    // directly; the volume automation after the limiter lands on its own timeline frame.
    let project = json!({
        "tracks": [track("t", json!({"inserts": [{"id": "lim", "effect": "limiter"}],
                                     "sends": [{"id": "s", "destination": "b", "level": -6}]}))],
        "buses": [{"id": "b", "volume": -2}],
        "automation": [{"trackId": "t", "parameter": "volume", "points": [
            {"time": 0.05, "value": 0, "curveType": "step"}, {"time": 0.05, "value": 0, "curveType": "step"},
            {"time": 0.06, "value": -10, "curveType": "step"}]}]
    });
    let mut e = engine(project);
    let input = stereo_noise(16, 0.1);
    let (l, _) = render(&mut e, std::slice::from_ref(&input), N);
    let want: Vec<f64> = (0..N)
        .map(|n| {
            let v = if n < 2880 { 0.0 } else { -10.0 };
            f64::from(input.left()[n]) * db_to_gain(v) * (1.0 + db_to_gain(-6.0) * db_to_gain(-2.0))
        })
        .collect();
    assert_matches(&l, &want, "left");
}

const KEY_FRAMES: usize = 19_200;

fn duck_parameters() -> Value {
    json!({"thresholdDb": -30, "ratio": 8, "attackMs": 1, "releaseMs": 50})
}

/// The gain a standalone, unkeyed compressor with the duck's parameters applies when the key is its input.
fn duck_gain(key: &[f32]) -> Vec<f64> {
    let params = [
        ("thresholdDb", -30.0),
        ("ratio", 8.0),
        ("attackMs", 1.0),
        ("releaseMs", 50.0),
    ];
    gain_from_key("compressor", SR, &params, key)
}

/// Track "main" with `main_inserts`, track "key" (with a limiter that never engages when `limiter`) routed to a
/// muted bus, so the master holds the main track alone.
fn keyed_project(main_inserts: Value, limiter: bool) -> Value {
    let key_inserts = if limiter {
        json!([{"id": "lim", "effect": "limiter"}])
    } else {
        json!([])
    };
    json!({"tracks": [track("main", json!({"inserts": main_inserts})),
                      track("key", json!({"routing": "ghost", "inserts": key_inserts}))],
           "buses": [{"id": "ghost", "muted": true}]})
}

fn duck() -> Value {
    json!({"id": "duck", "effect": "compressor", "sidechain": "key", "parameters": duck_parameters()})
}

/// The main track's input (a steady sine per side, above the duck's threshold) and the key.
fn keyed_inputs() -> (Input, Input) {
    let (l, r) = steady_input(KEY_FRAMES, SR);
    (Input::Stereo(l, r), Input::Mono(key_signal(KEY_FRAMES)))
}

/// The main input times the gain the key implies, sample by sample on the timeline.
fn assert_ducked_by_the_key(l: &[f32], r: &[f32], main: &Input, key: &Input, what: &str) {
    let gain = duck_gain(key.left());
    let want_l: Vec<f64> = main.left().iter().zip(&gain).map(|(x, g)| f64::from(*x) * g).collect();
    let want_r: Vec<f64> = main.right().iter().zip(&gain).map(|(x, g)| f64::from(*x) * g).collect();
    assert_matches(l, &want_l, &format!("{what}: left"));
    assert_matches(r, &want_r, &format!("{what}: right"));
}

#[test]
fn a_sidechained_compressor_follows_its_key_aligned_through_a_limiter_on_the_key_track() {
    let (main, key) = keyed_inputs();
    // A limiter on the key track delays the key by its 5 ms lookahead (the main track's input waits as long);
    // a limiter before the compressor on the main track delays the main signal (the key's edge waits).
    let limiter = json!({"id": "lim", "effect": "limiter"});
    for (main_inserts, key_limiter) in [
        (json!([duck()]), false),
        (json!([duck()]), true),
        (json!([limiter, duck()]), false),
    ] {
        let what = format!("{main_inserts} with a key limiter: {key_limiter}");
        let mut e = engine(keyed_project(main_inserts, key_limiter));
        assert_eq!(
            e.latency() == 240,
            key_limiter || e.plan().tracks[0].inserts.len() == 2,
            "{what}"
        );
        let (l, r) = render(&mut e, &[main.clone(), key.clone()], KEY_FRAMES);
        assert_ducked_by_the_key(&l, &r, &main, &key, &what);
    }
    // The gain follows the key, not the main input: the bursts duck the main track by more than 20 dB.
    let gain = duck_gain(key.left());
    assert!(
        gain[9_000] < 0.1 && gain[3_000] > 0.99,
        "{} {}",
        gain[9_000],
        gain[3_000]
    );
}

#[test]
fn a_muted_key_source_keys_silence() {
    // docs/engine.md: the key is the source's output, after its mute; a silent key leaves the compressor at
    // unity gain (its threshold is far above silence).
    let (main, key) = keyed_inputs();
    let mut project = keyed_project(json!([duck()]), true);
    project["tracks"][1]["muted"] = json!(true);
    let mut e = engine(project);
    let (l, r) = render(&mut e, &[main.clone(), key], KEY_FRAMES);
    let want_l: Vec<f64> = main.left().iter().map(|x| f64::from(*x)).collect();
    let want_r: Vec<f64> = main.right().iter().map(|x| f64::from(*x)).collect();
    assert_matches(&l, &want_l, "left");
    assert_matches(&r, &want_r, "right");
}

#[test]
fn keyed_inserts_added_removed_and_moved_by_command_keep_their_key() {
    let (main, key) = keyed_inputs();
    let bypassed_eq = json!({"id": "off", "effect": "parametric-eq", "enabled": false});
    // Added by command: the key edge, its buffers and its compensation delay are made between quanta.
    let mut e = engine(keyed_project(json!([bypassed_eq.clone()]), true));
    let keyed = plan(keyed_project(json!([bypassed_eq.clone(), duck()]), true)).tracks[0].inserts[1].clone();
    e.apply(Command::AddInsert {
        strip: StripRef::Track(0),
        at: 1,
        insert: keyed,
    })
    .unwrap();
    let (l, r) = render(&mut e, &[main.clone(), key.clone()], KEY_FRAMES);
    assert_ducked_by_the_key(&l, &r, &main, &key, "added");
    // Moved in front of the bypassed EQ, then the EQ removed: the key follows its insert's position.
    for command in [
        Command::MoveInsert {
            strip: StripRef::Track(0),
            from: 1,
            to: 0,
        },
        Command::RemoveInsert {
            strip: StripRef::Track(0),
            insert: 1,
        },
    ] {
        e.apply(command).unwrap();
        e.seek(0);
        let (l, r) = render(&mut e, &[main.clone(), key.clone()], KEY_FRAMES);
        assert_ducked_by_the_key(&l, &r, &main, &key, "after a move or removal");
    }
    // A key from the keyed track onto the key track closes a cycle: rejected, and nothing changes.
    let mut gate = plan(keyed_project(json!([duck()]), true)).tracks[0].inserts[0].clone();
    gate.sidechain.as_mut().unwrap().source = Some(StripRef::Track(0));
    let error = e
        .apply(Command::AddInsert {
            strip: StripRef::Track(1),
            at: 0,
            insert: gate,
        })
        .unwrap_err();
    assert!(error.to_string().contains("routing cycle"), "{error}");
    e.seek(0);
    let (l, r) = render(&mut e, &[main.clone(), key.clone()], KEY_FRAMES);
    assert_ducked_by_the_key(&l, &r, &main, &key, "after the rejected cycle");
    // Removing the keyed insert leaves the main track unchanged.
    e.apply(Command::RemoveInsert {
        strip: StripRef::Track(0),
        insert: 0,
    })
    .unwrap();
    e.seek(0);
    let (l, _) = render(&mut e, &[main.clone(), key], KEY_FRAMES);
    let want: Vec<f64> = main.left().iter().map(|x| f64::from(*x)).collect();
    assert_matches(&l, &want, "without the keyed insert");
}

#[test]
fn non_finite_input_samples_become_zero_before_anything_sees_them() {
    let project = json!({"tracks": [track("t", json!({"volume": -3,
        "inserts": [{"id": "eq", "effect": "parametric-eq", "parameters": {"b2GainDb": 6}}]}))]});
    let input = stereo_noise(17, 0.4);
    let (mut dirty_l, mut dirty_r) = (input.left().to_vec(), input.right().to_vec());
    let (mut clean_l, mut clean_r) = (dirty_l.clone(), dirty_r.clone());
    for (k, bad) in [(100, f32::NAN), (2000, f32::INFINITY), (3001, f32::NEG_INFINITY)] {
        dirty_l[k] = bad;
        dirty_r[k + 1] = bad;
        clean_l[k] = 0.0;
        clean_r[k + 1] = 0.0;
    }
    let (l, r) = render(&mut engine(project.clone()), &[Input::Stereo(dirty_l, dirty_r)], N);
    let (want_l, want_r) = render(&mut engine(project), &[Input::Stereo(clean_l, clean_r)], N);
    assert_eq!(l, want_l);
    assert_eq!(r, want_r);
}

#[test]
fn a_silent_track_sleeps_and_its_output_and_meters_equal_a_never_sleeping_render() {
    let project = json!({"tracks": [track("t", json!({
        "inserts": [{"id": "eq", "effect": "parametric-eq", "parameters": {"b2GainDb": 6}},
                    {"id": "c", "effect": "compressor"}]}))]});
    // A burst, then a long silence.
    let mut burst = noise(18, N, 0.5);
    burst[1200..].fill(0.0);
    let input = Input::Stereo(burst.clone(), burst);
    let mut e = engine(project.clone());
    // The compressor's detector decays 180 dB below the peak before it may sleep: about 2 s at 100 ms release.
    let frames = 4 * 48_000;
    let (l, _) = render(&mut e, std::slice::from_ref(&input), frames);
    assert!(
        e.is_asleep(StripRef::Track(0)),
        "the track sleeps once its inserts have settled"
    );
    // The same with the inserts forbidden to sleep (each effect's own switch), through the same engine path.
    let reference: Vec<f32> = {
        let mut eq = create("parametric-eq", SR, [("b2GainDb", 6.0)]).unwrap();
        let mut comp = create("compressor", SR, []).unwrap();
        eq.set_sleep_allowed(false);
        comp.set_sleep_allowed(false);
        let mut x: Vec<f32> = input.left().to_vec();
        x.resize(frames, 0.0);
        let mut y = x.clone();
        for (a, b) in x.chunks_mut(128).zip(y.chunks_mut(128)) {
            eq.process(a, b, &[]);
            comp.process(a, b, &[]);
        }
        x
    };
    let peak = reference.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (n, (a, b)) in l.iter().zip(&reference).enumerate() {
        // Sleeping effects stop at a settled state 120 dB below the peak (effects/processor.rs).
        assert!((a - b).abs() <= 1e-5 * peak, "sample {n}: {a} vs {b}");
    }
    // The meters too: the sleeping track's reading equals a meter fed the never-sleeping output.
    let mut meter = corelogic_dsp::engine::render::meter::Meter::new(SR);
    for block in reference.chunks(128) {
        meter.update(block, block);
    }
    let (got, want) = (e.read_meter(StripRef::Track(0)), meter.read());
    for (what, g, w) in [
        ("peak", got.peak, want.peak),
        ("rms", got.rms, want.rms),
        ("hold", got.hold, want.hold),
    ] {
        for c in 0..2 {
            assert!((g[c] - w[c]).abs() <= 1e-5 * peak, "{what}[{c}]: {} vs {}", g[c], w[c]);
        }
    }
}

#[test]
fn user_changes_glide_without_steps_and_then_hold() {
    let mut e = engine(json!({"tracks": [track("t", json!({}))]}));
    let dc = Input::Stereo(vec![0.5; N], vec![0.5; N]);
    let (first, _) = render(&mut e, std::slice::from_ref(&dc), 480);
    assert!(first.iter().all(|&x| x == 0.5));
    e.apply(Command::Set {
        strip: StripRef::Track(0),
        param: MixParam::Volume,
        value: -20.0,
    })
    .unwrap();
    let (l, _) = render(&mut e, &[dc], 4_800);
    let steps = l.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0f32, f32::max);
    // A 20 ms (960-frame) glide in dB: the largest step is well under 1 % of the level.
    assert!(steps < 0.005, "largest step {steps}");
    assert!((f64::from(l[4_799]) - 0.5 * db_to_gain(-20.0)).abs() < 1e-6);
}

#[test]
fn an_insert_added_removed_and_bypassed_by_command_changes_the_sound() {
    let mut e = engine(json!({"tracks": [track("t", json!({}))]}));
    let input = stereo_noise(19, 0.3);
    let insert = plan(json!({"tracks": [track("x", json!({
        "inserts": [{"id": "g", "effect": "parametric-eq", "parameters": {"outputGainDb": -6}}]}))]}))
    .tracks[0]
        .inserts[0]
        .clone();
    e.apply(Command::AddInsert {
        strip: StripRef::Track(0),
        at: 0,
        insert,
    })
    .unwrap();
    let (l, _) = render(&mut e, std::slice::from_ref(&input), 2_400);
    let want: Vec<f64> = input.left()[..2_400]
        .iter()
        .map(|&x| f64::from(x) * db_to_gain(-6.0))
        .collect();
    assert_matches(&l, &want, "with the insert");
    e.apply(Command::RemoveInsert {
        strip: StripRef::Track(0),
        insert: 0,
    })
    .unwrap();
    let (l, _) = render(&mut e, std::slice::from_ref(&input), 2_400);
    // Removed while sounding: the 5 ms dip (240 frames out, the switch at the next quantum, 240 frames in) hides
    // the switch; tests/engine_changes.rs checks the dip itself.
    let want: Vec<f64> = input.left()[512..2_400].iter().map(|&x| f64::from(x)).collect();
    assert_matches(&l[512..], &want, "without it");
}

/// Whether a stamped event lands on its frame: an insert parameter step after a limiter (upstream latency
/// 240) still switches on its timeline frame.
#[test]
fn insert_automation_after_a_limiter_lands_on_its_frame() {
    let project = json!({
        "tracks": [track("t", json!({"inserts": [{"id": "lim", "effect": "limiter"},
                                                   {"id": "eq", "effect": "parametric-eq"}]}))],
        "automation": [{"trackId": "t", "parameter": "inserts.eq.outputGainDb", "points": [
            {"time": 0, "value": 0, "curveType": "step"}, {"time": 1000.0 / 48000.0, "value": -9, "curveType": "step"}]}]
    });
    let mut e = engine(project);
    let input = stereo_noise(20, 0.1);
    let (l, _) = render(&mut e, std::slice::from_ref(&input), N);
    let want: Vec<f64> = (0..N)
        .map(|n| f64::from(input.left()[n]) * if n < 1000 { 1.0 } else { db_to_gain(-9.0) })
        .collect();
    assert_matches(&l, &want, "left");
}

#[test]
fn a_quantum_never_allocates_with_128_tracks_of_eq_and_compressor_half_of_them_sidechained() {
    let tracks: Vec<Value> = (0..128)
        .map(|i| {
            track(&format!("t{i}"), json!({"volume": -12, "pan": (i as f64 / 64.0) - 1.0,
                "sends": [{"id": "s", "destination": "b", "level": -10, "prePost": if i % 2 == 0 { "pre" } else { "post" }}],
                "inserts": [{"id": "eq", "effect": "parametric-eq", "parameters": {"b1GainDb": 6, "b2GainDb": -6}},
                            // Odd tracks' compressors are keyed from the track before (a sidechain per pair).
                            if i % 2 == 1 {
                                json!({"id": "c", "effect": "compressor", "parameters": {"thresholdDb": -30},
                                       "sidechain": format!("t{}", i - 1)})
                            } else {
                                json!({"id": "c", "effect": "compressor", "parameters": {"thresholdDb": -30}})
                            }]}))
        })
        .collect();
    let automation: Vec<Value> = (0..128)
        .map(|i| {
            json!({"trackId": format!("t{i}"), "parameter": "volume",
                        "points": [{"time": 0, "value": -20}, {"time": 0.5, "value": 0, "curveType": "smooth"}]})
        })
        .chain([json!({"trackId": "t0", "parameter": "inserts.eq.b1GainDb",
                       "points": [{"time": 0, "value": -6}, {"time": 0.2, "value": 6}]})])
        .collect();
    let mut e = engine(
        json!({"tracks": tracks, "buses": [{"id": "b", "inserts": [{"id": "lim", "effect": "limiter"}]}],
                              "automation": automation}),
    );
    let inputs: Vec<(Vec<f32>, Vec<f32>)> = (0..128)
        .map(|i| (noise(i, 128, 0.3), noise(i + 500, 128, 0.3)))
        .collect();
    let blocks: Vec<TrackInput> = inputs.iter().map(|(l, r)| TrackInput::Stereo(l, r)).collect();
    let (mut out_l, mut out_r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    // Warm up (first quanta) outside the count; every meter on, inserts timed by the native clock.
    e.set_clock(Some(native_clock_s));
    e.render(128, &blocks, &mut out_l, &mut out_r);
    let mut spectrum = vec![0.0f32; SPECTRUM_BINS];
    let mut allocations = 0;
    for q in 0..60 {
        // Commands between quanta may allocate; only the quanta are counted.
        let command = match q % 6 {
            0 => Command::Mute {
                strip: StripRef::Track(q % 128),
                muted: q % 12 == 0,
            },
            1 => Command::Solo {
                track: 3,
                soloed: q % 12 == 1,
            },
            2 => Command::EnableInsert {
                strip: StripRef::Track(5),
                insert: 1,
                enabled: q % 12 == 2,
            },
            3 => Command::Set {
                strip: StripRef::Track(7),
                param: MixParam::Pan,
                value: 0.3,
            },
            4 => Command::SetInsertParam {
                strip: StripRef::Track(9),
                insert: 0,
                name: "b2GainDb".into(),
                value: 3.0,
            },
            _ => Command::Set {
                strip: StripRef::Bus(0),
                param: MixParam::Volume,
                value: -3.0,
            },
        };
        e.apply(command).unwrap();
        allocations += common::allocations_in(|| {
            e.render(128, &blocks, &mut out_l, &mut out_r);
            let reading = e.read_meter(StripRef::Track(q % 128));
            assert!(reading.rms[0] >= 0.0);
            // Reading the master's meters, its spectrum and an insert's meter allocates nothing either.
            let master = e.read_master_meter();
            assert!(master.true_peak_dbtp.is_finite(), "{master:?}");
            assert_eq!(e.read_spectrum(&mut spectrum), SPECTRUM_BINS);
            let insert = e.read_insert_meter(StripRef::Track(q % 128), 1).unwrap();
            assert!(insert.timed && insert.frames >= 128, "{insert:?}");
        })
        .1;
    }
    assert_eq!(allocations, 0);
    assert!(out_l.iter().any(|&x| x != 0.0));
}

#[test]
fn events_reach_effects_with_the_automation_source() {
    // The stamping the engine does by hand, checked against an effect driven directly by the same event.
    let mut direct = create("parametric-eq", SR, []).unwrap();
    let index = direct.spec().param_index("outputGainDb").unwrap();
    let mut x = vec![0.25f32; 64];
    let mut y = x.clone();
    direct.process(
        &mut x,
        &mut y,
        &[Event {
            frame: 10,
            action: Action::Set {
                index,
                value: -6.0,
                source: Source::Automation,
            },
        }],
    );
    assert_eq!(x[9], 0.25);
    assert!((f64::from(x[10]) - 0.25 * db_to_gain(-6.0)).abs() < 1e-6);
}

/// Renders in 1600-frame reads (30 Hz at 48 kHz), reading the master meter after each.
fn meter_readings(e: &mut Engine, input: &Input, frames: usize) -> Vec<corelogic_dsp::engine::MeterReading> {
    let mut readings = Vec::new();
    let (mut l, mut r) = (vec![0.0f32; 1600], vec![0.0f32; 1600]);
    for at in (0..frames).step_by(1600) {
        let block = match input {
            Input::Stereo(a, b) => TrackInput::Stereo(&a[at..at + 1600], &b[at..at + 1600]),
            Input::Mono(a) => TrackInput::Mono(&a[at..at + 1600]),
        };
        e.render(1600, &[block], &mut l, &mut r);
        readings.push(e.read_meter(StripRef::Master));
    }
    readings
}

#[test]
fn the_peak_hold_is_the_largest_peak_of_the_last_3_s() {
    // Silence with a 0.9 spike at 0.5 s and a 0.6 spike at 2.0 s. The hold, read every quantum, must equal the
    // largest |sample| over the last 3 s computed here directly, give or take the meter's 100 ms buckets: at each
    // reading it lies between the largest peak of the last 3.0 s and that of the last 3.1 s.
    let rate = 48_000usize;
    let frames = 6 * rate;
    let spikes = [(rate / 2, 0.9f32), (2 * rate, 0.6f32)];
    let mut x = vec![0.0f32; frames];
    for (at, v) in spikes {
        x[at] = v;
    }
    let mut e = engine(json!({"tracks": [track("t", json!({}))]}));
    let (mut out_l, mut out_r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    let largest_within = |end: usize, span: usize| {
        spikes
            .iter()
            .filter(|(at, _)| *at < end && at + span >= end)
            .fold(0.0f32, |m, (_, v)| m.max(*v))
    };
    let mut saw_smaller_held = false;
    for q in 0..frames / 128 {
        let block = &x[q * 128..(q + 1) * 128];
        e.render(128, &[TrackInput::Stereo(block, block)], &mut out_l, &mut out_r);
        let end = (q + 1) * 128;
        let hold = e.read_meter(StripRef::Master).hold[0];
        let (low, high) = (
            largest_within(end, 3 * rate),
            largest_within(end, 3 * rate + rate / 10 + 128),
        );
        assert!(
            hold >= low && hold <= high,
            "at frame {end}: hold {hold}, expected {low}..{high}"
        );
        saw_smaller_held |= hold == 0.6 && end > rate / 2 + 31 * rate / 10;
    }
    assert!(saw_smaller_held, "the 0.6 peak was held after the 0.9 one aged out");
}

#[test]
fn meters_read_the_rms_of_a_sine_and_hold_peaks_for_3_s() {
    let frames = 6 * 48_000;
    // A full-scale 997 Hz sine for 1 s, then a 0.1 sine with a 1.5 spike at 1.5 s: the held peak is 1.5 until
    // 3 s after the spike, then falls to the current peaks.
    let x: Vec<f32> = (0..frames)
        .map(|n| {
            let s = (TAU * 997.0 * n as f64 / 48_000.0).sin();
            let a = if n < 48_000 { 1.0 } else { 0.1 };
            if n == 72_000 {
                1.5
            } else {
                (a * s) as f32
            }
        })
        .collect();
    let mut e = engine(json!({"tracks": [track("t", json!({}))]}));
    let readings = meter_readings(&mut e, &Input::Stereo(x.clone(), x), frames);
    // At 0.9 s: the 300 ms window holds only the full-scale sine: -3.01 dBFS.
    let at_09 = readings[27 - 1];
    let rms_db = 20.0 * f64::from(at_09.rms[0]).log10();
    assert!((rms_db + 3.0103).abs() < 0.01, "rms {rms_db} dBFS");
    assert!((at_09.peak[0] - 1.0).abs() < 1e-3);
    // At 4.4 s (2.9 s after the spike) the hold is still 1.5; at 4.7 s it has been released to the current
    // peaks of the 0.1 sine.
    assert_eq!(readings[132 - 1].hold[0], 1.5, "{:?}", readings[131]);
    let late = readings[141 - 1];
    assert!(late.hold[0] <= 0.1 + 1e-6 && late.hold[0] > 0.05, "{late:?}");
    let last = readings.last().unwrap();
    assert!(last.hold[0] <= 0.1 + 1e-6, "{last:?}");
    // The 0.1 sine's RMS.
    assert!((f64::from(last.rms[0]) - 0.1 / 2f64.sqrt()).abs() < 1e-4);
    // The peak since the last read restarts at each read.
    assert!(last.peak[0] <= 0.1 + 1e-6);
}

#[test]
fn a_sleeping_strip_meter_falls_to_zero() {
    let frames = 5 * 48_000;
    let mut x = noise(30, frames, 0.5);
    x[4_800..].fill(0.0);
    let mut e = engine(json!({"tracks": [track("t", json!({}))]}));
    let readings = meter_readings(&mut e, &Input::Stereo(x.clone(), x), frames);
    assert!(e.is_asleep(StripRef::Track(0)) && e.is_asleep(StripRef::Master));
    let last = readings.last().unwrap();
    assert_eq!((last.peak[0], last.rms[0], last.hold[0]), (0.0, 0.0, 0.0));
}

#[test]
fn a_bus_sleeps_when_nothing_reaches_it() {
    let mut e = engine(
        json!({"tracks": [track("t", json!({"sends": [{"id": "s", "destination": "b"}]}))],
                             "buses": [{"id": "b", "inserts": [{"id": "eq", "effect": "parametric-eq",
                                                                  "parameters": {"b1GainDb": 9}}]}]}),
    );
    let frames = 5 * 48_000;
    let mut x = noise(31, frames, 0.5);
    x[2_400..].fill(0.0);
    let input = Input::Stereo(x.clone(), x);
    render(&mut e, std::slice::from_ref(&input), 2_400);
    assert!(
        !e.is_asleep(StripRef::Bus(0)),
        "the bus runs while the send carries the burst"
    );
    let (l, _) = render(&mut e, &[Input::Stereo(vec![0.0; frames], vec![0.0; frames])], frames);
    assert!(e.is_asleep(StripRef::Bus(0)));
    assert!(l[frames - 128..].iter().all(|&v| v == 0.0));
}

#[test]
fn each_curve_type_on_an_insert_parameter_is_held_on_the_grid() {
    for curve in ["linear", "exponential", "logarithmic", "smooth", "step"] {
        // outputGainDb from -12 dB at 0.005 s (frame 240) to +6 dB at 0.045 s (frame 2160).
        let project = json!({
            "tracks": [track("t1", json!({"inserts": [{"id": "eq", "effect": "parametric-eq"}]}))],
            "automation": [{"trackId": "t1", "parameter": "inserts.eq.outputGainDb", "points": [
                {"time": 0.005, "value": -12, "curveType": curve},
                {"time": 0.045, "value": 6, "curveType": "linear"}]}]
        });
        let mut e = engine(project);
        let input = stereo_noise(21, 0.3);
        let (l, _) = render(&mut e, std::slice::from_ref(&input), N);
        let want: Vec<f64> = (0..N)
            .map(|n| {
                // The value at the grid frame 16k at or before n; a step's jump on its own frame (2160).
                let f = n - n % 16;
                let v = if curve == "step" {
                    if n >= 2160 {
                        6.0
                    } else {
                        -12.0
                    }
                } else if f < 240 {
                    -12.0
                } else if f >= 2160 {
                    6.0
                } else {
                    -12.0 + 18.0 * curve_shape(curve, (f - 240) as f64 / 1920.0)
                };
                f64::from(input.left()[n]) * db_to_gain(v)
            })
            .collect();
        assert_matches(&l, &want, curve);
    }
}
