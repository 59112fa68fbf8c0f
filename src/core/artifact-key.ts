import { canonicalJson } from './canonical-json.js';
import { sha256 } from './hashing.js';
import type { Precision } from './results.js';

/** Bumped when kiln changes how it compiles, so old engines are never mistaken for new ones. */
export const COMPILE_OPTIONS_VERSION = 1;

/** int8 calibration as the key sees it: the data by hash, plus how it is turned into ranges. */
export interface KeyCalibration {
  dataSha256: string;
  method: string;
  percentile: number;
}

export type ProfileShapes =
  | { shapes: Record<string, number[]> }
  | { min: Record<string, number[]>; opt: Record<string, number[]>; max: Record<string, number[]> };

/**
 * Everything an engine depends on (docs/architecture.md "Artifact key"). Anything not in here cannot change
 * the key: profile names, model names, file paths and mtimes are labels, not inputs.
 */
export interface KeyInputs {
  modelSha256: string;
  /**
   * sha256 of each external-data file the model's tensors live in, by location relative to the
   * model's folder. Absent or empty for a self-contained model, whose key it then leaves unchanged.
   */
  externalDataSha256?: Record<string, string>;
  manifestSha256: string | null;
  profile: ProfileShapes;
  precision: Precision;
  /** int8 only (ignored otherwise): everything of the calibration that reaches the compiler. */
  calibration: KeyCalibration | null;
  backend: { name: string; version: string };
  /**
   * Hardware compatibility fingerprint: what makes an engine non-portable. Fields in
   * MINIMUM_HARDWARE_FIELDS (driver) are recorded with the engine but not keyed.
   */
  hardware: Record<string, unknown>;
  /** Backend compile options that change the engine, plus COMPILE_OPTIONS_VERSION. */
  compileOptions: Record<string, unknown>;
}

/**
 * Hardware fields that are recorded minimums, not identities: an engine needs a driver at least as
 * new as the one it was built on, so a driver update must neither rebuild nor refuse it. They stay in
 * `tags.hardware` (hardware-match.ts compares them as minimums) but never reach the key.
 */
export const MINIMUM_HARDWARE_FIELDS: readonly string[] = ['driverMajor', 'cuda'];

/** The hardware fingerprint as the key sees it: without the recorded minimums. */
export function keyedHardware(hardware: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(hardware).filter(([field]) => !MINIMUM_HARDWARE_FIELDS.includes(field)),
  );
}

/** The artifact key: sha256 of the canonical JSON of the key inputs. */
export function artifactKey(inputs: KeyInputs): string {
  return sha256(canonicalJson(keyDocument(inputs)));
}

/** The exact document that is hashed, stored in artifact.json so a key can be explained later. */
export function keyDocument(inputs: KeyInputs): Record<string, unknown> {
  const external = inputs.externalDataSha256 ?? {};
  return {
    model: inputs.modelSha256,
    // Only present for models with external data, so every self-contained model keeps its key.
    ...(Object.keys(external).length > 0 ? { externalData: external } : {}),
    manifest: inputs.manifestSha256,
    profile:
      'shapes' in inputs.profile
        ? { shapes: inputs.profile.shapes }
        : {
            min: inputs.profile.min,
            opt: inputs.profile.opt,
            max: inputs.profile.max,
          },
    precision: inputs.precision,
    // Calibration only shapes int8 engines; keeping it out of fp32/fp16 keys lets a calibration
    // refresh reuse their engines.
    // method and percentile are hashed too: percentile → minmax is a different engine.
    calibration:
      inputs.precision === 'int8' && inputs.calibration
        ? {
            data: inputs.calibration.dataSha256,
            method: inputs.calibration.method,
            percentile: inputs.calibration.percentile,
          }
        : null,
    backend: inputs.backend,
    hardware: keyedHardware(inputs.hardware),
    compileOptions: { ...inputs.compileOptions, kilnCompileOptionsVersion: COMPILE_OPTIONS_VERSION },
  };
}
