//! The songs of `tests/reference/tempo_set.py`, made again here from the same recipe (same random draws in the
//! same order, same formulas), so `tests/tempo.rs` needs neither Python nor audio files. Bit-exactness is not
//! the goal (sines and exponentials may differ in the last bits), the same music is: the test checks each
//! song's note count exactly and its RMS level against the Python value.

use std::f64::consts::PI;

pub const SAMPLE_RATE_HZ: f64 = 22_050.0;
/// I V vi IV, semitones above the key.
const PROGRESSION: [[i32; 3]; 4] = [[0, 4, 7], [7, 11, 14], [9, 12, 16], [5, 9, 12]];
const PENTATONIC: [i32; 5] = [0, 2, 4, 7, 9];
const COMB_DELAYS_S: [f64; 4] = [0.0297, 0.0371, 0.0411, 0.0437];
const DRUM_LEVEL: f64 = 0.5;

/// xorshift64 (13, 7, 17), as `tests/signals/mod.rs`: `uniform()` in [0, 1).
pub struct Rng(pub u64);

impl Rng {
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
    pub fn choice(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }
}

pub fn file_seed(index: u64) -> u64 {
    (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn midi_hz(note: i32) -> f64 {
    440.0 * 2f64.powf((note - 69) as f64 / 12.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Kick,
    Snare,
    Hat,
    Bass,
    Piano,
    Pad,
    Lead,
    Strings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    None,
    ReverbTail,
    Silence,
}

#[derive(Debug, Clone, Copy)]
pub struct Note {
    pub kind: Kind,
    pub onset_s: f64,
    pub gate_s: f64,
    pub freq_hz: f64,
    pub amp: f64,
}

#[derive(Debug, Clone)]
pub struct Song {
    pub bpm: f64,
    /// Where the offbeat eighth falls, as a fraction of the beat (0.5: straight).
    pub swing: f64,
    pub music_s: f64,
    pub ending: Ending,
    /// Length of the reverb tail or trailing silence after the music.
    pub end_s: f64,
    pub reverb_wet: f64,
    pub rt60_s: f64,
    pub notes: Vec<Note>,
    pub noise_seed: u64,
}

fn sub_positions(division: usize, swing: f64) -> Vec<f64> {
    match division {
        1 => vec![0.0],
        2 => vec![0.0, swing],
        _ => vec![0.0, 0.25, 0.5, 0.75],
    }
}

/// The gate of sub-beat `i`, as a fraction of the beat: up to the next onset.
fn gate_fraction(positions: &[f64], i: usize) -> f64 {
    positions.get(i + 1).copied().unwrap_or(1.0) - positions[i]
}

/// The song of one index: the same draws, in the same order, as `recipe` in tempo_set.py.
pub fn recipe(index: u64) -> Song {
    let mut rng = Rng(file_seed(index));
    let bpm = rng.range(60.0, 200.0);
    let swing = if rng.chance(0.4) { rng.range(0.58, 0.67) } else { 0.5 };
    let music_s = rng.range(4f64.ln(), 180f64.ln()).exp();
    let e = rng.uniform();
    let ending = if e < 0.55 {
        Ending::None
    } else if e < 0.85 {
        Ending::ReverbTail
    } else {
        Ending::Silence
    };
    let end_s = if ending != Ending::None {
        rng.range(2.0, 6.0)
    } else {
        0.0
    };
    let reverb_wet = if ending == Ending::ReverbTail {
        rng.range(0.3, 0.6)
    } else if rng.chance(0.5) {
        rng.range(0.1, 0.3)
    } else {
        0.0
    };
    let rt60_s = rng.range(1.5, 3.5);
    let drums = rng.chance(0.8);
    let mut hat_division = [1, 2, 4][rng.choice(3)];
    if swing != 0.5 && hat_division == 4 {
        hat_division = 2;
    }
    let mut bass = rng.chance(0.85);
    let bass_division = 1 + rng.choice(2);
    let chords = rng.choice(4); // none, pad, quarters, eighths
    let melody = rng.chance(0.6);
    let strings = rng.chance(0.35);
    if !drums && !bass {
        bass = true;
    }
    let key = 40 + rng.choice(12) as i32;
    let beat_s = 60.0 / bpm;
    let beats = (music_s / beat_s).ceil() as usize;
    let mut notes = Vec::new();
    let mut add = |kind, onset_s: f64, gate_s, freq_hz, amp| {
        if (0.0..music_s).contains(&onset_s) {
            notes.push(Note {
                kind,
                onset_s,
                gate_s,
                freq_hz,
                amp,
            });
        }
    };
    let jitter = |rng: &mut Rng| rng.range(-0.004, 0.004);
    if drums {
        for b in 0..beats {
            let t = b as f64 * beat_s;
            let pos = b % 4;
            if pos == 0 || pos == 2 {
                let at = t + jitter(&mut rng);
                add(Kind::Kick, at, 0.0, 0.0, rng.range(0.8, 1.0));
            } else {
                let at = t + jitter(&mut rng);
                add(Kind::Snare, at, 0.0, 0.0, rng.range(0.7, 0.9));
            }
            if pos == 2 && rng.chance(0.3) {
                let at = t + swing * beat_s + jitter(&mut rng);
                add(Kind::Kick, at, 0.0, 0.0, rng.range(0.6, 0.8));
            }
            for (i, f) in sub_positions(hat_division, swing).into_iter().enumerate() {
                let accent = if i == 0 { 1.0 } else { 0.7 };
                let at = t + f * beat_s + jitter(&mut rng);
                add(Kind::Hat, at, 0.0, 0.0, accent * rng.range(0.25, 0.35));
            }
        }
    }
    if bass {
        let positions = sub_positions(bass_division, swing);
        for b in 0..beats {
            let chord = PROGRESSION[(b / 4) % 4];
            for (i, &f) in positions.iter().enumerate() {
                let octave = if i > 0 && rng.chance(0.3) { 12 } else { 0 };
                let gate = gate_fraction(&positions, i);
                let at = b as f64 * beat_s + f * beat_s + jitter(&mut rng);
                let freq = midi_hz(key + chord[0] + octave);
                add(Kind::Bass, at, 0.9 * gate * beat_s, freq, rng.range(0.8, 1.0));
            }
        }
    }
    if chords != 0 {
        for b in 0..beats {
            let chord = PROGRESSION[(b / 4) % 4];
            if chords == 1 {
                if b % 4 == 0 {
                    for c in chord {
                        add(Kind::Pad, b as f64 * beat_s, 4.0 * beat_s, midi_hz(key + 12 + c), 1.0);
                    }
                }
                continue;
            }
            let positions = sub_positions(if chords == 2 { 1 } else { 2 }, swing);
            for (i, &f) in positions.iter().enumerate() {
                let gate = gate_fraction(&positions, i);
                let onset = b as f64 * beat_s + f * beat_s + jitter(&mut rng);
                let velocity = rng.range(0.7, 1.0) * if i == 0 { 1.0 } else { 0.8 };
                for c in chord {
                    add(
                        Kind::Piano,
                        onset,
                        0.95 * gate * beat_s,
                        midi_hz(key + 24 + c),
                        velocity,
                    );
                }
            }
        }
    }
    if melody {
        let positions = sub_positions(2, swing);
        for b in 0..beats {
            for (i, &f) in positions.iter().enumerate() {
                if rng.chance(0.55) {
                    let degree = PENTATONIC[rng.choice(5)];
                    let gate = gate_fraction(&positions, i);
                    let at = b as f64 * beat_s + f * beat_s + jitter(&mut rng);
                    let freq = midi_hz(key + 36 + degree);
                    add(Kind::Lead, at, 0.9 * gate * beat_s, freq, rng.range(0.7, 1.0));
                }
            }
        }
    }
    if strings {
        for b in (0..beats).step_by(4) {
            let chord = PROGRESSION[(b / 4) % 4];
            for c in chord {
                add(
                    Kind::Strings,
                    b as f64 * beat_s,
                    4.0 * beat_s,
                    midi_hz(key + 12 + c),
                    1.0,
                );
            }
        }
    }
    Song {
        bpm,
        swing,
        music_s,
        ending,
        end_s,
        reverb_wet,
        rt60_s,
        notes,
        noise_seed: file_seed(index) ^ 0xD1B5_4A32_D192_ED03,
    }
}

/// Level, attack s, decay time constant s (infinite: sustained), release s, harmonic amplitudes.
fn voice(kind: Kind) -> (f64, f64, f64, f64, &'static [f64]) {
    match kind {
        Kind::Bass => (0.35, 0.005, 0.25, 0.03, &[1.0, 0.5, 0.33]),
        Kind::Piano => (0.10, 0.002, 0.6, 0.05, &[1.0, 0.35, 0.2, 0.12]),
        Kind::Pad => (0.07, 0.25, f64::INFINITY, 0.3, &[1.0, 0.3, 0.1]),
        Kind::Lead => (0.15, 0.01, 0.3, 0.03, &[1.0, 0.0, 0.11, 0.0, 0.04]),
        Kind::Strings => (0.06, 0.4, f64::INFINITY, 0.4, &[1.0, 0.5, 0.33, 0.25, 0.2, 0.17]),
        Kind::Kick | Kind::Snare | Kind::Hat => (0.0, 0.0, 0.0, 0.0, &[]),
    }
}

fn render_note(y: &mut [f64], sr: f64, note: &Note, noise: &[f64]) {
    let start = (note.onset_s * sr).round_ties_even() as usize;
    if start >= y.len() {
        return;
    }
    let room = y.len() - start;
    let drum_length_s = match note.kind {
        Kind::Kick => Some(0.4),
        Kind::Snare => Some(0.3),
        Kind::Hat => Some(0.1),
        _ => None,
    };
    if let Some(length_s) = drum_length_s {
        let length = room.min((length_s * sr).round_ties_even() as usize);
        for i in 0..length {
            let t = i as f64 / sr;
            let v = match note.kind {
                Kind::Kick => {
                    let phase = 2.0 * PI * (50.0 * t + 60.0 * 0.03 * (1.0 - (-t / 0.03).exp()));
                    phase.sin() * (-t / 0.12).exp()
                }
                Kind::Snare => (0.7 * noise[i] + 0.5 * (2.0 * PI * 180.0 * t).sin()) * (-t / 0.07).exp(),
                _ => 0.5 * (noise[i + 1] - noise[i]) * (-t / 0.015).exp(),
            };
            y[start + i] += DRUM_LEVEL * note.amp * v;
        }
        return;
    }
    let (level, attack, tau, release, harmonics) = voice(note.kind);
    let length = room.min(((note.gate_s + release) * sr).round_ties_even() as usize);
    let vibrato = note.kind == Kind::Strings;
    for i in 0..length {
        let t = i as f64 / sr;
        let mut env = (t / attack).min(1.0) * ((note.gate_s + release - t) / release).clamp(0.0, 1.0);
        if tau.is_finite() {
            env *= (-t / tau).exp();
        }
        let mut phase = 2.0 * PI * note.freq_hz * t;
        if vibrato {
            phase += note.freq_hz * 0.003 * (2.0 * PI * 5.5 * t).sin() / 5.5;
        }
        let mut v = 0.0;
        for (k, &a) in harmonics.iter().enumerate() {
            let k = (k + 1) as f64;
            if a != 0.0 && k * note.freq_hz < 0.45 * sr {
                v += a * (k * phase).sin();
            }
        }
        y[start + i] += level * note.amp * env * v;
    }
}

/// Four parallel feedback combs (Schroeder 1962): y[n] = x[n] + g y[n - D], g = 10^(-3 D / RT60), averaged.
fn comb_reverb(x: &[f64], sr: f64, rt60_s: f64) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    let mut y = vec![0.0; x.len()];
    for d_s in COMB_DELAYS_S {
        let d = (d_s * sr).round_ties_even() as usize;
        let g = 10f64.powf(-3.0 * d as f64 / sr / rt60_s);
        for n in 0..x.len() {
            y[n] = x[n] + if n >= d { g * y[n - d] } else { 0.0 };
            out[n] += y[n];
        }
    }
    out.iter().map(|v| v / COMB_DELAYS_S.len() as f64).collect()
}

/// The song as mono f32 samples at `sr`, peak 0.9 (as tempo_set.py's `render`).
pub fn render(song: &Song, sr: f64) -> Vec<f32> {
    let n = ((song.music_s + song.end_s) * sr).round_ties_even() as usize;
    let mut rng = Rng(song.noise_seed);
    let noise: Vec<f64> = (0..(0.5 * sr) as usize + 1)
        .map(|_| rng.uniform() * 2.0 - 1.0)
        .collect();
    let mut y = vec![0.0; n];
    for note in &song.notes {
        render_note(&mut y, sr, note, &noise);
    }
    let music_end = ((song.music_s * sr).round_ties_even() as usize).min(n);
    if song.ending == Ending::Silence {
        y[music_end..].fill(0.0);
    }
    if song.reverb_wet > 0.0 {
        let mut wet = comb_reverb(&y, sr, song.rt60_s);
        if song.ending == Ending::Silence {
            wet[music_end..].fill(0.0);
        }
        for (a, w) in y.iter_mut().zip(&wet) {
            *a += song.reverb_wet * w;
        }
    }
    let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let gain = if peak > 0.0 { 0.9 / peak } else { 1.0 };
    y.iter().map(|v| (gain * v) as f32).collect()
}
