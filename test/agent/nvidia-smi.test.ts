import { parseGpuProcesses } from '../../runner-agent/src/gpu/gpu-process-parse.js';
import { describe, expect, it } from 'vitest';
import {
  classifySmiFailure,
  computeCapabilityFromName,
  parseCsv,
  parseGpuQuery,
  parseSmiQuery,
  parseSmiTableHeader,
} from '../../src/backends/host/nvidia-smi.js';
import { smi } from './fixtures.js';

describe('--query-gpu CSV (real captures)', () => {
  it.each([
    ['h100-80gb-hbm3', 'NVIDIA H100 80GB HBM3', '9.0', 81559, '590.48.01', 'disabled'],
    ['h100-mig', 'NVIDIA H100 80GB HBM3', '9.0', 81559, '590.48.01', 'enabled'],
    ['h200', 'NVIDIA H200', '9.0', 143771, '590.48.01', 'disabled'],
    ['h200-mig', 'NVIDIA H200', '9.0', 143771, '590.48.01', 'enabled'],
    ['l40s', 'NVIDIA L40S', '8.9', 46068, '595.80', null],
    ['rtx-2080-super', 'NVIDIA GeForce RTX 2080 SUPER', '7.5', 8192, '595.71.05', null],
  ])('%s', (file, name, cc, memoryMiB, driverVersion, migMode) => {
    const [gpu, ...rest] = parseGpuQuery(smi(`${file}.query-gpu.csv`));
    expect(rest).toEqual([]);
    expect(gpu).toEqual({
      index: 0,
      name,
      uuid: 'GPU-00000000-0000-0000-0000-000000000000',
      computeCapability: cc,
      computeCapabilitySource: 'nvidia-smi',
      memoryMiB,
      driverVersion,
      migMode,
    });
  });

  it('reads a two-GPU host with columns in another order and no uuid column', () => {
    const gpus = parseGpuQuery(smi('titan-v-rtx5880.query-gpu.csv'));
    expect(gpus.map((g) => [g.index, g.name, g.computeCapability, g.driverVersion, g.uuid])).toEqual([
      [0, 'NVIDIA TITAN V', '7.0', '570.86.15', null],
      [1, 'NVIDIA RTX 5880 Ada Generation', '8.9', '570.86.15', null],
    ]);
  });

  it('is indifferent to CRLF line ends', () => {
    const text = smi('h100-mig.query-gpu.csv');
    expect(parseGpuQuery(text.replace(/\n/g, '\r\n'))).toEqual(parseGpuQuery(text));
  });

  it('reads [N/A], [Not Supported] and padded cells as null, and noheader CSV by field list', () => {
    const rows = parseCsv(' 0 ,  Tesla T4 , [Not Supported] , [N/A] \n', [
      'index',
      'name',
      'compute_cap',
      'uuid',
    ]);
    expect(rows).toEqual([{ index: '0', name: 'Tesla T4', compute_cap: null, uuid: null }]);
  });

  it('yields no GPUs from garbage instead of throwing', () => {
    expect(parseGpuQuery('')).toEqual([]);
    expect(parseGpuQuery('\u0000\u0001 not csv at all')).toEqual([]);
  });
});

describe('nvidia-smi -q', () => {
  it('reads driver, CUDA and GPUs of the H100 capture', () => {
    const q = parseSmiQuery(smi('h100-80gb-hbm3.q.txt'));
    expect([q.driverVersion, q.cudaVersion]).toEqual(['590.48.01', '13.1']);
    expect(q.gpus).toMatchObject([{ name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559, migMode: 'disabled' }]);
  });

  it('reads MIG mode enabled on the H100 MIG capture', () => {
    expect(parseSmiQuery(smi('h100-mig.q.txt')).gpus[0]?.migMode).toBe('enabled');
  });

  it('lists all four GPUs of the A100 SXM4 host with their own UUIDs', () => {
    const q = parseSmiQuery(smi('a100-sxm4-80gb-x4.q.txt'));
    expect([q.driverVersion, q.cudaVersion]).toEqual(['555.42.02', '12.5']);
    expect(q.gpus.map((g) => [g.index, g.name, g.uuid, g.memoryMiB, g.migMode])).toEqual([
      [0, 'NVIDIA A100-SXM4-80GB', 'GPU-31515c3d-1414-7c2c-004a-f86a898946ac', 81920, 'disabled'],
      [1, 'NVIDIA A100-SXM4-80GB', 'GPU-72d87681-01db-370e-567d-41afcf20fad0', 81920, 'disabled'],
      [2, 'NVIDIA A100-SXM4-80GB', 'GPU-62989189-9e1e-ac75-4676-114f14998542', 81920, 'disabled'],
      [3, 'NVIDIA A100-SXM4-80GB', 'GPU-011b2cfe-2b8e-1cb0-19e1-1b764e854dfc', 81920, 'disabled'],
    ]);
  });

  it.each([
    ['l4', 'NVIDIA L4', '550.90.07', '12.4', 23034],
    ['a10', 'NVIDIA A10', '550.90.12', '12.4', 23028],
    ['l40s', 'NVIDIA L40S', '595.80', '13.2', 46068],
    ['rtx-2080-super', 'NVIDIA GeForce RTX 2080 SUPER', '595.71.05', '13.2', 8192],
    ['h200', 'NVIDIA H200', '590.48.01', '13.1', 143771],
  ])('%s', (file, name, driver, cuda, memoryMiB) => {
    const q = parseSmiQuery(smi(`${file}.q.txt`));
    expect([q.driverVersion, q.cudaVersion, q.gpus.length]).toEqual([driver, cuda, 1]);
    expect(q.gpus[0]).toMatchObject({ name, memoryMiB });
  });
});

