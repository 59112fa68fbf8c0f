import { realpathSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/**
 * Resolves a path written in a config file against the config's folder and refuses any that escape
 * it, symlinks included: a pull request must not make a self-hosted runner read `/etc` or a
 * neighbouring checkout by editing kiln.yaml.
 */
export function resolveInside(baseDir: string, relative: string, where: string): string {
  if (path.isAbsolute(relative)) {
    throw new InputError(
      `${where}: found absolute path "${relative}", expected a path relative to ${baseDir}`,
    );
  }
  const resolved = path.resolve(baseDir, relative);
  if (!isInside(baseDir, resolved)) {
    throw new InputError(`${where}: found "${relative}", expected a path that stays inside ${baseDir}`);
  }
  const real = realOrSelf(resolved);
  const realBase = realOrSelf(baseDir);
  if (!isInside(realBase, real)) {
    throw new InputError(
      `${where}: found "${relative}", which resolves through a symlink to ${real}, outside ${realBase}`,
    );
  }
  return resolved;
}

/** True when `candidate` is `dir` or below it. Both must be absolute. */
export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of the longest existing prefix, so not-yet-created paths are still checked. */
function realOrSelf(p: string): string {
  const missing: string[] = [];
  let current = p;
  for (;;) {
    try {
      return path.join(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return p;
      missing.push(path.basename(current));
      current = parent;
    }
  }
}
