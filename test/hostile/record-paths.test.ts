/**
 * Paths read from artifact.json and release.json are hostile input: a record that names a file
 * outside its folder (by `..` or by a symbolic link), even with the right sha256, is refused by
 * every consumer in one line naming the record, the key path and the value, and nothing is copied
 * or served.
 */
import { execa } from 'execa';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import type { ReleaseRecord } from '../../src/store/release/release-record.js';
import { ROOT, runKiln, type KilnRun } from '../helpers/kiln-cli.js';
import { buildReleases } from '../helpers/release-from-store.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');
let built: string;
const scratch: string[] = [];

beforeAll(async () => {
  built = (await buildReleases('det', { '1': 'fast' })).dir;
});
afterAll(async () => {
  for (const dir of [built, ...scratch]) await rm(dir, { recursive: true, force: true });
});

interface Workspace {
  dir: string;
  release: string;
  artifact: string;
  engineFile: string;
  /** A byte-identical copy of the engine outside every record folder. */
  outside: string;
}

/** A fresh copy of the built workspace (store, release) so each case tampers its own. */
async function fresh(): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kiln-hostile-'));
  scratch.push(dir);
  await cp(built, dir, { recursive: true, verbatimSymlinks: true });
  const release = path.join(dir, 'releases', 'det', '1');
  const record = JSON.parse(await readFile(path.join(release, 'release.json'), 'utf8')) as ReleaseRecord;
  const engine = record.engines[0]!;
  const artifact = path.join(dir, '.kiln', 'store', 'det', engine.key);
  const outside = path.join(dir, 'outside.bin');
  await cp(path.join(artifact, engine.engine.file), outside);
  return { dir, release, artifact, engineFile: engine.engine.file, outside };
}

async function editJson<T>(file: string, edit: (record: T) => void): Promise<void> {
  const record = JSON.parse(await readFile(file, 'utf8')) as T;
  edit(record);
  await writeFile(file, JSON.stringify(record, null, 2));
}

/** artifact.json's engine.file climbs out of the folder to a file with the recorded sha256. */
async function escapeArtifact(ws: Workspace): Promise<string> {
  const rel = path.relative(ws.artifact, ws.outside);
  await editJson<ArtifactRecord>(path.join(ws.artifact, 'artifact.json'), (r) => {
    r.engine.file = rel;
  });
  return rel;
}

/** The engine file itself is a symbolic link to the identical copy outside. */
async function symlinkEngine(folder: string, ws: Workspace): Promise<void> {
  await rm(path.join(folder, ws.engineFile));
  await symlink(ws.outside, path.join(folder, ws.engineFile));
}

/** release.json's engine.file and its files[] entry climb out of the version folder. */
async function escapeRelease(ws: Workspace): Promise<string> {
  const record = JSON.parse(await readFile(path.join(ws.release, 'release.json'), 'utf8')) as ReleaseRecord;
  const rel = path.relative(path.join(ws.release, record.engines[0]!.dir), ws.outside);
  await editJson<ReleaseRecord>(path.join(ws.release, 'release.json'), (r) => {
    const engine = r.engines[0]!;
    const entry = engine.files.find((f) => f.path === engine.engine.file)!;
    entry.path = rel;
    engine.engine.file = rel;
  });
  // The version folder holds no engine at all: only the record says where one would be.
  await rm(path.join(ws.release, record.engines[0]!.dir, ws.engineFile));
  return rel;
}

function expectOneLine(run: KilnRun, ...parts: string[]): void {
  expect(run.exitCode, run.stderr).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  for (const part of parts) expect(lines[0]).toContain(part);
}

/** kiln build prints its progress on stderr first: the refusal is its one last line. */
function expectBuildRefusal(run: KilnRun, ...parts: string[]): void {
  expect(run.exitCode, run.stderr).toBe(2);
  const errors = run.stderr
    .trim()
    .split('\n')
    .filter((line) => line.includes('artifact.json'));
  expect(errors, run.stderr).toHaveLength(1);
  expect(run.stderr.trim().split('\n').at(-1)).toBe(errors[0]);
  for (const part of parts) expect(errors[0]).toContain(part);
}