it("driver 610 -q: reads KMD/CUDA UMD Version, not the deprecated keys' suffixed values", () => {
  const q = parseSmiQuery(smi('driver-610.47.q-header.txt'));
  expect([q.driverVersion, q.cudaVersion]).toEqual(['610.47', '13.3']);
  // Only the deprecated keys, as a driver between the rename and their removal could print them.
  const oldOnly = smi('driver-610.47.q-header.txt')
    .split('\n')
    .filter((l) => !/^(KMD|CUDA UMD) Version/.test(l))
    .join('\n');
  const old = parseSmiQuery(oldOnly);
  expect([old.driverVersion, old.cudaVersion]).toEqual(['610.47', '13.3']);
});

describe('plain nvidia-smi table header', () => {
  it.each([
    ['h100-80gb-hbm3.smi.txt', '590.48.01', '13.1'],
    ['a100-sxm4-80gb-x4.smi.txt', '555.42.02', '12.5'],
    ['l4.smi.txt', '550.90.07', '12.4'],
    // Driver 610 renamed the banner's fields (sglang issue 27487).
    ['b200-x2-610.43.02.smi-head.txt', '610.43.02', '13.3'],
  ])('%s', (file, driverVersion, cudaVersion) => {
    expect(parseSmiTableHeader(smi(file))).toEqual({ driverVersion, cudaVersion });
  });
});

// --query-compute-apps is parsed by runner-agent/src/gpu/gpu-process-parse.ts (parseGpuProcesses),
// the one parser strict enough for process names with commas; its tests read the same fixtures.
it('reads noheader,nounits compute-apps output in the documented column order', () => {
  const apps = parseGpuProcesses(smi('derived.compute-apps.noheader-nounits.csv'));
  expect(apps.map((a) => [a.pid, a.usedMiB])).toEqual([
    [11327, 2566],
    [11328, 1542],
    [11345, 15690],
  ]);
});

describe('failures and old drivers', () => {
  it('recognizes the real "couldn\'t communicate with the NVIDIA driver" and NVML mismatch messages', () => {
    expect(classifySmiFailure({ exitCode: 9, stdout: smi('driver-failed.txt'), stderr: '' })).toBe(
      'driver-unreachable',
    );
    expect(classifySmiFailure({ exitCode: 18, stdout: smi('nvml-mismatch.txt'), stderr: '' })).toBe(
      'driver-unreachable',
    );
    expect(classifySmiFailure({ exitCode: 2, stdout: smi('compute-cap-invalid.txt'), stderr: '' })).toBe(
      'field-unsupported',
    );
    expect(classifySmiFailure({ exitCode: 1, stdout: 'garbage', stderr: '' })).toBe('other');
  });

  it.each([
    ['Tesla T4', '7.5'],
    ['NVIDIA A10G', '8.6'],
    ['NVIDIA A100-SXM4-80GB', '8.0'],
    ['NVIDIA L4', '8.9'],
    ['NVIDIA L40S', '8.9'],
    ['NVIDIA H100 80GB HBM3', '9.0'],
    ['NVIDIA H200', '9.0'],
    ['Tesla V100-SXM2-16GB', '7.0'],
    ['Mystery Accelerator', null],
  ])('name table: %s → %s', (name, cc) => {
    expect(computeCapabilityFromName(name)).toBe(cc);
  });
});
