import { describe, expect, it } from 'vitest';
import { parseSmiList } from '../../src/backends/host/nvidia-smi-list.js';
import { smi } from './fixtures.js';

describe('nvidia-smi -L', () => {
  it('lists each MIG device with its profile under its parent GPU', () => {
    expect(parseSmiList(smi('derived.h100-mig.L.txt'))[0]).toEqual({
      uuid: 'MIG-00000000-0000-0000-0000-000000000002',
      profile: '3g.40gb',
      gpuIndex: 0,
    });
  });

  it('reads the pre-R470 MIG-GPU-<uuid>/<gi>/<ci> form, +me profiles and several GPUs; GPUs without MIG add none', () => {
    const text = [
      'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)',
      '  MIG 3g.20gb Device 0: (UUID: MIG-GPU-aaaa/1/0)',
      'GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-bbbb)',
      '  MIG 1g.10gb+me  Device  1: (UUID: MIG-cccc)',
      'GPU 2: NVIDIA L4 (UUID: GPU-dddd)',
    ].join('\n');
    expect(parseSmiList(text)).toEqual([
      { uuid: 'MIG-GPU-aaaa/1/0', profile: '3g.20gb', gpuIndex: 0 },
      { uuid: 'MIG-cccc', profile: '1g.10gb+me', gpuIndex: 1 },
    ]);
    expect(parseSmiList('')).toEqual([]);
  });
});
