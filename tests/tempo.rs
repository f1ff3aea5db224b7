//! Tempo against ground truth on generated music (tests/reference/tempo_set.py, its songs made again here by
//! tests/common/tempo_set.rs) and against librosa 0.11's default `librosa.feature.tempo` on the same songs,
//! plus the cases that used to read an octave off. Acc1: within 4 % of the truth (a null tempo is a miss);
//! Acc2: the same, allowing octave errors (1/3, 1/2, 2, 3 times the truth). Gouyon et al. 2006, "An
//! experimental comparison of audio tempo induction algorithms".

mod common;
use common::tempo_set::{self, Ending, Kind, Note, Song, SAMPLE_RATE_HZ};
use corelogic_dsp::analysis;
use corelogic_dsp::analysis::tempo::{TempoEstimator, MAX_BPM, MIN_BPM};
use corelogic_dsp::effects::find;
use serde_json::Value;

/// Acc1's tolerance, as a fraction of the true tempo.
const ACC1_TOLERANCE: f64 = 0.04;
const OCTAVE_FACTORS: [f64; 5] = [1.0, 1.0 / 3.0, 0.5, 2.0, 3.0];

fn within(found: Option<f64>, truth: f64, factor: f64) -> bool {
    found.is_some_and(|f| (f - truth * factor).abs() <= ACC1_TOLERANCE * truth * factor)
}

fn acc1(found: Option<f64>, truth: f64) -> bool {
    within(found, truth, 1.0)
}

fn acc2(found: Option<f64>, truth: f64) -> bool {
    OCTAVE_FACTORS.iter().any(|&k| within(found, truth, k))
}

/// The estimate as `analyze` makes it: the mono samples pushed in blocks.
fn estimate(samples: &[f32], sr: f64) -> Option<f64> {
    let mut tempo = TempoEstimator::new(sr).unwrap();
    let mono: Vec<f64> = samples.iter().map(|&v| f64::from(v)).collect();
    for block in mono.chunks(65_536) {
        tempo.push(block);
    }
    tempo.tempo_bpm()
}

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/tempo_set.json"))
        .expect("tests/reference/tempo_set.json");
    serde_json::from_str(&text).expect("tempo_set.json parses")
}

#[derive(Default)]
struct Tally {
    files: usize,
    ours: [usize; 2],
    librosa: [usize; 2],
}

impl Tally {
    fn add(&mut self, found: Option<f64>, librosa: f64, truth: f64) {
        self.files += 1;
        self.ours[0] += acc1(found, truth) as usize;
        self.ours[1] += acc2(found, truth) as usize;
        self.librosa[0] += acc1(Some(librosa), truth) as usize;
        self.librosa[1] += acc2(Some(librosa), truth) as usize;
    }
    fn share(&self, count: usize) -> f64 {
        count as f64 / self.files.max(1) as f64
    }
    fn print(&self, label: &str) {
        println!(
            "{label}: {} files; ours Acc1 {:.1} % Acc2 {:.1} %; librosa Acc1 {:.1} % Acc2 {:.1} %",
            self.files,
            100.0 * self.share(self.ours[0]),
            100.0 * self.share(self.ours[1]),
            100.0 * self.share(self.librosa[0]),
            100.0 * self.share(self.librosa[1]),
        );
    }
}

