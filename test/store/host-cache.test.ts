import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostCache } from '../../src/store/host-cache.js';
import { InputError } from '../../src/core/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled cache (test/global-setup.ts builds it), for the child processes. */
const COMPILED = pathToFileURL(path.join(root, 'build', 'src', 'store', 'host-cache.js')).href;

let tmp: string;
let cacheDir: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-host-cache-'));
  cacheDir = path.join(tmp, 'cache');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** An artifact folder of about `engineBytes` bytes: engine, artifact.json and a golden sample. */
async function artifact(name: string, engineBytes = 1000, seed = name): Promise<string> {
  const dir = path.join(tmp, 'src', name);
  await mkdir(path.join(dir, 'golden'), { recursive: true });
  const engine = Buffer.alloc(engineBytes, seed);
  await writeFile(path.join(dir, 'engine.ort'), engine);
  await writeFile(path.join(dir, 'golden', 'out-0.npy'), `golden ${seed}`);
  const sha256 = createHash('sha256').update(engine).digest('hex');
  await writeFile(
    path.join(dir, 'artifact.json'),
    JSON.stringify({
      schema: 'kiln.artifact/v1',
      key: seed,
      engine: { file: 'engine.ort', sha256, bytes: engineBytes },
    }),
  );
  return dir;
}

const out = () => path.join(tmp, 'out', randomBytes(4).toString('hex'));

