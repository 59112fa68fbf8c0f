import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { rollup } from 'rollup';
import { expect, it } from 'vitest';
import config from '../../rollup.config.js';
import { ROOT } from '../helpers/kiln-cli.js';

// dist/ is committed because GitHub runs action.yml's main without installing anything. The global
// setup has just compiled build/ from the sources, so bundling it again must give dist/ byte for byte.
it('dist/index.js is the bundle of the current sources (run `npm run bundle` and commit dist/)', async () => {
  const bundle = await rollup({ ...config, input: path.join(ROOT, 'build/src/action/index.js') });
  const { output } = await bundle.generate({ ...(config.output as object), file: undefined, dir: undefined });
  await bundle.close();
  const fresh = output[0].code;
  const committed = await readFile(path.join(ROOT, 'dist/index.js'), 'utf8');
  expect(committed === fresh, 'dist/index.js is stale: run `npm run bundle` and commit dist/').toBe(true);
  expect(fresh).not.toContain('onnxruntime-node');
}, 120_000);
