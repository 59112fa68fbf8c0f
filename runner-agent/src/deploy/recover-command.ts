import { readdir } from 'node:fs/promises';
import { InputError } from '../../../src/core/errors.js';
import { isModelName, modelPaths, readPointer } from './pointer.js';
import type { DeployRecord } from './record.js';
import { inModelSession } from './session.js';

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
    const session = {
      kind: 'recover' as const,
      label: name,
      command: `kiln-agent deploy --recover ${name}`,
      print,
      logRecovery: false,
    };
    const paths = modelPaths(root, name);
    await inModelSession(paths, session, async ({ log, recovered, record }) => {
      if (!recovered) {
        log.note('nothing to recover');
        return;
      }
      log.step('recover', 'ok', recovered);
      const serving = await readPointer(paths.current);
      records.push(
        record({ version: serving ?? '', outcome: 'unchanged', previous: serving, serving, engines: [] }),
      );
    });
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
