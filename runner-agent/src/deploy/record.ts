/**
 * What a deploy (or rollback, or recovery) leaves behind: the `--json` result and the events file
 * `kiln-agent serve` turns into metrics. One shape for both, so what a script reads is what
 * Prometheus counts.
 */

/** The steps of a deploy, in order; `recover` and `rollback` are the other commands' one step. */
export const DEPLOY_STEPS = [
  'recover',
  'pull',
  'verify',
  'load',
  'warmup',
  'latency',
  'switch',
  'rollback',
] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];

/** `skip`: the step had nothing to do (no serving version to compare latency with). */
export const STEP_OUTCOMES = ['ok', 'fail', 'skip'] as const;
export type StepOutcome = (typeof STEP_OUTCOMES)[number];

/**
 * Why the serving version stayed (or went back): the step that refused, `hardware` for an engine
 * built for other hardware, `manual` for `kiln-agent rollback`.
 */
export const DEPLOY_REASONS = [
  'pull',
  'verify',
  'hardware',
  'load',
  'warmup',
  'latency',
  'manual',
  'error',
] as const;
export type DeployReason = (typeof DEPLOY_REASONS)[number];

/** One logged step. */
export interface DeployEvent {
  step: DeployStep;
  outcome: StepOutcome;
  /** ISO time the step ended. */
  at: string;
  ms: number;
  /** The line printed for it, without the `deploy MODEL@VERSION:` prefix. */
  detail: string;
}

/** Per engine: what warmup and the latency comparison found. */
export interface DeployedEngine {
  profile: string;
  precision: string;
  key: string;
  backend: string;
  warmup?: { samples: number; p99Ms: number; worst?: string };
  latency?: {
    /** The percentile compared (p99 falls back to p90/p50 without enough samples). */
    metric: string;
    ratio: number;
    ci: [number, number];
    verdict: string;
    against: string;
    /** p99 of the new engine's timed runs in the comparison, in ms. */
    headP99Ms: number;
    note?: string;
  };
}

/** `kiln-agent deploy --json`, `rollback --json`, and each file of the events spool. */
export interface DeployRecord {
  schema: 'kiln.deploy/v1';
  kind: 'deploy' | 'rollback' | 'recover';
  model: string;
  /** The version asked for (for a rollback, the version switched back to). */
  version: string;
  /** `switched`: now serving `version`; `refused`: `serving` kept; `unchanged`: nothing to do. */
  outcome: 'switched' | 'refused' | 'unchanged';
  reason?: DeployReason;
  /** One line saying why, when refused. */
  message?: string;
  /** Serving before and after; null when nothing was serving. */
  previous: string | null;
  serving: string | null;
  engines: DeployedEngine[];
  steps: DeployEvent[];
  /** p99 of the new version's timed runs during the deploy (latency step, else warmup), in ms. */
  p99Ms?: number;
  startedAt: string;
  finishedAt: string;
}
