import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { parseManifest } from '../../src/core/io/manifest-load.js';
import { parseNpy } from '../../src/core/npy.js';
import { toFloat64 } from '../../src/core/tensor.js';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';
import { DataType, node, tensorInfo, writeModel } from './model-files.js';

/**
 * ids int64 [N,4] (a 5-token vocabulary: Gather fails past id 4), mask int64 [N,4], sr int64 rank 0 →
 * emb = table[ids] [N,4,2], z = float(mask)·float(sr) [N,4].
 */
async function tokenModel(dir: string): Promise<void> {
  await writeModel(dir, 'tokens.onnx', {
    input: [
      tensorInfo('ids', DataType.INT64, ['N', 4]),
      tensorInfo('mask', DataType.INT64, ['N', 4]),
      tensorInfo('sr', DataType.INT64, []),
    ],
    output: [tensorInfo('emb', DataType.FLOAT, ['N', 4, 2]), tensorInfo('z', DataType.FLOAT, ['N', 4])],
    initializer: [
      { name: 'table', dims: [5, 2], dataType: DataType.FLOAT, floatData: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ],
    node: [
      node('Gather', ['table', 'ids'], ['emb']),
      node('Cast', ['mask'], ['mask_f'], DataType.FLOAT),
      node('Cast', ['sr'], ['sr_f'], DataType.FLOAT),
      node('Mul', ['mask_f', 'sr_f'], ['z']),
    ],
  });
}

const config = (manifest: string) => `version: 1
models:
  - name: tokens
    path: tokens.onnx
${manifest}    profiles: [{ name: b3, shapes: { ids: [3, 4], mask: [3, 4] } }]
    golden: { samples: 4 }
${FAST_BENCH}`;

const MANIFEST = `version: 1
inputs:
  ids: { dtype: int64, layout: sequence, range: [0, 4] }
  mask: { dtype: int64, layout: sequence, mask: true }
  sr: { dtype: int64, layout: scalar, values: [8000, 16000] }
`;

describe('synthetic golden inputs a model can run', () => {
  it('without a manifest, a reference run that fails on synthetic ids says to supply golden.inputs', async () => {
    const dir = await workspace(config(''));
    await tokenModel(dir);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      /run failed: .*\(on synthetic golden inputs: supply real ones with golden\.inputs/,
    );
    expect(lines.at(-1)).toContain('values, range or mask in the preprocessing manifest');
  });

  describe('with manifest values, range and mask', () => {
    let dir: string;
    let results: BuildResults;
    let first: { exitCode: number; stderr: string };

    beforeAll(async () => {
      dir = await workspace(config('    manifest: manifest.yaml\n'));
      await writeFile(path.join(dir, 'manifest.yaml'), MANIFEST);
      await tokenModel(dir);
      first = await runKiln(['build', '--json', 'out/r.json'], dir);
      results = JSON.parse(await readFile(path.join(dir, 'out/r.json'), 'utf8')) as BuildResults;
    });

    it('builds and passes the golden check on synthetic inputs', () => {
      expect(first.exitCode).toBe(0);
      expect(results.engines.map((e) => [e.golden.pass, e.golden.source, e.golden.samples])).toEqual([
        [true, 'synthetic', 4],
      ]);
    });

    it('draws sr from its values, ids inside the range and masks as 1…1 0…0 rows', async () => {
      const engineDir = path.dirname(results.engines[0]!.enginePath);
      const record = JSON.parse(await readFile(path.join(engineDir, 'artifact.json'), 'utf8')) as {
        golden: { samplesFiles: Array<{ inputs: Record<string, string> }> };
      };
      const read = async (file: string) =>
        toFloat64(parseNpy(await readFile(path.join(engineDir, file)), file));
      const rates = new Set<number>();
      for (const sample of record.golden.samplesFiles) {
        const sr = await read(sample.inputs.sr!);
        expect(sr).toHaveLength(1);
        rates.add(sr[0]!);
        for (const id of await read(sample.inputs.ids!)) expect([0, 1, 2, 3, 4]).toContain(id);
        const mask = [...(await read(sample.inputs.mask!))];
        for (let row = 0; row < 3; row++) {
          const r = mask.slice(row * 4, row * 4 + 4).join('');
          expect(r).toMatch(/^1+0*$/);
        }
      }
      expect([...rates].every((r) => r === 8000 || r === 16000)).toBe(true);
    });
  });
});

describe('manifest value specs refused in one line', () => {
  const error = (inputs: string) => {
    try {
      parseManifest(`version: 1\ninputs:\n  x: ${inputs}\n`, 'm.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };

  it('names what is missing, misplaced or not an integer', () => {
    expect(error('{ dtype: int64, layout: scalar }')).toBe(
      'm.yaml:3: inputs.x.range: found nothing (key missing), expected range: [min, max], values: [...] or mask: true',
    );
    expect(error('{ dtype: float32, layout: sequence, mask: true }')).toContain(
      'inputs.x.mask: found true, expected mask only on an integer or bool input, without range or values',
    );
    expect(error('{ dtype: int64, layout: scalar, values: [8000, 16000.5] }')).toContain(
      'inputs.x.values[1]: found 16000.5, expected an integer from -9007199254740991 to 9007199254740991 (the input is int64)',
    );
    expect(error('{ dtype: uint8, layout: sequence, values: [0, 300] }')).toContain(
      'inputs.x.values[1]: found 300, expected an integer from 0 to 255 (the input is uint8)',
    );
    expect(error('{ dtype: int64, layout: sequence, range: [0, 30521] }')).toBe('accepted');
    const many = Array.from({ length: 300_000 }, (_, i) => i).join(', ');
    const manifest = parseManifest(
      `version: 1\ninputs:\n  x: { dtype: int32, layout: sequence, values: [${many}] }\n`,
      'm.yaml',
    );
    expect(manifest.inputs.x!.range).toEqual({ min: 0, max: 299_999 });
  });
});
