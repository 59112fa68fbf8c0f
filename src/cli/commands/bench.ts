import path from 'node:path';
import { loadConfig } from '../../core/io/config-load.js';
import { InputError } from '../../core/errors.js';
import { readNpy } from '../../core/io/npy-files.js';
import type { AbResults, LatencyComparison } from '../../core/results.js';
import type { HostTensor } from '../../core/tensor.js';
import { createBackend } from '../../backends/registry.js';
import { compareEngines } from '../../pipeline/ab-bench.js';
import { benchFor } from '../../pipeline/latency-bench.js';
import { buildTarget } from '../../pipeline/build-target.js';
import { streamProgress } from '../../pipeline/progress.js';
import { readArtifactRecord } from '../../store/artifact.js';
import type { CommandArgs } from '../command-spec.js';
import type { benchOptions } from '../specs/bench.js';
import { openRepo } from '../git.js';
import { writeJsonAtomic } from '../write-json.js';
import { pickTargets } from './targets.js';

export const benchUsage =
  'kiln bench --base REF [--config kiln.yaml] [--target T] [--model M]... [--store DIR] [--json FILE]';

/**
 * `kiln bench --base REF`: builds (or finds in the store) the merge base's engines next to the
 * head's, then times each pair interleaved on this machine and decides regressions with a bootstrap
 * interval. Exit 1 when any engine regressed beyond the latency gate.
 */
export async function benchCommand({ values }: CommandArgs<typeof benchOptions>): Promise<number> {
  if (!values.base) throw new InputError(`kiln bench: --base REF is required (usage: ${benchUsage})`);
  const head = await loadConfig(values.config);
  const repo = await openRepo(head.configDir);
  // The merge base, not the tip of --base: main may have moved on since this branch left it.
  const baseSha = await repo.mergeBase(values.base, await repo.resolve(values.base));
  const progress = streamProgress((line) => process.stderr.write(`${line}\n`));
  const storeDir = values.store ?? head.storeDir;
  const worktree = await repo.worktree(baseSha);
  const results: AbResults[] = [];
  try {
    const baseConfig = await loadConfig(
      path.join(worktree.dir, path.relative(repo.root, head.configPath)),
    ).catch((error: unknown) => {
      progress.warn(
        `no usable config at ${values.base} (${(error as Error).message.split('\n')[0]}); every engine is new`,
      );
      return undefined;
    });
    for (const target of pickTargets(head, values.target, values.config)) {
      const backend = await createBackend(
        target.backend,
        `${values.config}: targets[${head.targets.indexOf(target)}].backend`,
        undefined,
        target.trt,
      );
      const models = values.model ?? [];
      progress.info(`head engines for ${target.name}`);
      const headBuild = await buildTarget({ config: head, target, backend, models, progress, storeDir });
      const baseModels = models.filter((m) => baseConfig?.models.some((b) => b.name === m));
      const baseBuild =
        baseConfig && (models.length === 0 || baseModels.length > 0)
          ? await (progress.info(`merge-base engines (${baseSha.slice(0, 12)}) for ${target.name}`),
            buildTarget({ config: baseConfig, target, backend, models: baseModels, progress, storeDir }))
          : undefined;
      const comparisons: LatencyComparison[] = [];
      for (const engine of headBuild.engines.filter((e) => e.enginePath)) {
        const twin = baseBuild?.engines.find(
          (b) =>
            b.model === engine.model &&
            b.profile === engine.profile &&
            b.precision === engine.precision &&
            b.enginePath,
        );
        progress.info(
          `A/B ${engine.model} / ${engine.profile} / ${engine.precision}: ${twin ? 'base vs head, interleaved' : 'new, head only'}`,
        );
        const comparison = await compareEngines({
          backend,
          head: engine,
          base: twin,
          inputs: await storedInputs(engine.enginePath),
          bench: benchFor(head.bench, head.models.find((m) => m.name === engine.model) ?? {}),
          gates: head.gates,
        });
        progress.phase('ab', describe(comparison));
        comparisons.push(comparison);
      }
      results.push({ schema: 'kiln.ab-results/v1', target: target.name, baseRef: baseSha, comparisons });
    }
  } finally {
    await worktree.remove();
  }
  if (values.json) await writeJsonAtomic(values.json, results.length === 1 ? results[0] : results);
  const regressions = results.flatMap((r) => r.comparisons).filter((c) => c.verdict === 'regression');
  if (regressions.length > 0) {
    const first = regressions[0]!;
    process.stderr.write(
      `kiln: latency gate failed for ${regressions.length} engine(s); first: ${first.model}/${first.profile}/${first.precision} on ${first.target}: ${describe(first)}\n`,
    );
    return 1;
  }
  return 0;
}

/** The first stored golden sample of an artifact: the exact inputs its golden check and bench used. */
async function storedInputs(enginePath: string): Promise<Record<string, HostTensor>> {
  const dir = path.dirname(enginePath);
  const record = await readArtifactRecord(dir);
  const files = record.golden.samplesFiles[0]?.inputs ?? {};
  const inputs: Record<string, HostTensor> = {};
  for (const [name, rel] of Object.entries(files))
    inputs[name] = await readNpy(path.join(dir, rel), { root: dir });
  return inputs;
}

/** One line per comparison, naming the statistic actually compared (p99 falls back with few samples) and n. */
function describe(c: LatencyComparison): string {
  const stat = c.statistic ?? c.metric;
  const ms = (side: LatencyComparison['head'] | undefined) => side?.[stat]?.toFixed(2) ?? '?';
  if (!c.ratio || !c.ci) return `${c.verdict}: head ${stat} ${ms(c.head)} ms (n=${c.head.n})`;
  const pct = (r: number) => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`;
  return `${c.verdict}: ${stat} ${pct(c.ratio)} [${pct(c.ci[0])}, ${pct(c.ci[1])}] at ${c.confidence * 100}% (${ms(c.base)} → ${ms(c.head)} ms, n=${c.base?.n ?? '?'}/${c.head.n})${c.note ? `; ${c.note}` : ''}`;
}
