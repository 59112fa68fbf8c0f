/**
 * The steps of a deploy in order, each journaled before it starts and logged when it ends. A step
 * that throws refuses the deploy (deploy-run.ts words the refusal and cleans up).
 */
import path from 'node:path';
import { GateError, InputError } from '../../../src/core/errors.js';
import { describeHardware } from '../../../src/core/hardware-match.js';
import type { Clock } from '../../../src/pipeline/clock.js';
import { readArtifactRecord } from '../../../src/store/artifact.js';
import { readRelease } from '../../../src/store/release/release-record.js';
import {
  hostHardware,
  p99,
  readGoldenSamples,
  runWarmup,
  type EngineHost,
  type LatencySettings,
  type LoadedEngine,
} from './checks.js';
import { compareLatencyStep } from './latency.js';
import type { DeployLog } from './log.js';
import { filterEngines, selectEngines, slotName, type EngineFilter } from './plan.js';
import { clearJournal, readPointer, setPointer, writeJournal, type ModelPaths } from './pointer.js';
import { installRelease, pruneVersions } from './pull.js';
import type { DeployedEngine, DeployReason, DeployStep } from './record.js';
import type { ReleaseSource } from '../release-source.js';

/** What to deploy, where, and the gates. */
export interface DeployOptions {
  root: string;
  model: string;
  version: string;
  filter: EngineFilter;
  threads: number;
  latency: LatencySettings;
}

/**
 * Points where `KILN_AGENT_CRASH_AFTER` kills the process (a test hook): after each named step, and
 * `rename` between creating the new `current` symlink and renaming it over the old one.
 */
export const CRASH_POINTS = ['pull', 'verify', 'load', 'warmup', 'latency', 'rename'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** The deploy's side effects, injectable for tests. */
export interface DeployDeps {
  source: ReleaseSource;
  engines: EngineHost;
  print: (line: string) => void;
  clock?: Clock;
  now?: () => Date;
  crashAt?: (point: CrashPoint) => void;
  isAlive?: (pid: number) => boolean;
}

/** Mutable state of one deploy as it goes through its steps. */
export interface DeployContext {
  options: DeployOptions;
  deps: DeployDeps;
  paths: ModelPaths;
  log: DeployLog;
  label: string;
  previous: string | null;
  step: DeployStep;
  reason?: DeployReason;
  loaded: LoadedEngine[];
  released?: boolean;
  startedAt: string;
}

/** Runs every step; throws to refuse. */
export async function deploySteps(ctx: DeployContext): Promise<void> {
  const { options, deps, paths, log } = ctx;
  const enter = async (step: DeployStep) => {
    ctx.step = step;
    await writeJournal(paths, { version: options.version, step, startedAt: ctx.startedAt, pid: process.pid });
    log.begin();
  };
  await enter('pull');
  const pulled = await installRelease(paths, options.version, deps.source, await readPointer(paths.previous));
  log.step('pull', 'ok', pulled.detail);
  deps.crashAt?.('pull');

  await enter('verify');
  const release = await readRelease(pulled.dir);
  if (release.model !== options.model || release.version !== options.version) {
    throw new InputError(
      `${pulled.dir}/release.json: describes ${release.model}@${release.version}, not ${ctx.label}`,
    );
  }
  // A --profile the release lacks is a bad argument, not a hardware mismatch: refuse it as such first.
  filterEngines(release, options.filter);
  const hosts = await hostHardware(release, deps.engines);
  ctx.reason = 'hardware';
  const selected = selectEngines(release, hosts, options.filter);
  ctx.reason = undefined;
  const files = release.engines.reduce((n, e) => n + e.files.length, 0);
  const first = hosts.get(selected[0]!.backend);
  const host = first && 'fingerprint' in first ? describeHardware(first.fingerprint) : '?';
  log.step(
    'verify',
    'ok',
    `${files} files match release.json; ${selected.map((e) => `${slotName(e)} ${e.key.slice(0, 12)}`).join(', ')} built for this host (${host})`,
  );
  deps.crashAt?.('verify');

  await enter('load');
  for (const engine of selected) {
    const dir = path.join(pulled.dir, engine.dir);
    const record = await readArtifactRecord(dir);
    const samples = await readGoldenSamples(dir, record);
    if (samples.length === 0) throw new InputError(`${dir}/artifact.json: no golden samples to warm up with`);
    const session = await deps.engines.open(
      engine.backend,
      path.join(dir, engine.engine.file),
      options.threads,
    );
    const report: DeployedEngine = {
      profile: engine.profile,
      precision: engine.precision,
      key: engine.key,
      backend: engine.backend,
    };
    ctx.loaded.push({ engine, record, session, samples, report });
  }
  log.step(
    'load',
    'ok',
    ctx.loaded
      .map(
        (l) =>
          `${slotName(l.engine)} ${l.engine.engine.file} (${l.engine.backend}, ${options.threads} thread${options.threads === 1 ? '' : 's'})`,
      )
      .join('; '),
  );
  deps.crashAt?.('load');

  await enter('warmup');
  const lines: string[] = [];
  for (const l of ctx.loaded) {
    const result = await runWarmup(l.session, l.record, l.samples, deps.clock);
    if (result.failure) throw new GateError(`${slotName(l.engine)} ${result.failure}`);
    const worst = Math.max(0, ...result.worst.map((c) => c.maxAbsDiff));
    l.report.warmup = {
      samples: l.samples.length,
      p99Ms: p99(result.timings),
      worst: `max abs diff ${worst.toExponential(1)}`,
    };
    lines.push(
      `${slotName(l.engine)} ${l.samples.length} sample${l.samples.length === 1 ? '' : 's'} match the stored goldens (max abs diff ${worst.toExponential(1)}), p99 ${l.report.warmup.p99Ms.toFixed(3)} ms`,
    );
  }
  log.step('warmup', 'ok', lines.join('; '));
  deps.crashAt?.('warmup');

  await enter('latency');
  await compareLatencyStep({
    paths,
    serving: ctx.previous,
    loaded: ctx.loaded,
    engines: deps.engines,
    threads: options.threads,
    settings: options.latency,
    log,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  deps.crashAt?.('latency');

  await enter('switch');
  if (ctx.previous !== null) await setPointer(paths.previous, ctx.previous);
  await setPointer(paths.current, options.version, () => deps.crashAt?.('rename'));
  await clearJournal(paths);
  const keep = new Set([options.version, ...(ctx.previous === null ? [] : [ctx.previous])]);
  const pruned = await pruneVersions(paths, keep);
  log.step(
    'switch',
    'ok',
    `current → versions/${options.version}${ctx.previous === null ? '' : `, previous → versions/${ctx.previous}`}${pruned.length > 0 ? `; removed versions/${pruned.join(', versions/')}` : ''}`,
  );
}

/**
 * The new version's p99 on this host (the slowest slot): from the latency comparison where it ran,
 * it has far more samples than warmup, else from the warmup runs.
 */
export function versionP99(loaded: LoadedEngine[]): { p99Ms?: number } {
  const each = loaded
    .map((l) => l.report.latency?.headP99Ms ?? l.report.warmup?.p99Ms)
    .filter((x) => x !== undefined);
  return each.length === 0 ? {} : { p99Ms: Math.max(...each) };
}
