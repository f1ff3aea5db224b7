//! The engine's control side: the project model (app shapes, defaults, bad input naming its JSON path), routing
//! (cycles found by brute force, render order), latency planning on hand-worked graphs, automation curves against
//! the engine contract's formulas evaluated directly in f64, modes, LFOs, recording with thinning, and the transport.

mod common;

use corelogic_dsp::engine::control::automation::{
    compile_all, lane_for, thin, value_source, AutomationMode, CompiledCurve, CurveType, GestureState, InsertPlayer,
    Lane, Lfo, LfoRate, LfoShape, Recorder, ValueSource,
};
use corelogic_dsp::engine::control::project::{
    parse_project, parse_project_value, ClipFrames, ClipPlan, Destination, InsertKind, PointPlan, ProjectPlan,
    StripRef, TargetParam, TrackKind,
};
use corelogic_dsp::engine::control::routing::{
    insert_latencies, plan_latency, render_tail, EdgeKind, InsertLatency, RoutingGraph,
};
use corelogic_dsp::engine::control::transport::{LoopFrames, TimeSignature, Transport};
use corelogic_dsp::engine::control::{Problem, ProjectError, Range};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn parse(value: Value) -> Result<ProjectPlan, ProjectError> {
    parse_project_value(&value, Path::new("/projects/song"))
}

fn error_of(value: Value) -> String {
    parse(value).unwrap_err().to_string()
}

