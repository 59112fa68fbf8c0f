import { readFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/hashing.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { tensorStats } from '../../src/core/tensor-stats.js';
import { GENERATED, runKiln } from '../helpers/kiln-cli.js';

const MANIFEST = `version: 1
inputs:
  x:
    dtype: float32
    layout: NC
    steps: [{ scale: 1/255 }]
    range: { min: 0, max: 1 }
`;

function vector(seed: number, scale = 1, n = 8): HostTensor {
  const rng = new SeededRandom(seed);
  return {
    dtype: 'float32',
    shape: [1, n],
    data: new Float32Array(n).map(() => Math.min(1, Math.max(0, 0.5 + 0.2 * rng.normal())) * scale),
  };
}

function ids(seed: number): HostTensor {
  const rng = new SeededRandom(seed);
  return {
    dtype: 'int64',
    shape: [1, 4],
    data: BigInt64Array.from({ length: 4 }, () => BigInt(Math.floor(rng.nextFloat() * 10))),
  };
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-skew-drift-'));
  await writeFile(path.join(dir, 'm.yaml'), MANIFEST);
  await writeFile(path.join(dir, 'bad.yaml'), MANIFEST.replace('layout: NC', 'layout: NCW'));
  for (let i = 0; i < 20; i++) {
    // Flat folders of one file per sample (a one-input manifest), and sample subfolders for drift.
    await writeNpy(path.join(dir, 'good', `sample-${i}.npy`), vector(i));
    await writeNpy(path.join(dir, 'bytes', `sample-${i}.npy`), vector(i, 255));
    for (const [name, shift] of [
      ['serving', 0],
      ['shifted', 0.5],
    ] as const) {
      const x = vector(100 + i);
      (x.data as Float32Array).forEach((v, k, a) => (a[k] = v + shift));
      await writeNpy(path.join(dir, name, `s${i}`, 'x.npy'), x);
      await writeNpy(path.join(dir, name, `s${i}`, 'ids.npy'), ids(100 + i));
    }
  }
  await writeNpy(path.join(dir, 'f64', 'a.npy'), {
    dtype: 'float64',
    shape: [1, 8],
    data: new Float64Array(8),
  });
  await mkdir(path.join(dir, 'empty'));
  // The artifact a build would have stored: calibration statistics of 200 samples.
  const calibration = Array.from({ length: 200 }, (_, i) => ({ x: vector(1000 + i), ids: ids(1000 + i) }));
  const model = await readFile(path.join(GENERATED, 'two-head.onnx'));
  const artifact = (activationRange: [number, number]) => ({
    schema: 'kiln.artifact/v1',
    keyInputs: { model: sha256(model) },
    calibration: {
      dataSha256: 'f'.repeat(64),
      method: 'minmax',
      inputs: {
        x: tensorStats(calibration.map((s) => s.x)),
        ids: tensorStats(calibration.map((s) => s.ids)),
      },
      activations: { xwb: { min: activationRange[0], max: activationRange[1], scale: 0.01, zeroPoint: 0 } },
    },
  });
  await mkdir(path.join(dir, 'wide'));
  await writeFile(path.join(dir, 'wide', 'artifact.json'), JSON.stringify(artifact([-100, 100])));
  await writeFile(path.join(dir, 'narrow.json'), JSON.stringify(artifact([-0.05, 0.05])));
  await writeFile(path.join(dir, 'fp32.json'), JSON.stringify({ schema: 'kiln.artifact/v1', keyInputs: {} }));
});

