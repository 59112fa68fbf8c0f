/**
 * `nvidia-smi -L`: the one listing that names each MIG device's profile and UUID under its parent
 * GPU (NVIDIA MIG User Guide, "Getting Started with MIG": `GPU 0: NVIDIA A100-SXM4-40GB (UUID:
 * GPU-…)` then `  MIG 3g.20gb     Device  0: (UUID: MIG-…)`). The GPU query and `-q` list parent GPUs
 * only, so a MIG lease is fingerprinted from here.
 */

/** One MIG device: its profile ("3g.40gb"), its UUID and the parent GPU's nvidia-smi index. */
export interface MigDevice {
  uuid: string;
  profile: string;
  gpuIndex: number;
}

const GPU_LINE = /^GPU (\d+): .* \(UUID: (GPU-[^)]+)\)\s*$/;
// Profiles such as 1g.10gb, 1g.10gb+me, 1c.3g.20gb; UUIDs MIG-<uuid> (R470+) or MIG-GPU-<uuid>/<gi>/<ci>.
const MIG_LINE = /^\s+MIG (\S+)\s+Device\s+\d+: \(UUID: (MIG-[^)]+)\)\s*$/;

/** Every MIG device `nvidia-smi -L` lists, in order; lines of another shape are skipped. */
export function parseSmiList(text: string): MigDevice[] {
  const devices: MigDevice[] = [];
  let gpuIndex: number | undefined;
  for (const line of text.split(/\r?\n/)) {
    const gpu = GPU_LINE.exec(line);
    if (gpu) {
      gpuIndex = Number(gpu[1]);
      continue;
    }
    const mig = MIG_LINE.exec(line);
    if (mig && gpuIndex !== undefined) devices.push({ uuid: mig[2]!, profile: mig[1]!, gpuIndex });
  }
  return devices;
}
