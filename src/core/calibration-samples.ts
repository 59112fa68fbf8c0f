/**
 * Loading calibration (and skew/drift) samples from a folder of `.npy` files.
 *
 * Folder layout (shared with `kiln skew` and `kiln drift`): `<dir>/<sample>/<input>.npy`, one
 * sample per subfolder; or `<dir>/<input>.npy`, one file per input holding a batch along dim 0;
 * or, for a one-input model, any `<dir>/*.npy`, one file per sample. File names follow
 * {@link npyFileName}.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from './errors.js';
import type { ModelInputSpec } from './manifest-load.js';
import { npyFileName, readNpy } from './npy.js';
import { formatShape, sameShape, type HostTensor } from './tensor.js';

export interface LoadedSample {
  inputs: Record<string, HostTensor>;
  /** The file each tensor came from, for messages. */
  files: Record<string, string>;
}

/** Reads `.npy` samples of `inputNames` from `dir` (layouts in the module comment), sorted by name. */
export async function readNpySamples(dir: string, inputNames: readonly string[]): Promise<LoadedSample[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new InputError(`${dir}: cannot read sample folder (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  });
  const names = (dirs: boolean) =>
    entries
      .filter((e) => (dirs ? e.isDirectory() : e.isFile() && e.name.endsWith('.npy')))
      .map((e) => e.name)
      .sort();
  const [subdirs, files] = [names(true), names(false)];
  const wanted = inputNames.map(npyFileName);
  const folders = subdirs.length > 0 ? subdirs.map((d) => path.join(dir, d)) : [];
  if (folders.length === 0 && wanted.every((f) => files.includes(f))) folders.push(dir);
  if (folders.length === 0 && files.length > 0 && inputNames.length === 1) {
    return Promise.all(
      files.map(async (f) => ({
        inputs: { [inputNames[0]!]: await readNpy(path.join(dir, f)) },
        files: { [inputNames[0]!]: path.join(dir, f) },
      })),
    );
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
      sample.inputs[name] = await readNpy(file);
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
): Promise<{ samples: Array<Record<string, HostTensor>>; files: string[] }> {
  const loaded = await readNpySamples(
    dir,
    inputs.map((i) => i.name),
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
