import type { KeyInputs } from '../core/artifact-key.js';
import type { CompileRequest } from '../backends/backend.js';

/**
 * What `backend.compile()` is asked for, less the staging folder: the one value the artifact key and
 * the compile request are both made from, so nothing can reach the compiler without changing the key.
 */
export type CompileSpec = Omit<CompileRequest, 'outDir'>;

/** Facts about the spec's files and the host that the key hashes instead of paths and samples. */
export interface KeyFacts {
  /** sha256 of the file at `spec.modelPath`. */
  modelSha256: string;
  /** sha256 of each external-data file of the model, by location; empty for a self-contained model. */
  externalDataSha256: Record<string, string>;
  manifestSha256: string | null;
  /** sha256 of the calibration data tree `spec.calibration.samples` were loaded from. */
  calibrationSha256: string | null;
  backend: { name: string; version: string };
  hardware: Record<string, unknown>;
  compileOptions: Record<string, unknown>;
}

/**
 * How each compile request field enters the key. Typed over every key of CompileRequest, so a field
 * added to the request does not compile until someone decides here how it changes the key.
 */
const REQUEST_FIELDS_IN_KEY: { [K in keyof Required<CompileRequest>]: string } = {
  modelPath: 'model (its sha256 and that of each external-data file; the path is a label)',
  profile: 'profile (its shapes; the name is a label)',
  precision: 'precision',
  calibration: 'calibration (data sha256, method, percentile)',
  outDir: 'not keyed: the staging folder',
};

/** The fields of a compile request and how the key covers them (for docs and the property test). */
export const compileRequestFields = Object.freeze({ ...REQUEST_FIELDS_IN_KEY });

/** The key inputs of `spec`: every field of it that shapes the engine, by value or by hash. */
export function keyInputsFor(spec: CompileSpec, facts: KeyFacts): KeyInputs {
  const { profile, precision, calibration } = spec;
  if (calibration && !facts.calibrationSha256) {
    throw new Error('compile spec carries calibration samples but no calibration data sha256 to key them by');
  }
  return {
    modelSha256: facts.modelSha256,
    externalDataSha256: facts.externalDataSha256,
    manifestSha256: facts.manifestSha256,
    profile:
      'shapes' in profile
        ? { shapes: profile.shapes }
        : { min: profile.min, opt: profile.opt, max: profile.max },
    precision,
    calibration: calibration
      ? {
          dataSha256: facts.calibrationSha256!,
          method: calibration.method,
          percentile: calibration.percentile,
        }
      : null,
    backend: facts.backend,
    hardware: facts.hardware,
    compileOptions: facts.compileOptions,
  };
}

/** The request `backend.compile()` gets: the spec the key was made from, writing into `outDir`. */
export function compileRequest(spec: CompileSpec, outDir: string): CompileRequest {
  return { ...spec, outDir };
}
