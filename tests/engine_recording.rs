//! Automation recording and modes through the engine, and tempo-synced LFOs across tempo changes, each against
//! an independent computation written here: a written gesture taken out, loaded back and read reproduces the
//! first render's gain at every sample within 0.1 dB with far fewer points than commands; what write, touch,
//! latch and read play and record on a curve; an insert parameter recorded at its own timeline frame (behind a
//! limiter's latency); a tempo-synced LFO's period in the output changing exactly at the tempo change; the JSON
//! form of the new commands; no allocation in quanta while recording; a recording that goes on while an earlier
//! track is removed (one take, every point on what was played).

mod common;

use common::engine::{gain_to_db, render_dc_quantum, QUANTUM as Q, SR};
use corelogic_dsp::engine::control::automation::AutomationMode;
use corelogic_dsp::engine::control::plan::{Target, TargetParam};
use corelogic_dsp::engine::control::project::StripRef;
use corelogic_dsp::engine::{Command, Engine, MixParam, StructureChange, TrackInput, TransportCommand as T};
use corelogic_dsp::host::engine::parse_command;
use serde_json::{json, Value};
use std::f64::consts::TAU;

fn engine(project: Value) -> Engine {
    let mut e = common::engine::engine(project);
    // No transport micro-fades: the output is the track's gain alone.
    e.apply(Command::Transport(T::Fades { enabled: false })).unwrap();
    e
}

fn volume() -> Target {
    Target {
        strip: StripRef::Track(0),
        param: TargetParam::Volume,
    }
}

/// One quantum of full-scale DC on every track; the left output.
fn render_dc(e: &mut Engine) -> Vec<f32> {
    render_dc_quantum(e).0
}

/// The user's gesture in dB at a time: smooth (its curvature keeps linear interpolation over 20 ms within
/// 0.005 dB), starting where the track's static volume is.
fn gesture_db(t: f64) -> f64 {
    -12.0 + 9.0 * (TAU * 0.3 * t).sin() + 2.0 * (TAU * 0.7 * t).sin()
}

/// The value of linear segments through `(frame, value)` points at a frame (the reference interpolation).
fn linear_at(points: &[(f64, f64)], frame: f64) -> f64 {
    if frame <= points[0].0 {
        return points[0].1;
    }
    for w in points.windows(2) {
        if frame <= w[1].0 {
            let u = (frame - w[0].0) / (w[1].0 - w[0].0);
            return w[0].1 + (w[1].1 - w[0].1) * u;
        }
    }
    points[points.len() - 1].1
}

#[test]
fn a_written_gesture_read_back_reproduces_the_gain_at_every_sample_within_0_1_db() {
    let project = json!({"tracks": [{"id": "t", "type": "audio", "volume": gesture_db(0.0)}]});
    let mut e = engine(project.clone());
    e.apply(Command::AutomationMode {
        target: volume(),
        mode: AutomationMode::Write,
    })
    .unwrap();
    let quanta = (3.0 * SR) as usize / Q;
    let mut written = Vec::new();
    for q in 0..quanta {
        let t = (q * Q) as f64 / SR;
        e.apply(Command::Set {
            strip: StripRef::Track(0),
            param: MixParam::Volume,
            value: gesture_db(t),
        })
        .unwrap();
        written.extend(render_dc(&mut e));
    }
    e.apply(Command::Transport(T::Stop)).unwrap();
    let take = e.take_recorded(volume()).unwrap().expect("a take");
    assert!(!take.truncated);
    assert_eq!(take.curve, take.recorded, "an empty lane's curve is the take");
    // Far fewer points than commands: thinning keeps what 0.1 dB needs.
    assert!(
        take.recorded.len() * 10 < quanta,
        "{} points for {quanta} commands",
        take.recorded.len()
    );
    // Nothing more to take.
    assert_eq!(e.take_recorded(volume()).unwrap(), None);

    // A second engine reads the take as its curve.
    let mut r = engine(project);
    r.apply(Command::Automation {
        target: volume(),
        points: take.curve.clone(),
    })
    .unwrap();
    let mut read = Vec::new();
    for _ in 0..quanta {
        read.extend(render_dc(&mut r));
    }
    let worst = written
        .iter()
        .zip(&read)
        .map(|(&w, &r)| (gain_to_db(f64::from(w)) - gain_to_db(f64::from(r))).abs())
        .fold(0.0f64, f64::max);
    assert!(worst <= 0.1, "largest difference {worst} dB");
    // The recorded points lie on what was played (the value at the block start of their frame).
    for p in &take.recorded {
        let frame = (p.time_s * SR).round() as usize;
        assert!((gain_to_db(f64::from(written[frame])) - p.value).abs() <= 0.1, "{p:?}");
    }
}

