import type { ToleranceConfig } from '../core/config-schema.js';
import type { GoldenResult, Precision, TensorComparison } from '../core/results.js';
import type { HostTensor } from '../core/tensor.js';
import { compareTensors, describeFailure, mergeWorst } from '../core/tensor-compare.js';
import { toleranceFor, type Tolerance } from '../core/tolerances.js';

export { toleranceFor };
import type { EngineSession } from '../backends/backend.js';
import { firstLine, GateError, InputError } from '../core/errors.js';

export interface GoldenRun {
  result: GoldenResult;
}

/** Receives each reference output as soon as it is compared (the golden record), then lets go of it. */
export type GoldenSink = (sample: number, output: string, tensor: HostTensor) => Promise<void>;

/**
 * Runs the uncompiled reference and the compiled engine on the same inputs and compares every
 * output tensor, keeping the worst sample per output. Any failing output fails the suite, and
 * `failure` names the worst one in one line.
 *
 * Memory stays bounded however many outputs a model has: each sample runs once per group of
 * outputs (`groups`, default one output per run), only that group's reference and engine tensors
 * are held, and each reference tensor goes to `record` before the next group runs.
 */
export async function runGoldenSuite(options: {
  reference: EngineSession;
  engine: EngineSession;
  samples: Array<Record<string, HostTensor>>;
  precision: Precision;
  tolerance?: ToleranceConfig;
  source: GoldenResult['source'];
  /** The reference's outputs split into the groups fetched per run, for one sample. */
  groups?: (sample: Record<string, HostTensor>, outputs: readonly string[]) => string[][];
  record?: GoldenSink;
}): Promise<GoldenRun> {
  const names = options.reference.outputNames;
  const missing = names.find((name) => !options.engine.outputNames.includes(name));
  if (missing !== undefined) throw missingOutput(missing, options.engine.outputNames);
  const worst = new Map<string, TensorComparison>();
  for (const [i, inputs] of options.samples.entries()) {
    const groups = options.groups?.(inputs, names) ?? names.map((name) => [name]);
    for (const group of groups) {
      const ref = await referenceRun(options.reference, inputs, group, options.source);
      const got = await options.engine.run(inputs, group);
      for (const name of group) {
        if (!got[name] || !ref[name]) throw missingOutput(name, Object.keys(got));
        const comparison = judge(
          name,
          ref[name],
          got[name],
          toleranceFor(name, options.precision, options.tolerance),
        );
        const previous = worst.get(name);
        worst.set(name, previous ? mergeWorst(previous, comparison) : comparison);
        await options.record?.(i, name, ref[name]);
      }
    }
  }
  // In the model's output order, whatever order the groups ran in.
  const compared = names.flatMap((name) => worst.get(name) ?? []);
  return { result: summarizeGolden(compared, options.samples.length, options.source) };
}

/**
 * compareTensors judges elementwise; a similarity tolerance (int8) re-judges on cosine, keeping the
 * elementwise figures for the report. Non-finite disagreement fails either way.
 */
function judge(output: string, ref: HostTensor, got: HostTensor, tol: Tolerance): TensorComparison {
  const c = compareTensors(output, ref, got, tol);
  if (tol.minCosine === undefined) return c;
  const finite = c.nanRef + c.nanGot === 0 && c.infRef === c.infGot;
  return { ...c, minCosine: tol.minCosine, pass: finite && c.cosine >= tol.minCosine };
}

function missingOutput(name: string, engineOutputs: readonly string[]): GateError {
  return new GateError(
    `output '${name}': the engine does not produce it (engine outputs: ${engineOutputs.join(', ') || 'none'})`,
  );
}

/**
 * The reference's outputs for one sample. Random values are not always inputs a model can run (a
 * token id past the vocabulary, a sample rate of 3), so a failure on synthetic inputs says how to
 * give real ones instead of blaming the model.
 */
async function referenceRun(
  reference: EngineSession,
  inputs: Record<string, HostTensor>,
  outputs: readonly string[],
  source: GoldenResult['source'],
): Promise<Record<string, HostTensor>> {
  try {
    return await reference.run(inputs, outputs);
  } catch (error) {
    if (source !== 'synthetic') throw error;
    throw new InputError(
      `${firstLine(error)} (on synthetic golden inputs: supply real ones with golden.inputs in kiln.yaml, or give each integer input's values, range or mask in the preprocessing manifest)`,
      { cause: error },
    );
  }
}

/** Suite verdict from per-output comparisons; also used to re-check stored goldens. */
export function summarizeGolden(
  outputs: TensorComparison[],
  samples: number,
  source: GoldenResult['source'],
): GoldenResult {
  const failing = outputs.filter((c) => !c.pass);
  const pass = failing.length === 0;
  // Non-finite values first: a NaN anywhere is worse than any finite difference.
  const worst = [...failing].sort(
    (a, b) => b.nanRef + b.nanGot - (a.nanRef + a.nanGot) || b.mismatches / b.total - a.mismatches / a.total,
  )[0];
  return { pass, source, samples, outputs, ...(worst ? { failure: failureLine(worst) } : {}) };
}

function failureLine(c: TensorComparison): string {
  if (c.minCosine === undefined || c.nanRef + c.nanGot > 0 || c.infRef !== c.infGot)
    return describeFailure(c);
  return `output '${c.output}': cosine similarity ${c.cosine.toFixed(4)} below ${c.minCosine} (max abs diff ${c.maxAbsDiff.toExponential(1)} at [${c.worstIndex.join(',')}])`;
}
