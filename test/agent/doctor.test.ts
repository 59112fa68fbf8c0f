import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  compareVersions,
  detectOrtGpuProviders,
  diagnose,
  formatFinding,
  MIN_DRIVER_FOR_CUDA,
  parseRunnerVersion,
  type Finding,
} from '../../runner-agent/src/doctor.js';
import { execaRunner } from '../../src/backends/host/command-runner.js';
import { probeHost } from '../../src/backends/host/host-probe.js';
import { HOSTS, probeFixtureHost, smi, trt } from './fixtures.js';

const byBackend = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.backend, f]));

// The real probe on this machine with PATH emptied: a host with no NVIDIA tools, even on a GPU runner.
describe('doctor on this machine without NVIDIA tools on PATH', () => {
  it('nvidia-smi missing is one finding with its fix; onnxruntime-cpu is ok', async () => {
    vi.stubEnv('PATH', '');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const findings = diagnose(await probeHost(execaRunner()), { ortGpuProviders: detectOrtGpuProviders() });
    const f = byBackend(findings);
    expect(f['onnxruntime-cpu']?.status).toBe('ok');
    expect(findings.filter((x) => /nvidia-smi/.test(x.problem))).toHaveLength(1);
    expect(f['gpu-driver']).toMatchObject({
      status: 'missing',
      fix: expect.stringMatching(/install the NVIDIA driver/),
    });
    for (const finding of findings) expect(formatFinding(finding)).not.toMatch(/\n/);
  });
});

describe('doctor on recorded hosts', () => {
  it('H100 with trtexec: driver and TensorRT ok, ORT GPU EPs missing, no tvm line', async () => {
    const ortPackageDir = '/opt/kiln/node_modules/onnxruntime-node';
    const f = byBackend(diagnose(await HOSTS.h100(), { ortGpuProviders: [], ortPackageDir }));
    expect(f['gpu-driver']).toMatchObject({ status: 'ok', problem: 'driver 590.48.01, CUDA 13.1, 1 GPU(s)' });
    expect(f['tensorrt']?.status).toBe('ok');
    // The install script run directly: npm may skip or deny a dependency's postinstall.
    expect(f['onnxruntime-gpu']).toMatchObject({
      status: 'missing',
      fix: expect.stringContaining(
        `ONNXRUNTIME_NODE_INSTALL=cuda12 node "${ortPackageDir}/script/install.js"`,
      ),
    });
    // TVM is not a backend (no runtime binding), so doctor does not offer it as one.
    expect(f['tvm']).toBeUndefined();
  });

  it('driver that cannot talk to the GPU', async () => {
    const probe = await probeFixtureHost({ query: { exitCode: 9, stdout: smi('driver-failed.txt') } });
    const f = byBackend(diagnose(probe, { ortGpuProviders: ['cuda', 'tensorrt'] }));
    expect(f['gpu-driver']?.problem).toMatch(/cannot talk to the GPU: NVIDIA-SMI has failed/);
    expect(f['onnxruntime-gpu']).toMatchObject({
      status: 'missing',
      problem: expect.stringMatching(/no usable GPU/),
    });
  });

  it('NVML version mismatch says to reboot', async () => {
    const probe = await probeFixtureHost({ query: { exitCode: 18, stdout: smi('nvml-mismatch.txt') } });
    expect(byBackend(diagnose(probe, { ortGpuProviders: [] }))['gpu-driver']?.fix).toMatch(/reboot/);
  });

  it('driver too old for the installed CUDA runtime', async () => {
    // 470.182.03 is the driver of huggingface/candle#733; CUDA 12 needs >= 525.60.13.
    const probe = { ...(await HOSTS.l40s()), driver: '470.182.03', cudaRuntime: '12' };
    expect(byBackend(diagnose(probe, { ortGpuProviders: [] }))['gpu-driver']).toMatchObject({
      status: 'warn',
      problem: 'driver 470.182.03 is too old for the installed CUDA 12 runtime (needs >= 525.60.13)',
    });
    const newer = { ...probe, driver: '595.80', cudaRuntime: '13' };
    expect(byBackend(diagnose(newer, { ortGpuProviders: [] }))['gpu-driver']?.status).toBe('ok');
  });

  it('trtexec absent with libnvinfer present, and trtexec off PATH', async () => {
    const lib = await probeFixtureHost({ ldconfig: trt('derived.ldconfig-libnvinfer.txt') });
    expect(byBackend(diagnose(lib, { ortGpuProviders: [] }))['tensorrt']).toMatchObject({
      status: 'missing',
      problem: 'trtexec not installed (libnvinfer 10 is)',
      fix: expect.stringMatching(/add \/usr\/src\/tensorrt\/bin to PATH/),
    });
    const offPath = {
      ...(await HOSTS.h100()),
      tensorrt: {
        version: '10.3.0',
        source: 'trtexec' as const,
        trtexecPath: '/usr/src/tensorrt/bin/trtexec',
      },
    };
    expect(byBackend(diagnose(offPath, { ortGpuProviders: [] }))['tensorrt']?.status).toBe('warn');
  });

  it('actions runner older than 2.327.1 must be upgraded', async () => {
    const probe = await probeFixtureHost({});
    expect(
      byBackend(diagnose(probe, { ortGpuProviders: [], runnerVersion: '2.321.0' }))['actions-runner'],
    ).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/upgrade the runner to >= 2\.327\.1/),
    });
    expect(
      byBackend(diagnose(probe, { ortGpuProviders: [], runnerVersion: '2.327.1' }))['actions-runner']?.status,
    ).toBe('ok');
    expect(byBackend(diagnose(probe, { ortGpuProviders: [] }))['actions-runner']).toBeUndefined();
  });
});

describe('helpers', () => {
  it('compares versions numerically', () => {
    expect(compareVersions('470.182.03', MIN_DRIVER_FOR_CUDA[12]!)).toBeLessThan(0);
    expect(compareVersions('580.65.06', MIN_DRIVER_FOR_CUDA[13]!)).toBeGreaterThan(0);
    expect(compareVersions('2.327.1', '2.327.1')).toBe(0);
    expect(compareVersions('2.330.0', '2.327.1')).toBeGreaterThan(0);
  });

  it('reads the runner version from config.sh --version output', () => {
    expect(parseRunnerVersion('2.327.1\n')).toBe('2.327.1');
    expect(parseRunnerVersion('nope')).toBeNull();
  });

  it('finds no GPU EPs in a directory without provider libraries', () => {
    expect(detectOrtGpuProviders('/nonexistent')).toEqual([]);
  });
});
