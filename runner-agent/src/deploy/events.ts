import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import type { DeployRecord } from './record.js';
import { watchSpool, type SpoolFileInfo, type SpoolWatcher } from '../spool-watcher.js';

/** The serving root: `--root`, else KILN_AGENT_SERVING, else /var/lib/kiln-agent/serving. */
export function defaultServingRoot(env: NodeJS.ProcessEnv): string {
  return env.KILN_AGENT_SERVING || '/var/lib/kiln-agent/serving';
}

/** The events spool: `--events`, else KILN_AGENT_EVENTS, else `<root>/.events`. */
export function defaultEventsDir(env: NodeJS.ProcessEnv, root: string = defaultServingRoot(env)): string {
  return env.KILN_AGENT_EVENTS || path.join(root, '.events');
}

/** Files kept in the spool; older ones go, since only the newest per model decide the gauges. */
const KEEP_FILES = 500;

/**
 * Drops `record` into the events spool for `kiln-agent serve`: written under a dot-name and renamed,
 * so the watcher never reads half a file. Names start with the finish time, so they sort oldest first.
 */
export async function writeDeployEvents(dir: string, record: DeployRecord): Promise<string> {
  const stamp = record.finishedAt.replace(/[-:.]/g, '');
  const name = `${stamp}-${record.model}-${record.kind}-${process.pid}-${randomBytes(3).toString('hex')}.json`;
  const file = path.join(dir, name);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `.${name}.tmp`), `${JSON.stringify(record, null, 2)}\n`);
    await rename(path.join(dir, `.${name}.tmp`), file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InputError(`${dir}: cannot write the deploy events (${code})`, { cause: error });
  }
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  for (const old of names.slice(0, Math.max(0, names.length - KEEP_FILES))) {
    await rm(path.join(dir, old), { force: true });
  }
  return file;
}

/** Whether parsed JSON is a deploy record (enough of one for the metrics to use). */
export function isDeployRecord(value: unknown): value is DeployRecord {
  const r = value as Partial<DeployRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.schema === 'kiln.deploy/v1' &&
    typeof r.model === 'string' &&
    typeof r.version === 'string' &&
    Array.isArray(r.steps) &&
    (r.serving === null || typeof r.serving === 'string')
  );
}

export type DeployEventsWatcher = SpoolWatcher;

/**
 * Polls the events spool and hands each new record to `onRecord`, oldest first; files present on
 * the first scan come with `replay: true` (an earlier agent already counted them: refresh gauges
 * only). A missing folder is not an error: nothing was deployed on this host yet.
 */
export function watchDeployEvents(
  dir: string,
  onRecord: (record: DeployRecord, info: SpoolFileInfo) => void,
  options: { intervalMs?: number; onError?: (error: Error, file: string) => void } = {},
): DeployEventsWatcher {
  return watchSpool(dir, {
    label: 'events folder',
    quietWhenMissing: true,
    read: async (file) => {
      let record: unknown;
      try {
        record = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
      }
      if (!isDeployRecord(record)) throw new Error(`${file}: not a kiln.deploy/v1 record`);
      return record;
    },
    handle: onRecord,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}
