import { InputError } from '../../src/core/errors.js';
import type { HostProbe } from '../../src/backends/host/host-probe.js';
import { majorOf } from '../../src/backends/host/tensorrt-version.js';

/** Actions runner release whose node24 support the kiln Action (`runs: using: node24`) needs. */
export const RUNNER_MIN_VERSION = '2.327.1';

/**
 * Datacenter families by product name, most specific first ("A10G" before "A10", "L40S" before
 * "L40" before "L4", "GH200" before "H200"). Workflows select GPUs by these, never by full names.
 */
const FAMILIES: [RegExp, string][] = [
  [/\bGH200\b/, 'gh200'],
  [/\bGB200\b/, 'gb200'],
  [/\bB200\b/, 'b200'],
  [/\bH200\b/, 'h200'],
  [/\bH100\b/, 'h100'],
  [/\bA100\b/, 'a100'],
  [/\bA10G\b/, 'a10g'],
  [/\bA10\b/, 'a10'],
  [/\bA40\b/, 'a40'],
  [/\bA30\b/, 'a30'],
  [/\bL40S\b/, 'l40s'],
  [/\bL40\b/, 'l40'],
  [/\bL4\b/, 'l4'],
  [/\bT4\b/, 't4'],
  [/\bV100\b/, 'v100'],
];

/**
 * A short GPU family label from a product name: `NVIDIA A10G` → `a10g`, `NVIDIA H100 80GB HBM3` →
 * `h100`, `Tesla T4` → `t4`. Other names become a slug without vendor words or memory sizes
 * (`NVIDIA GeForce RTX 2080 SUPER` → `rtx-2080-super`).
 */
export function gpuFamily(name: string): string {
  const known = FAMILIES.find(([pattern]) => pattern.test(name));
  if (known) return known[1];
  return name
    .replace(/\b(NVIDIA|GeForce|Tesla|Quadro)\b/gi, '')
    .replace(/\b\d+\s*GB\b/gi, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The labels the actions runner applies by itself (config.sh adds them unless told not to). */
function defaultLabels(probe: HostProbe): string[] {
  const os = { linux: 'linux', darwin: 'macos', win32: 'windows' }[probe.os.platform] ?? probe.os.platform;
  return ['self-hosted', os, probe.cpu.arch];
}

/**
 * Runner labels derived from a probe: the runner's defaults, then `gpu`, `sm86`, the GPU family,
 * `trt10`, `cuda12`, `mig`, and the CPU vector ISA (`cpu-avx2`, plus `cpu-avx512` where present;
 * an AVX-512 host can run AVX2 jobs, so it carries both).
 */
export function runnerLabels(probe: HostProbe): string[] {
  const labels = defaultLabels(probe);
  if (probe.gpus.length > 0) labels.push('gpu');
  for (const gpu of probe.gpus) {
    if (gpu.computeCapability) labels.push(`sm${gpu.computeCapability.replace('.', '')}`);
    labels.push(gpuFamily(gpu.name));
  }
  const trt = majorOf(probe.tensorrt?.version);
  if (trt !== null) labels.push(`trt${trt}`);
  const cuda = majorOf(probe.cuda);
  if (cuda !== null) labels.push(`cuda${cuda}`);
  if (probe.gpus.some((g) => g.migMode === 'enabled')) labels.push('mig');
  if (probe.cpu.isa.includes('avx512f')) labels.push('cpu-avx512');
  if (probe.cpu.isa.includes('avx2')) labels.push('cpu-avx2');
  return [...new Set(labels.filter((l) => l !== ''))];
}

export interface RegisterOptions {
  url: string;
  name: string;
  /** Left out on purpose by default: the printed line must never carry a secret. */
  token?: string;
}

/**
 * The exact actions-runner registration line for this host. Only kiln's labels go in `--labels`:
 * config.sh adds self-hosted, OS and architecture itself.
 */
export function registerCommand(probe: HostProbe, options: RegisterOptions): string {
  if (!/^https:\/\/\S+$/.test(options.url)) {
    throw new InputError(
      `--url must be the https:// URL of a repository or organization, got '${options.url}'`,
    );
  }
  if (!/^[A-Za-z0-9._-]+$/.test(options.name)) {
    throw new InputError(`--name must be letters, digits, '.', '_' or '-', got '${options.name}'`);
  }
  const defaults = new Set(defaultLabels(probe));
  const labels = runnerLabels(probe).filter((l) => !defaults.has(l));
  const parts = ['./config.sh', '--url', shellWord(options.url), '--token', options.token ?? '<TOKEN>'];
  if (labels.length > 0) parts.push('--labels', labels.join(','));
  parts.push('--name', options.name, '--unattended');
  return parts.join(' ');
}

/** Printed with the register line: what the command needs that the line cannot say. */
export const REGISTER_NOTE =
  `# Needs actions/runner >= ${RUNNER_MIN_VERSION} (node24 actions). Replace <TOKEN> with a registration ` +
  'token from Settings > Actions > Runners > New self-hosted runner.';

function shellWord(word: string): string {
  return /^[A-Za-z0-9._:/@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
