//! Tracks, buses, sends and routing changed while the engine plays (docs/engine.md, "Changing the mix while
//! playing"), each checked against an independent computation: an engine built from the final project, a render
//! without the change, or the dip's linear ramp written out here.

mod common;

use common::engine::{assert_within, engine, noise, peak, QUANTUM as Q, SR};
use corelogic_dsp::engine::control::plan::StripRef;
use corelogic_dsp::engine::control::project::{parse_bus, parse_send, parse_track, Strip};
use corelogic_dsp::engine::{Command, Engine, StructureChange, TrackInput};
use serde_json::{json, Value};
use std::path::Path;

/// One half of the dip: `CHANGE_FADE_S` (5 ms) at 48 kHz.
const DIP: usize = 240;

/// Each track's input by id: deterministic stereo noise seeded by the id.
fn input_of(id: &str, frames: usize) -> (Vec<f32>, Vec<f32>) {
    let seed = id
        .bytes()
        .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    (noise(seed, frames, 0.1), noise(seed + 1, frames, 0.1))
}

fn track_plan(value: Value) -> corelogic_dsp::engine::control::plan::TrackPlan {
    match parse_track(&value, "track", Path::new("."), &mut Vec::new()).unwrap() {
        Strip::Track(t) => t,
        _ => panic!("not a track"),
    }
}

fn add_track(at: Option<usize>, value: Value) -> Command {
    Command::Structure(StructureChange::AddTrack {
        at,
        track: Box::new(track_plan(value)),
    })
}

fn add_bus(value: Value) -> Command {
    Command::Structure(StructureChange::AddBus {
        bus: Box::new(parse_bus(&value, "bus", &mut Vec::new()).unwrap()),
    })
}

/// Each track's input by id, over the whole render.
type Inputs<'a> = dyn Fn(&str) -> (Vec<f32>, Vec<f32>) + 'a;

/// Renders one quantum starting at frame `at`, feeding each track of the engine's plan its input by id, and
/// `extra` inputs after them (a removed track dipping out reads its input there).
fn quantum(e: &mut Engine, inputs: &Inputs, at: usize, extra: &[&str]) -> (Vec<f32>, Vec<f32>) {
    let ids: Vec<String> = e.plan().tracks.iter().map(|t| t.id.clone()).collect();
    let buffers: Vec<(Vec<f32>, Vec<f32>)> = ids
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .map(|id| {
            let (l, r) = inputs(id);
            (l[at..at + Q].to_vec(), r[at..at + Q].to_vec())
        })
        .collect();
    let blocks: Vec<TrackInput> = buffers.iter().map(|(l, r)| TrackInput::Stereo(l, r)).collect();
    let (mut l, mut r) = (vec![0.0; Q], vec![0.0; Q]);
    e.render(Q, &blocks, &mut l, &mut r);
    (l, r)
}

/// Adds a send (the project format's send object) to track 0.
fn add_send(e: &mut Engine, value: Value) {
    let send = parse_send(&value, "send", 0, &mut Vec::new()).unwrap();
    e.apply(Command::Structure(StructureChange::AddSend {
        strip: StripRef::Track(0),
        send,
    }))
    .unwrap();
}

/// Asserts |got - want| <= 1e-5 x the peak of `want` at every frame, `want` not silent.
fn assert_close(got: &[f32], want: &[f32], what: &str) {
    let peak = peak(want);
    assert!(peak > 0.0, "{what}: the reference is silent");
    assert_within(got, want, 1e-5 * peak, what);
}

fn bus_json(b: usize) -> Value {
    // Every fourth bus starts a chain of bus-to-bus routing.
    let routing = if b % 4 == 0 {
        "Master".to_string()
    } else {
        format!("bus{}", b - 1)
    };
    json!({"id": format!("bus{b}"), "volume": -(b as f64) * 0.5, "pan": (b as f64 / 8.0) - 1.0, "routing": routing})
}

fn track_json(t: usize) -> Value {
    let routing = if t % 3 == 0 {
        "Master".to_string()
    } else {
        format!("bus{}", t % 16)
    };
    json!({
        "id": format!("t{t}"), "type": "audio", "volume": -((t % 12) as f64), "pan": ((t % 9) as f64 - 4.0) / 4.0,
        "stereoWidth": 50.0 + (t % 5) as f64 * 30.0, "routing": routing,
        "sends": [{"id": format!("s{t}"), "destination": format!("bus{}", (t + 5) % 16), "level": -12.0,
                   "prePost": if t % 2 == 0 { "pre" } else { "post" }}]
    })
}

