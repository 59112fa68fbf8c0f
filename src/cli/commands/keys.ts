import path from 'node:path';
import { loadConfig } from '../../core/io/config-load.js';
import { keysFor, type KeyEntry } from '../../pipeline/engine-keys.js';
import type { CommandArgs } from '../command-spec.js';
import type { keysOptions } from '../specs/keys.js';
import { loadBaseConfig } from '../base-config.js';
import { openRepo } from '../git.js';
import { writeJsonAtomic } from '../write-json.js';
import { pickTargets } from './targets.js';

/**
 * `kiln keys`: the artifact key of every engine a build would produce on this host, without
 * building. The Action restores exactly these from its cache before `kiln build` runs; with
 * `--base REF` it lists the merge base's engines instead, the ones `kiln bench --base` will time.
 */
export async function keysCommand({ values }: CommandArgs<typeof keysOptions>): Promise<number> {
  const head = await loadConfig(values.config);
  const targets = pickTargets(head, values.target, values.config);
  let keys: KeyEntry[];
  if (values.base) {
    const repo = await openRepo(head.configDir);
    const sha = await repo.mergeBase(values.base, await repo.resolve(values.base));
    const worktree = await repo.worktree(sha);
    try {
      // A config absent or invalid at the merge base has no engines to restore: every head engine is new.
      const base = await loadBaseConfig(
        path.join(worktree.dir, path.relative(repo.root, head.configPath)),
        (line) => process.stderr.write(`kiln: note: ${line}\n`),
      );
      keys = base
        ? await keysFor(
            base,
            targets.map((t) => t.name),
            values.model ?? [],
          )
        : [];
    } finally {
      await worktree.remove();
    }
  } else {
    keys = await keysFor(
      head,
      targets.map((t) => t.name),
      values.model ?? [],
    );
  }
  if (values.json) await writeJsonAtomic(values.json, keys);
  else process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
  return 0;
}
