#!/usr/bin/env bash
# Hand-run benchmark: `corelogic-dsp analyze` of a 3-minute stereo 48 kHz file against librosa + pyloudnorm
# computing the same measurements (peak, true peak by 4x polyphase oversampling, RMS, integrated loudness,
# loudness range, centroid, rolloff, flatness, zero-crossing rate, 13 MFCC means, band energies, tempo).
# Prints the median wall and CPU time of each over several runs and the ratios (the machine may be shared:
# wall time then suffers most for corelogic-dsp, which uses two threads).
#
# Needs: python3 with numpy, soundfile, librosa 0.11 and pyloudnorm (pip install 'librosa==0.11.*' pyloudnorm).
# Usage: bash scripts/bench-analyze.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --bin corelogic-dsp >&2
bin="${CARGO_TARGET_DIR:-target}/release/corelogic-dsp"

python3 - "$work/song.wav" <<'PY'
import sys, numpy as np, soundfile as sf
sr, seconds = 48000, 180
n = sr * seconds
t = np.arange(n) / sr
rng = np.random.default_rng(1)
beat = 60 / 124
y = np.zeros((n, 2))
# Chords, a bass line, drums (kick, snare, hats) and a little noise: something song-like.
for k, f in enumerate([220, 277.2, 329.6, 440]):
    y[:, k % 2] += 0.08 * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.05 * t + k))
y += 0.15 * np.sin(2 * np.pi * 55 * t)[:, None] * (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * t / beat)))[:, None]
for k in range(int(seconds / beat * 2)):
    s = int(k * beat / 2 * sr); L = min(n - s, int(0.2 * sr)); tt = np.arange(L) / sr
    hit = 0.1 * rng.standard_normal(L) * np.exp(-tt / 0.01)
    if k % 4 == 0: hit += 0.6 * np.sin(2 * np.pi * 60 * tt) * np.exp(-tt / 0.1)
    if k % 4 == 2: hit += 0.4 * rng.standard_normal(L) * np.exp(-tt / 0.06)
    y[s:s + L] += hit[:, None]
y += 0.01 * rng.standard_normal(y.shape)
sf.write(sys.argv[1], (0.5 * y / np.abs(y).max()).astype(np.float32), sr, subtype="FLOAT")
PY

cat > "$work/reference.py" <<'PY'
import sys, time, numpy as np, soundfile as sf, librosa, pyloudnorm, scipy.signal

def analyse(path):
    x, sr = sf.read(path, dtype="float64", always_2d=True)
    peak = 20 * np.log10(np.abs(x).max())
    tp = max(np.abs(scipy.signal.resample_poly(x[:, c], 4, 1)).max() for c in range(x.shape[1]))
    rms = 10 * np.log10(np.mean(x ** 2))
    meter = pyloudnorm.Meter(sr)
    lufs, lra = meter.integrated_loudness(x), meter.loudness_range(x)
    y = x.mean(axis=1)
    S = np.abs(librosa.stft(y))
    f = librosa.fft_frequencies(sr=sr)
    power = (S ** 2).sum(axis=1)
    bands = [power[f < 250].sum(), power[(f >= 250) & (f < 4000)].sum(), power[f >= 4000].sum()]
    out = dict(
        peak=peak, tp=20 * np.log10(tp), rms=rms, lufs=lufs, lra=lra,
        centroid=librosa.feature.spectral_centroid(y=y, sr=sr).mean(),
        rolloff=librosa.feature.spectral_rolloff(y=y, sr=sr).mean(),
        flatness=librosa.feature.spectral_flatness(y=y).mean(),
        zcr=librosa.feature.zero_crossing_rate(y).mean(),
        mfcc=librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13).mean(axis=1),
        bands=np.array(bands) / sum(bands),
        tempo=librosa.feature.tempo(y=y, sr=sr)[0],
    )
    return out

path, runs = sys.argv[1], int(sys.argv[2])
# Warm-up on the file itself: numba compiles librosa's kernels once per process; not counted.
analyse(path)
times, cpu = [], []
for _ in range(runs):
    t0, c0 = time.perf_counter(), time.process_time()
    r = analyse(path)
    times.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
print(f"{np.median(times):.4f} {np.median(cpu):.4f}")
print(f"librosa/pyloudnorm: LUFS {r['lufs']:.2f}, LRA {r['lra']:.2f}, centroid {r['centroid']:.1f}, tempo {r['tempo']:.1f}",
      file=sys.stderr)
PY

python3 - "$bin" "$work/song.wav" "$runs" <<'PY' > "$work/rust.txt"
import resource, subprocess, sys, time, statistics
bin, path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
subprocess.run([bin, "analyze", path, "--json"], check=True, capture_output=True)  # warm the page cache
def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
times, cpu = [], []
for _ in range(runs):
    t0, c0 = time.perf_counter(), children_cpu()
    out = subprocess.run([bin, "analyze", path, "--json"], check=True, capture_output=True)
    times.append(time.perf_counter() - t0); cpu.append(children_cpu() - c0)
print(f"{statistics.median(times):.4f} {statistics.median(cpu):.4f}")
sys.stderr.write("corelogic-dsp: " + " ".join(out.stdout.decode().split())[:400] + "\n")
PY
python3 "$work/reference.py" "$work/song.wav" "$runs" > "$work/python.txt"

read -r rust rust_cpu < "$work/rust.txt"
read -r python python_cpu < "$work/python.txt"
printf 'corelogic-dsp analyze (3 min stereo 48 kHz): %s s wall, %s s CPU (medians of %s, whole process)\n' \
  "$rust" "$rust_cpu" "$runs"
printf 'librosa %s + pyloudnorm, same measurements: %s s wall, %s s CPU (medians of %s, in-process, after a warm-up)\n' \
  "$(python3 -c 'import librosa; print(librosa.__version__)')" "$python" "$python_cpu" "$runs"
python3 -c "print(f'ratio: {$python / $rust:.1f}x faster in wall time, {$python_cpu / $rust_cpu:.1f}x in CPU time')"
