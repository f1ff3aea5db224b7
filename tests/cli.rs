//! Integration tests of the `corelogic-dsp` binary: listings, processing, WAV formats and error handling.
//! Input files are written byte by byte here (not with the crate's code); outputs are read back with hound.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

// ---- a tiny WAV writer, independent of the crate ----

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;

struct WavLayout {
    tag: u16,
    channels: u16,
    sample_rate_hz: u32,
    bits: u16,
    extensible: bool,
    /// Adds an odd-sized chunk before `data`, which readers must skip with its pad byte.
    odd_chunk_before_data: bool,
}

fn wav_bytes(layout: &WavLayout, data: &[u8]) -> Vec<u8> {
    let align = layout.channels * layout.bits / 8;
    let mut fmt = Vec::new();
    let tag = if layout.extensible { 0xFFFE } else { layout.tag };
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&layout.channels.to_le_bytes());
    fmt.extend_from_slice(&layout.sample_rate_hz.to_le_bytes());
    fmt.extend_from_slice(&(layout.sample_rate_hz * u32::from(align)).to_le_bytes());
    fmt.extend_from_slice(&align.to_le_bytes());
    fmt.extend_from_slice(&layout.bits.to_le_bytes());
    if layout.extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        fmt.extend_from_slice(&layout.bits.to_le_bytes()); // valid bits
        let mask: u32 = if layout.channels == 1 { 0x4 } else { 0x3 };
        fmt.extend_from_slice(&mask.to_le_bytes());
        fmt.extend_from_slice(&layout.tag.to_le_bytes());
        fmt.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    }
    let mut body = b"WAVE".to_vec();
    push_chunk(&mut body, b"fmt ", &fmt);
    if layout.odd_chunk_before_data {
        push_chunk(&mut body, b"LIST", b"abc");
    }
    push_chunk(&mut body, b"data", data);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

fn push_chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

fn float_layout(channels: u16, sample_rate_hz: u32) -> WavLayout {
    WavLayout {
        tag: FORMAT_FLOAT,
        channels,
        sample_rate_hz,
        bits: 32,
        extensible: false,
        odd_chunk_before_data: false,
    }
}

/// A stereo 32-bit float file of deterministic noise at about -12 dBFS.
fn write_noise(path: &Path, frames: usize, sample_rate_hz: u32) {
    let mut state: u32 = 0x1234_5678;
    let mut data = Vec::new();
    for _ in 0..frames * 2 {
        // xorshift32: test noise only needs to be deterministic and broadband.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let sample = (state as f64 / u32::MAX as f64 - 0.5) * 0.5;
        data.extend_from_slice(&(sample as f32).to_le_bytes());
    }
    fs::write(path, wav_bytes(&float_layout(2, sample_rate_hz), &data)).unwrap();
}

struct Decoded {
    spec: hound::WavSpec,
    left: Vec<f32>,
    right: Vec<f32>,
}

