import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import type { ToleranceConfig } from '../core/config-schema.js';
import { sha256, sha256Tree } from '../core/hashing.js';
import { npyFileName, writeNpy } from '../core/npy.js';
import type { Precision } from '../core/results.js';
import type { HostTensor } from '../core/tensor.js';
import type { GoldenSampleFiles } from '../store/artifact.js';

/**
 * Hash of what a golden verdict depends on besides the engine: the inputs (file tree or seed), the
 * sample count and the tolerances. A cache hit reuses the stored verdict only when this matches.
 */
export async function goldenSpecSha256(spec: {
  inputsDir?: string;
  samples: number;
  seed: number;
  tolerance?: ToleranceConfig;
  precision: Precision;
}): Promise<string> {
  const inputs = spec.inputsDir
    ? { tree: await sha256Tree(spec.inputsDir) }
    : { seed: spec.seed, samples: spec.samples };
  return sha256(canonicalJson({ inputs, tolerance: spec.tolerance ?? null, precision: spec.precision }));
}

/**
 * Writes golden inputs and the reference's outputs as `.npy` into an artifact folder being staged,
 * so a later build or a deploy can check an engine against them without the reference model.
 */
export async function writeGoldenRecord(
  artifactDir: string,
  inputs: Array<Record<string, HostTensor>>,
  outputs: Array<Record<string, HostTensor>>,
): Promise<GoldenSampleFiles[]> {
  const files: GoldenSampleFiles[] = [];
  for (const [i, sample] of inputs.entries()) {
    const dir = path.join('golden', String(i));
    await mkdir(path.join(artifactDir, dir), { recursive: true });
    const record: GoldenSampleFiles = { inputs: {}, outputs: {} };
    for (const [kind, tensors] of [
      ['inputs', sample],
      ['outputs', outputs[i] ?? {}],
    ] as const) {
      for (const [name, tensor] of Object.entries(tensors)) {
        const rel = path.posix.join(
          'golden',
          String(i),
          `${kind === 'inputs' ? 'in' : 'out'}-${npyFileName(name)}`,
        );
        await writeNpy(path.join(artifactDir, rel), tensor);
        record[kind][name] = rel;
      }
    }
    files.push(record);
  }
  return files;
}
