#!/usr/bin/env python3
"""Reference values for tests/analysis.rs, computed by librosa and pyloudnorm (never by this crate).

Each test signal is defined by a small formula (sines, exponential chirps, noise from a 64-bit xorshift,
a drum-like loop) that tests/analysis.rs implements identically; both sides round each channel to float32
(what a WAV file holds), mix mono as (L+R)/2 in float64, and hand float64 to the references.

Regenerate (from the repository root):
    pip install 'librosa==0.11.*' pyloudnorm      # scipy and numpy come with them
    python3 tests/reference/generate.py           # writes tests/reference/analysis.json
    python3 tests/reference/generate.py --loudness-only   # only the loudness values (needs no librosa)

Integrated loudness is pyloudnorm's with filter_class="DeMan": the K-weighting designed from the analog
prototypes that reproduce BS.1770-4's published 48 kHz coefficients (libebur128's design, and this crate's).
pyloudnorm's default class (Audio EQ Cookbook filters) is recorded beside it as integratedLufsDefaultFilter,
for the record only: it reads about 0.04 LU lower at 48 kHz and up to 0.26 LU apart at 8 kHz.

The versions used are recorded in the JSON file.
"""
import json
import math
import os
import sys

import numpy as np
import pyloudnorm
import scipy

MASK = (1 << 64) - 1


def xorshift_noise(seed, n):
    """Uniform noise in [-1, 1): xorshift64 (13, 7, 17), top 53 bits. Same as tests/signals/mod.rs."""
    state = seed & MASK
    out = np.empty(n)
    for i in range(n):
        state ^= (state << 13) & MASK
        state ^= state >> 7
        state ^= (state << 17) & MASK
        out[i] = (state >> 11) / float(1 << 53) * 2.0 - 1.0
    return out


