import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/kiln-cli.js';

// Whether dist/ is the bundle of the current sources is `npm run check-dist`, a step of .ci/run of
// its own (re-bundling takes most of a minute). Here: the committed bundle must load and run on its own.
// Every dependency, @actions/attest's Sigstore code included, is inlined: a bad input reaches the one setFailed as a workflow command.
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
