//! The engine behind the numeric host (what the WebAssembly bindings call): built from project JSON, fed from
//! the host's planar input buffers, commands as JSON. Outputs are checked against the fader and the Web Audio
//! stereo pan law computed here; rendering through the host allocates nothing; bad JSON and bad commands give
//! errors that say what was wrong.

mod common;

use common::engine::{db_to_gain, QUANTUM, SR};
use corelogic_dsp::host::engine::{INPUT_MONO, INPUT_SILENT, INPUT_STEREO};
use corelogic_dsp::host::{ErrorCode, Host};
use std::f64::consts::FRAC_PI_2;

fn write_text(host: &mut Host, text: &str) -> usize {
    host.input_bytes(text.len()).copy_from_slice(text.as_bytes());
    text.len()
}

fn build(host: &mut Host, project: &str) -> u32 {
    let len = write_text(host, project);
    host.create_engine(SR, QUANTUM as u32, len).expect("the engine builds")
}

fn command(host: &mut Host, engine: u32, json: &str) -> Result<(), corelogic_dsp::host::HostError> {
    let len = write_text(host, json);
    host.engine_apply_json(engine, len)
}

/// Fills track `t`'s buffers with a quantum of a signal: left `f(n)`, right `g(n)` for timeline frames n.
fn feed(host: &mut Host, engine: u32, t: usize, start: usize, f: impl Fn(usize) -> f32, g: impl Fn(usize) -> f32) {
    let inputs = host.engine_inputs(engine).unwrap();
    let at = t * 2 * QUANTUM;
    for i in 0..QUANTUM {
        inputs[at + i] = f(start + i);
        inputs[at + QUANTUM + i] = g(start + i);
    }
}

fn left_signal(n: usize) -> f32 {
    (0.5 * (n as f64 * 0.031).sin()) as f32
}

fn right_signal(n: usize) -> f32 {
    (0.3 * (n as f64 * 0.017).cos()) as f32
}

#[test]
fn a_project_renders_through_the_host_buffers_with_fader_and_stereo_pan() {
    let mut host = Host::new();
    let e = build(
        &mut host,
        r#"{"tracks": [{"id": "a", "type": "audio", "volume": -6, "pan": 0.4},
                       {"id": "b", "type": "audio", "volume": -3},
                       {"id": "c", "type": "audio"}]}"#,
    );
    host.engine_input_kinds(e)
        .unwrap()
        .copy_from_slice(&[INPUT_STEREO, INPUT_MONO, INPUT_SILENT]);
    let (ga, gb) = (db_to_gain(-6.0), db_to_gain(-3.0));
    let x = 0.4f64;
    let mut allocations = 0;
    for q in 0..20 {
        let start = q * QUANTUM;
        feed(&mut host, e, 0, start, left_signal, right_signal);
        feed(&mut host, e, 1, start, right_signal, |_| 9.0);
        feed(&mut host, e, 2, start, |_| 9.0, |_| 9.0);
        allocations += common::allocations_in(|| host.engine_render(e, QUANTUM as u32).unwrap()).1;
        let (l, r) = host.engine_output(e).unwrap();
        for i in 0..QUANTUM {
            let n = start + i;
            let (al, ar) = (f64::from(left_signal(n)), f64::from(right_signal(n)));
            // Web Audio StereoPannerNode, stereo input, pan > 0: L = inL cos(x pi/2), R = inR + inL sin(x pi/2).
            let want_l = ga * al * (x * FRAC_PI_2).cos();
            let want_r = ga * (ar + al * (x * FRAC_PI_2).sin());
            // Track b is mono (its left channel on both sides; its right buffer is ignored), centred:
            // a stereo source at pan 0 passes unchanged.
            let b = gb * f64::from(right_signal(n));
            assert!((f64::from(l[i]) - (want_l + b)).abs() < 1e-6, "left {n}");
            assert!((f64::from(r[i]) - (want_r + b)).abs() < 1e-6, "right {n}");
        }
    }
    assert_eq!(allocations, 0, "rendering through the host allocated");
}

#[test]
fn commands_as_json_reach_the_engine() {
    let mut host = Host::new();
    let e = build(&mut host, r#"{"tracks": [{"id": "a", "type": "audio"}]}"#);
    host.engine_input_kinds(e).unwrap()[0] = INPUT_STEREO;
    command(
        &mut host,
        e,
        r#"{"command": "set", "strip": "a", "param": "volume", "value": -12}"#,
    )
    .unwrap();
    command(
        &mut host,
        e,
        r#"{"command": "phaseFlip", "strip": "a", "flipped": true}"#,
    )
    .unwrap();
    // The volume glides over 20 ms (960 frames); after that the output is the input at -12 dB, flipped.
    for q in 0..10 {
        feed(&mut host, e, 0, q * QUANTUM, |_| 0.5, |_| 0.25);
        host.engine_render(e, QUANTUM as u32).unwrap();
    }
    let (l, r) = host.engine_output(e).unwrap();
    assert!(
        (f64::from(l[QUANTUM - 1]) + 0.5 * db_to_gain(-12.0)).abs() < 1e-6,
        "{}",
        l[QUANTUM - 1]
    );
    assert!((f64::from(r[QUANTUM - 1]) + 0.25 * db_to_gain(-12.0)).abs() < 1e-6);
    // An insert added by JSON: an EQ whose output gain is -6 dB, on the master.
    command(
        &mut host,
        e,
        r#"{"command": "addInsert", "strip": "master", "at": 0,
            "insert": {"id": "eq", "effect": "parametric-eq", "parameters": {"outputGainDb": -6}}}"#,
    )
    .unwrap();
    for q in 10..20 {
        feed(&mut host, e, 0, q * QUANTUM, |_| 0.5, |_| 0.25);
        host.engine_render(e, QUANTUM as u32).unwrap();
        host.engine_maintain(e).unwrap();
    }
    let (l, _) = host.engine_output(e).unwrap();
    assert!(
        (f64::from(l[QUANTUM - 1]) + 0.5 * db_to_gain(-18.0)).abs() < 1e-5,
        "{}",
        l[QUANTUM - 1]
    );
}

