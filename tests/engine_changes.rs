//! Structural changes while playing, against independent computations written here: inserts added, removed
//! and moved, and latency changes (an insert with latency added, a limiter's lookahead changed). Each must not
//! step by more than the engine's 5 ms dip fade allows, and once the fade is over the output must equal the new
//! chain (or the paths re-aligned to the new latency), computed without the engine's change machinery. The
//! quanta in which the changes happen must not allocate.

mod common;

use common::engine::{assert_within, engine, largest_step, largest_step_at, peak, QUANTUM, SR};
use corelogic_dsp::engine::control::plan::InsertPlan;
use corelogic_dsp::engine::control::project::{parse_project_value, StripRef};
use corelogic_dsp::engine::render::fade::CHANGE_FADE_S;
use corelogic_dsp::engine::{Command, Engine, TrackInput};
use serde_json::{json, Value};
use std::f64::consts::TAU;
use std::path::Path;

/// One insert of the project format, parsed as the engine's commands take it.
fn insert(value: Value) -> InsertPlan {
    let project = json!({"tracks": [{"id": "x", "type": "audio", "inserts": [value]}]});
    parse_project_value(&project, Path::new("."))
        .expect("a valid insert")
        .tracks[0]
        .inserts[0]
        .clone()
}

/// A stereo sum of two sines (left and right differ), at most `amplitude`.
fn tones(frames: usize, amplitude: f64) -> (Vec<f32>, Vec<f32>) {
    let tone = |f: f64, g: f64, n: usize| (g * (TAU * f * n as f64 / SR).sin()) as f32;
    let left = (0..frames)
        .map(|n| tone(440.0, amplitude * 0.6, n) + tone(1_250.0, amplitude * 0.4, n))
        .collect();
    let right = (0..frames)
        .map(|n| tone(330.0, amplitude * 0.7, n) + tone(2_000.0, amplitude * 0.3, n))
        .collect();
    (left, right)
}

/// Plays `frames` frames in real time (128-frame quanta, every track fed `input`), applying each command
/// between the quanta at its frame (a multiple of the quantum) and calling `refresh_latency` between every two
/// quanta, as a host does. Returns the master output (not re-aligned: it lags by the engine's latency) and the
/// allocations counted inside the quanta.
fn play(
    e: &mut Engine,
    tracks: usize,
    input: &(Vec<f32>, Vec<f32>),
    frames: usize,
    mut commands: Vec<(usize, Command)>,
) -> (Vec<f32>, Vec<f32>, usize) {
    let (mut out_l, mut out_r) = (vec![0.0f32; frames], vec![0.0f32; frames]);
    let mut allocations = 0;
    let mut at = 0;
    commands.reverse();
    while at < frames {
        while commands.last().is_some_and(|(frame, _)| *frame <= at) {
            let (_, command) = commands.pop().unwrap();
            e.apply(command).expect("the command applies");
        }
        e.refresh_latency();
        let n = (frames - at).min(QUANTUM);
        let inputs = vec![TrackInput::Stereo(&input.0[at..at + n], &input.1[at..at + n]); tracks];
        allocations +=
            common::allocations_in(|| e.render(n, &inputs, &mut out_l[at..at + n], &mut out_r[at..at + n])).1;
        at += n;
    }
    (out_l, out_r, allocations)
}

/// The dip's half length in frames.
fn fade_frames() -> usize {
    (CHANGE_FADE_S * SR).round() as usize
}

/// The bound on any sample-to-sample step around a dipped switch: the larger of the old and new signals' own
/// largest steps, plus the largest amplitude / F (a linear ramp of F frames moves the gain by 1/F per frame).
fn dip_step_bound(old: &[f32], new: &[f32]) -> f64 {
    largest_step(old).max(largest_step(new)) + peak(old).max(peak(new)) / fade_frames() as f64
}

/// Asserts |got - want| <= 1e-5 x the peak of all of `want` at every frame from `from` on.
fn assert_close(got: &[f32], want: &[f32], from: usize, what: &str) {
    let tolerance = 1e-5 * peak(want);
    assert_within(
        &got[from..],
        &want[from..],
        tolerance,
        &format!("{what} (from frame {from})"),
    );
}

fn one_track(inserts: Value) -> Value {
    json!({"tracks": [{"id": "t", "type": "audio", "inserts": inserts}]})
}