/// Runs the files whose index `keep` accepts; returns (whole set, held-apart part).
fn run_set(keep: impl Fn(u64) -> bool) -> (Tally, Tally) {
    let reference = reference();
    assert_eq!(reference["sampleRateHz"].as_f64(), Some(SAMPLE_RATE_HZ));
    let (mut whole, mut held) = (Tally::default(), Tally::default());
    let mut outside = Vec::new();
    for file in reference["files"].as_array().expect("files") {
        let index = file["index"].as_u64().unwrap();
        if !keep(index) {
            continue;
        }
        let song = tempo_set::recipe(index);
        let truth = file["bpm"].as_f64().unwrap();
        // The same music as the Python side: the same tempo and notes, and the same level.
        assert!(
            (song.bpm - truth).abs() < 1e-9,
            "file {index}: tempo {} against {truth}",
            song.bpm
        );
        assert_eq!(
            song.notes.len() as u64,
            file["notes"].as_u64().unwrap(),
            "file {index}: notes"
        );
        let samples = tempo_set::render(&song, SAMPLE_RATE_HZ);
        let rms = (samples.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
        let python_rms = file["rms"].as_f64().unwrap();
        assert!(
            (rms / python_rms - 1.0).abs() < 0.01,
            "file {index}: RMS {rms} against {python_rms}"
        );
        let found = estimate(&samples, SAMPLE_RATE_HZ);
        let librosa = file["librosaBpm"].as_f64().unwrap();
        if found.is_some_and(|f| !(MIN_BPM..=MAX_BPM).contains(&f)) {
            outside.push((index, found));
        }
        let held_apart = file["heldApart"].as_bool().unwrap();
        // The held-apart files' details stay unseen (they were not looked at while tuning).
        if !held_apart {
            println!(
                "{index:3} {truth:6.1} BPM {:5.1} s swing {:.2} {:?}: ours {:>6} librosa {librosa:6.1}{}",
                samples.len() as f64 / SAMPLE_RATE_HZ,
                song.swing,
                song.ending,
                found.map_or("null".into(), |f| format!("{f:.1}")),
                if acc1(found, truth) { "" } else { "  MISS" },
            );
        }
        whole.add(found, librosa, truth);
        if held_apart {
            held.add(found, librosa, truth);
        }
    }
    whole.print("whole set");
    held.print("held apart");
    assert!(outside.is_empty(), "outside {MIN_BPM}-{MAX_BPM} BPM: {outside:?}");
    (whole, held)
}

fn assert_acc1(whole: &Tally) {
    assert!(whole.share(whole.ours[0]) >= 0.9, "Acc1 below 90 %");
    assert!(whole.ours[0] >= whole.librosa[0], "Acc1 below librosa's");
}

/// All 120 files (88 minutes of audio): about a minute in release, too slow for CI's debug build. By hand:
/// `cargo test --release --test tempo -- --ignored --nocapture`.
#[test]
#[ignore]
fn acc1_is_at_least_90_percent_and_librosas_on_the_whole_set() {
    let (whole, _) = run_set(|_| true);
    assert_acc1(&whole);
}

/// What CI runs: the files of at most 30 s (a third of the set, held-apart ones among them).
#[test]
fn acc1_is_at_least_90_percent_and_librosas_on_the_short_files() {
    let reference = reference();
    let short: Vec<u64> = reference["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["seconds"].as_f64().unwrap() <= 30.0)
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    let (whole, _) = run_set(|i| short.contains(&i));
    assert!(whole.files >= 30, "{} short files", whole.files);
    assert_acc1(&whole);
}

// ---- the cases that used to read an octave off (issue 12), with their truths ----

/// MIDI note to Hz.
fn hz(note: i32) -> f64 {
    440.0 * 2f64.powf(f64::from(note - 69) / 12.0)
}

/// A song with no ending, reverb or swing, from notes given per beat.
fn song(bpm: f64, music_s: f64, notes: Vec<Note>) -> Song {
    Song {
        bpm,
        swing: 0.5,
        music_s,
        ending: Ending::None,
        end_s: 0.0,
        reverb_wet: 0.0,
        rt60_s: 1.0,
        notes,
        noise_seed: 0x2545_F491_4F6C_DD1D,
    }
}

fn note(kind: Kind, onset_s: f64, gate_s: f64, freq_hz: f64, amp: f64) -> Note {
    Note {
        kind,
        onset_s,
        gate_s,
        freq_hz,
        amp,
    }
}

/// Kick on beats 1 and 3, snare on 2 and 4, hi-hats `hats_per_beat` to a beat (an accent on the beat).
fn drum_notes(bpm: f64, beats: usize, hats_per_beat: usize) -> Vec<Note> {
    let beat_s = 60.0 / bpm;
    let mut notes = Vec::new();
    for b in 0..beats {
        let t = b as f64 * beat_s;
        let kind = if b % 2 == 0 { Kind::Kick } else { Kind::Snare };
        notes.push(note(kind, t, 0.0, 0.0, 0.9));
        for h in 0..hats_per_beat {
            let accent = if h == 0 { 0.3 } else { 0.21 };
            notes.push(note(
                Kind::Hat,
                t + h as f64 * beat_s / hats_per_beat as f64,
                0.0,
                0.0,
                accent,
            ));
        }
    }
    notes
}

/// `per_beat` notes of `kind` a beat on the roots (or triads) of I V vi IV in A, one chord a bar.
fn pitched_notes(kind: Kind, bpm: f64, beats: usize, per_beat: usize, octave: i32, triad: bool) -> Vec<Note> {
    const ROOTS: [i32; 4] = [0, 7, 9, 5];
    const THIRDS: [i32; 4] = [4, 4, 3, 4];
    let beat_s = 60.0 / bpm;
    let step_s = beat_s / per_beat as f64;
    let mut notes = Vec::new();
    for i in 0..beats * per_beat {
        let bar = i / (4 * per_beat);
        let root = 45 + 12 * octave + ROOTS[bar % 4];
        let tones: &[i32] = if triad { &[0, THIRDS[bar % 4], 7] } else { &[0] };
        for &tone in tones {
            notes.push(note(kind, i as f64 * step_s, 0.9 * step_s, hz(root + tone), 0.9));
        }
    }
    notes
}

fn assert_reads(label: &str, found: Option<f64>, truth: f64) {
    println!("{label}: {found:?} (truth {truth})");
    assert!(acc1(found, truth), "{label}: {found:?}, truth {truth}");
}

#[test]
fn a_four_stem_mix_at_112_bpm_reads_112_at_every_rate() {
    // Drums with eighth-note hi-hats, bass on eighths, piano chords on quarters, a melody on eighths: the mix
    // that read 224.0.
    let (bpm, seconds) = (112.0, 30.0);
    let beats = (seconds * bpm / 60.0) as usize;
    let mut notes = drum_notes(bpm, beats, 2);
    notes.extend(pitched_notes(Kind::Bass, bpm, beats, 2, -1, false));
    notes.extend(pitched_notes(Kind::Piano, bpm, beats, 1, 1, true));
    let beat_s = 60.0 / bpm;
    for i in 0..2 * beats {
        // A melody walking the pentatonic scale, a rest every fourth eighth.
        if i % 4 != 3 {
            let degree = [0, 2, 4, 7, 9][i % 5];
            notes.push(note(
                Kind::Lead,
                i as f64 * beat_s / 2.0,
                0.4 * beat_s,
                hz(69 + degree),
                0.8,
            ));
        }
    }
    let song = song(bpm, seconds, notes);
    for sr in [22_050.0, 44_100.0, 48_000.0, 96_000.0] {
        assert_reads(
            &format!("four stems at {sr} Hz"),
            estimate(&tempo_set::render(&song, sr), sr),
            bpm,
        );
    }
}

#[test]
fn a_92_bpm_song_with_eighth_note_piano_reads_92() {
    // Piano chords on every eighth note over a bass on quarters, no drums: read 184.0.
    let (bpm, seconds, sr) = (92.0, 30.0, 44_100.0);
    let beats = (seconds * bpm / 60.0) as usize;
    let mut notes = pitched_notes(Kind::Bass, bpm, beats, 1, -1, false);
    notes.extend(pitched_notes(Kind::Piano, bpm, beats, 2, 1, true));
    let found = estimate(&tempo_set::render(&song(bpm, seconds, notes), sr), sr);
    assert_reads("eighth-note piano", found, bpm);
}

#[test]
fn sustained_strings_over_an_eighth_note_bass_read_113_inside_the_range() {
    // Strings holding each chord a bar (slow attack, vibrato) over a plucked bass on eighths: read 226.0,
    // above the 220 BPM search limit.
    let (bpm, seconds, sr) = (113.0, 30.0, 44_100.0);
    let beats = (seconds * bpm / 60.0) as usize;
    let beat_s = 60.0 / bpm;
    let mut notes = pitched_notes(Kind::Bass, bpm, beats, 2, -1, false);
    for n in pitched_notes(Kind::Strings, bpm, beats, 1, 0, true) {
        // One string chord a bar, held for the bar.
        if (n.onset_s / beat_s).round() as usize % 4 == 0 {
            notes.push(note(Kind::Strings, n.onset_s, 4.0 * beat_s, n.freq_hz, 1.0));
        }
    }
    let found = estimate(&tempo_set::render(&song(bpm, seconds, notes), sr), sr);
    assert!(found.is_some_and(|f| (MIN_BPM..=MAX_BPM).contains(&f)), "{found:?}");
    assert_reads("sustained strings", found, bpm);
}

#[test]
fn a_4_s_pluck_at_60_bpm_with_a_reverb_tail_reads_60() {
    // The demo's signal (scripts/demo-cli.sh): a chord plucked every second for 4 s, a little noise, through
    // the plate reverb (preset "plate", mix 0.35) with a 3 s tail; read 207.9.
    let sr = 48_000.0;
    let n = (4.0 * sr) as usize;
    let mut noise = 0x9E37_79B9_7F4A_7C15u64;
    let mut dry: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let env = (-3.0 * (t % 1.0)).exp();
            let chord: f64 = [110.0, 220.0, 330.0, 495.0, 1320.0]
                .iter()
                .map(|f| 0.2 * (2.0 * std::f64::consts::PI * f * t).sin())
                .sum();
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            let u = (noise >> 11) as f64 / (1u64 << 53) as f64;
            (env * chord + 0.02 * (2.0 * u - 1.0)) as f32
        })
        .collect();
    dry.resize(n + (3.0 * sr) as usize, 0.0);
    let mut reverb = find("plate-reverb")
        .unwrap()
        .create(sr, Some("plate"), [("mix", 0.35)])
        .unwrap();
    let (mut left, mut right) = (dry.clone(), dry);
    for (l, r) in left.chunks_mut(128).zip(right.chunks_mut(128)) {
        reverb.process(l, r, &[]);
    }
    let found = analysis::analyze(sr, &[&left, &right]).unwrap().tempo_bpm;
    assert_reads("4 s pluck at 60 BPM + plate tail", found, 60.0);
}