/// Reads a stereo output with hound; integer samples stay integer-valued (not scaled).
fn read_output(path: &Path) -> Decoded {
    let mut reader = hound::WavReader::open(path).expect("output is a WAV file hound reads");
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap()).collect(),
        hound::SampleFormat::Int => reader.samples::<i32>().map(|s| s.unwrap() as f32).collect(),
    };
    assert_eq!(spec.channels, 2, "output is stereo");
    Decoded {
        spec,
        left: samples.iter().step_by(2).copied().collect(),
        right: samples.iter().skip(1).step_by(2).copied().collect(),
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn listing() -> Vec<Value> {
    let out = run(&["effects", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("effects --json prints JSON");
    json.as_array().expect("a JSON array").clone()
}

// ---- effects ----

#[test]
fn effects_json_lists_every_registered_effect_with_the_schema_keys_and_types() {
    let effects = listing();
    let ids: Vec<&str> = effects.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let registered: Vec<&str> = corelogic_dsp::registry().iter().map(|e| e.spec.id).collect();
    assert_eq!(ids, registered);
    for effect in &effects {
        let keys: Vec<&str> = effect.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        for key in &keys {
            assert!(
                [
                    "id",
                    "name",
                    "category",
                    "parameters",
                    "presets",
                    "latencySamplesAt48k",
                    "maxLatencySamplesAt48k"
                ]
                .contains(key),
                "unexpected key {key}"
            );
        }
        assert!(effect["name"].is_string() && effect["category"].is_string());
        if let Some(latency) = effect.get("latencySamplesAt48k") {
            assert!(latency.is_u64(), "{latency}");
            let max = effect["maxLatencySamplesAt48k"].as_u64();
            assert!(max.is_some_and(|m| m >= latency.as_u64().unwrap()), "{max:?}");
        }
        let parameters = effect["parameters"].as_array().unwrap();
        assert!(!parameters.is_empty());
        for p in parameters {
            let what = format!("{} {}", effect["id"], p["name"]);
            assert!(p["name"].is_string() && p["unit"].is_string(), "{what}");
            let (min, max, default) = (p["min"].as_f64(), p["max"].as_f64(), p["default"].as_f64());
            let (min, max, default) = (min.unwrap(), max.unwrap(), default.unwrap());
            assert!(min <= default && default <= max, "{what}");
            let integer = p["integer"].as_bool().unwrap();
            assert!(p["automatable"].is_boolean(), "{what}");
            assert!(p["taper"] == "linear" || p["taper"] == "log", "{what}");
            assert!(p["changesLatency"].is_boolean(), "{what}");
            if integer {
                assert_eq!(default.fract(), 0.0, "{what}");
            }
            if let Some(values) = p.get("values") {
                assert!(integer, "{what}: labelled values belong to integer parameters");
                for v in values.as_array().unwrap() {
                    assert_eq!(v.as_object().unwrap().len(), 2, "{what}");
                    assert!(v["value"].is_number() && v["label"].is_string(), "{what}");
                }
            }
        }
        let presets = effect["presets"].as_array().unwrap();
        assert_eq!(presets[0]["name"], "init");
        assert_eq!(presets[0]["parameters"], serde_json::json!({}));
        for preset in presets {
            assert!(preset["name"].is_string() && preset["parameters"].is_object());
        }
    }
}

#[test]
fn effects_table_lists_every_registered_effect_and_parameter() {
    let out = run(&["effects"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for entry in corelogic_dsp::registry() {
        assert!(text.contains(entry.spec.id), "{}", entry.spec.id);
        for p in entry.spec.params {
            assert!(text.contains(p.name), "{}", p.name);
        }
    }
}

// ---- process ----

#[test]
fn process_runs_every_listed_effect_and_writes_input_length_plus_tail() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    let input_frames = 22_050;
    write_noise(&input, input_frames, 44_100);
    for effect in listing() {
        let id = effect["id"].as_str().unwrap();
        let output = dir.path().join(format!("{id}.wav"));
        let out = run(&[
            "process",
            path_str(&input),
            path_str(&output),
            "--effect",
            id,
            "--tail",
            "0.25",
        ]);
        assert!(out.status.success(), "{id}: {}", stderr_of(&out));
        let decoded = read_output(&output);
        assert_eq!(decoded.spec.sample_rate, 44_100, "{id}");
        assert_eq!(
            (decoded.spec.bits_per_sample, decoded.spec.sample_format),
            (32, hound::SampleFormat::Float)
        );
        assert_eq!(decoded.left.len(), input_frames + 11_025, "{id}");
        assert!(decoded.left.iter().chain(&decoded.right).all(|s| s.is_finite()), "{id}");
    }
}

#[test]
fn chain_presets_equal_their_listed_values_and_parameters_override_them() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    write_noise(&input, 4_800, 48_000);
    let render = |name: &str, chain: &Value| -> Vec<u8> {
        let chain_path = dir.path().join(format!("{name}.json"));
        fs::write(&chain_path, chain.to_string()).unwrap();
        let output = dir.path().join(format!("{name}.wav"));
        let out = run(&[
            "process",
            path_str(&input),
            path_str(&output),
            "--chain",
            path_str(&chain_path),
        ]);
        assert!(out.status.success(), "{name}: {}", stderr_of(&out));
        fs::read(output).unwrap()
    };
    for effect in listing() {
        let id = effect["id"].as_str().unwrap();
        for (i, preset) in effect["presets"].as_array().unwrap().iter().enumerate() {
            let by_name = render(
                &format!("{id}-{i}-by-name"),
                &serde_json::json!([{"effect": id, "preset": preset["name"]}]),
            );
            let by_values = render(
                &format!("{id}-{i}-by-values"),
                &serde_json::json!([{"effect": id, "parameters": preset["parameters"], "enabled": true}]),
            );
            assert_eq!(by_name, by_values, "{id} preset {}", preset["name"]);
        }
    }
    // Parameters on top of a preset: the same as setting them directly, and different from the preset alone.
    let shelf = "high-shelf";
    let layered = render(
        "layered",
        &serde_json::json!([{"effect": shelf, "preset": "init", "parameters": {"gainDb": 6}}]),
    );
    let direct = dir.path().join("direct.wav");
    let out = run(&[
        "process",
        path_str(&input),
        path_str(&direct),
        "--effect",
        shelf,
        "--set",
        "gainDb=6",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(layered, fs::read(direct).unwrap());
    assert_ne!(
        layered,
        render("init-only", &serde_json::json!([{"effect": shelf, "preset": "init"}]))
    );
}

#[test]
fn disabled_chain_entry_passes_the_input_through() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    write_noise(&input, 4_800, 48_000);
    let chain = dir.path().join("chain.json");
    fs::write(
        &chain,
        r#"[{"effect": "low-shelf", "parameters": {"gainDb": 12}, "enabled": false}]"#,
    )
    .unwrap();
    let output = dir.path().join("out.wav");
    let out = run(&[
        "process",
        path_str(&input),
        path_str(&output),
        "--chain",
        path_str(&chain),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let listed_latency = listing().iter().find(|e| e["id"] == "low-shelf").unwrap()["latencySamplesAt48k"].as_u64();
    assert_eq!(listed_latency, Some(0), "this test assumes a latency-free shelf");
    let expected = read_output(&input_as_stereo_float(&input, dir.path()));
    let got = read_output(&output);
    assert_eq!(got.left, expected.left);
    assert_eq!(got.right, expected.right);
}

/// The input re-rendered through an empty chain: its exact float samples as the binary reads them.
fn input_as_stereo_float(input: &Path, dir: &Path) -> PathBuf {
    let chain = dir.join("empty.json");
    fs::write(&chain, "[]").unwrap();
    let output = dir.join("identity.wav");
    let out = run(&[
        "process",
        path_str(input),
        path_str(&output),
        "--chain",
        path_str(&chain),
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    output
}

#[test]
fn accepts_the_ends_of_the_sample_rate_range_and_every_valid_option() {
    let dir = temp_dir();
    for sample_rate_hz in [8_000u32, 192_000] {
        let input = dir.path().join(format!("in-{sample_rate_hz}.wav"));
        write_noise(&input, 1000, sample_rate_hz);
        let output = dir.path().join(format!("out-{sample_rate_hz}.wav"));
        let args = [
            "process",
            path_str(&input),
            path_str(&output),
            "--effect",
            "parametric-eq",
            "--set",
            "b2GainDb=6",
            "--set",
            "b4Type=4",
            "--bpm",
            "97.5",
            "--bit-depth",
            "24",
            "--tail",
            "0.01",
        ];
        let out = run(&args);
        assert!(out.status.success(), "{sample_rate_hz} Hz: {}", stderr_of(&out));
        let decoded = read_output(&output);
        assert_eq!(decoded.spec.sample_rate, sample_rate_hz);
        assert_eq!(decoded.spec.bits_per_sample, 24);
        let tail_frames = (0.01 * f64::from(sample_rate_hz)).round() as usize;
        assert_eq!(decoded.left.len(), 1000 + tail_frames);
    }
}

// ---- WAV formats ----

/// Raw sample codes and the f32 value each must read as (integers divided by 2^(bits-1)).
fn int_codes(bits: u16) -> (Vec<u8>, Vec<f32>) {
    let full_scale = f64::from(1u32 << (bits - 1));
    let codes: Vec<i64> = match bits {
        8 => vec![0, 1, 127, 128, 129, 255],
        16 => vec![-32_768, -1, 0, 1, 12_345, 32_767],
        24 => vec![-8_388_608, -1, 0, 1, 1_234_567, 8_388_607],
        32 => vec![i64::from(i32::MIN), -1, 0, 1, 123_456_789, i64::from(i32::MAX)],
        _ => unreachable!(),
    };
    let mut bytes = Vec::new();
    let mut values = Vec::new();
    for c in codes {
        if bits == 8 {
            bytes.push(c as u8);
            values.push(((c - 128) as f64 / 128.0) as f32);
        } else {
            bytes.extend_from_slice(&c.to_le_bytes()[..usize::from(bits / 8)]);
            values.push((c as f64 / full_scale) as f32);
        }
    }
    (bytes, values)
}

fn float_codes(bits: u16) -> (Vec<u8>, Vec<f32>) {
    let samples = [-1.0f64, -0.1, 0.0, 1e-3, 0.7, 1.5];
    let mut bytes = Vec::new();
    for s in samples {
        if bits == 32 {
            bytes.extend_from_slice(&(s as f32).to_le_bytes());
        } else {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
    }
    (bytes, samples.iter().map(|s| *s as f32).collect())
}

#[test]
fn reads_every_supported_wav_format_exactly_through_an_empty_chain() {
    let dir = temp_dir();
    let chain = dir.path().join("empty.json");
    fs::write(&chain, "[]").unwrap();
    let cases: &[(&str, u16, u16, bool)] = &[
        ("u8", FORMAT_PCM, 8, false),
        ("i16", FORMAT_PCM, 16, false),
        ("i24", FORMAT_PCM, 24, false),
        ("i32", FORMAT_PCM, 32, false),
        ("f32", FORMAT_FLOAT, 32, false),
        ("f64", FORMAT_FLOAT, 64, false),
        ("ext-i24", FORMAT_PCM, 24, true),
        ("ext-f64", FORMAT_FLOAT, 64, true),
    ];
    for &(label, tag, bits, extensible) in cases {
        let (data, values) = if tag == FORMAT_PCM {
            int_codes(bits)
        } else {
            float_codes(bits)
        };
        for channels in [1u16, 2] {
            let layout = WavLayout {
                tag,
                channels,
                sample_rate_hz: 22_050,
                bits,
                extensible,
                odd_chunk_before_data: channels == 2,
            };
            let input = dir.path().join(format!("{label}-{channels}.wav"));
            fs::write(&input, wav_bytes(&layout, &data)).unwrap();
            let output = dir.path().join(format!("{label}-{channels}-out.wav"));
            let out = run(&[
                "process",
                path_str(&input),
                path_str(&output),
                "--chain",
                path_str(&chain),
            ]);
            assert!(out.status.success(), "{label} {channels}ch: {}", stderr_of(&out));
            let decoded = read_output(&output);
            assert_eq!(decoded.spec.sample_rate, 22_050);
            let (expected_left, expected_right): (Vec<f32>, Vec<f32>) = if channels == 1 {
                (values.clone(), values.clone())
            } else {
                (
                    values.iter().step_by(2).copied().collect(),
                    values.iter().skip(1).step_by(2).copied().collect(),
                )
            };
            assert_eq!(decoded.left, expected_left, "{label} {channels}ch left");
            assert_eq!(decoded.right, expected_right, "{label} {channels}ch right");
        }
    }
}

#[test]
fn integer_output_is_dithered_within_one_and_a_half_lsb_clipped_and_deterministic() {
    let dir = temp_dir();
    let chain = dir.path().join("empty.json");
    fs::write(&chain, "[]").unwrap();
    let frames = 10_000;
    let samples: Vec<f32> = (0..2 * frames)
        .map(|i| match i {
            0 => 1.0,
            1 => -1.0,
            2 => 2.0,
            _ => (0.9 * ((i as f64) * 0.01234).sin()) as f32,
        })
        .collect();
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let input = dir.path().join("in.wav");
    fs::write(&input, wav_bytes(&float_layout(2, 48_000), &data)).unwrap();
    for bits in [16u16, 24] {
        let full_scale = f64::from(1u32 << (bits - 1));
        let max_code = full_scale - 1.0;
        let render = |name: &str| {
            let output = dir.path().join(name);
            let depth = bits.to_string();
            let args = [
                "process",
                path_str(&input),
                path_str(&output),
                "--chain",
                path_str(&chain),
                "--bit-depth",
                &depth,
            ];
            let out = run(&args);
            assert!(out.status.success(), "{}", stderr_of(&out));
            output
        };
        let first = render(&format!("a{bits}.wav"));
        let second = render(&format!("b{bits}.wav"));
        assert_eq!(
            fs::read(&first).unwrap(),
            fs::read(&second).unwrap(),
            "{bits}-bit output is deterministic"
        );
        let decoded = read_output(&first);
        assert_eq!(
            (decoded.spec.bits_per_sample, decoded.spec.sample_format),
            (bits, hound::SampleFormat::Int)
        );
        assert_eq!(decoded.left[0] as f64, max_code, "+1.0 clips to the largest code");
        assert!(
            decoded.right[0] as f64 <= -full_scale + 1.0,
            "-1.0 reaches the bottom code or one above"
        );
        assert_eq!(decoded.left[1] as f64, max_code, "+2.0 clips to the largest code");
        let mut worst_lsb = 0.0f64;
        for frame in 2..frames {
            for (got, x) in [
                (decoded.left[frame], samples[2 * frame]),
                (decoded.right[frame], samples[2 * frame + 1]),
            ] {
                worst_lsb = worst_lsb.max((f64::from(got) - f64::from(x) * full_scale).abs());
            }
        }
        // TPDF dither of +/-1 LSB plus rounding to nearest: every error is below 1.5 LSB.
        assert!(worst_lsb < 1.5, "{bits}-bit: worst error {worst_lsb} LSB");
        assert!(
            worst_lsb > 0.5,
            "{bits}-bit: errors beyond rounding show that dither is applied"
        );
    }
}

// ---- errors ----

/// Runs `process` with arguments built from the temp dir and checks the bad-input contract: exit status 2,
/// one line on stderr naming the problem (`expected` appears in it), no output, an existing output untouched.
fn assert_bad_input(label: &str, dir: &Path, args: &[&str], expected: &str) {
    assert_rejected(label, dir, args, expected, 2);
}

fn assert_rejected(label: &str, dir: &Path, args: &[&str], expected: &str, status: i32) {
    for existing in [false, true] {
        let output = dir.join("out.wav");
        let previous = b"an existing output that must survive".to_vec();
        let _ = fs::remove_file(&output);
        if existing {
            fs::write(&output, &previous).unwrap();
        }
        let files_before = fs::read_dir(dir).unwrap().count();
        let full: Vec<&str> = args
            .iter()
            .map(|a| if *a == "OUT" { path_str(&output) } else { a })
            .collect();
        let out = run(&full);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(status), "{label}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{label}: one stderr line, got {stderr:?}");
        assert!(stderr.starts_with("corelogic-dsp: "), "{label}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{label}: {stderr:?} should contain {expected:?}"
        );
        assert!(out.stdout.is_empty(), "{label}");
        if existing {
            assert_eq!(
                fs::read(&output).unwrap(),
                previous,
                "{label}: the existing output is untouched"
            );
        } else {
            assert!(!output.exists(), "{label}: no output written");
        }
        assert_eq!(
            fs::read_dir(dir).unwrap().count(),
            files_before,
            "{label}: no temporary file left behind"
        );
    }
}

#[test]
fn every_kind_of_bad_input_exits_2_with_one_line_and_leaves_the_output_alone() {
    let dir = temp_dir();
    let d = dir.path();
    let good = d.join("in.wav");
    write_noise(&good, 1000, 48_000);
    let file = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let not_wav = file("text.wav", b"this is not a wav file at all");
    let mut truncated = wav_bytes(&float_layout(2, 48_000), &[0u8; 800]);
    truncated.truncate(300);
    let truncated = file("truncated.wav", &truncated);
    let six = file("six.wav", &wav_bytes(&float_layout(6, 48_000), &[0u8; 48]));
    let adpcm_layout = WavLayout {
        tag: 2,
        bits: 4,
        ..float_layout(2, 48_000)
    };
    let adpcm = file("adpcm.wav", &wav_bytes(&adpcm_layout, &[0u8; 8]));
    let slow = file("slow.wav", &wav_bytes(&float_layout(2, 4_000), &[0u8; 8]));
    let mut nan_frames = [0.25f32; 8].iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    nan_frames[12..16].copy_from_slice(&f32::NAN.to_le_bytes());
    let nan = file("nan.wav", &wav_bytes(&float_layout(2, 48_000), &nan_frames));
    let malformed_chain = file("bad.json", b"[{\"effect\": \"low-shelf\",\n ]");
    let unknown_key_chain = file("key.json", br#"[{"effect": "low-shelf", "gain": 3}]"#);
    let range_chain = file(
        "range.json",
        br#"[{"effect": "low-shelf"}, {"effect": "high-shelf", "parameters": {"gainDb": 40}}]"#,
    );
    let missing = d.join("missing.wav").to_str().unwrap().to_string();
    let good = good.to_str().unwrap().to_string();
    let g = good.as_str();
    let eq = ["--effect", "parametric-eq"];
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "missing input",
            vec!["process", &missing, "OUT", eq[0], eq[1]],
            "missing.wav: no such file",
        ),
        (
            "not a wav",
            vec!["process", &not_wav, "OUT", eq[0], eq[1]],
            "not a WAV file",
        ),
        (
            "truncated",
            vec!["process", &truncated, "OUT", eq[0], eq[1]],
            "truncated",
        ),
        (
            "six channels",
            vec!["process", &six, "OUT", eq[0], eq[1]],
            "6 channels; only mono and stereo",
        ),
        (
            "a NaN sample",
            vec!["process", &nan, "OUT", eq[0], eq[1]],
            "nan.wav: frame 1, channel 2: NaN (float samples must be finite numbers)",
        ),
        (
            "adpcm",
            vec!["process", &adpcm, "OUT", eq[0], eq[1]],
            "unsupported WAV format",
        ),
        (
            "4 kHz",
            vec!["process", &slow, "OUT", eq[0], eq[1]],
            "sample rate 4000 Hz is not supported",
        ),
        (
            "unknown effect",
            vec!["process", g, "OUT", "--effect", "flanger"],
            "unknown effect 'flanger'",
        ),
        (
            "unknown parameter",
            vec!["process", g, "OUT", eq[0], eq[1], "--set", "volume=1"],
            "no parameter 'volume'",
        ),
        (
            "out of range",
            vec!["process", g, "OUT", eq[0], eq[1], "--set", "b1GainDb=30"],
            "is out of range",
        ),
        (
            "fractional integer",
            vec!["process", g, "OUT", "--effect", "high-low-pass", "--set", "order=2.5"],
            "must be a whole number",
        ),
        (
            "enum out of range",
            vec!["process", g, "OUT", "--effect", "high-low-pass", "--set", "mode=2"],
            "one of 0 (highPass), 1 (lowPass)",
        ),
        (
            "set without =",
            vec!["process", g, "OUT", eq[0], eq[1], "--set", "b1GainDb"],
            "expected NAME=VALUE",
        ),
        (
            "set non-numeric",
            vec!["process", g, "OUT", eq[0], eq[1], "--set", "b1GainDb=loud"],
            "'loud' is not a number",
        ),
        (
            "set NaN",
            vec!["process", g, "OUT", eq[0], eq[1], "--set", "b1GainDb=NaN"],
            "not a finite number",
        ),
        (
            "malformed chain",
            vec!["process", g, "OUT", "--chain", &malformed_chain],
            "malformed JSON",
        ),
        (
            "chain unknown key",
            vec!["process", g, "OUT", "--chain", &unknown_key_chain],
            "chain[0].gain: unknown key 'gain'",
        ),
        (
            "chain out of range",
            vec!["process", g, "OUT", "--chain", &range_chain],
            "chain[1].parameters.gainDb: effect 'high-shelf'",
        ),
        (
            "chain missing",
            vec!["process", g, "OUT", "--chain", &missing],
            "no such file",
        ),
        (
            "negative tail",
            vec!["process", g, "OUT", eq[0], eq[1], "--tail=-1"],
            "--tail",
        ),
        (
            "non-numeric tail",
            vec!["process", g, "OUT", eq[0], eq[1], "--tail", "long"],
            "--tail",
        ),
        (
            "bad bit depth",
            vec!["process", g, "OUT", eq[0], eq[1], "--bit-depth", "20"],
            "expected 16, 24 or 32",
        ),
        (
            "zero bpm",
            vec!["process", g, "OUT", eq[0], eq[1], "--bpm", "0"],
            "--bpm",
        ),
        (
            "both effect and chain",
            vec!["process", g, "OUT", eq[0], eq[1], "--chain", &range_chain],
            "not both",
        ),
        (
            "neither effect nor chain",
            vec!["process", g, "OUT"],
            "give --effect ID or --chain",
        ),
        (
            "set with chain",
            vec!["process", g, "OUT", "--chain", &range_chain, "--set", "gainDb=1"],
            "--set applies to --effect only",
        ),
        (
            "unknown flag",
            vec!["process", g, "OUT", eq[0], eq[1], "--frobnicate"],
            "--frobnicate",
        ),
        ("missing output argument", vec!["process", g], "<OUTPUT>"),
        ("no command", vec![], "missing command"),
        (
            "tail beyond the WAV size limit",
            vec!["process", g, "OUT", eq[0], eq[1], "--tail", "1e300"],
            "4 GiB",
        ),
        ("unknown command", vec!["mangle", g], "unrecognized subcommand 'mangle'"),
        (
            "chain is a directory",
            vec!["process", g, "OUT", "--chain", path_str(d)],
            "is a directory",
        ),
    ];
    for (label, args, expected) in cases {
        assert_bad_input(label, d, &args, expected);
    }
}

#[test]
fn an_unwritable_output_directory_is_an_io_failure_with_exit_1() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    write_noise(&input, 100, 48_000);
    let output = dir.path().join("no-such-dir").join("out.wav");
    let out = run(&["process", path_str(&input), path_str(&output), "--effect", "low-shelf"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out).lines().count(), 1);
    assert!(!output.exists());
}

// ---- analyze and peaks ----

fn stereo_float_file(path: &Path, sample_rate_hz: u32, left: &[f32], right: &[f32]) {
    let mut data = Vec::new();
    for (l, r) in left.iter().zip(right) {
        data.extend_from_slice(&l.to_le_bytes());
        data.extend_from_slice(&r.to_le_bytes());
    }
    fs::write(path, wav_bytes(&float_layout(2, sample_rate_hz), &data)).unwrap();
}

#[test]
fn analyze_json_prints_exactly_the_documented_keys() {
    let dir = temp_dir();
    let input = dir.path().join("sine.wav");
    let sr = 48_000u32;
    // A 1 kHz sine at -23 dBFS in both channels: EBU Tech 3341 case 1 (-23 LUFS).
    let amp = 10f64.powf(-23.0 / 20.0);
    let x: Vec<f32> = (0..sr as usize * 5)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(sr)).sin()) as f32)
        .collect();
    stereo_float_file(&input, sr, &x, &x);
    let out = run(&["analyze", path_str(&input), "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![
        "peakDb",
        "truePeakDb",
        "rmsDb",
        "crestDb",
        "integratedLufs",
        "loudnessRangeLu",
        "spectralCentroidHz",
        "spectralRolloffHz",
        "spectralFlatness",
        "zeroCrossingRate",
        "mfcc",
        "bandEnergy",
        "tempoBpm",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    let centroid: Vec<&String> = json["spectralCentroidHz"].as_object().unwrap().keys().collect();
    assert_eq!(centroid, ["mean", "std"]);
    let mut bands: Vec<&String> = json["bandEnergy"].as_object().unwrap().keys().collect();
    bands.sort_unstable();
    assert_eq!(bands, ["high", "low", "mid"]);
    assert_eq!(json["mfcc"].as_array().unwrap().len(), 13);
    let lufs = json["integratedLufs"].as_f64().unwrap();
    assert!((lufs + 23.0).abs() <= 0.1, "{lufs}");
    assert!((json["peakDb"].as_f64().unwrap() + 23.0).abs() < 0.01);
    assert!((json["crestDb"].as_f64().unwrap() - 3.01).abs() < 0.01);
    assert!((json["spectralCentroidHz"]["mean"].as_f64().unwrap() - 1000.0).abs() < 20.0);
    assert!(json["tempoBpm"].is_null(), "a steady tone has no beat");

    let text = run(&["analyze", path_str(&input)]);
    assert!(text.status.success());
    // The text prints the JSON's value to two decimals (BS.1770-4's filter reads this tone at -22.99).
    let stdout = String::from_utf8_lossy(&text.stdout);
    let line = format!("integrated         {lufs:.2} LUFS");
    assert!(stdout.contains(&line), "{line} not in {stdout}");
}

#[test]
fn analyze_reports_silence_as_null_loudness() {
    let dir = temp_dir();
    let input = dir.path().join("silence.wav");
    let zeros = vec![0.0f32; 48_000];
    stereo_float_file(&input, 48_000, &zeros, &zeros);
    let out = run(&["analyze", path_str(&input), "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    let json: Value = serde_json::from_str(&text).unwrap();
    for key in [
        "peakDb",
        "truePeakDb",
        "rmsDb",
        "crestDb",
        "integratedLufs",
        "loudnessRangeLu",
        "tempoBpm",
    ] {
        assert!(json[key].is_null(), "{key}: {}", json[key]);
    }
    assert_eq!(json["spectralCentroidHz"]["mean"].as_f64(), Some(0.0));
}

#[test]
fn peaks_json_equals_a_direct_min_max_per_bucket_at_every_level() {
    let dir = temp_dir();
    let input = dir.path().join("noise.wav");
    let frames = 10_007;
    write_noise(&input, frames, 44_100);
    let decoded = read_output(&input);
    let out = run(&["peaks", path_str(&input), "--buckets", "10", "--levels", "3", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["frames"].as_u64(), Some(frames as u64));
    let levels = json["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3);
    for (k, level) in levels.iter().enumerate() {
        let b = 10usize << k;
        assert_eq!(level["buckets"].as_u64(), Some(b as u64));
        for (c, x) in [&decoded.left, &decoded.right].iter().enumerate() {
            for i in 0..b {
                let part = &x[i * frames / b..(i + 1) * frames / b];
                let lo = part.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = part.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                // Printed as the shortest text that reads back as the same f32.
                let read = |v: &Value| v.as_f64().map(|x| x as f32);
                assert_eq!(read(&level["min"][c][i]), Some(lo), "level {k} ch {c} bucket {i}");
                assert_eq!(read(&level["max"][c][i]), Some(hi), "level {k} ch {c} bucket {i}");
            }
        }
    }
    let text = run(&["peaks", path_str(&input), "--buckets", "4"]);
    assert!(text.status.success());
    assert_eq!(String::from_utf8_lossy(&text.stdout).lines().count(), 5);
}

#[test]
fn analyze_and_peaks_reject_bad_input_with_exit_2_and_one_line() {
    let dir = temp_dir();
    let d = dir.path();
    let good = d.join("in.wav");
    write_noise(&good, 1000, 48_000);
    let not_wav = d.join("text.wav");
    fs::write(&not_wav, b"this is not a wav file at all").unwrap();
    let mut truncated = wav_bytes(&float_layout(2, 48_000), &[0u8; 800]);
    truncated.truncate(300);
    let truncated_path = d.join("truncated.wav");
    fs::write(&truncated_path, truncated).unwrap();
    let missing = d.join("missing.wav");
    // Non-finite float samples, deep into a long file (past the first block read).
    let mut left = vec![0.1f32; 200_000];
    let right = vec![-0.1f32; 200_000];
    left[150_000] = f32::NAN;
    let nan_path = d.join("nan.wav");
    stereo_float_file(&nan_path, 48_000, &left, &right);
    let mut right_inf = right.clone();
    right_inf[7] = f32::INFINITY;
    let inf_path = d.join("inf.wav");
    stereo_float_file(&inf_path, 48_000, &right, &right_inf);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["analyze", path_str(&nan_path)],
            "nan.wav: frame 150000, channel 1: NaN",
        ),
        (
            vec!["analyze", path_str(&inf_path), "--json"],
            "inf.wav: frame 7, channel 2: inf",
        ),
        (
            vec!["peaks", path_str(&nan_path), "--buckets", "4"],
            "frame 150000, channel 1: NaN",
        ),
        (vec!["analyze", path_str(&not_wav)], "not a WAV file"),
        (vec!["analyze", path_str(&truncated_path), "--json"], "truncated"),
        (vec!["analyze", path_str(&missing)], "no such file"),
        (vec!["analyze", path_str(d)], "directory"),
        (vec!["peaks", path_str(&not_wav), "--buckets", "4"], "not a WAV file"),
        (vec!["peaks", path_str(&good), "--buckets", "0"], "--buckets"),
        (vec!["peaks", path_str(&good)], "--buckets"),
        (
            vec!["peaks", path_str(&good), "--buckets", "1000000", "--levels", "16"],
            "finest level",
        ),
    ];
    for (args, expected) in cases {
        let out = run(&args);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(
            stderr.contains(expected),
            "{args:?}: {stderr:?} should contain {expected:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

// ---- Unix manners: a closed stdout, labels and presets on the command line, limits, one-line errors ----

/// Runs the program with its stdout a pipe whose reading end is closed before the program writes anything, as
/// `| head -c 0` would: the program must end quietly (exit 0, nothing on stderr), not panic (exit 101).
fn run_with_stdout_closed(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    child.wait_with_output().expect("the binary ends")
}

#[test]
fn a_reader_that_closes_stdout_early_ends_the_program_quietly_with_exit_0() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    write_noise(&input, 48_000, 48_000);
    let wav = path_str(&input);
    for args in [
        vec!["effects", "--json"],
        vec!["effects"],
        vec!["effects", "--markdown"],
        vec!["analyze", wav, "--json"],
        vec!["analyze", wav],
        vec!["peaks", wav, "--buckets", "4000", "--levels", "3", "--json"],
        vec!["peaks", wav, "--buckets", "4000"],
        vec!["--help"],
    ] {
        let out = run_with_stdout_closed(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr_of(&out));
        assert!(out.stderr.is_empty(), "{args:?}: {}", stderr_of(&out));
    }
}

/// Runs `process` over `input` into `name.wav` in `dir` and returns the output's bytes.
fn process_bytes(dir: &Path, input: &Path, name: &str, options: &[&str]) -> Vec<u8> {
    let output = dir.join(format!("{name}.wav"));
    let mut args = vec!["process", path_str(input), path_str(&output)];
    args.extend_from_slice(options);
    let out = run(&args);
    assert!(out.status.success(), "{name}: {}", stderr_of(&out));
    fs::read(output).unwrap()
}

#[test]
fn set_takes_labels_case_insensitively_and_presets_by_name() {
    let dir = temp_dir();
    let d = dir.path();
    let input = d.join("in.wav");
    write_noise(&input, 4_800, 48_000);
    let hlp = ["--effect", "high-low-pass"];
    let by_index = process_bytes(d, &input, "index", &[hlp[0], hlp[1], "--set", "mode=1"]);
    for label in ["lowPass", "lowpass", "LOWPASS"] {
        let setting = format!("mode={label}");
        let by_label = process_bytes(d, &input, label, &[hlp[0], hlp[1], "--set", &setting]);
        assert_eq!(by_label, by_index, "{label}");
    }
    assert_ne!(
        by_index,
        process_bytes(d, &input, "hp", &[hlp[0], hlp[1], "--set", "mode=highPass"])
    );
    // A choice (oversample 1, 2, 4, 8) by its label.
    let sat = ["--effect", "saturation"];
    assert_eq!(
        process_bytes(d, &input, "os-label", &[sat[0], sat[1], "--set", "oversample=4x"]),
        process_bytes(d, &input, "os-value", &[sat[0], sat[1], "--set", "oversample=4"])
    );
    // --preset and --set preset= equal the chain's "preset", with --set values layered on top.
    let chain_path = d.join("plate.json");
    let chain = serde_json::json!([{"effect": "plate-reverb", "preset": "plate", "parameters": {"mix": 0.5}}]);
    fs::write(&chain_path, chain.to_string()).unwrap();
    let by_chain = process_bytes(d, &input, "chain", &["--chain", path_str(&chain_path)]);
    let plate = ["--effect", "plate-reverb"];
    let by_option = process_bytes(
        d,
        &input,
        "opt",
        &[plate[0], plate[1], "--preset", "plate", "--set", "mix=0.5"],
    );
    let by_set = process_bytes(
        d,
        &input,
        "set",
        &[plate[0], plate[1], "--set", "mix=0.5", "--set", "preset=plate"],
    );
    assert_eq!(by_option, by_chain);
    assert_eq!(by_set, by_chain);
    assert_ne!(
        by_chain,
        process_bytes(d, &input, "no-preset", &[plate[0], plate[1], "--set", "mix=0.5"])
    );
}

#[test]
fn bad_labels_presets_and_repeated_settings_are_named_in_one_line() {
    let dir = temp_dir();
    let d = dir.path();
    let good = d.join("in.wav");
    write_noise(&good, 480, 48_000);
    let g = path_str(&good);
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "unknown label",
            vec![
                "process",
                g,
                "OUT",
                "--effect",
                "high-low-pass",
                "--set",
                "mode=bandPass",
            ],
            "'bandPass' is not a number; allowed: 0 (highPass), 1 (lowPass)",
        ),
        (
            "choice out of range",
            vec!["process", g, "OUT", "--effect", "saturation", "--set", "oversample=3"],
            "labels: 1 (1x), 2 (2x), 4 (4x), 8 (8x)",
        ),
        (
            "repeated parameter",
            vec![
                "process",
                g,
                "OUT",
                "--effect",
                "limiter",
                "--set",
                "ceilingDb=-1",
                "--set",
                "ceilingDb=-3",
            ],
            "parameter 'ceilingDb' is set more than once",
        ),
        (
            "unknown preset",
            vec!["process", g, "OUT", "--effect", "plate-reverb", "--preset", "cathedral"],
            "no preset 'cathedral' (presets: init, plate",
        ),
        (
            "unknown preset by --set",
            vec![
                "process",
                g,
                "OUT",
                "--effect",
                "plate-reverb",
                "--set",
                "preset=cathedral",
            ],
            "no preset 'cathedral'",
        ),
        (
            "preset twice",
            vec![
                "process",
                g,
                "OUT",
                "--effect",
                "plate-reverb",
                "--preset",
                "plate",
                "--set",
                "preset=init",
            ],
            "the preset is already chosen by --preset",
        ),
        (
            "preset with a chain",
            vec!["process", g, "OUT", "--chain", "c.json", "--preset", "plate"],
            "--preset applies to --effect only",
        ),
    ];
    for (label, args, expected) in cases {
        assert_bad_input(label, d, &args, expected);
    }
}

#[test]
fn chains_and_peak_requests_beyond_their_limits_are_bad_input() {
    let dir = temp_dir();
    let d = dir.path();
    let good = d.join("in.wav");
    write_noise(&good, 1_000, 48_000);
    let g = path_str(&good);
    let chain_of = |n: usize| -> PathBuf {
        let path = d.join(format!("chain-{n}.json"));
        let entries: Vec<Value> = (0..n).map(|_| serde_json::json!({"effect": "hall-reverb"})).collect();
        fs::write(&path, Value::Array(entries).to_string()).unwrap();
        path
    };
    // 64 entries run; 65 are refused before any effect is built.
    let longest = chain_of(64);
    let out = run(&["process", g, path_str(&d.join("ok.wav")), "--chain", path_str(&longest)]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let too_long = chain_of(65);
    let args = ["process", g, "OUT", "--chain", path_str(&too_long)];
    assert_bad_input(
        "chain of 65",
        d,
        &args,
        "chain: 65 entries, more than the 64 a chain may hold",
    );
    // peaks: the finest level may not have more buckets than the file has frames (1,000 here).
    for (args, expected) in [
        (
            vec!["peaks", g, "--buckets", "16777216", "--json"],
            "more than the file's 1000 frames",
        ),
        (
            vec!["peaks", g, "--buckets", "512", "--levels", "16"],
            "16777216 buckets at the finest level",
        ),
        (
            vec!["peaks", g, "--buckets", "1024", "--levels", "16"],
            "more than 16777216 buckets",
        ),
        (
            vec!["peaks", g, "--buckets", "501", "--levels", "2"],
            "more than the file's 1000 frames",
        ),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr_of(&out).contains(expected), "{args:?}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty());
    }
    let out = run(&["peaks", g, "--buckets", "250", "--levels", "3", "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["levels"][2]["buckets"].as_u64(), Some(1000));
}

#[test]
fn control_characters_in_paths_and_ids_are_escaped_so_errors_stay_one_line() {
    let dir = temp_dir();
    let d = dir.path();
    let good = d.join("in.wav");
    write_noise(&good, 480, 48_000);
    let missing = d.join("bad\nname.wav");
    let nul_chain = d.join("nul.json");
    fs::write(&nul_chain, r#"[{"effect": "lim\u0000iter"}]"#).unwrap();
    let g = path_str(&good);
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "newline in a path",
            vec!["process", path_str(&missing), "OUT", "--effect", "limiter"],
            "bad\\nname.wav: no such file",
        ),
        (
            "NUL in an id (from a chain file: an argument cannot hold one)",
            vec!["process", g, "OUT", "--chain", path_str(&nul_chain)],
            "chain[0].effect: unknown effect 'lim\\u{0}iter'",
        ),
        (
            "newline in a key",
            vec!["process", g, "OUT", "--effect", "limiter", "--set", "ceiling\nDb=1"],
            "parameter 'ceiling\\nDb'",
        ),
        (
            "newline in a clap value",
            vec!["process", g, "OUT", "--effect", "limiter", "--bpm", "1\n2"],
            "invalid value '1\\n2' for '--bpm <BPM>'",
        ),
    ];
    for (label, args, expected) in cases {
        assert_bad_input(label, d, &args, expected);
    }
}

// ---- interrupted runs and outputs that are not regular files ----

/// Every file name in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn a_signal_mid_run_removes_the_temporary_file_and_ends_with_that_signal() {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};
    let dir = temp_dir();
    let d = dir.path();
    let input = d.join("in.wav");
    write_noise(&input, 4_800, 48_000);
    for (signal, number) in [("INT", 2), ("TERM", 15), ("HUP", 1)] {
        let output = d.join("out.wav");
        // An hour of reverb tail: far longer than the test waits before it signals.
        let mut child = Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
            .args(["process", path_str(&input), path_str(&output)])
            .args(["--effect", "hall-reverb", "--tail", "3600"])
            .spawn()
            .expect("the binary runs");
        // Signalled once the temporary file exists and holds audio.
        let started = Instant::now();
        loop {
            let temp = names_in(d).into_iter().find(|n| n.ends_with(".wav.tmp"));
            let size = temp.map_or(0, |n| fs::metadata(d.join(n)).map_or(0, |m| m.len()));
            if size > 100_000 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "SIG{signal}: no temporary file grew"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(number),
            "SIG{signal}: ended by the signal, {status:?}"
        );
        assert_eq!(
            names_in(d),
            vec!["in.wav".to_string()],
            "SIG{signal}: only the input is left"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_is_an_io_failure_that_leaves_no_temporary_file() {
    let dir = temp_dir();
    let d = dir.path();
    let input = d.join("in.wav");
    write_noise(&input, 48_000, 48_000);
    let output = d.join("out.wav");
    // ulimit -f counts 1024-byte blocks (bash, dash): 64 KiB, far less than the 384 KB output.
    let script = format!(
        "ulimit -f 64 && exec '{}' process '{}' '{}' --effect limiter",
        env!("CARGO_BIN_EXE_corelogic-dsp"),
        path_str(&input),
        path_str(&output)
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("out.wav: cannot write"), "{stderr}");
    assert_eq!(names_in(d), vec!["in.wav".to_string()]);
}

#[cfg(unix)]
#[test]
fn a_device_or_fifo_output_is_written_directly_and_a_directory_is_refused() {
    use std::os::unix::fs::FileTypeExt;
    let dir = temp_dir();
    let d = dir.path();
    let input = d.join("in.wav");
    write_noise(&input, 4800, 48_000);
    let args = |output: &Path| {
        vec![
            "process".to_string(),
            path_str(&input).to_string(),
            path_str(output).to_string(),
            "--effect".to_string(),
            "limiter".to_string(),
        ]
    };
    let run_to = |output: &Path| {
        let a = args(output);
        run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // /dev/null: written to, and still a device afterwards.
    let null = Path::new("/dev/null");
    assert!(fs::metadata(null).unwrap().file_type().is_char_device());
    let out = run_to(null);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(
        fs::metadata(null).unwrap().file_type().is_char_device(),
        "/dev/null is still a device"
    );
    // A FIFO: a reader gets the same WAV as a file, except the two sizes, which a stream cannot know.
    let regular = d.join("regular.wav");
    assert_eq!(run_to(&regular).status.code(), Some(0));
    let fifo = d.join("pipe.wav");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let out = run_to(&fifo);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let streamed = reader.join().unwrap();
    let file = fs::read(&regular).unwrap();
    assert_eq!(streamed.len(), file.len());
    let data_at = file.windows(4).position(|w| w == b"data").unwrap() + 4;
    for (i, (a, b)) in streamed.iter().zip(&file).enumerate() {
        if (4..8).contains(&i) || (data_at..data_at + 4).contains(&i) {
            assert_eq!(*a, 0xff, "size byte {i} of the stream says unknown");
        } else {
            assert_eq!(a, b, "byte {i}");
        }
    }
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A directory is refused, and nothing is left beside it.
    let out = run_to(d);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
    let mut names = names_in(d);
    names.sort();
    assert_eq!(
        names,
        vec!["in.wav", "pipe.wav", "regular.wav"],
        "no temporary file left"
    );
}

#[test]
fn analyze_gives_a_finite_true_peak_for_samples_near_f32_max() {
    let dir = temp_dir();
    let input = dir.path().join("huge.wav");
    let left: Vec<f32> = (0..48_000).map(|i| f32::MAX * (i as f32 * 0.9).sin()).collect();
    stereo_float_file(&input, 48_000, &left, &left);
    let out = run(&["analyze", path_str(&input), "--json"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let peak_db = json["peakDb"].as_f64().expect("a peak");
    let true_peak_db = json["truePeakDb"].as_f64().expect("a true peak, not null");
    // 20 log10(f32::MAX) = 770.6 dB; the oversampled peak of a 0.9 rad/sample sine lies above the samples.
    assert!((peak_db - 770.6).abs() < 0.05, "{peak_db}");
    assert!(
        true_peak_db >= peak_db && true_peak_db < peak_db + 3.0,
        "{true_peak_db} vs {peak_db}"
    );
}

// ---- standard input and output (`-`) ----

/// Runs the program with `input` on its stdin (written from a thread, so a large output cannot block it) and
/// its stdout captured.
fn run_piped(args: &[&str], input: Vec<u8>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A reader that stops early (an error) closes the pipe: the writer then gets EPIPE, which is fine here.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("the binary ends");
    writer.join().expect("the writer thread ends");
    out
}

/// The byte offsets of the two RIFF size fields of a file our writer wrote (hound's layout): the RIFF size at
/// 4, the data size just before the samples.
fn size_fields(bytes: &[u8]) -> [usize; 2] {
    let data = bytes.windows(4).position(|w| w == b"data").expect("a data chunk");
    [4, data + 4]
}

/// A file written in one go with a header whose sizes are placeholders, as a streaming writer leaves them.
fn with_placeholder_sizes(wav: &[u8], riff_size: u32, data_size: u32) -> Vec<u8> {
    let mut bytes = wav.to_vec();
    let [riff_at, data_at] = size_fields(&bytes);
    bytes[riff_at..riff_at + 4].copy_from_slice(&riff_size.to_le_bytes());
    bytes[data_at..data_at + 4].copy_from_slice(&data_size.to_le_bytes());
    bytes
}

#[test]
fn process_through_stdin_and_stdout_writes_the_samples_of_the_file_path() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    // 50,000 frames: several of the CLI's 16,384-frame blocks and a partial one, then a tail.
    write_noise(&input, 50_000, 44_100);
    let input_bytes = fs::read(&input).unwrap();
    for bits in ["16", "24", "32"] {
        let options = [
            "--effect",
            "compressor",
            "--set",
            "thresholdDb=-30",
            "--tail",
            "0.5",
            "--bit-depth",
            bits,
        ];
        let reference = process_bytes(dir.path(), &input, &format!("file{bits}"), &options);

        // stdin to a file: the same bytes, header included.
        let from_stdin = dir.path().join(format!("stdin{bits}.wav"));
        let mut args = vec!["process", "-", path_str(&from_stdin)];
        args.extend_from_slice(&options);
        let out = run_piped(&args, input_bytes.clone());
        assert!(out.status.success(), "{bits}: {}", stderr_of(&out));
        assert!(
            fs::read(&from_stdin).unwrap() == reference,
            "{bits}-bit: stdin to a file differs"
        );

        // stdin to a pipe: the same samples; only the two size fields differ, "unknown" (0xFFFFFFFF) as
        // a stream cannot seek back to fill them in.
        let mut args = vec!["process", "-", "-"];
        args.extend_from_slice(&options);
        let out = run_piped(&args, input_bytes.clone());
        assert!(out.status.success(), "{bits}: {}", stderr_of(&out));
        let streamed = out.stdout;
        assert_eq!(streamed.len(), reference.len(), "{bits}-bit: stream length");
        let fields = size_fields(&reference);
        let differing: Vec<usize> = (0..streamed.len()).filter(|&i| streamed[i] != reference[i]).collect();
        assert!(
            differing.iter().all(|i| fields.iter().any(|f| (*f..f + 4).contains(i))),
            "{bits}-bit: bytes outside the size fields differ: {:?}",
            &differing[..differing.len().min(10)]
        );
        for at in fields {
            assert_eq!(streamed[at..at + 4], [0xFF; 4], "{bits}-bit: size field at {at}");
        }

        // A file to stdout when stdout is a regular file (`> out.wav`): the sizes are filled in, so the
        // bytes are the file path's.
        let redirected = dir.path().join(format!("redirected{bits}.wav"));
        let mut args = vec!["process", path_str(&input), "-"];
        args.extend_from_slice(&options);
        let status = Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
            .args(&args)
            .stdout(fs::File::create(&redirected).unwrap())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(
            fs::read(&redirected).unwrap() == reference,
            "{bits}-bit: redirected stdout differs"
        );
    }
}

#[test]
fn a_header_with_placeholder_sizes_from_a_pipe_or_in_a_file_is_read_to_its_end() {
    let dir = temp_dir();
    let input = dir.path().join("in.wav");
    write_noise(&input, 30_000, 48_000);
    let bytes = fs::read(&input).unwrap();
    let chain = dir.path().join("empty.json");
    fs::write(&chain, "[]").unwrap();
    let reference = read_output(&input);
    let reference_peaks = run(&["peaks", path_str(&input), "--buckets", "100", "--levels", "3", "--json"]);
    assert!(reference_peaks.status.success());
    // ffmpeg's streaming header (both sizes 0xFFFFFFFF), sox's MS_UNSPEC (0x7FFFF000), and zeros.
    for (riff, data) in [(u32::MAX, u32::MAX), (u32::MAX, 0x7FFF_F000), (0, 0)] {
        let label = format!("RIFF {riff:#x}, data {data:#x}");
        let placeholder = with_placeholder_sizes(&bytes, riff, data);
        let out_path = dir.path().join("out.wav");
        let out = run_piped(
            &["process", "-", path_str(&out_path), "--chain", path_str(&chain)],
            placeholder.clone(),
        );
        assert!(out.status.success(), "{label}: {}", stderr_of(&out));
        let got = read_output(&out_path);
        assert!(
            got.left == reference.left && got.right == reference.right,
            "{label}: samples differ"
        );

        let peaks = run_piped(
            &["peaks", "-", "--buckets", "100", "--levels", "3", "--json"],
            placeholder.clone(),
        );
        assert!(peaks.status.success(), "{label}: {}", stderr_of(&peaks));
        assert_eq!(peaks.stdout, reference_peaks.stdout, "{label}: peaks from stdin");

        // The same bytes as a file (a pipe captured with `>`): read to the end of the file.
        let file = dir.path().join("placeholder.wav");
        fs::write(&file, &placeholder).unwrap();
        let peaks = run(&["peaks", path_str(&file), "--buckets", "100", "--levels", "3", "--json"]);
        assert!(peaks.status.success(), "{label}: {}", stderr_of(&peaks));
        assert_eq!(peaks.stdout, reference_peaks.stdout, "{label}: peaks of the file");
    }
    // A stream of unknown length that ends inside a frame is truncated input, named as such.
    let mut cut = with_placeholder_sizes(&bytes, u32::MAX, u32::MAX);
    cut.truncate(cut.len() - 3);
    let out = run_piped(&["process", "-", "-", "--chain", path_str(&chain)], cut);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).starts_with("corelogic-dsp: standard input: truncated: the data ends inside a frame"),
        "{}",
        stderr_of(&out)
    );
}

/// Mono 8 kHz: 80 s of quiet noise (about -86 dBFS), then 5 s of loud noise, so that the quiet frames end up
/// under the MFCCs' 80 dB floor only once the loud part comes: more of them than the analyser keeps, so it needs
/// a second pass.
fn crescendo_mono() -> Vec<f32> {
    let mut state: u32 = 0x9E37_79B9;
    (0..85 * 8_000)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let gain = if i < 80 * 8_000 { 1e-4 } else { 0.5 };
            ((state as f64 / u32::MAX as f64 - 0.5) * gain) as f32
        })
        .collect()
}

#[test]
fn analyze_from_stdin_equals_analyze_of_the_file_with_and_without_a_second_pass() {
    let dir = temp_dir();
    let crescendo = crescendo_mono();
    // The premise: this input makes the analysis read the samples twice.
    let mut analyzer = corelogic_dsp::analysis::Analyzer::new(8_000.0, 1).unwrap();
    analyzer.push(&[&crescendo]).unwrap();
    assert!(analyzer.end_first_pass().unwrap(), "the crescendo needs a second pass");
    let crescendo_path = dir.path().join("crescendo.wav");
    let data: Vec<u8> = crescendo.iter().flat_map(|x| x.to_le_bytes()).collect();
    fs::write(&crescendo_path, wav_bytes(&float_layout(1, 8_000), &data)).unwrap();
    let noise_path = dir.path().join("noise.wav");
    write_noise(&noise_path, 96_000, 48_000);
    for path in [&crescendo_path, &noise_path] {
        let bytes = fs::read(path).unwrap();
        for json in [true, false] {
            let mut args = vec!["analyze", path_str(path)];
            if json {
                args.push("--json");
            }
            let file = run(&args);
            assert!(file.status.success(), "{}", stderr_of(&file));
            args[1] = "-";
            for (label, input) in [
                ("stdin", bytes.clone()),
                (
                    "stdin with placeholder sizes",
                    with_placeholder_sizes(&bytes, u32::MAX, u32::MAX),
                ),
            ] {
                let piped = run_piped(&args, input);
                assert!(piped.status.success(), "{label}: {}", stderr_of(&piped));
                assert_eq!(
                    String::from_utf8_lossy(&piped.stdout),
                    String::from_utf8_lossy(&file.stdout),
                    "{}, {label}, json {json}",
                    path.display()
                );
            }
        }
    }
}
