import { readFile, realpath, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { execa } from 'execa';
import { FAST_BENCH, GENERATED, ROOT, runKiln, workspace } from '../helpers/kiln-cli.js';

const config = (seed: number) => `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 8], ids: [2, 4] }
    golden: { samples: 2, seed: ${seed} }
${FAST_BENCH}`;

interface Key {
  key: string;
}

describe('the no-op path: a verified cache hit needs no golden inputs; keys follow the bytes', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await workspace(config(7), { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    env = { KILN_HASH_INDEX: path.join(dir, 'cache', 'hash-index.json') };
    // Old enough to be past the racy window, so this run's hashes are remembered.
    const old = new Date(Date.now() - 60_000);
    await utimes(path.join(dir, 'model.onnx'), old, old);
    const first = await runKiln(['build'], dir, env);
    expect(first.exitCode, first.stderr).toBe(0);
  });

  // What a user waits for on a hit is mostly module loading: the native ORT addon, onnx-proto and
  // execa serve compiling, checking and timing engines, none of which a verified hit does.
  it.each([['build'], ['keys']])(
    'kiln %s on a cache hit loads no ORT, onnx-proto nor execa',
    async (command) => {
      const log = path.join(dir, `imports-${command}.log`);
      const run = await execa(
        'node',
        [
          '--import',
          path.join(ROOT, 'test', 'helpers', 'record-imports.mjs'),
          path.join(ROOT, 'bin', 'kiln.js'),
          command,
        ],
        { cwd: dir, reject: false, env: { ...env, KILN_RECORD_IMPORTS: log } },
      );
      expect(run.exitCode, run.stderr).toBe(0);
      if (command === 'build') expect(run.stderr).toMatch(/1 cache hits?, 0 built/);
      const imports = (await readFile(log, 'utf8')).trim().split('\n');
      expect(imports.some((url) => url.includes('/build/src/cli/commands/'))).toBe(true);
      expect(imports.filter((url) => /onnxruntime-node|onnx-proto|\/execa\//.test(url))).toEqual([]);
    },
  );

  it('serves the hit under a golden ceiling its inputs no longer fit, and refuses a re-check there', async () => {
    // 2 samples of float32[2,8] + int64[2,4] are 256 bytes: drawing them again would be refused.
    const tight = { ...env, KILN_MAX_GOLDEN_BYTES: '64' };
    const hit = await runKiln(['build', '--json', 'hit.json'], dir, tight);
    expect(hit.exitCode, hit.stderr).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'hit.json'), 'utf8')) as BuildResults;
    expect(results.engines.map((e) => e.cache)).toEqual(['hit']);

    await writeFile(path.join(dir, 'kiln.yaml'), config(8));
    const recheck = await runKiln(['build'], dir, tight);
    expect(recheck.exitCode).toBe(2);
    expect(recheck.stderr).toMatch(/over the 64-byte limit/);
    await writeFile(path.join(dir, 'kiln.yaml'), config(7));
  });

  it('keeps hashes outside the repository and still sees a same-size rewrite with its mtime restored', async () => {
    const model = path.join(dir, 'model.onnx');
    const before = JSON.parse((await runKiln(['keys'], dir, env)).stdout) as Key[];
    const index = JSON.parse(await readFile(env.KILN_HASH_INDEX!, 'utf8')) as {
      entries: Record<string, unknown>;
    };
    // Remembered (the build above ran seconds after the model's last change), so the rewrite below
    // must be caught by the identity check, not by an empty index.
    expect(Object.keys(index.entries)).toContain(await realpath(model));
    const info = await stat(model);
    const bytes = await readFile(model);
    // The model's doc string or a weight: any byte past the header changes the model's sha256.
    bytes[bytes.length - 1] ^= 1;
    await writeFile(model, bytes);
    await utimes(model, info.atime, info.mtime);
    const after = JSON.parse((await runKiln(['keys'], dir, env)).stdout) as Key[];
    expect(after.map((k) => k.key)).not.toEqual(before.map((k) => k.key));
  });
});
