/**
 * MIG leases and the interference monitor. `nvidia-smi --query-compute-apps` names the parent
 * GPU's UUID in `gpu_uuid` even for a process on a MIG instance, so a monitor comparing against
 * the MIG UUID would never see a neighbour. What is detectable is every compute process on the
 * parent GPU: kiln watches the parent, and cannot tell which MIG instance a process runs on.
 */
import { firstLine, InputError } from '../../../src/core/errors.js';
import { isMissing, type CommandRunner } from '../../../src/backends/host/command-runner.js';

/** One MIG device from `nvidia-smi -L`: its UUID, profile and the GPU it belongs to. */
export interface MigDevice {
  uuid: string;
  profile: string;
  parentUuid: string;
}

const GPU_LINE = /^GPU\s+\d+:.*\(UUID:\s*(GPU-[0-9a-f-]+)\)\s*$/i;
const MIG_LINE = /^\s+MIG\s+(\S+)\s+Device\s+\d+:\s*\(UUID:\s*(MIG-[^)\s]+)\)\s*$/i;

/**
 * Parses `nvidia-smi -L`: `GPU n: <name> (UUID: GPU-…)` lines, each followed by its indented
 * `MIG <profile> Device n: (UUID: MIG-…)` lines.
 */
export function parseMigDevices(text: string): MigDevice[] {
  const devices: MigDevice[] = [];
  let parent: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const gpu = GPU_LINE.exec(line);
    if (gpu) {
      parent = gpu[1]!;
      continue;
    }
    const mig = MIG_LINE.exec(line);
    if (mig && parent) devices.push({ uuid: mig[2]!, profile: mig[1]!, parentUuid: parent });
  }
  return devices;
}

/** The device whose processes the monitor compares against, and how precise that is. */
export interface WatchedGpu {
  /** The UUID nvidia-smi reports processes under. */
  gpuUuid: string;
  /** 'parent-gpu': a MIG lease; processes on the other instances of the same GPU count too. */
  scope: 'device' | 'parent-gpu';
  /** The MIG profile (e.g. `1g.10gb`), when known. */
  profile?: string;
}

/**
 * What to watch for a leased device. A whole GPU watches itself; `MIG-GPU-<uuid>/<gi>/<ci>` (drivers
 * before R470) names its parent; a `MIG-<uuid>` is looked up in `nvidia-smi -L`. A MIG device that
 * cannot be mapped is refused (exit 2): watching nothing would read as "no neighbour".
 */
export async function watchedGpu(leased: string, runner: CommandRunner): Promise<WatchedGpu> {
  if (!/^MIG-/i.test(leased)) return { gpuUuid: leased, scope: 'device' };
  const legacy = /^MIG-(GPU-[0-9a-f-]+)\/\d+\/\d+$/i.exec(leased);
  if (legacy) return { gpuUuid: legacy[1]!, scope: 'parent-gpu' };
  const result = await runner.run('nvidia-smi', ['-L']);
  const why = isMissing(result)
    ? 'nvidia-smi is not installed'
    : result.exitCode !== 0
      ? `nvidia-smi -L exited ${result.exitCode}: ${firstLine(result.stderr || result.stdout)}`
      : undefined;
  if (why) throw new InputError(`--gpu ${leased}: cannot find its parent GPU (${why})`);
  const device = parseMigDevices((result as { stdout: string }).stdout).find(
    (d) => d.uuid.toLowerCase() === leased.toLowerCase(),
  );
  if (!device) throw new InputError(`--gpu ${leased}: no such MIG device in 'nvidia-smi -L'`);
  return { gpuUuid: device.parentUuid, scope: 'parent-gpu', profile: device.profile };
}
