import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KilnError } from '../../../src/core/errors.js';
import { redact } from '../../../src/core/redact.js';
import type { InterferenceRecord } from '../../../src/core/results.js';
import type { IsolatedBench } from './bench-isolation.js';

/** What `kiln-agent run` knows once its command has finished. */
export interface RunFacts {
  /** The `--gpu` UUID as leased: the `device` label on `kiln_interference_events_total`. */
  leased: string;
  /** The UUID nvidia-smi reports processes under (a MIG lease's parent GPU). */
  watchedUuid: string;
  /** The command after `--`. */
  command: string[];
}

/**
 * The `kiln.interference/v1` record of one run. Its events are every foreign process of every
 * attempt, including attempts a retry recovered from: the counter measures how often neighbours
 * disturbed this GPU, not only the runs they ruined. The command line is redacted, since a job
 * may pass a token on it and the spool is readable by whoever scrapes the host.
 */
export function interferenceRecord(facts: RunFacts, outcome: IsolatedBench<unknown>): InterferenceRecord {
  return {
    schema: 'kiln.interference/v1',
    device: facts.leased,
    gpuUuid: facts.watchedUuid,
    command: redact(facts.command.join(' ')),
    attempts: outcome.attempts,
    interfered: outcome.interfered,
    events: outcome.reports.flatMap((report) =>
      report.events.map(({ at, pid, processName, usedMiB }) =>
        usedMiB === undefined ? { at, pid, processName } : { at, pid, processName, usedMiB },
      ),
    ),
    samples: outcome.reports.reduce((n, r) => n + r.samples, 0),
    failedSamples: outcome.reports.reduce((n, r) => n + r.failedSamples, 0),
  };
}

/** Records kept in the spool; older ones go, so a busy runner does not grow the folder forever. */
const KEEP_RECORDS = 500;
const PREFIX = 'interference-';

/**
 * Drops `record` into the results spool for `kiln-agent serve`: written under a dot-name (which the
 * watcher skips) and renamed, so the watcher never reads half a file. Names start with the time, so
 * they sort oldest first; only this writer's own files are pruned, never a job's build results.
 * Throws KilnError naming the folder when the record cannot be written.
 */
export async function writeInterferenceRecord(
  dir: string,
  record: InterferenceRecord,
  now: Date = new Date(),
): Promise<string> {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const name = `${PREFIX}${stamp}-${process.pid}-${randomBytes(3).toString('hex')}.json`;
  const temp = path.join(dir, `.${name}.tmp`);
  const file = path.join(dir, name);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new KilnError(`${dir}: cannot write the interference record (${code})`, { cause: error });
  }
  try {
    const names = (await readdir(dir)).filter((n) => n.startsWith(PREFIX) && n.endsWith('.json')).sort();
    for (const old of names.slice(0, Math.max(0, names.length - KEEP_RECORDS))) {
      await rm(path.join(dir, old), { force: true });
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new KilnError(`${dir}: wrote ${name} but could not prune older interference records (${code})`, {
      cause: error,
    });
  }
  return file;
}
