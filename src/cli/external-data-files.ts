import path from 'node:path';
import { toRepoPath } from '../core/changed-models.js';
import type { KilnConfig } from '../core/io/config-load.js';
import { firstLine } from '../core/errors.js';
import { checkExternalData } from '../backends/model/external-data-check.js';
import { loadModelSkeleton } from '../backends/model/onnx-skeleton.js';

/** A model's external-data files as repo paths, or why they could not be read. */
export type ExternalDataFiles = { files: string[] } | { unreadable: string };

/**
 * The external-data files (`.onnx` + `.data`) of each model that has a changed file in its folder,
 * as repo-relative paths (a changed file that is a model or manifest itself does not count), so that `kiln plan` rebuilds a model whose weights changed while its
 * `.onnx` did not. Only the model's protobuf skeleton is walked (no weights are read), and only for
 * models a change could touch. A model that cannot be read is reported as such: the planner then
 * builds it rather than guess (fail closed).
 */
export async function externalDataFiles(
  head: KilnConfig,
  repoRoot: string,
  changedFiles: readonly string[],
): Promise<Map<string, ExternalDataFiles>> {
  const found = new Map<string, ExternalDataFiles>();
  // A changed file that is some model's .onnx or manifest is accounted for already: it cannot be
  // another model's weights, so it opens nothing.
  const claimed = new Set(
    head.models
      .flatMap((m) => [m.path, ...(m.manifest ? [m.manifest] : [])])
      .map((f) => toRepoPath(repoRoot, f)),
  );
  const unclaimed = changedFiles.filter((f) => !claimed.has(f));
  for (const model of head.models) {
    const folder = toRepoPath(repoRoot, path.dirname(model.path));
    const inFolder = unclaimed.some((f) => folder === '' || f.startsWith(`${folder}/`));
    if (!inFolder) continue;
    try {
      const skeleton = await loadModelSkeleton(model.path, head.configDir);
      const locations = await checkExternalData(skeleton, model.path);
      const files = locations.map((l) => toRepoPath(repoRoot, path.join(path.dirname(model.path), l)));
      found.set(model.name, { files });
    } catch (error) {
      found.set(model.name, { unreadable: firstLine(error) });
    }
  }
  return found;
}
