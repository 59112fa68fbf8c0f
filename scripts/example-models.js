#!/usr/bin/env node
// Copies the examples' ONNX models out of their npm devDependencies into examples/<name>/models/
// (kiln.yaml paths may not leave the config's folder), then writes each example's golden inputs
// (and the OCR example's int8 calibration data) with the example's own script. Runs from the
// `prepare` script (so `npm ci` is enough), after build/ is compiled; an example whose package is
// not installed (no dev dependencies), or whose folder is not there (a copy without examples/), is
// skipped.
import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const examples = [
  {
    name: 'ocr',
    what: 'PP-OCR models',
    source: path.join('@gutenye', 'ocr-models', 'assets'),
    models: {
      'det.onnx': 'ch_PP-OCRv4_det_infer.onnx',
      'rec.onnx': 'ch_PP-OCRv4_rec_infer.onnx',
      'cls.onnx': 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
    },
    data: async () => (await import('../examples/ocr/make-data.js')).makeOcrData(),
  },
  {
    name: 'vad',
    what: 'Silero VAD model',
    source: path.join('@ricky0123', 'vad-web', 'dist'),
    models: { 'silero_vad_v5.onnx': 'silero_vad_v5.onnx' },
    data: async () => (await import('../examples/vad/make-golden.js')).makeVadGolden(),
  },
];

for (const example of examples) {
  const source = path.join(root, 'node_modules', example.source);
  if (!(await stat(path.join(root, 'examples', example.name, 'kiln.yaml')).catch(() => null))) continue;
  if (!(await stat(source).catch(() => null))) {
    console.log(`example-models: ${example.source} not installed, skipping examples/${example.name}`);
    continue;
  }
  const target = path.join(root, 'examples', example.name, 'models');
  await mkdir(target, { recursive: true });
  for (const [name, file] of Object.entries(example.models))
    await copyFile(path.join(source, file), path.join(target, name));
  await example.data();
  console.log(
    `example-models: copied ${Object.keys(example.models).length} ${example.what} to ${path.relative(root, target)}, wrote its golden data`,
  );
}
