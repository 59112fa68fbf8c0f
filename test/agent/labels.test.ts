import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { gpuFamily, registerCommand, runnerLabels } from '../../runner-agent/src/labels.js';
import { HOSTS, probeFixtureHost, smi } from './fixtures.js';

describe('runner labels of recorded hosts', () => {
  it('H100 with TensorRT 10', async () => {
    expect(runnerLabels(await HOSTS.h100())).toEqual([
      'self-hosted',
      'linux',
      'x64',
      'gpu',
      'sm90',
      'h100',
      'trt10',
      'cuda13',
      'cpu-avx512',
      'cpu-avx2',
    ]);
  });

  it('MIG hosts carry mig', async () => {
    expect(runnerLabels(await HOSTS.h100Mig())).toContain('mig');
    expect(runnerLabels(await HOSTS.h100())).not.toContain('mig');
  });

  it.each([
    ['h200', ['sm90', 'h200', 'cuda13']],
    ['l40s', ['sm89', 'l40s', 'cuda13']],
    ['rtx2080', ['sm75', 'rtx-2080-super', 'cuda13']],
  ] as const)('%s', async (host, expected) => {
    const labels = runnerLabels(await HOSTS[host]());
    expect(labels).toEqual(expect.arrayContaining(['gpu', ...expected]));
    expect(labels.some((l) => l.startsWith('trt'))).toBe(false);
  });

  it('four A100s on an old driver yield one sm80/a100 pair', async () => {
    const probe = await probeFixtureHost({
      query: { exitCode: 2, stdout: smi('compute-cap-invalid.txt') },
      q: smi('a100-sxm4-80gb-x4.q.txt'),
    });
    const labels = runnerLabels(probe);
    expect(labels.filter((l) => l === 'sm80' || l === 'a100')).toEqual(['sm80', 'a100']);
    expect(labels).toContain('cuda12');
  });

  it('a CPU-only host has no gpu labels', async () => {
    expect(runnerLabels(await probeFixtureHost({}))).toEqual([
      'self-hosted',
      'linux',
      'x64',
      'cpu-avx512',
      'cpu-avx2',
    ]);
  });

  it.each([
    ['NVIDIA A10G', 'a10g'],
    ['NVIDIA A10', 'a10'],
    ['NVIDIA L4', 'l4'],
    ['NVIDIA L40S', 'l40s'],
    ['NVIDIA H100 80GB HBM3', 'h100'],
    ['NVIDIA H200', 'h200'],
    ['NVIDIA A100-SXM4-80GB', 'a100'],
    ['Tesla T4', 't4'],
    ['NVIDIA GeForce RTX 2080 SUPER', 'rtx-2080-super'],
    ['NVIDIA RTX 5880 Ada Generation', 'rtx-5880-ada-generation'],
  ])('family of %s is %s', (name, family) => {
    expect(gpuFamily(name)).toBe(family);
  });
});

describe('registerCommand', () => {
  it('prints the exact config.sh line with kiln labels only and a token placeholder', async () => {
    const line = registerCommand(await HOSTS.h100(), {
      url: 'https://github.com/acme/models',
      name: 'h100-01',
    });
    expect(line).toBe(
      './config.sh --url https://github.com/acme/models --token <TOKEN> ' +
        '--labels gpu,sm90,h100,trt10,cuda13,cpu-avx512,cpu-avx2 --name h100-01 --unattended',
    );
  });

  it('refuses a non-https URL and a name with spaces', async () => {
    const probe = await probeFixtureHost({});
    expect(() => registerCommand(probe, { url: 'github.com/acme', name: 'x' })).toThrow(InputError);
    expect(() => registerCommand(probe, { url: 'https://github.com/acme', name: 'a b' })).toThrow(/--name/);
  });
});