#[test]
fn a_recording_continues_when_an_earlier_track_is_removed_and_the_indices_shift() {
    let mut e = engine(
        json!({"tracks": [{"id": "a", "type": "audio", "muted": true}, {"id": "t", "type": "audio", "volume": -12}]}),
    );
    let target = |track| Target {
        strip: StripRef::Track(track),
        param: TargetParam::Volume,
    };
    e.apply(Command::AutomationMode {
        target: target(1),
        mode: AutomationMode::Write,
    })
    .unwrap();
    // A fader moved from -12 dB up by 6 dB a second, for two seconds; track "a" is removed after one, so "t"
    // is track 0 from then on.
    let quanta = SR as usize / Q;
    let gesture = |t: f64| -12.0 + 6.0 * t;
    let mut played = Vec::new();
    for q in 0..2 * quanta {
        if q == quanta {
            e.apply(Command::Structure(StructureChange::RemoveTrack { track: 0 }))
                .unwrap();
        }
        e.apply(Command::Set {
            strip: StripRef::Track(if q < quanta { 1 } else { 0 }),
            param: MixParam::Volume,
            value: gesture((q * Q) as f64 / SR),
        })
        .unwrap();
        played.extend(render_dc(&mut e));
    }
    e.apply(Command::Transport(T::Stop)).unwrap();
    let take = e
        .take_recorded(target(0))
        .unwrap()
        .expect("one take across the removal");
    let last = take.recorded.last().expect("points");
    assert!(last.time_s > 1.99, "the take ends at {} s", last.time_s);
    // Every point lies on what was played (the fader's glide toward the gesture), before and after the removal.
    for p in &take.recorded {
        let frame = (p.time_s * SR).round() as usize;
        let db = gain_to_db(f64::from(played[frame.min(played.len() - 1)]));
        assert!((p.value - db).abs() <= 0.1, "{p:?} off the played {db} dB");
    }
    assert!(take.recorded.iter().any(|p| p.time_s < 1.0) && take.recorded.len() >= 2);
}

/// A track whose volume curve rises linearly from -20 dB at frame 0 to 0 dB at frame 96 000.
fn curve_project() -> Value {
    json!({"tracks": [{"id": "t", "type": "audio"}],
           "automation": [{"trackId": "t", "parameter": "volume", "points": [
               {"time": 0, "value": -20}, {"time": 2, "value": 0}]}]})
}

fn curve_db(frame: usize) -> f64 {
    -20.0 + 20.0 * (frame as f64 / 96_000.0).min(1.0)
}

const TOUCH_Q: usize = 200;
const RELEASE_Q: usize = 400;
const STOP_Q: usize = 600;

/// Plays 600 quanta in a mode: at quantum 200 the user touches the fader and moves it to -6 dB, at 400
/// releases it; then stop. The output in dB and the take.
fn play_gesture(mode: AutomationMode) -> (Vec<f64>, Option<corelogic_dsp::engine::render::recording::Take>) {
    let mut e = engine(curve_project());
    e.apply(Command::AutomationMode { target: volume(), mode }).unwrap();
    let mut out = Vec::new();
    for q in 0..STOP_Q {
        if q == TOUCH_Q {
            e.apply(Command::Touch {
                target: volume(),
                touching: true,
            })
            .unwrap();
            e.apply(Command::Set {
                strip: StripRef::Track(0),
                param: MixParam::Volume,
                value: -6.0,
            })
            .unwrap();
        }
        if q == RELEASE_Q {
            e.apply(Command::Touch {
                target: volume(),
                touching: false,
            })
            .unwrap();
        }
        out.extend(render_dc(&mut e).iter().map(|&x| gain_to_db(f64::from(x))));
    }
    e.apply(Command::Transport(T::Stop)).unwrap();
    (out, e.take_recorded(volume()).unwrap())
}

