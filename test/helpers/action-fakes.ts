/**
 * Fakes for the Action's injectable side effects (src/action/main.ts `ActionOverrides`) and small
 * builders of the result files kiln writes, shared by the Action's tests.
 */
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ActionIO } from '../../src/action/action-io.js';
import type { EngineCache } from '../../src/action/engine-cache.js';
import type { KilnRun, KilnRunner } from '../../src/action/kiln-process.js';
import type { ResultsTransfer } from '../../src/action/results-transfer.js';
import type { RunContext } from '../../src/action/run-context.js';
import type {
  AbResults,
  BuildResults,
  EngineResult,
  LatencyComparison,
  LatencyStats,
} from '../../src/core/results.js';

/** One ordered log shared by the fakes, so a test can assert the order of keys → restore → build…. */
export type EventLog = string[];

// ---------------------------------------------------------------------------------------------------
// io

export interface RecordingIO extends ActionIO {
  outputs: Record<string, string>;
  infos: string[];
  warnings: string[];
  summaries: string[];
}

export function recordingIO(): RecordingIO {
  const io: RecordingIO = {
    outputs: {},
    infos: [],
    warnings: [],
    summaries: [],
    info: (message) => void io.infos.push(message),
    warning: (message) => void io.warnings.push(message),
    setOutput: (name, value) => void (io.outputs[name] = value),
    writeSummary: async (markdown) => void io.summaries.push(markdown),
  };
  return io;
}

// ---------------------------------------------------------------------------------------------------
// kiln

/** What the fake kiln does for one subcommand: its exit, and the files it writes first. */
export interface FakeKilnStep {
  exitCode?: number;
  reason?: string;
  /** JSON written to the `--json FILE` argument, as the real CLI would. */
  json?: unknown;
  /** Extra side effect (e.g. writing engines into the `--store`), given the parsed flags. */
  effect?: (flags: Record<string, string>) => Promise<void>;
}

export interface FakeKiln extends KilnRunner {
  /** Every argv it was run with, in order. */
  calls: string[][];
}

/** Flags of one argv as name → last value (`--model a --model b` keeps b; enough for these tests). */
export function flagsOf(args: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) continue;
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags[arg.slice(2)] = next;
      i++;
    } else flags[arg.slice(2)] = 'true';
  }
  return flags;
}

/**
 * A KilnRunner that records its argv and behaves as `steps[subcommand]` says: writes the `--json`
 * file, runs `effect`, returns the exit code and one-line reason. An unknown subcommand exits 2.
 */
