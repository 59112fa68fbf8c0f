import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from '../helpers/kiln-cli.js';
import { writeFakeRelease } from '../helpers/triton-fixture.js';

// `kiln triton` on a release holding one TensorRT plan built with TensorRT 10.3.0 (Triton 24.08's).
let tmp: string;
let release: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-triton-cli-'));
  release = path.join(tmp, 'releases', 'det', '1.0.0');
  const x = { dtype: 'float32' as const, shape: [1, 4], data: new Float32Array(4) };
  await writeFakeRelease(release, '1.0.0', [
    {
      model: 'det',
      key: 'c'.repeat(64),
      profile: 'b1',
      precision: 'fp16',
      backend: 'tensorrt',
      hardware: { kind: 'gpu', computeCapability: '8.6', tensorrt: '10.3.0' },
      profileShapes: { shapes: { x: [1, 4] } },
      engineFile: 'engine.plan',
      engineBytes: new TextEncoder().encode('plan'),
      samples: [{ inputs: { x }, outputs: { y: x } }],
    },
  ]);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('kiln triton --triton-release', () => {
  it.each([
    [
      [],
      /^kiln: .*release\.json: engine c{64} is a TensorRT plan, .*--triton-release, e\.g\. "25\.01"\) so kiln can check$/,
    ],
    [
      ['--triton-release', '25.01'],
      /engine c{64} cannot be served by Triton 25\.01 \(TensorRT 10\.8\.0\.43\): it was built with TensorRT 10\.3\.0/,
    ],
    [
      ['--triton-release', '25'],
      /^kiln: --triton-release 25: expected a Triton container release like 25\.01$/,
    ],
  ])('%j: exit 2, one line, nothing written', async (flags, message) => {
    const out = path.join(tmp, 'refused');
    const run = await runKiln(['triton', release, '--out', out, ...flags], tmp);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('exports the plan for the release whose TensorRT built it', async () => {
    const out = path.join(tmp, 'served');
    const run = await runKiln(['triton', release, '--out', out, '--triton-release', '24.08'], tmp);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(await readdir(path.join(out, 'det_b1_fp16', '1'))).toEqual(['model.plan']);
  });
});