describe('artifact.json paths (store cache hit, kiln verify)', () => {
  it('a cache hit whose engine.file climbs out of the artifact is refused, not served', async () => {
    const ws = await fresh();
    const rel = await escapeArtifact(ws);
    const run = await runKiln(['build', '--config', 'kiln-1.yaml', '--json', 'again.json'], ws.dir);
    expectBuildRefusal(
      run,
      `${path.join(ws.artifact, 'artifact.json')}: engine.file: found ${JSON.stringify(rel)}`,
    );
    await expect(readFile(path.join(ws.dir, 'again.json'))).rejects.toThrow(/ENOENT/);
  });

  it('a cache hit whose engine is a symbolic link is refused, not served', async () => {
    const ws = await fresh();
    await symlinkEngine(ws.artifact, ws);
    const run = await runKiln(['build', '--config', 'kiln-1.yaml'], ws.dir);
    expectBuildRefusal(run, 'artifact.json: engine.file:', 'is a symbolic link');
  });

  it('kiln verify refuses both', async () => {
    const ws = await fresh();
    const rel = await escapeArtifact(ws);
    expectOneLine(
      await runKiln(['verify', ws.artifact], ws.dir),
      `engine.file: found ${JSON.stringify(rel)}`,
    );
    const other = await fresh();
    await symlinkEngine(other.artifact, other);
    expectOneLine(await runKiln(['verify', other.artifact], other.dir), 'engine.file:', 'is a symbolic link');
  });

  it('absolute, backslash and empty-segment paths are refused too', async () => {
    for (const bad of ['/etc/passwd', '..\\..\\x', 'a//engine.onnx', './engine.onnx', '']) {
      const ws = await fresh();
      await editJson<ArtifactRecord>(path.join(ws.artifact, 'artifact.json'), (r) => {
        r.engine.file = bad;
      });
      expectOneLine(
        await runKiln(['verify', ws.artifact], ws.dir),
        `engine.file: found ${JSON.stringify(bad)}`,
      );
    }
  });
});

describe('release.json paths (kiln triton, kiln-agent deploy)', () => {
  it('kiln triton refuses a release whose engine path climbs out, and writes no repository', async () => {
    const ws = await fresh();
    const rel = await escapeRelease(ws);
    const out = path.join(ws.dir, 'triton');
    const run = await runKiln(['triton', ws.release, '--out', out], ws.dir);
    expectOneLine(run, `${path.join(ws.release, 'release.json')}: engines[0].`, JSON.stringify(rel));
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('kiln triton refuses a release whose engine is a symbolic link', async () => {
    const ws = await fresh();
    const record = JSON.parse(await readFile(path.join(ws.release, 'release.json'), 'utf8')) as ReleaseRecord;
    await symlinkEngine(path.join(ws.release, record.engines[0]!.dir), ws);
    const out = path.join(ws.dir, 'triton');
    const run = await runKiln(['triton', ws.release, '--out', out], ws.dir);
    expectOneLine(run, 'release.json: engines[0].files[', 'is a symbolic link');
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('kiln-agent deploy refuses both from a local release folder, and serves nothing', async () => {
    for (const tamper of ['escape', 'symlink'] as const) {
      const ws = await fresh();
      if (tamper === 'escape') await escapeRelease(ws);
      else {
        const record = JSON.parse(
          await readFile(path.join(ws.release, 'release.json'), 'utf8'),
        ) as ReleaseRecord;
        await symlinkEngine(path.join(ws.release, record.engines[0]!.dir), ws);
      }
      const root = path.join(ws.dir, 'serving');
      const run = await execa(
        'node',
        [agent, 'deploy', 'det@1', '--releases', path.join(ws.dir, 'releases'), '--root', root],
        { reject: false },
      );
      expectOneLine(
        { exitCode: run.exitCode ?? -1, stdout: run.stdout, stderr: run.stderr },
        'release.json: engines[0].',
        tamper === 'escape' ? '..' : 'is a symbolic link',
      );
      expect(await readdir(path.join(root, 'det')).catch(() => [])).not.toContain('current');
    }
  });
});