#[test]
fn a_session_grown_to_128_tracks_and_16_buses_renders_as_the_project_built_with_them() {
    let quanta = 240;
    let frames = quanta * Q;
    let inputs = |id: &str| input_of(id, frames);
    let mut grown = engine(json!({"sampleRate": SR, "tracks": []}));
    // The final order of the tracks as the commands leave it (mirrored here, independently of the engine).
    let mut order: Vec<usize> = Vec::new();
    let mut commands: Vec<Command> = (0..16).map(|b| add_bus(bus_json(b))).collect();
    for t in 0..128 {
        // At the end, at the front, or in the middle.
        let at = match t % 3 {
            0 => None,
            1 => Some(0),
            _ => Some(order.len() / 2),
        };
        order.insert(at.unwrap_or(order.len()), t);
        commands.push(add_track(at, track_json(t)));
    }
    let mut commands = commands.into_iter();
    let mut out = Vec::new();
    for q in 0..quanta {
        // One command per quantum while playing, from the first.
        if let Some(c) = commands.next() {
            grown.apply(c).unwrap();
        }
        out.push(quantum(&mut grown, &inputs, q * Q, &[]));
    }
    let ids: Vec<String> = grown.plan().tracks.iter().map(|t| t.id.clone()).collect();
    let want: Vec<String> = order.iter().map(|t| format!("t{t}")).collect();
    assert_eq!(ids, want, "track order after adds at indices");
    let final_project = json!({
        "sampleRate": SR,
        "buses": (0..16).map(bus_json).collect::<Vec<_>>(),
        "tracks": order.iter().map(|&t| track_json(t)).collect::<Vec<_>>(),
    });
    let mut built = engine(final_project);
    // The last command lands at quantum 143; 20 ms of glides and 5 ms dips later both engines agree.
    let settled = 160;
    for (q, (gl, gr)) in out.iter().enumerate() {
        let (l, r) = quantum(&mut built, &inputs, q * Q, &[]);
        if q >= settled {
            assert_close(gl, &l, &format!("left, quantum {q}"));
            assert_close(gr, &r, &format!("right, quantum {q}"));
        }
    }

    // Shrinking back: a bus still in use is refused, naming its users; removing everything leaves silence.
    let refused = grown
        .apply(Command::Structure(StructureChange::RemoveBus { bus: 2 }))
        .unwrap_err();
    for user in [
        "'bus2' is still in use",
        "'bus3' routes to it",
        "'t2' routes to it",
        "'t13' sends to it (s13)",
    ] {
        assert!(refused.0.contains(user), "{user} in: {refused}");
    }
    let more = 300;
    let inputs = |id: &str| input_of(id, (quanta + more) * Q);
    let mut q = quanta;
    let step = |e: &mut Engine, q: &mut usize| {
        let out = quantum(e, &inputs, *q * Q, &[]);
        *q += 1;
        out
    };
    // Half the tracks go, one per quantum, from scattered indices (the later ones shift down).
    for k in 0..64 {
        let tracks = grown.plan().tracks.len();
        grown
            .apply(Command::Structure(StructureChange::RemoveTrack {
                track: (k * 37) % tracks,
            }))
            .unwrap();
        step(&mut grown, &mut q);
    }
    for _ in 0..20 {
        step(&mut grown, &mut q);
    }
    // The 64 that are left, built fresh: the same output from here on (no strip holds state the fresh one lacks).
    let mut half = Engine::new(grown.plan().clone(), SR).unwrap();
    assert_eq!(half.plan().tracks.len(), 64);
    for _ in 0..20 {
        let at = q;
        let (gl, gr) = step(&mut grown, &mut q);
        let (hl, hr) = quantum(&mut half, &inputs, at * Q, &[]);
        assert_close(&gl, &hl, &format!("half, left, quantum {at}"));
        assert_close(&gr, &hr, &format!("half, right, quantum {at}"));
    }
    while !grown.plan().tracks.is_empty() {
        grown
            .apply(Command::Structure(StructureChange::RemoveTrack { track: 0 }))
            .unwrap();
        step(&mut grown, &mut q);
    }
    while !grown.plan().buses.is_empty() {
        // The last bus first: the others route into the earlier ones.
        let bus = grown.plan().buses.len() - 1;
        grown
            .apply(Command::Structure(StructureChange::RemoveBus { bus }))
            .unwrap();
        step(&mut grown, &mut q);
    }
    for _ in 0..4 {
        let (l, r) = step(&mut grown, &mut q);
        assert!(
            l.iter().chain(&r).all(|&x| x == 0.0),
            "silence once every strip has gone"
        );
    }
    grown.refresh_latency();
    assert_eq!(grown.input_count(), 0);
}

