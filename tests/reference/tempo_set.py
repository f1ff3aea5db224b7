#!/usr/bin/env python3
"""A generated tempo data set for tests/tempo.rs: multi-instrument songs with a known tempo, and what librosa
reads on them.

Each file is a song made from a seed by one recipe, which tests/common/tempo_set.rs implements again in Rust
(so the test suite needs neither Python nor the audio): drums (kick on beats 1 and 3, snare on 2 and 4, hi-hats
on quarters, eighths or sixteenths), a plucked bass on quarters or eighths, chords (a sustained pad, piano on
quarters or on eighths), a pentatonic melody on eighths, sustained strings; straight or swung; 60 to 200 BPM;
4 s to 3 min (log-uniform); a comb-filter reverb, and at the end either nothing, a reverb tail (the music
stops and the reverb rings 2-6 s) or trailing silence. The random choices come from the xorshift64 generator of
tests/signals/mod.rs, drawn in the same order on both sides, so both sides make the same notes (the Rust test
checks the note count exactly and the RMS level within 1 %).

The ground truth is the tempo the recipe plays. librosa's estimate is `librosa.feature.tempo(y=mono, sr=sr)`
with its defaults. Files whose seed index is 3 mod 4 are the held-apart part: chosen before any tuning, and
not looked at while tuning the estimator.

Regenerate (from the repository root):
    pip install 'librosa==0.11.*'
    python3 tests/reference/tempo_set.py        # writes tests/reference/tempo_set.json
"""
import json
import math
import sys

import numpy as np

MASK = (1 << 64) - 1
SAMPLE_RATE_HZ = 22050
FILES = 120
HELD_APART_MOD = 4  # index % 4 == 3 is held apart
PROGRESSION = [(0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)]  # I V vi IV, semitones above the key
PENTATONIC = [0, 2, 4, 7, 9]
COMB_DELAYS_S = [0.0297, 0.0371, 0.0411, 0.0437]


