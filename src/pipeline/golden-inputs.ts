import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import { npyFileName, readNpy } from '../core/npy.js';
import { SeededRandom, synthesizeTensor } from '../core/seeded-random.js';
import { formatShape, isTensorDtype, sameShape, type HostTensor, type TensorDtype } from '../core/tensor.js';
import type { IoSpec } from '../backends/onnx-model.js';

export interface ValueRange {
  min: number;
  max: number;
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
}

export interface GoldenInputs {
  source: 'npy' | 'synthetic';
  samples: Array<Record<string, HostTensor>>;
}

/** Loads golden inputs from `.npy` files, or draws seeded synthetic ones when no folder is set. */
export async function goldenInputs(request: GoldenInputRequest): Promise<GoldenInputs> {
  if (request.dir) return { source: 'npy', samples: await loadNpySamples(request.dir, request) };
  const samples = Array.from({ length: request.samples }, (_, i) => {
    const rng = new SeededRandom(request.seed * 1_000_003 + i);
    const shapes = request.shapes[i % request.shapes.length]!;
    return Object.fromEntries(
      request.inputs.map((input) => [
        input.name,
        synthesizeTensor(
          rng,
          dtypeOf(input),
          shapes[input.name]!,
          request.ranges?.[input.name] ?? defaultRange(dtypeOf(input)),
        ),
      ]),
    );
  });
  return { source: 'synthetic', samples };
}

/** Sensible defaults: normalized floats; small non-negative ints, safe as token ids or indices. */
function defaultRange(dtype: TensorDtype): ValueRange {
  if (dtype === 'bool') return { min: 0, max: 1 };
  if (dtype === 'uint8') return { min: 0, max: 255 };
  if (dtype.startsWith('int')) return { min: 0, max: 9 };
  return { min: 0, max: 1 };
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
  const entries = await readdir(profileDir, { withFileTypes: true }).catch((error: unknown) => {
    throw new InputError(`${profileDir}: golden inputs for profile '${request.profileName}' not found`, {
      cause: error,
    });
  });
  const sampleDirs = entries
    .filter((e) => e.isDirectory())
    .map((e) => path.join(profileDir, e.name))
    .sort();
  const folders = sampleDirs.length > 0 ? sampleDirs : [profileDir];
  const samples: Array<Record<string, HostTensor>> = [];
  for (const folder of folders) {
    const sample: Record<string, HostTensor> = {};
    for (const input of request.inputs) {
      const file = path.join(folder, npyFileName(input.name));
      if (
        !(await stat(file).then(
          (s) => s.isFile(),
          () => false,
        ))
      ) {
        throw new InputError(`${file}: golden input for model input '${input.name}' not found`);
      }
      sample[input.name] = checkTensor(await readNpy(file), input, request.shapes, file);
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
