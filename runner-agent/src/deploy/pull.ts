import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { removeTree, tmpName, versionDir, type ModelPaths } from './pointer.js';
import type { ReleaseSource } from '../release-source.js';

/**
 * Brings `version` into `versions/<version>`: fetched into a staging folder under `<root>/.tmp`,
 * then renamed into place, so `versions/` never holds a half-copied release (a crash leaves only
 * staging, which the next deploy sweeps). The folder of the `previous` version is reused rather
 * than replaced, because the `previous` pointer names it; the verify step re-hashes it either way.
 * Returns the folder and the line to log.
 */
export async function installRelease(
  paths: ModelPaths,
  version: string,
  source: ReleaseSource,
  previous: string | null,
): Promise<{ dir: string; detail: string }> {
  const dest = versionDir(paths, version);
  const present = await stat(dest).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (present && version === previous) {
    return { dir: dest, detail: `versions/${version} already here (the previous version); re-verifying it` };
  }
  await mkdir(paths.tmp, { recursive: true });
  await mkdir(paths.versions, { recursive: true });
  const staging = tmpName(paths, version);
  try {
    const fetched = await source.fetch(paths.model, version, staging);
    // A folder no pointer names is a leftover (a refused or interrupted deploy): replace it.
    if (present) await removeTree(paths, dest);
    await rename(fetched, dest);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { dir: dest, detail: `${source.describe(paths.model, version)} → versions/${version}` };
}

/**
 * Removes every version folder but `keep` (what `current` and `previous` name) after a switch, so
 * a host that deploys daily does not fill its disk; returns the versions removed.
 */
export async function pruneVersions(paths: ModelPaths, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(paths.versions).catch(() => [])) {
    if (keep.has(name)) continue;
    await removeTree(paths, versionDir(paths, name));
    removed.push(name);
  }
  return removed.sort();
}
