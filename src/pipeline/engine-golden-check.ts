import type { Backend } from '../backends/backend.js';
import type { Clock } from './clock.js';
import type { EngineJob } from './engine-jobs.js';
import type { GoldenInputs } from './golden-inputs.js';
import { goldenGroups } from './golden-output-groups.js';
import { goldenRecordWriter } from './golden-record.js';
import { runGoldenSuite, type GoldenRun } from './golden-suite.js';
import type { Progress } from './progress.js';

/** What the golden verdict of `job` depends on besides its engine (hashed into `specSha256`). */
export function goldenSpec(job: EngineJob) {
  return {
    inputsDir: job.model.golden.inputs,
    samples: job.model.golden.samples,
    seed: job.model.golden.seed,
    tolerance: job.model.golden.tolerance,
    precision: job.precision,
  };
}

export interface GoldenCheck {
  golden: GoldenRun;
  inputs: GoldenInputs;
  /** Writes the golden inputs next to the reference outputs already recorded; returns the file map. */
  finishRecord: ReturnType<typeof goldenRecordWriter>['finish'];
  goldenMs: number;
}

/**
 * Runs the golden suite of `job` on the engine at `enginePath` against the reference model,
 * recording the reference's outputs into the staging folder as they are compared.
 */
export async function checkGolden(
  job: EngineJob,
  enginePath: string,
  stagingDir: string,
  ctx: { backend: Backend; threads: number; progress: Progress; clock: Clock },
): Promise<GoldenCheck> {
  const { backend, clock } = ctx;
  const threads = { threads: ctx.threads };
  const started = clock.now();
  const inputs = await job.golden();
  const reference = await backend.openReference(job.model.path, threads);
  const engine = await backend.openEngine(enginePath, threads);
  const recorder = goldenRecordWriter(stagingDir);
  let golden;
  try {
    golden = await runGoldenSuite({
      reference,
      engine,
      samples: inputs.samples,
      precision: job.precision,
      tolerance: goldenSpec(job).tolerance,
      source: inputs.source,
      groups: (sample, names) => goldenGroups(job.description, sample, names),
      record: recorder.output,
    });
  } finally {
    await Promise.all([reference.release(), engine.release()]);
  }
  const goldenMs = clock.now() - started;
  ctx.progress.phase(
    'golden',
    golden.result.pass
      ? `pass, ${inputs.samples.length} ${inputs.source} samples`
      : `FAIL ${golden.result.failure ?? ''}`,
    goldenMs,
  );
  return { golden, inputs, finishRecord: recorder.finish, goldenMs };
}
