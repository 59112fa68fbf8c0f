/**
 * The entry point test/action/local-action-e2e.test.ts gives `@github/local-action run`: it exports
 * `run()` as local-action requires (src/action/index.ts calls run at import time instead).
 *
 * local-action's @actions/artifact stub keeps its list of artifacts in the memory of its one process
 * (EnvMeta.artifacts, filled only by uploadArtifact; the zips in LOCAL_ACTION_ARTIFACT_PATH are not
 * read back at start-up), so a `report` run can only download what was uploaded in the same process.
 * This entry therefore first plays the build jobs' part: each folder named in KILN_E2E_UPLOADS
 * (JSON: [{ name, dir }]) is uploaded through the Action's own `actionsResultsTransfer`, i.e. the
 * stubbed DefaultArtifactClient, exactly as `build` uploads it. Then the Action runs, unmodified.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import { run as runAction } from '../../src/action/main.js';
import { actionsResultsTransfer } from '../../src/action/results-transfer.js';

export async function run(): Promise<void> {
  const uploads = JSON.parse(process.env.KILN_E2E_UPLOADS ?? '[]') as Array<{ name: string; dir: string }>;
  const transfer = actionsResultsTransfer();
  for (const { name, dir } of uploads) {
    const files = (await readdir(dir)).sort().map((f) => path.join(dir, f));
    await transfer.upload(name, files, dir);
  }
  await runAction();
}