#[test]
fn write_touch_latch_and_read_play_and_record_where_the_modes_say() {
    let glide = (0.020 * SR) as usize;
    let (touch_f, release_f, stop_f) = (TOUCH_Q * Q, RELEASE_Q * Q, STOP_Q * Q);
    let held = touch_f + glide + 100;
    let after = release_f + glide + 100;
    let near = |a: f64, b: f64| (a - b).abs() < 1e-3;

    // Read: the curve throughout, the fader change ignored, nothing recorded.
    let (out, take) = play_gesture(AutomationMode::Read);
    for f in [1000, held, after, stop_f - 1] {
        assert!(near(out[f], curve_db(f)), "read at {f}: {} vs {}", out[f], curve_db(f));
    }
    assert_eq!(take, None);

    // Touch: the curve, the user's -6 dB while held, back to the curve after release (a 20 ms glide).
    let (out, take) = play_gesture(AutomationMode::Touch);
    assert!(near(out[touch_f - 1], curve_db(touch_f - 1)));
    assert!(near(out[held], -6.0), "touch held: {}", out[held]);
    assert!(near(out[after], curve_db(after)), "touch released: {}", out[after]);
    // The glide back has no step larger than a 20 ms glide's.
    let step = out[release_f - 1..after]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f64, f64::max);
    assert!(step < 0.02, "largest step after release {step} dB");
    let take = take.expect("touch recorded");
    let frames: Vec<usize> = take.recorded.iter().map(|p| (p.time_s * SR).round() as usize).collect();
    assert_eq!(frames[0], touch_f, "the recording starts at the touch");
    assert!(*frames.last().unwrap() < release_f && *frames.last().unwrap() >= release_f - Q);
    assert!(near(take.recorded.last().unwrap().value, -6.0));
    // The curve outside the touch is the old one; inside, the recording.
    let curve: Vec<(f64, f64)> = take.curve.iter().map(|p| (p.time_s * SR, p.value)).collect();
    for f in [1000, touch_f - 1, release_f + Q, stop_f] {
        assert!(near(linear_at(&curve, f as f64), curve_db(f)), "touch curve at {f}");
    }
    assert!(near(linear_at(&curve, held as f64), -6.0));

    // Latch: the user's value from the touch until stop, recorded until stop.
    let (out, take) = play_gesture(AutomationMode::Latch);
    assert!(near(out[touch_f - 1], curve_db(touch_f - 1)));
    assert!(near(out[after], -6.0), "latch after release: {}", out[after]);
    let take = take.expect("latch recorded");
    let first = (take.recorded[0].time_s * SR).round() as usize;
    let last = (take.recorded.last().unwrap().time_s * SR).round() as usize;
    assert_eq!(first, touch_f);
    assert!(last >= stop_f - Q, "latch records until stop, last point at {last}");

    // Write: the user's value (the static 0 dB, then -6 dB) from play to stop, all of it recorded.
    let (out, take) = play_gesture(AutomationMode::Write);
    assert!(near(out[1000], 0.0), "write before the move: {}", out[1000]);
    assert!(near(out[after], -6.0));
    let take = take.expect("write recorded");
    let curve: Vec<(f64, f64)> = take.curve.iter().map(|p| (p.time_s * SR, p.value)).collect();
    assert_eq!(curve[0].0, 0.0, "write records from play");
    assert!(curve.last().unwrap().0 >= (stop_f - Q) as f64);
    for f in [1000, touch_f - 1, held, after, stop_f - Q] {
        assert!((linear_at(&curve, f as f64) - out[f]).abs() < 0.1, "write curve at {f}");
    }
}

#[test]
fn an_insert_parameter_is_recorded_at_its_own_timeline_frame_behind_upstream_latency() {
    let mut e = engine(json!({"tracks": [{"id": "t", "type": "audio", "inserts": [
        {"id": "lim", "effect": "limiter", "parameters": {"lookaheadMs": 5}},
        {"id": "eq", "effect": "parametric-eq", "parameters": {"b1GainDb": 0}}]}]}));
    let latency = e.latency();
    assert_eq!(latency, (0.005 * SR).round() as usize, "the limiter's lookahead");
    // The parameter named as the project format names it, through the JSON command.
    let command = parse_command(
        &json!({"command": "automationMode", "strip": "t", "parameter": "inserts.eq.b1GainDb", "mode": "write"}),
        e.plan(),
    )
    .unwrap();
    let Command::AutomationMode { target, .. } = command else {
        panic!("an automationMode command")
    };
    assert!(matches!(target.param, TargetParam::Insert { insert: 1, .. }));
    e.apply(command).unwrap();
    let gain_db = |t: f64| 6.0 * (TAU * 0.5 * t).sin();
    let quanta = (2.0 * SR) as usize / Q;
    for q in 0..quanta {
        e.apply(Command::SetInsertParam {
            strip: StripRef::Track(0),
            insert: 1,
            name: "b1GainDb".into(),
            value: gain_db((q * Q) as f64 / SR),
        })
        .unwrap();
        render_dc(&mut e);
    }
    e.apply(Command::Transport(T::Pause)).unwrap();
    let take = e.take_recorded(target).unwrap().expect("a take");
    assert!(take.recorded.len() * 10 < quanta, "{} points", take.recorded.len());
    let curve: Vec<(f64, f64)> = take.curve.iter().map(|p| (p.time_s * SR, p.value)).collect();
    // The value sent before quantum q applies at the eq's timeline frame q x 128 - latency.
    for q in (latency / Q + 1)..quanta {
        let frame = (q * Q - latency) as f64;
        let got = linear_at(&curve, frame);
        let want = gain_db((q * Q) as f64 / SR);
        assert!((got - want).abs() <= 0.1, "quantum {q}: {got} vs {want} dB");
    }
}

