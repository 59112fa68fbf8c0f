import { execa } from 'execa';
import { copyFile, mkdtemp, mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GENERATED = path.join(ROOT, 'test', 'fixtures', 'generated');
export const OCR_MODELS = path.join(ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets');
export const PPOCR = {
  det: path.join(OCR_MODELS, 'ch_PP-OCRv4_det_infer.onnx'),
  rec: path.join(OCR_MODELS, 'ch_PP-OCRv4_rec_infer.onnx'),
  cls: path.join(OCR_MODELS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'),
};

export interface KilnRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled `kiln` binary (built by the global setup) as a user would. */
export async function runKiln(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<KilnRun> {
  const result = await execa('node', [path.join(ROOT, 'bin', 'kiln.js'), ...args], {
    cwd,
    reject: false,
    env,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh folder holding `kiln.yaml` and copies of the given files (name → source path). */
export async function workspace(config: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-it-'));
  await writeFile(path.join(dir, 'kiln.yaml'), config);
  for (const [name, source] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await copyFile(source, path.join(dir, name));
  }
  return dir;
}

/** Every file under the store, relative, for "nothing half-written" assertions. */
export async function storeFiles(storeDir: string): Promise<string[]> {
  const entries = await readdir(storeDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(storeDir, path.join(e.parentPath, e.name)))
    .sort();
}

/** Bench settings small enough that a test build takes a second, not minutes. */
export const FAST_BENCH = `bench: { warmup: 1, minSamples: 5, maxSamples: 20, budgetMs: 150, stabilityPct: 50 }\n`;

/** kiln.yaml for the generated two-head model (dynamic batch, int64 input) at batch 1, fast bench. */
export const TWO_HEAD_B1_CONFIG = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - name: b1
        shapes: { x: [1, 8], ids: [1, 4] }
    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`;