describe('HostCache', () => {
  it('put then get copies the artifact out whole and verified', async () => {
    const cache = new HostCache(cacheDir, { maxBytes: 100_000 });
    const src = await artifact('a');
    expect(await cache.put('aaaa', src)).toMatchObject({ status: 'stored', evicted: [] });
    const into = out();
    const got = await cache.get('aaaa', into);
    expect(got).toMatchObject({ status: 'hit', dir: into, record: { engine: { file: 'engine.ort' } } });
    for (const rel of ['engine.ort', 'artifact.json', 'golden/out-0.npy']) {
      expect(await readFile(path.join(into, rel))).toEqual(await readFile(path.join(src, rel)));
    }
    expect(await cache.get('bbbb', out())).toEqual({ status: 'miss' });
    expect(await cache.put('aaaa', src)).toMatchObject({ status: 'exists' });
  });

  it('evicts the least recently used entry, where a get counts as a use', async () => {
    const cache = new HostCache(cacheDir, { maxBytes: 2_500 });
    await cache.put('a', await artifact('a'));
    await cache.put('b', await artifact('b'));
    await cache.get('a', out());
    expect((await cache.list()).map((e) => e.key)).toEqual(['b', 'a']);
    const put = await cache.put('c', await artifact('c'));
    expect(put.evicted).toEqual(['b']);
    expect((await cache.list()).map((e) => e.key)).toEqual(['a', 'c']);
    expect(existsSync(path.join(cacheDir, 'entries', 'b'))).toBe(false);
    expect(await cache.get('b', out())).toEqual({ status: 'miss' });
  });

  it('stays within maxBytes, and an artifact larger than the cache is not stored', async () => {
    const cache = new HostCache(cacheDir, { maxBytes: 5_000 });
    for (let i = 0; i < 8; i++) await cache.put(`k${i}`, await artifact(`k${i}`, 700 + i * 100));
    const entries = await cache.list();
    const total = entries.reduce((sum, e) => sum + e.bytes, 0);
    expect(total).toBeLessThanOrEqual(5_000);
    expect(entries.map((e) => e.key)).toContain('k7');
    expect((await readdir(path.join(cacheDir, 'entries'))).sort()).toEqual(entries.map((e) => e.key).sort());

    const huge = await cache.put('huge', await artifact('huge', 6_000));
    expect(huge.status).toBe('too-large');
    expect(existsSync(path.join(cacheDir, 'entries', 'huge'))).toBe(false);

    const small = new HostCache(cacheDir, { maxBytes: 2_000 });
    const evicted = await small.evict();
    expect(evicted.length).toBeGreaterThan(0);
    expect((await small.list()).reduce((sum, e) => sum + e.bytes, 0)).toBeLessThanOrEqual(2_000);
  });

  it.each([
    ['a flipped engine byte', 'engine.ort', 'engine.ort sha256'],
    ['a changed golden file', 'golden/out-0.npy', 'golden/out-0.npy sha256'],
  ])('%s: the entry is refused and removed', async (_what, file, reason) => {
    const cache = new HostCache(cacheDir, { maxBytes: 100_000 });
    await cache.put('k', await artifact('k'));
    const target = path.join(cacheDir, 'entries', 'k', file);
    const bytes = await readFile(target);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(target, bytes);
    const into = out();
    const got = await cache.get('k', into);
    expect(got.status).toBe('corrupt');
    expect((got as { reason: string }).reason).toContain(reason);
    expect(existsSync(into)).toBe(false);
    expect(existsSync(path.join(cacheDir, 'entries', 'k'))).toBe(false);
    expect(await cache.get('k', out())).toEqual({ status: 'miss' });
  });

  it('a file planted in an entry, or one gone missing, is corruption too', async () => {
    const cache = new HostCache(cacheDir, { maxBytes: 100_000 });
    await cache.put('p', await artifact('p'));
    await writeFile(path.join(cacheDir, 'entries', 'p', 'extra.so'), 'x');
    expect(await cache.get('p', out())).toEqual({ status: 'corrupt', reason: 'extra.so was not cached' });
    await cache.put('m', await artifact('m'));
    await rm(path.join(cacheDir, 'entries', 'm', 'golden', 'out-0.npy'));
    expect(await cache.get('m', out())).toEqual({ status: 'corrupt', reason: 'golden/out-0.npy is missing' });
  });

  it('refuses to cache an artifact whose engine does not match its artifact.json, or a bad key', async () => {
    const cache = new HostCache(cacheDir, { maxBytes: 100_000 });
    const src = await artifact('bad');
    await writeFile(path.join(src, 'engine.ort'), 'truncated');
    await expect(cache.put('bad', src)).rejects.toThrow(/engine sha256 differs from artifact.json's/);
    await expect(cache.put('nope', path.join(tmp, 'nowhere'))).rejects.toThrow(/artifact.json is missing/);
    await expect(cache.put('../escape', await artifact('ok'))).rejects.toThrow(InputError);
    expect(await cache.list()).toEqual([]);
  });

  it('sweeps what a crash left: unindexed entries and staging of dead processes', async () => {
    const cache = new HostCache(cacheDir, { maxBytes: 100_000 });
    await cache.put('kept', await artifact('kept'));
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => child.on('exit', resolve));
    await mkdir(path.join(cacheDir, 'entries', 'orphan'), { recursive: true });
    await mkdir(path.join(cacheDir, 'tmp', `${child.pid}-abcdef`), { recursive: true });
    await cache.evict();
    expect(await readdir(path.join(cacheDir, 'entries'))).toEqual(['kept']);
    expect(await readdir(path.join(cacheDir, 'tmp'))).toEqual([]);
  });

  it('two processes putting the same keys at once leave one intact entry per key', async () => {
    const script = path.join(tmp, 'put.mjs');
    await writeFile(
      script,
      `const [modUrl, dir, ...folders] = process.argv.slice(2);
const { HostCache } = await import(modUrl);
const cache = new HostCache(dir, { maxBytes: 1e9 });
for (let round = 0; round < 3; round++)
  for (const [i, folder] of folders.entries()) await cache.put('key' + i, folder);`,
    );
    // Same content, separate source folders per process, as two jobs building the same key would have.
    const sources = async (who: string) =>
      Promise.all([0, 1, 2, 3].map((i) => artifact(`${who}-${i}`, 20_000 + i, `content-${i}`)));
    const runs = await Promise.all(
      ['p', 'q'].map(async (who) => {
        const child = spawn(process.execPath, [script, COMPILED, cacheDir, ...(await sources(who))], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        return new Promise((resolve) => child.on('exit', resolve));
      }),
    );
    expect(runs).toEqual([0, 0]);
    const cache = new HostCache(cacheDir, { maxBytes: 1e9 });
    expect((await cache.list()).map((e) => e.key).sort()).toEqual(['key0', 'key1', 'key2', 'key3']);
    for (let i = 0; i < 4; i++) {
      const into = out();
      expect(await cache.get(`key${i}`, into)).toMatchObject({ status: 'hit' });
      expect((await readFile(path.join(into, 'engine.ort'))).length).toBe(20_000 + i);
    }
    expect(await readdir(path.join(cacheDir, 'tmp'))).toEqual([]);
  });
});
