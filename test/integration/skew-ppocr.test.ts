/**
 * The skew check on the real PP-OCR models: they were trained on (x / 255 − 0.5) / 0.5 in RGB NCHW.
 * Seeded synthetic "documents" (smooth backgrounds, soft blobs, dark text-like strokes) are fed
 * correctly preprocessed, as raw 0–255 pixels, and as 0–1 without the mean/std step; the test
 * measures how far each wrong variant moves the models' outputs and checks `kiln skew` names it.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { PPOCR, runKiln } from '../helpers/kiln-cli.js';

const MANIFEST = `version: 1
inputs:
  x:
    dtype: float32
    layout: NCHW
    colorOrder: RGB
    steps:
      - scale: 1/255
      - normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }
    range: { min: -1, max: 1 }
`;

/**
 * A seeded RGB image in 0–255 (HWC order): a lit gradient background, a few soft colour blobs, and
 * lines of dark glyph-like strokes, which is what the detector looks for and the classifier orients.
 */
export function syntheticDocument(seed: number, height: number, width: number, lines: number): Float32Array {
  const rng = new SeededRandom(seed);
  const img = new Float32Array(height * width * 3);
  const base = [0, 1, 2].map(() => 170 + 70 * rng.nextFloat());
  const [gx, gy] = [rng.nextFloat() - 0.5, rng.nextFloat() - 0.5];
  const blobs = Array.from({ length: 3 }, () => ({
    x: rng.nextFloat() * width,
    y: rng.nextFloat() * height,
    r: (0.15 + 0.3 * rng.nextFloat()) * Math.min(width, height),
    c: [0, 1, 2].map(() => 60 * (rng.nextFloat() - 0.5)),
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let v = base[c]! + 40 * (gx * (x / width) + gy * (y / height));
        for (const b of blobs) v += b.c[c]! * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r ** 2));
        img[(y * width + x) * 3 + c] = v;
      }
    }
  }
  const ink = [0, 1, 2].map(() => 10 + 50 * rng.nextFloat());
  const lineHeight = Math.floor(height / (lines + 1));
  for (let l = 0; l < lines; l++) {
    const glyph = Math.max(6, Math.floor(lineHeight * 0.6));
    const top = Math.floor((l + 0.7) * lineHeight);
    let x = Math.floor(width * 0.06 * (1 + rng.nextFloat()));
    const end = Math.floor(width * (0.6 + 0.35 * rng.nextFloat()));
    while (x + glyph < end) {
      // A glyph: two or three strokes (vertical, horizontal, diagonal) inside its box.
      for (let s = 0; s < 2 + Math.floor(rng.nextFloat() * 2); s++) {
        const kind = Math.floor(rng.nextFloat() * 3);
        const offset = Math.floor(rng.nextFloat() * glyph * 0.8);
        const thick = Math.max(1, Math.round(glyph / 7));
        for (let t = 0; t < glyph; t++) {
          for (let k = 0; k < thick; k++) {
            const [px, py] =
              kind === 0
                ? [x + offset + k, top + t]
                : kind === 1
                  ? [x + t, top + offset + k]
                  : [x + t, top + t + k];
            if (px < width && py < height)
              for (let c = 0; c < 3; c++) img[(py * width + px) * 3 + c] = ink[c]!;
          }
        }
      }
      x += glyph + Math.floor(glyph * (0.2 + (rng.nextFloat() < 0.15 ? 1 : 0.2)));
    }
  }
  for (let i = 0; i < img.length; i++) img[i] = Math.min(255, Math.max(0, Math.round(img[i]!)));
  return img;
}

type Variant = 'correct' | 'raw255' | 'unit';