describe('kiln skew', () => {
  it('exit 0 for samples that match the manifest', async () => {
    const run = await runKiln(['skew', '--manifest', 'm.yaml', '--inputs', 'good'], dir);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(
      /^x: 20 sample\(s\), values in \[0(\.\d+)?, (1|0\.\d+)\] mean 0\.\d+, manifest \[0, 1\]: ok$/,
    );
  });

  it('exit 1 naming input, ranges and the missing step', async () => {
    const run = await runKiln(['skew', '--manifest', 'm.yaml', '--inputs', 'bytes', '--json'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^kiln: skew: input 'x': values in \[\d+(\.\d+)?, \d+\] \(mean \d+\) \(0–255 data\), expected \[0, 1\]; likely missing step: scale 1\/255$/,
    );
    expect(JSON.parse(run.stdout)).toMatchObject({
      verdict: 'skew',
      samples: 20,
      findings: [{ kind: 'scale-missing' }],
    });
  });

  it('exit 2 for samples of the wrong dtype (named by file), an empty folder, a bad manifest', async () => {
    const f64 = await runKiln(['skew', '--manifest', 'm.yaml', '--inputs', 'f64'], dir);
    expect(f64.exitCode).toBe(2);
    expect(f64.stderr).toBe(
      `kiln: ${path.join('f64', 'a.npy')}: dtype float64, expected float32 for input 'x' (m.yaml)`,
    );
    const empty = await runKiln(['skew', '--manifest', 'm.yaml', '--inputs', 'empty'], dir);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toBe('kiln: empty: no .npy files, expected <sample>/<input>.npy folders or x.npy');
    const bad = await runKiln(['skew', '--manifest', 'bad.yaml', '--inputs', 'good'], dir);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe(
      'kiln: bad.yaml:5: inputs.x.layout: found "NCW", expected one of "NCHW" | "NHWC" | "NC" | "sequence" | "scalar"',
    );
    const missing = await runKiln(['skew', '--inputs', 'good'], dir);
    expect(missing.exitCode).toBe(2);
  });
});

describe('kiln drift', () => {
  const model = () => path.join(GENERATED, 'two-head.onnx');

  it('exit 0 when serving data matches calibration and no activation clips', async () => {
    const run = await runKiln(
      ['drift', '--artifact', 'wide', '--inputs', 'serving', '--model', model(), '--json'],
      dir,
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const report = JSON.parse(run.stdout) as {
      pass: boolean;
      inputs: Array<{ input: string; psi: number }>;
      activations: Array<{ share: number }>;
    };
    expect(report.pass).toBe(true);
    expect(report.inputs.map((d) => d.input)).toEqual(['x', 'ids']);
    expect(report.activations).toEqual([expect.objectContaining({ activation: 'xwb', share: 0, total: 80 })]);
  });

  it('exit 1 naming the drifted input', async () => {
    const run = await runKiln(
      ['drift', '--artifact', 'wide/artifact.json', '--inputs', 'shifted', '--model', model()],
      dir,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^kiln: drift: input 'x' (PSI|KS) [\d.]+ > 0\.(25|2) \(serving \[.*\], calibration \[.*\], [\d.]+% outside\)$/,
    );
  });

  it('exit 1 naming the clipping activation; thresholds are flags', async () => {
    const run = await runKiln(
      ['drift', '--artifact', 'narrow.json', '--inputs', 'serving', '--model', model()],
      dir,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /^kiln: drift: activation 'xwb' clips [\d.]+% of values > 1% \(calibrated \[-0\.05, 0\.05\], serving \[.*\]\)$/,
    );
    const loose = await runKiln(
      ['drift', '--artifact', 'narrow.json', '--inputs', 'serving', '--model', model(), '--clip-max', '1'],
      dir,
    );
    expect(loose.exitCode).toBe(0);
  });

  it('without --model says the clipping gate did not run', async () => {
    const run = await runKiln(['drift', '--artifact', 'narrow.json', '--inputs', 'serving'], dir);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/^kiln: note: activation clipping not measured: pass --model PATH/);
  });

  it("exit 2 for a model whose sha256 is not the artifact's, an artifact without calibration, bad flags", async () => {
    const wrong = await runKiln(
      ['drift', '--artifact', 'wide', '--inputs', 'serving', '--model', path.join(GENERATED, 'nan.onnx')],
      dir,
    );
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(
      /^kiln: --model .*nan\.onnx: sha256 [0-9a-f]{12}… is not the model this artifact was built from \(keyInputs\.model [0-9a-f]{12}…, wide\/artifact\.json\)$/,
    );
    const fp32 = await runKiln(['drift', '--artifact', 'fp32.json', '--inputs', 'serving'], dir);
    expect(fp32.exitCode).toBe(2);
    expect(fp32.stderr).toBe(
      'kiln: fp32.json: calibration: no calibration statistics (an artifact built without calibration data)',
    );
    const flag = await runKiln(
      ['drift', '--artifact', 'wide', '--inputs', 'serving', '--psi-max', 'high'],
      dir,
    );
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toBe('kiln: --psi-max high: expected a number >= 0');
  });
});
