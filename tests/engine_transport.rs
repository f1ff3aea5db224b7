//! The engine's transport against independent computations written here: play, pause, stop and seek (frames,
//! seconds, beats) read back from a volume automation whose value encodes the timeline frame; a loop wrap
//! inside a quantum; the metronome's click onsets and accents computed from the tempo, across tempo and
//! time-signature changes; the UI snapshot's bar/beat/tick; the micro-fades' length and largest step on DC and
//! sine inputs; no allocation in quanta where transport commands apply.

mod common;

use common::engine::{engine, largest_step, render_dc_quantum, QUANTUM as Q, SR};
use corelogic_dsp::engine::control::project::StripRef;
use corelogic_dsp::engine::control::vocabulary::TimeSignature;
use corelogic_dsp::engine::{
    Command, Engine, InputRun, PlayState, SeekTarget, TrackInput, TransportCommand as T, TransportState,
};
use serde_json::{json, Value};
use std::f64::consts::TAU;

/// The volume automation: -40 dB at frame 0 rising linearly (in dB) to 0 dB at this frame.
const SPAN_FRAMES: f64 = 192_000.0;
const SPAN_DB: f64 = 40.0;

/// docs/engine.md: the transport fade lasts at most 5 ms; the engine uses F = floor(5 ms x rate).
fn fade_frames() -> usize {
    (0.005 * SR).floor() as usize
}

/// One track whose volume automation encodes the timeline frame.
fn frame_engine() -> Engine {
    engine(json!({
        "bpm": 120, "timeSignature": "4/4",
        "tracks": [{"id": "t", "type": "audio"}],
        "automation": [{"trackId": "t", "parameter": "volume", "points": [
            {"time": 0, "value": -SPAN_DB, "curveType": "linear"},
            {"time": SPAN_FRAMES / SR, "value": 0}]}]
    }))
}

/// The timeline frame an output sample of the frame engine (full-scale DC input) was read at, or None when
/// the sample is silent.
fn decode_frame(x: f32) -> Option<f64> {
    (x != 0.0).then(|| (20.0 * f64::from(x).log10() + SPAN_DB) / SPAN_DB * SPAN_FRAMES)
}

/// Renders `quanta` quanta with every track fed full-scale DC; the left output.
fn render_dc(e: &mut Engine, quanta: usize) -> Vec<f32> {
    let mut out = Vec::new();
    for _ in 0..quanta {
        let (l, r) = render_dc_quantum(e);
        assert_eq!(l, r, "a centred DC track is the same on both sides");
        out.extend_from_slice(&l);
    }
    out
}

/// Renders `quanta` quanta with track 0 fed `signal(timeline frame)` where the engine's input runs say the
/// timeline is (a host positioning its sources); the left output.
fn render_positioned(e: &mut Engine, quanta: usize, signal: impl Fn(u64) -> f32) -> Vec<f32> {
    let mut out = Vec::new();
    let (mut l, mut r) = (vec![0.0f32; Q], vec![0.0f32; Q]);
    let mut input = vec![0.0f32; Q];
    for _ in 0..quanta {
        input.fill(0.0);
        e.input_runs(Q, |run| {
            if run.playing {
                for i in 0..run.frames {
                    input[run.offset + i] = signal(run.timeline_frame + i as u64);
                }
            }
        });
        e.render(Q, &[TrackInput::Mono(&input)], &mut l, &mut r);
        out.extend_from_slice(&l);
    }
    out
}

fn apply(e: &mut Engine, command: T) {
    e.apply(Command::Transport(command)).expect("a valid transport command");
}

/// Asserts that each sample of `out` was read at the expected timeline frame (None: silent).
fn assert_frames(out: &[f32], want: &[Option<u64>], what: &str) {
    assert_eq!(out.len(), want.len());
    for (i, (&x, &w)) in out.iter().zip(want).enumerate() {
        match (decode_frame(x), w) {
            (None, None) => {}
            (Some(got), Some(w)) => assert!(
                (got - w as f64).abs() < 0.1,
                "{what}: sample {i} was read at frame {got:.3}, want {w}"
            ),
            (got, w) => panic!("{what}: sample {i}: got frame {got:?}, want {w:?}"),
        }
    }
}

