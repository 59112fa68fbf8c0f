/**
 * Parsers for the `nvidia-smi` queries the interference monitor samples: compute processes and
 * per-GPU utilization, with the exact arguments kiln passes.
 */
import { InputError } from '../../../src/core/errors.js';

/**
 * One row of `nvidia-smi --query-compute-apps`; `usedMiB` is undefined where the driver hides it
 * (WDDM). Stricter than nvidia-smi.ts's probe parser on purpose: here a garbled row must fail the
 * sample, because silently dropping it would read as "no foreign process".
 */
export interface GpuProcess {
  pid: number;
  processName: string;
  usedMiB: number | undefined;
  gpuUuid: string;
}

/**
 * The header is kept (no `noheader`) so columns are matched by name: a driver that renames
 * `used_memory` to `used_gpu_memory` or reorders fields cannot shift values into the wrong column.
 */
export const COMPUTE_APPS_ARGS = [
  '--query-compute-apps=pid,process_name,used_memory,gpu_uuid',
  '--format=csv,nounits',
];
export const UTILIZATION_ARGS = ['--query-gpu=uuid,utilization.gpu', '--format=csv,nounits'];

const NOT_AVAILABLE = /^\[.*\]$|^N\/A$|^$/;

/**
 * Parses `--query-compute-apps` CSV, matching columns by the header when there is one (any field
 * order, `used_gpu_memory` or `used_memory`, units such as `370 MiB` stripped) and assuming
 * COMPUTE_APPS_ARGS's order when there is none. Process names are workload-controlled and may hold
 * commas, so the name column takes whatever the other columns leave. A row that does not parse
 * throws: garbage must fail the sample, not read as "no processes".
 */
export function parseGpuProcesses(text: string): GpuProcess[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  let columns = ['pid', 'process_name', 'used_memory', 'gpu_uuid'];
  if (lines[0]?.includes('process_name')) {
    columns = lines
      .shift()!
      .split(',')
      .map((h) =>
        h
          .replace(/\[.*\]/, '')
          .trim()
          .replace('used_gpu_memory', 'used_memory'),
      );
  }
  const [pidAt, nameAt, memAt, uuidAt] = ['pid', 'process_name', 'used_memory', 'gpu_uuid'].map((name) =>
    columns.indexOf(name),
  ) as [number, number, number, number];
  if (pidAt < 0 || nameAt < 0)
    throw new InputError(`compute-apps header lacks pid or process_name: ${columns}`);
  const apps: GpuProcess[] = [];
  for (const line of lines) {
    if (/^No running processes found/i.test(line.trim())) continue;
    const raw = line.split(',');
    const extra = raw.length - columns.length;
    if (extra < 0)
      throw new InputError(`compute-apps row has ${raw.length} of ${columns.length} fields: ${line}`);
    const fields = [
      ...raw.slice(0, nameAt),
      raw.slice(nameAt, nameAt + extra + 1).join(','),
      ...raw.slice(nameAt + extra + 1),
    ].map((f) => f.trim());
    const pid = Number(fields[pidAt]);
    const mem = memAt < 0 ? '[N/A]' : fields[memAt]!.replace(/\s*MiB$/, '');
    const usedMiB = NOT_AVAILABLE.test(mem) ? undefined : Number(mem);
    if (!Number.isInteger(pid) || pid <= 0 || (usedMiB !== undefined && !Number.isFinite(usedMiB))) {
      throw new InputError(`compute-apps row does not parse: ${line}`);
    }
    apps.push({ pid, processName: fields[nameAt]!, usedMiB, gpuUuid: uuidAt < 0 ? '' : fields[uuidAt]! });
  }
  return apps;
}

/** Parses `uuid, utilization.gpu` rows into uuid → percent; `[N/A]` GPUs are left out. */
export function parseUtilization(text: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.includes('utilization.gpu')) continue;
    const [uuid, value] = line.split(',').map((f) => f.trim().replace(/\s*%$/, ''));
    if (!uuid || value === undefined || (!NOT_AVAILABLE.test(value) && !/^\d+(\.\d+)?$/.test(value))) {
      throw new InputError(`utilization row does not parse: ${line}`);
    }
    if (!NOT_AVAILABLE.test(value)) result.set(uuid, Number(value));
  }
  return result;
}