#[test]
fn bad_projects_and_commands_say_what_was_wrong() {
    let mut host = Host::new();
    let len = write_text(
        &mut host,
        r#"{"tracks": [{"id": "a", "type": "audio", "inserts": [{"effect": "nope"}]}]}"#,
    );
    let err = host.create_engine(SR, 128, len).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadProject);
    assert!(err.to_string().contains("tracks[0].inserts[0].effect"), "{err}");
    let len = write_text(&mut host, "{not json");
    assert_eq!(
        host.create_engine(SR, 128, len).unwrap_err().code(),
        ErrorCode::BadProject
    );
    assert_eq!(host.create_engine(SR, 0, 0).unwrap_err().code(), ErrorCode::BadCapacity);
    let e = build(
        &mut host,
        r#"{"tracks": [{"id": "a", "type": "audio"}], "buses": [{"id": "fx"}]}"#,
    );
    let cases = [
        (
            r#"{"command": "set", "strip": "zz", "param": "volume", "value": 1}"#,
            "no track or bus with id 'zz'",
        ),
        (
            r#"{"command": "set", "strip": "a", "param": "tone", "value": 1}"#,
            "allowed: volume, pan",
        ),
        (
            r#"{"command": "set", "strip": "a", "param": "volume"}"#,
            "'value' (a number) is missing",
        ),
        (
            r#"{"command": "solo", "strip": "fx", "soloed": true}"#,
            "'strip' must name a track",
        ),
        (
            r#"{"command": "removeInsert", "strip": "a", "insert": 3}"#,
            "no insert 3",
        ),
        (r#"{"command": "jump"}"#, "unknown command 'jump'"),
        (
            r#"{"command": "setInsertParam", "strip": "a", "insert": 0, "name": "x", "value": 1}"#,
            "no insert 0",
        ),
        (r#"[1]"#, "a command is a JSON object"),
    ];
    for (json, want) in cases {
        let err = command(&mut host, e, json).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadCommand, "{json}");
        assert!(err.to_string().contains(want), "{json}: {err}");
    }
    assert_eq!(host.engine_render(e, 129).unwrap_err().code(), ErrorCode::TooManyFrames);
    host.free_engine(e).unwrap();
    assert_eq!(host.engine_render(e, 1).unwrap_err().code(), ErrorCode::UnknownEngine);
}

#[test]
fn transport_commands_as_json_move_the_transport() {
    use corelogic_dsp::engine::render::transport::PlayState;
    let mut host = Host::new();
    let e = build(&mut host, r#"{"tracks": [{"id": "a", "type": "audio"}]}"#);
    command(&mut host, e, r#"{"command": "stop"}"#).unwrap();
    // A new engine plays; the stop fades out over 5 ms (240 frames) first.
    for _ in 0..2 {
        host.engine_render(e, QUANTUM as u32).unwrap();
    }
    assert_eq!(host.engine(e).unwrap().transport_state().play_state, PlayState::Stopped);
    command(&mut host, e, r#"{"command": "seek", "seconds": 1.5}"#).unwrap();
    assert_eq!(host.engine(e).unwrap().transport_state().input_frame, 72_000);
    command(&mut host, e, r#"{"command": "seek", "beats": 4}"#).unwrap();
    // 4 beats at the default 120 BPM: 2 s.
    assert_eq!(host.engine(e).unwrap().transport_state().input_frame, 96_000);
    command(&mut host, e, r#"{"command": "tempo", "bpm": 90}"#).unwrap();
    command(
        &mut host,
        e,
        r#"{"command": "timeSignature", "beatsPerBar": 3, "beatUnit": 4}"#,
    )
    .unwrap();
    command(&mut host, e, r#"{"command": "play"}"#).unwrap();
    for _ in 0..4 {
        host.engine_render(e, QUANTUM as u32).unwrap();
    }
    let state = host.engine(e).unwrap().transport_state();
    assert_eq!(state.play_state, PlayState::Playing);
    assert_eq!(state.input_frame, 96_000 + 4 * QUANTUM as u64);
    let cases = [
        (r#"{"command": "seek", "seconds": 1, "beats": 2}"#, "exactly one of"),
        (r#"{"command": "tempo"}"#, "'bpm' (a number) is missing"),
        (
            r#"{"command": "loop", "enabled": true, "start": 1}"#,
            "'end' (a number) is missing",
        ),
        (
            r#"{"command": "metronome", "enabled": "yes"}"#,
            "'enabled' (true or false)",
        ),
    ];
    for (json, want) in cases {
        let err = command(&mut host, e, json).unwrap_err();
        assert!(err.to_string().contains(want), "{json}: {err}");
    }
}