#[test]
fn a_tempo_synced_lfo_changes_period_exactly_at_the_tempo_change() {
    // A square LFO of one beat's period on the volume: +6 dB for the first half of each beat, -6 dB after.
    let mut e = engine(
        json!({"bpm": 120, "tracks": [{"id": "t", "type": "audio", "volume": -6}],
        "automation": [{"trackId": "t", "parameter": "volume",
                        "lfo": {"shape": "square", "periodBeats": 1, "depth": 6}},
                       {"trackId": "t", "parameter": "pan", "lfo": {"shape": "square", "rateHz": 1, "depth": 0}}]}),
    );
    let change_q = 200;
    let mut out = Vec::new();
    for q in 0..700 {
        if q == change_q {
            e.apply(Command::Transport(T::Tempo { bpm: 90.0 })).unwrap();
        }
        out.extend(render_dc(&mut e));
    }
    let high: Vec<bool> = out.iter().map(|&x| gain_to_db(f64::from(x)) > -3.0).collect();
    let edges: Vec<usize> = (1..high.len()).filter(|&n| high[n] != high[n - 1]).collect();
    // Independent: beats(f) = f / 24000 before the change at T; T / 24000 + (f - T) / 32000 after. The level
    // flips at the first frame whose beat count reaches each half beat.
    let t = (change_q * Q) as f64;
    let beats = |f: f64| {
        if f < t {
            f / 24_000.0
        } else {
            t / 24_000.0 + (f - t) / 32_000.0
        }
    };
    let mut want = Vec::new();
    let mut half = 1.0;
    loop {
        let b = half * 0.5;
        let f = if b < t / 24_000.0 {
            b * 24_000.0
        } else {
            t + (b - t / 24_000.0) * 32_000.0
        };
        let f = f.ceil() as usize;
        if f >= out.len() {
            break;
        }
        assert!(beats(f as f64) >= b - 1e-9);
        want.push(f);
        half += 1.0;
    }
    assert_eq!(edges, want);
    // The periods measured in the output: one beat at 120 BPM before (half a period between its two edges),
    // at 90 BPM after; the first edge after the change keeps the phase (no edge at the change itself).
    assert_eq!(2 * (edges[1] - edges[0]), 24_000);
    assert!(edges[1] < change_q * Q && edges[2] > change_q * Q + 12_000);
    let n = edges.len();
    assert!((edges[n - 1] - edges[n - 3]).abs_diff(32_000) <= 1);
}