/// A playing track with stateful inserts (EQ, compressor) and a send into a bus with a reverb.
fn playing_project() -> Value {
    json!({
        "sampleRate": SR,
        "buses": [{"id": "verb", "inserts": [{"id": "plate", "effect": "plate-reverb"}]}],
        "tracks": [{
            "id": "a", "type": "audio", "volume": -3.0, "pan": 0.3,
            "inserts": [
                {"id": "eq", "effect": "parametric-eq"},
                {"id": "comp", "effect": "compressor", "parameters": {"thresholdDb": -30, "ratio": 4}}
            ],
            "sends": [{"id": "toverb", "destination": "verb", "level": -6.0}]
        }]
    })
}

#[test]
fn adding_tracks_buses_and_sends_leaves_a_playing_track_sample_exact() {
    let quanta = 60;
    let inputs = |id: &str| {
        if id == "a" {
            input_of(id, quanta * Q)
        } else {
            // The new strips produce no sound yet.
            (vec![0.0; quanta * Q], vec![0.0; quanta * Q])
        }
    };
    let mut alone = engine(playing_project());
    let mut changed = engine(playing_project());
    for q in 0..quanta {
        match q {
            10 => changed
                .apply(add_track(Some(0), json!({"id": "b", "type": "audio", "volume": -6.0})))
                .unwrap(),
            12 => changed
                .apply(add_bus(
                    json!({"id": "drums", "inserts": [{"id": "c2", "effect": "compressor"}]}),
                ))
                .unwrap(),
            14 => changed
                .apply(add_track(
                    None,
                    json!({"id": "c", "routing": "drums", "type": "audio",
                    "inserts": [{"id": "eq2", "effect": "parametric-eq"}],
                    "sends": [{"id": "x", "destination": "verb"}]}),
                ))
                .unwrap(),
            16 => changed
                .apply(Command::Structure(StructureChange::AddSend {
                    strip: StripRef::Track(0),
                    send: parse_send(&json!({"id": "b2", "destination": "drums"}), "send", 0, &mut Vec::new()).unwrap(),
                }))
                .unwrap(),
            _ => {}
        }
        let (l0, r0) = quantum(&mut alone, &inputs, q * Q, &[]);
        let (l1, r1) = quantum(&mut changed, &inputs, q * Q, &[]);
        assert_eq!(l0, l1, "left, quantum {q}");
        assert_eq!(r0, r1, "right, quantum {q}");
    }
    assert_eq!(
        changed.plan().tracks.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["b", "a", "c"]
    );
}

#[test]
fn a_removed_track_dips_out_along_its_paths_and_then_the_mix_is_the_project_without_it() {
    let quanta = 30;
    let frames = quanta * Q;
    let inputs = |id: &str| input_of(id, frames);
    let project = |with_b: bool| {
        let mut tracks = vec![json!({"id": "a", "type": "audio", "volume": -2.0})];
        if with_b {
            tracks.push(
                json!({"id": "b", "type": "audio", "volume": -4.0, "pan": -0.5, "routing": "bus",
                "sends": [{"id": "s", "destination": "bus2", "level": -10.0}]}),
            );
        }
        json!({"sampleRate": SR, "tracks": tracks,
               "buses": [{"id": "bus", "volume": -1.0}, {"id": "bus2", "volume": -3.0}]})
    };
    let mut e = engine(project(true));
    // The references: the project without b, and b alone (its output and send with a's input silent).
    let mut without = engine(project(false));
    let mut b_alone = engine(project(true));
    let silent_a = |id: &str| {
        if id == "a" {
            (vec![0.0; frames], vec![0.0; frames])
        } else {
            input_of(id, frames)
        }
    };
    let removed_at = 10;
    for q in 0..quanta {
        if q == removed_at {
            e.apply(Command::Structure(StructureChange::RemoveTrack { track: 1 }))
                .unwrap();
            assert_eq!(e.input_count(), 2, "b reads input 1 while it dips out");
        }
        // After the removal, b's audio is fed after the live tracks (index 1) for its dip.
        let extra: &[&str] = if q >= removed_at { &["b"] } else { &[] };
        let (l, r) = quantum(&mut e, &inputs, q * Q, extra);
        let (wl, wr) = quantum(&mut without, &inputs, q * Q, &[]);
        let (bl, br) = quantum(&mut b_alone, &silent_a, q * Q, &[]);
        // b's share is its dip gain: (F-1-n)/F from the removal's first frame, 0 from frame F-1 on; before it, 1.
        let gain = |n: usize| -> f32 {
            let at = q * Q + n;
            if at < removed_at * Q {
                1.0
            } else {
                let k = at - removed_at * Q;
                (DIP.saturating_sub(k + 1)) as f32 / DIP as f32
            }
        };
        let want_l: Vec<f32> = (0..Q).map(|n| wl[n] + bl[n] * gain(n)).collect();
        let want_r: Vec<f32> = (0..Q).map(|n| wr[n] + br[n] * gain(n)).collect();
        assert_close(&l, &want_l, &format!("left, quantum {q}"));
        assert_close(&r, &want_r, &format!("right, quantum {q}"));
        // No step larger than the dip allows: the mix's step is the references' own step plus b's level / F.
        if q == removed_at {
            for n in 1..Q {
                let allowed = (want_l[n] - want_l[n - 1]).abs() + 1e-6;
                assert!((l[n] - l[n - 1]).abs() <= allowed, "step at frame {n}");
            }
        }
    }
    e.refresh_latency();
    assert_eq!(e.input_count(), 1, "freed between quanta after its dip");
}

