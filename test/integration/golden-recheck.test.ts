import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/core/io/npy-files.js';
import type { BuildResults } from '../../src/core/results.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import { GENERATED, runKiln, workspace, TWO_HEAD_B1_CONFIG } from '../helpers/kiln-cli.js';

const config = TWO_HEAD_B1_CONFIG;

// Golden inputs the cached engine cannot pass: NaN never agrees with anything, so the re-check of
// the engine built (and passed) on the seeded inputs fails whatever the engine computes.
const failingGolden = config.replace('golden: { samples: 2, seed: 3 }', 'golden: { inputs: golden }');

describe('a golden re-check of a cached engine records its verdict, and publish obeys it', () => {
  let dir: string;
  let artifactJson: string;
  const record = async () => JSON.parse(await readFile(artifactJson, 'utf8')) as ArtifactRecord;

  beforeAll(async () => {
    dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    const built = await runKiln(['build', '--json', 'passed.json'], dir);
    expect(built.exitCode, built.stderr).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'passed.json'), 'utf8')) as BuildResults;
    artifactJson = path.join(path.dirname(results.engines[0]!.enginePath), 'artifact.json');
    await writeNpy(path.join(dir, 'golden', 'b1', 'x.npy'), {
      dtype: 'float32',
      shape: [1, 8],
      data: new Float32Array(8).fill(Number.NaN),
    });
    await writeNpy(path.join(dir, 'golden', 'b1', 'ids.npy'), {
      dtype: 'int64',
      shape: [1, 4],
      data: BigInt64Array.of(1n, 2n, 3n, 4n),
    });
  });

  it('a failed re-check exits 1 and writes golden.pass false with recheckedAt into artifact.json', async () => {
    const before = await record();
    expect(before.golden.pass).toBe(true);
    await writeFile(path.join(dir, 'kiln.yaml'), failingGolden);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('golden inputs or tolerances changed: re-checking');
    expect(run.stderr).not.toMatch(/compile\s+onnxruntime-cpu/);
    const after = await record();
    expect(after.golden.pass).toBe(false);
    expect(after.golden.failure).toMatch(/NaN/);
    expect(Date.parse(after.golden.recheckedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(before.createdAt));
    expect(after.golden.specSha256).not.toBe(before.golden.specSha256);
    // Same engine, same key: only the verdict changed.
    expect([after.key, after.engine.sha256]).toEqual([before.key, before.engine.sha256]);
  });

  it('the next build with the same spec reuses the failed verdict and still exits 1', async () => {
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('compile/golden/bench skipped');
  });

  it('kiln publish without --results refuses the engine in one line, exit 1, nothing written', async () => {
    const run = await runKiln(['publish', '--version', '1.0.0'], dir);
    expect(run.exitCode).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^kiln: refusing to publish: two-head\/b1\/fp32 on cpu \(\w{12}\) failed its golden re-check of \S+ \(output '\w+': .*NaN.*\); nothing was published$/,
    );
    expect(await readdir(path.join(dir, '.kiln', 'releases')).catch(() => [])).toEqual([]);
  });

  it('kiln publish with the earlier, passing results is refused too: the store holds the latest verdict', async () => {
    const run = await runKiln(['publish', '--version', '1.0.0', '--results', 'passed.json'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('failed its golden re-check');
  });

  it('restoring the passing golden spec re-checks again, records the pass, and publish goes through', async () => {
    await writeFile(path.join(dir, 'kiln.yaml'), config);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('re-checking');
    expect((await record()).golden.pass).toBe(true);
    const published = await runKiln(['publish', '--version', '1.0.0'], dir);
    expect(published.exitCode, published.stderr).toBe(0);
    expect(published.stderr).toContain('two-head@1.0.0: published, 1 engines');
  });
});
