import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BuildResults } from '../../src/core/results.js';
import { DEPLOY_REASONS, DEPLOY_STEPS, STEP_OUTCOMES, type DeployRecord } from './deploy/record.js';
import { KILN_VERSION } from '../../src/core/io/version.js';
import { BoundedLabel, OTHER_LABEL, oneOf } from './metric-labels.js';

/**
 * The agent's Prometheus metrics, kept in their own {@link Registry} rather than prom-client's global
 * one so that each agent (and each test) owns its series and nothing else in the process can leak
 * metrics into `/metrics`.
 *
 * Label cardinality is bounded on purpose, because every distinct label set is a series Prometheus
 * keeps for weeks:
 * - `target`, `device`: come from kiln.yaml target names and the host's GPUs, so a handful each; as
 *   a guard against a caller passing something unbounded (a job id, a path), only the first
 *   `maxLabelValues` distinct values are kept and later ones are folded into `other`. Counters cannot
 *   be evicted without breaking `rate()`, hence folding rather than forgetting.
 * - `result`, `quantile`, `precision`: fixed small enums.
 * - `model`, `profile`: the build matrix of kiln.yaml; the latency gauge keeps at most
 *   `maxLatencySeries` series and evicts the least recently updated one beyond that (a gauge that
 *   disappears only goes stale in Prometheus, which is the right reading for a model no longer built).
 * - Deploys: `model` is bounded like `target`; `step`, `outcome` and `reason` are fixed enums (a
 *   value from an events file outside them reads `other`); `version` exists only on gauges, and
 *   only for the serving version of each model (`kiln_deploy_serving_info`) and the last
 *   `DEPLOY_P99_VERSIONS` versions deployed (`kiln_deploy_p99_ms`); older series are removed.
 * - No label ever carries a key, a path, a timestamp or free text.
 */
export interface AgentMetricsOptions {
  /** Reported by `kiln_agent_info{version}`; kiln's own version by default. */
  version?: string;
  /** Also export Node process metrics (CPU, memory, event loop lag) as `kiln_agent_process_*` etc. */
  processMetrics?: boolean;
  /** Most distinct values kept per `target` / `device` label before folding into `other` (default 64). */
  maxLabelValues?: number;
  /** Most `kiln_engine_latency_ms` series kept; least recently updated evicted first (default 1000). */
  maxLatencySeries?: number;
}

/** Options of {@link AgentMetrics.recordBuild}. */
export interface RecordBuildOptions {
  /**
   * The results were already seen by an earlier agent process (a spool replayed on start): update
   * only the latest-value gauges, not the counters, so a restart does not count old builds again.
   */
  replay?: boolean;
}

/** Versions per model that keep a `kiln_deploy_p99_ms` series (the serving one and the candidate). */
const DEPLOY_P99_VERSIONS = 2;
const VERSION_LABEL = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export { OTHER_LABEL } from './metric-labels.js';

/**
 * Lease waits range from nothing (GPU free) to a queued job waiting out a long benchmark, so the
 * buckets span 10 ms to 30 min.
 */
const LEASE_WAIT_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800];

/** Metrics of one agent; `registry` is what `/metrics` serves. */
export class AgentMetrics {
  readonly registry: Registry;
  readonly builds: Counter<'target' | 'result'>;
  readonly engineCache: Counter<'target' | 'result'>;
  readonly engineLatency: Gauge<'model' | 'profile' | 'precision' | 'device' | 'quantile'>;
  readonly interferenceEvents: Counter<'device'>;
  readonly leaseWait: Histogram;
  readonly info: Gauge<'version'>;
  readonly deploySteps: Counter<'model' | 'step' | 'outcome'>;
  readonly deployServing: Gauge<'model' | 'version'>;
  readonly deployRollbacks: Counter<'model' | 'reason'>;
  readonly deployP99: Gauge<'model' | 'version'>;

