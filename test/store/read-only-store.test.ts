/**
 * A read-only store serves its cache hits and refuses only what it would have to write. The
 * filesystem is stood in for by the store's write interface failing every write with EROFS (what
 * the kernel answers on a read-only mount): permission bits cannot simulate that when the tests run
 * as root, which ignores them. Where the tests do not run as root, the last case checks real
 * permissions through the CLI as well.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backends/registry.js';
import { loadConfig } from '../../src/core/io/config-load.js';
import { InputError } from '../../src/core/errors.js';
import { buildTarget } from '../../src/pipeline/build-target.js';
import { silentProgress } from '../../src/pipeline/progress.js';
import type { StoreFs } from '../../src/store/local-store.js';
import { FAST_BENCH, GENERATED, runKiln, storeFiles, workspace } from '../helpers/kiln-cli.js';

const profile = (name: string, batch: number) =>
  `      - { name: ${name}, shapes: { x: [${batch}, 8], ids: [${batch}, 4] } }\n`;
const config = (profiles: string) => `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
${profiles}    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`;

/** Every write fails as on a read-only mount; reads go to the real disk. */
const erofs = (op: string) => (target: unknown) =>
  Promise.reject(
    Object.assign(new Error(`EROFS: read-only file system, ${op} '${String(target)}'`), { code: 'EROFS' }),
  );
const readOnlyFs = {
  mkdir: erofs('mkdir'),
  writeFile: erofs('open'),
  rename: erofs('rename'),
  rm: erofs('rm'),
} as unknown as StoreFs;

let dir: string;
let store: string;
beforeAll(async () => {
  dir = await workspace(config(profile('b1', 1)), { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const built = await runKiln(['build'], dir);
  expect(built.exitCode, built.stderr).toBe(0);
  store = path.join(dir, '.kiln', 'store');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function build(configText: string, storeDir = store) {
  const file = path.join(dir, `kiln-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, configText);
  const loaded = await loadConfig(file);
  return buildTarget({
    config: loaded,
    target: loaded.targets[0]!,
    backend: await createBackend('onnxruntime-cpu', 'test'),
    models: [],
    storeDir,
    storeFs: readOnlyFs,
    progress: silentProgress,
  });
}

describe('a read-only store', () => {
  it('serves a build whose every engine is a cache hit, and writes nothing', async () => {
    const before = await storeFiles(store);
    const results = await build(config(profile('b1', 1)));
    expect(results.engines.map((e) => [e.profile, e.cache])).toEqual([['b1', 'hit']]);
    expect(results.gates.golden).toBe('pass');
    expect(await storeFiles(store)).toEqual(before);
  });

  it('refuses the one engine it would have to store, in one line naming the store and the artifact', async () => {
    const before = await storeFiles(store);
    const error = await build(config(profile('b1', 1) + profile('b2', 2))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(
        `^${store}: store is read-only \\(EROFS\\): cannot write the new artifact two-head/[0-9a-f]{64}; cache hits are served from it`,
      ),
    );
    expect(message).not.toContain('\n');
    expect(await storeFiles(store)).toEqual(before);
  });

  it('when empty (not even created), says the same one line instead of ENOENT', async () => {
    const empty = path.join(dir, 'no-store-here');
    const error = await build(config(profile('b1', 1)), empty).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      new RegExp(`^${empty}: store is read-only \\(EROFS\\): cannot write the new artifact two-head/`),
    );
    expect((error as Error).message).not.toMatch(/ENOENT/);
    expect(await storeFiles(empty)).toEqual([]);
  });

  // Root ignores permission bits, so this real-filesystem check only means something as another user.
  it.skipIf(process.getuid?.() === 0)(
    'with real permissions (not root): hits served through the CLI',
    async () => {
      const files = [store, ...(await storeFiles(store)).map((f) => path.dirname(path.join(store, f)))];
      const dirs = [...new Set(files)];
      await Promise.all(dirs.map((d) => chmod(d, 0o555)));
      try {
        const run = await runKiln(['build', '--json', 'ro.json'], dir);
        expect(run.exitCode, run.stderr).toBe(0);
        expect(run.stderr).toContain('(read-only: cache hits only)');
        const results = JSON.parse(await readFile(path.join(dir, 'ro.json'), 'utf8')) as {
          engines: Array<{ cache: string }>;
        };
        expect(results.engines.map((e) => e.cache)).toEqual(['hit']);
      } finally {
        await Promise.all(dirs.map((d) => chmod(d, 0o755)));
      }
    },
  );
});
