import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  probeOrtGpuEps,
  type OrtGpuEpState,
  type OrtGpuProbe,
} from '../../src/backends/onnxruntime/ort-gpu-probe.js';
import { ORT_GPU_INSTALL_ENV } from '../../runner-agent/src/doctor-ort-gpu.js';
import {
  compareVersions,
  diagnose,
  formatFinding,
  MIN_DRIVER_FOR_CUDA,
  ortPackageDir,
  parseRunnerVersion,
  type Finding,
} from '../../runner-agent/src/doctor.js';
import { execaRunner } from '../../src/backends/host/command-runner.js';
import { probeHost } from '../../src/backends/host/host-probe.js';
import { HOSTS, probeFixtureHost, smi, trt } from './fixtures.js';

const byBackend = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.backend, f]));

const absent = (lib: string): OrtGpuEpState => ({
  library: false,
  session: { available: false, reason: `onnxruntime-node has no EP (${lib} is not in /x)` },
});
/** A host whose onnxruntime-node install skipped the GPU EP download (kiln's default). */
const NO_EPS: OrtGpuProbe = {
  ortVersion: '1.30.0',
  cuda: absent('libonnxruntime_providers_cuda.so'),
  tensorrt: absent('libonnxruntime_providers_tensorrt.so'),
};
const opened: OrtGpuEpState = { library: true, session: { available: true } };

