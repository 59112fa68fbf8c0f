import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { GateError, InputError } from '../../../src/core/errors.js';
import { sha256 } from '../../../src/core/hashing.js';
import type * as Hashing from '../../../src/core/io/file-hashing.js';
import type { ArtifactRecord } from '../../../src/store/artifact.js';
import { LocalStore, type StoredArtifact } from '../../../src/store/local-store.js';
import { readRelease } from '../../../src/store/release/release-record.js';
import { writeRelease } from '../../../src/store/release/release-writer.js';

/**
 * As root (CI here) no permission makes a file unreadable, so the disk failing mid-read (EIO) is
 * played by the hash reader alone, for the one file named; every other call is the real one.
 */
const failRead = vi.hoisted(() => ({ suffix: undefined as string | undefined }));
vi.mock('../../../src/core/io/file-hashing.js', async (importOriginal) => {
  const real = await importOriginal<typeof Hashing>();
  const { InputError: Refusal } = await import('../../../src/core/errors.js');
  return {
    ...real,
    sha256File: async (...args: Parameters<typeof real.sha256File>) => {
      if (failRead.suffix !== undefined && args[0].endsWith(failRead.suffix)) {
        const cause = Object.assign(new Error('i/o error'), { code: 'EIO' });
        throw new Refusal(`${args[0]}: cannot read (EIO)`, { cause });
      }
      return real.sha256File(...args);
    },
  };
});

const CPU = { kind: 'cpu', arch: 'x64', isa: ['avx2', 'fma'] };

/** Commits a small artifact through the real store (staging + rename) and returns it. */
async function stored(
  store: LocalStore,
  key: string,
  over: { profile?: string; pass?: boolean; hardware?: Record<string, unknown> } = {},
): Promise<StoredArtifact> {
  const staging = await store.stage('det', key);
  const engine = `engine bytes ${key}`;
  await writeFile(path.join(staging.dir, 'engine.ort'), engine);
  await mkdir(path.join(staging.dir, 'golden', '0'), { recursive: true });
  await writeFile(path.join(staging.dir, 'golden', '0', 'in-x.npy'), `input ${key}`);
  const record = {
    schema: 'kiln.artifact/v1',
    model: 'det',
    profile: over.profile ?? 's384',
    precision: 'fp32',
    key,
    keyInputs: {},
    tags: {
      backend: 'onnxruntime-cpu',
      backendVersion: '1.30.0',
      hardware: over.hardware ?? CPU,
      kilnVersion: '0.1.0',
    },
    engine: { file: 'engine.ort', sha256: sha256(engine), bytes: engine.length },
    golden: {
      pass: over.pass ?? true,
      source: 'synthetic',
      samples: 1,
      outputs: [],
      specSha256: 'x',
      samplesFiles: [],
      ...(over.pass === false ? { failure: "output 'y': 3 of 10 elements differ (max abs 1e-2)" } : {}),
    },
    latency: { engine: {} },
    notes: [],
    createdAt: '2026-11-29T00:00:00.000Z',
  } as unknown as ArtifactRecord;
  return staging.commit(record);
}

async function setup() {
  const root = await mkdtemp(path.join(tmpdir(), 'kiln-release-'));
  return { store: new LocalStore(path.join(root, 'store')), releases: path.join(root, 'releases') };
}

