import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { leasedGpuEnv } from '../../../runner-agent/src/gpu/leased-gpu-env.js';

describe('leasedGpuEnv', () => {
  it('pins CUDA to the leased GPU or MIG instance by UUID, in PCI order', () => {
    // UUID forms as `nvidia-smi -L` prints them (GPU 0 of test/fixtures/nvidia-smi/a100-sxm4-80gb-x4.q.txt;
    // MIG-<uuid> since driver R470, MIG-GPU-<uuid>/<gi>/<ci> before it).
    const gpu = 'GPU-31515c3d-1414-7c2c-004a-f86a898946ac';
    expect(leasedGpuEnv(gpu)).toEqual({
      CUDA_VISIBLE_DEVICES: gpu,
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      KILN_GPU: gpu,
    });
    expect(leasedGpuEnv('MIG-31515c3d-1414-7c2c-004a-f86a898946ac').CUDA_VISIBLE_DEVICES).toBe(
      'MIG-31515c3d-1414-7c2c-004a-f86a898946ac',
    );
    expect(leasedGpuEnv(`MIG-${gpu}/7/0`).KILN_GPU).toBe(`MIG-${gpu}/7/0`);
  });

  it('refuses an index or a value that could smuggle more devices in', () => {
    for (const bad of ['0', 'GPU-1234', `GPU-31515c3d-1414-7c2c-004a-f86a898946ac,1`, '']) {
      expect(() => leasedGpuEnv(bad)).toThrow(InputError);
    }
  });
});