class Rng:
    """xorshift64 (13, 7, 17), as tests/signals/mod.rs: uniform() in [0, 1)."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        s = self.state
        s ^= (s << 13) & MASK
        s ^= s >> 7
        s ^= (s << 17) & MASK
        self.state = s
        return s

    def uniform(self):
        return (self.next_u64() >> 11) / float(1 << 53)

    def range(self, lo, hi):
        return lo + (hi - lo) * self.uniform()

    def chance(self, p):
        return self.uniform() < p

    def choice(self, n):
        return min(int(self.uniform() * n), n - 1)


def file_seed(index):
    return ((index + 1) * 0x9E3779B97F4A7C15) & MASK


def midi_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def recipe(index):
    """The song's parameters and its notes: (kind, onset s, gate s, frequency Hz, amplitude)."""
    rng = Rng(file_seed(index))
    p = {}
    p["bpm"] = rng.range(60.0, 200.0)
    p["swing"] = rng.range(0.58, 0.67) if rng.chance(0.4) else 0.5
    p["music_s"] = math.exp(rng.range(math.log(4.0), math.log(180.0)))
    ending = rng.uniform()
    p["ending"] = "none" if ending < 0.55 else ("tail" if ending < 0.85 else "silence")
    p["end_s"] = rng.range(2.0, 6.0) if p["ending"] != "none" else 0.0
    p["reverb_wet"] = rng.range(0.3, 0.6) if p["ending"] == "tail" else (rng.range(0.1, 0.3) if rng.chance(0.5) else 0.0)
    p["rt60_s"] = rng.range(1.5, 3.5)
    p["drums"] = rng.chance(0.8)
    p["hat_division"] = [1, 2, 4][rng.choice(3)]
    if p["swing"] != 0.5 and p["hat_division"] == 4:
        p["hat_division"] = 2
    p["bass"] = rng.chance(0.85)
    p["bass_division"] = 1 + rng.choice(2)
    p["chords"] = ["none", "pad", "quarters", "eighths"][rng.choice(4)]
    p["melody"] = rng.chance(0.6)
    p["strings"] = rng.chance(0.35)
    if not p["drums"] and not p["bass"]:
        p["bass"] = True
    p["key"] = 40 + rng.choice(12)
    beat_s = 60.0 / p["bpm"]
    beats = int(math.ceil(p["music_s"] / beat_s))
    swing = p["swing"]
    notes = []

    def sub_positions(division):
        # Onsets within a beat, as fractions of it: the offbeat eighth moves to the swing point.
        if division == 1:
            return [0.0]
        if division == 2:
            return [0.0, swing]
        return [0.0, 0.25, 0.5, 0.75]

    def jitter():
        return rng.range(-0.004, 0.004)

    def add(kind, onset, gate, freq, amp):
        if 0.0 <= onset < p["music_s"]:
            notes.append((kind, onset, gate, freq, amp))

    if p["drums"]:
        for b in range(beats):
            t = b * beat_s
            pos = b % 4
            if pos in (0, 2):
                add("kick", t + jitter(), 0.0, 0.0, rng.range(0.8, 1.0))
            else:
                add("snare", t + jitter(), 0.0, 0.0, rng.range(0.7, 0.9))
            if pos == 2 and rng.chance(0.3):
                add("kick", t + swing * beat_s + jitter(), 0.0, 0.0, rng.range(0.6, 0.8))
            for i, f in enumerate(sub_positions(p["hat_division"])):
                accent = 1.0 if i == 0 else 0.7
                add("hat", t + f * beat_s + jitter(), 0.0, 0.0, accent * rng.range(0.25, 0.35))
    if p["bass"]:
        positions = sub_positions(p["bass_division"])
        for b in range(beats):
            chord = PROGRESSION[(b // 4) % 4]
            for i, f in enumerate(positions):
                octave = 12 if (i > 0 and rng.chance(0.3)) else 0
                gate = (positions[i + 1] if i + 1 < len(positions) else 1.0) - f
                add("bass", b * beat_s + f * beat_s + jitter(), 0.9 * gate * beat_s,
                    midi_hz(p["key"] + chord[0] + octave), rng.range(0.8, 1.0))
    if p["chords"] != "none":
        for b in range(beats):
            chord = PROGRESSION[(b // 4) % 4]
            if p["chords"] == "pad":
                if b % 4 == 0:
                    for c in chord:
                        add("pad", b * beat_s, 4 * beat_s, midi_hz(p["key"] + 12 + c), 1.0)
                continue
            positions = sub_positions(1 if p["chords"] == "quarters" else 2)
            for i, f in enumerate(positions):
                gate = (positions[i + 1] if i + 1 < len(positions) else 1.0) - f
                onset = b * beat_s + f * beat_s + jitter()
                velocity = rng.range(0.7, 1.0) * (1.0 if i == 0 else 0.8)
                for c in chord:
                    add("piano", onset, 0.95 * gate * beat_s, midi_hz(p["key"] + 24 + c), velocity)
    if p["melody"]:
        positions = sub_positions(2)
        for b in range(beats):
            for i, f in enumerate(positions):
                if rng.chance(0.55):
                    degree = PENTATONIC[rng.choice(5)]
                    gate = (positions[i + 1] if i + 1 < len(positions) else 1.0) - f
                    add("lead", b * beat_s + f * beat_s + jitter(), 0.9 * gate * beat_s,
                        midi_hz(p["key"] + 36 + degree), rng.range(0.7, 1.0))
    if p["strings"]:
        for b in range(0, beats, 4):
            chord = PROGRESSION[(b // 4) % 4]
            for c in chord:
                add("strings", b * beat_s, 4 * beat_s, midi_hz(p["key"] + 12 + c), 1.0)
    return p, notes


# Per kind: level, attack s, decay time constant s (inf: sustained), release s, harmonic amplitudes.
VOICES = {
    "bass": (0.35, 0.005, 0.25, 0.03, [1.0, 0.5, 0.33]),
    "piano": (0.10, 0.002, 0.6, 0.05, [1.0, 0.35, 0.2, 0.12]),
    "pad": (0.07, 0.25, math.inf, 0.3, [1.0, 0.3, 0.1]),
    "lead": (0.15, 0.01, 0.3, 0.03, [1.0, 0.0, 0.11, 0.0, 0.04]),
    "strings": (0.06, 0.4, math.inf, 0.4, [1.0, 0.5, 0.33, 0.25, 0.2, 0.17]),
}
DRUM_LENGTH_S = {"kick": 0.4, "snare": 0.3, "hat": 0.1}
DRUM_LEVEL = 0.5


def render_note(y, sr, kind, onset, gate, freq, amp, noise):
    start = int(round(onset * sr))
    if kind in DRUM_LENGTH_S:
        length = min(len(y) - start, int(round(DRUM_LENGTH_S[kind] * sr)))
        if length <= 0:
            return
        t = np.arange(length) / sr
        n = noise[:length]
        if kind == "kick":
            phase = 2 * math.pi * (50.0 * t + 60.0 * 0.03 * (1 - np.exp(-t / 0.03)))
            v = np.sin(phase) * np.exp(-t / 0.12)
        elif kind == "snare":
            v = (0.7 * n + 0.5 * np.sin(2 * math.pi * 180.0 * t)) * np.exp(-t / 0.07)
        else:
            hp = np.diff(noise[: length + 1])
            v = 0.5 * hp * np.exp(-t / 0.015)
        y[start : start + length] += DRUM_LEVEL * amp * v
        return
    level, attack, tau, release, harmonics = VOICES[kind]
    length = min(len(y) - start, int(round((gate + release) * sr)))
    if length <= 0:
        return
    t = np.arange(length) / sr
    env = np.minimum(t / attack, 1.0) * np.clip((gate + release - t) / release, 0.0, 1.0)
    if math.isfinite(tau):
        env = env * np.exp(-t / tau)
    vibrato = 0.003 * np.sin(2 * math.pi * 5.5 * t) if kind == "strings" else 0.0
    phase = 2 * math.pi * freq * t + (2 * math.pi * freq * vibrato / (2 * math.pi * 5.5) if kind == "strings" else 0.0)
    v = np.zeros(length)
    for k, a in enumerate(harmonics, start=1):
        if a != 0.0 and k * freq < 0.45 * sr:
            v += a * np.sin(k * phase)
    y[start : start + length] += level * amp * env * v


def comb_reverb(x, sr, rt60_s):
    """Four parallel feedback combs (Schroeder): y[n] = x[n] + g y[n - D], g = 10^(-3 D / RT60), averaged."""
    from scipy.signal import lfilter

    out = np.zeros(len(x))
    for d_s in COMB_DELAYS_S:
        d = int(round(d_s * sr))
        g = 10.0 ** (-3.0 * d / sr / rt60_s)
        a = np.zeros(d + 1)
        a[0], a[d] = 1.0, -g
        out += lfilter([1.0], a, x)
    return out / len(COMB_DELAYS_S)


def render(index, sr=SAMPLE_RATE_HZ):
    p, notes = recipe(index)
    n = int(round((p["music_s"] + p["end_s"]) * sr))
    noise = xorshift_noise(file_seed(index) ^ 0xD1B54A32D192ED03, int(0.5 * sr) + 1)
    y = np.zeros(n)
    for note in notes:
        render_note(y, sr, *note, noise)
    if p["ending"] == "silence":
        y[int(round(p["music_s"] * sr)) :] = 0.0
    if p["reverb_wet"] > 0.0:
        wet = comb_reverb(y, sr, p["rt60_s"])
        if p["ending"] == "silence":
            wet[int(round(p["music_s"] * sr)) :] = 0.0
        y = y + p["reverb_wet"] * wet
    peak = np.max(np.abs(y))
    y = (0.9 / peak) * y if peak > 0 else y
    return p, notes, y.astype(np.float32).astype(np.float64)


def xorshift_noise(seed, n):
    rng = Rng(seed)
    return np.array([rng.uniform() * 2.0 - 1.0 for _ in range(n)])


def main():
    import librosa
    import scipy

    out = {
        "about": "tests/reference/tempo_set.py: generated songs, their true tempo and librosa's "
        "librosa.feature.tempo(y=mono, sr=sr) with its defaults; heldApart files were not used for tuning",
        "versions": {"librosa": librosa.__version__, "numpy": np.__version__, "scipy": scipy.__version__},
        "sampleRateHz": SAMPLE_RATE_HZ,
        "files": [],
    }
    for index in range(FILES):
        p, notes, y = render(index)
        librosa_bpm = float(librosa.feature.tempo(y=y, sr=SAMPLE_RATE_HZ)[0])
        entry = {
            "index": index,
            "heldApart": index % HELD_APART_MOD == HELD_APART_MOD - 1,
            "bpm": p["bpm"],
            "seconds": len(y) / SAMPLE_RATE_HZ,
            "notes": len(notes),
            "rms": float(np.sqrt(np.mean(y * y))),
            "librosaBpm": librosa_bpm,
            "recipe": {k: v for k, v in p.items() if k != "bpm"},
        }
        out["files"].append(entry)
        print(f"{index:3d} {p['bpm']:6.1f} BPM {entry['seconds']:6.1f} s librosa {librosa_bpm:6.1f}", file=sys.stderr)
    with open("tests/reference/tempo_set.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
