/**
 * Results judged by the trusted side's settings (the merge base's kiln.yaml), not the ones the pull
 * request built and benchmarked with: a PR that loosens a tolerance, raises maxRegressionPct or
 * shrinks the bench cannot pass its own gate. Pure: results and settings in, results and the
 * reasons some cannot be judged out (each of those fails the gate).
 */
import { decideLatency } from './latency-regression.js';
import type {
  AbResults,
  BuildResults,
  EngineResult,
  LatencyComparison,
  TensorComparison,
} from './results.js';
import type { JudgingSettings } from './setting-changes.js';
import { toleranceFor } from './tolerances.js';

export interface TrustedJudgment {
  builds: BuildResults[];
  ab: AbResults[];
  /** One plain line per result that cannot be judged by the trusted settings. */
  problems: string[];
}

/** Re-judges golden results and latency comparisons by `settings`; see the module comment. */
export function judgeWithTrusted(
  builds: BuildResults[],
  ab: AbResults[],
  settings: JudgingSettings,
): TrustedJudgment {
  const problems: string[] = [];
  const judgedBuilds = builds.map((b) => ({
    ...b,
    engines: b.engines.map((e) => rejudgeGolden(e, settings)),
  }));
  const judgedAb = ab.map((a) => ({
    ...a,
    comparisons: a.comparisons.map((c) => rejudgeLatency(c, settings, problems)),
  }));
  return { builds: judgedBuilds, ab: judgedAb, problems };
}

/**
 * An output that passed under the PR's tolerance passes under the trusted one only if that was at
 * least as strict, or the recorded worst case proves it (max |diff| within atol alone; cosine at or
 * above minCosine); NaN and Inf disagreements never pass. A failure stays a failure.
 */
function rejudgeGolden(engine: EngineResult, settings: JudgingSettings): EngineResult {
  if (!engine.golden.pass) return engine;
  const tolerance = settings.models.find((m) => m.name === engine.model)?.golden.tolerance;
  const looser: string[] = [];
  const outputs = engine.golden.outputs.map((o): TensorComparison => {
    const trusted = toleranceFor(o.output, engine.precision, tolerance);
    if (!o.pass || passesUnder(o, trusted)) return o;
    looser.push(o.output);
    return { ...o, pass: false, atol: trusted.atol, rtol: trusted.rtol };
  });
  if (looser.length === 0) return engine;
  const failure = `output ${looser.join(', ')} passed only under the pull request's tolerance, not the merge base's`;
  return { ...engine, golden: { ...engine.golden, pass: false, outputs, failure } };
}

function passesUnder(o: TensorComparison, t: { atol: number; rtol: number; minCosine?: number }): boolean {
  if (o.nanRef > 0 || o.nanGot > 0 || o.infRef !== o.infGot) return false;
  if (t.minCosine !== undefined) {
    return o.minCosine !== undefined
      ? o.minCosine >= t.minCosine || o.cosine >= t.minCosine
      : o.cosine >= t.minCosine;
  }
  if (o.minCosine !== undefined) return o.maxAbsDiff <= t.atol; // judged on cosine: elementwise unproven
  return (o.atol <= t.atol && o.rtol <= t.rtol) || o.maxAbsDiff <= t.atol;
}

function rejudgeLatency(
  c: LatencyComparison,
  settings: JudgingSettings,
  problems: string[],
): LatencyComparison {
  const gate = settings.gates.latency;
  const what = `latency: ${c.model} ${c.target}/${c.profile}/${c.precision}`;
  if (c.metric !== gate.metric || c.confidence !== gate.confidence) {
    problems.push(
      `${what}: measured as ${c.metric} at ${c.confidence * 100}% confidence; the merge base's gate is ${gate.metric} at ${gate.confidence * 100}%`,
    );
    return c;
  }
  const fewest = Math.min(c.head.n, c.base?.n ?? Infinity);
  if (c.base && fewest < settings.bench.minSamples) {
    problems.push(
      `${what}: ${fewest} samples per side; the merge base's bench asks for at least ${settings.bench.minSamples}`,
    );
    return c;
  }
  if (c.verdict === 'new' || c.ratio === undefined || c.ci === undefined) return c;
  if (c.verdict === 'unstable' && c.note?.includes('fewer than')) return c;
  const unsettled = c.verdict === 'unstable' && c.note?.includes('never settled') === true;
  const decision = decideLatency(c.ratio, c.ci, gate.maxRegressionPct, unsettled);
  return {
    ...c,
    maxRegressionPct: gate.maxRegressionPct,
    verdict: decision.verdict,
    ...(decision.note ? { note: decision.note } : {}),
  };
}
