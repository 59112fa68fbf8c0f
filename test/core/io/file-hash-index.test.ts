import { execa } from 'execa';
import fc from 'fast-check';
import { mkdtemp, open, readFile, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultHashIndexFile, FileHashIndex, useHashIndex } from '../../../src/core/io/file-hash-index.js';
import { sha256File } from '../../../src/core/io/file-hashing.js';

let dir: string;
// Hashes are taken "ten seconds later", so files just written here are past the racy window.
const later = () => Date.now() + 10_000;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-hash-index-'));
});
afterEach(async () => {
  useHashIndex(new FileHashIndex(undefined));
  await rm(dir, { recursive: true, force: true });
});

async function sha256sum(file: string): Promise<string> {
  const { stdout } = await execa('sha256sum', ['-b', file]);
  return stdout.split(' ')[0]!;
}

/** Hashes `file` through `index`, counting how often the bytes were actually read. */
async function hashCounting(index: FileHashIndex, file: string): Promise<{ sha256: string; reads: number }> {
  let reads = 0;
  const handle = await open(file, 'r');
  try {
    const info = await handle.stat({ bigint: true });
    const sha256 = await index.hash(await realpath(file), info, async () => {
      reads++;
      const { createHash } = await import('node:crypto');
      return createHash('sha256')
        .update(await handle.readFile())
        .digest('hex');
    });
    return { sha256, reads };
  } finally {
    await handle.close();
  }
}

describe('FileHashIndex', () => {
  it('answers what sha256sum answers, fresh and from a reloaded index file', async () => {
    const indexFile = path.join(dir, 'index', 'hash-index.json');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3 << 20 }), async (bytes) => {
        const file = path.join(dir, 'model.onnx');
        await writeFile(file, bytes);
        const first = new FileHashIndex(indexFile, later);
        useHashIndex(first);
        const fresh = await sha256File(file);
        await first.flush();
        useHashIndex(new FileHashIndex(indexFile, later));
        const remembered = await sha256File(file);
        const peer = await sha256sum(file);
        expect(fresh).toBe(peer);
        expect(remembered).toBe(peer);
      }),
      { numRuns: 15 },
    );
  });

  it('serves an unchanged file from the index without reading it', async () => {
    const file = path.join(dir, 'a.bin');
    await writeFile(file, 'weights');
    const indexFile = path.join(dir, 'hash-index.json');
    const first = new FileHashIndex(indexFile, later);
    expect((await hashCounting(first, file)).reads).toBe(1);
    expect((await hashCounting(first, file)).reads).toBe(0);
    await first.flush();
    const again = await hashCounting(new FileHashIndex(indexFile, later), file);
    expect(again).toEqual({ sha256: await sha256sum(file), reads: 0 });
  });

  it('re-hashes a file rewritten with the same size and its mtime restored (ctime moved)', async () => {
    const file = path.join(dir, 'a.bin');
    await writeFile(file, 'weights-0');
    // A whole second, so utimes can restore it exactly (it takes no nanoseconds).
    const stamp = new Date('2020-01-01T00:00:00Z');
    await utimes(file, stamp, stamp);
    const before = await stat(file, { bigint: true });
    const indexFile = path.join(dir, 'hash-index.json');
    const first = new FileHashIndex(indexFile, later);
    await hashCounting(first, file);
    await first.flush();
    // Rewrite until the kernel's ctime tick has moved (coarse-timestamp filesystems included).
    for (let i = 0; i < 60; i++) {
      await writeFile(file, 'weights-1');
      await utimes(file, stamp, stamp);
      if ((await stat(file, { bigint: true })).ctimeNs !== before.ctimeNs) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const after = await stat(file, { bigint: true });
    expect(after.size).toBe(before.size);
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(after.ctimeNs).not.toBe(before.ctimeNs);
    const second = await hashCounting(new FileHashIndex(indexFile, later), file);
    expect(second).toEqual({ sha256: await sha256sum(file), reads: 1 });
  });

  it('ignores a corrupt or foreign index file and rebuilds it', async () => {
    const file = path.join(dir, 'a.bin');
    await writeFile(file, 'weights');
    const indexFile = path.join(dir, 'hash-index.json');
    const real = await realpath(file);
    const identity = await hashCounting(new FileHashIndex(undefined), file);
    for (const text of [
      '{not json',
      JSON.stringify({ schema: 'other/v1', entries: {} }),
      JSON.stringify({ schema: 'kiln.hash-index/v1', entries: { [real]: ['x', 'not-a-sha', 1] } }),
      '\u0000'.repeat(64),
    ]) {
      await writeFile(indexFile, text);
      const index = new FileHashIndex(indexFile, later);
      expect(await hashCounting(index, file)).toEqual({ sha256: identity.sha256, reads: 1 });
      await index.flush();
      expect(JSON.parse(await readFile(indexFile, 'utf8'))).toMatchObject({ schema: 'kiln.hash-index/v1' });
    }
  });

  it('does not remember a file changed within the racy window', async () => {
    const file = path.join(dir, 'a.bin');
    await writeFile(file, 'weights');
    const indexFile = path.join(dir, 'hash-index.json');
    const index = new FileHashIndex(indexFile);
    expect((await hashCounting(index, file)).reads).toBe(1);
    expect((await hashCounting(index, file)).reads).toBe(1);
    await index.flush();
    await expect(stat(indexFile)).rejects.toThrow();
  });

  it('gives up quietly where the index cannot be written (an unwritable pseudo-filesystem)', async () => {
    const file = path.join(dir, 'a.bin');
    await writeFile(file, 'weights');
    for (const indexFile of ['/proc/kiln-nonexistent/.cache/kiln/hash-index.json', '/proc/version']) {
      const index = new FileHashIndex(indexFile, later);
      expect(await hashCounting(index, file)).toEqual({ sha256: await sha256sum(file), reads: 1 });
      await index.flush();
    }
  });

  it('lives outside any repository unless told otherwise', () => {
    expect(defaultHashIndexFile({ KILN_HASH_INDEX: 'off' })).toBeUndefined();
    expect(defaultHashIndexFile({ KILN_HOST_CACHE: '/cache' })).toBe('/cache/hash-index.json');
    expect(defaultHashIndexFile({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/kiln/hash-index.json');
  });
});
