import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { calibrationGraph } from '../../backends/int8/calibration-graph.js';
import { captureActivations } from '../../backends/int8/activation-capture.js';
import { readNpySamples } from '../../core/io/calibration-samples.js';
import {
  clippingShare,
  DEFAULT_DRIFT_THRESHOLDS,
  inputDrift,
  judgeDrift,
  type ActivationClipping,
} from '../../core/drift.js';
import { InputError } from '../../core/errors.js';
import { sha256File } from '../../core/io/file-hashing.js';
import type { HostTensor } from '../../core/tensor.js';
import type { TensorStats } from '../../core/tensor-stats.js';
import type { CommandArgs } from '../command-spec.js';
import type { driftOptions } from '../specs/drift.js';

export const driftUsage =
  'kiln drift --artifact A --inputs DIR [--model PATH] [--psi-max 0.25] [--ks-max 0.2] [--clip-max 0.01] [--json]';

/** The part of artifact.json drift reads; the rest of the record is not its business. */
const artifactSchema = z.object({
  keyInputs: z.object({ model: z.string().optional() }).optional(),
  calibration: z.object({
    inputs: z.record(
      z.string(),
      z.looseObject({
        min: z.number(),
        max: z.number(),
        histogram: z.object({ edges: z.array(z.number()).min(2), counts: z.array(z.number()).min(1) }),
      }),
    ),
    activations: z.record(z.string(), z.looseObject({ min: z.number(), max: z.number() })).optional(),
  }),
});

/**
 * `kiln drift`: serving samples against the calibration statistics in artifact.json (PSI and KS per
 * input; for INT8 engines with `--model`, the share of activations the calibrated scales clip).
 * Exit 1 above a threshold, naming the worst input or activation; 2 for bad input.
 */
export async function driftCommand({ values }: CommandArgs<typeof driftOptions>): Promise<number> {
  if (!values.artifact || !values.inputs) {
    throw new InputError(`kiln drift: --artifact and --inputs are required (usage: ${driftUsage})`);
  }
  const limits = {
    psiMax: threshold('--psi-max', values['psi-max'], DEFAULT_DRIFT_THRESHOLDS.psiMax),
    ksMax: threshold('--ks-max', values['ks-max'], DEFAULT_DRIFT_THRESHOLDS.ksMax),
    clipMax: threshold('--clip-max', values['clip-max'], DEFAULT_DRIFT_THRESHOLDS.clipMax),
  };
  const { file, artifact } = await readArtifact(values.artifact);
  const calibration = artifact.calibration;
  const samples = await readNpySamples(values.inputs, Object.keys(calibration.inputs));
  const inputs = Object.entries(calibration.inputs).map(([name, stats]) =>
    inputDrift(name, stats as unknown as TensorStats, tensorsOf(samples, name)),
  );
  const activationNames = Object.keys(calibration.activations ?? {});
  const activations: ActivationClipping[] = [];
  let skipped: string | undefined;
  if (activationNames.length > 0 && !values.model) {
    // Not silent: the clipping gate did not run, and the user should know why.
    skipped = `activation clipping not measured: pass --model PATH (the fp32 model, sha256 ${artifact.keyInputs?.model ?? 'in keyInputs.model'})`;
    process.stderr.write(`kiln: note: ${skipped}\n`);
  } else if (activationNames.length > 0) {
    const modelPath = values.model!;
    const actual = await sha256File(modelPath);
    if (actual !== artifact.keyInputs?.model) {
      throw new InputError(
        `--model ${modelPath}: sha256 ${actual.slice(0, 12)}… is not the model this artifact was built from (keyInputs.model ${String(artifact.keyInputs?.model).slice(0, 12)}…, ${file})`,
      );
    }
    // Streamed: one sample's activations at a time, folded into per-activation counts.
    const totals = new Map<string, ActivationClipping>();
    const feeds = samples.map((s) => s.inputs);
    // Activation names belong to the pinned, basic-optimized graph calibration observed (not the raw file).
    const shapes = Object.fromEntries(Object.entries(feeds[0] ?? {}).map(([name, t]) => [name, t.shape]));
    const graph = await calibrationGraph(modelPath, shapes);
    for await (const sample of captureActivations(graph, activationNames, feeds)) {
      for (const name of activationNames) {
        const one = clippingShare(name, calibration.activations![name]!, [sample[name]!]);
        const sum = totals.get(name);
        totals.set(name, sum ? mergeClipping(sum, one) : one);
      }
    }
    activations.push(...totals.values());
  }
  const verdict = judgeDrift(inputs, activations, limits);
  if (values.json) {
    const out = {
      pass: verdict.pass,
      message: verdict.message,
      worst: verdict.worst,
      limits,
      inputs,
      activations,
    };
    process.stdout.write(
      `${JSON.stringify(skipped ? { ...out, activationsSkipped: skipped } : out, null, 2)}\n`,
    );
  } else {
    for (const d of inputs) {
      process.stdout.write(
        `input ${d.input}: PSI ${d.psi.toFixed(4)}, KS ${d.ks.toFixed(4)}, ${(d.outsideShare * 100).toFixed(2)}% outside the calibrated range\n`,
      );
    }
    for (const a of activations) {
      process.stdout.write(
        `activation ${a.activation}: ${(a.share * 100).toFixed(3)}% clipped (${a.clipped} of ${a.total})\n`,
      );
    }
    process.stdout.write(`${verdict.message}\n`);
  }
  if (verdict.pass) return 0;
  process.stderr.write(`kiln: ${verdict.message}\n`);
  return 1;
}

async function readArtifact(
  given: string,
): Promise<{ file: string; artifact: z.infer<typeof artifactSchema> }> {
  const isDir = await stat(given).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const file = isDir ? path.join(given, 'artifact.json') : given;
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new InputError(`${file}: cannot read artifact (${why})`, { cause: error });
  }
  const parsed = artifactSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const why =
      at === 'calibration'
        ? 'no calibration statistics (an artifact built without calibration data)'
        : issue.message;
    throw new InputError(`${file}: ${at}: ${why}`, { cause: parsed.error });
  }
  return { file, artifact: parsed.data };
}

function mergeClipping(a: ActivationClipping, b: ActivationClipping): ActivationClipping {
  const [clipped, total] = [a.clipped + b.clipped, a.total + b.total];
  const serving = {
    min: Math.min(a.serving.min, b.serving.min),
    max: Math.max(a.serving.max, b.serving.max),
  };
  return { ...a, clipped, total, share: total > 0 ? clipped / total : 0, serving };
}

function tensorsOf(samples: Awaited<ReturnType<typeof readNpySamples>>, name: string): HostTensor[] {
  return samples.map((s) => s.inputs[name]!);
}

function threshold(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new InputError(`${flag} ${text}: expected a number >= 0`);
  return value;
}
