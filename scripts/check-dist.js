#!/usr/bin/env node
// Fails when the committed dist/index.js is not the bundle of the current sources (the TypeScript
// action template's check-dist, as a CI step of its own): GitHub runs action.yml's `main` straight
// from the repository, so a stale bundle would ship old code. It bundles in memory and compares,
// leaving the working tree untouched; `npm run bundle` rewrites dist/ when this fails.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import config from '../rollup.config.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

const bundle = await rollup({
  ...config,
  input: path.join(root, 'build/src/action/index.js'),
  // `npm run bundle` runs rollup --silent; zod's misplaced pure annotations are noise here too.
  onwarn: (warning, warn) =>
    warning.code === 'INVALID_ANNOTATION' ? undefined : config.onwarn(warning, warn),
});
const { output } = await bundle.generate({ ...config.output, file: undefined, dir: undefined });
await bundle.close();
const fresh = output[0].code;
const committed = readFileSync(path.join(root, 'dist/index.js'), 'utf8');
if (fresh.includes('onnxruntime-node')) {
  console.error(
    'check-dist: the Action bundle pulls in onnxruntime-node; the Action must never load native code',
  );
  process.exit(1);
}
if (committed !== fresh) {
  console.error('check-dist: dist/index.js is stale: run `npm run bundle` and commit dist/');
  process.exit(1);
}
console.log(`check-dist: dist/index.js is the bundle of the current sources (${fresh.length} bytes)`);
