import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** kiln's npm package name (npm's `kiln` is an unrelated package). */
export const KILN_PACKAGE = 'kiln-ml';

/**
 * kiln's own version, from the nearest package.json named `kiln-ml` above this module: the same code
 * runs from `src/` under vitest and from `build/src/` once compiled.
 */

export const KILN_VERSION: string = findVersion(path.dirname(fileURLToPath(import.meta.url)));

function findVersion(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === KILN_PACKAGE && pkg.version) return pkg.version;
    } catch {
      // not here; keep climbing
    }
    if (path.dirname(dir) === dir) return '0.0.0-unknown';
  }
}
