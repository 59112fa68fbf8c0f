import { readdir } from 'node:fs/promises';
import { InputError } from '../../src/core/errors.js';
import { DeployLog } from './deploy-log.js';
import { isModelName, lockModel, modelPaths, readPointer } from './deploy-pointer.js';
import type { DeployRecord } from './deploy-record.js';
import { recoverModel } from './deploy-recover.js';

/**
 * `kiln-agent deploy --recover [MODEL]`: what the start of every deploy does anyway, on its own, for
 * one model or every model under `root` (e.g. from a systemd `ExecStartPre=` after a reboot). Returns
 * a `recover` record per model that had something to clean up.
 */
export async function runRecover(
  root: string,
  model: string | undefined,
  print: (line: string) => void,
): Promise<DeployRecord[]> {
  const models = model === undefined ? await modelsUnder(root) : [model];
  const records: DeployRecord[] = [];
  for (const name of models) {
    const paths = modelPaths(root, name);
    const log = new DeployLog(`deploy ${name}`, print);
    const startedAt = new Date().toISOString();
    const lock = await lockModel(paths, `kiln-agent deploy --recover ${name}`);
    try {
      const line = await recoverModel(paths);
      if (!line) {
        log.note('nothing to recover');
        continue;
      }
      log.step('recover', 'ok', line);
      const serving = await readPointer(paths.current);
      records.push({
        schema: 'kiln.deploy/v1',
        kind: 'recover',
        model: name,
        version: serving ?? '',
        outcome: 'unchanged',
        previous: serving,
        serving,
        engines: [],
        steps: log.events,
        startedAt,
        finishedAt: new Date().toISOString(),
      });
    } finally {
      await lock.release();
    }
  }
  return records;
}

async function modelsUnder(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { withFileTypes: true });
    // `.tmp` and `.events` live here too; anything else that is no model name was not made by deploy.
    return entries.filter((e) => e.isDirectory() && isModelName(e.name)).map((e) => e.name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw new InputError(`${root}: cannot read the serving root (${code})`, { cause: error });
  }
}
