import type { Clock } from '../../../src/pipeline/clock.js';
import { DeployLog } from './log.js';
import { lockModel, type ModelPaths } from './pointer.js';
import type { DeployRecord } from './record.js';
import { recoverModel } from './recover.js';

/** The fields a command decides; the session fills in the rest of the record. */
export type RecordFields = Omit<
  DeployRecord,
  'schema' | 'kind' | 'model' | 'steps' | 'startedAt' | 'finishedAt'
>;

/** One command's hold on one model: its lock taken, an interrupted deploy cleaned up, a log started. */
export interface ModelSession {
  readonly log: DeployLog;
  readonly startedAt: string;
  /** What recovery cleaned up (one line), or undefined when there was nothing to do. */
  readonly recovered: string | undefined;
  /** A `kiln.deploy/v1` record of this command, stamped now. */
  record(fields: RecordFields): DeployRecord;
}

export interface SessionOptions {
  kind: DeployRecord['kind'];
  /** `ocr-det@2` or `ocr-det`: what log lines and the lock holder name. */
  label: string;
  /** The lock's holder, as `kiln-agent …` shows it to a second command waiting on the lock. */
  command: string;
  print: (line: string) => void;
  /** Log the cleanup as a `recover` step (deploy, rollback); `--recover` reports it itself. */
  logRecovery: boolean;
  clock?: Clock;
  now?: () => Date;
  isAlive?: (pid: number) => boolean;
}

/**
 * Runs `work` under the model's deploy lock, after recovering whatever an interrupted deploy left
 * behind: the start that `deploy`, `rollback` and `deploy --recover` share. The lock is released
 * whatever `work` does.
 */
export async function inModelSession<T>(
  paths: ModelPaths,
  options: SessionOptions,
  work: (session: ModelSession) => Promise<T>,
): Promise<T> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const prefix = options.kind === 'rollback' ? 'rollback' : 'deploy';
  const log = new DeployLog(`${prefix} ${options.label}`, options.print, options.clock, now);
  const lock = await lockModel(paths, options.command);
  try {
    const recovered = await recoverModel(paths, options.isAlive);
    if (recovered && options.logRecovery) log.step('recover', 'ok', recovered);
    return await work({
      log,
      startedAt,
      recovered,
      record: (fields) => ({
        schema: 'kiln.deploy/v1',
        kind: options.kind,
        model: paths.model,
        ...fields,
        steps: log.events,
        startedAt,
        finishedAt: now().toISOString(),
      }),
    });
  } finally {
    await lock.release();
  }
}
