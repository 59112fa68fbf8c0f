/**
 * Loading calibration (and skew/drift) samples from a folder of `.npy` files.
 *
 * Folder layout (shared with `kiln skew` and `kiln drift`): `<dir>/<sample>/<input>.npy`, one
 * sample per subfolder; or `<dir>/<input>.npy`, one file per input holding a batch along dim 0;
 * or, for a one-input model, any `<dir>/*.npy`, one file per sample. File names follow
 * {@link npyFileName}.
 */
import path from 'node:path';
import { listDataFolder } from './data-folder.js';
import { InputError } from '../errors.js';
import { DEFAULT_LIMITS, LIMIT_ENV } from '../limits.js';
import type { ModelInputSpec } from './manifest-load.js';
import { npyFileName } from '../npy.js';
import { readNpy } from './npy-files.js';
import { formatShape, sameShape, type HostTensor } from '../tensor.js';

export interface LoadedSample {
  inputs: Record<string, HostTensor>;
  /** The file each tensor came from, for messages. */
  files: Record<string, string>;
}

/** How much one sample file and the whole set may hold; the set's name says which limit to change. */
export interface SampleBounds {
  maxTensorBytes: number;
  maxTotalBytes: number;
  /** The setting behind `maxTotalBytes`, e.g. `limits.maxCalibrationBytes`. */
  totalName: string;
}

const DEFAULT_BOUNDS: SampleBounds = {
  maxTensorBytes: DEFAULT_LIMITS.maxTensorBytes,
  maxTotalBytes: DEFAULT_LIMITS.maxCalibrationBytes,
  totalName: `limits.maxCalibrationBytes or ${LIMIT_ENV.maxCalibrationBytes}`,
};

/**
 * Reads `.npy` samples of `inputNames` from `dir` (layouts in the module comment), sorted by name.
 * Every file must be a plain file inside `dir` (no symlinks, FIFOs or devices: data-folder.ts), and
 * each file is checked against what is left of `bounds.maxTotalBytes` before it is read.
 */
export async function readNpySamples(
  dir: string,
  inputNames: readonly string[],
  bounds: SampleBounds = DEFAULT_BOUNDS,
): Promise<LoadedSample[]> {
  let left = bounds.maxTotalBytes;
  const read = async (file: string): Promise<HostTensor> => {
    const tensorBound = bounds.maxTensorBytes < left;
    const t = await readNpy(file, {
      root: dir,
      symlinks: 'none',
      maxBytes: Math.min(bounds.maxTensorBytes, left),
      limitName: tensorBound ? 'limits.maxTensorBytes' : `${bounds.totalName}, for all files together`,
    });
    left -= t.data.byteLength;
    return t;
  };
  const listing = await listDataFolder(dir, 'sample folder');
  const subdirs = listing.dirs;
  const files = listing.files.filter((f) => f.endsWith('.npy'));
  const wanted = inputNames.map(npyFileName);
  const folders = subdirs.length > 0 ? subdirs.map((d) => path.join(dir, d)) : [];
  if (folders.length === 0 && wanted.every((f) => files.includes(f))) folders.push(dir);
  if (folders.length === 0 && files.length > 0 && inputNames.length === 1) {
    const samples: LoadedSample[] = [];
    for (const f of files) {
      const file = path.join(dir, f);
      samples.push({ inputs: { [inputNames[0]!]: await read(file) }, files: { [inputNames[0]!]: file } });
    }
    return samples;
  }
  if (folders.length === 0) {
    const missing =
      files.length === 0 ? 'no .npy files' : `no ${wanted.filter((f) => !files.includes(f)).join(', ')}`;
    throw new InputError(`${dir}: ${missing}, expected <sample>/<input>.npy folders or ${wanted.join(', ')}`);
  }
  const samples: LoadedSample[] = [];
  for (const folder of folders) {
    const sample: LoadedSample = { inputs: {}, files: {} };
    for (const [i, name] of inputNames.entries()) {
      const file = path.join(folder, wanted[i]!);
      sample.inputs[name] = await read(file);
      sample.files[name] = file;
    }
    samples.push(sample);
  }
  return samples;
}

/**
 * Calibration samples at the profile's shapes: a file of exactly the profile shape is one sample,
 * a batch file (`N × rest` with N a multiple of the profile's batch) is split into N / batch.
 * Wrong dtype or shape is an InputError naming the file.
 */
export async function loadCalibrationSamples(
  dir: string,
  inputs: readonly ModelInputSpec[],
  shapes: Readonly<Record<string, readonly number[]>>,
  bounds: SampleBounds = DEFAULT_BOUNDS,
): Promise<{ samples: Array<Record<string, HostTensor>>; files: string[] }> {
  const loaded = await readNpySamples(
    dir,
    inputs.map((i) => i.name),
    bounds,
  );
  const samples: Array<Record<string, HostTensor>> = [];
  for (const sample of loaded) {
    const parts = inputs.map((spec) => {
      const [t, file, want] = [sample.inputs[spec.name]!, sample.files[spec.name]!, shapes[spec.name]!];
      if (t.dtype !== spec.dtype) {
        throw new InputError(
          `${file}: dtype ${t.dtype}, expected ${spec.dtype} for model input '${spec.name}'`,
        );
      }
      const batch = want[0] ?? 1;
      const batched =
        t.shape.length === want.length &&
        sameShape(t.shape.slice(1), want.slice(1)) &&
        t.shape[0]! % batch === 0;
      if (!batched || t.shape[0] === 0) {
        throw new InputError(
          `${file}: shape ${formatShape(t.shape)}, expected the profile shape ${formatShape(want)} or a batch N×${formatShape(want.slice(1))} for model input '${spec.name}'`,
        );
      }
      const step = t.data.length / (t.shape[0]! / batch);
      return Array.from({ length: t.shape[0]! / batch }, (_, k) => ({
        ...t,
        shape: [...want],
        data: t.data.slice(k * step, (k + 1) * step),
      }));
    });
    const counts = new Set(parts.map((p) => p.length));
    if (counts.size > 1) {
      throw new InputError(
        `${Object.values(sample.files).join(', ')}: batch sizes differ between inputs (${[...counts].join(' vs ')})`,
      );
    }
    parts[0]!.forEach((_, k) =>
      samples.push(Object.fromEntries(inputs.map((spec, i) => [spec.name, parts[i]![k]!]))),
    );
  }
  return { samples, files: loaded.flatMap((s) => Object.values(s.files)) };
}