/// The project of the command line's documentation, written out in full.
fn cli_example() -> Value {
    json!({
      "sampleRate": 48000, "bitDepth": 24, "bpm": 120, "timeSignature": "4/4",
      "tracks": [ {
         "id": "t1", "name": "Drums", "type": "audio",
         "audio": { "path": "drums.wav", "startTime": 0.0, "offset": 0.0 },
         "inputGain": 0, "volume": -3, "pan": -0.2, "stereoWidth": 100, "phaseFlip": false,
         "muted": false, "soloed": false, "routing": "Master",
         "inserts": [ {"id": "p1", "name": "EQ", "type": "eq", "enabled": true,
                       "effect": "parametric-eq", "parameters": {"b2GainDb": 3}} ],
         "sends": [ {"id": "s1", "destination": "bus-verb", "level": -12, "prePost": "post", "enabled": true} ] } ],
      "buses": [ {"id": "bus-verb", "name": "Reverb", "volume": 0, "pan": 0, "muted": false, "routing": "Master",
                  "inserts": [ {"id": "p9", "effect": "plate-reverb", "parameters": {"mix": 1}} ] } ],
      "master": { "volume": 0, "inserts": [] },
      "automation": [ {"id": "a1", "trackId": "t1", "parameter": "volume",
                       "points": [ {"time": 0, "value": -60, "curveType": "linear"},
                                   {"time": 2, "value": 0, "curveType": "linear"} ], "mode": "read"} ],
      "loop": null
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Project model
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn the_documented_project_parses_into_a_resolved_plan() {
    let plan = parse(cli_example()).unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(
        (plan.sample_rate, plan.bit_depth, plan.bpm),
        (48_000.0, Some(24), 120.0)
    );
    assert_eq!(
        plan.time_signature,
        TimeSignature {
            beats_per_bar: 4,
            beat_unit: 4
        }
    );
    let t = &plan.tracks[0];
    assert_eq!((t.id.as_str(), t.kind), ("t1", TrackKind::Audio));
    assert_eq!((t.volume_db, t.pan, t.stereo_width_percent), (-3.0, -0.2, 100.0));
    assert_eq!(t.routing, Destination::Master);
    assert_eq!(t.clips.len(), 1);
    assert_eq!(t.clips[0].file, PathBuf::from("/projects/song/drums.wav"));
    assert_eq!(t.clips[0].duration_s, None);
    assert_eq!(t.inserts[0].effect_id(), Some("parametric-eq"));
    match &t.inserts[0].kind {
        InsertKind::Effect { parameters, .. } => assert_eq!(parameters, &vec![("b2GainDb", 3.0)]),
        other => panic!("{other:?}"),
    }
    let s = &t.sends[0];
    assert_eq!(
        (s.destination, s.level_db, s.pre_fader, s.enabled),
        (0, -12.0, false, true)
    );
    assert_eq!(plan.buses[0].inserts[0].effect_id(), Some("plate-reverb"));
    let a = &plan.automation[0];
    assert_eq!(a.target.strip, StripRef::Track(0));
    assert_eq!(a.target.param, TargetParam::Volume);
    assert_eq!(plan.effective_mode(a), AutomationMode::Read);
    assert_eq!(plan.loop_region, None);
}

#[test]
fn the_apps_track_plugin_send_and_bus_shapes_are_accepted_as_they_are() {
    // Field for field as the app's types hold them (dawcontext.md), with its extra fields.
    let project = json!({
        "id": "p", "name": "Song", "sampleRate": 44100, "bitDepth": 16, "bpm": 90, "timeSignature": "6/8",
        "createdAt": "2026-01-01", "updatedAt": "2026-01-02",
        "tracks": [
            {"id": "t1", "name": "Gtr", "type": "audio", "color": "#f00", "muted": false, "soloed": true,
             "armed": false, "inputGain": 2, "volume": -6, "pan": 0.5, "stereoWidth": 80, "phaseFlip": true,
             "duration": 12.5, "parentTrackId": null, "childTrackIds": [], "automationMode": "touch",
             "inserts": [{"id": "pl1", "name": "Comp", "type": "compressor", "enabled": false, "parameters": {}}],
             "sends": [{"id": "sn1", "destination": "b1", "level": -10, "prePost": "pre", "enabled": false}],
             "routing": "b1", "input": "in-1"},
            {"id": "master-main", "name": "Master", "type": "master", "color": "#000", "muted": false,
             "soloed": false, "armed": false, "inputGain": 0, "volume": -1, "pan": 0, "stereoWidth": 100,
             "phaseFlip": false, "automationMode": "off", "inserts": [], "sends": [], "routing": "Master"}
        ],
        "buses": [{"id": "b1", "name": "Bus", "color": "#0f0", "volume": -2, "pan": -0.5, "muted": false,
                   "trackIds": ["t1"], "inserts": []}],
        "automation": [{"id": "c1", "trackId": "t1", "parameter": "pan", "mode": "latch", "recording": false,
                        "points": [{"time": 1, "value": -1, "curveType": "exponential"},
                                   {"time": 2, "value": 1, "curveType": "logarithmic"}]}]
    });
    let plan = parse(project).unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let t = &plan.tracks[0];
    assert_eq!(
        (t.input_gain_db, t.phase_flip, t.soloed, t.stereo_width_percent),
        (2.0, true, true, 80.0)
    );
    assert_eq!(t.routing, Destination::Bus(0));
    assert!(!t.inserts[0].enabled);
    assert!(t.sends[0].pre_fader && !t.sends[0].enabled);
    assert_eq!(t.automation_mode, Some(AutomationMode::Touch));
    assert_eq!((plan.master.id.as_str(), plan.master.volume_db), ("master-main", -1.0));
    assert_eq!(
        plan.time_signature,
        TimeSignature {
            beats_per_bar: 6,
            beat_unit: 8
        }
    );
    // The curve's own mode wins over the track's automationMode.
    assert_eq!(plan.effective_mode(&plan.automation[0]), AutomationMode::Latch);
}

#[test]
fn each_app_plugin_type_maps_to_its_default_effect() {
    // docs/project.md: eq -> parametric-eq, compressor, gate, saturation, delay -> simple-delay with mix 0.3,
    // reverb -> freeverb with dry 0.5 and wet 1/3; meter and utility pass audio through; unknown: bypassed.
    let types = [
        "eq",
        "compressor",
        "gate",
        "saturation",
        "delay",
        "reverb",
        "meter",
        "utility",
        "third-party",
    ];
    let inserts: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("p{i}"), "name": t, "type": t, "enabled": true, "parameters": {}}))
        .collect();
    let plan = parse(json!({"tracks": [{"id": "t", "type": "audio", "inserts": inserts}]})).unwrap();
    let got: Vec<Option<&str>> = plan.tracks[0].inserts.iter().map(|p| p.effect_id()).collect();
    let want = [
        Some("parametric-eq"),
        Some("compressor"),
        Some("gate"),
        Some("saturation"),
        Some("simple-delay"),
        Some("freeverb"),
        None,
        None,
        None,
    ];
    assert_eq!(got, want);
    let inserts = &plan.tracks[0].inserts;
    assert_eq!(inserts[6].kind, InsertKind::PassThrough);
    assert_eq!(inserts[7].kind, InsertKind::PassThrough);
    assert_eq!(inserts[8].kind, InsertKind::Bypassed);
    assert_eq!(plan.warnings.len(), 1);
    assert_eq!(plan.warnings[0].path, "tracks[0].inserts[8].type");
    // The values each default effect is created with, read back from the created effect.
    let created = |k: usize, name: &str| -> f64 {
        let InsertKind::Effect {
            entry,
            preset,
            parameters,
            ..
        } = &inserts[k].kind
        else {
            panic!()
        };
        let effect = entry
            .create(48_000.0, preset.as_deref(), parameters.iter().map(|(n, v)| (*n, *v)))
            .unwrap();
        effect.param(entry.spec.index_of(name).unwrap())
    };
    assert_eq!(created(4, "mix"), 0.3);
    assert_eq!(created(4, "timeMs"), 500.0);
    assert_eq!(created(5, "dry"), 0.5);
    assert!((created(5, "wet") - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(created(1, "ratio"), 4.0);
    // App parameters on a typed plugin layer over the default effect's values, and are validated against it.
    let plan = parse(json!({"tracks": [{"id": "t", "inserts": [
        {"id": "d", "type": "delay", "parameters": {"mix": 0.8, "timeMs": 250}}]}]}))
    .unwrap();
    let InsertKind::Effect { parameters, .. } = &plan.tracks[0].inserts[0].kind else {
        panic!()
    };
    assert_eq!(parameters, &vec![("mix", 0.8), ("timeMs", 250.0)]);
    let e = error_of(json!({"tracks": [{"id": "t", "inserts": [
        {"id": "d", "type": "reverb", "parameters": {"decaySeconds": 2}}]}]}));
    assert!(
        e.starts_with("tracks[0].inserts[0].parameters.decaySeconds: effect 'freeverb' has no parameter"),
        "{e}"
    );
}

#[test]
fn track_types_audio_instrument_midi_aux_vca_and_master() {
    let plan = parse(json!({"tracks": [
        {"id": "a", "type": "audio"},
        {"id": "i", "type": "instrument"},
        {"id": "m", "type": "midi", "routing": "x"},
        {"id": "x", "type": "aux", "volume": -4, "inserts": [{"id": "c", "effect": "compressor"}]},
        {"id": "v", "type": "vca"},
        {"id": "master-main", "type": "master", "volume": -2}
    ]}))
    .unwrap();
    let kinds: Vec<TrackKind> = plan.tracks.iter().map(|t| t.kind).collect();
    assert_eq!(kinds, [TrackKind::Audio, TrackKind::Instrument, TrackKind::Midi]);
    assert_eq!(plan.buses.len(), 1);
    assert_eq!((plan.buses[0].id.as_str(), plan.buses[0].volume_db), ("x", -4.0));
    assert_eq!(plan.tracks[2].routing, Destination::Bus(0));
    assert_eq!(plan.master.volume_db, -2.0);
    assert_eq!(plan.warnings.len(), 1);
    assert_eq!(plan.warnings[0].path, "tracks[4]");
    assert!(plan.warnings[0].message.contains("vca"));
}

#[test]
fn master_main_and_master_given_together_are_rejected() {
    let e = error_of(json!({"tracks": [{"id": "master-main", "type": "master"}], "master": {"volume": 0}}));
    assert_eq!(e, "master: the master is already given at tracks[0]");
    let e = error_of(json!({"tracks": [{"id": "master-main", "type": "master"}, {"id": "m2", "type": "master"}]}));
    assert_eq!(e, "tracks[1]: the master is already given at tracks[0]");
    // Either alone is fine, and automation may target it as "master".
    for project in [
        json!({"tracks": [{"id": "master-main", "type": "master", "volume": -3}]}),
        json!({"master": {"volume": -3}}),
    ] {
        let mut project = project;
        project["automation"] = json!([{"trackId": "master", "parameter": "volume",
                                         "points": [{"time": 0, "value": -6}]}]);
        let plan = parse(project).unwrap();
        assert_eq!(plan.master.volume_db, -3.0);
        assert_eq!(plan.automation[0].target.strip, StripRef::Master);
    }
}

/// A change that breaks a valid project.
type Edit = Box<dyn Fn(&mut Value)>;

/// Each bad project and the exact start of its message: the JSON path, then what was wrong.
#[test]
fn bad_projects_name_the_json_path_of_the_problem() {
    let base = || {
        json!({"tracks": [{"id": "t1"}, {"id": "t2"},
        {"id": "t3", "inserts": [{"id": "c", "effect": "compressor"}], "sends": [{"id": "s", "destination": "b"}]}],
        "buses": [{"id": "b"}]})
    };
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|p| p["tracks"][2]["inserts"][0]["parameters"] = json!({"ratio": 40})),
         "tracks[2].inserts[0].parameters.ratio: effect 'compressor': parameter 'ratio' = 40 is out of range; allowed: a number from 1 to 20"),
        (Box::new(|p| p["tracks"][2]["inserts"][0]["parameters"] = json!({"detector": 0.5})),
         "tracks[2].inserts[0].parameters.detector: effect 'compressor': parameter 'detector' = 0.5 must be a whole number"),
        (Box::new(|p| p["tracks"][2]["inserts"][0]["parameters"] = json!({"speed": 1})),
         "tracks[2].inserts[0].parameters.speed: effect 'compressor' has no parameter 'speed'"),
        (Box::new(|p| p["tracks"][2]["inserts"][0]["effect"] = json!("flanger")),
         "tracks[2].inserts[0].effect: unknown effect 'flanger' (effects: parametric-eq,"),
        (Box::new(|p| p["tracks"][2]["inserts"][0]["preset"] = json!("huge")),
         "tracks[2].inserts[0].preset: effect 'compressor' has no preset 'huge'"),
        (Box::new(|p| p["tracks"][2]["inserts"][0] = json!({"id": "x", "name": "no effect"})),
         "tracks[2].inserts[0]: missing key 'effect'"),
        (Box::new(|p| p["tracks"][2]["inserts"][0]["curve"] = json!([0, 1])),
         "tracks[2].inserts[0].curve: effect 'compressor' takes no curve"),
        (Box::new(|p| p["tracks"][0]["volume"] = json!(20)),
         "tracks[0].volume: 20 dB is out of range (allowed: -144 to 12 dB)"),
        (Box::new(|p| p["tracks"][0]["pan"] = json!("left")), "tracks[0].pan: expected a number, found a string"),
        (Box::new(|p| p["tracks"][1]["stereoWidth"] = json!(-5)), "tracks[1].stereoWidth: -5 % is out of range"),
        (Box::new(|p| p["tracks"][1]["type"] = json!("video")),
         "tracks[1].type: unknown value 'video' (allowed: audio, instrument, midi, aux, vca, master)"),
        (Box::new(|p| p["tracks"][1]["routing"] = json!("nowhere")),
         "tracks[1].routing: 'nowhere' names no bus (allowed: Master, b)"),
        (Box::new(|p| p["tracks"][1]["routing"] = json!("t3")), "tracks[1].routing: 't3' is a track, not a bus"),
        (Box::new(|p| p["tracks"][2]["sends"][0]["destination"] = json!("zz")),
         "tracks[2].sends[0].destination: 'zz' names no bus"),
        (Box::new(|p| p["tracks"][2]["sends"][0]["prePost"] = json!("mid")),
         "tracks[2].sends[0].prePost: unknown value 'mid' (allowed: pre, post)"),
        (Box::new(|p| p["tracks"][1]["id"] = json!("b")), "buses[0].id: id 'b' is already used at tracks[1]"),
        (Box::new(|p| p["tracks"][2]["inserts"].as_array_mut().unwrap().push(json!({"id": "c", "effect": "gate"}))),
         "tracks[2].inserts[1].id: id 'c' is already used at tracks[2].inserts[0]"),
        (Box::new(|p| p["tracks"][0].as_object_mut().unwrap().remove("id").map(|_| ()).unwrap()),
         "tracks[0]: missing key 'id'"),
        (Box::new(|p| p["tracks"][0]["clips"] = json!([{"path": "a.wav", "fadeIn": -1}])),
         "tracks[0].clips[0].fadeIn: -1 s is out of range"),
        (Box::new(|p| p["tracks"][0]["clips"] = json!([{"startTime": 1}])), "tracks[0].clips[0]: missing key 'path'"),
        (Box::new(|p| p["buses"][0]["trackIds"] = json!(["t1"])),
         "buses[0].trackIds[0]: bus 'b' and track 't1' disagree: the track's routing (tracks[0].routing) is 'Master'"),
        (Box::new(|p| { p["tracks"][0]["routing"] = json!("b"); p["buses"][0]["trackIds"] = json!([]); }),
         "buses[0].trackIds: bus 'b' and track 't1' disagree: the track's routing (tracks[0].routing) is 'b'"),
        (Box::new(|p| p["buses"][0]["routing"] = json!("b")), "buses[0].routing: routing cycle: b -> b"),
        (Box::new(|p| p["tracks"][2]["inserts"][0]["sidechain"] = json!("nobody")),
         "tracks[2].inserts[0].sidechain: no track or bus 'nobody'"),
        (Box::new(|p| p["tracks"][2]["inserts"][0] = json!({"id": "e", "effect": "parametric-eq", "sidechain": "t1"})),
         "tracks[2].inserts[0].sidechain: effect 'parametric-eq' takes no sidechain"),
        (Box::new(|p| p["sampleRate"] = json!(4000)), "sampleRate: 4000 Hz is out of range (allowed: 8000 to 192000 Hz)"),
        (Box::new(|p| p["bitDepth"] = json!(20)), "bitDepth: unknown value '20' (allowed: 16, 24, 32)"),
        (Box::new(|p| p["timeSignature"] = json!("4/5")), "timeSignature: unknown value '4/5'"),
        (Box::new(|p| p["loop"] = json!({"enabled": true, "startTime": 4, "endTime": 2})), "loop.endTime: 2 s must be after startTime (4 s)"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t9", "parameter": "volume", "points": [{"time": 0, "value": 0}]}])),
         "automation[0].trackId: no track or bus 't9' (known: t1, t2, t3, b, master)"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t3", "parameter": "volume",
            "points": [{"time": 0, "value": 0}, {"time": 1, "value": 30}]}])),
         "automation[0].points[1].value: 30 dB is out of range (allowed: -144 to 12 dB)"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t3", "parameter": "inserts.c.ratio",
            "points": [{"time": 0, "value": 0.5}]}])),
         "automation[0].points[0].value: effect 'compressor': parameter 'ratio' = 0.5 is out of range"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t3", "parameter": "inserts.c.detector",
            "points": [{"time": 0, "value": 1}]}])),
         "automation[0].parameter: parameter 'inserts.c.detector' cannot be automated"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t3", "parameter": "inserts.q.ratio",
            "points": [{"time": 0, "value": 2}]}])),
         "automation[0].parameter: no insert 'q' (known: c)"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t3", "parameter": "sends.zz.level",
            "points": [{"time": 0, "value": 2}]}])),
         "automation[0].parameter: no send 'zz' (known: s)"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "b", "parameter": "stereoWidth",
            "points": [{"time": 0, "value": 2}]}])),
         "automation[0].parameter: parameter 'stereoWidth' cannot be automated: only tracks have it"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "master", "parameter": "pan",
            "points": [{"time": 0, "value": 0}]}])),
         "automation[0].parameter: parameter 'pan' cannot be automated: the master has no pan"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t1", "parameter": "volume",
            "points": [{"time": 0, "value": 0, "curveType": "cubic"}]}])),
         "automation[0].points[0].curveType: unknown value 'cubic' (allowed: linear, exponential, logarithmic, smooth, step)"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t1", "parameter": "volume", "points": []}])),
         "automation[0]: an automation entry needs at least one point or an lfo"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t1", "parameter": "pan",
            "lfo": {"shape": "sine", "rateHz": 1, "periodBeats": 1, "depth": 0.5}}])),
         "automation[0].lfo: give exactly one of rateHz, periodBeats"),
        (Box::new(|p| p["automation"] = json!([{"trackId": "t1", "parameter": "pan",
            "lfo": {"shape": "sine", "rateHz": 1, "depth": 5}}])),
         "automation[0].lfo.depth: 5 is out of range (allowed: 0 to 2)"),
    ];
    for (i, (edit, want)) in cases.iter().enumerate() {
        let mut project = base();
        edit(&mut project);
        let e = error_of(project);
        assert!(
            e.starts_with(want),
            "case {i}: got\n  {e}\nwanted it to start with\n  {want}"
        );
    }
    let e = parse_project("{\"tracks\": [}", Path::new(".")).unwrap_err();
    assert!(matches!(*e.problem, Problem::Malformed(_)), "{e}");
    assert!(e.to_string().contains("line 1 column"), "{e}");
    let e = error_of(json!([1]));
    assert_eq!(e, "expected an object, found an array");
}