#[test]
fn routing_changes_and_sends_sum_right_and_a_cycle_is_refused_naming_it() {
    let quanta = 40;
    let frames = quanta * Q;
    let inputs = |id: &str| input_of(id, frames);
    let project = json!({
        "sampleRate": SR,
        "tracks": [{"id": "t", "type": "audio"}],
        "buses": [{"id": "x", "volume": -6.0}, {"id": "y", "volume": -12.0, "routing": "x"}]
    });
    let mut e = engine(project);
    let (il, ir) = inputs("t");
    // Gains written from the formula (fader dB to gain), independently of the engine.
    let g = |db: f64| 10f64.powf(db / 20.0) as f32;
    let check = |e: &mut Engine, q: usize, gain: f32, what: &str| {
        let (l, r) = quantum(e, &inputs, q * Q, &[]);
        let at = q * Q;
        let want_l: Vec<f32> = il[at..at + Q].iter().map(|x| x * gain).collect();
        let want_r: Vec<f32> = ir[at..at + Q].iter().map(|x| x * gain).collect();
        assert_close(&l, &want_l, what);
        assert_close(&r, &want_r, what);
    };
    check(&mut e, 0, 1.0, "t to the master");
    let route = |to: &str| {
        Command::Structure(StructureChange::Route {
            strip: StripRef::Track(0),
            to: to.into(),
        })
    };
    e.apply(route("x")).unwrap();
    for q in 1..6 {
        quantum(&mut e, &inputs, q * Q, &[]);
    }
    check(&mut e, 6, g(-6.0), "t to bus x");
    e.apply(route("y")).unwrap();
    for q in 7..12 {
        quantum(&mut e, &inputs, q * Q, &[]);
    }
    check(&mut e, 12, g(-12.0) * g(-6.0), "t to bus y, y to x");
    // y -> x -> y: refused, the cycle named, nothing changed.
    let refused = e
        .apply(Command::Structure(StructureChange::Route {
            strip: StripRef::Bus(0),
            to: "y".into(),
        }))
        .unwrap_err();
    assert!(
        refused.0.contains("x -> y -> x") || refused.0.contains("y -> x -> y"),
        "{refused}"
    );
    assert_eq!(e.plan().buses[0].routing_id, "Master");
    check(&mut e, 13, g(-12.0) * g(-6.0), "unchanged after the refused cycle");
    // A post-fader send from t into x at -3 dB: the sum of both paths once its level has glided in (20 ms).
    add_send(&mut e, json!({"id": "s", "destination": "x", "level": -3.0}));
    for q in 14..24 {
        quantum(&mut e, &inputs, q * Q, &[]);
    }
    check(
        &mut e,
        24,
        g(-12.0) * g(-6.0) + g(-3.0) * g(-6.0),
        "output through y and x plus the send into x",
    );
    let duplicate = parse_send(&json!({"id": "s", "destination": "y"}), "send", 1, &mut Vec::new()).unwrap();
    let refused = e
        .apply(Command::Structure(StructureChange::AddSend {
            strip: StripRef::Track(0),
            send: duplicate,
        }))
        .unwrap_err();
    assert!(refused.0.contains("'s' is already used"), "{refused}");
    e.apply(Command::Structure(StructureChange::RemoveSend {
        strip: StripRef::Track(0),
        send: 0,
    }))
    .unwrap();
    // The removed send fades out over the dip's 240 frames (its own test is below).
    quantum(&mut e, &inputs, 25 * Q, &[]);
    quantum(&mut e, &inputs, 26 * Q, &[]);
    check(&mut e, 27, g(-12.0) * g(-6.0), "the send removed");
    // A send into a bus that routes back into the sender would be a cycle too.
    let back = parse_send(&json!({"id": "b", "destination": "y"}), "send", 0, &mut Vec::new()).unwrap();
    let refused = e
        .apply(Command::Structure(StructureChange::AddSend {
            strip: StripRef::Bus(0),
            send: back,
        }))
        .unwrap_err();
    assert!(refused.0.contains("->"), "{refused}");
    let unknown = e.apply(route("nowhere")).unwrap_err();
    assert!(unknown.0.contains("nowhere"), "{unknown}");
}

