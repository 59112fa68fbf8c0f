import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxRuntimeCpuBackend } from '../../src/backends/onnxruntime/onnxruntime-cpu.js';
import { compareTensors } from '../../src/core/tensor-compare.js';
import { DET, textImage } from '../../bench/int8.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('fp32 engines with exact rewrites', () => {
  it("folds PP-OCR det's affine ops and HardSwishes and stays within fp32 golden tolerances", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-fp32-rewrites-'));
    dirs.push(dir);
    const backend = new OnnxRuntimeCpuBackend();
    const shape = [1, 3, 160, 160];
    const compiled = await backend.compile({
      modelPath: DET,
      profile: { name: 'p', shapes: { x: shape } },
      precision: 'fp32',
      outDir: dir,
    });
    const note = compiled.notes.find((n) => n.startsWith('fp32: '));
    expect(note).toMatch(
      /^fp32: [1-9]\d* constant affine ops folded into Convs, [1-9]\d* spelled-out HardSwishes/,
    );
    const engine = await backend.openEngine(path.join(dir, compiled.fileName), { threads: 1 });
    const reference = await backend.openReference(DET, { threads: 1 });
    try {
      for (const seed of [1, 2]) {
        const input = textImage(seed, shape);
        const [got, ref] = [await engine.run(input), await reference.run(input)];
        for (const name of reference.outputNames) {
          const c = compareTensors(name, ref[name]!, got[name]!, { atol: 1e-4, rtol: 1e-3 });
          expect([name, c.pass, c.mismatches]).toEqual([name, true, 0]);
        }
      }
    } finally {
      await Promise.all([engine.release(), reference.release()]);
    }
  }, 120_000);
});
