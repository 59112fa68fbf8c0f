import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GateError, InputError, KilnError, firstLine } from '../../core/errors.js';
import { BUILD_FAILURE_FILE, type BuildFailure } from '../build-failure.js';
import type { ActionIO } from '../action-io.js';
import type { EngineCache } from '../engine-cache.js';
import type { ActionInputs } from '../inputs.js';
import type { KilnRunner } from '../kiln-process.js';
import { resultsArtifactName, type ResultsTransfer } from '../results-transfer.js';
import { forkRefusal, type RunContext } from '../run-context.js';

interface KeyEntry {
  model: string;
  key: string;
  path: string;
}

/**
 * `build`, on a target's runner: restore engines by artifact key, `kiln build`, the interleaved A/B
 * bench against the merge base, save new engines, upload results. Results are uploaded even when a
 * gate failed, so the report can say what failed; the job then fails with kiln's own reason. A job
 * that fails uploads `failure.json` with that reason, so the report's line for the target says why;
 * a failed upload is a warning that never hides kiln's own verdict.
 */
export async function buildCommand(deps: {
  inputs: ActionInputs;
  context: RunContext;
  kiln: KilnRunner;
  cache: EngineCache;
  transfer: ResultsTransfer;
  io: ActionIO;
  tempDir: string;
}): Promise<void> {
  const { inputs, context, io } = deps;
  const refusal = forkRefusal(context);
  if (refusal) throw new InputError(refusal);
  const resultsDir = path.resolve(inputs.resultsDir);
  let verdict: KilnError | undefined;
  try {
    verdict = await buildAndBench(deps, resultsDir);
  } catch (error) {
    await upload(deps, resultsDir, failureRecord(inputs, error)).catch(() => undefined);
    throw error;
  }
  try {
    await upload(deps, resultsDir, verdict && failureRecord(inputs, verdict));
  } catch (error) {
    const why = `uploading the results of ${inputs.target} failed: ${firstLine(error)}`;
    if (verdict) deps.io.warning(why);
    else throw new KilnError(why, { cause: error });
  }
  io.setOutput('results-path', resultsDir);
  if (verdict) throw verdict;
}

/** The `failure.json` of a job that failed with `error`. */
function failureRecord(inputs: ActionInputs, error: unknown): BuildFailure {
  return {
    schema: 'kiln.build-failure/v1',
    target: inputs.target,
    model: inputs.model,
    exitCode: error instanceof GateError ? 1 : 2,
    reason: firstLine(error),
  };
}

/** Uploads build.json, ab.json and, for a failed job, failure.json as this job's results artifact. */
async function upload(
  deps: { inputs: ActionInputs; transfer: ResultsTransfer },
  resultsDir: string,
  failure: BuildFailure | undefined,
): Promise<void> {
  if (failure) {
    await mkdir(resultsDir, { recursive: true });
    await writeFile(path.join(resultsDir, BUILD_FAILURE_FILE), JSON.stringify(failure));
  }
  const files = [];
  for (const name of ['build.json', 'ab.json', ...(failure ? [BUILD_FAILURE_FILE] : [])])
    if (await exists(path.join(resultsDir, name))) files.push(path.join(resultsDir, name));
  if (files.length > 0)
    await deps.transfer.upload(resultsArtifactName(deps.inputs.target, deps.inputs.model), files, resultsDir);
}

/** Keys, restore, build, bench, save; returns kiln's failed verdict (not thrown) or undefined. */
async function buildAndBench(
  deps: {
    inputs: ActionInputs;
    context: RunContext;
    kiln: KilnRunner;
    cache: EngineCache;
    io: ActionIO;
    tempDir: string;
  },
  resultsDir: string,
): Promise<KilnError | undefined> {
  const { inputs, context, kiln, io } = deps;
  const store = inputs.store || path.join(deps.tempDir, 'kiln-store');
  const scope = [
    '--config',
    inputs.config,
    '--target',
    inputs.target,
    ...(inputs.model ? ['--model', inputs.model] : []),
  ];

  const keysFile = path.join(deps.tempDir, 'kiln-keys.json');
  const keys = await kiln.run(['keys', ...scope, '--json', keysFile]);
  if (keys.exitCode !== 0)
    throw new InputError(`kiln keys failed: ${keys.reason ?? `exit code ${keys.exitCode}`}`);
  const entries = (JSON.parse(await readFile(keysFile, 'utf8')) as KeyEntry[]).filter(
    (e, i, all) => all.findIndex((o) => o.key === e.key) === i,
  );
  const base = inputs.base || context.pullRequest?.baseSha;
  // The merge base's engines too, so the A/B bench times cached base engines instead of rebuilding.
  const baseEntries = base && inputs.cache ? await baseKeys(deps, base, scope, entries) : [];
  const restored = new Set<string>();
  if (inputs.cache) {
    for (const entry of [...entries, ...baseEntries])
      if (await deps.cache.restore(path.join(store, entry.path), entry.key)) restored.add(entry.key);
    io.info(
      `engine cache: ${restored.size} of ${entries.length + baseEntries.length} engines restored` +
        (baseEntries.length > 0 ? ` (${baseEntries.length} of them the merge base's)` : ''),
    );
  }

  const build = await kiln.run([
    'build',
    ...scope,
    '--store',
    store,
    ...(inputs.remoteStore
      ? ['--remote-store', inputs.remoteStore, ...(inputs.plainHttp ? ['--plain-http'] : [])]
      : []),
    '--json',
    path.join(resultsDir, 'build.json'),
  ]);
  const bench =
    base && build.exitCode !== 2
      ? await kiln.run([
          'bench',
          '--base',
          base,
          ...scope,
          '--store',
          store,
          '--json',
          path.join(resultsDir, 'ab.json'),
        ])
      : undefined;

  if (inputs.cache) {
    for (const entry of [...entries, ...baseEntries]) {
      const dir = path.join(store, entry.path);
      if (!restored.has(entry.key) && (await exists(path.join(dir, 'artifact.json'))))
        await deps.cache.save(dir, entry.key);
    }
  }
  for (const [name, run] of [
    ['build', build],
    ['bench', bench],
  ] as const) {
    if (!run || run.exitCode === 0) continue;
    const message = `kiln ${name} on ${inputs.target}: ${run.reason ?? `exit code ${run.exitCode}`}`;
    return run.exitCode === 1 ? new GateError(message) : new InputError(message);
  }
  return undefined;
}

/**
 * Keys of the merge base's engines not among the head's. Best effort: without them the bench
 * rebuilds the base engines, which costs time, not correctness, so a failure is a warning.
 */
async function baseKeys(
  deps: { kiln: KilnRunner; io: ActionIO; tempDir: string },
  base: string,
  scope: string[],
  head: KeyEntry[],
): Promise<KeyEntry[]> {
  const file = path.join(deps.tempDir, 'kiln-base-keys.json');
  const run = await deps.kiln.run(['keys', '--base', base, ...scope, '--json', file]);
  if (run.exitCode !== 0) {
    deps.io.warning(
      `merge-base engine keys unavailable (${run.reason ?? `exit code ${run.exitCode}`}); kiln bench rebuilds them`,
    );
    return [];
  }
  const entries = JSON.parse(await readFile(file, 'utf8')) as KeyEntry[];
  return entries.filter(
    (e, i) => !head.some((h) => h.key === e.key) && entries.findIndex((o) => o.key === e.key) === i,
  );
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
