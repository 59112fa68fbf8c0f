import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { allocateTensor } from '../../src/core/tensor.js';
import { FAST_BENCH, GENERATED, runKiln, storeFiles, workspace } from '../helpers/kiln-cli.js';

const TWO_HEAD = path.join(GENERATED, 'two-head.onnx');

function configFor(modelPath: string, extra = '', profile = '{ x: [2, 8], ids: [2, 4] }'): string {
  return `version: 1
models:
  - name: m
    path: ${modelPath}
    profiles:
      - name: b2
        shapes: ${profile}
${extra}${FAST_BENCH}`;
}

/** Exit 2, exactly one line on stderr that matches, and nothing in the store. */
async function expectRefused(dir: string, pattern: RegExp, args: string[] = ['build']): Promise<void> {
  const run = await runKiln(args, dir);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.exitCode).toBe(2);
  expect((await storeFiles(path.join(dir, '.kiln/store'))).filter((f) => !f.startsWith('.tmp'))).toEqual([]);
}

describe('kiln build refuses bad input with one line and exit 2, writing nothing', () => {
  it('a truncated .onnx', async () => {
    const dir = await workspace(configFor('model.onnx'), {
      'model.onnx': path.join(GENERATED, 'two-head.truncated.onnx'),
    });
    await expectRefused(dir, /^kiln: .*model\.onnx: not a valid ONNX model/);
  });

  it('a file of random bytes named .onnx', async () => {
    const dir = await workspace(configFor('model.onnx'), {
      'model.onnx': path.join(GENERATED, 'two-head.garbage.onnx'),
    });
    await expectRefused(dir, /model\.onnx: not a valid ONNX model/);
  });

  it('a model path that does not exist', async () => {
    const dir = await workspace(configFor('missing.onnx'));
    await expectRefused(dir, /missing\.onnx: .*not found/);
  });

  it('a model path that escapes the config folder', async () => {
    const dir = await workspace(configFor('../elsewhere/model.onnx'));
    await expectRefused(
      dir,
      /kiln\.yaml: models\[0\]\.path: found "\.\.\/elsewhere\/model\.onnx", expected a path that stays inside/,
    );
  });

  it('a config with an unknown key, naming its path, line and the allowed keys', async () => {
    const dir = await workspace(configFor('model.onnx', '    precision: [fp32]\n'), {
      'model.onnx': TWO_HEAD,
    });
    await expectRefused(
      dir,
      /kiln\.yaml:8: models\[0\]\.precision: found an unknown key, expected only name, path, manifest, profiles, precisions/,
    );
  });

  it('a config value of the wrong type', async () => {
    const dir = await workspace(configFor('model.onnx', '', '{ x: [2, "eight"], ids: [2, 4] }'), {
      'model.onnx': TWO_HEAD,
    });
    await expectRefused(dir, /models\[0\]\.profiles\[0\]\.shapes\.x\[1\]: found "eight", expected number/);
  });

  it('a profile shape with the wrong rank', async () => {
    const dir = await workspace(configFor('model.onnx', '', '{ x: [2, 8, 1], ids: [2, 4] }'), {
      'model.onnx': TWO_HEAD,
    });
    await expectRefused(
      dir,
      /models\[0\]\.profiles\[0\]\.shapes\.x: \[2,8,1\] has rank 3, model input 'x' has rank 2/,
    );
  });

  it('a profile shape that contradicts a fixed dim', async () => {
    const dir = await workspace(configFor('model.onnx', '', '{ x: [2, 9], ids: [2, 4] }'), {
      'model.onnx': TWO_HEAD,
    });
    await expectRefused(dir, /shapes\.x: dim 1 is 9 but the model fixes it to 8/);
  });

  it('a golden .npy whose shape does not match the profile', async () => {
    const dir = await workspace(configFor('model.onnx', '    golden: { inputs: golden }\n'), {
      'model.onnx': TWO_HEAD,
    });
    await writeNpy(path.join(dir, 'golden/b2/x.npy'), allocateTensor('float32', [3, 8]));
    await writeNpy(path.join(dir, 'golden/b2/ids.npy'), allocateTensor('int64', [2, 4]));
    await expectRefused(dir, /golden\/b2\/x\.npy: shape 3x8, expected 2x8 for model input 'x'/);
  });

  it('a golden .npy whose dtype does not match the model input', async () => {
    const dir = await workspace(configFor('model.onnx', '    golden: { inputs: golden }\n'), {
      'model.onnx': TWO_HEAD,
    });
    await writeNpy(path.join(dir, 'golden/b2/x.npy'), allocateTensor('float32', [2, 8]));
    await writeNpy(path.join(dir, 'golden/b2/ids.npy'), allocateTensor('int32', [2, 4]));
    await expectRefused(dir, /golden\/b2\/ids\.npy: dtype int32, expected int64 for model input 'ids'/);
  });

  it('a store directory that cannot be written (a file is in the way)', async () => {
    const dir = await workspace(configFor('model.onnx'), { 'model.onnx': TWO_HEAD });
    await mkdir(path.join(dir, '.kiln'), { recursive: true });
    await writeFile(path.join(dir, '.kiln/store'), 'not a folder');
    const run = await runKiln(['build'], dir);
    expect(run.stderr).toMatch(/^kiln: .*\.kiln\/store: store is not writable \(a file is in the way\)$/m);
    expect(run.exitCode).toBe(2);
  });

  it('a second build while another holds the store lock', async () => {
    const dir = await workspace(configFor('model.onnx'), { 'model.onnx': TWO_HEAD });
    await mkdir(path.join(dir, '.kiln/store'), { recursive: true });
    // This test process is alive, so its pid in the lock is a live owner, not a stale one.
    const owner = {
      pid: process.pid,
      host: os.hostname(),
      startedAt: new Date().toISOString(),
      command: 'kiln build',
    };
    await writeFile(path.join(dir, '.kiln/store/.lock'), JSON.stringify(owner));
    const run = await runKiln(['build'], dir);
    expect(run.stderr).toMatch(
      new RegExp(`store is locked by pid ${process.pid} on .*; wait for it to finish, or delete .*\\.lock`),
    );
    expect(run.exitCode).toBe(2);
    expect(await storeFiles(path.join(dir, '.kiln/store'))).toEqual(['.lock']);
  });

  it('a lock left by a crashed build is reclaimed', async () => {
    const dir = await workspace(configFor('model.onnx'), { 'model.onnx': TWO_HEAD });
    await mkdir(path.join(dir, '.kiln/store/.tmp/m-half-written'), { recursive: true });
    await writeFile(path.join(dir, '.kiln/store/.tmp/m-half-written/engine.ort'), 'partial');
    const dead = {
      pid: 2 ** 22 + 12345,
      host: os.hostname(),
      startedAt: '2026-01-01T00:00:00Z',
      command: 'kiln build',
    };
    await writeFile(path.join(dir, '.kiln/store/.lock'), JSON.stringify(dead));
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(0);
    const files = await storeFiles(path.join(dir, '.kiln/store'));
    expect(files.some((f) => f.startsWith('.tmp') || f === '.lock')).toBe(false);
    expect(files.filter((f) => f.endsWith('engine.ort'))).toHaveLength(1);
  });

  it('an unknown flag or command', async () => {
    const dir = await workspace(configFor('model.onnx'), { 'model.onnx': TWO_HEAD });
    await expectRefused(dir, /kiln build: unknown option '--fast'/, ['build', '--fast']);
    await expectRefused(dir, /unknown command 'bild'/, ['bild']);
    await expectRefused(dir, /--target gpu: no such target/, ['build', '--target', 'gpu']);
  });
});

describe('kiln build fails the golden gate with exit 1, naming the worst tensor', () => {
  it('a model whose output is NaN', async () => {
    const config = `version: 1
models:
  - name: nan
    path: nan.onnx
    profiles: [{ name: b1, shapes: { x: [1, 4] } }]
${FAST_BENCH}`;
    const dir = await workspace(config, { 'nan.onnx': path.join(GENERATED, 'nan.onnx') });
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /golden gate failed for 1 engine\(s\); first: nan\/b1\/fp32 on cpu: output 'y': 4 NaN in/,
    );
    expect((await storeFiles(path.join(dir, '.kiln/store'))).filter((f) => !f.startsWith('.'))).toEqual([]);
  });
});
