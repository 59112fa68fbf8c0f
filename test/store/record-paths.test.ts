import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { checkReleasePaths, type ReleaseRecord } from '../../src/store/release/release-record.js';
import { recordPath, regularFileInside } from '../../src/store/record-paths.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-record-paths-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('recordPath', () => {
  it.each(['engine.ort', 'engines/abc/engine.plan', 'golden/0/x.npy', '..engine', 'a..b'])(
    'accepts %j, which stays inside its folder',
    (p) => {
      expect(recordPath.safeParse(p).success).toBe(true);
    },
  );

  it.each(['', '../x', 'a/../../x', '/etc/passwd', 'a\\..\\x', 'a//b', './a', 'a/.', 'a/', 'x\0y', 'a/..'])(
    'refuses %j',
    (p) => {
      expect(recordPath.safeParse(p).success).toBe(false);
    },
  );
});

describe('regularFileInside', () => {
  it('a regular file reached through real folders is the joined path; a missing one is undefined', async () => {
    await mkdir(path.join(tmp, 'a', 'b'), { recursive: true });
    await writeFile(path.join(tmp, 'a', 'b', 'f'), 'x');
    expect(await regularFileInside(tmp, 'a/b/f', 'r.json', 'k')).toBe(path.join(tmp, 'a', 'b', 'f'));
    expect(await regularFileInside(tmp, 'a/b/nope', 'r.json', 'k')).toBeUndefined();
  });

  it('a symlinked folder on the way, or a folder at the end, is one line naming record and key', async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'kiln-outside-'));
    await writeFile(path.join(outside, 'f'), 'x');
    await symlink(outside, path.join(tmp, 'link'));
    await expect(regularFileInside(tmp, 'link/f', 'r.json', 'engine.file')).rejects.toThrow(
      new InputError(
        `r.json: engine.file: "link/f" is a symbolic link at ${path.join(tmp, 'link')}, expected a regular file inside ${tmp}`,
      ),
    );
    await expect(regularFileInside(tmp, 'a', 'r.json', 'engine.file')).rejects.toThrow(
      /is not a regular file/,
    );
    await rm(outside, { recursive: true, force: true });
  });
});

describe('checkReleasePaths', () => {
  const release = (engine: Record<string, unknown>) =>
    ({
      schema: 'kiln.release/v1',
      engines: [{ dir: 'engines/k', engine: { file: 'e.ort' }, files: [{ path: 'e.ort' }], ...engine }],
    }) as unknown as ReleaseRecord;

  it('names the key path and value of the first bad path', () => {
    expect(() => checkReleasePaths(release({ dir: '../..' }), 'release.json')).toThrow(
      /^release\.json: engines\[0\]\.dir: found "\.\.\/\.\.", expected a relative path inside its folder/,
    );
    expect(() => checkReleasePaths(release({ files: [{ path: '/etc/passwd' }] }), 'release.json')).toThrow(
      /^release\.json: engines\[0\]\.files\[0\]\.path: found "\/etc\/passwd"/,
    );
  });

  it('an engine file that is not among the hashed files is refused', () => {
    expect(() => checkReleasePaths(release({ engine: { file: 'other.ort' } }), 'release.json')).toThrow(
      'release.json: engines[0].engine.file: found "other.ort", expected one of the files listed in engines[0].files',
    );
  });
});
