import { describe, expect, it } from 'vitest';
import { compareHardware, describeHardware, describeMismatch } from '../../src/core/hardware-match.js';

const built = {
  kind: 'gpu',
  gpu: 'NVIDIA A10G',
  computeCapability: '8.6',
  tensorrt: '10.3.0',
  driverMajor: 550,
  cuda: '12.4',
};

describe('compareHardware', () => {
  it('identity fields must be equal, minimums only reached', () => {
    expect(compareHardware(built, { ...built, driverMajor: 610, cuda: '13.3' })).toEqual([]);
    expect(compareHardware(built, { ...built, cuda: '12.10' })).toEqual([]); // 12.10 > 12.4, not a string compare
    expect(compareHardware(built, { ...built, driverMajor: 545 }).map((m) => m.field)).toEqual([
      'driverMajor',
    ]);
    expect(compareHardware(built, { ...built, gpu: 'NVIDIA A40' }).map((m) => m.field)).toEqual(['gpu']);
  });

  it('fails closed when the host cannot say its driver or CUDA version', () => {
    const unknown = compareHardware(built, { ...built, driverMajor: undefined, cuda: null });
    expect(unknown.map((m) => m.field)).toEqual(['cuda', 'driverMajor']);
    expect(unknown.map(describeMismatch)).toContain(
      "driver major none on this host is older than 550, the engine's build host: the engine needs at least 550 (update the driver, or rebuild on this host)",
    );
  });

  it('a record without the driver (CPU, or an older kiln) asks nothing of the host driver', () => {
    const cpu = { kind: 'cpu', arch: 'x64', isa: ['avx2'] };
    expect(compareHardware(cpu, { ...cpu, driverMajor: 1 })).toEqual([]);
  });

  it('describes compatibility and MIG tags', () => {
    expect(
      describeHardware({
        ...built,
        gpu: undefined,
        computeCapability: undefined,
        hardwareCompatibility: 'ampere+',
        versionCompatible: true,
      }),
    ).toBe('GPU hardware-compatible ampere+, driver 550, CUDA 12.4, TensorRT 10.3.0 (version-compatible)');
    expect(describeHardware({ ...built, mig: '3g.40gb' })).toBe(
      'GPU NVIDIA A10G, compute capability 8.6, MIG 3g.40gb, driver 550, CUDA 12.4, TensorRT 10.3.0',
    );
    expect(
      compareHardware({ ...built, mig: '3g.40gb' }, { ...built, mig: '1g.10gb' }).map(describeMismatch),
    ).toEqual(['MIG profile 3g.40gb (engine) vs 1g.10gb (this host)']);
  });
});