#[test]
fn a_route_change_and_a_removed_send_crossfade_over_the_dip() {
    let quanta = 30;
    let frames = quanta * Q;
    let inputs = |id: &str| input_of(id, frames);
    let project = json!({
        "sampleRate": SR,
        "tracks": [{"id": "t", "type": "audio"}],
        "buses": [{"id": "x", "volume": -6.0}]
    });
    let mut e = engine(project);
    let (il, ir) = inputs("t");
    let g = |db: f64| 10f64.powf(db / 20.0);
    // The old path fades out linearly over DIP frames from the first frame after the command while the new one
    // fades in, so the master carries input x gain(t), t counted from that frame.
    let check = |e: &mut Engine, from_q: usize, to_q: usize, gain: &dyn Fn(usize) -> f64, what: &str| {
        let (mut got_l, mut got_r, mut want_l, mut want_r) = (vec![], vec![], vec![], vec![]);
        for q in from_q..to_q {
            let (l, r) = quantum(e, &inputs, q * Q, &[]);
            got_l.extend(l);
            got_r.extend(r);
            for i in q * Q..(q + 1) * Q {
                let k = gain(i - from_q * Q);
                want_l.push((f64::from(il[i]) * k) as f32);
                want_r.push((f64::from(ir[i]) * k) as f32);
            }
        }
        assert_close(&got_l, &want_l, what);
        assert_close(&got_r, &want_r, what);
    };
    let ramp = |t: usize| (t as f64 / DIP as f64).min(1.0);
    check(&mut e, 0, 2, &|_| 1.0, "t to the master");
    e.apply(Command::Structure(StructureChange::Route {
        strip: StripRef::Track(0),
        to: "x".into(),
    }))
    .unwrap();
    check(
        &mut e,
        2,
        8,
        &|t| (1.0 - ramp(t)) + ramp(t) * g(-6.0),
        "master -> x: the direct path fades out as the path through x fades in",
    );
    add_send(
        &mut e,
        json!({"id": "s", "destination": "x", "level": -3.0, "prePost": "pre"}),
    );
    for q in 8..20 {
        quantum(&mut e, &inputs, q * Q, &[]);
    }
    e.apply(Command::Structure(StructureChange::RemoveSend {
        strip: StripRef::Track(0),
        send: 0,
    }))
    .unwrap();
    check(
        &mut e,
        20,
        quanta,
        &|t| g(-6.0) + (1.0 - ramp(t)) * g(-3.0) * g(-6.0),
        "the removed pre-fader send fades out",
    );
}

