import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { sha256 } from '../../core/hashing.js';
import { connectOci } from './client.js';
import type { OciStoreOptions } from './client.js';
import { extractLayer } from './layer.js';
import { parseReleaseManifest } from './manifest.js';
import type { Descriptor } from './manifest.js';
import { isDigest, repositoryFor, shortDigest } from './reference.js';
import { checkReleasePaths, readRelease, validateVersion } from '../release/release-record.js';
import type { ReleaseEngine, ReleaseRecord } from '../release/release-record.js';

/** A release pulled into a local release root. */
export interface PulledRelease {
  /** `<destRoot>/<model>/<version>`. */
  dir: string;
  /** The manifest digest. */
  digest: string;
  record: ReleaseRecord;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Pulls `model` at `ref` (a tag, or `sha256:…` to pin exact content) into
 * `<destRoot>/<model>/<version>/`. Every byte is checked before use: the manifest against a digest
 * ref, each blob against its descriptor's digest and size, every file against release.json. The
 * folder is assembled under `<destRoot>/.tmp` and renamed into place, so a refused pull leaves nothing.
 */
export async function pullRelease(
  options: OciStoreOptions & { model: string; ref: string; destRoot: string },
): Promise<PulledRelease> {
  const { model, ref, destRoot } = options;
  const { target, client } = connectOci(options);
  const repository = repositoryFor(target, model);
  const label = `${target.registry}/${repository}`;
  if (!isDigest(ref)) validateVersion(ref, `${label}: reference`);
  const where = `${label}${isDigest(ref) ? '@' : ':'}${ref}`;

  const fetched = await client.getManifest(repository, ref);
  if (!fetched) throw new InputError(`${where}: no such version in the registry`);
  if (isDigest(ref) && fetched.digest !== ref) {
    throw new InputError(
      `${where}: the registry's manifest hashes to ${shortDigest(fetched.digest)}; refusing it`,
    );
  }
  const manifest = parseReleaseManifest(fetched.bytes, where);
  const configBytes = await client.blobBytes(repository, manifest.config.digest, manifest.config.size);
  checkBlob(manifest.config, `sha256:${sha256(configBytes)}`, configBytes.byteLength, `${where}: config`);
  const record = parseRecord(configBytes, model, where);
  const pairs = pairLayers(record, manifest.layers, where);

  const finalDir = path.join(destRoot, model, record.version);
  const existing = await sameAsExisting(finalDir, configBytes, where);
  if (existing) return { dir: finalDir, digest: fetched.digest, record: existing };

  const tmp = path.join(destRoot, '.tmp');
  const staging = path.join(tmp, `pull-${model}-${record.version}-${randomBytes(6).toString('hex')}`);
  const layersDir = `${staging}.layers`;
  try {
    await mkdir(layersDir, { recursive: true });
    for (const [index, { engine, layer }] of pairs.entries()) {
      const layerWhere = `${label}: layer ${shortDigest(layer.digest)} (engine ${engine.key.slice(0, 12)})`;
      const file = path.join(layersDir, `${index}.tar`);
      const got = await client.downloadBlob(repository, layer.digest, file, layer.size);
      checkBlob(layer, got.digest, got.size, layerWhere);
      const allowed = new Set(engine.files.map((f) => f.path));
      await extractLayer(file, path.join(staging, engine.dir), allowed, layerWhere);
      await rm(file, { force: true });
    }
    // release.json last: its presence is what makes the folder a release.
    await writeFile(path.join(staging, 'release.json'), configBytes);
    const verified = await readRelease(staging);
    await mkdir(path.dirname(finalDir), { recursive: true });
    try {
      await rename(staging, finalDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another pull won the race: its folder is as good as ours if it holds the same release.
      const theirs =
        code === 'ENOTEMPTY' || code === 'EEXIST'
          ? await sameAsExisting(finalDir, configBytes, where)
          : undefined;
      if (!theirs) {
        throw new InputError(`${finalDir}: cannot put the pulled release there (${code ?? 'error'})`, {
          cause: error,
        });
      }
    }
    return { dir: finalDir, digest: fetched.digest, record: verified };
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(layersDir, { recursive: true, force: true });
  }
}

/** A blob is used only if it is exactly what its descriptor promised. */
function checkBlob(descriptor: Descriptor, digest: string, size: number, where: string): void {
  if (digest === descriptor.digest && size === descriptor.size) return;
  const got =
    size > descriptor.size
      ? `more than ${descriptor.size} bytes`
      : `${size} bytes hashing to ${shortDigest(digest)}`;
  throw new InputError(
    `${where}: got ${got}, expected ${descriptor.size} bytes of ${descriptor.digest}: the registry copy is damaged or was tampered with`,
  );
}

function parseRecord(bytes: Uint8Array, model: string, where: string): ReleaseRecord {
  let record: ReleaseRecord;
  try {
    record = JSON.parse(new TextDecoder().decode(bytes)) as ReleaseRecord;
  } catch (error) {
    throw new InputError(`${where}: the config blob is not release.json`, { cause: error });
  }
  if (record.schema !== 'kiln.release/v1' || !Array.isArray(record.engines)) {
    throw new InputError(`${where}: config schema '${String(record.schema)}', expected 'kiln.release/v1'`);
  }
  if (record.model !== model) {
    throw new InputError(`${where}: holds model '${String(record.model)}', not '${model}'`);
  }
  validateVersion(String(record.version), `${where}: release.json`);
  checkReleasePaths(record, `${where}: release.json`);
  return record;
}

/** Each engine of release.json with its one layer (matched by `dev.kiln.key`), and nothing else. */
function pairLayers(
  record: ReleaseRecord,
  layers: Descriptor[],
  where: string,
): Array<{ engine: ReleaseEngine; layer: Descriptor }> {
  if (layers.length !== record.engines.length) {
    throw new InputError(
      `${where}: ${layers.length} layers for ${record.engines.length} engines in release.json`,
    );
  }
  return record.engines.map((engine) => {
    // The engine folder comes from release.json (digest-checked) but still must not climb out.
    if (!KEY.test(engine.key) || engine.dir !== `engines/${engine.key}`) {
      throw new InputError(
        `${where}: engine '${engine.key}' has folder '${engine.dir}', expected engines/<key>`,
      );
    }
    const matching = layers.filter((layer) => layer.annotations?.['dev.kiln.key'] === engine.key);
    if (matching.length !== 1 || !matching[0]) {
      throw new InputError(
        `${where}: ${matching.length} layers for engine ${engine.key.slice(0, 12)}, expected 1`,
      );
    }
    return { engine, layer: matching[0] };
  });
}

/** The verified record of an existing folder holding this very release; undefined when there is none. */
async function sameAsExisting(
  dir: string,
  configBytes: Uint8Array,
  where: string,
): Promise<ReleaseRecord | undefined> {
  const current = await readFile(path.join(dir, 'release.json')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (current === undefined) return undefined;
  if (!current.equals(configBytes)) {
    throw new InputError(`${dir}: already holds a different release than ${where}; refusing to overwrite it`);
  }
  return readRelease(dir);
}
