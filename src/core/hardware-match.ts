import { canonicalJson } from './canonical-json.js';

/** One hardware tag that differs between where an engine was built and where it would run. */
export interface HardwareMismatch {
  field: string;
  built: unknown;
  host: unknown;
}

// Names users know from nvidia-smi, trtexec and /proc/cpuinfo.
const LABELS: Record<string, string> = {
  kind: 'device kind',
  gpu: 'GPU model',
  computeCapability: 'compute capability',
  driverMajor: 'driver major',
  cuda: 'CUDA',
  tensorrt: 'TensorRT',
  arch: 'CPU architecture',
  isa: 'CPU ISA',
};

/**
 * Every hardware tag of an engine that this host does not reproduce exactly. The tags are the
 * fingerprint that went into the artifact key, so "exactly" is the rule: a TensorRT plan only loads
 * on the TensorRT version and compute capability that built it, and an ORT-format CPU engine has
 * NCHWc block sizes baked in for the ISA it was optimized on (a wider host would run other kernels).
 */
export function compareHardware(
  built: Record<string, unknown>,
  host: Record<string, unknown>,
): HardwareMismatch[] {
  const fields = [...new Set([...Object.keys(built), ...Object.keys(host)])].sort();
  return fields
    .filter((field) => canonicalJson(built[field] ?? null) !== canonicalJson(host[field] ?? null))
    .map((field) => ({ field, built: built[field], host: host[field] }));
}

/** `compute capability 8.6 (engine) vs 9.0 (this host)`; ISA lists show only what differs. */
export function describeMismatch(m: HardwareMismatch): string {
  const label = LABELS[m.field] ?? m.field;
  if (Array.isArray(m.built) && Array.isArray(m.host)) {
    const host = new Set(m.host.map(String));
    const built = new Set(m.built.map(String));
    const missing = [...built].filter((f) => !host.has(f));
    const extra = [...host].filter((f) => !built.has(f));
    const parts = [
      missing.length > 0 ? `engine needs ${missing.join(', ')} which this host lacks` : '',
      extra.length > 0 ? `this host adds ${extra.join(', ')} (other kernels and block sizes)` : '',
    ].filter(Boolean);
    return `${label}: ${parts.join('; ')}`;
  }
  return `${label} ${show(m.built)} (engine) vs ${show(m.host)} (this host)`;
}

/** A short one-line summary of a hardware record, e.g. `gpu sm 9.0, driver 550, CUDA 12.4, TensorRT 10.3.0`. */
export function describeHardware(hw: Record<string, unknown>): string {
  if (hw.kind === 'gpu') {
    return `GPU ${hw.gpu === undefined ? '' : `${show(hw.gpu)}, `}compute capability ${show(hw.computeCapability)}, driver ${show(hw.driverMajor)}, CUDA ${show(hw.cuda)}, TensorRT ${show(hw.tensorrt)}`;
  }
  if (hw.kind === 'cpu') {
    const isa = Array.isArray(hw.isa) ? hw.isa : [];
    return `CPU ${show(hw.arch)} with ${isa.length} ISA flags (${isa.slice(-3).join(', ')}${isa.length > 3 ? ', …' : ''})`;
  }
  return canonicalJson(hw);
}

function show(value: unknown): string {
  return value === undefined || value === null ? 'none' : String(value);
}