def drums(sr, n, bpm, amp, seed):
    """A drum-like loop: kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth note."""
    noise = xorshift_noise(seed, n)
    y = np.zeros(n)
    beat = 60.0 / bpm
    t_all = np.arange(n) / sr
    k = 0
    while True:
        start = round(k * beat / 2.0 * sr)  # eighth notes
        if start >= n:
            break
        length = min(n - start, round(0.25 * sr))
        t = t_all[:length]
        seg = slice(start, start + length)
        if k % 2 == 0:
            if (k // 2) % 2 == 0:
                # Kick: a falling sine.
                phase = 2 * math.pi * (50.0 * t + 60.0 * 0.03 * (1 - np.exp(-t / 0.03)))
                y[seg] += np.sin(phase) * np.exp(-t / 0.12)
            else:
                # Snare: noise and a 180 Hz body.
                y[seg] += (0.7 * noise[seg] + 0.5 * np.sin(2 * math.pi * 180.0 * t)) * np.exp(-t / 0.07)
        y[seg] += 0.15 * noise[seg] * np.exp(-t / 0.015)
        k += 1
    return amp * y


def component(c, sr, n):
    t = np.arange(n) / sr
    kind = c["type"]
    if kind == "sine":
        return c["amp"] * np.sin(2 * math.pi * c["freq"] * t + c.get("phase", 0.0))
    if kind == "rising-sine":
        # A crescendo: the level rises linearly in dB by rise_db up to amp at the end.
        return c["amp"] * 10.0 ** (c["rise_db"] / 20.0 * (t / (n / sr) - 1.0)) * np.sin(2 * math.pi * c["freq"] * t)
    if kind == "chirp":
        f0, f1, T = c["f0"], c["f1"], n / sr
        k = math.log(f1 / f0) / T
        return c["amp"] * np.sin(2 * math.pi * f0 / k * (np.exp(k * t) - 1.0))
    if kind == "noise":
        return c["amp"] * xorshift_noise(c["seed"], n)
    if kind == "drums":
        return drums(sr, n, c["bpm"], c["amp"], c["seed"])
    if kind == "dc":
        return np.full(n, c["amp"])
    raise ValueError(kind)


def render(sig):
    sr, n = sig["sampleRate"], sig["frames"]
    chans = []
    for comps in sig["channels"]:
        y = np.zeros(n)
        for c in comps:
            y += component(c, sr, n)
        chans.append(y.astype(np.float32).astype(np.float64))
    return chans


def sine(freq, amp, phase=0.0):
    return {"type": "sine", "freq": freq, "amp": amp, "phase": phase}


SIGNALS = [
    {"name": "sine440-44k1-mono", "sampleRate": 44100, "seconds": 3.0, "channels": [[sine(440, 0.5)]]},
    {"name": "sine1k-48k-stereo", "sampleRate": 48000, "seconds": 4.0,
     "channels": [[sine(1000, 0.3)], [sine(1000, 0.2, 0.5)]]},
    {"name": "noise-48k-stereo", "sampleRate": 48000, "seconds": 4.0,
     "channels": [[{"type": "noise", "seed": 1, "amp": 0.3}], [{"type": "noise", "seed": 2, "amp": 0.3}]]},
    {"name": "chirp-22k05-mono", "sampleRate": 22050, "seconds": 5.0,
     "channels": [[{"type": "chirp", "f0": 100.0, "f1": 8000.0, "amp": 0.6}]]},
    {"name": "mixture-96k-stereo", "sampleRate": 96000, "seconds": 3.0,
     "channels": [[sine(220, 0.3), sine(1320, 0.1), sine(5000, 0.05), {"type": "noise", "seed": 3, "amp": 0.02}],
                  [sine(330, 0.25), sine(2500, 0.08), {"type": "noise", "seed": 4, "amp": 0.03}]]},
    {"name": "silence-16k-mono", "sampleRate": 16000, "seconds": 2.0, "channels": [[]]},
    {"name": "drums120-44k1-mono", "sampleRate": 44100, "seconds": 6.0,
     "channels": [[{"type": "drums", "bpm": 120.0, "amp": 0.5, "seed": 5}]]},
    {"name": "drums95-48k-stereo", "sampleRate": 48000, "seconds": 6.0,
     "channels": [[{"type": "drums", "bpm": 95.0, "amp": 0.4, "seed": 6}, sine(110, 0.1)],
                  [{"type": "drums", "bpm": 95.0, "amp": 0.3, "seed": 6}, sine(165, 0.1)]]},
    {"name": "sine-noise-8k-mono", "sampleRate": 8000, "seconds": 3.0,
     "channels": [[sine(300, 0.4), {"type": "noise", "seed": 7, "amp": 0.05}]]},
    {"name": "chirp-sine-192k-stereo", "sampleRate": 192000, "seconds": 2.0,
     "channels": [[{"type": "chirp", "f0": 50.0, "f1": 20000.0, "amp": 0.4}], [sine(3000, 0.3)]]},
    {"name": "harmonics-32k-mono", "sampleRate": 32000, "seconds": 2.5,
     "channels": [[sine(200 * h, 0.5 / h) for h in range(1, 12)]]},
    {"name": "crescendo-24k-mono", "sampleRate": 24000, "seconds": 4.0,
     "channels": [[{"type": "rising-sine", "freq": 700.0, "amp": 0.8, "rise_db": 140.0},
                   {"type": "noise", "seed": 9, "amp": 1e-6}]]},
    # A long crescendo over steady noise: more values end under the final floor than the one-pass
    # accumulator keeps per band, so the analyser needs its second pass.
    {"name": "crescendo-long-8k-mono", "sampleRate": 8000, "seconds": 120.0,
     "channels": [[{"type": "rising-sine", "freq": 440.0, "amp": 0.8, "rise_db": 140.0},
                   {"type": "noise", "seed": 10, "amp": 1e-4}]]},
    {"name": "quiet-noise-11k025-stereo", "sampleRate": 11025, "seconds": 3.0,
     "channels": [[{"type": "noise", "seed": 8, "amp": 0.001}], [sine(500, 0.002)]]},
]


def loudness(sig, chans):
    """Integrated loudness with the BS.1770-4 design (DeMan) and with pyloudnorm's default filters."""
    data = np.stack(chans, axis=1) if len(chans) == 2 else chans[0]
    values = {}
    for key, meter in [("integratedLufs", pyloudnorm.Meter(sig["sampleRate"], filter_class="DeMan")),
                       ("integratedLufsDefaultFilter", pyloudnorm.Meter(sig["sampleRate"]))]:
        lufs = meter.integrated_loudness(data)
        values[key] = float(lufs) if np.isfinite(lufs) else None
    return values


def reference(sig):
    import librosa
    sr = sig["sampleRate"]
    chans = render(sig)
    y = chans[0] if len(chans) == 1 else (chans[0] + chans[1]) * 0.5
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=2048)
    power = (S ** 2).sum(axis=1)
    bands = [power[freqs < 250].sum(), power[(freqs >= 250) & (freqs < 4000)].sum(), power[freqs >= 4000].sum()]
    total = sum(bands)
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr)[0]
    return {
        "spectralCentroidMean": float(centroid.mean()),
        "spectralCentroidStd": float(centroid.std()),
        "spectralRolloff": float(librosa.feature.spectral_rolloff(y=y, sr=sr)[0].mean()),
        "spectralFlatness": float(librosa.feature.spectral_flatness(y=y)[0].mean()),
        "zeroCrossingRate": float(librosa.feature.zero_crossing_rate(y)[0].mean()),
        "mfcc": [float(v) for v in librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13).mean(axis=1)],
        "bandEnergy": [float(b / total) if total > 0 else 0.0 for b in bands],
        **loudness(sig, chans),
        "frames": int(S.shape[1]),
    }


def loudness_only():
    """Recomputes only the loudness values of the existing analysis.json (the features need librosa)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.json")
    with open(path) as f:
        out = json.load(f)
    out["versions"]["pyloudnorm"] = getattr(pyloudnorm, "__version__", "0.2.0")
    for sig in out["signals"]:
        sig["reference"].update(loudness(sig, render(sig)))
        ref = sig["reference"]
        print(sig["name"], ref["integratedLufs"], ref["integratedLufsDefaultFilter"], file=sys.stderr)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


def main():
    import librosa
    out = {
        "generator": "tests/reference/generate.py",
        "versions": {"librosa": librosa.__version__, "pyloudnorm": getattr(pyloudnorm, "__version__", "0.2.0"),
                     "numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0]},
        "signals": [],
    }
    for sig in SIGNALS:
        sig = dict(sig)
        sig["frames"] = round(sig.pop("seconds") * sig["sampleRate"])
        sig["reference"] = reference(sig)
        out["signals"].append(sig)
        print(sig["name"], json.dumps(sig["reference"])[:200], file=sys.stderr)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--loudness-only"]:
        loudness_only()
    else:
        main()
