import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadConfig } from '../../src/core/io/config-load.js';
import { InputError } from '../../src/core/errors.js';
import { TensorRtBackend } from '../../src/backends/tensorrt/tensorrt.js';
import { execaRunner, type CommandRunner } from '../../src/backends/host/command-runner.js';
import { buildTarget } from '../../src/pipeline/build-target.js';
import { silentProgress } from '../../src/pipeline/progress.js';
import { FAST_BENCH, GENERATED, storeFiles, workspace } from '../helpers/kiln-cli.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'trtexec');

it('trtexec running out of memory mid-build fails the build in one line and stores nothing', async () => {
  const config = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles: [{ name: b1, shapes: { x: [1, 8], ids: [1, 4] } }]
targets:
  - { name: a10g, runs-on: [self-hosted, gpu], backend: tensorrt }
${FAST_BENCH}`;
  const dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const oom = await readFile(path.join(fixtures, 'error-oom-trt10.3.log'), 'utf8');
  // The recorded log of a real out-of-memory build, after trtexec left a partial plan on disk.
  const runner: CommandRunner = {
    run: async (_file, args) => {
      const plan = args.find((a) => a.startsWith('--saveEngine='))?.slice('--saveEngine='.length);
      if (plan) await writeFile(plan, 'PARTIAL');
      return {
        exitCode: 1,
        stdout: `${oom}\n&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec`,
        stderr: '',
      };
    },
  };
  const backend = new TensorRtBackend({
    runner,
    fingerprint: async () => ({
      name: 'NVIDIA A10G',
      computeCapability: '8.6',
      driverMajor: 550,
      cuda: '12.4',
      tensorrt: '10.3.0',
    }),
    timingCacheDir: path.join(dir, 'cache'),
    workDir: path.join(dir, 'work'),
  });
  const loaded = await loadConfig(path.join(dir, 'kiln.yaml'));
  const error = await buildTarget({
    config: loaded,
    target: loaded.targets[0]!,
    backend,
    models: [],
    progress: silentProgress,
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InputError);
  expect((error as Error).message).toMatch(/TensorRT could not build profile 'b1' \(fp32\): .*out of memory/);
  expect((await storeFiles(loaded.storeDir)).filter((f) => !f.startsWith('.tmp') && f !== '.lock')).toEqual(
    [],
  );
});

it('a hanging nvidia-smi is cut off and reads as a failure, not as "no GPUs"', async () => {
  const result = await execaRunner({ timeoutMs: 300 }).run('sleep', ['5']);
  expect(result).toMatchObject({ exitCode: 124 });
});
