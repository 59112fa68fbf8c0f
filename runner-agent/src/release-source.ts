import { cp, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../src/core/errors.js';

/**
 * Where `kiln-agent deploy` gets a release from. `fetch` copies (or downloads) the release folder of
 * `model@version` (release.json + engines/) into `stagingDir`, an empty folder under the serving
 * root's `.tmp` on the same filesystem, and returns the folder that holds release.json; the deploy
 * renames it into `versions/<version>` and verifies every hash itself, so a source need not be trusted.
 */
export interface ReleaseSource {
  /** For the `pull` log line: where `model@version` comes from. */
  describe(model: string, version: string): string;
  fetch(model: string, version: string, stagingDir: string): Promise<string>;
}

/** A local release store as `kiln publish --to DIR` writes it: `<dir>/<model>/<version>/release.json`. */
export function localReleaseSource(releasesDir: string): ReleaseSource {
  return {
    describe: (model, version) => path.join(releasesDir, model, version),
    async fetch(model, version, stagingDir) {
      const from = path.join(releasesDir, model, version);
      const found = await stat(path.join(from, 'release.json')).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!found) throw new InputError(`${from}: no such release (no release.json there)`);
      try {
        await cp(from, stagingDir, { recursive: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new InputError(`${from}: cannot copy the release (${code})`, { cause: error });
      }
      return stagingDir;
    },
  };
}
