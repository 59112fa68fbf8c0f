import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExternalData } from '../../../src/backends/model/external-data-copy.js';
import { inlineExternalData } from '../../../src/backends/model/external-data-inline.js';
import { loadOnnxModel } from '../../../src/backends/model/onnx-model.js';
import { OnnxRuntimeCpuBackend } from '../../../src/backends/onnxruntime/onnxruntime-cpu.js';
import { sha256File } from '../../../src/core/io/file-hashing.js';
import { BIAS, matMulAddModel, WEIGHTS, writeWeightFile } from '../../helpers/external-data-models.js';
import { oneLineKilnError } from '../../helpers/one-line-error.js';

/** Past both protobuf's 2 GiB message limit and Node's largest Buffer. */
const BIG = 2 * 1024 ** 3 + 1024 ** 2;

/** sha256 of the sparse file written below, computed independently: weights, then zeros to BIG. */
function expectedSha256(): string {
  const hash = createHash('sha256');
  const head = Buffer.alloc(64 + 16);
  Buffer.from(WEIGHTS.buffer).copy(head, 0);
  Buffer.from(BIAS.buffer).copy(head, 64);
  hash.update(head);
  const zeros = Buffer.alloc(1024 ** 2);
  let left = BIG - head.length;
  while (left > 0) {
    const n = Math.min(left, zeros.length);
    hash.update(n === zeros.length ? zeros : zeros.subarray(0, n));
    left -= n;
  }
  return hash.digest('hex');
}

describe('a model whose external data passes 2 GiB (a sparse file: no disk, no memory)', () => {
  let dir: string;
  let modelPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-big-'));
    modelPath = path.join(dir, 'model.onnx');
    await writeWeightFile(dir, 'big.data', [
      [0, WEIGHTS],
      [64, BIAS],
    ]);
    // Holes up to BIG: the file is over 2 GiB long but holds one block.
    const handle = await open(path.join(dir, 'big.data'), 'r+');
    await handle.truncate(BIG);
    await handle.close();
    await writeFile(
      modelPath,
      matMulAddModel({ location: 'big.data', offset: 0 }, { location: 'big.data', offset: 64 }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('loads without reading the weights and names the file', async () => {
    const before = process.resourceUsage().maxRSS;
    const loaded = await loadOnnxModel(modelPath);
    expect(loaded.externalFiles).toEqual(['big.data']);
    expect(loaded.bytes.length).toBeLessThan(1024);
    expect((process.resourceUsage().maxRSS - before) * 1024).toBeLessThan(64 * 1024 ** 2);
  });

  it('hashes it for the key by streaming: the right sha256, memory growth far below its size', async () => {
    expect((await stat(path.join(dir, 'big.data'))).size).toBe(BIG);
    const before = process.resourceUsage().maxRSS;
    const actual = await sha256File(path.join(dir, 'big.data'), { root: dir, what: 'external data file' });
    const grewBytes = (process.resourceUsage().maxRSS - before) * 1024;
    expect(grewBytes).toBeLessThan(BIG / 16);
    expect(actual).toBe(expectedSha256());
    // Two full passes over 2 GiB (kiln's and the check's) on a shared two-core runner.
  }, 180_000);

  it('onnxruntime-cpu refuses it in one line before loading it: an ORT-format engine cannot pass 2 GiB', async () => {
    const outDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-big-out-'));
    try {
      const error = await oneLineKilnError(
        new OnnxRuntimeCpuBackend().compile({
          modelPath,
          profile: { name: 'b1', shapes: { x: [1, 4] } },
          precision: 'fp32',
          outDir,
        }),
      );
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(
        /model\.onnx: 2\.00 GiB with its external data, expected under 2 GiB for onnxruntime-cpu .*tensorrt or onnxruntime-gpu/,
      );
      expect(await readdir(outDir)).toEqual([]);
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

describe('copyExternalData (what an .onnx engine takes along)', () => {
  it('copies each location to the same relative path, checked inside the model folder', async () => {
    const from = await mkdtemp(path.join(os.tmpdir(), 'kiln-copy-from-'));
    const to = await mkdtemp(path.join(os.tmpdir(), 'kiln-copy-to-'));
    try {
      await writeWeightFile(from, 'w/matmul.data', [[0, WEIGHTS]]);
      await writeWeightFile(from, 'bias.data', [[8, BIAS]]);
      await copyExternalData(from, ['bias.data', 'w/matmul.data'], to);
      for (const file of ['bias.data', 'w/matmul.data']) {
        expect(await sha256File(path.join(to, file))).toBe(await sha256File(path.join(from, file)));
      }
      await expect(copyExternalData(from, ['missing.data'], to)).rejects.toThrow(
        /missing\.data: cannot read external data file \(file not found\)/,
      );
    } finally {
      await rm(from, { recursive: true, force: true });
      await rm(to, { recursive: true, force: true });
    }
  });
});

describe('inlineExternalData (the int8 path)', () => {
  it('reads each tensor at its offset into the model, and refuses a range past the file end', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-inline-'));
    try {
      const modelPath = path.join(dir, 'model.onnx');
      await writeWeightFile(dir, 'w.data', [
        [0, WEIGHTS],
        [64, BIAS],
      ]);
      await writeFile(
        modelPath,
        matMulAddModel({ location: 'w.data', offset: 0 }, { location: 'w.data', offset: 64 }),
      );
      const { model } = await loadOnnxModel(modelPath);
      await inlineExternalData(model, modelPath);
      const [w, b] = model.graph!.initializer!;
      expect(new Float32Array(Uint8Array.from(w!.rawData!).buffer)).toEqual(WEIGHTS);
      expect(new Float32Array(Uint8Array.from(b!.rawData!).buffer)).toEqual(BIAS);
      expect(b!.externalData).toEqual([]);

      await writeWeightFile(dir, 'w.data', [[0, WEIGHTS]]);
      const short = await loadOnnxModel(modelPath);
      const error = await oneLineKilnError(inlineExternalData(short.model, modelPath));
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(
        /model\.onnx: tensor 'B' external data "w\.data": bytes 64\.\.80 are past its end \(64 bytes\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
