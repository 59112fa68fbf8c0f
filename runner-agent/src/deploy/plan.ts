/**
 * The decisions of a deploy, free of side effects: which engine of a release serves on this host,
 * whether a warmup output agrees with its stored golden, how a latency verdict reads, and the one
 * line a refusal prints. The steps (deploy-steps.ts) feed them what they measured.
 */
import { InputError } from '../../../src/core/errors.js';
import { compareHardware, describeHardware, describeMismatch } from '../../../src/core/hardware-match.js';
import type { LatencyDecision } from '../../../src/core/latency-regression.js';
import type { Precision, TensorComparison } from '../../../src/core/results.js';
import type { HostTensor } from '../../../src/core/tensor.js';
import { compareTensors, describeFailure } from '../../../src/core/tensor-compare.js';
import { defaultTolerance, type Tolerance } from '../../../src/core/tolerances.js';
import type { ArtifactRecord } from '../../../src/store/artifact.js';
import type { ReleaseEngine, ReleaseRecord } from '../../../src/store/release/release-record.js';

/** This host as one backend sees it: its hardware fingerprint, or why the backend cannot run here. */
export type HostHardware = { fingerprint: Record<string, unknown> } | { unavailable: string };

/** `--profile` / `--precision`: deploy only these slots of the release. */
export interface EngineFilter {
  profile?: string;
  precision?: string;
}

/** `s384/fp16`: how a slot of a release is named in every line. */
export function slotName(e: { profile: string; precision: string }): string {
  return `${e.profile}/${e.precision}`;
}

/**
 * One engine per (profile, precision) slot of `release` (after `filter`): the first whose backend
 * runs here and whose hardware tags equal this host's fingerprint for that backend. A slot without
 * one refuses the whole deploy (InputError, exit 2) naming the engine(s) and both sides, because a
 * model served on some profiles but not others would fail requests at random.
 */
export function selectEngines(
  release: ReleaseRecord,
  hosts: ReadonlyMap<string, HostHardware>,
  filter: EngineFilter = {},
): ReleaseEngine[] {
  const label = `${release.model}@${release.version}`;
  const slots = new Map<string, ReleaseEngine[]>();
  for (const engine of filterEngines(release, filter)) {
    slots.set(slotName(engine), [...(slots.get(slotName(engine)) ?? []), engine]);
  }
  const chosen: ReleaseEngine[] = [];
  for (const [slot, candidates] of slots) {
    const match = candidates.find((e) => {
      const host = hosts.get(e.backend);
      return host && 'fingerprint' in host && compareHardware(e.hardware, host.fingerprint).length === 0;
    });
    if (!match) {
      const why = candidates.map((e) => whyNot(e, hosts.get(e.backend))).join(' | ');
      throw new InputError(`${label} ${slot}: ${why}`);
    }
    chosen.push(match);
  }
  return chosen;
}

/** The engines of `release` that `filter` asks for; none is an InputError naming what the release has. */
export function filterEngines(release: ReleaseRecord, filter: EngineFilter = {}): ReleaseEngine[] {
  const label = `${release.model}@${release.version}`;
  const wanted = release.engines.filter(
    (e) =>
      (filter.profile === undefined || e.profile === filter.profile) &&
      (filter.precision === undefined || e.precision === filter.precision),
  );
  if (wanted.length === 0) {
    const have = [...new Set(release.engines.map(slotName))].join(', ') || 'no engines';
    const asked = [
      filter.profile === undefined ? '' : `--profile ${filter.profile}`,
      filter.precision === undefined ? '' : `--precision ${filter.precision}`,
    ].filter(Boolean);
    throw new InputError(`${label}: no engine for ${asked.join(' ') || 'any slot'} (release has ${have})`);
  }
  return wanted;
}

function whyNot(engine: ReleaseEngine, host: HostHardware | undefined): string {
  const built = `built for ${describeHardware(engine.hardware)} (${engine.backend} engine ${engine.key.slice(0, 12)})`;
  if (!host) return `${built}; this host: backend ${engine.backend} not probed`;
  if ('unavailable' in host)
    return `${built}; this host: backend ${engine.backend} cannot run (${host.unavailable})`;
  const diffs = compareHardware(engine.hardware, host.fingerprint).map(describeMismatch).join('; ');
  return `${built}; this host: ${describeHardware(host.fingerprint)}: ${diffs}`;
}

/** The tolerance the build judged `output` with (artifact.json's golden outputs), else the precision default. */
export function recordedTolerance(record: ArtifactRecord, output: string): Tolerance {
  const used = record.golden.outputs.find((o) => o.output === output);
  if (!used) return defaultTolerance(record.precision as Precision);
  return {
    atol: used.atol,
    rtol: used.rtol,
    ...(used.minCosine === undefined ? {} : { minCosine: used.minCosine }),
  };
}

/**
 * One warmup output against its stored golden, judged as the build's golden gate judged it:
 * elementwise, or on cosine when the tolerance has `minCosine` (int8); a NaN or Inf disagreement
 * fails either way.
 */
export function judgeWarmupOutput(
  output: string,
  golden: HostTensor,
  got: HostTensor,
  tolerance: Tolerance,
): TensorComparison {
  const c = compareTensors(output, golden, got, tolerance);
  if (tolerance.minCosine === undefined) return c;
  const finite = c.nanRef + c.nanGot === 0 && c.infRef === c.infGot;
  return { ...c, minCosine: tolerance.minCosine, pass: finite && c.cosine >= tolerance.minCosine };
}

/** Why a judged output failed, in one line (cosine wording for similarity tolerances). */
export function warmupFailure(c: TensorComparison): string {
  if (c.minCosine === undefined || c.nanRef + c.nanGot > 0 || c.infRef !== c.infGot)
    return describeFailure(c);
  return `output '${c.output}': cosine similarity ${c.cosine.toFixed(4)} below ${c.minCosine} (max abs diff ${c.maxAbsDiff.toExponential(1)})`;
}

/**
 * The percentile compareLatency actually compared: it falls back from p99 to p90 or p50 without
 * enough samples, records it in `statistic` and says so in its note (`p99 gated as p50 (…)`).
 */
export function comparedMetric(decision: LatencyDecision, wanted: string): string {
  return decision.statistic ?? wanted;
}

/** Whether the latency comparison stops the switch: only a regression the interval is sure of. */
export function latencyBlocks(decision: LatencyDecision): boolean {
  // `unstable` is not a regression: as in kiln's own gate, a noisy host must not block every deploy.
  return decision.verdict === 'regression';
}

/** `p99 +38% [+31%, +45%] vs serving 1`. */
export function latencyLine(decision: LatencyDecision, metric: string, against: string): string {
  const pct = (r: number) => {
    const v = Math.round((r - 1) * 100);
    return `${v >= 0 ? '+' : ''}${v}%`;
  };
  return `${metric} ${pct(decision.ratio)} [${pct(decision.ci[0])}, ${pct(decision.ci[1])}] vs serving ${against}`;
}

/** The refusal line: `deploy ocr-det@2 refused: <why>; still serving 1` (or `; nothing is serving`). */
export function refusalLine(label: string, why: string, serving: string | null): string {
  return `deploy ${label} refused: ${why}; ${serving === null ? 'nothing is serving' : `still serving ${serving}`}`;
}