// The real probe on this machine with PATH emptied: a host with no NVIDIA tools, even on a GPU runner.
describe('doctor on this machine without NVIDIA tools on PATH', () => {
  it('nvidia-smi missing is one finding with its fix; onnxruntime-cpu is ok', async () => {
    vi.stubEnv('PATH', '');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const findings = diagnose(await probeHost(execaRunner()), { ortGpu: await probeOrtGpuEps() });
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
    const f = byBackend(diagnose(await HOSTS.h100(), { ortGpu: NO_EPS, ortPackageDir }));
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
    const f = byBackend(
      diagnose(probe, {
        ortGpu: {
          ortVersion: '1.30.0',
          cuda: {
            library: true,
            session: { available: false, reason: 'CUDA failure 35: CUDA driver version is insufficient' },
          },
          tensorrt: opened,
        },
      }),
    );
    expect(f['gpu-driver']?.problem).toMatch(/cannot talk to the GPU: NVIDIA-SMI has failed/);
    expect(f['onnxruntime-gpu']).toMatchObject({
      status: 'missing',
      problem: expect.stringContaining('CUDA driver version is insufficient'),
      fix: 'fix the GPU driver first',
    });
  });

  it('NVML version mismatch says to reboot', async () => {
    const probe = await probeFixtureHost({ query: { exitCode: 18, stdout: smi('nvml-mismatch.txt') } });
    expect(byBackend(diagnose(probe, { ortGpu: NO_EPS }))['gpu-driver']?.fix).toMatch(/reboot/);
  });

  it('driver too old for the installed CUDA runtime', async () => {
    // 470.182.03 is the driver of huggingface/candle#733; CUDA 12 needs >= 525.60.13.
    const probe = { ...(await HOSTS.l40s()), driver: '470.182.03', cudaRuntime: '12' };
    expect(byBackend(diagnose(probe, { ortGpu: NO_EPS }))['gpu-driver']).toMatchObject({
      status: 'warn',
      problem: 'driver 470.182.03 is too old for the installed CUDA 12 runtime (needs >= 525.60.13)',
    });
    const newer = { ...probe, driver: '595.80', cudaRuntime: '13' };
    expect(byBackend(diagnose(newer, { ortGpu: NO_EPS }))['gpu-driver']?.status).toBe('ok');
  });

  it('trtexec absent with libnvinfer present, and trtexec off PATH', async () => {
    const lib = await probeFixtureHost({ ldconfig: trt('derived.ldconfig-libnvinfer.txt') });
    expect(byBackend(diagnose(lib, { ortGpu: NO_EPS }))['tensorrt']).toMatchObject({
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
    expect(byBackend(diagnose(offPath, { ortGpu: NO_EPS }))['tensorrt']?.status).toBe('warn');
  });

  it('actions runner older than 2.327.1 must be upgraded', async () => {
    const probe = await probeFixtureHost({});
    expect(
      byBackend(diagnose(probe, { ortGpu: NO_EPS, runnerVersion: '2.321.0' }))['actions-runner'],
    ).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/upgrade the runner to >= 2\.327\.1/),
    });
    expect(
      byBackend(diagnose(probe, { ortGpu: NO_EPS, runnerVersion: '2.327.1' }))['actions-runner']?.status,
    ).toBe('ok');
    expect(byBackend(diagnose(probe, { ortGpu: NO_EPS }))['actions-runner']).toBeUndefined();
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
});

// The onnxruntime-node package kiln depends on, read for what its install script really does.
const ortRequire = createRequire(path.join(ortPackageDir() ?? '/nonexistent', 'package.json'));

describe('doctor and onnxruntime-node GPU EPs, on this machine', () => {
  // Real one-node sessions on this machine's onnxruntime-node. Where the EP download was skipped
  // (kiln's own install, any CPU runner) the line names the command; on a GPU runner with the
  // EPs and CUDA installed it is ok. Either way it follows from the real probe.
  it('probes the EPs with real sessions and names the exact fix when they are missing', async () => {
    const ort = await probeOrtGpuEps();
    const packageDir = ortPackageDir();
    const f = byBackend(diagnose(await HOSTS.h100(), { ortGpu: ort, ortPackageDir: packageDir }));
    const line = formatFinding(f['onnxruntime-gpu']!);
    expect(line).not.toContain('\n');
    if (ort.cuda.session.available) {
      expect(f['onnxruntime-gpu']).toMatchObject({
        status: 'ok',
        problem: expect.stringMatching(/CUDA EP session opened/),
      });
      return;
    }
    expect(f['onnxruntime-gpu']?.status).toBe('missing');
    if (!ort.cuda.library) {
      const script = path.join(packageDir!, 'script', 'install.js');
      expect(existsSync(script)).toBe(true);
      expect(f['onnxruntime-gpu']?.fix).toContain(`${ORT_GPU_INSTALL_ENV} node "${script}"`);
    } else {
      expect(f['onnxruntime-gpu']?.problem).toContain(ort.cuda.session.reason);
    }
  });

  // The fix's variable, checked against onnxruntime-node's own install script: it must not read
  // as "skip", and the linux/x64 download it triggers must hold both EP libraries kiln probes.
  it("the fix's ONNXRUNTIME_NODE_INSTALL value makes the package's install script download the EPs", () => {
    const [name, value] = ORT_GPU_INSTALL_ENV.split('=') as [string, string];
    vi.stubEnv(name, value);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const utils = ortRequire('./script/install-utils.js') as { parseInstallFlag: () => unknown };
    const flag = utils.parseInstallFlag();
    expect(flag).not.toBe(false);
    const metadata = ortRequire('./script/install-metadata.js') as {
      requirements: Record<string, string[]>;
      manifests: Record<string, Record<string, unknown>>;
    };
    // 1.30 returns undefined for a named value and falls back to the platform's requirement list;
    // a string flag is checked against that list. Both end in the same manifest here.
    const manifests = typeof flag === 'string' ? [flag] : (metadata.requirements['linux/x64'] ?? []);
    expect(manifests).toContain(value);
    const files = Object.keys(metadata.manifests[`linux/x64:${value}`] ?? {});
    expect(files).toEqual(
      expect.arrayContaining([
        './libonnxruntime_providers_cuda.so',
        './libonnxruntime_providers_tensorrt.so',
        './libonnxruntime_providers_shared.so',
      ]),
    );
  });
});

describe('doctor on onnxruntime-gpu states', () => {
  it('EP library present but no session: the probe reason and the CUDA/cuDNN fix', async () => {
    const failing: OrtGpuProbe = {
      ortVersion: '1.30.0',
      cuda: {
        library: true,
        session: {
          available: false,
          reason:
            'onnxruntime-node 1.30.0 has no usable cuda EP: libcudnn.so.9: cannot open shared object file',
        },
      },
      tensorrt: opened,
    };
    const f = byBackend(diagnose(await HOSTS.h100(), { ortGpu: failing }))['onnxruntime-gpu'];
    expect(f).toMatchObject({
      status: 'missing',
      problem: expect.stringContaining('libcudnn.so.9: cannot open shared object file'),
      fix: expect.stringMatching(/cuDNN 9 .*LD_LIBRARY_PATH/),
    });
  });

  it('both EPs open: ok on the CUDA EP, and says the TensorRT EP is not used', async () => {
    const f = byBackend(
      diagnose(await HOSTS.h100(), { ortGpu: { ortVersion: '1.30.0', cuda: opened, tensorrt: opened } }),
    )['onnxruntime-gpu'];
    expect(f?.status).toBe('ok');
    expect(f?.problem).toMatch(/runs on the CUDA EP; the TensorRT EP opens too but kiln does not use it/);
  });

  it('not linux/x64: no install command that cannot work', async () => {
    const probe = { ...(await HOSTS.h100()), cpu: { model: 'x', arch: 'arm64', isa: [] } };
    const f = byBackend(diagnose(probe, { ortGpu: NO_EPS }))['onnxruntime-gpu'];
    expect(f?.problem).toMatch(/no GPU execution providers for linux\/arm64/);
    expect(f?.fix).not.toContain('ONNXRUNTIME_NODE_INSTALL');
  });
});
