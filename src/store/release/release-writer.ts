import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../../core/canonical-json.js';
import { GateError, InputError } from '../../core/errors.js';
import { listFiles, sha256File } from '../../core/io/file-hashing.js';
import { compareText } from '../../core/ordering.js';
import type { StoredArtifact } from '../local-store.js';
import type { Provenance } from './provenance.js';
import { validateVersion, type ReleaseEngine, type ReleaseRecord } from './release-record.js';

/** A verified store artifact to release, with the config target that built it when known. */
export interface ReleaseCandidate {
  artifact: StoredArtifact;
  target?: string;
}

export interface WrittenRelease {
  dir: string;
  record: ReleaseRecord;
  /** `unchanged`: the same engines were already published under this version. */
  status: 'published' | 'unchanged';
}

/**
 * Publishes `candidates` as `<root>/<model>/<version>/` (release.json + engines/<key>/ copies). Only
 * engines whose golden gate passed are published; a version is immutable, so a second publish with
 * other engines is refused and one with the same engines is a no-op. The folder appears whole or
 * not at all: it is assembled under `<root>/.tmp` and renamed into place.
 */
export async function writeRelease(options: {
  root: string;
  model: string;
  version: string;
  candidates: ReleaseCandidate[];
  provenance?: Provenance;
  now?: () => Date;
}): Promise<WrittenRelease> {
  const { root, model } = options;
  const version = validateVersion(options.version, '--version');
  const label = `${model}@${version}`;
  if (options.candidates.length === 0) throw new InputError(`${label}: no engines to publish`);
  const unique = dedupe(options.candidates, label);
  for (const { artifact } of unique) {
    if (!artifact.record.golden.pass) {
      throw new GateError(
        `refusing to publish ${label}: ${artifact.record.profile}/${artifact.record.precision} (${artifact.record.key.slice(0, 12)}) failed its golden gate (${artifact.record.golden.failure ?? 'failed'}); nothing was published`,
      );
    }
  }
  const engines: ReleaseEngine[] = [];
  for (const c of unique) engines.push(await describeEngine(c));
  engines.sort((a, b) =>
    compareText(`${a.profile}/${a.precision}/${a.key}`, `${b.profile}/${b.precision}/${b.key}`),
  );
  const record: ReleaseRecord = {
    schema: 'kiln.release/v1',
    model,
    version,
    createdAt: (options.now?.() ?? new Date()).toISOString(),
    ...(options.provenance ? { provenance: options.provenance } : {}),
    engines,
  };

  const finalDir = path.join(root, model, version);
  const existing = await readExisting(finalDir);
  if (existing) return sameEngines(existing, record, finalDir, label);

  const staging = path.join(root, '.tmp', `${model}-${version}-${randomBytes(6).toString('hex')}`);
  try {
    for (const c of unique) {
      await cp(c.artifact.dir, path.join(staging, 'engines', c.artifact.record.key), { recursive: true });
    }
    // release.json last: its presence is what makes the folder a release.
    await writeFile(path.join(staging, 'release.json'), `${JSON.stringify(record, null, 2)}\n`);
    await mkdir(path.dirname(finalDir), { recursive: true });
    await rename(staging, finalDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Another publisher won the race: judge its release like any existing one.
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      const raced = await readExisting(finalDir);
      if (raced) return sameEngines(raced, record, finalDir, label);
    }
    throw new InputError(`${finalDir}: cannot write the release (${code ?? (error as Error).message})`, {
      cause: error,
    });
  }
  return { dir: finalDir, record, status: 'published' };
}

function dedupe(candidates: ReleaseCandidate[], label: string): ReleaseCandidate[] {
  const byKey = new Map<string, ReleaseCandidate>();
  const bySlot = new Map<string, string>();
  for (const c of candidates) {
    const r = c.artifact.record;
    if (byKey.has(r.key)) continue;
    // Two engines for one slot on one kind of hardware would leave deploy guessing which to load.
    const slot = `${r.profile}/${r.precision}/${r.tags.backend}/${canonicalJson(r.tags.hardware)}`;
    const other = bySlot.get(slot);
    if (other) {
      throw new InputError(
        `${label}: two engines for ${r.profile}/${r.precision} on the same hardware (${other.slice(0, 12)} and ${r.key.slice(0, 12)}): publish from one build`,
      );
    }
    bySlot.set(slot, r.key);
    byKey.set(r.key, c);
  }
  return [...byKey.values()];
}

async function describeEngine({ artifact, target }: ReleaseCandidate): Promise<ReleaseEngine> {
  const r = artifact.record;
  const files = [];
  for (const rel of (await listFiles(artifact.dir)).sort(compareText)) {
    const full = path.join(artifact.dir, rel);
    // The engine (by far the largest file) was just re-hashed by the store lookup that found it.
    const sha256 = rel === r.engine.file ? r.engine.sha256 : await sha256File(full);
    files.push({ path: rel, sha256, bytes: (await stat(full)).size });
  }
  return {
    key: r.key,
    profile: r.profile,
    precision: r.precision,
    ...(target ? { target } : {}),
    backend: r.tags.backend,
    backendVersion: r.tags.backendVersion,
    hardware: r.tags.hardware,
    engine: r.engine,
    dir: `engines/${r.key}`,
    files,
  };
}

async function readExisting(dir: string): Promise<ReleaseRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'release.json'), 'utf8')) as ReleaseRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError(`${dir}/release.json: unreadable existing release`, { cause: error });
  }
}

function sameEngines(
  existing: ReleaseRecord,
  wanted: ReleaseRecord,
  dir: string,
  label: string,
): WrittenRelease {
  const fingerprint = (r: ReleaseRecord) =>
    r.engines
      .map((e) => `${e.key}:${e.engine.sha256}`)
      .sort(compareText)
      .join(',');
  if (fingerprint(existing) !== fingerprint(wanted)) {
    throw new InputError(
      `${label}: already published in ${dir} with other engines; a version is immutable, publish a new version`,
    );
  }
  return { dir, record: existing, status: 'unchanged' };
}
