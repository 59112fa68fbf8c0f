import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { extractLayer, packLayer } from '../../../src/store/oci/layer.js';
import { makeRelease } from '../../helpers/release-fixture.js';
import type { FixtureRelease } from '../../helpers/release-fixture.js';

let work: string;
let release: FixtureRelease;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'kiln-oci-layer-'));
  release = await makeRelease({
    root: path.join(work, 'releases'),
    model: 'det',
    version: 'v1',
    engines: [{ profile: 's384', precision: 'fp32', hardware: { arch: 'x64' } }],
  });
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function engine() {
  const first = release.record.engines[0];
  if (!first) throw new Error('fixture has no engine');
  return { dir: path.join(release.dir, first.dir), files: first.files };
}

/** A tar of hand-made entries, for archives kiln would never write. */
async function tarOf(entries: Array<Partial<Header> & { name: string; body?: string }>): Promise<string> {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const file = path.join(await mkdtemp(path.join(work, 'tar-')), 'layer.tar');
  await writeFile(file, Buffer.concat(chunks));
  return file;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return (error as Error).message;
}

describe('packLayer', () => {
  it('gives the same bytes whatever the mtimes and listing order', async () => {
    const { dir, files } = engine();
    const a = await packLayer(dir, files, path.join(work, 'a.tar'));
    await utimes(path.join(dir, 'engine.ort'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const b = await packLayer(dir, [...files].reverse(), path.join(work, 'b.tar'));
    expect(b.digest).toBe(a.digest);
    expect(await readFile(b.file)).toEqual(await readFile(a.file));
    expect(a.size % 512).toBe(0);
  });

  it('round-trips through extractLayer', async () => {
    const { dir, files } = engine();
    const packed = await packLayer(dir, files, path.join(work, 'rt.tar'));
    const dest = path.join(work, 'rt');
    const written = await extractLayer(packed.file, dest, new Set(files.map((f) => f.path)), 'layer');
    expect(written).toEqual(files.map((f) => f.path));
    for (const f of files)
      expect(await readFile(path.join(dest, f.path))).toEqual(await readFile(path.join(dir, f.path)));
  });

  it('refuses a file that changed since release.json hashed it', async () => {
    const root = await mkdtemp(path.join(work, 'changed-'));
    const changed = await makeRelease({
      root,
      model: 'det',
      version: 'v1',
      engines: [{ profile: 's384', precision: 'fp32', hardware: { arch: 'x64' } }],
    });
    const e = changed.record.engines[0];
    if (!e) throw new Error('no engine');
    await writeFile(path.join(changed.dir, e.dir, 'engine.ort'), 'swapped engine');
    const message = await refusal(
      packLayer(path.join(changed.dir, e.dir), e.files, path.join(root, 'x.tar')),
    );
    expect(message).toMatch(/engine\.ort: differs from release\.json .*refusing to push it$/);
  });

  it('refuses a listed path outside the folder before reading anything', async () => {
    const { dir } = engine();
    const evil = [{ path: '../release.json', sha256: '0'.repeat(64), bytes: 1 }];
    expect(await refusal(packLayer(dir, evil, path.join(work, 'evil.tar')))).toContain(
      "tar entry '../release.json' escapes its folder",
    );
  });
});

describe('extractLayer refuses archives that could hurt', () => {
  const allowed = new Set(['engine.ort', 'a/b.npy', '../evil.txt', '/etc/evil', 'link']);

  it.each([
    ['../evil.txt', "tar entry '../evil.txt' escapes its folder"],
    ['/etc/evil', "tar entry '/etc/evil' escapes its folder"],
    ['a/../../evil.txt', "tar entry 'a/../../evil.txt' escapes its folder"],
    ['./engine.ort', "tar entry './engine.ort' escapes its folder"],
    ['surprise.sh', "tar entry 'surprise.sh' is not listed in release.json"],
  ])('entry %s', async (name, expected) => {
    const dest = await mkdtemp(path.join(work, 'x-'));
    const file = await tarOf([
      { name: 'engine.ort', body: 'ok' },
      { name, body: 'pwned' },
    ]);
    expect(await refusal(extractLayer(file, path.join(dest, 'out'), allowed, 'layer sha256:ab…'))).toBe(
      `layer sha256:ab…: ${expected}`,
    );
    expect(await readdir(dest, { recursive: true })).not.toContain('evil.txt');
  });

  it('refuses links and duplicate entries', async () => {
    const link = await tarOf([{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }]);
    expect(await refusal(extractLayer(link, path.join(work, 'l'), allowed, 'L'))).toBe(
      "L: tar entry 'link' is a symlink, expected a regular file",
    );
    const twice = await tarOf([
      { name: 'engine.ort', body: 'one' },
      { name: 'engine.ort', body: 'two' },
    ]);
    expect(await refusal(extractLayer(twice, path.join(work, 'd'), allowed, 'L'))).toBe(
      "L: tar entry 'engine.ort' appears twice",
    );
  });

  it('refuses bytes that are not a tar', async () => {
    const file = path.join(work, 'not.tar');
    await writeFile(file, Buffer.alloc(1024, 7));
    expect(await refusal(extractLayer(file, path.join(work, 'n'), allowed, 'L'))).toMatch(
      /^L: not a readable tar/,
    );
  });
});