  private readonly targets: BoundedLabel;
  private readonly deployModels: BoundedLabel;
  /** model -> the version its `kiln_deploy_serving_info` series names. */
  private readonly servingVersion = new Map<string, string>();
  /** model -> versions with a `kiln_deploy_p99_ms` series, oldest first. */
  private readonly p99Versions = new Map<string, string[]>();
  private readonly devices: BoundedLabel;
  private readonly maxLatencySeries: number;
  /** Latency series in least-recently-updated order (Map keeps insertion order; updates re-insert). */
  private readonly latencySeries = new Map<string, Record<LatencyLabel, string>>();

  constructor(options: AgentMetricsOptions = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.maxLatencySeries = options.maxLatencySeries ?? 1000;
    this.targets = new BoundedLabel(options.maxLabelValues ?? 64);
    this.devices = new BoundedLabel(options.maxLabelValues ?? 64);
    this.deployModels = new BoundedLabel(options.maxLabelValues ?? 64);

    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });

    this.builds = counter(
      'kiln_builds_total',
      'kiln builds seen by this agent, by target and outcome (ok, gate_failed, error).',
      ['target', 'result'],
    );
    this.engineCache = counter(
      'kiln_engine_cache_total',
      'Engines a build looked up in the engine cache, by target and whether it was a hit or a miss.',
      ['target', 'result'],
    );
    this.engineLatency = gauge(
      'kiln_engine_latency_ms',
      'Latest measured engine latency in milliseconds (p50 and p99) per model, profile, precision and device.',
      ['model', 'profile', 'precision', 'device', 'quantile'],
    );
    this.interferenceEvents = counter(
      'kiln_interference_events_total',
      'Benchmarks disturbed by a foreign process on the leased GPU, per device.',
      ['device'],
    );
    this.leaseWait = new Histogram({
      name: 'kiln_gpu_lease_wait_seconds',
      help: 'Time a build or benchmark waited for its exclusive GPU lease.',
      buckets: LEASE_WAIT_BUCKETS,
      registers,
    });
    this.info = gauge('kiln_agent_info', 'Always 1; the labels describe the running agent.', ['version']);
    this.deploySteps = counter(
      'kiln_deploy_steps_total',
      'Deploy steps run by kiln-agent deploy/rollback, by model, step (pull, verify, load, warmup, latency, switch, recover, rollback) and outcome (ok, fail, skip).',
      ['model', 'step', 'outcome'],
    );
    this.deployServing = gauge(
      'kiln_deploy_serving_info',
      'Always 1; the version label names the version the model serves (its current pointer).',
      ['model', 'version'],
    );
    this.deployRollbacks = counter(
      'kiln_deploy_rollbacks_total',
      'Deploys refused with the serving version kept, by the step that refused (reason), plus manual rollbacks (reason="manual").',
      ['model', 'reason'],
    );
    this.deployP99 = gauge(
      'kiln_deploy_p99_ms',
      'p99 in milliseconds of a version on this host, measured while deploying it (latency step, else warmup runs).',
      ['model', 'version'],
    );
    this.info.set({ version: options.version ?? KILN_VERSION }, 1);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'kiln_agent_' });
  }

  /**
   * Updates the metrics from one `kiln build --json` result set measured on `device` (a GPU UUID or
   * name, or `cpu`): one build counted as `gate_failed` when its golden gate failed and `ok`
   * otherwise (`warn` passes), one cache hit or miss per engine, and each engine's p50/p99 as the
   * latest latency. On a cache hit the engine's latency is the stored measurement, still the latest.
   */
  recordBuild(results: BuildResults, device: string, options: RecordBuildOptions = {}): void {
    const dev = this.devices.map(device);
    if (!options.replay) {
      const target = this.targets.map(results.target);
      this.builds.inc({ target, result: results.gates.golden === 'fail' ? 'gate_failed' : 'ok' });
      // Touch both cache series so a target with only hits still exports misses as 0 (rate() needs both).
      this.engineCache.inc({ target, result: 'hit' }, 0);
      this.engineCache.inc({ target, result: 'miss' }, 0);
      for (const engine of results.engines) {
        this.engineCache.inc({ target, result: engine.cache });
      }
    }
    for (const engine of results.engines) {
      const stats = engine.latency?.engine;
      // An engine with no timed runs (n = 0) has no latency to report; 0 would read as "instant".
      if (!stats || !(stats.n > 0)) continue;
      const base = { model: engine.model, profile: engine.profile, precision: engine.precision, device: dev };
      this.setLatency({ ...base, quantile: '0.5' }, stats.p50);
      this.setLatency({ ...base, quantile: '0.99' }, stats.p99);
    }
  }

  /** Counts a build that ended in an error (no results file): crashed backend, bad config, etc. */
  recordBuildError(target: string): void {
    this.builds.inc({ target: this.targets.map(target), result: 'error' });
  }

  /** Adds `count` interference events on `device` (0 still creates the series, so it reads 0, not absent). */
  recordInterference(device: string, count: number): void {
    if (!Number.isFinite(count) || count < 0) {
      throw new RangeError(`interference count must be a finite number >= 0, got ${count}`);
    }
    this.interferenceEvents.inc({ device: this.devices.map(device) }, count);
  }

  /**
   * Updates the deploy metrics from one deploy, rollback or recovery record (the events spool). With
   * `replay` (a record an earlier agent already saw) only the gauges move, not the counters.
   */
  recordDeploy(record: DeployRecord, options: RecordBuildOptions = {}): void {
    const model = this.deployModels.map(record.model);
    if (!options.replay) {
      for (const event of record.steps) {
        const step = oneOf(event.step, DEPLOY_STEPS);
        this.deploySteps.inc({ model, step, outcome: oneOf(event.outcome, STEP_OUTCOMES) });
      }
      if (record.outcome === 'refused' || record.kind === 'rollback') {
        this.deployRollbacks.inc({ model, reason: oneOf(record.reason ?? 'error', DEPLOY_REASONS) });
      }
    }
    // Folded models share one series; a version there would name some other model's version.
    if (model === OTHER_LABEL) return;
    const old = this.servingVersion.get(model);
    const serving =
      record.serving !== null && VERSION_LABEL.test(record.serving) ? record.serving : undefined;
    if (old !== undefined && old !== serving) this.deployServing.remove({ model, version: old });
    if (serving === undefined) this.servingVersion.delete(model);
    else {
      this.servingVersion.set(model, serving);
      this.deployServing.set({ model, version: serving }, 1);
    }
    if (record.p99Ms !== undefined && Number.isFinite(record.p99Ms) && VERSION_LABEL.test(record.version)) {
      const versions = (this.p99Versions.get(model) ?? []).filter((v) => v !== record.version);
      versions.push(record.version);
      while (versions.length > DEPLOY_P99_VERSIONS)
        this.deployP99.remove({ model, version: versions.shift()! });
      this.p99Versions.set(model, versions);
      this.deployP99.set({ model, version: record.version }, record.p99Ms);
    }
  }

  /** Records how long a build waited for its GPU lease. */
  observeLeaseWait(seconds: number): void {
    this.leaseWait.observe(seconds);
  }

  private setLatency(labels: Record<LatencyLabel, string>, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = JSON.stringify([
      labels.model,
      labels.profile,
      labels.precision,
      labels.device,
      labels.quantile,
    ]);
    this.latencySeries.delete(key);
    this.latencySeries.set(key, labels);
    this.engineLatency.set(labels, value);
    while (this.latencySeries.size > this.maxLatencySeries) {
      const [oldestKey, oldest] = this.latencySeries.entries().next().value!;
      this.latencySeries.delete(oldestKey);
      this.engineLatency.remove(oldest);
    }
  }
}

type LatencyLabel = 'model' | 'profile' | 'precision' | 'device' | 'quantile';
