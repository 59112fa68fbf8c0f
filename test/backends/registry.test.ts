import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { detectOrtGpuLibrary } from '../../src/backends/onnxruntime/onnxruntime-gpu.js';
import { InputError } from '../../src/core/errors.js';
import { backendAvailability, canRunHere, createBackend } from '../../src/backends/registry.js';

// A host with no trtexec on PATH (PATH is emptied, so this holds on GPU runners too).
describe('backend registry on a host without GPU tools', () => {
  beforeEach(() => {
    vi.stubEnv('PATH', '');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('creates the embedded CPU backend', async () => {
    expect((await createBackend('onnxruntime-cpu', 'kiln.yaml: targets[0].backend')).name).toBe(
      'onnxruntime-cpu',
    );
    expect(canRunHere('onnxruntime-cpu')).toBe(true);
  });

  // onnxruntime-gpu follows the provider libraries beside the binding, not PATH: only where absent.
  const noOrtGpu = !detectOrtGpuLibrary('cuda').available && !detectOrtGpuLibrary('tensorrt').available;
  it.each([
    ['tensorrt', 'trtexec not on PATH'],
    ...(noOrtGpu ? [['onnxruntime-gpu', 'onnxruntime-node has no CUDA EP']] : []),
  ])('%s: one-line InputError naming what is missing', async (name, missing) => {
    expect(canRunHere(name)).toBe(false);
    const availability = backendAvailability(name);
    expect(availability).toEqual({ available: false, reason: expect.stringContaining(missing) });
    let error: unknown;
    try {
      await createBackend(name, 'kiln.yaml: targets[1].backend');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^kiln\\.yaml: targets\\[1\\]\\.backend: backend '${name}' cannot run on this host: .*${missing}.*\\(run 'kiln-agent doctor' to see what is missing\\)$`,
      ),
    );
    expect(message).not.toContain('\n');
  });

  it('unknown names are refused, not crashed on', async () => {
    expect(canRunHere('nope')).toBe(false);
    // tvm was once half-wired (tvmc command lines, no runtime); it is no backend now.
    expect(canRunHere('tvm')).toBe(false);
    await expect(createBackend('tvm', 'x')).rejects.toThrow(
      /backend 'tvm' cannot run on this host: no such backend/,
    );
    await expect(createBackend('nope', 'x')).rejects.toThrow(
      /backend 'nope' cannot run on this host: no such backend/,
    );
  });

  it('detection is cheap', () => {
    const started = performance.now();
    for (let i = 0; i < 20; i++) for (const n of ['tensorrt', 'onnxruntime-gpu']) canRunHere(n);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