fn frames_from(start: u64, n: usize) -> Vec<Option<u64>> {
    (0..n as u64).map(|k| Some(start + k)).collect()
}

#[test]
fn play_pause_stop_and_seek_in_frames_seconds_and_beats_land_on_their_frames() {
    let mut e = frame_engine();
    apply(&mut e, T::Fades { enabled: false });
    // A new engine plays from frame 0.
    assert_frames(&render_dc(&mut e, 3), &frames_from(0, 3 * Q), "from the start");
    assert_eq!(e.position(), 3 * Q as u64);

    apply(&mut e, T::Pause);
    assert_frames(&render_dc(&mut e, 2), &vec![None; 2 * Q], "paused");
    let s = e.transport_state();
    assert_eq!((s.play_state, s.frame, s.input_frame), (PlayState::Paused, 384, 384));

    apply(&mut e, T::Play);
    assert_frames(&render_dc(&mut e, 1), &frames_from(384, Q), "resumed where it paused");

    apply(&mut e, T::Seek(SeekTarget::Seconds(1.25)));
    assert_frames(&render_dc(&mut e, 2), &frames_from(60_000, 2 * Q), "seek 1.25 s");

    apply(&mut e, T::Seek(SeekTarget::Frames(100_003)));
    assert_frames(&render_dc(&mut e, 1), &frames_from(100_003, Q), "seek in frames");

    // Beat 2.5 at 120 BPM: 2.5 x 0.5 s.
    apply(&mut e, T::Seek(SeekTarget::Beats(2.5)));
    let beat_frame = (2.5 * 60.0 / 120.0 * SR).round() as u64;
    assert_frames(&render_dc(&mut e, 1), &frames_from(beat_frame, Q), "seek in beats");

    apply(&mut e, T::Stop);
    assert_frames(&render_dc(&mut e, 2), &vec![None; 2 * Q], "stopped");
    let s = e.transport_state();
    assert_eq!((s.play_state, s.frame), (PlayState::Stopped, 0));
    apply(&mut e, T::Pause);
    assert_eq!(
        e.transport_state().play_state,
        PlayState::Stopped,
        "pausing a stopped transport"
    );
    apply(&mut e, T::Play);
    assert_frames(&render_dc(&mut e, 1), &frames_from(0, Q), "stop returned to the start");

    // Seeking while stopped leaves the transport paused at the target; play starts there.
    apply(&mut e, T::Stop);
    apply(&mut e, T::Seek(SeekTarget::Seconds(2.0)));
    assert_eq!(e.transport_state().play_state, PlayState::Paused);
    assert_frames(&render_dc(&mut e, 1), &vec![None; Q], "paused after a seek");
    apply(&mut e, T::Play);
    assert_frames(&render_dc(&mut e, 1), &frames_from(96_000, Q), "played from the seek");

    // Bad values are errors naming them.
    for (bad, word) in [
        (T::Seek(SeekTarget::Seconds(f64::NAN)), "seconds"),
        (T::Seek(SeekTarget::Beats(-1.0)), "beats"),
        (T::Tempo { bpm: 0.0 }, "tempo"),
        (
            T::Loop {
                enabled: true,
                start_s: 2.0,
                end_s: 1.0,
            },
            "loop end",
        ),
        (
            T::TimeSignature(TimeSignature {
                beats_per_bar: 4,
                beat_unit: 3,
            }),
            "time signature",
        ),
        (
            T::Metronome {
                enabled: true,
                volume: 2.0,
                accent_first: true,
            },
            "metronome volume",
        ),
    ] {
        let err = e.apply(Command::Transport(bad)).unwrap_err();
        assert!(err.0.contains(word), "{err} should name {word}");
    }
}

/// The timeline frames of `n` played frames from `start` with a loop [s, e): each frame after e - 1 is s.
fn looped_frames(start: u64, n: usize, s: u64, e: u64) -> Vec<Option<u64>> {
    let mut f = start;
    (0..n)
        .map(|_| {
            let here = f;
            f = if f + 1 == e { s } else { f + 1 };
            Some(here)
        })
        .collect()
}

