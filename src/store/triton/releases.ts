/**
 * What a Triton Inference Server container release bundles, for checking a release's engines
 * against the server that will load them. A TensorRT plan loads only in the TensorRT version that
 * built it (TensorRT developer guide, "Version Compatibility": unless built version-compatible, and
 * then only in the same or a later version of the same major). Pure: a table and comparisons.
 */
import { InputError } from '../../core/errors.js';

/**
 * TensorRT in the `nvcr.io/nvidia/tritonserver:<release>-py3` container, from NVIDIA's release
 * notes (https://docs.nvidia.com/deeplearning/triton-inference-server/release-notes/rel-YY-MM.html,
 * "Contents of the Triton Inference Server container") and the Frameworks Support Matrix
 * (https://docs.nvidia.com/deeplearning/frameworks/support-matrix/). 25.01 and 25.02 (10.8.0.43)
 * also match the trtllm table of triton-inference-server/server docs/introduction/compatibility.md.
 * Only releases listed here can be targeted; add a row from the release notes to target another.
 */
export const TRITON_TENSORRT: Readonly<Record<string, string>> = {
  // The last TensorRT 8.6 release the table holds (Frameworks Support Matrix: 23.xx–24.01 bundle
  // 8.6.1.6); like the rows below it was not re-read from a release note in this repository.
  '24.01': '8.6.1.6',
  '24.05': '10.0.1.6',
  '24.06': '10.1.0.27',
  '24.07': '10.2.0.19',
  '24.08': '10.3.0.26',
  '24.09': '10.4.0.26',
  '24.10': '10.5.0.18',
  '24.11': '10.6.0.26',
  '24.12': '10.7.0.23',
  '25.01': '10.8.0.43',
  '25.02': '10.8.0.43',
};

/** A Triton release as kiln.yaml's `triton.release` or `--triton-release` names it ("25.01"). */
export const TRITON_RELEASE_PATTERN = /^\d{2}\.\d{2}$/;

/** Numeric parts of a dotted version; null when any part is not a number. */
function parts(version: string): number[] | null {
  const numbers = version.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
  return numbers.some(Number.isNaN) ? null : numbers;
}

/** Compares the first `depth` parts (missing parts count as 0). */
function compare(a: number[], b: number[], depth: number): number {
  for (let i = 0; i < depth; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The TensorRT version Triton `release` bundles, or one line naming the releases kiln knows. */
export function tritonTensorRt(release: string): string {
  const row = TRITON_TENSORRT[release];
  if (row === undefined) {
    throw new InputError(
      `Triton release '${release}': kiln does not know which TensorRT it bundles (known: ${Object.keys(TRITON_TENSORRT).join(', ')}); expected one of those (src/store/triton/releases.ts cites the release notes to add a row from)`,
    );
  }
  return row;
}

/**
 * Why a TensorRT plan built with `built` (trtexec's "10.3.0") cannot load in `triton`'s TensorRT
 * (major.minor.patch equal; version-compatible plans: same major, not newer), or null when it can.
 */
export function planTensorRtMismatch(
  built: string,
  triton: string,
  versionCompatible: boolean,
): string | null {
  const b = parts(built);
  const t = parts(triton) as number[];
  if (!b || b.length < 3)
    return `its TensorRT version '${built}' is not major.minor.patch, so it cannot be checked`;
  if (versionCompatible) {
    if (b[0] !== t[0] || compare(b, t, 3) > 0) {
      return `it was built version-compatible with TensorRT ${built}, which loads only in TensorRT ${b[0]}.x from ${built} on, not ${triton}`;
    }
    return null;
  }
  return compare(b, t, 3) === 0
    ? null
    : `it was built with TensorRT ${built}, and a plan loads only in the TensorRT that built it, not ${triton}`;
}

/** What the check needs of an engine: release.json's entry or a store artifact's tags. */
export interface TritonEngineFacts {
  key: string;
  backend: string;
  hardware: Record<string, unknown>;
}

/**
 * Refuses, naming `where` and the engine's key, a TensorRT plan that the target Triton release
 * cannot load, and any TensorRT plan when no target release is given (nothing to check against).
 * A plan counts as version-compatible only when its hardware tags say `versionCompatible: true`.
 */
export function checkEnginesForTriton(
  engines: readonly TritonEngineFacts[],
  release: string | undefined,
  where: string,
): void {
  for (const engine of engines) {
    if (engine.backend !== 'tensorrt') continue;
    if (release === undefined) {
      throw new InputError(
        `${where}: engine ${engine.key} is a TensorRT plan, which loads only in the TensorRT version that built it: name the Triton release to serve it with (triton.release in kiln.yaml or --triton-release, e.g. "25.01") so kiln can check`,
      );
    }
    const triton = tritonTensorRt(release);
    const built = engine.hardware.tensorrt;
    const why =
      typeof built === 'string'
        ? planTensorRtMismatch(built, triton, engine.hardware.versionCompatible === true)
        : 'its hardware tags name no TensorRT version';
    if (why) {
      throw new InputError(
        `${where}: engine ${engine.key} cannot be served by Triton ${release} (TensorRT ${triton}): ${why}; rebuild it with TensorRT ${triton}, target the Triton release that bundles its TensorRT, or build it version-compatible`,
      );
    }
  }
}
