import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../../src/core/errors.js';
import { isAlive as processAlive } from '../../../src/core/io/file-lock.js';
import {
  clearJournal,
  readJournal,
  readPointer,
  removeTree,
  versionDir,
  type ModelPaths,
} from './pointer.js';

/**
 * Cleans up after a deploy of `paths.model` that died (killed, crashed, power cut) and reports it in
 * one line, or returns undefined when there was nothing to clean. Call it holding the model's deploy
 * lock, so no live deploy owns what it removes.
 *
 * `current` is never touched: the switch is a single rename, so whatever it names is a version that
 * passed every step (or the one that served before). What goes: half-written pointer symlinks
 * (`current.tmp-<pid>`), staging and trash folders under `<root>/.tmp`, the journal, and the folder
 * of the version the dead deploy was installing unless a pointer names it, since it never finished
 * its checks (the next deploy pulls it again).
 */
export async function recoverModel(
  paths: ModelPaths,
  isAlive: (pid: number) => boolean = processAlive,
): Promise<string | undefined> {
  const journal = await readJournal(paths);
  if (journal && journal.pid > 0 && journal.pid !== process.pid && isAlive(journal.pid)) {
    throw new InputError(
      `${paths.journal}: a deploy of ${paths.model}@${journal.version} by pid ${journal.pid} is still running (its lock ${paths.lock} was removed by hand?)`,
    );
  }
  const removed: string[] = [];
  for (const name of await entries(paths.dir)) {
    if (/^(current|previous|deploy\.json)\.tmp-\d+$/.test(name)) {
      await rm(path.join(paths.dir, name), { force: true });
      removed.push(name);
    }
  }
  for (const name of await entries(paths.tmp)) {
    if (name.startsWith(`${paths.model}@`)) {
      await rm(path.join(paths.tmp, name), { recursive: true, force: true });
      removed.push(`.tmp/${name}`);
    }
  }
  const current = await readPointer(paths.current);
  const previous = await readPointer(paths.previous);
  if (journal?.version && journal.version !== current && journal.version !== previous) {
    const dir = versionDir(paths, journal.version);
    if (await exists(dir)) {
      await removeTree(paths, dir);
      removed.push(`versions/${journal.version}`);
    }
  }
  if (journal) await clearJournal(paths);
  if (!journal && removed.length === 0) return undefined;
  const what = removed.length > 0 ? `removed ${removed.join(', ')}` : 'nothing left to remove';
  const serving = current === null ? 'nothing is serving' : `current still ${current}`;
  const stopped = journal
    ? journal.version
      ? `a deploy of ${journal.version} (pid ${journal.pid}, started ${journal.startedAt}) stopped during ${journal.step}`
      : 'an unreadable deploy journal was left behind'
    : 'leftovers of an interrupted deploy';
  return `${stopped}; ${what}; ${serving}`;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new InputError(`${dir}: cannot read (${(error as NodeJS.ErrnoException).code})`, { cause: error });
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