export function fakeKiln(steps: Record<string, FakeKilnStep>, log?: EventLog): FakeKiln {
  const calls: string[][] = [];
  return {
    calls,
    async run(args): Promise<KilnRun> {
      calls.push([...args]);
      // `keys --base` (the merge base's keys) may have a step of its own.
      const name =
        args.includes('--base') && steps[`${args[0]} --base`] ? `${args[0]} --base` : (args[0] ?? '');
      log?.push(`kiln ${name}`);
      const step = steps[name];
      if (!step) return { exitCode: 2, reason: `fake kiln: no step for '${name}'` };
      const flags = flagsOf(args);
      if (step.json !== undefined && flags.json) {
        await mkdir(path.dirname(flags.json), { recursive: true });
        await writeFile(flags.json, JSON.stringify(step.json, null, 2));
      }
      await step.effect?.(flags);
      const exitCode = step.exitCode ?? 0;
      return { exitCode, ...(step.reason !== undefined ? { reason: step.reason } : {}) };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// cache

export interface FakeCache extends EngineCache {
  restores: Array<{ dir: string; key: string; hit: boolean }>;
  saves: Array<{ dir: string; key: string }>;
}

/** An EngineCache holding `hits` (keys it can restore); a restore writes a marker engine into `dir`. */
export function fakeCache(hits: Iterable<string>, log?: EventLog): FakeCache {
  const stored = new Set(hits);
  const cache: FakeCache = {
    restores: [],
    saves: [],
    async restore(dir, key) {
      const hit = stored.has(key);
      cache.restores.push({ dir, key, hit });
      log?.push(`restore ${key}${hit ? ' hit' : ' miss'}`);
      if (hit) {
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'artifact.json'), JSON.stringify({ key, from: 'cache' }));
      }
      return hit;
    },
    async save(dir, key) {
      cache.saves.push({ dir, key });
      log?.push(`save ${key}`);
      stored.add(key);
    },
  };
  return cache;
}

// ---------------------------------------------------------------------------------------------------
// results transfer

export interface FolderTransfer extends ResultsTransfer {
  uploads: Array<{ name: string; files: string[]; rootDir: string }>;
}

/**
 * A ResultsTransfer over a folder: an artifact is `root/<name>/` holding the uploaded files relative
 * to their root, as @actions/artifact would keep them.
 */
export function folderTransfer(root: string, log?: EventLog): FolderTransfer {
  const transfer: FolderTransfer = {
    uploads: [],
    async upload(name, files, rootDir) {
      transfer.uploads.push({ name, files: [...files], rootDir });
      log?.push(`upload ${name}`);
      for (const file of files) {
        const to = path.join(root, name, path.relative(rootDir, file));
        await mkdir(path.dirname(to), { recursive: true });
        await cp(file, to);
      }
    },
    async downloadAll(dir) {
      log?.push('download');
      const names = (await readdir(root).catch(() => [] as string[])).sort();
      const folders: string[] = [];
      for (const name of names) {
        await cp(path.join(root, name), path.join(dir, name), { recursive: true });
        folders.push(path.join(dir, name));
      }
      return folders;
    },
  };
  return transfer;
}

/** Writes result files as one build job's artifact would hold them (for the report). */
export async function placeResults(
  root: string,
  name: string,
  files: { build?: BuildResults; ab?: AbResults },
): Promise<void> {
  await mkdir(path.join(root, name), { recursive: true });
  if (files.build) await writeFile(path.join(root, name, 'build.json'), JSON.stringify(files.build));
  if (files.ab) await writeFile(path.join(root, name, 'ab.json'), JSON.stringify(files.ab));
}

// ---------------------------------------------------------------------------------------------------
// run context

export const HEAD_SHA = '0123456789abcdef0123456789abcdef01234567';
export const BASE_SHA = 'fedcba9876543210fedcba9876543210fedcba98';

export function prContext(over: Partial<RunContext> = {}, pr: Partial<RunContext['pullRequest']> = {}) {
  const context: RunContext = {
    eventName: 'pull_request',
    owner: 'acme',
    repo: 'models',
    runId: 4242,
    runUrl: 'https://github.com/acme/models/actions/runs/4242',
    sha: 'ffffffffffffffffffffffffffffffffffffffff',
    ref: 'refs/pull/42/merge',
    pullRequest: {
      number: 42,
      headSha: HEAD_SHA,
      baseSha: BASE_SHA,
      headRepo: 'acme/models',
      baseRepo: 'acme/models',
      ...pr,
    },
    runnerEnvironment: 'self-hosted',
    ...over,
  };
  return context;
}

// ---------------------------------------------------------------------------------------------------
// result files, shaped as kiln build/bench --json writes them

function stats(p50: number): LatencyStats {
  return {
    ...{ n: 200, p50, p90: p50 * 1.1, p99: p50 * 1.3, mean: p50, stddev: p50 * 0.05 },
    ...{ min: p50 * 0.9, max: p50 * 1.6, stable: true, stabilityPct: 5, warmup: 20, threads: 1 },
    coldStart: { createMs: 120, firstRunMs: p50 * 4 },
  };
}

export interface EngineSpec {
  model: string;
  profile?: string;
  pass?: boolean;
  p50?: number;
}

export function engineResult(target: string, spec: EngineSpec): EngineResult {
  const { model, profile = 'default', pass = true, p50 = 4.2 } = spec;
  return {
    ...{ model, profile, precision: 'fp32', target, backend: 'onnxruntime-cpu' },
    ...{ key: `sha256-${model.length}${profile.length}`, cache: 'miss' },
    enginePath: `${model}/key/engine.onnx`,
    golden: {
      pass,
      source: 'synthetic',
      samples: 4,
      outputs: [
        {
          ...{ output: 'y', dtype: 'float32', shape: [1, 10], total: 10 },
          ...{ maxAbsDiff: pass ? 2e-7 : 0.5, maxRelDiff: pass ? 1e-6 : 0.9, mismatches: pass ? 0 : 7 },
          ...{ cosine: pass ? 1 : 0.4, worstIndex: [0, 3], worstRef: 0.5, worstGot: pass ? 0.5 : 1 },
          ...{ nanRef: 0, nanGot: 0, infRef: 0, infGot: 0, atol: 1e-5, rtol: 1e-3, pass },
        },
      ],
      ...(pass ? {} : { failure: `output y: 7 of 10 elements differ (max abs diff 0.5)` }),
    },
    latency: { engine: stats(p50), reference: stats(p50 * 1.5) },
    speedup: 1.5,
    phases: { compileMs: 1200, goldenMs: 80, benchMs: 300 },
  };
}

export function buildResults(target: string, engines: EngineSpec[]): BuildResults {
  const list = engines.map((e) => engineResult(target, e));
  return {
    ...{ schema: 'kiln.build-results/v1', kilnVersion: '0.1.0', target, backend: 'onnxruntime-cpu' },
    ...{ hardware: {}, startedAt: '2025-01-01T00:00:00Z', finishedAt: '2025-01-01T00:01:00Z' },
    engines: list,
    gates: { golden: list.every((e) => e.golden.pass) ? 'pass' : 'fail' },
  };
}

export function abResults(target: string, engines: EngineSpec[], headOverBase = 1): AbResults {
  return {
    schema: 'kiln.ab-results/v1',
    target,
    baseRef: BASE_SHA,
    comparisons: engines.map(({ model, profile = 'default', p50 = 4.2 }): LatencyComparison => {
      const base = p50 * 1.3;
      const head = base * headOverBase;
      return {
        ...{ model, profile, precision: 'fp32', target, metric: 'p99' },
        base: { p50, p99: base, n: 200 },
        head: { p50: p50 * headOverBase, p99: head, n: 200 },
        ratio: headOverBase,
        ci: [headOverBase - 0.01, headOverBase + 0.01],
        ...{ confidence: 0.95, maxRegressionPct: 10 },
        verdict: headOverBase > 1.11 ? 'regression' : 'unchanged',
      };
    }),
  };
}

/** A plan matrix (the plan job's `matrix` output) for these model@target pairs. */
export function planMatrix(pairs: Array<[model: string, target: string]>): string {
  return JSON.stringify({
    include: pairs.map(([model, target]) => ({
      target,
      'runs-on': ['self-hosted', target],
      model,
      backend: 'onnxruntime-cpu',
    })),
  });
}
