"""Speed of `corelogic-dsp process` against pedalboard (JUCE's effects), file in to file out.

Run by scripts/bench-pedalboard.sh, which builds the program and provides a Python with pedalboard and numpy.
This one Python process is both the driver and pedalboard's side: it is warmed up (import, plugin creation and
one untimed run per effect) before anything is timed, so pedalboard's figure is read + process + write alone,
with no interpreter start. corelogic-dsp's figure is the whole command (process start, argument parsing, file
read, effect, file write), timed from here with subprocess. Both wall and CPU time are printed: on a machine
whose cores are shared, wall time mostly measures waiting, CPU time (user + system) the work. The two sides alternate run by run (ours, theirs,
ours, ...), so a machine that slows down during the call slows both.

Settings matched on both sides (the effects' defaults where the two agree):
  compressor     thresholdDb -20, ratio 4, attackMs 10, releaseMs 100   Compressor(-20 dB, 4, 10 ms, 100 ms)
  limiter        ceilingDb -6, releaseMs 50                             Limiter(threshold -6 dB, 50 ms)
  distortion     soft (tanh), driveDb 12, toneHz 20000, oversample 1    Distortion(drive_db 12): tanh(g x)
  distortion-2x  the same at the default oversample 2 (not a goal)      the same Distortion
  simple-delay   timeMs 500, feedback 0.5, mix 0.5                      Delay(0.5 s, feedback 0.5, mix 0.5)
  freeverb       roomSize 0.5, damping 0.5, wet 0.33, dry 0, width 1    Reverb(same, dry_level 0)
  parametric-eq  8 peaking bands (see EQ_BANDS)                         PeakFilter x 8 in one Pedalboard

Usage: python bench_pedalboard.py BIN WORKDIR RUNS [EFFECT ...]
"""

import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import pedalboard
from pedalboard.io import AudioFile

SAMPLE_RATE_HZ = 48_000
SECONDS = 60

# (frequency Hz, gain dB, Q) of the eight peaking bands, the same on both sides.
EQ_BANDS = [
    (60, 3.0, 1.0),
    (150, -4.0, 1.4),
    (400, 2.0, 0.8),
    (1000, -3.0, 2.0),
    (2500, 4.0, 1.2),
    (5000, -2.0, 0.9),
    (9000, 3.0, 1.5),
    (14000, -5.0, 0.7),
]


def eq_settings():
    out = []
    for i, (hz, db, q) in enumerate(EQ_BANDS, start=1):
        out += [f"b{i}Type=1", f"b{i}FrequencyHz={hz}", f"b{i}GainDb={db}", f"b{i}Q={q}"]
    return out


# effect name -> (corelogic-dsp effect id, its --set values, pedalboard plugins)
EFFECTS = {
    "compressor": (
        "compressor",
        ["thresholdDb=-20", "ratio=4", "attackMs=10", "releaseMs=100"],
        lambda: [pedalboard.Compressor(threshold_db=-20, ratio=4, attack_ms=10, release_ms=100)],
    ),
    "limiter": (
        "limiter",
        ["ceilingDb=-6", "releaseMs=50"],
        lambda: [pedalboard.Limiter(threshold_db=-6, release_ms=50)],
    ),
    "distortion": (
        "distortion",
        ["mode=0", "driveDb=12", "toneHz=20000", "oversample=1"],
        lambda: [pedalboard.Distortion(drive_db=12)],
    ),
    "distortion-2x": (
        "distortion",
        ["mode=0", "driveDb=12", "toneHz=20000", "oversample=2"],
        lambda: [pedalboard.Distortion(drive_db=12)],
    ),
    "simple-delay": (
        "simple-delay",
        ["timeMs=500", "feedback=0.5", "mix=0.5"],
        lambda: [pedalboard.Delay(delay_seconds=0.5, feedback=0.5, mix=0.5)],
    ),
    "freeverb": (
        "freeverb",
        ["roomSize=0.5", "damping=0.5", "wet=0.33", "dry=0", "width=1"],
        lambda: [pedalboard.Reverb(room_size=0.5, damping=0.5, wet_level=0.33, dry_level=0.0, width=1.0)],
    ),
    "parametric-eq": (
        "parametric-eq",
        eq_settings(),
        lambda: [pedalboard.PeakFilter(cutoff_frequency_hz=hz, gain_db=db, q=q) for hz, db, q in EQ_BANDS],
    ),
}


