#!/usr/bin/env node
// Compiles src/, runner-agent/ and bench/ into build/ (JS + .d.ts) with tsconfig.build.json.
//
//   --clean          remove build/ first, so a packed tarball never ships output of deleted sources
//                    (the `prepack` script: `npm pack` / `npm publish`, under any package manager).
//   --unless-packing do nothing when npm is packing or publishing (the `prepare` script): npm runs
//                    prepack, then prepare, so the clean build is already there and a second tsc
//                    would only double the time. On `npm ci` / `npm install` prepare still builds.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = new Set(process.argv.slice(2));

if (args.has('--unless-packing') && ['pack', 'publish'].includes(process.env.npm_command ?? '')) {
  console.log(`build: skipped in prepare, prepack built for npm ${process.env.npm_command}`);
  process.exit(0);
}
if (args.has('--clean')) rmSync(path.join(root, 'build'), { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
