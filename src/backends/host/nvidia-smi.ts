import type { CommandOutput } from './command-runner.js';

/** One GPU as nvidia-smi reports it; null where the driver printed `[N/A]` or the field is absent. */
export interface NvidiaGpu {
  index: number;
  name: string;
  uuid: string | null;
  /** "major.minor", e.g. "9.0". */
  computeCapability: string | null;
  /** Where the compute capability came from: the driver, or kiln's name table (old drivers). */
  computeCapabilitySource: 'nvidia-smi' | 'name-table' | null;
  memoryMiB: number | null;
  driverVersion: string | null;
  migMode: 'enabled' | 'disabled' | null;
}

/** The fields kiln asks for; drivers before 510 reject `compute_cap` (host-probe falls back to `-q`). */
export const GPU_QUERY_FIELDS = [
  'index',
  'name',
  'uuid',
  'compute_cap',
  'memory.total',
  'driver_version',
  'mig.mode.current',
];
/**
 * Arguments for a CSV query. The header is kept (no `noheader`) so columns are matched by name:
 * a driver that reorders, renames (`used_memory` vs `used_gpu_memory`) or drops a field cannot
 * shift values into the wrong column.
 */
export function queryArgs(kind: 'gpu' | 'compute-apps', fields: readonly string[]): string[] {
  return [`--query-${kind}=${fields.join(',')}`, '--format=csv,nounits'];
}

/** nvidia-smi's aliases (`--help-query-*`), folded so either spelling finds the column. */
const ALIASES: Record<string, string> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  used_gpu_memory: 'used_memory',
};

/**
 * Parses nvidia-smi CSV into rows keyed by field name. With `fields`, the text has no header
 * (`noheader`); otherwise the first line is the header. Units (`81559 MiB`, `[MiB]` in headers) and
 * bracketed non-values (`[N/A]`, `[Not Supported]`, `[Requested functionality has been deprecated]`)
 * are normalized: a value nvidia-smi cannot give reads as null.
 */
export function parseCsv(text: string, fields?: readonly string[]): Record<string, string | null>[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const header = fields ?? lines.shift()?.split(',').map(headerName) ?? [];
  return lines.map((line) => {
    const cells = line.split(',').map(cellValue);
    return Object.fromEntries(header.map((name, i) => [ALIASES[name] ?? name, cells[i] ?? null]));
  });
}

function headerName(cell: string): string {
  const name = cell.replace(/\[[^\]]*\]/g, '').trim();
  return ALIASES[name] ?? name;
}

function cellValue(cell: string): string | null {
  const value = cell.trim();
  if (value === '' || value === 'N/A' || /^\[.*\]$/.test(value)) return null;
  return value.replace(/\s+(MiB|%|W|MHz)$/, '');
}

/** GPUs from `--query-gpu` CSV (with header, or `noheader` when `fields` is given). */
export function parseGpuQuery(text: string, fields?: readonly string[]): NvidiaGpu[] {
  return parseCsv(text, fields).flatMap((row, i) => {
    const name = row['name'];
    if (!name) return [];
    const cc = row['compute_cap'] ?? null;
    return [
      {
        index: toInt(row['index']) ?? i,
        name,
        uuid: row['uuid'] ?? null,
        computeCapability: cc,
        computeCapabilitySource: cc ? 'nvidia-smi' : null,
        memoryMiB: toInt(row['memory.total']),
        driverVersion: row['driver_version'] ?? null,
        migMode: migMode(row['mig.mode.current']),
      } satisfies NvidiaGpu,
    ];
  });
}

/** What `nvidia-smi -q` says: driver, CUDA (the highest CUDA the driver supports) and its GPUs. */
export interface SmiQuery {
  driverVersion: string | null;
  cudaVersion: string | null;
  gpus: Omit<NvidiaGpu, 'driverVersion'>[];
}

/**
 * Parses `nvidia-smi -q` text. Only `-q` and the table header carry the CUDA version, and `-q` lists
 * GPUs on drivers whose `--query-gpu` lacks `compute_cap`; it never prints the compute capability.
 */
