import { execa } from 'execa';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { corruptCopies, writeSyntheticModels } from './fixtures/synthetic-models.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Where shared generated fixtures live for the whole run. */
export const GENERATED = path.join(root, 'test', 'fixtures', 'generated');

/**
 * Runs once per `vitest run`: compiles the CLI that integration tests spawn (so they test the
 * shipped entry point, exit codes included) and writes the synthetic models every suite shares.
 */
export default async function setup(): Promise<void> {
  await execa('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const models = await writeSyntheticModels(GENERATED);
  await corruptCopies(models.twoHead, GENERATED);
}
