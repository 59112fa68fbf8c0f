import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOnnxModel } from '../../src/backends/model/onnx-model.js';
import { locationProblem } from '../../src/backends/model/external-data-check.js';
import { workspace } from '../helpers/kiln-cli.js';
import { oneLineKilnError } from '../helpers/one-line-error.js';
import { expectRefused, secretFile, twoHeadConfig } from './refusal.js';
import { externalDataModel } from './tiny-models.js';

const CONFIG = twoHeadConfig().replace('{ x: [2, 8], ids: [2, 4] }', '{ x: [1, 4] }');

async function modelWith(location: string): Promise<string> {
  const dir = await workspace(CONFIG);
  await writeFile(path.join(dir, 'model.onnx'), externalDataModel(location));
  return dir;
}

describe('external-data locations stay inside the model folder (CVE-2022-25882, CVE-2024-27318)', () => {
  it('refuses ../../etc/passwd through the CLI in one line naming tensor and location', async () => {
    const dir = await modelWith('../../etc/passwd');
    await expectRefused(
      dir,
      /model\.onnx: tensor 'W' external data location "\.\.\/\.\.\/etc\/passwd" climbs out with '\.\.', expected a relative path inside /,
    );
  });

  it('refuses an absolute location', async () => {
    const dir = await modelWith('/etc/passwd');
    await expectRefused(dir, /tensor 'W' external data location "\/etc\/passwd" is absolute/);
  });

  it('refuses a relative location that is a symlink to a file outside', async () => {
    const dir = await modelWith('w.bin');
    await symlink(await secretFile(), path.join(dir, 'w.bin'));
    await expectRefused(dir, /tensor 'W' external data location "w\.bin": .*resolves to .*shadow, outside /);
  });

  it('accepts a plain file beside the model (building it is issue 14)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-ext-'));
    await writeFile(path.join(dir, 'model.onnx'), externalDataModel('weights/w.bin'));
    await expect(loadOnnxModel(path.join(dir, 'model.onnx'))).rejects.toThrow(
      /weights\/w\.bin.*file not found/,
    );
    const error = await oneLineKilnError(loadOnnxModel(path.join(dir, 'model.onnx')));
    expect(error.exitCode).toBe(2);
    await mkdir(path.join(dir, 'weights'));
    await writeFile(path.join(dir, 'weights', 'w.bin'), new Uint8Array(16));
    await expect(loadOnnxModel(path.join(dir, 'model.onnx'))).resolves.toHaveProperty('model');
  });

  it('classifies every traversal spelling', () => {
    expect(
      ['', 'a\0b', '/x', 'C:\\x', '\\\\server\\x', '..', 'a/../../x', 'a\\..\\x', 'w.bin', 'a/b..c'].map(
        locationProblem,
      ),
    ).toEqual([
      'is empty',
      'contains a NUL byte',
      'is absolute',
      'is absolute',
      'is absolute',
      "climbs out with '..'",
      "climbs out with '..'",
      "climbs out with '..'",
      undefined,
      undefined,
    ]);
  });
});
