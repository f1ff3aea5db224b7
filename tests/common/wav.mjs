// 32-bit float WAV files written for the CLI and read back from it, shared by the Node tests (tests/wasm/,
// tests/browser/, tests/vite/). Plain Node: no dependency.
import { readFileSync, writeFileSync } from 'node:fs';

/** Writes planar `channels` (Float32Arrays) as a 32-bit float WAV (WAVE_FORMAT_IEEE_FLOAT, 44-byte header). */
export function writeFloatWav(path, channels, sampleRateHz) {
  const frames = channels[0].length;
  const n = channels.length;
  const data = Buffer.alloc(frames * 4 * n);
  for (let i = 0; i < frames; i++) for (let c = 0; c < n; c++) data.writeFloatLE(channels[c][i], (i * n + c) * 4);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20); // WAVE_FORMAT_IEEE_FLOAT
  header.writeUInt16LE(n, 22);
  header.writeUInt32LE(sampleRateHz, 24);
  header.writeUInt32LE(sampleRateHz * 4 * n, 28);
  header.writeUInt16LE(4 * n, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([header, data]));
}

/** A 32-bit float WAV (as the CLI writes it: IEEE float, possibly WAVE_FORMAT_EXTENSIBLE) as planar channels. */
export function readFloatWav(path) {
  const bytes = readFileSync(path);
  let channels = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString('latin1', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') channels = bytes.readUInt16LE(at + 10);
    if (id === 'data') {
      const frames = size / 4 / channels;
      const out = Array.from({ length: channels }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[c][i] = bytes.readFloatLE(at + 8 + (i * channels + c) * 4);
      return out;
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}