#[test]
fn no_allocation_in_the_quanta_around_structure_commands() {
    let mut e = engine(playing_project());
    let frames = 40 * Q;
    let inputs = |id: &str| input_of(id, frames);
    let ids = ["a", "b", "c", "d"];
    let buffers: Vec<(Vec<f32>, Vec<f32>)> = ids.iter().map(|id| inputs(id)).collect();
    let (mut l, mut r) = (vec![0.0; Q], vec![0.0; Q]);
    let mut allocations = 0;
    for q in 0..40 {
        match q {
            3 => e
                .apply(add_track(
                    None,
                    json!({"id": "b", "type": "audio",
                "inserts": [{"id": "eq", "effect": "parametric-eq"}]}),
                ))
                .unwrap(),
            5 => e
                .apply(add_bus(
                    json!({"id": "bus", "inserts": [{"id": "d", "effect": "ping-pong-delay"}]}),
                ))
                .unwrap(),
            7 => e
                .apply(add_track(
                    Some(0),
                    json!({"id": "c", "type": "audio", "routing": "bus",
                "sends": [{"id": "s", "destination": "verb"}]}),
                ))
                .unwrap(),
            9 => e
                .apply(Command::Structure(StructureChange::Route {
                    strip: StripRef::Track(1),
                    to: "bus".into(),
                }))
                .unwrap(),
            11 => e
                .apply(Command::Structure(StructureChange::RemoveTrack { track: 0 }))
                .unwrap(),
            13 => e
                .apply(Command::Structure(StructureChange::RemoveSend {
                    strip: StripRef::Track(0),
                    send: 0,
                }))
                .unwrap(),
            15 => e
                .apply(Command::Structure(StructureChange::RemoveTrack { track: 1 }))
                .unwrap(),
            _ => {}
        }
        let at = q * Q;
        let blocks: Vec<TrackInput> = buffers
            .iter()
            .map(|(bl, br)| TrackInput::Stereo(&bl[at..at + Q], &br[at..at + Q]))
            .collect();
        allocations += common::allocations_in(|| e.render(Q, &blocks, &mut l, &mut r)).1;
    }
    assert_eq!(allocations, 0);
    assert!(l.iter().any(|&x| x != 0.0));
}

#[test]
fn structure_commands_as_json_name_what_was_wrong() {
    use corelogic_dsp::host::engine::parse_command;
    let mut e = engine(playing_project());
    let apply = |e: &mut Engine, command: Value| -> Result<(), String> {
        let c = parse_command(&command, e.plan())?;
        e.apply(c).map_err(|err| err.0)
    };
    apply(
        &mut e,
        json!({"command": "addTrack", "at": 0, "track": {"id": "bass", "type": "audio", "routing": "verb",
               "sends": [{"destination": "verb", "level": -12}]}}),
    )
    .unwrap();
    assert_eq!(e.plan().tracks[0].id, "bass");
    assert_eq!(e.plan().tracks[0].routing_id, "verb");
    // An aux track adds a bus; a send without an id gets the first free "#n".
    apply(
        &mut e,
        json!({"command": "addTrack", "track": {"id": "aux1", "type": "aux"}}),
    )
    .unwrap();
    assert_eq!(e.plan().buses[1].id, "aux1");
    apply(
        &mut e,
        json!({"command": "addSend", "strip": "bass", "send": {"destination": "aux1"}}),
    )
    .unwrap();
    let ids: Vec<&str> = e.plan().tracks[0].sends.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["#0", "#1"]);
    apply(&mut e, json!({"command": "removeSend", "strip": "bass", "send": "#0"})).unwrap();
    apply(&mut e, json!({"command": "route", "strip": "bass", "to": "Master"})).unwrap();
    assert_eq!(
        e.plan().tracks[0].routing,
        corelogic_dsp::engine::control::plan::Destination::Master
    );
    let cases = [
        (
            json!({"command": "addTrack", "track": {"id": "a", "type": "audio"}}),
            "'a'",
        ),
        (
            json!({"command": "removeTrack", "strip": "ghost"}),
            "no track or bus with id 'ghost'",
        ),
        (json!({"command": "removeBus", "strip": "a"}), "'strip' must name a bus"),
        (
            json!({"command": "removeBus", "strip": "verb"}),
            "'a' sends to it (toverb)",
        ),
        (json!({"command": "route", "strip": "a", "to": "nowhere"}), "nowhere"),
        (json!({"command": "route", "strip": "a"}), "'to'"),
        (json!({"command": "addTrack"}), "'track' (an object) is missing"),
        (
            json!({"command": "removeSend", "strip": "a", "send": "nope"}),
            "no send 'nope' on 'a'",
        ),
    ];
    for (command, message) in cases {
        let before = e.plan().tracks.len();
        let err = apply(&mut e, command.clone()).unwrap_err();
        assert!(err.contains(message), "{command}: {err}");
        assert_eq!(e.plan().tracks.len(), before, "{command} changed nothing");
    }
    apply(&mut e, json!({"command": "removeTrack", "strip": "bass"})).unwrap();
    assert_eq!(e.plan().tracks.len(), 1);
}