#[test]
fn a_loop_wrap_inside_a_quantum_continues_at_the_loop_start() {
    let mut e = frame_engine();
    apply(&mut e, T::Fades { enabled: false });
    // [0.5 s, 0.52 s) = frames [24000, 24960): 960 frames, 7.5 quanta, so wraps fall mid-quantum.
    apply(
        &mut e,
        T::Loop {
            enabled: true,
            start_s: 0.5,
            end_s: 0.52,
        },
    );
    apply(&mut e, T::Seek(SeekTarget::Frames(24_900)));
    let mut runs = Vec::new();
    e.input_runs(2 * Q, |r| runs.push(r));
    assert_eq!(
        runs,
        [
            InputRun {
                offset: 0,
                frames: 60,
                timeline_frame: 24_900,
                playing: true
            },
            InputRun {
                offset: 60,
                frames: 196,
                timeline_frame: 24_000,
                playing: true
            },
        ]
    );
    let out = render_dc(&mut e, 20);
    assert_frames(&out, &looped_frames(24_900, 20 * Q, 24_000, 24_960), "looping");
    assert_eq!(
        e.position(),
        looped_frames(24_900, 20 * Q + 1, 24_000, 24_960)[20 * Q].unwrap()
    );
    assert!(e.transport_state().looping());
    // Loop off: the timeline runs on past the old end.
    apply(
        &mut e,
        T::Loop {
            enabled: false,
            start_s: 0.0,
            end_s: 0.0,
        },
    );
    let p = e.position();
    let out = render_dc(&mut e, 10);
    assert_frames(&out, &frames_from(p, 10 * Q), "loop off");
}

#[test]
fn the_snapshot_reports_the_frame_heard_through_the_latency_across_loop_wraps() {
    let mut e = engine(json!({"tracks": [{"id": "t", "type": "audio"}],
        "master": {"inserts": [{"id": "lim", "effect": "limiter"}]}}));
    let latency = e.latency();
    assert!(latency > 0);
    apply(&mut e, T::Fades { enabled: false });
    apply(
        &mut e,
        T::Loop {
            enabled: true,
            start_s: 0.5,
            end_s: 0.52,
        },
    );
    apply(&mut e, T::Seek(SeekTarget::Frames(24_900)));
    // The input frames in order; the output now plays the one that went in `latency` frames ago.
    let fed = looped_frames(24_900, 40 * Q, 24_000, 24_960);
    let mut checked = 0;
    for q in 1..40 {
        render_dc(&mut e, 1);
        let s = e.transport_state();
        assert_eq!(
            Some(s.input_frame),
            looped_frames(24_900, q * Q + 1, 24_000, 24_960)[q * Q]
        );
        if q * Q >= latency {
            assert_eq!(Some(s.frame), fed[q * Q - latency], "after {q} quanta");
            checked += 1;
        }
    }
    assert!(checked > 30);
    // Paused, nothing is heard but the position.
    apply(&mut e, T::Pause);
    let s = e.transport_state();
    assert_eq!(s.frame, s.input_frame);
}

/// The click of docs/engine.md (the engine's documented sound) at frame k of a click.
fn click_sample(k: usize, accent: bool, volume: f64) -> f64 {
    let (attack, length) = ((0.001 * SR).round(), (0.030 * SR).round());
    let k = k as f64;
    if k >= length {
        return 0.0;
    }
    let env = (k / attack).min(1.0) * (1.0 - k / length).powi(2);
    let (hz, level) = if accent { (1_500.0, 1.0) } else { (1_000.0, 0.5) };
    volume * level * env * (TAU * hz * k / SR).sin()
}

fn synthesize_clicks(clicks: &[(u64, bool)], frames: usize, volume: f64) -> Vec<f64> {
    let mut out = vec![0.0; frames];
    for &(at, accent) in clicks {
        for (k, x) in out.iter_mut().skip(at as usize).enumerate() {
            *x += click_sample(k, accent, volume);
        }
    }
    out
}

fn metronome_project(extra_master: Value) -> Value {
    json!({"bpm": 150, "timeSignature": "4/4", "tracks": [], "master": extra_master,
           "metronome": {"enabled": true, "volume": 0.5, "beatSound": "click", "accentFirst": true}})
}

