import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { fixtureRunner } from '../../src/backends/host/command-runner.js';
import { gpuFingerprint, probeHost, selectGpu } from '../../src/backends/host/host-probe.js';
import { EPYC_CPUINFO, GPU_QUERY, HOSTS, probeFixtureHost, smi, trt } from './fixtures.js';

describe('probeHost on recorded hosts', () => {
  it('H100: GPU, driver, CUDA from -q, TensorRT from the trtexec banner', async () => {
    const probe = await HOSTS.h100();
    expect(probe.gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        uuid: 'GPU-00000000-0000-0000-0000-000000000000',
        computeCapability: '9.0',
        memoryMiB: 81559,
        migMode: 'disabled',
      },
    ]);
    expect([probe.driver, probe.cuda]).toEqual(['590.48.01', '13.1']);
    expect(probe.tensorrt).toEqual({ version: '10.3.0', source: 'trtexec', trtexecPath: 'trtexec' });
    expect(probe.tools).toEqual({ nvidiaSmi: 'ok', trtexec: 'ok' });
    expect(probe.cpu.isa).toContain('avx512f');
    expect(gpuFingerprint(probe, 0)).toEqual({
      kind: 'gpu',
      name: 'NVIDIA H100 80GB HBM3',
      computeCapability: '9.0',
      driverMajor: 590,
      cuda: '13.1',
      tensorrt: '10.3.0',
    });
  });

  it('a MIG device is fingerprinted as its parent GPU plus its MIG profile (nvidia-smi -L)', async () => {
    const probe = await probeFixtureHost({
      query: smi('h100-mig.query-gpu.csv'),
      q: smi('h100-mig.q.txt'),
      list: smi('derived.h100-mig.L.txt'),
    });
    expect(probe.migDevices.map((d) => [d.profile, d.gpuIndex])).toEqual([
      ['3g.40gb', 0],
      ['2g.20gb', 0],
      ['1g.10gb', 0],
      ['1g.10gb', 0],
    ]);
    const slice = gpuFingerprint(probe, 'MIG-00000000-0000-0000-0000-000000000003');
    expect(slice).toMatchObject({ name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', mig: '2g.20gb' });
    expect(gpuFingerprint(probe, 0)).not.toHaveProperty('mig');
    expect(() => gpuFingerprint(probe, 'MIG-ffffffff-0000-0000-0000-000000000000')).toThrow(
      /^no MIG device with UUID MIG-ffffffff-0000-0000-0000-000000000000 on this host \(MIG devices: MIG-00000000-/,
    );
    // Without MIG mode nvidia-smi -L is not even asked.
    expect((await HOSTS.l40s()).migDevices).toEqual([]);
  });

  it('MIG-enabled H100 and H200', async () => {
    expect((await HOSTS.h100Mig()).gpus[0]?.migMode).toBe('enabled');
    const h200 = await HOSTS.h200();
    expect([h200.gpus[0]?.computeCapability, h200.gpus[0]?.memoryMiB, h200.cuda]).toEqual([
      '9.0',
      143771,
      '13.1',
    ]);
  });

  it('falls back to the table banner for CUDA when -q fails', async () => {
    const probe = await probeFixtureHost({
      query: smi('h100-80gb-hbm3.query-gpu.csv'),
      q: { exitCode: 1, stdout: '' },
      table: smi('h100-80gb-hbm3.smi.txt'),
    });
    expect(probe.cuda).toBe('13.1');
  });

  it('no nvidia-smi: no GPUs, reported as missing, nothing thrown', async () => {
    const probe = await probeFixtureHost({});
    expect(probe.gpus).toEqual([]);
    expect(probe.tools).toEqual({ nvidiaSmi: 'missing', trtexec: 'missing' });
    expect(() => gpuFingerprint(probe, 0)).toThrow(InputError);
  });

  it("driver that cannot talk to the GPU: failed, with nvidia-smi's own line", async () => {
    const probe = await probeFixtureHost({ query: { exitCode: 9, stdout: smi('driver-failed.txt') } });
    expect(probe.tools.nvidiaSmi).toBe('failed');
    expect(probe.toolErrors.nvidiaSmi).toMatch(/^NVIDIA-SMI has failed because it couldn't communicate/);
    expect(probe.gpus).toEqual([]);
  });

  it('old driver without compute_cap: GPUs from -q, compute capability from the name table', async () => {
    const probe = await probeFixtureHost({
      query: { exitCode: 2, stdout: smi('compute-cap-invalid.txt') },
      q: smi('a100-sxm4-80gb-x4.q.txt'),
    });
    expect(probe.gpus.map((g) => [g.index, g.computeCapability, g.memoryMiB])).toEqual([
      [0, '8.0', 81920],
      [1, '8.0', 81920],
      [2, '8.0', 81920],
      [3, '8.0', 81920],
    ]);
    expect([probe.driver, probe.cuda]).toEqual(['555.42.02', '12.5']);
    expect(probe.notes.join()).toMatch(/name table/);
  });

  it('trtexec off PATH at /usr/src/tensorrt/bin is found and noted', async () => {
    const runner = fixtureRunner({ '/usr/src/tensorrt/bin/trtexec --version': trt('trt10.2.0-windows.log') });
    const probe = await probeHost(runner, { cpuinfo: EPYC_CPUINFO, arch: 'x64' });
    expect(probe.tensorrt).toEqual({
      version: '10.2.0',
      source: 'trtexec',
      trtexecPath: '/usr/src/tensorrt/bin/trtexec',
    });
    expect(probe.notes.join()).toMatch(/not on PATH/);
  });

  it('TensorRT from libnvinfer when trtexec is absent', async () => {
    const probe = await probeFixtureHost({ ldconfig: trt('derived.ldconfig-libnvinfer.txt') });
    expect(probe.tensorrt).toEqual({ version: '10', source: 'libnvinfer', trtexecPath: null });
    expect(probe.tools.trtexec).toBe('missing');
  });

  it("keys the libnvinfer trtexec loads (ldd + its real file name), not trtexec's compile-time banner", async () => {
    // The recorded 8.6.1 banner; the library behind LD_LIBRARY_PATH is 8.6.1 too, then a newer one.
    const host = (real: string) =>
      probeFixtureHost({
        trtexec: trt('trt8.6.1-sam.log'),
        ldd: trt('derived.ldd-trtexec-tar.txt'),
        realpath: { '/opt/TensorRT-8.6.1.6/lib/libnvinfer.so.8': real },
      });
    const same = await host('/opt/TensorRT-8.6.1.6/lib/libnvinfer.so.8.6.1');
    expect(same.tensorrt).toEqual({ version: '8.6.1', source: 'libnvinfer', trtexecPath: 'trtexec' });
    expect(same.notes).toEqual([]);
    const other = await host('/opt/TensorRT-8.6.1.6/lib/libnvinfer.so.8.6.2');
    expect(other.tensorrt?.version).toBe('8.6.2');
    expect(other.notes).toContain(
      'trtexec was compiled against TensorRT 8.6.1 but loads /opt/TensorRT-8.6.1.6/lib/libnvinfer.so.8 (8.6.2): keyed on 8.6.2',
    );
  });

  it('without ldd the banner version stays, and the probe says it is the compile-time one', async () => {
    const probe = await probeFixtureHost({ trtexec: trt('trt8.6.1-sam.log') });
    expect(probe.tensorrt).toEqual({ version: '8.6.1', source: 'trtexec', trtexecPath: 'trtexec' });
    expect(probe.notes).toContain(
      "TensorRT 8.6.1 is trtexec's compile-time version: the loaded libnvinfer's version could not be read (ldd trtexec)",
    );
  });

  it('a runtime-only host: the full version from the file behind the ldconfig soname', async () => {
    const probe = await probeFixtureHost({
      ldconfig: trt('derived.ldconfig-libnvinfer.txt'),
      realpath: {
        '/usr/lib/x86_64-linux-gnu/libnvinfer.so.10': '/usr/lib/x86_64-linux-gnu/libnvinfer.so.10.3.0',
      },
    });
    expect(probe.tensorrt).toEqual({ version: '10.3.0', source: 'libnvinfer', trtexecPath: null });
  });

  it('trtexec that prints no version (TensorRT 7) is failed, not ok', async () => {
    const probe = await probeFixtureHost({ trtexec: trt('trt7-jetson-no-version.log') });
    expect(probe.tools.trtexec).toBe('failed');
    expect(probe.tensorrt).toBeNull();
  });

  it('asks nvidia-smi for the documented fields with a header', async () => {
    const runner = fixtureRunner({});
    await probeHost(runner, { cpuinfo: EPYC_CPUINFO });
    expect(runner.calls).toContain(GPU_QUERY);
    expect(GPU_QUERY).toBe(
      'nvidia-smi --query-gpu=index,name,uuid,compute_cap,memory.total,driver_version,mig.mode.current --format=csv,nounits',
    );
  });

  it('selects the leased GPU by UUID on a multi-GPU host, not index 0', async () => {
    const probe = await probeFixtureHost({
      query: { exitCode: 2, stdout: smi('compute-cap-invalid.txt') },
      q: smi('a100-sxm4-80gb-x4.q.txt'),
    });
    // GPU 2's UUID in the recording; any case, as CUDA_VISIBLE_DEVICES accepts.
    expect(selectGpu(probe, 'GPU-62989189-9E1E-AC75-4676-114F14998542').index).toBe(2);
    expect(selectGpu(probe, 'GPU-011b2cfe-2b8e-1cb0-19e1-1b764e854dfc').index).toBe(3);
    expect(gpuFingerprint(probe, 'GPU-62989189-9e1e-ac75-4676-114f14998542')).toMatchObject({
      computeCapability: '8.0',
      driverMajor: 555,
    });
    expect(() => gpuFingerprint(probe, 'GPU-00000000-0000-0000-0000-000000000000')).toThrow(
      /^no GPU with UUID GPU-00000000-0000-0000-0000-000000000000 on this host \(GPUs: GPU-31515c3d-.*GPU-011b2cfe-2b8e-1cb0-19e1-1b764e854dfc\)$/,
    );
    // This host's MIG devices were not listed (MIG mode disabled): a MIG UUID is no device here.
    expect(() => gpuFingerprint(probe, 'MIG-GPU-62989189-9e1e-ac75-4676-114f14998542/1/0')).toThrow(
      'no MIG device with UUID MIG-GPU-62989189-9e1e-ac75-4676-114f14998542/1/0 on this host (MIG devices: none)',
    );
  });

  it('gpuFingerprint names the missing GPU index', async () => {
    const probe = await HOSTS.l40s();
    expect(() => gpuFingerprint(probe, 3)).toThrow(/no GPU with index 3 .*GPUs: 0/);
    expect(gpuFingerprint(probe, 0)).toEqual({
      kind: 'gpu',
      name: 'NVIDIA L40S',
      computeCapability: '8.9',
      driverMajor: 595,
      cuda: '13.2',
      tensorrt: null,
    });
  });
});
