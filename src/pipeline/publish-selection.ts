import { GateError, InputError } from '../core/errors.js';
import type { BuildResults } from '../core/results.js';
import type { LocalStore } from '../store/local-store.js';
import type { ReleaseCandidate } from '../store/release/release-writer.js';

/** An engine asked for by build results or by `kiln keys`, to be found in the store. */
export interface WantedEngine {
  model: string;
  profile: string;
  precision: string;
  target: string;
  key: string;
  /** From build results: the verdict the build reached. Absent when selected by key only. */
  goldenPass?: boolean;
  goldenFailure?: string;
}

/** Engines named by `kiln build --json` results, refusing the whole set if any failed golden. */
export function wantedFromResults(builds: BuildResults[], models: string[]): WantedEngine[] {
  const wanted = builds
    .flatMap((b) => b.engines)
    .filter((e) => models.length === 0 || models.includes(e.model))
    .map((e) => ({
      model: e.model,
      profile: e.profile,
      precision: e.precision,
      target: e.target,
      key: e.key,
      goldenPass: e.golden.pass,
      ...(e.golden.failure ? { goldenFailure: e.golden.failure } : {}),
    }));
  const failed = wanted.filter((w) => w.goldenPass === false);
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new GateError(
      `refusing to publish: ${failed.length} engine(s) failed their golden gate, first ${first.model}/${first.profile}/${first.precision} on ${first.target} (${first.goldenFailure ?? 'failed'}); nothing was published`,
    );
  }
  return wanted;
}

/**
 * Finds every wanted engine in the store, re-hashing it: a release is all verified engines or
 * nothing, so a missing or damaged one, or one whose latest recorded golden verdict failed (a
 * re-check after a tolerance change, or a build under `gates.golden: warn`), stops the publish
 * before anything is written.
 */
export async function collectCandidates(
  store: LocalStore,
  wanted: WantedEngine[],
): Promise<Map<string, ReleaseCandidate[]>> {
  if (wanted.length === 0) throw new InputError('nothing to publish: no engines selected');
  const byModel = new Map<string, ReleaseCandidate[]>();
  for (const w of wanted) {
    const where = `${w.model}/${w.profile}/${w.precision} on ${w.target} (${w.key.slice(0, 12)})`;
    const found = await store.lookup(w.model, w.key);
    if (found.status === 'miss') {
      throw new InputError(`${where}: not in the store ${store.dir}; build it first (kiln build)`);
    }
    if (found.status === 'corrupt') {
      throw new InputError(`${where}: the stored artifact is damaged (${found.reason}); rebuild it`);
    }
    const golden = found.artifact.record.golden;
    if (!golden.pass) {
      const when = golden.recheckedAt ? `its golden re-check of ${golden.recheckedAt}` : 'its golden gate';
      throw new GateError(
        `refusing to publish: ${where} failed ${when} (${golden.failure ?? 'failed'}); nothing was published`,
      );
    }
    const list = byModel.get(w.model) ?? [];
    list.push({ artifact: found.artifact, target: w.target });
    byModel.set(w.model, list);
  }
  return byModel;
}