#[test]
fn the_new_commands_parse_from_json_and_bad_ones_name_the_key() {
    let e = engine(json!({"tracks": [{"id": "t", "type": "audio",
        "sends": [{"id": "s", "destination": "b", "level": -10}]}], "buses": [{"id": "b"}]}));
    let plan = e.plan();
    let c = parse_command(
        &json!({"command": "automationMode", "strip": "t", "parameter": "sends.s.level", "mode": "latch"}),
        plan,
    )
    .unwrap();
    assert!(matches!(
        c,
        Command::AutomationMode {
            target: Target {
                strip: StripRef::Track(0),
                param: TargetParam::SendLevel(0)
            },
            mode: AutomationMode::Latch
        }
    ));
    let c = parse_command(
        &json!({"command": "automation", "strip": "b", "parameter": "volume",
                "points": [{"time": 0, "value": -3}, {"time": 1.5, "value": 0, "curveType": "step"}]}),
        plan,
    )
    .unwrap();
    let Command::Automation { target, points } = c else {
        panic!("automation")
    };
    assert_eq!(target.strip, StripRef::Bus(0));
    assert_eq!(points.len(), 2);
    assert_eq!(points[1].time_s, 1.5);
    let bad = |v: Value| parse_command(&v, plan).unwrap_err();
    assert!(
        bad(json!({"command": "automationMode", "strip": "t", "parameter": "volume", "mode": "punch"}))
            .contains("'mode'")
    );
    assert!(bad(json!({"command": "touch", "strip": "t", "parameter": "tone", "touching": true})).contains("tone"));
    assert!(bad(json!({"command": "touch", "strip": "t", "parameter": "volume"})).contains("'touching'"));
    assert!(bad(json!({"command": "automation", "strip": "t", "parameter": "volume",
                       "points": [{"time": -1, "value": 0}]}))
    .contains("points[0].time"));
    // A value outside the parameter's range is refused by the engine, naming the point.
    let mut e = engine(json!({"tracks": [{"id": "t", "type": "audio"}]}));
    let err = e
        .apply(Command::Automation {
            target: Target {
                strip: StripRef::Track(0),
                param: TargetParam::Pan,
            },
            points: vec![corelogic_dsp::engine::control::plan::PointPlan {
                time_s: 0.0,
                value: 2.0,
                curve: corelogic_dsp::engine::control::automation::CurveType::Linear,
            }],
        })
        .unwrap_err();
    assert!(err.0.contains("points[0].value"), "{err}");
}

#[test]
fn quanta_allocate_nothing_while_recording() {
    let mut e = engine(json!({"tracks": [
        {"id": "a", "type": "audio", "inserts": [{"id": "eq", "effect": "parametric-eq"}],
         "sends": [{"id": "s", "destination": "b", "level": -10}]},
        {"id": "c", "type": "audio"}], "buses": [{"id": "b"}],
        "automation": [{"trackId": "c", "parameter": "pan", "mode": "touch",
                        "points": [{"time": 0, "value": -1}, {"time": 1, "value": 1}]}]}));
    let a = StripRef::Track(0);
    for (parameter, mode) in [
        ("volume", "write"),
        ("sends.s.level", "latch"),
        ("inserts.eq.b1GainDb", "write"),
    ] {
        let command = json!({"command": "automationMode", "strip": "a", "parameter": parameter, "mode": mode});
        let command = parse_command(&command, e.plan()).unwrap();
        e.apply(command).unwrap();
    }
    e.apply(Command::Transport(T::Loop {
        enabled: true,
        start_s: 0.0,
        end_s: 0.25,
    }))
    .unwrap();
    render_dc(&mut e);
    let dc = vec![1.0f32; Q];
    let inputs = [TrackInput::Stereo(&dc, &dc), TrackInput::Mono(&dc)];
    let (mut l, mut r) = (vec![0.0f32; Q], vec![0.0f32; Q]);
    let mut allocations = 0;
    for q in 0..400 {
        let x = (q as f64 * 0.05).sin();
        e.apply(Command::Set {
            strip: a,
            param: MixParam::Volume,
            value: -6.0 + 3.0 * x,
        })
        .unwrap();
        e.apply(Command::Set {
            strip: a,
            param: MixParam::SendLevel(0),
            value: -10.0 + x,
        })
        .unwrap();
        e.apply(Command::SetInsertParam {
            strip: a,
            insert: 0,
            name: "b1GainDb".into(),
            value: 4.0 * x,
        })
        .unwrap();
        e.apply(Command::Touch {
            target: Target {
                strip: StripRef::Track(1),
                param: TargetParam::Pan,
            },
            touching: q % 50 < 25,
        })
        .unwrap();
        allocations += common::allocations_in(|| e.render(Q, &inputs, &mut l, &mut r)).1;
        assert!(l.iter().all(|x| x.is_finite()));
    }
    assert_eq!(allocations, 0);
    // The loop wrapped (0.25 s = 93.75 quanta): the write take has several stretches, all inside the loop.
    e.apply(Command::Transport(T::Stop)).unwrap();
    let take = e
        .take_recorded(Target {
            strip: a,
            param: TargetParam::Volume,
        })
        .unwrap()
        .expect("a take");
    assert!(take.recorded.iter().all(|p| p.time_s < 0.25));
}
