import { readNpySamples } from '../../core/io/calibration-samples.js';
import { InputError } from '../../core/errors.js';
import { loadManifest } from '../../core/io/manifest-load.js';
import { checkSkew, fmt } from '../../core/skew-check.js';
import { StatsAccumulator, type TensorStats } from '../../core/tensor-stats.js';
import type { CommandArgs } from '../command-spec.js';
import type { skewOptions } from '../specs/skew.js';

export const skewUsage = 'kiln skew --manifest M --inputs DIR [--json]';

/**
 * `kiln skew`: serving samples (`.npy`, folder layouts as for calibration data) against the
 * preprocessing manifest. Exit 1 when any input shows skew (the first finding on stderr, one line),
 * 2 for bad input (unreadable manifest, empty folder, samples of the wrong dtype), 0 when clean.
 */
export async function skewCommand({ values }: CommandArgs<typeof skewOptions>): Promise<number> {
  if (!values.manifest || !values.inputs) {
    throw new InputError(`kiln skew: --manifest and --inputs are required (usage: ${skewUsage})`);
  }
  const manifest = await loadManifest(values.manifest);
  const names = Object.keys(manifest.inputs);
  const samples = await readNpySamples(values.inputs, names);
  const stats: Record<string, TensorStats> = {};
  for (const name of names) {
    const input = manifest.inputs[name]!;
    const acc = new StatsAccumulator(input.layout);
    for (const sample of samples) {
      const [tensor, file] = [sample.inputs[name]!, sample.files[name]!];
      // A float64 dump of float32 data is still the wrong thing to serve: the model gets what it gets.
      if (tensor.dtype !== input.dtype) {
        throw new InputError(
          `${file}: dtype ${tensor.dtype}, expected ${input.dtype} for input '${name}' (${values.manifest})`,
        );
      }
      acc.add(tensor, file);
    }
    stats[name] = acc.result();
  }
  const report = checkSkew(manifest, stats);
  if (values.json) {
    const summary = Object.fromEntries(
      Object.entries(stats).map(([name, { histogram: _histogram, ...rest }]) => [name, rest]),
    );
    process.stdout.write(
      `${JSON.stringify({ ...report, samples: samples.length, inputs: summary }, null, 2)}\n`,
    );
  } else {
    for (const [name, s] of Object.entries(stats)) {
      const finding = report.findings.find((f) => f.input === name);
      const range = manifest.inputs[name]!.range;
      process.stdout.write(
        `${name}: ${samples.length} sample(s), values in [${fmt(s.min)}, ${fmt(s.max)}] mean ${fmt(s.mean)}, manifest [${fmt(range.min)}, ${fmt(range.max)}]: ${finding ? `SKEW (${finding.kind})` : 'ok'}\n`,
      );
    }
  }
  if (report.verdict === 'clean') return 0;
  const more = report.findings.length > 1 ? ` (+${report.findings.length - 1} more)` : '';
  process.stderr.write(`kiln: skew: ${report.findings[0]!.message}${more}\n`);
  return 1;
}