export function parseSmiQuery(text: string): SmiQuery {
  const result: SmiQuery = { driverVersion: null, cudaVersion: null, gpus: [] };
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const indent = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (/^GPU [0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-9A-Fa-f]+$/.test(line)) {
      result.gpus.push({
        index: result.gpus.length,
        name: '',
        uuid: null,
        computeCapability: null,
        computeCapabilitySource: null,
        memoryMiB: null,
        migMode: null,
      });
      continue;
    }
    const match = /^([^:]+?)\s*:\s*(.*)$/.exec(line);
    if (!match) {
      if (indent <= 4 && line !== '') section = line;
      continue;
    }
    const [, key, rawValue] = match as unknown as [string, string, string];
    const value = rawValue === 'N/A' || rawValue === 'Not Found' || rawValue === '' ? null : rawValue;
    const gpu = result.gpus.at(-1);
    // Driver 610 renamed these (KMD Version, CUDA UMD Version) and suffixes the old keys with
    // `[Deprecated; …]`; the new keys win, the old ones are read for their leading version.
    if (indent === 0 && key === 'KMD Version') result.driverVersion = leadingVersion(value);
    else if (indent === 0 && key === 'CUDA UMD Version') result.cudaVersion = leadingVersion(value);
    else if (indent === 0 && key === 'Driver Version') result.driverVersion ??= leadingVersion(value);
    else if (indent === 0 && key === 'CUDA Version') result.cudaVersion ??= leadingVersion(value);
    else if (gpu && indent === 4) {
      section = '';
      if (key === 'Product Name') gpu.name = value ?? '';
      else if (key === 'GPU UUID') gpu.uuid = value;
    } else if (gpu && indent === 8 && key === 'Current' && section === 'MIG Mode')
      gpu.migMode = migMode(value);
    else if (gpu && indent === 8 && key === 'Total' && section === 'FB Memory Usage')
      gpu.memoryMiB = toInt(value);
  }
  return result;
}

/** `13.3` from `13.3 [Deprecated; will be removed in CUDA 14.0. …]`; null when no version leads. */
function leadingVersion(value: string | null): string | null {
  return value === null ? null : (/^[0-9]+(\.[0-9]+)*/.exec(value)?.[0] ?? null);
}

/**
 * Driver and CUDA version from the banner of plain `nvidia-smi`: `Driver Version: x  CUDA Version: y`,
 * or from driver 610 on `KMD Version: x  CUDA UMD Version: y`.
 */
export function parseSmiTableHeader(text: string): {
  driverVersion: string | null;
  cudaVersion: string | null;
} {
  return {
    driverVersion: /(?:Driver|KMD) Version:\s*([0-9][0-9.]*)/.exec(text)?.[1] ?? null,
    cudaVersion: /CUDA (?:UMD )?Version:\s*([0-9][0-9.]*)/.exec(text)?.[1] ?? null,
  };
}

/** Why an nvidia-smi call failed, from its own words. */
export type SmiFailure = 'driver-unreachable' | 'field-unsupported' | 'other';

/** Classifies a failed nvidia-smi run; the driver messages are the ones nvidia-smi prints verbatim. */
export function classifySmiFailure(output: CommandOutput): SmiFailure {
  const text = `${output.stdout}\n${output.stderr}`;
  if (/couldn't communicate with the NVIDIA driver|Failed to initialize NVML/i.test(text)) {
    return 'driver-unreachable';
  }
  if (/is not a valid field to query/i.test(text)) return 'field-unsupported';
  return 'other';
}

/** The first non-empty line nvidia-smi printed, for a one-line finding. */
export function firstOutputLine(output: CommandOutput): string {
  const text = `${output.stdout}\n${output.stderr}`;
  return (
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? `exit code ${output.exitCode}`
  );
}

/**
 * Compute capability by product name, only for drivers older than 510 whose `--query-gpu` rejects
 * `compute_cap` (`Field "compute_cap" is not a valid field to query.`). Source: NVIDIA's table at
 * https://developer.nvidia.com/cuda-gpus. Order matters: more specific names first.
 */
const CC_BY_NAME: [RegExp, string][] = [
  [/\b(GB200|B200|B100)\b/, '10.0'],
  [/\bRTX 50\d\d\b|Blackwell/, '12.0'],
  [/\b(GH200|H200|H100|H800|H20)\b/, '9.0'],
  [/\b(L40S|L40|L4|L20)\b|\bRTX 40\d\d\b|Ada Generation|\bRTX \d+ Ada\b/, '8.9'],
  [/\bOrin\b/, '8.7'],
  [/\b(A100|A800|A30)\b/, '8.0'],
  [/\b(A10G|A10|A40|A16|A2)\b|\bRTX 30\d\d\b|\bRTX A\d+\b/, '8.6'],
  [/\bT4\b|\bRTX 20\d\d\b|\bTITAN RTX\b|\bQuadro RTX\b|\bGTX 16\d\d\b/, '7.5'],
  [/\bV100\b|\bTITAN V\b/, '7.0'],
  [/\bP100\b/, '6.0'],
  [/\b(P40|P4)\b|\bGTX 10\d\d\b/, '6.1'],
];

/** Compute capability for a product name from NVIDIA's published table, or null if unknown. */
export function computeCapabilityFromName(name: string): string | null {
  return CC_BY_NAME.find(([pattern]) => pattern.test(name))?.[1] ?? null;
}

function migMode(value: string | null | undefined): 'enabled' | 'disabled' | null {
  if (!value) return null;
  if (/^enabled$/i.test(value)) return 'enabled';
  if (/^disabled$/i.test(value)) return 'disabled';
  return null;
}

function toInt(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : null;
}
