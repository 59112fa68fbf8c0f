import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { exportTritonRepository } from '../../store/triton/export.js';
import { TRITON_RELEASE_PATTERN } from '../../store/triton/releases.js';
import type { CommandArgs } from '../command-spec.js';
import type { tritonOptions } from '../specs/triton.js';

export const tritonUsage =
  'kiln triton RELEASE --out REPO [--triton-version N] [--triton-release YY.MM] [--backend B]...   (RELEASE: <releases>/<model>/<version>)';

/**
 * `kiln triton`: a published release as a Triton model repository, one Triton model per profile
 * and precision; the release's hashes are re-checked first, and nothing is half-written.
 */
export async function tritonCommand({
  values,
  positionals,
}: CommandArgs<typeof tritonOptions>): Promise<number> {
  if (positionals.length !== 1) {
    throw new InputError(
      `kiln triton: expected one RELEASE folder, found ${positionals.length} (${tritonUsage})`,
    );
  }
  if (!values.out) throw new InputError('kiln triton: --out REPO is required (the Triton model repository)');
  const models = await exportTritonRepository({
    release: path.resolve(positionals[0]!),
    repository: path.resolve(values.out),
    ...(values['triton-version'] !== undefined
      ? { tritonVersion: parseTritonVersion(values['triton-version']) }
      : {}),
    ...(values.backend ? { backends: values.backend } : {}),
    ...(values['triton-release'] !== undefined
      ? { tritonRelease: parseTritonRelease(values['triton-release']) }
      : {}),
  });
  for (const model of models) {
    process.stdout.write(
      `${model.name}: version ${model.version} (${model.keys.length} engines) → ${model.dir}\n`,
    );
  }
  return 0;
}

/** Triton version folders are positive integers. */
export function parseTritonVersion(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InputError(
      `--triton-version ${text}: expected a positive whole number (Triton version folder)`,
    );
  }
  return n;
}

/** Triton container releases are named YY.MM ("25.01"). */
export function parseTritonRelease(text: string): string {
  if (!TRITON_RELEASE_PATTERN.test(text)) {
    throw new InputError(`--triton-release ${text}: expected a Triton container release like 25.01`);
  }
  return text;
}
