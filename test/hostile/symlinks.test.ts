import { execa } from 'execa';
import { link, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { allocateTensor } from '../../src/core/tensor.js';
import { GENERATED, runKiln, storeFiles, workspace } from '../helpers/kiln-cli.js';
import { expectRefused, secretFile, twoHeadConfig } from './refusal.js';

const TWO_HEAD = path.join(GENERATED, 'two-head.onnx');
const GOLDEN = '    golden: { inputs: golden }\n';

/** A workspace with the two-head model and valid golden inputs for profile b2 in `golden/b2/0`. */
async function goldenWorkspace(config = twoHeadConfig(GOLDEN)): Promise<string> {
  const dir = await workspace(config, { 'model.onnx': TWO_HEAD });
  await writeNpy(path.join(dir, 'golden', 'b2', '0', 'x.npy'), allocateTensor('float32', [2, 8]));
  await writeNpy(path.join(dir, 'golden', 'b2', '0', 'ids.npy'), allocateTensor('int64', [2, 4]));
  return dir;
}

describe('kiln reads nothing outside the repository through links in data folders', () => {
  it('a golden .npy symlinked to a secret outside: one line naming the file, no byte of the secret', async () => {
    const dir = await goldenWorkspace();
    const x = path.join(dir, 'golden', 'b2', '0', 'x.npy');
    await execa('rm', [x]);
    await symlink(await secretFile(), x);
    await expectRefused(dir, /golden\/b2\/0\/x\.npy: is a symlink in golden inputs .*follows no links/);
  });

  it('a golden sample folder symlinked to a folder outside', async () => {
    const dir = await goldenWorkspace();
    const outside = await mkdtemp(path.join(os.tmpdir(), 'kiln-outside-'));
    await writeNpy(path.join(outside, 'x.npy'), allocateTensor('float32', [2, 8]));
    await writeNpy(path.join(outside, 'ids.npy'), allocateTensor('int64', [2, 4]));
    await symlink(outside, path.join(dir, 'golden', 'b2', '1'));
    await expectRefused(dir, /golden\/b2\/1: is a symlink in golden inputs/);
  });

  it('a golden profile folder symlinked outside is refused on the files read through it', async () => {
    const dir = await workspace(twoHeadConfig(GOLDEN), { 'model.onnx': TWO_HEAD });
    const outside = await mkdtemp(path.join(os.tmpdir(), 'kiln-outside-'));
    await writeNpy(path.join(outside, 'x.npy'), allocateTensor('float32', [2, 8]));
    await writeNpy(path.join(outside, 'ids.npy'), allocateTensor('int64', [2, 4]));
    await mkdir(path.join(dir, 'golden'));
    await symlink(outside, path.join(dir, 'golden', 'b2'));
    await expectRefused(dir, /golden\/b2\/x\.npy: cannot read \.npy file \(resolves to .*, outside /);
  });

  it('a symlink that stays inside a data folder is refused too (no links at all in data folders)', async () => {
    const dir = await goldenWorkspace();
    await writeNpy(path.join(dir, 'spare', 'x.npy'), allocateTensor('float32', [2, 8]));
    const x = path.join(dir, 'golden', 'b2', '0', 'x.npy');
    await execa('rm', [x]);
    await symlink(path.join('..', '..', '..', 'spare', 'x.npy'), x);
    await expectRefused(dir, /golden\/b2\/0\/x\.npy: is a symlink in golden inputs/);
  });

  it('a FIFO among the golden inputs is refused without blocking', async () => {
    const dir = await goldenWorkspace();
    const x = path.join(dir, 'golden', 'b2', '0', 'x.npy');
    await execa('rm', [x]);
    await execa('mkfifo', [x]);
    await expectRefused(dir, /golden\/b2\/0\/x\.npy: is a FIFO in golden inputs/);
  });

  it('int8 calibration samples linked to /dev/zero are refused at once, not streamed into memory', async () => {
    const config = twoHeadConfig('    precisions: [int8]\n    calibration: { data: calib }\n');
    const dir = await workspace(config, { 'model.onnx': TWO_HEAD });
    for (let i = 0; i < 3; i++) {
      await mkdir(path.join(dir, 'calib', `s${i}`), { recursive: true });
      await symlink('/dev/zero', path.join(dir, 'calib', `s${i}`, 'x.npy'));
      await writeNpy(path.join(dir, 'calib', `s${i}`, 'ids.npy'), allocateTensor('int64', [2, 4]));
    }
    await expectRefused(dir, /calib\/s0\/x\.npy: is a symlink in calibration data/);
  });

  it('a model path that is a FIFO inside the repository is refused without blocking', async () => {
    const dir = await workspace(twoHeadConfig());
    await execa('mkfifo', [path.join(dir, 'model.onnx')]);
    await expectRefused(dir, /model\.onnx: cannot read model file \(is a FIFO, expected a regular file\)/);
  });

  it('a kiln.yaml symlinked to a secret outside is refused without quoting it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-it-'));
    await symlink(await secretFile(), path.join(dir, 'kiln.yaml'));
    await expectRefused(dir, /kiln\.yaml: cannot read config \(resolves to .*shadow, outside /);
  });

  it('a hard link is an ordinary file: its bytes are the repository’s own (git cannot carry one outside)', async () => {
    const dir = await goldenWorkspace();
    const spare = path.join(dir, 'spare.npy');
    await writeNpy(spare, allocateTensor('float32', [2, 8]));
    const x = path.join(dir, 'golden', 'b2', '0', 'x.npy');
    await execa('rm', [x]);
    await link(spare, x);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(0);
    expect((await storeFiles(path.join(dir, '.kiln/store'))).some((f) => f.endsWith('artifact.json'))).toBe(
      true,
    );
  });

  it('a manifest that is a directory is one line', async () => {
    const dir = await workspace(twoHeadConfig('    manifest: m.yaml\n'), { 'model.onnx': TWO_HEAD });
    await mkdir(path.join(dir, 'm.yaml'));
    await writeFile(path.join(dir, 'm.yaml', 'x'), 'x');
    await expectRefused(dir, /m\.yaml: cannot read manifest \(is a directory\)/);
  });
});
