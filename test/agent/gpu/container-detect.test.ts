import type { OrtGpuProbe } from '../../../src/backends/onnxruntime/ort-gpu-probe.js';
import { describe, expect, it } from 'vitest';
import {
  detectContainer,
  onPath,
  type ContainerFacts,
} from '../../../runner-agent/src/gpu/container-detect.js';
import { diagnose, type Finding } from '../../../runner-agent/src/doctor.js';
import { HOSTS, probeFixtureHost, smi } from '../fixtures.js';

/** onnxruntime-node without its GPU EP download (what doctor's ORT line needs; not under test here). */
const NO_ORT_GPU_EPS: OrtGpuProbe = {
  ortVersion: '1.30.0',
  cuda: { library: false, session: { available: false, reason: 'no CUDA EP library' } },
  tensorrt: { library: false, session: { available: false, reason: 'no TensorRT EP library' } },
};

function facts(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): ContainerFacts {
  return { exists: (file) => file in files, read: (file) => files[file], env };
}

// Lines in the kernel's formats (cgroups(7), proc(5) mountinfo).
const HOST_CGROUP = '0::/init.scope\n';
const K8S_CGROUP_V1 =
  '12:memory:/kubepods/burstable/pod5e0a1b2c-0d1e-4f5a-9b8c-7d6e5f4a3b2c/0123456789abcdef\n';
const OVERLAY_ROOT =
  '1234 1200 0:123 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A\n';
const EXT4_ROOT = '29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n';

describe('detectContainer', () => {
  it('a plain host shows no sign', () => {
    expect(
      detectContainer(facts({ '/proc/1/cgroup': HOST_CGROUP, '/proc/self/mountinfo': EXT4_ROOT })),
    ).toEqual({
      evidence: [],
    });
  });

  it('names every sign it found: Docker, Kubernetes, the cgroup runtime, an overlay root', () => {
    const info = detectContainer(
      facts(
        { '/.dockerenv': '', '/proc/1/cgroup': K8S_CGROUP_V1, '/proc/self/mountinfo': OVERLAY_ROOT },
        { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      ),
    );
    expect(info.evidence).toEqual([
      '/.dockerenv',
      'KUBERNETES_SERVICE_HOST',
      '/proc/1/cgroup names kubepods',
      'overlay root filesystem',
    ]);
    expect(detectContainer(facts({ '/run/.containerenv': '' })).evidence).toEqual(['/run/.containerenv']);
  });
});

describe('onPath', () => {
  it('finds a tool in any PATH folder', () => {
    const exists = (file: string) => file === '/usr/bin/dcgmi';
    expect(onPath('dcgmi', '/usr/local/bin:/usr/bin', exists)).toBe(true);
    expect(onPath('dcgmi', '/usr/local/bin', exists)).toBe(false);
    expect(onPath('dcgmi', undefined, exists)).toBe(false);
  });
});

const byBackend = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.backend, f]));

describe('doctor: what the interference monitor can see', () => {
  it('in a container: says kiln cannot tell its own processes from neighbours and how to fix it', async () => {
    const container = { evidence: ['/.dockerenv', 'KUBERNETES_SERVICE_HOST'] };
    const f = byBackend(diagnose(await HOSTS.h100(), { ortGpu: NO_ORT_GPU_EPS, container }));
    expect(f['interference']).toMatchObject({
      status: 'warn',
      problem: expect.stringMatching(
        /^running in a container \(\/\.dockerenv, KUBERNETES_SERVICE_HOST\): nvidia-smi reports host pids/,
      ),
      fix: expect.stringContaining('hostPID: true'),
    });
    expect(f['interference-mig']).toBeUndefined();
    expect(f['dcgm']).toBeUndefined();
  });

  it('on a recorded MIG host: per-instance attribution is impossible, said as such', async () => {
    const probe = await probeFixtureHost({ query: smi('h100-mig.query-gpu.csv'), q: smi('h100-mig.q.txt') });
    const f = byBackend(diagnose(probe, { ortGpu: NO_ORT_GPU_EPS, dcgmi: true }));
    expect(f['interference-mig']?.problem).toMatch(/per parent GPU, not per MIG instance/);
    expect(f['dcgm']?.problem).toMatch(/^dcgmi found: .*kiln does not use DCGM yet/);
    expect(f['interference']).toBeUndefined();
  });

  it('says nothing about interference on a host without a usable GPU', async () => {
    const probe = await probeFixtureHost({});
    const findings = diagnose(probe, {
      ortGpu: NO_ORT_GPU_EPS,
      container: { evidence: ['/.dockerenv'] },
      dcgmi: true,
    });
    expect(findings.map((f) => f.backend)).not.toContain('interference');
  });
});
