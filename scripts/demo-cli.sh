#!/usr/bin/env bash
# The command-line part of the demo (scripts/run.sh runs it before serving the browser page): builds the
# command-line program and runs a generated signal through a few effects, written as WAV files to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --demo

printf '\n== building corelogic-dsp (release)\n'
cargo build --release --bin corelogic-dsp
bin=target/release/corelogic-dsp
out=demo-out
mkdir -p "$out"

printf '\n== generating a test signal\n'
python3 - "$out/input.wav" <<'PY'
import math, struct, sys, random
sr, seconds = 48000, 4
random.seed(1)
frames = []
for n in range(sr * seconds):
    t = n / sr
    # A chord with a plucked envelope, plus a little noise: something to hear filters and dynamics on.
    env = math.exp(-3.0 * (t % 1.0))
    x = env * sum(0.2 * math.sin(2 * math.pi * f * t) for f in (110, 220, 330, 495, 1320))
    x += 0.02 * (random.random() * 2 - 1)
    frames.append(struct.pack('<ff', x, x))
data = b''.join(frames)
with open(sys.argv[1], 'wb') as f:
    f.write(b'RIFF' + struct.pack('<I', 36 + len(data)) + b'WAVE')
    f.write(b'fmt ' + struct.pack('<IHHIIHH', 16, 3, 2, sr, sr * 8, 8, 32))
    f.write(b'data' + struct.pack('<I', len(data)) + data)
PY

printf '\n== effects\n'
"$bin" effects

printf '\n== rendering\n'
"$bin" process "$out/input.wav" "$out/eq-bright.wav" --effect parametric-eq --set b3GainDb=9 --set b1GainDb=-6
"$bin" process "$out/input.wav" "$out/highpass-300.wav" --effect high-low-pass --set frequencyHz=300 --set order=4
cat > "$out/chain.json" <<'JSON'
[
  {"effect": "high-low-pass", "parameters": {"mode": 0, "frequencyHz": 80, "order": 2}},
  {"effect": "parametric-eq", "parameters": {"b2FrequencyHz": 400, "b2GainDb": -4, "b2Q": 1.5}},
  {"effect": "high-shelf", "parameters": {"frequencyHz": 6000, "gainDb": 5}}
]
JSON
"$bin" process "$out/input.wav" "$out/chain.wav" --chain "$out/chain.json" --bit-depth 24
"$bin" process "$out/input.wav" "$out/compressed.wav" --effect compressor --set thresholdDb=-30 --set ratio=6 --set kneeDb=6 --set makeupDb=8
"$bin" process "$out/input.wav" "$out/limited.wav" --effect limiter --set inputGainDb=18 --set ceilingDb=-1
"$bin" process "$out/input.wav" "$out/gated.wav" --effect gate --set thresholdDb=-30 --set holdMs=20
"$bin" process "$out/input.wav" "$out/saturated.wav" --effect saturation --set driveDb=18 --set oversample=4
"$bin" process "$out/input.wav" "$out/ping-pong.wav" --effect ping-pong-delay --set syncToTempo=1 --set noteValue=3 --bpm 96 --tail 2
cat > "$out/verb.json" <<'JSON'
[
  {"effect": "plate-reverb", "preset": "plate", "parameters": {"mix": 0.35}}
]
JSON
"$bin" process "$out/input.wav" "$out/plate.wav" --chain "$out/verb.json" --tail 3

printf '\n== analysis of the plate render\n'
"$bin" analyze "$out/plate.wav"
printf '\nwrote:\n'
ls -l "$out"/*.wav
