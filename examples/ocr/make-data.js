#!/usr/bin/env node
// Writes the OCR example's golden inputs and int8 calibration data from the committed text-line
// images in text-lines/ (rendered with DejaVu fonts: text-lines/render.sh), preprocessed as PaddleOCR
// does for PP-OCRv4, so kiln checks the engines on real text rather than noise. Deterministic: the
// same files on every host (no floating-point library calls, a seeded generator). `npm ci` runs it
// (scripts/example-models.js); `node examples/ocr/make-data.js [DIR]` writes into DIR instead.
//
//   golden/det/s384/<n>/x.npy     rendered pages, 384×384, BGR, ImageNet mean/std (det.yaml)
//   calibration/det/<n>/x.npy     8 more pages, other seeds: the det int8 calibration set
//   golden/rec/w160-640/<n>/x.npy one text line per width of the ranged profile (rec.yaml)
//   golden/cls/b1/<n>/x.npy       a line upright, a line rotated 180° (cls.yaml)
//   golden/cls/b8/0/x.npy         a batch of 8 lines, every other one rotated
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../../build/src/core/io/npy-files.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/** Reads a binary 8-bit PGM (`P5 W H 255`), as text-lines/render.sh writes it. */
export function readPgm(file) {
  const bytes = readFileSync(file);
  const header = bytes
    .subarray(0, 64)
    .toString('latin1')
    .match(/^P5\s+(\d+)\s+(\d+)\s+255\s/);
  if (!header) throw new Error(`${file}: not a binary 8-bit PGM`);
  const [width, height] = [Number(header[1]), Number(header[2])];
  return { width, height, data: bytes.subarray(header[0].length, header[0].length + width * height) };
}

/** Bilinear resize of a grey image to width × height (pixel centres aligned, as OpenCV's INTER_LINEAR). */
function resize(img, width, height) {
  const out = new Float32Array(width * height);
  const [sx, sy] = [img.width / width, img.height / height];
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const [y0, wy] = [Math.floor(fy), fy - Math.floor(fy)];
    const y1 = Math.min(y0 + 1, img.height - 1);
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const [x0, wx] = [Math.floor(fx), fx - Math.floor(fx)];
      const x1 = Math.min(x0 + 1, img.width - 1);
      const at = (yy, xx) => img.data[yy * img.width + xx];
      const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
      const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
      out[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return { width, height, data: out };
}

/**
 * A text line as PP-OCR's recognizer and classifier take it: height 48, width by aspect ratio up to
 * `width` (squeezed beyond), (v / 255 − 0.5) / 0.5 in all three channels, zero-padded on the right.
 */
function lineTensor(img, width, rotate = false) {
  const w = Math.min(width, Math.ceil((48 * img.width) / img.height));
  const line = resize(img, w, 48);
  const data = new Float32Array(3 * 48 * width);
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < w; x++) {
      const v = rotate ? line.data[(47 - y) * w + (w - 1 - x)] : line.data[y * w + x];
      for (let c = 0; c < 3; c++) data[(c * 48 + y) * width + x] = (v / 255 - 0.5) / 0.5;
    }
  }
  return { dtype: 'float32', shape: [1, 3, 48, width], data };
}

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
 * A document page for the detector: a tinted paper background with a linear shading, and text lines
 * at random heights (18–34 px) and offsets, inked in a dark colour; BGR (as OpenCV reads images),
 * then (v / 255 − mean) / std per channel as PaddleOCR's det NormalizeImage.
 */
function pageTensor(lines, seed, size) {
  const rnd = seeded(seed);
  const paper = [0, 1, 2].map(() => 215 + 35 * rnd());
  const ink = [0, 1, 2].map(() => 10 + 60 * rnd());
  const [gx, gy] = [30 * (rnd() - 0.5), 30 * (rnd() - 0.5)];
  const alpha = new Float32Array(size * size); // ink coverage 0..1
  let top = Math.floor(8 + 20 * rnd());
  while (top < size - 40) {
    const img = lines[Math.floor(rnd() * lines.length)];
    const h = Math.floor(18 + 16 * rnd());
    const w = Math.min(size - 16, Math.ceil((h * img.width) / img.height));
    const line = resize(img, w, h);
    const left = Math.floor(8 + (size - 16 - w) * rnd());
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) alpha[(top + y) * size + left + x] = 1 - line.data[y * w + x] / 255;
    top += h + Math.floor(6 + 30 * rnd());
  }
  const data = new Float32Array(3 * size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const a = alpha[y * size + x];
      for (let c = 0; c < 3; c++) {
        const bg = Math.min(255, paper[c] + (gx * x + gy * y) / size);
        const v = Math.round(bg * (1 - a) + ink[c] * a);
        data[(c * size + y) * size + x] = (v / 255 - DET_MEAN[c]) / DET_STD[c];
      }
    }
  }
  return { dtype: 'float32', shape: [1, 3, size, size], data };
}

/** Concatenates [1, …] tensors along dim 0. */
function batch(tensors) {
  const data = new Float32Array(tensors.reduce((n, t) => n + t.data.length, 0));
  tensors.reduce((at, t) => (data.set(t.data, at), at + t.data.length), 0);
  return { dtype: 'float32', shape: [tensors.length, ...tensors[0].shape.slice(1)], data };
}

/** Writes every golden and calibration file of the example under `out` (replacing what was there). */
export async function makeOcrData(out = here) {
  const dir = path.join(here, 'text-lines');
  const lines = readdirSync(dir)
    .filter((f) => f.endsWith('.pgm'))
    .sort()
    .map((f) => readPgm(path.join(dir, f)));
  for (const folder of ['golden', 'calibration'])
    rmSync(path.join(out, folder), { recursive: true, force: true });
  const write = (file, tensor) => writeNpy(path.join(out, file), tensor);
  for (const [n, seed] of [1, 2].entries())
    await write(`golden/det/s384/${n}/x.npy`, pageTensor(lines, seed, 384));
  for (let n = 0; n < 8; n++) await write(`calibration/det/${n}/x.npy`, pageTensor(lines, 101 + n, 384));
  // Short, medium and long lines for the min, opt and max widths of the ranged profile.
  for (const [n, [line, width]] of [
    [8, 160],
    [3, 320],
    [0, 640],
  ].entries())
    await write(`golden/rec/w160-640/${n}/x.npy`, lineTensor(lines[line], width));
  await write('golden/cls/b1/0/x.npy', lineTensor(lines[1], 192));
  await write('golden/cls/b1/1/x.npy', lineTensor(lines[4], 192, true));
  await write(
    'golden/cls/b8/0/x.npy',
    batch(lines.slice(0, 8).map((l, i) => lineTensor(l, 192, i % 2 === 1))),
  );
  return { lines: lines.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? here);
  const { lines } = await makeOcrData(out);
  console.log(`ocr make-data: golden inputs and calibration data from ${lines} text lines in ${out}`);
}