#[test]
fn metronome_clicks_follow_tempo_and_signature_changes_with_accents_on_bar_lines() {
    let mut e = engine(metronome_project(json!({})));
    apply(&mut e, T::Fades { enabled: false });
    let (first, second, total) = (2_260 * Q, 3_003 * Q, 8_250 * Q);
    let mut out = render_dc(&mut e, first / Q);
    apply(&mut e, T::Tempo { bpm: 100.0 });
    out.extend(render_dc(&mut e, second / Q));
    apply(
        &mut e,
        T::TimeSignature(TimeSignature {
            beats_per_bar: 3,
            beat_unit: 4,
        }),
    );
    out.extend(render_dc(&mut e, (total - first - second) / Q));

    // Independently: beats at 150 BPM from frame 0; from frame P1 on at 100 BPM, the beat count continuing;
    // bar lines every 4 beats, then every 3 from the first whole beat at or after P2.
    let (fpb1, fpb2) = (SR * 60.0 / 150.0, SR * 60.0 / 100.0);
    let (p1, p2) = (first as f64, (first + second) as f64);
    let beats_at_p1 = p1 / fpb1;
    let frame_of = |k: f64| {
        if k <= beats_at_p1 {
            k * fpb1
        } else {
            p1 + (k - beats_at_p1) * fpb2
        }
    };
    let beats_at_p2 = beats_at_p1 + (p2 - p1) / fpb2;
    let new_bar = beats_at_p2.ceil();
    let mut clicks = Vec::new();
    for k in 0.. {
        let frame = frame_of(k as f64).round();
        if frame >= total as f64 {
            break;
        }
        let k = k as f64;
        let accent = if k < new_bar {
            k % 4.0 == 0.0
        } else {
            (k - new_bar) % 3.0 == 0.0
        };
        clicks.push((frame as u64, accent));
    }
    assert!(clicks.len() > 30 && clicks.iter().filter(|c| c.1).count() > 8);
    let want = synthesize_clicks(&clicks, total, 0.5);
    for (i, (&x, w)) in out.iter().zip(&want).enumerate() {
        assert!((f64::from(x) - w).abs() < 1e-6, "sample {i}: {x} vs {w}");
    }

    // The snapshot's bar/beat/tick where the render stopped.
    let s = e.transport_state();
    let beats = beats_at_p2 + (total as f64 - p2) / fpb2;
    let since = (beats - new_bar).floor();
    let bars_before = (new_bar / 4.0).ceil();
    assert_eq!(s.bar, bars_before as u64 + 1 + (since / 3.0) as u64);
    assert_eq!(s.beat, (since % 3.0) as u32 + 1);
    assert_eq!(s.tick, ((beats - beats.floor()) * 960.0) as u32);
    assert_eq!((s.bpm, s.signature.beats_per_bar), (100.0, 3));
}

#[test]
fn clicks_sound_with_their_timeline_frame_through_the_masters_latency() {
    let plain = {
        let mut e = engine(metronome_project(json!({})));
        render_dc(&mut e, 100)
    };
    let mut e = engine(metronome_project(
        json!({"inserts": [{"id": "lim", "effect": "limiter"}]}),
    ));
    let latency = e.latency();
    assert!(latency > 0);
    let delayed = render_dc(&mut e, 100);
    assert!(plain.iter().any(|&x| x != 0.0));
    assert_eq!(&delayed[latency..], &plain[..plain.len() - latency]);
    // The snapshot reports the frame heard now, the input frame minus the latency.
    let s = e.transport_state();
    assert_eq!(s.frame, s.input_frame - latency as u64);
}

#[test]
fn snapshot_bar_beat_and_tick_follow_the_tempo_map() {
    let mut e = frame_engine();
    let state = |e: &Engine| -> TransportState { e.transport_state() };
    let s = state(&e);
    assert_eq!((s.bar, s.beat, s.tick, s.play_state), (1, 1, 0, PlayState::Playing));
    // 120 BPM, 4/4: beat 5.5 is bar 2, beat 2, half a beat in.
    apply(&mut e, T::Fades { enabled: false });
    apply(&mut e, T::Seek(SeekTarget::Beats(5.5)));
    let s = state(&e);
    assert_eq!((s.bar, s.beat, s.tick), (2, 2, 480));
    assert_eq!(s.frame, (5.5 * 0.5 * SR) as u64);
    assert!((s.seconds - 2.75).abs() < 1e-12);
    // 3/4 from here: the next whole beat (6) is not a bar line of 4/4, so a new bar (3) starts there.
    apply(
        &mut e,
        T::TimeSignature(TimeSignature {
            beats_per_bar: 3,
            beat_unit: 4,
        }),
    );
    for (beat, bar, in_bar) in [(6.0, 3, 1), (8.75, 3, 3), (9.0, 4, 1), (12.25, 5, 1)] {
        apply(&mut e, T::Seek(SeekTarget::Beats(beat)));
        let s = state(&e);
        assert_eq!((s.bar, s.beat), (bar, in_bar), "beat {beat}");
        assert_eq!(s.tick, ((beat % 1.0) * 960.0) as u32);
    }
}

