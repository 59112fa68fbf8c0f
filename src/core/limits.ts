/**
 * Memory bounds on what a pull request can make kiln allocate: one tensor (a profile shape, a
 * synthetic or golden input, a calibration file), all golden inputs of one profile, and one model's
 * calibration set. Checked before allocating, so an oversized shape or file costs one line, not the
 * runner. See docs/hostile-input.md.
 *
 * The runner sets the ceiling (defaults below, or KILN_MAX_* environment variables on the runner);
 * kiln.yaml's `limits` can only LOWER it, because kiln.yaml comes from the pull request.
 */
import { InputError } from './errors.js';
import { bytesPerElement, formatShape, isTensorDtype } from './tensor.js';

export interface Limits {
  maxTensorBytes: number;
  maxGoldenBytes: number;
  maxCalibrationBytes: number;
}

const GIB = 1024 ** 3;

/** Defaults sized for a runner with 16 GB of memory: kiln holds goldens and calibration at once. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxTensorBytes: 1 * GIB,
  maxGoldenBytes: 2 * GIB,
  maxCalibrationBytes: 4 * GIB,
};

/** The runner-side environment variable for each limit. */
export const LIMIT_ENV: Readonly<Record<keyof Limits, string>> = {
  maxTensorBytes: 'KILN_MAX_TENSOR_BYTES',
  maxGoldenBytes: 'KILN_MAX_GOLDEN_BYTES',
  maxCalibrationBytes: 'KILN_MAX_CALIBRATION_BYTES',
};

/**
 * The runner's ceiling: defaults, each replaced by its environment variable when set.
 * @throws InputError naming the variable when one is not a positive whole number of bytes.
 */
export function runnerLimits(env: NodeJS.ProcessEnv): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_ENV) as Array<keyof Limits>) {
    const text = env[LIMIT_ENV[key]];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      throw new InputError(`${LIMIT_ENV[key]}: found "${text}", expected a whole number of bytes >= 1`);
    }
    limits[key] = value;
  }
  return limits;
}

/** The bound in force: the runner's ceiling, lowered (never raised) by the config's `limits`. */
export function effectiveLimits(runner: Limits, config: Partial<Limits> | undefined): Limits {
  const pick = (key: keyof Limits) => Math.min(runner[key], config?.[key] ?? Infinity);
  return {
    maxTensorBytes: pick('maxTensorBytes'),
    maxGoldenBytes: pick('maxGoldenBytes'),
    maxCalibrationBytes: pick('maxCalibrationBytes'),
  };
}

/**
 * Bytes a tensor of `shape` and `dtype` takes, as a BigInt so that no shape can overflow the sum;
 * undefined for a dtype kiln does not hold in memory (strings), which other checks refuse.
 */
export function tensorBytes(dtype: string, shape: readonly number[]): bigint | undefined {
  if (!isTensorDtype(dtype)) return undefined;
  return shape.reduce((n, d) => n * BigInt(d), BigInt(bytesPerElement(dtype)));
}

/**
 * Refuses a tensor whose shape would need more than `max` bytes, before anything is allocated.
 * `where` names the key path or file; the message says which limit to lower the shape under.
 */
export function assertTensorFits(
  where: string,
  dtype: string,
  shape: readonly number[],
  max: number,
  limitName: string,
): void {
  const bytes = tensorBytes(dtype, shape);
  if (bytes !== undefined && bytes > BigInt(max)) {
    throw new InputError(
      `${where}: ${formatShape(shape)} ${dtype} is ${bytes} bytes, over the ${max}-byte limit (${limitName})`,
    );
  }
}
