#!/usr/bin/env bash
# Hand-run benchmark (not run by CI): `corelogic-dsp process` against pedalboard (Spotify's Python wrapper of
# JUCE's effects) on the same 60 s stereo 48 kHz 32-bit float WAV, file in to file out, for compressor,
# limiter, distortion (oversample 1, and the default 2x beside it), simple-delay, freeverb and parametric-eq
# (8 peaking bands). Prints per effect the median wall time of each side and the ratio (how many times faster
# ours is). The settings each side uses, and which pedalboard plugin matches which effect, are listed at the
# top of scripts/bench_pedalboard.py.
#
# Installs: a virtual environment in target/pedalboard-venv with `pip install pedalboard numpy` (from PyPI),
# once; nothing else. Give PYTHON=/path/to/python to use an interpreter that already has both.
# Usage: bash scripts/bench-pedalboard.sh [RUNS] [EFFECT ...]   (default 5 runs, every effect)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shift || true

target="${CARGO_TARGET_DIR:-target}"
cargo build --release --bin corelogic-dsp >&2
bin="$(pwd)/$target/release/corelogic-dsp"

python="${PYTHON:-}"
if [ -z "$python" ]; then
    venv="$target/pedalboard-venv"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pedalboard, numpy' 2>/dev/null; then
        echo "installing pedalboard and numpy into $venv" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet pedalboard numpy >&2
    fi
    python="$venv/bin/python"
fi

# The input file is kept between calls (60 s of stereo float: 23 MB); outputs are overwritten each run.
work="$target/bench-pedalboard"
mkdir -p "$work"
"$python" scripts/bench_pedalboard.py "$bin" "$work" "$runs" "$@"