fn plain_track() -> Engine {
    engine(json!({"tracks": [{"id": "t", "type": "audio"}]}))
}

#[test]
fn micro_fades_ramp_over_five_ms_at_start_stop_seek_and_loop_wrap() {
    let f = fade_frames();
    assert_eq!(f, 240);
    let step = 1.0 / f as f64;
    let ramp_down = |k: usize| (f - k) as f64 / f as f64;
    let ramp_up = |k: usize| k as f64 / f as f64;
    let close = |x: f32, want: f64, what: &str| assert!((f64::from(x) - want).abs() < 1e-6, "{what}: {x} vs {want}");

    let mut e = plain_track();
    // Stop while playing at frame 256: the timeline runs on over the fade-out, then returns to 0.
    let out = render_dc(&mut e, 2);
    assert!(out.iter().all(|&x| x == 1.0));
    apply(&mut e, T::Stop);
    let mut runs = Vec::new();
    e.input_runs(3 * Q, |r| runs.push(r));
    assert_eq!(
        runs[0],
        InputRun {
            offset: 0,
            frames: f,
            timeline_frame: 256,
            playing: true
        }
    );
    assert!(!runs[1].playing && runs[1].offset == f);
    let out = render_dc(&mut e, 3);
    for (k, &x) in out[..f].iter().enumerate() {
        close(x, ramp_down(k), "stop fade-out");
    }
    assert!(out[f..].iter().all(|&x| x == 0.0));
    assert_eq!((e.position(), e.transport_state().play_state), (0, PlayState::Stopped));

    // Play: fades in over F frames from the position.
    apply(&mut e, T::Play);
    let out = render_dc(&mut e, 3);
    for (k, &x) in out.iter().enumerate() {
        close(x, ramp_up(k).min(1.0), "start fade-in");
    }
    assert_eq!(e.position(), 3 * Q as u64);

    // Seek while playing: fade-out over [X, X+F) on the old timeline, then the target fades in.
    apply(&mut e, T::Seek(SeekTarget::Seconds(1.0)));
    let out = render_dc(&mut e, 5);
    for (k, &x) in out.iter().enumerate() {
        let want = if k < f { ramp_down(k) } else { ramp_up(k - f).min(1.0) };
        close(x, want, "seek");
    }
    assert_eq!(e.position(), 48_000 + (5 * Q - f) as u64);

    // Loop wrap: the fade-out ends at the loop end, the loop start fades in; the loop keeps its length.
    let (s, end) = (48_000u64, 48_000 + 1_000);
    apply(
        &mut e,
        T::Loop {
            enabled: true,
            start_s: s as f64 / SR,
            end_s: end as f64 / SR,
        },
    );
    let from = e.position();
    let out = render_dc(&mut e, 20);
    let frames = looped_frames(from, 20 * Q, s, end);
    let mut since_wrap: Option<usize> = None;
    for (k, fr) in frames.iter().enumerate() {
        let fr = fr.unwrap();
        if fr == s && k > 0 {
            since_wrap = Some(0);
        }
        let up = since_wrap.map_or(1.0, |w| ramp_up(w).min(1.0));
        let down = if fr + f as u64 >= end {
            (end - fr) as f64 / f as f64
        } else {
            1.0
        };
        close(out[k], up.min(down), "loop wrap");
        since_wrap = since_wrap.map(|w| w + 1);
    }
    assert!(largest_step(&out) <= step + 1e-6);
}

