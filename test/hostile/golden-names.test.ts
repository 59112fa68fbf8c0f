import fc from 'fast-check';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { npyFileName } from '../../src/core/npy.js';
import { readNpy } from '../../src/core/io/npy-files.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import { runKiln, storeFiles, workspace } from '../helpers/kiln-cli.js';
import { twoHeadConfig } from './refusal.js';
import { identityModel } from './tiny-models.js';

describe('tensor name → .npy file name', () => {
  // A small alphabet of the characters a lossy mapping confuses finds collisions a random pair never
  // would; long strings of it reach the hashed form; binary strings cover everything else.
  const tricky = fc.constantFrom('a', 'b', '/', ':', '_', '%', '.', '~', '2', 'F', 'é', '\0');
  const anyName = fc.oneof(
    fc.string({ unit: tricky, maxLength: 8 }),
    fc.string({ unit: tricky, minLength: 50, maxLength: 120 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
  );

  it('is injective: distinct tensor names never share a file', () => {
    fc.assert(
      fc.property(anyName, anyName, (a, b) => {
        fc.pre(a !== b);
        expect(npyFileName(a)).not.toBe(npyFileName(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the names exporters actually collide on apart', () => {
    const names = ['a/b', 'a:b', 'a_b', 'a%2Fb', 'a.b', '.a', '%2Ea', '', '%', 'a~b', 'a%7Eb'];
    expect(new Set(names.map(npyFileName)).size).toBe(names.length);
    expect(['x', 'input.1', 'pixel_values', 'attention-mask'].map(npyFileName)).toEqual([
      'x.npy',
      'input.1.npy',
      'pixel_values.npy',
      'attention-mask.npy',
    ]);
  });

  it('always gives a safe file name: no separator, no NUL, not hidden, at most 255 bytes', () => {
    fc.assert(
      fc.property(anyName, (name) => {
        const file = npyFileName(name);
        expect(file).toMatch(/^[A-Za-z0-9_%~-][A-Za-z0-9._%~-]*\.npy$/);
        expect(file).not.toMatch(/[/\\\0]/);
        expect(Buffer.byteLength(file)).toBeLessThanOrEqual(255 - 'out-'.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('kiln build with outputs named a/b and a:b', () => {
  it('stores one golden file per output, each holding its own tensor', async () => {
    const config = twoHeadConfig().replace('{ x: [2, 8], ids: [2, 4] }', '{ x: [1, 4] }');
    const dir = await workspace(config);
    await writeFile(path.join(dir, 'model.onnx'), identityModel([1, 4], ['a/b', 'a:b', 'a_b']));
    const run = await runKiln(['build'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    const files = await storeFiles(path.join(dir, '.kiln/store'));
    const recordFile = files.find((f) => f.endsWith('artifact.json'))!;
    const artifactDir = path.join(dir, '.kiln/store', path.dirname(recordFile));
    const record = JSON.parse(
      await readFile(path.join(dir, '.kiln/store', recordFile), 'utf8'),
    ) as ArtifactRecord;
    const outputs = record.golden.samplesFiles[0]!.outputs;
    expect(Object.keys(outputs).sort()).toEqual(['a/b', 'a:b', 'a_b']);
    expect(new Set(Object.values(outputs)).size).toBe(3);
    const input = await readNpy(path.join(artifactDir, record.golden.samplesFiles[0]!.inputs.x!));
    for (const rel of Object.values(outputs)) {
      expect([...(await readNpy(path.join(artifactDir, rel))).data]).toEqual([...input.data]);
    }
  }, 60_000);
});
