#!/usr/bin/env node
// Writes the VAD example's golden inputs: a synthetic utterance (noise, then vowel-like syllables,
// then noise) streamed through Silero VAD v5 the way a serving loop runs it, so each golden sample is
// a real step of a stream: the chunk with its context samples in front, the recurrent state the
// previous steps left, and the sample rate. `npm ci` runs it (scripts/example-models.js) after
// copying the model; `node examples/vad/make-golden.js [DIR]` writes into DIR instead.
//
//   golden/<profile>/<n>/input.npy  float32 [1, context + chunk]: 64 + 512 at 16 kHz, 32 + 256 at 8 kHz
//   golden/<profile>/<n>/state.npy  float32 [2, 1, 128]: what the previous step returned (zeros at start)
//   golden/<profile>/<n>/sr.npy     int64, rank 0: the sample rate
//
// Per sample rate (samples 0-2 at 16 kHz, 3-5 at 8 kHz): the stream's first step, the step with the
// highest speech probability, and the first step after the speech ends (the state still carries it).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { writeNpy } from '../../build/src/core/io/npy-files.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The profile (kiln.yaml) and the two stream formats its range covers. */
export const PROFILE = 'chunk256-8k-to-512-16k';
export const FORMATS = [
  { rate: 16000, chunk: 512, context: 64 },
  { rate: 8000, chunk: 256, context: 32 },
];
/** Formants (Hz) of /a/, /i/, /u/, /e/, /o/: the vocal-tract resonances that make a pulse train a vowel. */
const VOWELS = [
  [730, 1090, 2440],
  [270, 2290, 3010],
  [300, 870, 2240],
  [530, 1840, 2480],
  [570, 840, 2410],
];

/** mulberry32: a small seeded generator whose sequence is the same on every host. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 3 s at `rate`: faint noise, from 1.0 s to 2.4 s syllables of 200 ms (a glottal pulse train at a
 * wandering 95–155 Hz pitch through three formant resonators, under a syllable envelope), then noise.
 * Peak-normalized to 0.5.
 */
export function utterance(rate) {
  const rnd = seeded(7);
  const out = new Float32Array(3 * rate);
  const [start, end] = [Math.round(1.0 * rate), Math.round(2.4 * rate)];
  const memory = VOWELS[0].map(() => [0, 0]);
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    let v = 0;
    if (i >= start && i < end) {
      const syllable = (t - 1.0) / 0.2;
      const k = Math.floor(syllable);
      const pitch = 120 + 25 * Math.sin(2 * Math.PI * 0.7 * t) + 10 * Math.sin(2 * Math.PI * 3 * t);
      phase += pitch / rate;
      v = phase >= 1 ? Math.sin(Math.PI * (syllable - k)) ** 0.6 : 0;
      if (phase >= 1) phase -= 1;
      VOWELS[(3 * k + 1) % VOWELS.length].forEach((f, j) => {
        const r = Math.exp((-Math.PI * (60 + 40 * j)) / rate);
        const y =
          (1 - r) * v + 2 * r * Math.cos((2 * Math.PI * f) / rate) * memory[j][0] - r * r * memory[j][1];
        memory[j] = [y, memory[j][0]];
        v = y;
      });
      v *= 8;
    }
    out[i] = v + 0.003 * (2 * rnd() - 1);
  }
  const peak = out.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return out.map((v) => (0.5 * v) / peak);
}

/** Every step of streaming `wave` through the model: its three inputs and the speech probability. */
export async function stream(session, wave, { rate, chunk, context }) {
  const steps = [];
  let state = new Float32Array(2 * 128);
  let tail = new Float32Array(context);
  for (let at = 0; at + chunk <= wave.length; at += chunk) {
    const input = new Float32Array(context + chunk);
    input.set(tail);
    input.set(wave.subarray(at, at + chunk), context);
    tail = wave.slice(at + chunk - context, at + chunk);
    const feeds = {
      input: new ort.Tensor('float32', input, [1, input.length]),
      state: new ort.Tensor('float32', state, [2, 1, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []),
    };
    const out = await session.run(feeds);
    steps.push({ input, state, rate, speech: out.output.data[0] });
    state = out.stateN.data.slice();
  }
  return steps;
}

/** Writes the golden inputs of both stream formats under `out/golden` (replacing what was there). */
export async function makeVadGolden(out = here, model = path.join(here, 'models', 'silero_vad_v5.onnx')) {
  rmSync(path.join(out, 'golden'), { recursive: true, force: true });
  const session = await ort.InferenceSession.create(model);
  const summary = [];
  try {
    for (const [f, format] of FORMATS.entries()) {
      const steps = await stream(session, utterance(format.rate), format);
      const peak = steps.reduce((best, s, i) => (s.speech > steps[best].speech ? i : best), 0);
      const after = Math.ceil((2.4 * format.rate) / format.chunk);
      for (const [n, i] of [0, peak, after].entries()) {
        const { input, state, rate } = steps[i];
        const dir = path.join(out, 'golden', PROFILE, String(3 * f + n));
        await writeNpy(path.join(dir, 'input.npy'), {
          dtype: 'float32',
          shape: [1, input.length],
          data: input,
        });
        await writeNpy(path.join(dir, 'state.npy'), { dtype: 'float32', shape: [2, 1, 128], data: state });
        await writeNpy(path.join(dir, 'sr.npy'), {
          dtype: 'int64',
          shape: [],
          data: BigInt64Array.of(BigInt(rate)),
        });
      }
      summary.push(`${format.rate} Hz: speech ${steps[peak].speech.toFixed(2)} at step ${peak}`);
    }
  } finally {
    await session.release();
  }
  return summary;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? here);
  console.log(`vad make-golden: ${(await makeVadGolden(out)).join('; ')}, in ${out}`);
}
