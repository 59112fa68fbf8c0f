import path from 'node:path';
import { firstLine, GateError, InputError, KilnError } from '../../../src/core/errors.js';
import type { Clock } from '../../../src/pipeline/clock.js';
import { readRelease, type ReleaseRecord } from '../../../src/store/release/release-record.js';
import { compareWithServing, type EngineHost, type LatencySettings, type LoadedEngine } from './checks.js';
import type { DeployLog } from './log.js';
import {
  comparedMetric,
  latencyBlocks,
  latencyLine,
  selectEngines,
  slotName,
  type HostHardware,
} from './plan.js';
import { versionDir, type ModelPaths } from './pointer.js';

/** What the latency step needs from the deploy. */
export interface LatencyStepInput {
  paths: ModelPaths;
  /** The serving version, or null when nothing serves yet. */
  serving: string | null;
  loaded: LoadedEngine[];
  engines: EngineHost;
  threads: number;
  settings: LatencySettings;
  log: DeployLog;
  clock?: Clock;
}

/**
 * The latency step: each new engine against the serving version's engine for the same slot on this
 * host, interleaved on the first golden sample's inputs, judged by compareLatency. Throws GateError
 * on a regression; a slot with nothing to compare with (first deploy, or a slot the serving version
 * lacks) is skipped with a note. What it measured goes into each engine's `report.latency`.
 */
export async function compareLatencyStep(input: LatencyStepInput): Promise<void> {
  const { serving, log } = input;
  if (serving === null) {
    log.step('latency', 'skip', 'nothing is serving yet, so there is no latency to compare with');
    return;
  }
  let current: ReleaseRecord;
  try {
    current = await readRelease(versionDir(input.paths, serving));
  } catch (error) {
    if (!(error instanceof KilnError)) throw error;
    // A damaged serving version is a reason to move on from it, not to stay on it.
    log.step('latency', 'skip', `serving version ${serving} cannot be read back (${firstLine(error)})`);
    return;
  }
  const hosts = new Map<string, HostHardware>();
  for (const backend of new Set(current.engines.map((e) => e.backend))) {
    hosts.set(backend, await input.engines.hardware(backend));
  }
  const lines: string[] = [];
  let compared = 0;
  for (const l of input.loaded) {
    const slot = slotName(l.engine);
    let base;
    try {
      [base] = selectEngines(current, hosts, { profile: l.engine.profile, precision: l.engine.precision });
    } catch (error) {
      // selectEngines refuses (InputError) when no engine fits; anything else is a bug, not a skip.
      if (!(error instanceof InputError)) throw error;
      lines.push(`${slot} skipped: serving version ${serving} has no engine for it on this host`);
      continue;
    }
    const baseEngine = path.join(versionDir(input.paths, serving), base!.dir, base!.engine.file);
    const baseSession = await input.engines.open(base!.backend, baseEngine, input.threads);
    try {
      const { decision, headP99: p99 } = await compareWithServing(
        baseSession,
        l.session,
        l.samples[0]!.inputs,
        input.settings,
        input.clock,
      );
      const metric = comparedMetric(decision, input.settings.metric);
      const line = latencyLine(decision, metric, serving);
      l.report.latency = {
        metric,
        ratio: decision.ratio,
        ci: decision.ci,
        verdict: decision.verdict,
        against: serving,
        headP99Ms: p99,
        ...(decision.note ? { note: decision.note } : {}),
      };
      compared++;
      if (latencyBlocks(decision)) {
        throw new GateError(`${slot} ${line}`);
      }
      lines.push(`${slot} ${line}: ${decision.verdict}${decision.note ? ` (${decision.note})` : ''}`);
    } finally {
      await baseSession.release();
    }
  }
  log.step('latency', compared > 0 ? 'ok' : 'skip', lines.join('; '));
}
