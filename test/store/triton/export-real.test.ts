import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../../src/core/io/npy-files.js';
import { bytesPerElement, elementCount } from '../../../src/core/tensor.js';
import type { ArtifactRecord } from '../../../src/store/artifact.js';
import { TRITON_DATA_TYPES } from '../../../src/store/triton/config.js';
import { exportTritonRepository } from '../../../src/store/triton/export.js';
import { FAST_BENCH, GENERATED, runKiln, workspace } from '../../helpers/kiln-cli.js';
import { parseTritonConfig } from '../../helpers/pbtxt-parse.js';
import { addToRelease, writeReleaseJson } from '../../helpers/triton-fixture.js';

const config = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 8], ids: [2, 4] }
    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`;

interface Tensor {
  name: string;
  data_type: string;
  dims: number[];
}
interface WarmupInput {
  data_type: string;
  dims: number[];
  input_data_file: string;
}
interface ParsedConfig {
  input: Tensor[];
  output: Tensor[];
  default_model_filename: string;
  model_warmup: { name: string; inputs: Record<string, WarmupInput> }[];
}

/** Copies file bytes into a fresh, aligned buffer: Buffers from readFile may share a pool. */
async function aligned(file: string): Promise<ArrayBuffer> {
  const bytes = await readFile(file);
  return new Uint8Array(bytes).buffer;
}

describe('Triton export of a real onnxruntime-cpu engine built by kiln build', () => {
  let artifactDir: string;
  let record: ArtifactRecord;
  let modelDir: string;
  let parsed: ParsedConfig;

  beforeAll(async () => {
    const dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    const build = await runKiln(['build', '--config', 'kiln.yaml'], dir);
    expect(build.stderr).toContain('two-head / b2 / fp32');
    expect(build.exitCode).toBe(0);
    const storeModel = path.join(dir, '.kiln', 'store', 'two-head');
    const [key] = (await readdir(storeModel)).filter((name) => !name.startsWith('.'));
    artifactDir = path.join(storeModel, key as string);
    record = JSON.parse(await readFile(path.join(artifactDir, 'artifact.json'), 'utf8')) as ArtifactRecord;
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-triton-real-'));
    const release = path.join(tmp, 'releases', 'two-head', '0.4.0');
    await writeReleaseJson(release, 'two-head', '0.4.0', [await addToRelease(release, artifactDir)]);
    const [model] = await exportTritonRepository({ release, repository: path.join(tmp, 'triton') });
    modelDir = model?.dir as string;
    expect(model).toMatchObject({ name: 'two-head_b2_fp32', version: 1, keys: [record.key] });
    parsed = parseTritonConfig(
      await readFile(path.join(modelDir, 'config.pbtxt'), 'utf8'),
    ) as unknown as ParsedConfig;
  });

  it('types every input and output as the golden tensors are', async () => {
    const sample = record.golden.samplesFiles[0]!;
    const expected = async (files: Record<string, string>) => {
      const tensors: Tensor[] = [];
      for (const [name, file] of Object.entries(files)) {
        const tensor = await readNpy(path.join(artifactDir, file));
        tensors.push({ name, data_type: TRITON_DATA_TYPES[tensor.dtype], dims: tensor.shape });
      }
      return tensors;
    };
    expect(parsed.input).toEqual(await expected(sample.inputs));
    expect(parsed.output).toEqual(await expected(sample.outputs));
    expect(parsed.input).toEqual([
      { name: 'x', data_type: 'TYPE_FP32', dims: [2, 8] },
      { name: 'ids', data_type: 'TYPE_INT64', dims: [2, 4] },
    ]);
    expect(parsed.output.map((o) => o.dims)).toEqual([
      [2, 4],
      [2, 1],
    ]);
  });

  it('writes one warmup file per golden input, element count × dtype size bytes long', async () => {
    expect(parsed.model_warmup.map((w) => w.name)).toEqual(['kiln-golden-0', 'kiln-golden-1']);
    for (const warmup of parsed.model_warmup) {
      for (const input of Object.values(warmup.inputs)) {
        const dtype = input.data_type === 'TYPE_INT64' ? 'int64' : 'float32';
        const { size } = await stat(path.join(modelDir, 'warmup', input.input_data_file));
        expect(size).toBe(elementCount(input.dims) * bytesPerElement(dtype));
      }
    }
  });

  it('model.ort is the engine: ONNX Runtime runs the warmup bytes to the golden outputs', async () => {
    expect(parsed.default_model_filename).toBe('model.ort');
    const session = await ort.InferenceSession.create(path.join(modelDir, '1', 'model.ort'), {
      intraOpNumThreads: 1,
    });
    try {
      for (const [i, warmup] of parsed.model_warmup.entries()) {
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, input] of Object.entries(warmup.inputs)) {
          const buffer = await aligned(path.join(modelDir, 'warmup', input.input_data_file));
          feeds[name] =
            input.data_type === 'TYPE_INT64'
              ? new ort.Tensor('int64', new BigInt64Array(buffer), input.dims)
              : new ort.Tensor('float32', new Float32Array(buffer), input.dims);
        }
        const outputs = await session.run(feeds);
        for (const [name, file] of Object.entries(record.golden.samplesFiles[i]!.outputs)) {
          const golden = await readNpy(path.join(artifactDir, file));
          const got = outputs[name]?.data as Float32Array;
          expect(got).toHaveLength(golden.data.length);
          const worst = Math.max(...Array.from(golden.data as Float32Array, (v, j) => Math.abs(v - got[j]!)));
          expect(worst).toBeLessThanOrEqual(1e-4);
        }
      }
    } finally {
      await session.release();
    }
  });
});