#[test]
fn unknown_keys_are_warned_with_their_path_not_rejected() {
    let plan = parse(json!({"tracks": [{"id": "t", "volumee": -3}], "extra": 1})).unwrap();
    let paths: Vec<&str> = plan.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, ["extra", "tracks[0].volumee"]);
}

#[test]
fn sidechains_resolve_to_their_source_strip() {
    let plan = parse(json!({"tracks": [
        {"id": "kick"},
        {"id": "bass", "inserts": [{"id": "c", "effect": "compressor", "sidechain": "kick"}]}]}))
    .unwrap();
    let sc = plan.tracks[1].inserts[0].sidechain.as_ref().unwrap();
    assert_eq!(sc.source, Some(StripRef::Track(0)));
    // A key from a strip downstream of the insert is a cycle: bus -> track's compressor -> bus.
    let e = error_of(json!({"tracks": [
        {"id": "t", "routing": "b", "inserts": [{"id": "c", "effect": "gate", "sidechain": "b"}]}],
        "buses": [{"id": "b"}]}));
    assert!(
        e.contains("routing cycle: ") && (e.contains("t -> b -> t") || e.contains("b -> t -> b")),
        "{e}"
    );
}

/// the engine contract's clip gain, computed directly: 10^(gain/20) x min(1, n/Fi, (d-n)/Fo), zero fades left out.
#[test]
fn clip_gain_follows_the_formula_with_fades_scaled_when_they_overlap() {
    let sr = 48_000.0;
    let clip = |duration: f64, fade_in: f64, fade_out: f64| ClipPlan {
        path: "c".into(),
        file: "a.wav".into(),
        start_s: 1.25,
        offset_s: 0.5,
        duration_s: Some(duration),
        gain_db: -6.0,
        fade_in_s: fade_in,
        fade_out_s: fade_out,
    };
    let frames = ClipFrames::new(&clip(2.0, 0.1, 0.25), sr, 10 * 48_000);
    assert_eq!((frames.start, frames.offset, frames.duration), (60_000, 24_000, 96_000));
    assert_eq!((frames.fade_in, frames.fade_out), (4_800, 12_000));
    let g = 10f64.powf(-6.0 / 20.0);
    for n in [0u64, 1, 2_400, 4_799, 4_800, 50_000, 84_000, 90_000, 95_999, 96_000] {
        let mut want = g;
        if n < 96_000 {
            want *= 1f64.min(n as f64 / 4_800.0).min((96_000 - n) as f64 / 12_000.0);
        } else {
            want = 0.0;
        }
        assert!(
            (frames.gain_at(n) - want).abs() < 1e-12,
            "n {n}: {} vs {want}",
            frames.gain_at(n)
        );
    }
    // Fades of 1 s + 3 s on a 2 s clip scale to 0.5 s + 1.5 s.
    let frames = ClipFrames::new(&clip(2.0, 1.0, 3.0), sr, 10 * 48_000);
    assert_eq!((frames.fade_in, frames.fade_out), (24_000, 72_000));
    // No duration: to the end of the file after the offset.
    let mut open = clip(0.0, 0.0, 0.0);
    open.duration_s = None;
    let frames = ClipFrames::new(&open, sr, 100_000);
    assert_eq!(frames.duration, 100_000 - 24_000);
    assert_eq!(frames.gain_at(0), g);
}

// ---------------------------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------------------------

/// xorshift64* (Vigna 2016), for reproducible random graphs written here independently of the crate.
struct Rand(u64);