/// Renders a chain change at frame `at` while playing, and the old and new chains played without a change;
/// checks the output before the change (old chain), the steps around it, and after the dip (new chain, once
/// the new chain's state transients have died out: 300 ms, ten time constants of the distortion's DC blocker).
fn check_chain_change(before: Value, after: Value, command: Command, what: &str) {
    const FRAMES: usize = 38_400;
    const AT: usize = 2_560;
    let input = tones(FRAMES, 0.4);
    let (old, _, _) = play(&mut engine(one_track(before.clone())), 1, &input, FRAMES, vec![]);
    let (new, _, _) = play(&mut engine(one_track(after)), 1, &input, FRAMES, vec![]);
    let (got, _, allocations) = play(&mut engine(one_track(before)), 1, &input, FRAMES, vec![(AT, command)]);
    assert_eq!(allocations, 0, "{what}: the quanta allocated");
    assert_eq!(&got[..AT], &old[..AT], "{what}: before the change the old chain plays");
    let bound = dip_step_bound(&old, &new);
    let (step, frame) = largest_step_at(&got);
    assert!(
        step <= bound * 1.01 + 1e-6,
        "{what}: a step of {step} at frame {frame} (the dip allows {bound})"
    );
    // Out over F frames, zero to the end of that quantum, switch, in over F; then 300 ms for the state.
    let fade_done = AT + fade_frames().div_ceil(QUANTUM) * QUANTUM + fade_frames();
    assert_close(&got, &new, fade_done + 14_400, what);
    // The dip is there: the output reaches zero before the switch.
    assert!(
        got[AT + fade_frames()..AT + 2 * QUANTUM].iter().all(|&x| x == 0.0),
        "{what}: the dip reaches zero"
    );
}

fn eq(gain_db: f64) -> Value {
    json!({"id": "eq", "effect": "parametric-eq",
           "parameters": {"b2FrequencyHz": 1000, "b2GainDb": gain_db, "b2Q": 0.7, "outputGainDb": -3}})
}

fn drive() -> Value {
    json!({"id": "drive", "effect": "distortion", "parameters": {"driveDb": 18, "oversample": 1}})
}

#[test]
fn an_insert_added_while_playing_dips_and_then_plays_the_new_chain() {
    check_chain_change(
        json!([]),
        json!([eq(9.0)]),
        Command::AddInsert {
            strip: StripRef::Track(0),
            at: 0,
            insert: insert(eq(9.0)),
        },
        "add",
    );
}

#[test]
fn an_insert_removed_while_playing_dips_and_then_plays_without_it() {
    check_chain_change(
        json!([eq(-12.0), drive()]),
        json!([drive()]),
        Command::RemoveInsert {
            strip: StripRef::Track(0),
            insert: 0,
        },
        "remove",
    );
}

#[test]
fn an_insert_moved_while_playing_dips_and_then_plays_the_new_order() {
    check_chain_change(
        json!([eq(12.0), drive()]),
        json!([drive(), eq(12.0)]),
        Command::MoveInsert {
            strip: StripRef::Track(0),
            from: 0,
            to: 1,
        },
        "move",
    );
}

/// Two identical tracks into the master; a limiter that never engages (input at most 0.4, ceiling 0 dB) goes
/// onto the first while playing, then its lookahead changes. Once each dip is over the master must be exactly
/// twice one track, delayed by the new total latency: every path re-aligned.
#[test]
fn latency_changes_while_playing_re_align_every_path_after_the_dip() {
    const FRAMES: usize = 24_000;
    let input = tones(FRAMES, 0.4);
    let project = json!({"tracks": [{"id": "a", "type": "audio"}, {"id": "b", "type": "audio"}]});
    let limiter = insert(json!({"id": "lim", "effect": "limiter", "parameters": {"ceilingDb": 0}}));
    let mut e = engine(project);
    assert_eq!(e.latency(), 0);
    let (add_at, change_at) = (2_560, 12_800);
    let commands = vec![
        (
            add_at,
            Command::AddInsert {
                strip: StripRef::Track(0),
                at: 0,
                insert: limiter,
            },
        ),
        (
            change_at,
            Command::SetInsertParam {
                strip: StripRef::Track(0),
                insert: 0,
                name: "lookaheadMs".into(),
                value: 2.0,
            },
        ),
    ];
    let (got, _, allocations) = play(&mut e, 2, &input, FRAMES, commands);
    assert_eq!(allocations, 0, "the quanta allocated");
    assert_eq!(e.latency(), 96, "2 ms of lookahead at 48 kHz");
    let twice_delayed = |delay: usize| -> Vec<f32> {
        (0..FRAMES)
            .map(|n| if n >= delay { 2.0 * input.0[n - delay] } else { 0.0 })
            .collect()
    };
    let (first, second) = (twice_delayed(240), twice_delayed(96));
    // Before the change: both tracks straight through.
    assert_close(&got[..add_at], &twice_delayed(0)[..add_at], 0, "before the limiter");
    // After the first dip (the limiter's 240 frames of latency held first): aligned at 240.
    let first_done = add_at + fade_frames().div_ceil(QUANTUM) * QUANTUM + 240 + fade_frames();
    assert_close(
        &got[..change_at],
        &first[..change_at],
        first_done,
        "after adding the limiter",
    );
    // After the lookahead change (the limiter's own switch fade, then the compensation delays' dip): at 96.
    let second_done = change_at + 4_800;
    assert_close(&got, &second, second_done, "after the lookahead change");
    let bound = dip_step_bound(&first, &second);
    let (step, frame) = largest_step_at(&got);
    assert!(
        step <= bound * 1.01 + 1e-6,
        "a step of {step} at frame {frame} (the dips allow {bound})"
    );
}
