import { readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  lockModel,
  modelPaths,
  readJournal,
  readPointer,
  setPointer,
  writeJournal,
} from '../../../runner-agent/src/deploy/pointer.js';
import { installRelease, pruneVersions } from '../../../runner-agent/src/deploy/pull.js';
import { recoverModel } from '../../../runner-agent/src/deploy/recover.js';
import { localReleaseSource } from '../../../runner-agent/src/release-source.js';

async function servingRoot() {
  const root = await mkdtemp(path.join(os.tmpdir(), 'kiln-serving-'));
  const paths = modelPaths(root, 'det');
  for (const v of ['1', '2']) {
    await mkdir(path.join(paths.versions, v), { recursive: true });
    await writeFile(path.join(paths.versions, v, 'release.json'), `{"version":"${v}"}`);
  }
  return paths;
}

describe('serving pointers', () => {
  it('switches current by renaming a fresh symlink over it, and reads the version back', async () => {
    const paths = await servingRoot();
    expect(await readPointer(paths.current)).toBeNull();
    await setPointer(paths.current, '1');
    expect(await readlink(paths.current)).toBe('versions/1');
    let between: string[] = [];
    await setPointer(paths.current, '2', () => {
      // Between symlink and rename: the old pointer still stands, the new one waits beside it.
      between = [readlinkSync(paths.current), readlinkSync(`${paths.current}.tmp-${process.pid}`)];
    });
    expect(between).toEqual(['versions/1', 'versions/2']);
    expect(await readPointer(paths.current)).toBe('2');
    expect(JSON.parse(await readFile(path.join(paths.current, 'release.json'), 'utf8'))).toEqual({
      version: '2',
    });
    expect((await readdir(paths.dir)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('refuses a pointer it did not write', async () => {
    const paths = await servingRoot();
    await symlink('/etc', paths.current);
    await expect(readPointer(paths.current)).rejects.toThrow(
      /points to '\/etc', expected versions\/<version>/,
    );
  });

  it('refuses a model name that is not a plain folder name', () => {
    expect(() => modelPaths('/srv', '../etc')).toThrow(/model '\.\.\/etc' is not usable/);
  });
});

describe('recovery after a crashed deploy', () => {
  it('removes the half-done version, staging and temp links, keeps current, and says so', async () => {
    const paths = await servingRoot();
    await setPointer(paths.current, '1');
    await writeJournal(paths, { version: '2', step: 'warmup', startedAt: 'T', pid: 999_999 });
    await mkdir(path.join(paths.tmp, 'det@2.abc'), { recursive: true });
    await mkdir(path.join(paths.tmp, 'other@2.abc'), { recursive: true });
    await symlink('versions/2', `${paths.current}.tmp-999999`);

    const line = await recoverModel(paths, () => false);
    expect(line).toBe(
      'a deploy of 2 (pid 999999, started T) stopped during warmup; removed current.tmp-999999, .tmp/det@2.abc, versions/2; current still 1',
    );
    expect(await readlink(paths.current)).toBe('versions/1');
    expect(await readdir(paths.versions)).toEqual(['1']);
    // Another model's staging belongs to another lock holder.
    expect(await readdir(paths.tmp)).toEqual(['other@2.abc']);
    expect(await readJournal(paths)).toBeUndefined();
    expect(await recoverModel(paths, () => false)).toBeUndefined();
  });

  it('keeps a version that a pointer names, e.g. a crash after the rename', async () => {
    const paths = await servingRoot();
    await setPointer(paths.current, '2');
    await writeJournal(paths, { version: '2', step: 'switch', startedAt: 'T', pid: 999_999 });
    expect(await recoverModel(paths, () => false)).toMatch(
      /stopped during switch; nothing left to remove; current still 2$/,
    );
    expect(await readdir(paths.versions)).toEqual(['1', '2']);
  });

  it('refuses to clean up under a deploy whose process is alive', async () => {
    const paths = await servingRoot();
    await writeJournal(paths, { version: '2', step: 'pull', startedAt: 'T', pid: 4242 });
    await expect(recoverModel(paths, () => true)).rejects.toThrow(
      /a deploy of det@2 by pid 4242 is still running/,
    );
    expect(await readJournal(paths)).toMatchObject({ version: '2', pid: 4242 });
  });
});

describe('the per-model lock', () => {
  it('refuses a second deploy of the same model, naming the holder, and lets it in after release', async () => {
    const paths = await servingRoot();
    const held = await lockModel(paths, 'kiln-agent deploy det@2');
    await expect(lockModel(paths, 'kiln-agent deploy det@3')).rejects.toThrow(
      new RegExp(`^det: pid ${process.pid} on .* \\(kiln-agent deploy det@2, since .*\\) is deploying it`),
    );
    await held.release();
    await (await lockModel(paths, 'kiln-agent deploy det@3')).release();
  });
});

describe('installing and pruning versions', () => {
  it('copies a release in through staging, replaces a leftover folder, reuses the previous one', async () => {
    const paths = await servingRoot();
    const releases = await mkdtemp(path.join(os.tmpdir(), 'kiln-releases-'));
    await mkdir(path.join(releases, 'det', '2'), { recursive: true });
    await writeFile(path.join(releases, 'det', '2', 'release.json'), '{"fresh":true}');
    const source = localReleaseSource(releases);

    const fresh = await installRelease(paths, '2', source, null);
    expect(fresh.detail).toBe(`${path.join(releases, 'det', '2')} → versions/2`);
    expect(await readFile(path.join(fresh.dir, 'release.json'), 'utf8')).toBe('{"fresh":true}');
    expect(await readdir(paths.tmp)).toEqual([]);

    await writeFile(path.join(paths.versions, '2', 'release.json'), '{"kept":true}');
    const reused = await installRelease(paths, '2', source, '2');
    expect(reused.detail).toMatch(/already here \(the previous version\)/);
    expect(await readFile(path.join(reused.dir, 'release.json'), 'utf8')).toBe('{"kept":true}');

    await expect(installRelease(paths, '9', source, null)).rejects.toThrow(/det\/9: no such release/);
    expect(await readdir(paths.tmp)).toEqual([]);
  });

  it('removes every version no pointer names', async () => {
    const paths = await servingRoot();
    await mkdir(path.join(paths.versions, '3'));
    expect(await pruneVersions(paths, new Set(['3', '2']))).toEqual(['1']);
    expect((await readdir(paths.versions)).sort()).toEqual(['2', '3']);
  });
});
