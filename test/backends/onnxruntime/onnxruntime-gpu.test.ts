import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  detectOrtGpuLibrary,
  OnnxRuntimeGpuBackend,
  ortBindingDir,
  providerLibraryName,
  ortGpuEpOptions,
} from '../../../src/backends/onnxruntime/onnxruntime-gpu.js';
import { probeOrtGpu, tinyProbeModel } from '../../../src/backends/onnxruntime/ort-gpu-probe.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-ortgpu-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('detecting the GPU execution providers (for real, on this machine)', () => {
  it('finds onnxruntime-node’s binding folder', () => {
    const dir = ortBindingDir();
    expect(dir).toBeDefined();
    expect(dir).toContain(path.join('onnxruntime-node', 'bin'));
  });

  it('the probe model runs on the CPU provider', async () => {
    const session = await ort.InferenceSession.create(tinyProbeModel());
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([2.5]), [1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2.5]);
    await session.release();
  });

  // onnxruntime-node's CPU build ships no CUDA/TensorRT provider library; a GPU runner's install may.
  // What the probe must say follows from what is on disk, so this holds on either kind of host.
  it.each(['cuda', 'tensorrt'] as const)('%s: the probe agrees with the library check', async (provider) => {
    const lib = detectOrtGpuLibrary(provider);
    const probe = await probeOrtGpu(provider);
    if (!lib.available) {
      expect(lib.reason).toContain(
        `has no ${provider === 'cuda' ? 'CUDA' : 'TensorRT'} EP (${providerLibraryName(provider)}`,
      );
      expect(probe.available).toBe(false);
    }
    // With the library present the probe may still fail (no GPU, no CUDA runtime): then one line.
    if (!probe.available) {
      expect(probe.reason).toMatch(new RegExp(`^onnxruntime-node [\\d.]+ has no usable ${provider} EP: .+`));
      expect(probe.reason).not.toContain('\n');
    }
  });

  it('a provider library next to the binding counts as present', async () => {
    const dir = path.join(tmp, 'binding');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, providerLibraryName('cuda')), '');
    expect(detectOrtGpuLibrary('cuda', dir)).toEqual({ available: true });
    expect(detectOrtGpuLibrary('tensorrt', dir).available).toBe(false);
    expect(providerLibraryName('tensorrt', 'win32')).toBe('onnxruntime_providers_tensorrt.dll');
  });
});

describe('EP options: only what the binding honours', () => {
  it('passes the device id and nothing the binding would drop', () => {
    expect(ortGpuEpOptions('tensorrt')).toEqual({ name: 'tensorrt', deviceId: 0 });
    expect(ortGpuEpOptions('cuda', 1)).toEqual({ name: 'cuda', deviceId: 1 });
  });

  // Why kiln stopped sending trt_engine_cache_* and friends: the real binding takes an EP object
  // with keys it does not know without a word (session_options_helper.cc reads name and deviceId).
  it('the real binding silently accepts keys it ignores', async () => {
    const session = await ort.InferenceSession.create(tinyProbeModel(), {
      executionProviders: [
        { name: 'cpu', trt_engine_cache_enable: '1' } as ort.InferenceSession.ExecutionProviderConfig,
      ],
    });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1.5]), [1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([1.5]);
    await session.release();
  });
});

describe('OnnxRuntimeGpuBackend without a GPU provider', () => {
  const fp = {
    name: 'NVIDIA L40S',
    computeCapability: '8.9',
    driverMajor: 550,
    cuda: '12.4',
    tensorrt: '10.3.0',
  };

  it('tags engines with the provider and the GPU', async () => {
    const cuda = new OnnxRuntimeGpuBackend({
      provider: 'cuda',
      fingerprint: async () => fp,
    });
    expect(cuda.name).toBe('onnxruntime-gpu');
    expect(await cuda.hardwareFingerprint()).toEqual({
      kind: 'gpu',
      provider: 'cuda',
      gpu: 'NVIDIA L40S',
      computeCapability: '8.9',
      driverMajor: 550,
      cuda: '12.4',
    });
    const trt = new OnnxRuntimeGpuBackend({
      provider: 'tensorrt',
      fingerprint: async () => fp,
    });
    expect(await trt.hardwareFingerprint()).toMatchObject({ provider: 'tensorrt', tensorrt: '10.3.0' });
  });

  // Only where the CUDA EP cannot load (no provider library): on a GPU runner the compile succeeds.
  it.skipIf(detectOrtGpuLibrary('cuda').available)(
    'compile fails with one line naming the provider',
    async () => {
      const model = path.join(tmp, 'probe.onnx');
      await writeFile(model, tinyProbeModel());
      const outDir = path.join(tmp, 'out');
      await mkdir(outDir, { recursive: true });
      const b = new OnnxRuntimeGpuBackend({
        provider: 'cuda',
        fingerprint: async () => fp,
      });
      await expect(
        b.compile({
          modelPath: model,
          profile: { name: 'p', shapes: { x: [1] } },
          precision: 'fp32',
          outDir,
        }),
      ).rejects.toThrow(
        /engine\.onnx: ONNX Runtime \(cuda EP\) could not load it: .*Failed to load shared library/,
      );
    },
  );
});
