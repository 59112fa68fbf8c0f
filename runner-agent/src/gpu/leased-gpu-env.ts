import { InputError } from '../../../src/core/errors.js';

/** `GPU-<uuid>` (a whole GPU) or `MIG-<uuid>` / `MIG-GPU-<uuid>/<gi>/<ci>` (a MIG instance), as nvidia-smi -L prints them. */
const DEVICE_UUID =
  /^(GPU-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|MIG-(GPU-)?[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}(\/\d+\/\d+)?)$/i;

/**
 * The environment that pins a leased run's child to the leased device. CUDA numbers devices
 * fastest-first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, so an index would name a different GPU than
 * nvidia-smi's; the UUID in CUDA_VISIBLE_DEVICES names one device in any order (CUDA C Programming
 * Guide, "CUDA Environment Variables"), which trtexec and ONNX Runtime then see as device 0.
 * KILN_GPU tells kiln which GPU to fingerprint for the artifact key.
 */
export function leasedGpuEnv(uuid: string): Record<string, string> {
  if (!DEVICE_UUID.test(uuid)) {
    throw new InputError(
      `--gpu ${JSON.stringify(uuid.slice(0, 80))}: expected a GPU-… or MIG-… UUID as 'nvidia-smi -L' prints it`,
    );
  }
  return { CUDA_VISIBLE_DEVICES: uuid, CUDA_DEVICE_ORDER: 'PCI_BUS_ID', KILN_GPU: uuid };
}