def write_input(path):
    """60 s of stereo 32-bit float at 48 kHz: chords, a bass, noise bursts, so every effect has work to do."""
    n = SAMPLE_RATE_HZ * SECONDS
    t = np.arange(n) / SAMPLE_RATE_HZ
    rng = np.random.default_rng(7)
    y = np.zeros((2, n))
    for k, f in enumerate([110.0, 220.0, 277.2, 329.6, 440.0]):
        y[k % 2] += 0.12 * np.sin(2 * np.pi * f * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t + k))
    bursts = (np.sin(2 * np.pi * 2.0 * t) > 0.7).astype(float)
    y += 0.2 * rng.standard_normal((2, n)) * bursts
    y = (0.8 * y / np.abs(y).max()).astype(np.float32)
    with AudioFile(path, "w", SAMPLE_RATE_HZ, num_channels=2, bit_depth=32) as f:
        f.write(y)


def run_pedalboard(board, src, dst):
    with AudioFile(src) as f:
        audio = f.read(f.frames)
        rate = f.samplerate
    out = board(audio, rate)
    with AudioFile(dst, "w", rate, num_channels=out.shape[0], bit_depth=32) as f:
        f.write(out)


def run_ours(binary, effect_id, settings, src, dst):
    args = [binary, "process", src, dst, "--effect", effect_id]
    for s in settings:
        args += ["--set", s]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL)


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(action, cpu_clock):
    """Wall and CPU seconds of one call: CPU counts only the work, so it moves less than wall when other
    processes share the machine's cores."""
    w0, c0 = time.perf_counter(), cpu_clock()
    action()
    return time.perf_counter() - w0, cpu_clock() - c0


def main():
    binary, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sys.argv[4:] or list(EFFECTS)
    unknown = [n for n in names if n not in EFFECTS]
    if unknown:
        sys.exit(f"unknown effect(s) {', '.join(unknown)} (known: {', '.join(EFFECTS)})")
    src = os.path.join(work, "input.wav")
    if not os.path.exists(src):
        write_input(src)
    ours_out, theirs_out = os.path.join(work, "ours.wav"), os.path.join(work, "theirs.wav")
    boards = {n: pedalboard.Pedalboard(EFFECTS[n][2]()) for n in names}
    # Warm-up, not counted: page cache, pedalboard's first calls, our binary's first start.
    for n in names:
        effect_id, settings, _ = EFFECTS[n]
        run_ours(binary, effect_id, settings, src, ours_out)
        run_pedalboard(boards[n], src, theirs_out)
    print(
        f"{'effect':<15}{'ours s':>8}{'theirs s':>10}{'ratio':>8}   {'ours cpu':>9}{'theirs cpu':>11}{'ratio':>8}"
    )
    for n in names:
        effect_id, settings, _ = EFFECTS[n]
        ours, theirs = [], []
        for _ in range(runs):
            # Each side writes a new file (removed before timing): replacing an existing file makes ext4 write
            # it out at once (auto_da_alloc), a cost that depends on the file system, not on the DSP.
            remove_if_present(ours_out, theirs_out)
            ours.append(timed(lambda: run_ours(binary, effect_id, settings, src, ours_out), children_cpu_seconds))
            theirs.append(timed(lambda: run_pedalboard(boards[n], src, theirs_out), time.process_time))
        (a, ac), (b, bc) = [tuple(statistics.median(x) for x in zip(*side)) for side in (ours, theirs)]
        print(f"{n:<15}{a:>8.3f}{b:>10.3f}{b / a:>7.2f}x   {ac:>9.3f}{bc:>11.3f}{bc / ac:>7.2f}x", flush=True)
    print("median seconds (wall, then CPU = user + system); ratio = pedalboard's time / ours, the speed of ours")


def remove_if_present(*paths):
    for path in paths:
        if os.path.exists(path):
            os.remove(path)


if __name__ == "__main__":
    main()
