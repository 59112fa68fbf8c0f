import path from 'node:path';
import { listDataFolder } from '../core/io/data-folder.js';
import { InputError } from '../core/errors.js';
import { assertTensorFits, DEFAULT_LIMITS, tensorBytes, type Limits } from '../core/limits.js';
import { npyFileName } from '../core/npy.js';
import { readNpy } from '../core/io/npy-files.js';
import { SeededRandom, synthesizeTensor } from '../core/seeded-random.js';
import { formatShape, isTensorDtype, sameShape, type HostTensor, type TensorDtype } from '../core/tensor.js';
import type { IoSpec } from '../backends/model/onnx-model.js';
import { attentionMask, pickValues } from './synthetic-values.js';

/** What synthetic values an input gets: uniform in [min, max], or only `values`, or a `mask`. */
export interface ValueRange {
  min: number;
  max: number;
  values?: readonly number[];
  mask?: boolean;
}

export interface GoldenInputRequest {
  /** `golden.inputs` folder from the config, if any: `<dir>/<profile>/[<sample>/]<input>.npy`. */
  dir?: string;
  profileName: string;
  /** Shapes the suite must cover: one for a fixed profile; opt, min and max for a range. */
  shapes: Array<Record<string, number[]>>;
  inputs: IoSpec[];
  samples: number;
  seed: number;
  /** Value ranges per input (from the preprocessing manifest); defaults per dtype otherwise. */
  ranges?: Record<string, ValueRange>;
  /** Memory bounds (default {@link DEFAULT_LIMITS}); checked before anything is allocated. */
  limits?: Pick<Limits, 'maxTensorBytes' | 'maxGoldenBytes'>;
}

export interface GoldenInputs {
  source: 'npy' | 'synthetic';
  samples: Array<Record<string, HostTensor>>;
}

/** Loads golden inputs from `.npy` files, or draws seeded synthetic ones when no folder is set. */
export async function goldenInputs(request: GoldenInputRequest): Promise<GoldenInputs> {
  if (request.dir) return { source: 'npy', samples: await loadNpySamples(request.dir, request) };
  assertSyntheticFits(request);
  const samples = Array.from({ length: request.samples }, (_, i) => {
    const rng = new SeededRandom(request.seed * 1_000_003 + i);
    const shapes = request.shapes[i % request.shapes.length]!;
    return Object.fromEntries(
      request.inputs.map((input) => [
        input.name,
        synthesize(rng, dtypeOf(input), shapes[input.name]!, request.ranges?.[input.name]),
      ]),
    );
  });
  return { source: 'synthetic', samples };
}

function synthesize(
  rng: SeededRandom,
  dtype: TensorDtype,
  shape: number[],
  spec: ValueRange | undefined,
): HostTensor {
  if (spec?.values) return pickValues(rng, dtype, shape, spec.values);
  if (spec?.mask) return attentionMask(rng, dtype, shape);
  return synthesizeTensor(rng, dtype, shape, spec ?? defaultRange(dtype));
}

/** Refuses, before drawing any, synthetic inputs that would exceed the tensor or golden-set bound. */
function assertSyntheticFits(request: GoldenInputRequest): void {
  const limits = request.limits ?? DEFAULT_LIMITS;
  let total = 0n;
  for (let i = 0; i < request.samples; i++) {
    const shapes = request.shapes[i % request.shapes.length]!;
    for (const input of request.inputs) {
      const shape = shapes[input.name]!;
      const where = `golden input '${input.name}' (profile '${request.profileName}')`;
      assertTensorFits(where, input.dtype, shape, limits.maxTensorBytes, 'limits.maxTensorBytes');
      total += tensorBytes(input.dtype, shape) ?? 0n;
    }
  }
  if (total > BigInt(limits.maxGoldenBytes)) {
    throw new InputError(
      `golden inputs of profile '${request.profileName}': ${request.samples} synthetic samples are ${total} bytes, over the ${limits.maxGoldenBytes}-byte limit (limits.maxGoldenBytes)`,
    );
  }
}

/** Sensible defaults: normalized floats; small non-negative ints, safe as token ids or indices. */
function defaultRange(dtype: TensorDtype): ValueRange {
  if (dtype === 'bool') return { min: 0, max: 1 };
  if (dtype === 'uint8') return { min: 0, max: 255 };
  if (dtype.startsWith('float')) return { min: 0, max: 1 };
  return { min: 0, max: 9 };
}

function dtypeOf(input: IoSpec): TensorDtype {
  if (!isTensorDtype(input.dtype)) {
    throw new InputError(
      `model input '${input.name}' has dtype ${input.dtype}, which kiln cannot synthesize or read`,
    );
  }
  return input.dtype;
}

async function loadNpySamples(
  dir: string,
  request: GoldenInputRequest,
): Promise<Array<Record<string, HostTensor>>> {
  const profileDir = path.join(dir, request.profileName);
  const what = `golden inputs for profile '${request.profileName}'`;
  const { dirs } = await listDataFolder(profileDir, what);
  const folders = dirs.length > 0 ? dirs.map((d) => path.join(profileDir, d)) : [profileDir];
  const limits = request.limits ?? DEFAULT_LIMITS;
  let left = limits.maxGoldenBytes;
  const samples: Array<Record<string, HostTensor>> = [];
  for (const folder of folders) {
    const sample: Record<string, HostTensor> = {};
    const { files } = await listDataFolder(folder, what);
    for (const input of request.inputs) {
      const name = npyFileName(input.name);
      const file = path.join(folder, name);
      if (!files.includes(name)) {
        throw new InputError(`${file}: golden input for model input '${input.name}' not found`);
      }
      const tensor = await readNpy(file, {
        root: dir,
        symlinks: 'none',
        maxBytes: Math.min(limits.maxTensorBytes, left),
        limitName:
          limits.maxTensorBytes < left
            ? 'limits.maxTensorBytes'
            : 'limits.maxGoldenBytes, for all files together',
      });
      left -= tensor.data.byteLength;
      sample[input.name] = checkTensor(tensor, input, request.shapes, file);
    }
    samples.push(sample);
  }
  return samples;
}

function checkTensor(
  tensor: HostTensor,
  input: IoSpec,
  shapes: GoldenInputRequest['shapes'],
  file: string,
): HostTensor {
  const expected = dtypeOf(input);
  if (tensor.dtype !== expected) {
    throw new InputError(
      `${file}: dtype ${tensor.dtype}, expected ${expected} for model input '${input.name}'`,
    );
  }
  const allowed = shapes.map((s) => s[input.name]!);
  if (!allowed.some((shape) => sameShape(shape, tensor.shape))) {
    throw new InputError(
      `${file}: shape ${formatShape(tensor.shape)}, expected ${allowed.map(formatShape).join(' or ')} for model input '${input.name}'`,
    );
  }
  return tensor;
}