#[test]
fn micro_fades_bound_the_step_on_a_sine_that_jumps_in_phase() {
    let f = fade_frames() as f64;
    let hz = 440.0;
    let sine = |frame: u64| (TAU * hz * frame as f64 / SR).sin() as f32;
    // The sine's own largest step, plus what the fade gain adds.
    let bound = TAU * hz / SR + 1.0 / f + 1e-6;
    let scenario = |fades: bool| {
        let mut e = plain_track();
        apply(&mut e, T::Fades { enabled: fades });
        apply(
            &mut e,
            T::Loop {
                enabled: true,
                start_s: 0.3,
                end_s: 0.3123,
            },
        );
        let mut out = render_positioned(&mut e, 4, sine);
        apply(&mut e, T::Seek(SeekTarget::Seconds(0.2003)));
        out.extend(render_positioned(&mut e, 100, sine));
        apply(&mut e, T::Pause);
        out.extend(render_positioned(&mut e, 4, sine));
        apply(&mut e, T::Play);
        out.extend(render_positioned(&mut e, 4, sine));
        apply(&mut e, T::Stop);
        out.extend(render_positioned(&mut e, 4, sine));
        out
    };
    let faded = scenario(true);
    assert!(largest_step(&faded) <= bound, "{} > {bound}", largest_step(&faded));
    // The same jumps without fades click (so the bound above is not met by accident).
    assert!(largest_step(&scenario(false)) > 4.0 * bound);
}

#[test]
fn stopped_and_paused_engines_still_render_tails_and_meters_fall() {
    let mut e = engine(json!({"tracks": [{"id": "t", "type": "audio",
        "inserts": [{"id": "d", "effect": "simple-delay", "parameters": {"timeMs": 100, "feedback": 0, "mix": 1}}]}]}));
    apply(&mut e, T::Fades { enabled: false });
    render_dc(&mut e, 50);
    apply(&mut e, T::Pause);
    // The delay keeps sounding the last 100 ms of input after the inputs close, then ends.
    let out = render_dc(&mut e, 60);
    assert!(out[..4_700].iter().all(|&x| x > 0.5), "the tail rings on");
    assert!(out[5_000..].iter().all(|&x| x.abs() < 1e-3), "and ends");
    let m = e.read_meter(StripRef::Master);
    render_dc(&mut e, 100);
    let later = e.read_meter(StripRef::Master);
    assert!(later.rms[0] < m.rms[0]);
}

#[test]
fn quanta_where_transport_commands_apply_never_allocate() {
    let tracks: Vec<Value> = (0..8)
        .map(|i| {
            json!({"id": format!("t{i}"), "type": "audio", "inserts": [
                {"id": "eq", "effect": "parametric-eq", "parameters": {"b1GainDb": 6}},
                {"id": "c", "effect": "compressor", "parameters": {"thresholdDb": -30}},
                {"id": "d", "effect": "ping-pong-delay", "parameters": {"syncToTempo": 1}}]})
        })
        .collect();
    let mut e = engine(
        json!({"tracks": tracks, "master": {"inserts": [{"id": "lim", "effect": "limiter"}]},
        "automation": [{"trackId": "t0", "parameter": "volume", "points": [{"time": 0, "value": -20}, {"time": 2, "value": 0}]}],
        "metronome": {"enabled": true, "volume": 0.3, "beatSound": "click", "accentFirst": true}}),
    );
    let noise: Vec<f32> = (0..Q).map(|i| ((i * 7919 % 256) as f32 / 128.0 - 1.0) * 0.3).collect();
    let inputs: Vec<TrackInput> = (0..8).map(|_| TrackInput::Mono(&noise)).collect();
    let (mut l, mut r) = (vec![0.0f32; Q], vec![0.0f32; Q]);
    e.render(Q, &inputs, &mut l, &mut r);
    let commands = [
        T::Loop {
            enabled: true,
            start_s: 0.01,
            end_s: 0.0131,
        },
        T::Seek(SeekTarget::Frames(600)),
        T::Tempo { bpm: 133.0 },
        T::Pause,
        T::Play,
        T::Seek(SeekTarget::Beats(3.25)),
        T::TimeSignature(TimeSignature {
            beats_per_bar: 7,
            beat_unit: 8,
        }),
        T::Metronome {
            enabled: true,
            volume: 0.8,
            accent_first: false,
        },
        T::Seek(SeekTarget::Seconds(0.011)),
        T::Stop,
        T::Play,
        T::Fades { enabled: false },
        T::Seek(SeekTarget::Seconds(0.5)),
        T::Fades { enabled: true },
    ];
    let mut allocations = 0;
    let mut runs = 0;
    for q in 0..120 {
        if q % 4 == 0 {
            apply(&mut e, commands[(q / 4) % commands.len()]);
        }
        let (s, counted) = common::allocations_in(|| {
            e.input_runs(Q, |_| runs += 1);
            e.render(Q, &inputs, &mut l, &mut r);
            e.transport_state()
        });
        allocations += counted;
        assert!(s.bar >= 1 && l.iter().all(|x| x.is_finite()));
    }
    assert_eq!(allocations, 0);
    assert!(runs > 120, "some quanta were split");
}

