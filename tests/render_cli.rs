//! `corelogic-dsp render` end to end: clips (offsets, gains, fades by docs/engine.md's formula, written again here),
//! the mono pan law for mono files, timeline alignment through a limiter, `--start`/`--end`, `--sample-rate`,
//! `--bit-depth`, the metronome, and bad projects exiting 2 with the JSON path of the problem.

use serde_json::{json, Value};
use std::f64::consts::{FRAC_1_SQRT_2, TAU};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SR: u32 = 48_000;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corelogic-dsp"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

fn write_wav(path: &Path, channels: &[Vec<f32>], sample_rate: u32) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..channels[0].len() {
        for c in channels {
            w.write_sample(c[n]).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Reads a stereo output as f64 channels (integer PCM divided by 2^(bits-1)), with its spec.
fn read_wav(path: &Path) -> (Vec<f64>, Vec<f64>, hound::WavSpec) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| f64::from(s.unwrap())).collect(),
        hound::SampleFormat::Int => {
            let scale = f64::from(1u32 << (spec.bits_per_sample - 1));
            r.samples::<i32>().map(|s| f64::from(s.unwrap()) / scale).collect()
        }
    };
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (left, right, spec)
}

fn write_project(dir: &Path, project: &Value) -> PathBuf {
    let path = dir.join("project.json");
    fs::write(&path, serde_json::to_string_pretty(project).unwrap()).unwrap();
    path
}

fn render(project: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["render", project.to_str().unwrap(), out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

fn ramp(frames: usize, seed: f64) -> Vec<f32> {
    (0..frames)
        .map(|n| (0.6 * ((n as f64 * 0.0137 + seed).sin())) as f32)
        .collect()
}

/// docs/engine.md's clip gain, written here: at clip frame n of d, 10^(gain/20) x min(1, n / Fi, (d - n) / Fo),
/// a zero fade's term left out.
fn clip_gain(n: usize, d: usize, fade_in: usize, fade_out: usize, gain_db: f64) -> f64 {
    let mut g: f64 = 1.0;
    if fade_in > 0 {
        g = g.min(n as f64 / fade_in as f64);
    }
    if fade_out > 0 {
        g = g.min((d - n) as f64 / fade_out as f64);
    }
    10f64.powf(gain_db / 20.0) * g
}

fn assert_close(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tolerance, "{what}: frame {n}: got {g}, want {w}");
    }
}

#[test]
fn clips_with_offsets_gains_and_fades_follow_the_clip_formula() {
    let d = dir();
    let (a_l, a_r) = (ramp(20_000, 0.0), ramp(20_000, 1.0));
    write_wav(&d.path().join("a.wav"), &[a_l.clone(), a_r.clone()], SR);
    // Clip 1: starts at 0.1 s (4800), offset 0.05 s (2400), 0.2 s (9600 frames), gain -3 dB, fades 0.01 s
    // (480) in and 0.05 s (2400) out. Clip 2 overlaps it: starts at 0.25 s (12000), offset 0, to the end of
    // the file (20000 frames), gain +2 dB, fade in 0.1 s (4800), no fade out.
    let project = json!({"sampleRate": 48000, "tracks": [{"id": "t", "type": "audio", "clips": [
        {"path": "a.wav", "startTime": 0.1, "offset": 0.05, "duration": 0.2, "gain": -3, "fadeIn": 0.01, "fadeOut": 0.05},
        {"path": "a.wav", "startTime": 0.25, "offset": 0, "gain": 2, "fadeIn": 0.1}]}]});
    let p = write_project(d.path(), &project);
    let out = d.path().join("out.wav");
    let o = render(&p, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (l, r, spec) = read_wav(&out);
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (2, SR, 32));
    // The render ends with the last clip (no inserts, so no tail).
    let end = 12_000 + 20_000;
    let mut want_l = vec![0.0; end];
    let mut want_r = vec![0.0; end];
    for (start, offset, len, fi, fo, g) in [
        (4_800, 2_400, 9_600, 480, 2_400, -3.0),
        (12_000, 0, 20_000, 4_800, 0, 2.0),
    ] {
        for k in 0..len {
            let gain = clip_gain(k, len, fi, fo, g);
            want_l[start + k] += f64::from(a_l[offset + k]) * gain;
            want_r[start + k] += f64::from(a_r[offset + k]) * gain;
        }
    }
    assert_close(&l, &want_l, 1e-6, "left");
    assert_close(&r, &want_r, 1e-6, "right");
}