/** HWC 0–255 pixels to the model's NCHW tensor, preprocessed as `variant` says. */
function toInput(
  img: Float32Array,
  height: number,
  width: number,
  variant: Variant,
  flip = false,
): HostTensor {
  const data = new Float32Array(3 * height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sy, sx] = flip ? [height - 1 - y, width - 1 - x] : [y, x];
      for (let c = 0; c < 3; c++) {
        const v = img[(sy * width + sx) * 3 + c]!;
        data[c * height * width + y * width + x] =
          variant === 'raw255' ? v : variant === 'unit' ? v / 255 : (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return { dtype: 'float32', shape: [1, 3, height, width], data };
}

async function run(session: ort.InferenceSession, t: HostTensor): Promise<Float32Array> {
  const out = await session.run({ x: new ort.Tensor('float32', t.data as Float32Array, t.shape) });
  return (out[session.outputNames[0]!] as ort.Tensor).data as Float32Array;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i]! * b[i]!, aa + a[i]! ** 2, bb + b[i]! ** 2];
  return ab / Math.sqrt(aa * bb || 1);
}

const VARIANTS: Variant[] = ['correct', 'raw255', 'unit'];
const CLS = { h: 48, w: 192, n: 32 };
const DET = { h: 256, w: 256, n: 6 };
const inputs: Record<'cls' | 'det', Record<Variant, HostTensor[]>> = {
  cls: { correct: [], raw255: [], unit: [] },
  det: { correct: [], raw255: [], unit: [] },
};
const outputs: Record<'cls' | 'det', Record<Variant, Float32Array[]>> = {
  cls: { correct: [], raw255: [], unit: [] },
  det: { correct: [], raw255: [], unit: [] },
};

beforeAll(async () => {
  const options = { intraOpNumThreads: 1, logSeverityLevel: 3 as const };
  const sessions = {
    cls: await ort.InferenceSession.create(PPOCR.cls, options),
    det: await ort.InferenceSession.create(PPOCR.det, options),
  };
  for (let i = 0; i < CLS.n; i++) {
    const img = syntheticDocument(100 + i, CLS.h, CLS.w, 1);
    // Half upside down, so the correct decisions themselves differ and agreement means something.
    for (const v of VARIANTS) inputs.cls[v].push(toInput(img, CLS.h, CLS.w, v, i % 2 === 1));
  }
  for (let i = 0; i < DET.n; i++) {
    const img = syntheticDocument(200 + i, DET.h, DET.w, 5);
    for (const v of VARIANTS) inputs.det[v].push(toInput(img, DET.h, DET.w, v));
  }
  for (const model of ['cls', 'det'] as const) {
    for (const v of VARIANTS)
      for (const t of inputs[model][v]) outputs[model][v].push(await run(sessions[model], t));
    await sessions[model].release();
  }
}, 240_000);