#[test]
fn a_tempo_change_reaches_tempo_synced_delays_and_inserts_added_later() {
    let delay = json!({"id": "d", "effect": "simple-delay",
        "parameters": {"syncToTempo": 1, "noteValue": 2, "feedback": 0, "mix": 1}});
    let with_delay = engine(json!({"bpm": 120, "tracks": [{"id": "t", "type": "audio", "inserts": [delay]}]}));
    let insert = with_delay.plan().tracks[0].inserts[0].clone();
    let mut added = engine(json!({"bpm": 120, "tracks": [{"id": "t", "type": "audio"}]}));
    apply(&mut added, T::Tempo { bpm: 150.0 });
    added
        .apply(Command::AddInsert {
            strip: StripRef::Track(0),
            at: 0,
            insert,
        })
        .unwrap();
    for (mut e, what) in [(with_delay, "built at 120 BPM"), (added, "added after the change")] {
        apply(&mut e, T::Tempo { bpm: 150.0 });
        // An impulse at frame 256 echoes one quarter note later at the new tempo: 60 / 150 s.
        let out = render_positioned(&mut e, 200, |f| if f == 256 { 1.0 } else { 0.0 });
        let echo = 256 + (60.0 / 150.0 * SR) as usize;
        let loudest = (0..out.len())
            .max_by(|&a, &b| out[a].abs().total_cmp(&out[b].abs()))
            .unwrap();
        assert_eq!(loudest, echo, "{what}");
        assert!((out[echo] - 1.0).abs() < 1e-6, "{what}: {}", out[echo]);
        assert_eq!((e.plan().bpm, e.transport_state().bpm), (150.0, 150.0));
    }
}

#[test]
fn play_during_a_pause_fade_resumes_from_the_gain_reached_and_stop_then_play_restarts_at_zero() {
    let f = fade_frames();
    let mut e = plain_track();
    render_dc(&mut e, 2);
    // Pause, then play again after one quantum of its fade-out: the gain turns round where it was.
    apply(&mut e, T::Pause);
    let mut out = render_dc(&mut e, 1);
    apply(&mut e, T::Play);
    out.extend(render_dc(&mut e, 3));
    for (k, &x) in out.iter().enumerate() {
        let steps = if k < Q { f - k } else { (f - Q + (k - Q)).min(f) };
        assert!((f64::from(x) - steps as f64 / f as f64).abs() < 1e-6, "frame {k}: {x}");
    }
    assert_eq!(e.position(), 6 * Q as u64, "the timeline never stopped");
    assert_eq!(e.transport_state().play_state, PlayState::Playing);
    // Stop, then play inside its fade-out: the stop still lands (at 0), then the start fades in.
    apply(&mut e, T::Stop);
    render_dc(&mut e, 1);
    apply(&mut e, T::Play);
    let mut runs = Vec::new();
    e.input_runs(Q, |r| runs.push(r));
    assert_eq!(
        runs,
        [
            InputRun {
                offset: 0,
                frames: f - Q,
                timeline_frame: 7 * Q as u64,
                playing: true
            },
            InputRun {
                offset: f - Q,
                frames: 2 * Q - f,
                timeline_frame: 0,
                playing: true
            },
        ]
    );
    let out = render_dc(&mut e, 1);
    for (k, &x) in out.iter().enumerate() {
        let want = if k < f - Q {
            (f - Q - k) as f64
        } else {
            (k - (f - Q)) as f64
        };
        assert!((f64::from(x) - want / f as f64).abs() < 1e-6, "frame {k}: {x}");
    }
    assert_eq!(e.position(), (2 * Q - f) as u64);
}