impl Rand {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A graph of `tracks` tracks, `buses` buses and the master with random outputs and sends.
fn random_graph(rand: &mut Rand, tracks: usize, buses: usize, acyclic: bool) -> RoutingGraph {
    let mut g = RoutingGraph::new();
    for t in 0..tracks {
        g.add_node(StripRef::Track(t), format!("t{t}"));
    }
    for b in 0..buses {
        g.add_node(StripRef::Bus(b), format!("b{b}"));
    }
    g.add_node(StripRef::Master, "master");
    // In an acyclic graph a bus only feeds buses with a higher index.
    let dest = |rand: &mut Rand, from_bus: Option<usize>| -> StripRef {
        let lowest = match (acyclic, from_bus) {
            (true, Some(b)) => b + 1,
            _ => 0,
        };
        if lowest >= buses || rand.below(3) == 0 {
            StripRef::Master
        } else {
            StripRef::Bus(lowest + rand.below((buses - lowest) as u64) as usize)
        }
    };
    for t in 0..tracks {
        let to = dest(rand, None);
        g.add_edge(StripRef::Track(t), to, EdgeKind::Output, format!("tracks[{t}].routing"));
        if rand.below(2) == 0 && buses > 0 {
            let to = StripRef::Bus(rand.below(buses as u64) as usize);
            g.add_edge(
                StripRef::Track(t),
                to,
                EdgeKind::Send {
                    send: 0,
                    pre_fader: true,
                },
                "send",
            );
        }
    }
    for b in 0..buses {
        let to = dest(rand, Some(b));
        g.add_edge(StripRef::Bus(b), to, EdgeKind::Output, format!("buses[{b}].routing"));
        if rand.below(3) == 0 {
            if let StripRef::Bus(_) = dest(rand, Some(b)) {
                let to = dest(rand, Some(b));
                if to != StripRef::Master {
                    g.add_edge(
                        StripRef::Bus(b),
                        to,
                        EdgeKind::Send {
                            send: 0,
                            pre_fader: false,
                        },
                        "send",
                    );
                }
            }
        }
    }
    g
}

/// Brute force: the transitive closure by repeated relaxation; a cycle exists iff a node reaches itself.
fn has_cycle_brute_force(g: &RoutingGraph) -> bool {
    let n = g.nodes.len();
    let at = |s: StripRef| g.nodes.iter().position(|x| *x == s).unwrap();
    let mut reach = vec![vec![false; n]; n];
    for e in &g.edges {
        reach[at(e.from)][at(e.to)] = true;
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if reach[i][k] && reach[k][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    (0..n).any(|i| reach[i][i])
}

#[test]
fn cycles_are_found_as_brute_force_finds_them_and_named_as_real_cycles() {
    let mut rand = Rand(0x9E37_79B9_7F4A_7C15);
    let (mut cyclic, mut acyclic) = (0, 0);
    for round in 0..400 {
        let g = random_graph(&mut rand, 1 + round % 7, round % 6, round % 2 == 0);
        let expect_cycle = has_cycle_brute_force(&g);
        match g.render_order() {
            Ok(order) => {
                assert!(!expect_cycle, "round {round}: a cycle was missed");
                acyclic += 1;
                assert_eq!(order.len(), g.nodes.len());
                for e in &g.edges {
                    let pos = |s| order.iter().position(|x| *x == s).unwrap();
                    assert!(pos(e.from) < pos(e.to), "round {round}: {:?} after {:?}", e.from, e.to);
                }
            }
            Err(e) => {
                assert!(expect_cycle, "round {round}: no cycle, yet {e}");
                cyclic += 1;
                let Problem::Cycle(names) = &*e.problem else {
                    panic!("{e}")
                };
                let names: Vec<&str> = names.split(" -> ").collect();
                assert!(names.len() >= 2 && names.first() == names.last(), "{names:?}");
                let node = |id: &str| g.nodes[g.ids.iter().position(|x| x == id).unwrap()];
                for pair in names.windows(2) {
                    let (from, to) = (node(pair[0]), node(pair[1]));
                    assert!(
                        g.edges.iter().any(|e| e.from == from && e.to == to),
                        "round {round}: {names:?} has no edge {} -> {}",
                        pair[0],
                        pair[1]
                    );
                }
                // The error sits at the path of an edge of the cycle.
                assert!(g.edges.iter().any(|edge| edge.path == e.path), "{}", e.path);
            }
        }
    }
    assert!(cyclic > 20 && acyclic > 20, "{cyclic} cyclic, {acyclic} acyclic");
}

#[test]
fn a_bus_cycle_in_a_project_is_named() {
    let e = error_of(json!({"buses": [{"id": "bus-a", "routing": "bus-b"}, {"id": "bus-b", "routing": "bus-a"}]}));
    // The error sits at the cycle's first edge: bus-a's routing to bus-b.
    assert_eq!(e, "buses[0].routing: routing cycle: bus-a -> bus-b -> bus-a");
    // Through a send: t -> bus-a (routing) -> bus-b (send) -> bus-a.
    let e = error_of(json!({"tracks": [{"id": "t", "routing": "bus-a"}],
        "buses": [{"id": "bus-a", "routing": "bus-b"},
                  {"id": "bus-b", "sends": [{"id": "s", "destination": "bus-a", "enabled": false}]}]}));
    assert!(
        e.ends_with("routing cycle: bus-a -> bus-b -> bus-a") || e.ends_with("bus-b -> bus-a -> bus-b"),
        "{e}"
    );
}

fn lat(current: usize, max: usize) -> InsertLatency {
    InsertLatency { current, max }
}

/// The hand-worked graph: t1 [100] -> A [50] -> master; t2 [] -> master and a post send to A; t3 [] -> B [30] -> A.
fn hand_graph() -> (RoutingGraph, Vec<Vec<InsertLatency>>) {
    let mut g = RoutingGraph::new();
    for (s, id) in [
        (StripRef::Track(0), "t1"),
        (StripRef::Track(1), "t2"),
        (StripRef::Track(2), "t3"),
        (StripRef::Bus(0), "A"),
        (StripRef::Bus(1), "B"),
        (StripRef::Master, "master"),
    ] {
        g.add_node(s, id);
    }
    let post = EdgeKind::Send {
        send: 0,
        pre_fader: false,
    };
    g.add_edge(StripRef::Track(0), StripRef::Bus(0), EdgeKind::Output, "e0");
    g.add_edge(StripRef::Track(1), StripRef::Master, EdgeKind::Output, "e1");
    g.add_edge(StripRef::Track(1), StripRef::Bus(0), post, "e2");
    g.add_edge(StripRef::Track(2), StripRef::Bus(1), EdgeKind::Output, "e3");
    g.add_edge(StripRef::Bus(1), StripRef::Bus(0), EdgeKind::Output, "e4");
    g.add_edge(StripRef::Bus(0), StripRef::Master, EdgeKind::Output, "e5");
    let latencies = vec![
        vec![lat(100, 480)],
        vec![],
        vec![],
        vec![lat(50, 50)],
        vec![lat(30, 60)],
        vec![],
    ];
    (g, latencies)
}

#[test]
fn latency_plan_of_a_hand_worked_graph() {
    let (g, latencies) = hand_graph();
    let order = g.render_order().unwrap();
    let plan = plan_latency(&g, &order, &latencies);
    // Worked by hand: out(t1) = 100, out(t2) = out(t3) = 0, out(B) = 30; A aligns to 100 and outputs 150;
    // the master aligns to 150.
    let outputs: Vec<usize> = plan.nodes.iter().map(|n| n.output).collect();
    assert_eq!(outputs, [100, 0, 0, 150, 30, 150]);
    let alignments: Vec<usize> = plan.nodes.iter().map(|n| n.alignment).collect();
    assert_eq!(alignments, [0, 0, 0, 100, 0, 150]);
    let delays: Vec<usize> = plan.edges.iter().map(|e| e.delay).collect();
    assert_eq!(delays, [0, 150, 100, 0, 70, 0]);
    assert_eq!(plan.total, 150);
    // With maximum latencies: A aligns to max(480, 0, 60) = 480 and outputs 530; the master aligns to 530.
    let capacities: Vec<usize> = plan.edges.iter().map(|e| e.capacity).collect();
    assert_eq!(capacities, [480, 530, 480, 0, 480, 530]);
    assert_eq!(plan.total_max, 530);
    assert_eq!(plan.nodes[3].upstream_of_insert(0), 100);
    assert_eq!(plan.nodes[3].upstream_of_insert(1), 150);
}

#[test]
fn a_sidechain_key_later_than_its_insert_raises_the_strips_alignment() {
    // t1 [eq 100, compressor 0] keyed from t2 [limiter 240]; both to the master.
    let mut g = RoutingGraph::new();
    g.add_node(StripRef::Track(0), "t1");
    g.add_node(StripRef::Track(1), "t2");
    g.add_node(StripRef::Master, "master");
    g.add_edge(StripRef::Track(0), StripRef::Master, EdgeKind::Output, "a");
    g.add_edge(StripRef::Track(1), StripRef::Master, EdgeKind::Output, "b");
    g.add_edge(
        StripRef::Track(1),
        StripRef::Track(0),
        EdgeKind::Sidechain { insert: 1 },
        "c",
    );
    let latencies = vec![vec![lat(100, 100), lat(0, 0)], vec![lat(240, 480)], vec![]];
    let order = g.render_order().unwrap();
    assert_eq!(order, [StripRef::Track(1), StripRef::Track(0), StripRef::Master]);
    let plan = plan_latency(&g, &order, &latencies);
    // The key arrives at 240; the compressor sits 100 after t1's input, so t1's input is delayed by 140.
    assert_eq!(plan.nodes[0].alignment, 140);
    assert_eq!(plan.nodes[0].input_delay, 140);
    assert_eq!(plan.nodes[0].before_insert, [140, 240]);
    assert_eq!(plan.nodes[0].output, 240);
    let delays: Vec<usize> = plan.edges.iter().map(|e| e.delay).collect();
    assert_eq!(delays, [0, 0, 0]);
    assert_eq!(plan.total, 240);
    // An earlier key is delayed instead: with the limiter at 40 the key waits 60 frames.
    let latencies = vec![vec![lat(100, 100), lat(0, 0)], vec![lat(40, 480)], vec![]];
    let plan = plan_latency(&g, &order, &latencies);
    assert_eq!(plan.nodes[0].alignment, 0);
    assert_eq!(plan.edges[2].delay, 60);
    assert_eq!(plan.edges[1].delay, 60);
}

/// Every path from a track's input to the master, by depth-first enumeration: its latency is the track's input
/// delay plus, along the path, each strip's insert latencies and each edge's delay (sidechain edges end inside a
/// strip, at their insert).
fn path_latencies(
    g: &RoutingGraph,
    latencies: &[Vec<InsertLatency>],
    plan: &corelogic_dsp::engine::control::routing::LatencyPlan,
) -> Vec<usize> {
    let at = |s: StripRef| g.nodes.iter().position(|x| *x == s).unwrap();
    let chain = |n: usize, upto: usize| latencies[n][..upto].iter().map(|l| l.current).sum::<usize>();
    let mut out = Vec::new();
    // (node, latency so far at the node's input after its alignment delay, or inside the chain at an insert)
    let mut stack: Vec<(usize, usize, usize)> = Vec::new();
    for (i, s) in g.nodes.iter().enumerate() {
        if matches!(s, StripRef::Track(_)) {
            stack.push((i, plan.nodes[i].input_delay, 0));
        }
    }
    while let Some((n, so_far, from_insert)) = stack.pop() {
        let at_output = so_far + chain(n, latencies[n].len()) - chain(n, from_insert);
        if g.nodes[n] == StripRef::Master {
            out.push(at_output);
            continue;
        }
        for (e, edge) in g.edges.iter().enumerate().filter(|(_, e)| at(e.from) == n) {
            let to = at(edge.to);
            let arrive = at_output + plan.edges[e].delay;
            match edge.kind {
                EdgeKind::Sidechain { insert } => {
                    // The key must meet the main signal at the insert.
                    assert_eq!(arrive, plan.nodes[to].before_insert[insert], "key misaligned");
                }
                _ => stack.push((to, arrive, 0)),
            }
        }
    }
    out
}

#[test]
fn every_path_to_the_master_has_the_same_latency_and_delays_fit_their_capacity() {
    let mut rand = Rand(42);
    let mut sidechains = 0;
    for round in 0..300 {
        let tracks = 1 + round % 9;
        let mut g = random_graph(&mut rand, tracks, round % 5, true);
        let latencies: Vec<Vec<InsertLatency>> = g
            .nodes
            .iter()
            .map(|_| {
                (0..rand.below(3))
                    .map(|_| {
                        let max = rand.below(500) as usize;
                        lat(rand.below(max as u64 + 1) as usize, max)
                    })
                    .collect()
            })
            .collect();
        // Sidechain keys from a lower-numbered track into an insert of a higher one (still acyclic).
        let mut keys = 0;
        for (t, chain) in latencies.iter().enumerate().take(tracks).skip(1) {
            if !chain.is_empty() && rand.below(2) == 0 {
                let insert = rand.below(chain.len() as u64) as usize;
                let source = StripRef::Track(rand.below(t as u64) as usize);
                g.add_edge(source, StripRef::Track(t), EdgeKind::Sidechain { insert }, "key");
                keys += 1;
            }
        }
        sidechains += keys;
        let order = g.render_order().unwrap();
        let plan = plan_latency(&g, &order, &latencies);
        let paths = path_latencies(&g, &latencies, &plan);
        assert!(!paths.is_empty());
        assert!(
            paths.iter().all(|&p| p == plan.total),
            "round {round}: {paths:?} vs {}",
            plan.total
        );
        for (e, d) in plan.edges.iter().enumerate() {
            assert!(d.delay <= d.capacity, "round {round}: edge {e} {d:?}");
        }
        assert!(plan.total <= plan.total_max);
    }
    assert!(sidechains > 50, "only {sidechains} sidechains exercised");
}

// ---------------------------------------------------------------------------------------------------------------
// Automation
// ---------------------------------------------------------------------------------------------------------------

fn point(time_s: f64, value: f64, curve: CurveType) -> PointPlan {
    PointPlan { time_s, value, curve }
}

/// the engine contract's segment formulas, written out in f64 (u the fraction of the way in frames).
fn formula(curve: CurveType, v0: f64, v1: f64, u: f64) -> f64 {
    match curve {
        CurveType::Linear => v0 + (v1 - v0) * u,
        CurveType::Exponential => v0 + (v1 - v0) * u.powi(2),
        CurveType::Logarithmic => v0 + (v1 - v0) * (1.0 - (1.0 - u).powi(2)),
        CurveType::Smooth => v0 + (v1 - v0) * (3.0 * u.powi(2) - 2.0 * u.powi(3)),
        CurveType::Step => v0,
    }
}

const DB: Range = Range::new(-144.0, 12.0, "dB");

fn lane(points: &[PointPlan], sample_rate: f64) -> Lane {
    Lane::new(
        CompiledCurve::compile(points, sample_rate),
        -99.0,
        DB,
        sample_rate,
        120.0,
    )
}

#[test]
fn each_curve_type_follows_its_formula_per_sample_in_any_block_sizes() {
    let sr = 44_100.0;
    for curve in CurveType::ALL {
        // -40 dB at 0.5 s to -6 dB at 1.25 s, then 0 dB at 2 s; frames 22050, 55125, 88200.
        let points = [
            point(0.5, -40.0, curve),
            point(1.25, -6.0, curve),
            point(2.0, 0.0, CurveType::Linear),
        ];
        let lane = lane(&points, sr);
        let expected = |f: u64| -> f64 {
            let (f0, f1, f2) = (22_050u64, 55_125u64, 88_200u64);
            if f < f0 {
                -40.0
            } else if f < f1 {
                formula(curve, -40.0, -6.0, (f - f0) as f64 / (f1 - f0) as f64)
            } else if f < f2 {
                formula(curve, -6.0, 0.0, (f - f1) as f64 / (f2 - f1) as f64)
            } else {
                0.0
            }
        };
        let total = 100_000usize;
        let mut whole = vec![0f32; total];
        lane.fill(0, &mut whole);
        for (f, &v) in whole.iter().enumerate() {
            let want = expected(f as u64);
            assert!((lane.value_at(f as u64) - want).abs() < 1e-9, "{curve:?} frame {f}");
            assert!(
                (v as f64 - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{curve:?} frame {f}: {v} vs {want}"
            );
        }
        // Blocks of varying sizes (1 to 4096) give the same samples.
        let mut pieces = vec![0f32; total];
        let (mut start, mut rand) = (0usize, Rand(curve as u64 + 7));
        while start < total {
            let len = (1 + rand.below(4096) as usize).min(total - start);
            lane.fill(start as u64, &mut pieces[start..start + len]);
            start += len;
        }
        assert_eq!(pieces, whole, "{curve:?}");
    }
    // A step is a step: the value holds to the frame before the next point and jumps on it.
    let lane = lane(
        &[point(0.0, -20.0, CurveType::Step), point(1.0, 0.0, CurveType::Step)],
        48_000.0,
    );
    assert_eq!((lane.value_at(47_999), lane.value_at(48_000)), (-20.0, 0.0));
}

#[test]
fn points_are_put_on_frames_sorted_and_the_last_on_a_frame_wins() {
    let sr = 48_000.0;
    // Given out of order; 1.00001 s rounds to the frame of 1 s (48000.48 -> 48000), and is given later.
    let points = [
        point(2.0, 4.0, CurveType::Linear),
        point(1.0, 1.0, CurveType::Linear),
        point(0.5, 0.0, CurveType::Linear),
        point(1.00001, 2.0, CurveType::Linear),
    ];
    let curve = CompiledCurve::compile(&points, sr);
    let frames: Vec<(u64, f64)> = curve.points.iter().map(|p| (p.frame, p.value)).collect();
    assert_eq!(frames, [(24_000, 0.0), (48_000, 2.0), (96_000, 4.0)]);
    let lane = lane(&points, sr);
    assert_eq!(lane.value_at(0), 0.0); // before the first point: the first value
    assert_eq!(lane.value_at(36_000), 1.0); // halfway from 0 to 2
    assert_eq!(lane.value_at(1_000_000), 4.0); // after the last: the last value
}

#[test]
fn insert_parameters_hold_the_16_frame_grid_value_but_steps_switch_on_their_frame() {
    let sr = 48_000.0;
    // Step from frame 100 (value 1) to frame 205 (value 2), then linear to frame 301 (value 4).
    let points = [
        point(100.0 / sr, 1.0, CurveType::Step),
        point(205.0 / sr, 2.0, CurveType::Linear),
        point(301.0 / sr, 4.0, CurveType::Linear),
    ];
    let lane = lane(&points, sr);
    let linear = |f: u64| 2.0 + 2.0 * (f - 205) as f64 / 96.0;
    // Worked by hand: 1 until the step lands at 205; from 205 the value at 205 holds to the next grid frame
    // 208; then the value at each 16k holds for 16 frames; from 304 (after the last point) 4.
    let expected = |f: u64| -> f64 {
        match f {
            0..=204 => 1.0,
            205..=207 => 2.0,
            208..=223 => linear(208),
            224..=239 => linear(224),
            240..=255 => linear(240),
            256..=271 => linear(256),
            272..=287 => linear(272),
            288..=303 => linear(288),
            _ => 4.0,
        }
    };
    for f in 0..400 {
        assert_eq!(lane.insert_value_at(f), expected(f), "frame {f}");
    }
    // The events of one block: each change once, at its frame.
    let mut events = Vec::new();
    lane.insert_events(&mut InsertPlayer::default(), 0, 400, |f, v| events.push((f, v)));
    let mut want = vec![(0, 1.0), (205, 2.0)];
    want.extend((208..=288).step_by(16).map(|f| (f, linear(f))));
    want.push((304, 4.0));
    assert_eq!(events, want);
    // Blocks of odd sizes give the same events; a fresh player (after a seek) sends the value at its start.
    let mut pieces = Vec::new();
    let mut player = InsertPlayer::default();
    let mut start = 0u64;
    for len in [1usize, 7, 100, 97, 3, 16, 33, 143] {
        lane.insert_events(&mut player, start, len, |f, v| pieces.push((f, v)));
        start += len as u64;
    }
    assert_eq!(pieces, want);
    let mut after_seek = Vec::new();
    lane.insert_events(&mut InsertPlayer::default(), 250, 10, |f, v| after_seek.push((f, v)));
    assert_eq!(after_seek, [(250, linear(240)), (256, linear(256))]);
}

#[test]
fn block_evaluation_allocates_nothing() {
    let points: Vec<PointPlan> = (0..64)
        .map(|i| point(i as f64 * 0.01, (i % 7) as f64, CurveType::ALL[i % 5]))
        .collect();
    let lane = lane(&points, 48_000.0).with_lfo(Some(Lfo {
        shape: LfoShape::SampleAndHold,
        rate: LfoRate::Hz(3.0),
        depth: 2.0,
        phase: 0.0,
        seed: 9,
    }));
    let mut out = [0f32; 128];
    let mut player = InsertPlayer::default();
    let mut count = 0usize;
    let before = common::allocations();
    for q in 0..400u64 {
        lane.fill(q * 128, &mut out);
        lane.insert_events(&mut player, q * 128, 128, |_, _| count += 1);
    }
    assert_eq!(common::allocations() - before, 0);
    assert!(count > 100, "{count} events");
}

#[test]
fn modes_decide_between_static_value_curve_and_gesture() {
    use AutomationMode::*;
    let idle = GestureState::default();
    let held = GestureState {
        touched: true,
        touched_since_play: true,
    };
    let released = GestureState {
        touched: false,
        touched_since_play: true,
    };
    let table = [
        (Off, idle, ValueSource::Static, ValueSource::Static),
        (Off, held, ValueSource::Static, ValueSource::Static),
        (Read, held, ValueSource::Curve, ValueSource::Curve),
        (Write, idle, ValueSource::Gesture, ValueSource::Curve),
        (Touch, idle, ValueSource::Curve, ValueSource::Curve),
        (Touch, held, ValueSource::Gesture, ValueSource::Curve),
        (Touch, released, ValueSource::Curve, ValueSource::Curve),
        (Latch, idle, ValueSource::Curve, ValueSource::Curve),
        (Latch, held, ValueSource::Gesture, ValueSource::Curve),
        (Latch, released, ValueSource::Gesture, ValueSource::Curve),
    ];
    for (mode, gesture, playing, offline) in table {
        assert_eq!(
            value_source(mode, gesture, false),
            playing,
            "{mode:?} {gesture:?} playing"
        );
        assert_eq!(
            value_source(mode, gesture, true),
            offline,
            "{mode:?} {gesture:?} offline"
        );
    }
    // In a project: a curve in mode off leaves the static value; the curve's mode wins over the track's.
    let project = |curve_mode: Value, track_mode: &str| {
        let mut automation = json!({"trackId": "t", "parameter": "volume",
            "points": [{"time": 0, "value": -20}, {"time": 1, "value": 0}]});
        if !curve_mode.is_null() {
            automation["mode"] = curve_mode;
        }
        parse(json!({"tracks": [{"id": "t", "volume": -3, "automationMode": track_mode}], "automation": [automation]}))
            .unwrap()
    };
    for (curve_mode, track_mode, follows) in [
        (json!("off"), "read", false),
        (json!("read"), "off", true),
        (Value::Null, "off", false),
        (Value::Null, "latch", true),
    ] {
        let plan = project(curve_mode.clone(), track_mode);
        let lane = lane_for(&plan, &plan.automation[0]);
        let want = if follows { -10.0 } else { -3.0 };
        assert_eq!(lane.value_at(24_000), want, "{curve_mode} over {track_mode}");
    }
}

/// Each LFO shape written out here from its definition (phase p in cycles).
fn lfo_reference(shape: LfoShape, p: f64) -> f64 {
    let p = p - p.floor();
    match shape {
        LfoShape::Sine => (2.0 * std::f64::consts::PI * p).sin(),
        LfoShape::Triangle => {
            // Straight lines through (0, 0), (1/4, 1), (3/4, -1), (1, 0).
            let q = (p + 0.25) % 1.0;
            if q < 0.5 {
                -1.0 + 4.0 * q
            } else {
                3.0 - 4.0 * q
            }
        }
        LfoShape::Square => {
            if p < 0.5 {
                1.0
            } else {
                -1.0
            }
        }
        LfoShape::Saw => 2.0 * p - 1.0,
        LfoShape::SampleAndHold => unreachable!(),
    }
}

#[test]
fn lfo_shapes_rates_depth_and_clamping() {
    let sr = 48_000.0;
    let pan = Range::new(-1.0, 1.0, "");
    for shape in [LfoShape::Sine, LfoShape::Triangle, LfoShape::Square, LfoShape::Saw] {
        for (rate, hz) in [(LfoRate::Hz(3.0), 3.0), (LfoRate::Beats(2.0), 1.0)] {
            let lfo = Lfo {
                shape,
                rate,
                depth: 0.25,
                phase: 0.1,
                seed: 1,
            };
            // Static pan 0.2 plus the LFO; at 120 BPM two beats per cycle is 1 Hz.
            let lane = Lane::new(CompiledCurve::default(), 0.2, pan, sr, 120.0).with_lfo(Some(lfo));
            for f in (0..200_000u64).step_by(997) {
                let p = f as f64 * hz / sr + 0.1;
                let want = 0.2 + 0.25 * lfo_reference(shape, p);
                assert!((lane.value_at(f) - want).abs() < 1e-9, "{shape:?} {rate:?} frame {f}");
            }
        }
    }
    // Depth is added to the automated value and clamped to the range: pan 0.9 + 0.5 x square is 1 (not 1.4),
    // then 0.4.
    let lfo = Lfo {
        shape: LfoShape::Square,
        rate: LfoRate::Hz(1.0),
        depth: 0.5,
        phase: 0.0,
        seed: 1,
    };
    let curve = CompiledCurve::compile(&[point(0.0, 0.9, CurveType::Linear)], sr);
    let lane = Lane::new(curve, 0.0, pan, sr, 120.0).with_lfo(Some(lfo));
    assert_eq!(lane.value_at(0), 1.0);
    assert!((lane.value_at(36_000) - 0.4).abs() < 1e-12);
    // Sample and hold: one value per cycle in [-1, 1), the same in every instance and after a seek, a new
    // value each cycle, spread over the range.
    let lfo = Lfo {
        shape: LfoShape::SampleAndHold,
        rate: LfoRate::Hz(4.0),
        depth: 1.0,
        phase: 0.0,
        seed: 77,
    };
    let values: Vec<f64> = (0..400u64).map(|c| lfo.wave_at(c * 12_000 + 5, sr, 120.0)).collect();
    for (c, v) in values.iter().enumerate() {
        assert!((-1.0..1.0).contains(v));
        assert_eq!(
            lfo.wave_at(c as u64 * 12_000 + 11_999, sr, 120.0),
            *v,
            "held through cycle {c}"
        );
    }
    assert!(values.windows(2).all(|w| w[0] != w[1]));
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!(mean.abs() < 0.1, "mean {mean}");
    assert!(values.iter().any(|v| *v > 0.8) && values.iter().any(|v| *v < -0.8));
    let other_seed = Lfo { seed: 78, ..lfo };
    assert_ne!(other_seed.wave_at(5, sr, 120.0), values[0]);
}

#[test]
fn an_lfo_in_a_project_modulates_its_parameter() {
    let plan = parse(json!({"bpm": 90, "tracks": [{"id": "t", "pan": -0.5}],
        "automation": [{"trackId": "t", "parameter": "pan",
                        "lfo": {"shape": "triangle", "periodBeats": 4, "depth": 0.5}}]}))
    .unwrap();
    let lane = lane_for(&plan, &plan.automation[0]);
    // 90 BPM, 4 beats per cycle: 0.375 Hz; the triangle peaks a quarter cycle in (32000 frames at 48 kHz).
    assert_eq!(lane.value_at(0), -0.5);
    assert!((lane.value_at(32_000) - 0.0).abs() < 1e-12);
    assert!((lane.value_at(96_000) + 1.0).abs() < 1e-12);
}

#[test]
fn a_recorded_gesture_is_thinned_and_reproduced_within_a_tenth_of_a_db() {
    let sr = 48_000.0;
    // A fader gesture as the UI sends it, 60 times a second for 4 s: a rise from -30 to 0 dB with a wobble.
    let gesture = |t: f64| -30.0 + 7.5 * t + 3.0 * (std::f64::consts::PI * t).sin();
    let mut recorder = Recorder::new(sr);
    let ui_frames: Vec<u64> = (0..=240).map(|i| (i as f64 * sr / 60.0).round() as u64).collect();
    for &f in &ui_frames {
        recorder.push(f, gesture(f as f64 / sr));
    }
    let samples = recorder.samples();
    // At most one point per 20 ms (960 frames); the gesture's last value is kept.
    assert!(samples.windows(2).all(|w| w[1].0 - w[0].0 >= 960), "{samples:?}");
    assert_eq!(samples.last().unwrap().0, 192_000);
    let points = recorder.finish(0.1, sr);
    assert!(
        points.len() < samples.len() / 2,
        "{} points of {}",
        points.len(),
        samples.len()
    );
    let curve = CompiledCurve::compile(&points, sr);
    let mut worst = 0.0f64;
    for f in (0..=192_000u64).step_by(80) {
        worst = worst.max((curve.value_at(f) - gesture(f as f64 / sr)).abs());
    }
    assert!(worst <= 0.1, "worst error {worst} dB");
    println!(
        "gesture: {} UI values, {} samples, {} points, worst {worst:.4} dB",
        ui_frames.len(),
        samples.len(),
        points.len()
    );
    // Thinning by itself: every dropped sample is within the tolerance of the chord that replaces it.
    let kept = thin(&samples, 0.05);
    let check = CompiledCurve::compile(
        &kept
            .iter()
            .map(|&(f, v)| point(f as f64 / sr, v, CurveType::Linear))
            .collect::<Vec<_>>(),
        sr,
    );
    for &(f, v) in &samples {
        assert!((check.value_at(f) - v).abs() <= 0.05 + 1e-12);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Transport
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn play_pause_stop_and_seek_in_seconds_frames_and_beats() {
    let mut t = Transport::new(48_000.0, 120.0, TimeSignature::default());
    t.advance(1000);
    assert_eq!(t.position(), 0, "a stopped transport does not move");
    t.play();
    t.advance(48_000);
    assert_eq!(t.position(), 48_000);
    t.pause();
    t.advance(128);
    assert_eq!(t.position(), 48_000, "pause keeps the position");
    t.seek_seconds(1.5);
    assert_eq!(t.position(), 72_000);
    t.seek_seconds(1.0 / 96_000.0 * 3.0); // 1.5 frames rounds to 2
    assert_eq!(t.position(), 2);
    t.seek_frames(12_345);
    assert_eq!(t.position(), 12_345);
    t.seek_beats(3.0); // 120 BPM: a beat is 24000 frames
    assert_eq!(t.position(), 72_000);
    assert_eq!(t.beats_at(t.position()), 3.0);
    t.play();
    t.stop();
    assert_eq!((t.position(), t.is_playing()), (0, false), "stop returns to zero");
}

#[test]
fn tempo_changes_keep_the_beat_count_and_seeks_follow_the_tempo_map() {
    let mut t = Transport::new(48_000.0, 120.0, TimeSignature::default());
    // Two beats at 120 BPM (48000 frames), then 60 BPM (48000 frames per beat).
    t.set_tempo(60.0, 48_000);
    assert_eq!(t.beats_at(48_000), 2.0);
    assert_eq!(t.beats_at(96_000), 3.0);
    t.seek_beats(4.0);
    assert_eq!(t.position(), 144_000);
    // Non-integer frames per beat: 44.1 kHz at 130 BPM, beat 7 at round(7 x 20353.846...) = 142477.
    let mut t = Transport::new(44_100.0, 130.0, TimeSignature::default());
    t.seek_beats(7.0);
    assert_eq!(t.position(), (7.0f64 * 44_100.0 * 60.0 / 130.0).round() as u64);
    assert_eq!(t.position(), 142_477);
}

#[test]
fn loops_wrap_at_their_end_and_blocks_split_there() {
    let sr = 48_000.0;
    let region = LoopFrames::from_seconds(1.0, 3.0, sr);
    assert_eq!((region.start, region.end), (48_000, 144_000));
    let mut t = Transport::new(sr, 120.0, TimeSignature::default());
    t.loop_region = Some(region);
    t.seek_seconds(2.9);
    t.play();
    t.advance(9_600); // 0.2 s from 2.9 s: 0.1 s past the end, so 1.1 s
    assert_eq!(t.position(), 52_800);
    // A long jump wraps as often as needed: 2.9 s + 4.2 s = 7.1 s -> 1 + (7.1 - 3) mod 2 = 1.1 s.
    assert_eq!(region.advance(139_200, 201_600), 52_800);
    assert_eq!(region.frames_before_wrap(139_200, 128), None);
    assert_eq!(region.frames_before_wrap(143_900, 128), Some(100));
    assert_eq!(region.frames_before_wrap(143_872, 128), Some(128));
    // Started after the loop: plays on.
    assert_eq!(region.advance(200_000, 1_000), 201_000);
    // Brute force: frame by frame, a position at the end goes back to the start.
    let mut p = 140_000u64;
    for _ in 0..300_000 {
        p = if p + 1 == region.end { region.start } else { p + 1 };
    }
    assert_eq!(region.advance(140_000, 300_000), p);
}

#[test]
fn bar_and_beat_follow_time_signature_changes_and_latency() {
    let sr = 48_000.0;
    let mut t = Transport::new(sr, 120.0, TimeSignature::default());
    let at = |t: &Transport, beats: f64| {
        let mut t = t.clone();
        t.seek_beats(beats);
        let s = t.snapshot(0);
        (s.bar, s.beat)
    };
    assert_eq!(at(&t, 0.0), (1, 1));
    assert_eq!(at(&t, 5.5), (2, 2));
    // 3/4 from beat 6 (mid-bar in 4/4): bar 3 starts at beat 6, bar 4 at beat 9.
    t.set_signature(
        TimeSignature {
            beats_per_bar: 3,
            beat_unit: 4,
        },
        6 * 24_000,
    );
    assert_eq!(at(&t, 6.0), (3, 1));
    assert_eq!(at(&t, 8.0), (3, 3));
    assert_eq!(at(&t, 9.0), (4, 1));
    // The snapshot reports what is heard: the master is late by the total latency.
    t.seek_frames(48_000);
    t.play();
    let s = t.snapshot(480);
    assert_eq!(
        (s.sample_frame, s.time_seconds, s.playing, s.bpm, s.looping),
        (47_520, 0.99, true, 120.0, false)
    );
    assert_eq!(t.snapshot(100_000).sample_frame, 0);
}

#[test]
fn metronome_clicks_land_on_rounded_beat_frames_in_any_blocks() {
    // 44.1 kHz at 130 BPM in 3/4: beat k at round(k x 44100 x 60 / 130), a downbeat every third.
    let t = Transport::new(
        44_100.0,
        130.0,
        TimeSignature {
            beats_per_bar: 3,
            beat_unit: 4,
        },
    );
    let fpb = 44_100.0 * 60.0 / 130.0;
    let want: Vec<(u64, bool)> = (0..40u64)
        .map(|k| ((k as f64 * fpb).round() as u64, k % 3 == 0))
        .collect();
    let total = want.last().unwrap().0 + 1;
    let mut got = Vec::new();
    let (mut start, mut rand) = (0u64, Rand(5));
    while start < total {
        let len = (1 + rand.below(3000)).min(total - start);
        t.clicks(start, len, |c| got.push((c.frame, c.downbeat)));
        start += len;
    }
    assert_eq!(got, want);
}

/// The examples of docs/project.md, put together into one project, load without warnings and resolve.
#[test]
fn the_documented_examples_load_together() {
    let plan = parse(json!({
        "sampleRate": 48000, "bpm": 100, "timeSignature": "7/8",
        "tracks": [
            {"id": "t1", "name": "Drums", "type": "audio",
             "audio": {"path": "drums.wav", "startTime": 0.0, "offset": 0.0},
             "inputGain": 0, "phaseFlip": false, "stereoWidth": 100, "volume": -3, "pan": -0.2,
             "muted": false, "soloed": false, "routing": "bus-verb", "automationMode": "read",
             "inserts": [{"id": "p1", "name": "EQ", "type": "eq", "enabled": true,
                          "effect": "parametric-eq", "parameters": {"b2GainDb": 3}}],
             "sends": [{"id": "s1", "destination": "bus-verb", "level": -12, "prePost": "post", "enabled": true}],
             "clips": [{"path": "verse.wav", "startTime": 4, "offset": 1.5, "duration": 8, "gain": -3,
                        "fadeIn": 0.01, "fadeOut": 0.5}]},
            {"id": "kick", "audio": {"path": "kick.wav"}},
            {"id": "bass", "audio": {"path": "bass.wav"},
             "inserts": [{"id": "duck", "effect": "compressor", "sidechain": "kick",
                          "parameters": {"thresholdDb": -30, "ratio": 8}}]},
            {"id": "t2", "inserts": [{"id": "f1", "effect": "high-low-pass", "parameters": {"mode": 1}}]}
        ],
        "buses": [{"id": "bus-verb", "name": "Reverb", "volume": 0, "pan": 0, "muted": false, "routing": "Master",
                   "trackIds": ["t1"], "inserts": [{"id": "p9", "effect": "plate-reverb", "parameters": {"mix": 1}}]}],
        "master": {"volume": -1, "inserts": [{"id": "lim", "effect": "limiter", "parameters": {"ceilingDb": -1}}]},
        "automation": [
            {"id": "a1", "trackId": "t1", "parameter": "volume", "mode": "read",
             "points": [{"time": 0, "value": -60, "curveType": "linear"},
                        {"time": 2, "value": 0, "curveType": "smooth"},
                        {"time": 6, "value": -6, "curveType": "step"},
                        {"time": 8, "value": -3}]},
            {"trackId": "t1", "parameter": "sends.s1.level",
             "points": [{"time": 4, "value": -20, "curveType": "exponential"}, {"time": 5, "value": -6}]},
            {"trackId": "bus-verb", "parameter": "inserts.p9.mix",
             "points": [{"time": 0, "value": 0.2, "curveType": "logarithmic"}, {"time": 10, "value": 1}]},
            {"trackId": "master", "parameter": "volume", "points": [{"time": 30, "value": 0}, {"time": 34, "value": -60}]},
            {"trackId": "t1", "parameter": "pan", "lfo": {"shape": "sine", "rateHz": 0.5, "depth": 0.4, "phase": 0.25}},
            {"trackId": "t2", "parameter": "inserts.f1.frequencyHz", "points": [{"time": 0, "value": 800}],
             "lfo": {"shape": "sampleAndHold", "periodBeats": 1, "depth": 300, "seed": 7}}
        ],
        "loop": {"enabled": true, "startTime": 4, "endTime": 12},
        "metronome": {"enabled": false, "volume": 0.3, "beatSound": "click", "accentFirst": true}
    }))
    .unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(plan.tracks[0].clips.len(), 2);
    assert_eq!(plan.tracks[0].routing, Destination::Bus(0));
    assert_eq!(plan.automation.len(), 6);
    assert_eq!(plan.automation[1].target.param, TargetParam::SendLevel(0));
    assert_eq!(
        plan.automation[2].target.param,
        TargetParam::Insert { insert: 0, index: 4 }
    );
    // The 800 Hz point with a +/-300 Hz sample-and-hold stays within 500..1100 Hz.
    let lane = lane_for(&plan, &plan.automation[5]);
    for f in (0..480_000).step_by(4_801) {
        let v = lane.value_at(f);
        assert!((500.0..=1100.0).contains(&v), "{v}");
    }
    let l = plan.loop_region.unwrap();
    assert_eq!((l.enabled, l.start_s, l.end_s), (true, 4.0, 12.0));
    assert!(!plan.metronome.unwrap().enabled);
}

// ---------------------------------------------------------------------------------------------------------------
// What the render side takes from the plan
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn created_inserts_report_latencies_that_plan_the_compensation() {
    // Two tracks to the master, one through a limiter (enabled or bypassed: a bypass keeps the latency).
    for enabled in [true, false] {
        let plan = parse(json!({"tracks": [
            {"id": "lim", "inserts": [{"id": "l", "effect": "limiter", "enabled": enabled},
                                      {"id": "m", "type": "meter"}]},
            {"id": "dry"}]}))
        .unwrap();
        let effects: Vec<Vec<Option<Box<dyn corelogic_dsp::Effect>>>> = plan
            .tracks
            .iter()
            .map(|t| t.inserts.iter().map(|i| i.create(48_000.0, 120.0).unwrap()).collect())
            .collect();
        assert!(effects[0][1].is_none(), "a meter runs no effect");
        assert_eq!(effects[0][0].as_ref().unwrap().is_enabled(), enabled);
        let graph = RoutingGraph::from_plan(&plan);
        let latencies = insert_latencies(&graph, &plan, |strip, k| match strip {
            StripRef::Track(t) => effects[t][k]
                .as_ref()
                .map(|e| InsertLatency {
                    current: e.latency(),
                    max: e.max_latency(),
                })
                .unwrap_or_default(),
            _ => InsertLatency::default(),
        });
        let order = graph.render_order().unwrap();
        let latency = plan_latency(&graph, &order, &latencies);
        // the effect contract: the limiter's lookahead is round(lookaheadMs x fs / 1000) = round(5 x 48) = 240 samples.
        assert_eq!(latency.total, 240);
        let dry_edge = graph.edges.iter().position(|e| e.from == StripRef::Track(1)).unwrap();
        assert_eq!(latency.edges[dry_edge].delay, 240);
        // Sized up front for the longest lookahead (10 ms = 480 samples, plus the true-peak filter when on).
        assert!(latency.edges[dry_edge].capacity >= 480, "{:?}", latency.edges[dry_edge]);
    }
}

#[test]
fn the_render_tail_is_the_longest_path_sum_capped() {
    let (g, _) = hand_graph();
    let order = g.render_order().unwrap();
    // Nodes: t1, t2, t3, A, B, master. Paths: t1-A-master, t2-master, t2-A-master (send), t3-B-A-master.
    let tails = |t3: Option<u64>| {
        vec![
            vec![Some(1_000)],
            vec![],
            vec![t3],
            vec![Some(500)],
            vec![Some(30)],
            vec![Some(7)],
        ]
    };
    // By hand: t1-A-master 1000 + 500 + 7 = 1507; t3-B-A-master 200 + 30 + 500 + 7 = 737.
    assert_eq!(render_tail(&g, &order, &tails(Some(200)), 480_000), 1_507);
    // t3 at 2000: 2000 + 30 + 500 + 7 = 2537 is now the longest.
    assert_eq!(render_tail(&g, &order, &tails(Some(2_000)), 480_000), 2_537);
    // An infinite tail (a frozen reverb) and long sums stop at the cap.
    assert_eq!(render_tail(&g, &order, &tails(None), 480_000), 480_000);
    assert_eq!(render_tail(&g, &order, &tails(Some(1_000)), 1_200), 1_200);
}

#[test]
fn solo_silences_the_others_and_mute_wins() {
    let audible = |tracks: Value| parse(json!({"tracks": tracks})).unwrap().audible_tracks();
    let t = |id: &str, muted: bool, soloed: bool| json!({"id": id, "muted": muted, "soloed": soloed});
    assert_eq!(
        audible(json!([t("a", false, false), t("b", true, false)])),
        [true, false]
    );
    assert_eq!(
        audible(json!([t("a", false, true), t("b", false, false), t("c", true, true)])),
        [true, false, false]
    );
}

/// 128 tracks (each an EQ and a compressor, a post send) and 16 buses chained bus to bus: the whole plan loads,
/// every bus comes after what feeds it, and the latency plan is zero (no insert has latency at defaults).
/// `cargo test --release --test engine_control capacity -- --nocapture` prints how long loading took.
#[test]
fn capacity_128_tracks_and_16_buses() {
    let tracks: Vec<Value> = (0..128)
        .map(|i| {
            json!({"id": format!("t{i}"), "routing": format!("b{}", i % 16),
                   "inserts": [{"id": "eq", "type": "eq"}, {"id": "c", "type": "compressor"}],
                   "sends": [{"id": "s", "destination": format!("b{}", (i + 1) % 16), "level": -12}]})
        })
        .collect();
    let buses: Vec<Value> = (0..16)
        .map(|b| {
            json!({"id": format!("b{b}"), "routing": if b == 15 { "Master".to_string() } else { format!("b{}", b + 1) },
                        "inserts": [{"id": "v", "effect": "plate-reverb"}]})
        })
        .collect();
    let automation: Vec<Value> = (0..128)
        .map(|i| {
            json!({"trackId": format!("t{i}"), "parameter": "inserts.c.thresholdDb",
                        "points": [{"time": 0, "value": -30}, {"time": 10, "value": -10, "curveType": "smooth"}]})
        })
        .collect();
    let project = json!({"tracks": tracks, "buses": buses, "automation": automation});
    let started = std::time::Instant::now();
    let plan = parse(project).unwrap();
    let graph = RoutingGraph::from_plan(&plan);
    let order = graph.render_order().unwrap();
    let latencies = insert_latencies(&graph, &plan, |_, _| InsertLatency::default());
    let latency = plan_latency(&graph, &order, &latencies);
    let lanes = compile_all(&plan);
    println!(
        "128 tracks, 16 buses, 128 curves: parsed and planned in {:?}",
        started.elapsed()
    );
    assert_eq!((plan.tracks.len(), plan.buses.len(), lanes.len()), (128, 16, 128));
    assert_eq!(graph.nodes.len(), 145);
    assert_eq!(graph.edges.len(), 128 * 2 + 16);
    for e in &graph.edges {
        let pos = |s| order.iter().position(|x| *x == s).unwrap();
        assert!(pos(e.from) < pos(e.to));
    }
    assert_eq!(*order.last().unwrap(), StripRef::Master);
    assert_eq!(latency.total, 0);
}