describe('preprocessing skew on the real PP-OCR models', () => {
  it('wrongly scaled inputs change the outputs (measured, printed for docs/failure-modes.md)', () => {
    const argmax = (p: Float32Array) => (p[1]! > p[0]! ? 1 : 0);
    const decisions = VARIANTS.map((v) => outputs.cls[v].map(argmax));
    const agreement = (v: number) => decisions[v]!.filter((d, i) => d === decisions[0]![i]).length / CLS.n;
    const confidence = outputs.cls.correct.reduce((s, p) => s + Math.max(p[0]!, p[1]!), 0) / CLS.n;
    // Share of all pixels whose text/no-text decision (threshold 0.3) flips, and the same relative to
    // the text pixels of the correct map (how much of the detected text area changes).
    const flips = (v: Variant, relativeToText = false) => {
      let [flipped, total] = [0, 0];
      outputs.det[v].forEach((map, i) => {
        const ref = outputs.det.correct[i]!;
        for (let k = 0; k < map.length; k++) {
          flipped += Number(map[k]! > 0.3 !== ref[k]! > 0.3);
          total += relativeToText ? Number(ref[k]! > 0.3) : 1;
        }
      });
      return flipped / total;
    };
    const textShare =
      outputs.det.correct.reduce((s, m) => s + m.filter((p) => p > 0.3).length / m.length, 0) / DET.n;
    const meanCosine = (v: Variant) =>
      outputs.det[v].reduce((s, m, i) => s + cosine(m, outputs.det.correct[i]!), 0) / DET.n;
    // Ground truth: odd samples were rotated by 180°, which is class 1 of the orientation classifier.
    const truth = (v: number) => decisions[v]!.filter((d, i) => d === i % 2).length / CLS.n;
    const figures = {
      clsAccuracyVsTruthCorrect: truth(0),
      clsAccuracyVsTruthRaw255: truth(1),
      clsAccuracyVsTruthUnit01: truth(2),
      clsMeanConfidenceCorrect: confidence,
      clsTop1AgreementRaw255: agreement(1),
      clsTop1AgreementUnit01: agreement(2),
      detTextPixelShareCorrect: textShare,
      detCosineRaw255: meanCosine('raw255'),
      detCosineUnit01: meanCosine('unit'),
      detFlippedPixelsRaw255: flips('raw255'),
      detFlippedPixelsUnit01: flips('unit'),
      detTextAreaChangedRaw255: flips('raw255', true),
      detTextAreaChangedUnit01: flips('unit', true),
    };
    console.log(
      `PP-OCR skew figures (cls ${CLS.n}×${CLS.h}×${CLS.w}, det ${DET.n}×${DET.h}×${DET.w}): ${JSON.stringify(figures, null, 2)}`,
    );
    // The correct inputs are meaningful to the models: the detector finds text, the classifier is sure.
    expect(textShare).toBeGreaterThan(0.02);
    // Raw pixels wreck the detector's map; 0–1 input degrades it measurably.
    expect(figures.detFlippedPixelsRaw255).toBeGreaterThan(0.05);
    expect(figures.detCosineRaw255).toBeLessThan(0.9);
    expect(figures.detFlippedPixelsUnit01).toBeGreaterThan(0.001);
    expect(figures.clsTop1AgreementRaw255).toBeLessThanOrEqual(0.75);
  });

  it('kiln skew passes the correct inputs and names the missing step for each wrong one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-skew-ppocr-'));
    await writeFile(path.join(dir, 'det.manifest.yaml'), MANIFEST);
    for (const v of VARIANTS) {
      for (const [i, t] of [...inputs.det[v], ...inputs.cls[v].slice(0, 4)].entries()) {
        await mkdir(path.join(dir, v, `s${i}`), { recursive: true });
        await writeNpy(path.join(dir, v, `s${i}`, 'x.npy'), t);
      }
    }
    const correct = await runKiln(['skew', '--manifest', 'det.manifest.yaml', '--inputs', 'correct'], dir);
    expect(correct.stderr).toBe('');
    expect(correct.exitCode).toBe(0);
    const raw = await runKiln(['skew', '--manifest', 'det.manifest.yaml', '--inputs', 'raw255'], dir);
    expect(raw.exitCode).toBe(1);
    expect(raw.stderr).toMatch(
      /^kiln: skew: input 'x': values in \[\d+, 255\] .*expected \[-1, 1\]; likely missing step: scale 1\/255 then normalize \(mean \[0\.5,0\.5,0\.5\], std \[0\.5,0\.5,0\.5\]\)$/,
    );
    const unit = await runKiln(
      ['skew', '--manifest', 'det.manifest.yaml', '--inputs', 'unit', '--json'],
      dir,
    );
    expect(unit.exitCode).toBe(1);
    expect(unit.stderr).toMatch(/likely missing step: normalize \(mean \[0\.5,0\.5,0\.5\]/);
    const report = JSON.parse(unit.stdout) as { verdict: string; findings: Array<{ kind: string }> };
    expect(report.verdict).toBe('skew');
    expect(report.findings.map((f) => f.kind)).toEqual(['normalize-missing']);
  });
});
