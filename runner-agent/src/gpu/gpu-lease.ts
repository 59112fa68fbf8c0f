import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import {
  acquireFileLock,
  describeOwner,
  FileLockError,
  type LockOwner,
} from '../../../src/core/io/file-lock.js';

/** A held exclusive lease on one GPU; release it in `finally`. */
export interface GpuLease {
  readonly gpuUuid: string;
  readonly lockPath: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export interface GpuLeaseOptions {
  /** How long to wait for another job's lease before giving up. */
  timeoutMs: number;
  /** How often to look again while waiting. */
  pollMs?: number;
}

/**
 * The lock file of one GPU: `<leaseDir>/<uuid>.lock`. Anything but `[A-Za-z0-9._-]` becomes `_`, so
 * MIG identifiers of the form `MIG-GPU-<uuid>/1/0` stay one file name.
 */
export function gpuLeasePath(leaseDir: string, gpuUuid: string): string {
  const safe = gpuUuid.trim().replace(/[^A-Za-z0-9._-]/g, '_');
  if (!safe || /^\.+$/.test(safe)) throw new InputError(`GPU uuid ${JSON.stringify(gpuUuid)} is not usable`);
  return path.join(leaseDir, `${safe}.lock`);
}

/**
 * Takes the exclusive lease on `gpuUuid` so no two jobs on this host build or benchmark on the same
 * GPU at once (their latencies would be each other's noise). Waits up to `timeoutMs` for another
 * job's lease; a lease left by a process that died (a killed or crashed job) is reclaimed.
 */
export async function acquireGpuLease(
  leaseDir: string,
  gpuUuid: string,
  owner: string,
  options: GpuLeaseOptions,
): Promise<GpuLease> {
  const lockPath = gpuLeasePath(leaseDir, gpuUuid);
  try {
    await mkdir(leaseDir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${leaseDir}: cannot create the GPU lease folder (${code})`, { cause: error });
  }
  try {
    const lock = await acquireFileLock(lockPath, owner, {
      wait: { timeoutMs: options.timeoutMs, pollMs: options.pollMs ?? 100 },
    });
    return { gpuUuid, lockPath, owner: lock.owner, release: () => lock.release() };
  } catch (error) {
    if (!(error instanceof FileLockError)) throw error;
    if (error.reason === 'unwritable') {
      throw new InputError(`${leaseDir}: cannot take a GPU lease (${error.details.code})`, { cause: error });
    }
    throw new InputError(
      `GPU ${gpuUuid} is leased by ${describeOwner(error.details.owner)}; gave up after ${options.timeoutMs} ms (lease file ${lockPath})`,
      { cause: error },
    );
  }
}