describe('writeRelease', () => {
  it('copies verified artifacts into <releases>/<model>/<version> with every file hashed', async () => {
    const { store, releases } = await setup();
    const a = await stored(store, 'a'.repeat(64));
    const b = await stored(store, 'b'.repeat(64), { profile: 's640' });
    const written = await writeRelease({
      root: releases,
      model: 'det',
      version: 'v1.2.0',
      candidates: [
        { artifact: b, target: 'cpu' },
        { artifact: a, target: 'cpu' },
      ],
    });
    expect(written.status).toBe('published');
    expect(written.dir).toBe(path.join(releases, 'det', 'v1.2.0'));
    const record = await readRelease(written.dir);
    expect(record.engines.map((e) => [e.profile, e.target, e.dir])).toEqual([
      ['s384', 'cpu', `engines/${'a'.repeat(64)}`],
      ['s640', 'cpu', `engines/${'b'.repeat(64)}`],
    ]);
    expect(record.engines[0]!.files.map((f) => f.path)).toEqual([
      'artifact.json',
      'engine.ort',
      'golden/0/in-x.npy',
    ]);
    // Nothing but the release itself is left behind.
    expect(await readdir(path.join(releases, '.tmp'))).toEqual([]);
  });

  it('refuses an engine whose golden gate failed, writing nothing', async () => {
    const { store, releases } = await setup();
    const good = await stored(store, 'a'.repeat(64));
    const bad = await stored(store, 'b'.repeat(64), { profile: 's640', pass: false });
    const error = await writeRelease({
      root: releases,
      model: 'det',
      version: '1',
      candidates: [{ artifact: good }, { artifact: bad }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GateError);
    expect((error as Error).message).toBe(
      "refusing to publish det@1: s640/fp32 (bbbbbbbbbbbb) failed its golden gate (output 'y': 3 of 10 elements differ (max abs 1e-2)); nothing was published",
    );
    await expect(readdir(releases)).rejects.toThrow(/ENOENT/);
  });

  it('treats a version as immutable: same engines is a no-op, other engines are refused', async () => {
    const { store, releases } = await setup();
    const a = await stored(store, 'a'.repeat(64));
    const b = await stored(store, 'b'.repeat(64), { hardware: { ...CPU, isa: ['avx2'] } });
    await writeRelease({ root: releases, model: 'det', version: '1', candidates: [{ artifact: a }] });
    const again = await writeRelease({
      root: releases,
      model: 'det',
      version: '1',
      candidates: [{ artifact: a }],
    });
    expect(again.status).toBe('unchanged');
    await expect(
      writeRelease({ root: releases, model: 'det', version: '1', candidates: [{ artifact: b }] }),
    ).rejects.toThrow(/det@1: already published in .* with other engines; a version is immutable/);
  });

  it('refuses two engines for one profile and precision on the same hardware', async () => {
    const { store, releases } = await setup();
    const a = await stored(store, 'a'.repeat(64));
    const b = await stored(store, 'b'.repeat(64));
    await expect(
      writeRelease({
        root: releases,
        model: 'det',
        version: '1',
        candidates: [{ artifact: a }, { artifact: b }],
      }),
    ).rejects.toThrow(
      'det@1: two engines for s384/fp32 on the same hardware (aaaaaaaaaaaa and bbbbbbbbbbbb)',
    );
  });

  it('refuses a version that cannot be an OCI tag', async () => {
    const { store, releases } = await setup();
    const a = await stored(store, 'a'.repeat(64));
    const error = await writeRelease({
      root: releases,
      model: 'det',
      version: '../v1',
      candidates: [{ artifact: a }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain("--version: version '../v1' is not usable");
  });

  it('readRelease refuses a release whose files were changed after publishing', async () => {
    const { store, releases } = await setup();
    const a = await stored(store, 'a'.repeat(64));
    const written = await writeRelease({
      root: releases,
      model: 'det',
      version: '1',
      candidates: [{ artifact: a }],
    });
    const engine = path.join(written.dir, 'engines', 'a'.repeat(64), 'engine.ort');
    await writeFile(engine, `${await readFile(engine, 'utf8')}!`);
    await expect(readRelease(written.dir)).rejects.toThrow(
      /engine\.ort: sha256 \w{12} differs from release\.json's/,
    );
  });
  it('readRelease reports a file it cannot read as unreadable, not as a tampered release', async () => {
    const { store, releases } = await setup();
    const a = await stored(store, 'a'.repeat(64));
    const written = await writeRelease({
      root: releases,
      model: 'det',
      version: '1',
      candidates: [{ artifact: a }],
    });
    failRead.suffix = 'engine.ort';
    try {
      const error = await readRelease(written.dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(/engine\.ort: cannot read \(EIO\)$/);
      expect((error as Error).message).not.toMatch(/tampered/);
    } finally {
      failRead.suffix = undefined;
    }
  });
});
