import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import { sha256File } from '../../src/core/io/file-hashing.js';
import { FAST_BENCH, GENERATED, runKiln, storeFiles, workspace } from '../helpers/kiln-cli.js';

const config = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - name: b1
        shapes: { x: [1, 8], ids: [1, 4] }
      - name: b4
        shapes: { x: [4, 8], ids: [4, 4] }
    golden: { samples: 3, seed: 7 }
${FAST_BENCH}`;

describe('kiln build on a synthetic model (dynamic batch, int64 input, two outputs)', () => {
  let dir: string;
  let first: { exitCode: number; stderr: string };
  let results: BuildResults;

  beforeAll(async () => {
    dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    first = await runKiln(['build', '--json', 'out/results.json'], dir);
    results = JSON.parse(await readFile(path.join(dir, 'out/results.json'), 'utf8')) as BuildResults;
  });

  it('builds one engine per profile, golden-checks both outputs and measures latency', () => {
    expect(first.stderr).toContain('[1/2] two-head / b1 / fp32');
    expect(first.exitCode).toBe(0);
    expect(results.engines.map((e) => [e.profile, e.cache, e.golden.pass])).toEqual([
      ['b1', 'miss', true],
      ['b4', 'miss', true],
    ]);
    const b4 = results.engines[1]!;
    expect(b4.golden.outputs.map((o) => [o.output, o.shape])).toEqual([
      ['y', [4, 4]],
      ['z', [4, 1]],
    ]);
    expect(b4.golden.samples).toBe(3);
    expect(b4.latency.engine.n).toBeGreaterThanOrEqual(5);
    expect(b4.latency.reference?.n).toBeGreaterThanOrEqual(5);
    expect(b4.latency.engine.coldStart.createMs).toBeGreaterThan(0);
  });

  it('stores engine.ort and artifact.json whose sha256 matches, with the reference goldens', async () => {
    const b1 = results.engines[0]!;
    const record = JSON.parse(
      await readFile(path.join(path.dirname(b1.enginePath), 'artifact.json'), 'utf8'),
    ) as ArtifactRecord;
    expect(path.basename(b1.enginePath)).toBe('engine.ort');
    expect(record.engine.sha256).toBe(await sha256File(b1.enginePath));
    expect(record.key).toBe(b1.key);
    expect(record.tags.backend).toBe('onnxruntime-cpu');
    expect(record.tags.hardware).toMatchObject({ kind: 'cpu' });
    expect(record.golden.samplesFiles).toHaveLength(3);
    expect(Object.keys(record.golden.samplesFiles[0]!.outputs)).toEqual(['y', 'z']);
    const files = await storeFiles(path.join(dir, '.kiln/store'));
    expect(files.filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('pins every dynamic dim: the engine refuses any other batch size', async () => {
    const b4 = results.engines[1]!;
    const session = await ort.InferenceSession.create(b4.enginePath);
    expect(session.inputMetadata.map((m) => (m.isTensor ? m.shape : []))).toEqual([
      [4, 8],
      [4, 4],
    ]);
    const feeds = {
      x: new ort.Tensor('float32', new Float32Array(16), [2, 8]),
      ids: new ort.Tensor('int64', new BigInt64Array(8), [2, 4]),
    };
    await expect(session.run(feeds)).rejects.toThrow(/dimensions/i);
    await session.release();
  });

  it('a second build with nothing changed is a cache hit for every engine', async () => {
    const second = await runKiln(['build', '--json', 'out/second.json'], dir);
    expect(second.exitCode).toBe(0);
    expect(second.stderr).not.toContain('compile ');
    expect(second.stderr).toContain('2 cache hits, 0 built');
    const again = JSON.parse(await readFile(path.join(dir, 'out/second.json'), 'utf8')) as BuildResults;
    expect(again.engines.map((e) => [e.key, e.cache])).toEqual(results.engines.map((e) => [e.key, 'hit']));
  });

  it('a tampered engine in the store is refused and rebuilt, never served', async () => {
    const b1 = results.engines[0]!;
    const bytes = await readFile(b1.enginePath);
    bytes[bytes.length - 100] ^= 0xff;
    await writeFile(b1.enginePath, bytes);
    const run = await runKiln(['build', '--model', 'two-head'], dir);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(
      /cache entry refused \(engine sha256 \w+ differs from artifact\.json's \w+\); rebuilding/,
    );
    expect(run.stderr).toContain('1 cache hits, 1 built');
  });

  it('changing the golden tolerance re-checks the cached engine without recompiling', async () => {
    const edited = config.replace(
      'golden: { samples: 3, seed: 7 }',
      'golden: { samples: 3, seed: 7, tolerance: { atol: 1e-3, rtol: 1e-3 } }',
    );
    await writeFile(path.join(dir, 'kiln.yaml'), edited);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain('golden inputs or tolerances changed: re-checking');
    expect(run.stderr).not.toMatch(/compile\s+onnxruntime-cpu/);
    await writeFile(path.join(dir, 'kiln.yaml'), config);
  });

  it('kiln report renders the results as a Markdown table', async () => {
    const report = await runKiln(['report', 'out/results.json'], dir);
    expect(report.exitCode).toBe(0);
    expect(report.stdout).toContain('### two-head');
    expect(report.stdout).toMatch(/\| cpu \| b4 \| fp32 \| ✅ pass/);
  });
});
