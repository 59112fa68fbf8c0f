import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import type { ToleranceConfig } from '../core/config-schema.js';
import { sha256 } from '../core/hashing.js';
import { sha256Tree } from '../core/io/file-hashing.js';
import { npyFileName } from '../core/npy.js';
import { writeNpy } from '../core/io/npy-files.js';
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
 * `output` is the golden suite's sink: each reference output is written as soon as it is compared,
 * so no sample's outputs pile up in memory; `finish` writes the inputs and returns the file map.
 */
export function goldenRecordWriter(artifactDir: string): {
  output: (sample: number, name: string, tensor: HostTensor) => Promise<void>;
  finish: (inputs: Array<Record<string, HostTensor>>) => Promise<GoldenSampleFiles[]>;
} {
  const files: GoldenSampleFiles[] = [];
  const fileFor = (i: number): GoldenSampleFiles => (files[i] ??= { inputs: {}, outputs: {} });
  const write = async (i: number, kind: 'inputs' | 'outputs', name: string, tensor: HostTensor) => {
    const rel = path.posix.join(
      'golden',
      String(i),
      `${kind === 'inputs' ? 'in' : 'out'}-${npyFileName(name)}`,
    );
    await mkdir(path.join(artifactDir, 'golden', String(i)), { recursive: true });
    await writeNpy(path.join(artifactDir, rel), tensor);
    fileFor(i)[kind][name] = rel;
  };
  return {
    output: (i, name, tensor) => write(i, 'outputs', name, tensor),
    async finish(inputs) {
      for (const [i, sample] of inputs.entries()) {
        for (const [name, tensor] of Object.entries(sample)) await write(i, 'inputs', name, tensor);
      }
      // Inputs first in each record, as readers list them.
      return inputs.map((_, i) => ({ inputs: fileFor(i).inputs, outputs: fileFor(i).outputs }));
    },
  };
}
