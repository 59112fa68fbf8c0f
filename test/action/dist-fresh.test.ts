import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
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

// The committed bundle must also load and run on its own (every dependency, @actions/attest's
// Sigstore code included, inlined): a bad input reaches the one setFailed as a workflow command.
it('dist/index.js runs under plain node and fails a bad input in one workflow error line', async () => {
  const result = await execa('node', [path.join(ROOT, 'dist/index.js')], {
    reject: false,
    cwd: os.tmpdir(),
    env: { INPUT_COMMAND: 'publish', INPUT_ATTEST: 'maybe', PATH: process.env.PATH ?? '' },
    extendEnv: false,
  });
  const errors = result.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  expect(errors).toEqual(["::error::input 'attest': found 'maybe', expected true or false"]);
  expect(result.exitCode).toBe(1);
}, 60_000);
