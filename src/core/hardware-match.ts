import { MINIMUM_HARDWARE_FIELDS } from './artifact-key.js';
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
  mig: 'MIG profile',
  driverMajor: 'driver major',
  cuda: 'CUDA',
  tensorrt: 'TensorRT',
  hardwareCompatibility: 'TensorRT hardware compatibility',
  versionCompatible: 'TensorRT version-compatible',
  arch: 'CPU architecture',
  isa: 'CPU ISA',
};

/**
 * Fields that are minimums (artifact-key.ts MINIMUM_HARDWARE_FIELDS): the host may be newer. An
 * engine needs a driver at least as new as the one that built it (the CUDA runtime TensorRT was
 * built with needs that driver; TensorRT "Prerequisites" driver requirements and NVIDIA's "CUDA
 * Compatibility" guide), and any later driver runs it.
 */
const MINIMUMS = new Set(MINIMUM_HARDWARE_FIELDS);

/** "12.4" → [12, 4]; 550 → [550]; undefined when not a version. */
function versionParts(value: unknown): number[] | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
  if (!/^\d+(\.\d+)*$/.test(text)) return undefined;
  return text.split('.').map(Number);
}

/** a >= b, part by part; false when either is not a version (fail closed). */
function atLeast(a: unknown, b: unknown): boolean {
  const x = versionParts(a);
  const y = versionParts(b);
  if (!x || !y) return false;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * Fields the built record's own compatibility flags relax, and how the host must then satisfy
 * them. TensorRT's hardware-compatibility levels (developer guide "Hardware Compatibility"):
 * ampere+ runs on any GPU of compute capability 8.0 or later, so neither the model nor the exact
 * compute capability binds; same-compute-capability binds the compute capability but not the model.
 * A version-compatible plan (developer guide "Version Compatibility") loads on the TensorRT that
 * built it or a later one; kiln accepts later versions of the same major only, as the support
 * matrix states it ("within the same major version"), the stricter of NVIDIA's two wordings.
 */
function relaxed(built: Record<string, unknown>, host: Record<string, unknown>): Map<string, boolean> {
  const rules = new Map<string, boolean>();
  const level = built.hardwareCompatibility;
  if (level === 'ampere+') {
    rules.set('hardwareCompatibility', true);
    rules.set('gpu', true);
    rules.set('computeCapability', atLeast(host.computeCapability, '8.0'));
  } else if (level === 'same-compute-capability') {
    rules.set('hardwareCompatibility', true);
    rules.set('gpu', true);
  }
  if (built.versionCompatible === true) {
    rules.set('versionCompatible', true);
    const same = versionParts(built.tensorrt)?.[0] === versionParts(host.tensorrt)?.[0];
    rules.set('tensorrt', same && atLeast(host.tensorrt, built.tensorrt));
  }
  return rules;
}

/**
 * Every hardware tag of an engine that this host does not satisfy. The tags are the fingerprint
 * that went into the artifact key, so "exactly" is the rule, with three kinds of exception: the
 * driver is a minimum (a newer host driver runs the engine, an older one is refused), and a
 * TensorRT plan built hardware- or version-compatible loosens the GPU or TensorRT fields as its
 * flags say (relaxed above). Otherwise a TensorRT plan only loads on the TensorRT version and GPU
 * that built it, and an ORT-format CPU engine has NCHWc block sizes baked in for the ISA it was
 * optimized on (a wider host would run other kernels).
 */
export function compareHardware(
  built: Record<string, unknown>,
  host: Record<string, unknown>,
): HardwareMismatch[] {
  const rules = relaxed(built, host);
  const fields = [...new Set([...Object.keys(built), ...Object.keys(host)])].sort();
  return fields
    .filter((field) => {
      const rule = rules.get(field);
      if (rule !== undefined) return !rule;
      if (MINIMUMS.has(field) && built[field] !== undefined) return !atLeast(host[field], built[field]);
      if (MINIMUMS.has(field)) return false;
      return canonicalJson(built[field] ?? null) !== canonicalJson(host[field] ?? null);
    })
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
  if (MINIMUMS.has(m.field)) {
    return `${label} ${show(m.host)} on this host is older than ${show(m.built)}, the engine's build host: the engine needs at least ${show(m.built)} (update the driver, or rebuild on this host)`;
  }
  if (m.field === 'computeCapability' && m.built === undefined) {
    return `compute capability ${show(m.host)} (this host) is below 8.0, and the engine was built TensorRT hardware-compatible ampere+ (Ampere or later only)`;
  }
  return `${label} ${show(m.built)} (engine) vs ${show(m.host)} (this host)`;
}

/** A short one-line summary of a hardware record, e.g. `gpu sm 9.0, driver 550, CUDA 12.4, TensorRT 10.3.0`. */
export function describeHardware(hw: Record<string, unknown>): string {
  if (hw.kind === 'gpu') {
    const parts = [
      hw.gpu === undefined ? undefined : show(hw.gpu),
      hw.computeCapability === undefined ? undefined : `compute capability ${show(hw.computeCapability)}`,
      hw.mig === undefined ? undefined : `MIG ${show(hw.mig)}`,
      hw.hardwareCompatibility === undefined
        ? undefined
        : `hardware-compatible ${show(hw.hardwareCompatibility)}`,
      `driver ${show(hw.driverMajor)}`,
      `CUDA ${show(hw.cuda)}`,
      `TensorRT ${show(hw.tensorrt)}${hw.versionCompatible === true ? ' (version-compatible)' : ''}`,
    ].filter((p) => p !== undefined);
    return `GPU ${parts.join(', ')}`;
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