#[test]
fn a_mono_file_pans_with_the_mono_law() {
    let d = dir();
    let mono = ramp(4_800, 0.3);
    write_wav(&d.path().join("m.wav"), std::slice::from_ref(&mono), SR);
    let project = json!({"tracks": [{"id": "t", "type": "audio", "audio": {"path": "m.wav"}}]});
    let out = d.path().join("out.wav");
    let o = render(&write_project(d.path(), &project), &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (l, r, _) = read_wav(&out);
    // Web Audio's mono law at pan 0: cos(pi/4) on each side.
    let want: Vec<f64> = mono.iter().map(|&x| f64::from(x) * FRAC_1_SQRT_2).collect();
    assert_close(&l, &want, 1e-6, "left");
    assert_close(&r, &want, 1e-6, "right");
}

#[test]
fn a_render_through_a_limiter_is_timeline_aligned_and_start_end_cut_it_exactly() {
    let d = dir();
    let (a_l, a_r) = (
        ramp(24_000, 0.0).iter().map(|x| x * 0.1).collect::<Vec<f32>>(),
        ramp(24_000, 2.0),
    );
    let a_r: Vec<f32> = a_r.iter().map(|x| x * 0.1).collect();
    write_wav(&d.path().join("a.wav"), &[a_l.clone(), a_r.clone()], SR);
    let project = json!({"tracks": [{"id": "t", "type": "audio", "audio": {"path": "a.wav", "startTime": 0.02},
                                     "inserts": [{"id": "lim", "effect": "limiter"}]}]});
    let p = write_project(d.path(), &project);
    let full = d.path().join("full.wav");
    let o = render(&p, &full, &["--end", "0.5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (l, _, _) = read_wav(&full);
    assert_eq!(l.len(), 24_000);
    // The limiter never engages (peak 0.06): the output is the input, on its own timeline frames.
    let mut want = vec![0.0; 24_000];
    for (k, x) in a_l.iter().take(24_000 - 960).enumerate() {
        want[960 + k] = f64::from(*x);
    }
    assert_close(&l, &want, 1e-6, "aligned");
    // --start 0.1 --end 0.3: frames 4800..14400 of the full render (a cold start; the limiter's lookahead
    // fills from the clip, which the render feeds from the start position).
    let part = d.path().join("part.wav");
    let o = render(&p, &part, &["--start", "0.1", "--end", "0.3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (pl, _, _) = read_wav(&part);
    assert_close(&pl, &want[4_800..14_400], 1e-6, "part");
    // `-` writes the same render to standard output (a streaming header: only its two size fields differ).
    let o = run(&["render", p.to_str().unwrap(), "-", "--end", "0.5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::read(&full).unwrap();
    assert_eq!(o.stdout.len(), file.len());
    let differing: Vec<usize> = (0..file.len()).filter(|&i| o.stdout[i] != file[i]).collect();
    assert!(
        differing
            .iter()
            .all(|&i| (4..8).contains(&i) || i >= file.len() - 4 - 24_000 * 2 * 4 - 4),
        "{differing:?}"
    );
    assert_eq!(
        &o.stdout[file.len() - 24_000 * 2 * 4..],
        &file[file.len() - 24_000 * 2 * 4..],
        "the samples"
    );
}

#[test]
fn bit_depth_16_writes_dithered_integers_close_to_the_float_render() {
    let d = dir();
    let a = ramp(4_800, 0.5);
    write_wav(&d.path().join("a.wav"), &[a.clone(), a.clone()], SR);
    let project = json!({"bitDepth": 24, "tracks": [{"id": "t", "type": "audio", "audio": {"path": "a.wav"}}]});
    let p = write_project(d.path(), &project);
    for (flag, bits) in [(None, 24u16), (Some("16"), 16), (Some("32"), 32)] {
        let out = d.path().join(format!("out{bits}.wav"));
        let args: Vec<&str> = flag.map(|f| vec!["--bit-depth", f]).unwrap_or_default();
        let o = render(&p, &out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (l, _, spec) = read_wav(&out);
        assert_eq!(spec.bits_per_sample, bits);
        // TPDF dither of +/-1 LSB plus rounding: at most 1.5 LSB from the float value.
        let lsb = if bits == 32 {
            1e-7
        } else {
            1.5 / f64::from(1u32 << (bits - 1))
        };
        let want: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
        assert_close(&l, &want, lsb, &format!("{bits}-bit"));
    }
}

#[test]
fn sample_rate_resamples_files_to_the_render_rate() {
    let d = dir();
    // A 1 kHz sine at 48 kHz, rendered at 44.1 kHz: the output is the same sine at 44.1 kHz.
    let sine: Vec<f32> = (0..48_000)
        .map(|n| (0.5 * (TAU * 1000.0 * n as f64 / 48_000.0).sin()) as f32)
        .collect();
    write_wav(&d.path().join("s.wav"), &[sine.clone(), sine], SR);
    let project = json!({"sampleRate": 48000, "tracks": [{"id": "t", "type": "audio", "audio": {"path": "s.wav"}}]});
    let out = d.path().join("out.wav");
    let o = render(&write_project(d.path(), &project), &out, &["--sample-rate", "44100"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (l, _, spec) = read_wav(&out);
    assert_eq!(spec.sample_rate, 44_100);
    assert_eq!(l.len(), 44_100);
    // Away from the file's edges (where the resampler sees the silence around it).
    for (n, got) in l.iter().enumerate().take(42_000).skip(2_000) {
        let want = 0.5 * (TAU * 1000.0 * n as f64 / 44_100.0).sin();
        assert!((got - want).abs() < 1e-3, "frame {n}: {got} vs {want}");
    }
}

#[test]
fn bad_projects_exit_2_naming_the_json_path() {
    let d = dir();
    write_wav(&d.path().join("a.wav"), &[vec![0.1; 100]], SR);
    let cases = [
        (
            json!({"tracks": [{"id": "t", "type": "audio", "audio": {"path": "a.wav"},
                            "inserts": [{"id": "x", "effect": "no-such-effect"}]}]}),
            "tracks[0].inserts[0].effect",
        ),
        (
            json!({"tracks": [{"id": "t", "type": "audio", "audio": {"path": "a.wav"},
                            "inserts": [{"id": "x", "effect": "compressor", "parameters": {"ratio": 40}}]}]}),
            "tracks[0].inserts[0].parameters.ratio",
        ),
        (
            json!({"tracks": [{"id": "t", "type": "audio", "audio": {"path": "missing.wav"}}]}),
            "tracks[0].audio.path",
        ),
        (
            json!({"tracks": [{"id": "t", "type": "audio", "clips": [{"path": "a.wav"}, {"path": "project.json"}]}]}),
            "tracks[0].clips[1].path",
        ),
        (
            json!({"buses": [{"id": "a", "routing": "b"}, {"id": "b", "routing": "a"}]}),
            "routing cycle",
        ),
    ];
    for (project, named) in cases {
        let out = d.path().join("out.wav");
        let o = render(&write_project(d.path(), &project), &out, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{named}: {stderr}");
        assert!(stderr.contains(named), "{named} not in: {stderr}");
        assert!(!out.exists(), "nothing is written");
    }
    let p = d.path().join("bad.json");
    fs::write(&p, "{\"tracks\": [}").unwrap();
    let o = render(&p, &d.path().join("out.wav"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("malformed JSON"));
    let o = render(&d.path().join("nope.json"), &d.path().join("out.wav"), &[]);
    assert_eq!(o.status.code(), Some(2));
}

/// docs/engine.md's metronome click, written here: at frame k of a click, amplitude x min(1, k/A) x (1 - k/D)^2
/// x sin(2 pi f k / rate), A = 1 ms, D = 30 ms; 1500 Hz at the volume on bar lines, 1000 Hz at half of it else.
fn click_sample(k: usize, accent: bool, volume: f64) -> f64 {
    let sr = f64::from(SR);
    let (attack, length, k) = ((0.001 * sr).round(), (0.030 * sr).round(), k as f64);
    if k >= length {
        return 0.0;
    }
    let (hz, level) = if accent { (1_500.0, 1.0) } else { (1_000.0, 0.5) };
    volume * level * (k / attack).min(1.0) * (1.0 - k / length).powi(2) * (TAU * hz * k / sr).sin()
}

#[test]
fn the_metronome_sounds_on_the_beats_only_when_enabled_and_the_loop_is_ignored() {
    let d = dir();
    let out = d.path().join("out.wav");
    for enabled in [true, false] {
        let project = json!({"sampleRate": SR, "bpm": 90, "timeSignature": "3/4", "tracks": [],
            "master": {"inserts": [{"id": "lim", "effect": "limiter"}]},
            "loop": {"enabled": true, "startTime": 1.5, "endTime": 2.0},
            "metronome": {"enabled": enabled, "volume": 0.4, "beatSound": "click", "accentFirst": true}});
        let path = write_project(d.path(), &project);
        let result = render(&path, &out, &["--start", "1", "--end", "4"]);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        let (left, right, _) = read_wav(&out);
        assert_eq!(left.len(), 3 * SR as usize);
        // 90 BPM: a beat every 32000 frames; bar lines every 3 beats. Output frame = timeline frame - 48000.
        let mut want = vec![0.0; left.len()];
        if enabled {
            for beat in 2..=5u64 {
                let at = (beat * 32_000 - 48_000) as usize;
                for (k, w) in want.iter_mut().skip(at).enumerate() {
                    *w += click_sample(k, beat % 3 == 0, 0.4);
                }
            }
        }
        for (i, ((l, r), w)) in left.iter().zip(&right).zip(&want).enumerate() {
            assert!(
                (l - w).abs() < 1e-6 && (r - w).abs() < 1e-6,
                "enabled {enabled}, frame {i}: {l} vs {w}"
            );
        }
    }
}
