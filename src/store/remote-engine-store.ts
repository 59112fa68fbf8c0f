import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { InputError } from '../core/errors.js';
import { sha256 } from '../core/hashing.js';
import { listFiles, sha256File } from '../core/io/file-hashing.js';
import type { ArtifactRecord } from './artifact.js';
import { connectOci, OCI_MANIFEST, type OciClient, type OciStoreOptions } from './oci/client.js';
import { extractLayer, packLayer } from './oci/layer.js';
import { repositoryFor } from './oci/reference.js';
import type { LocalStore, StoredArtifact } from './local-store.js';
import type { ReleaseFile } from './release/release-record.js';

const CONFIG_MEDIA_TYPE = 'application/vnd.kiln.engine.config.v1+json';
const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';
/** A listing of a few files; anything larger is not one kiln wrote. */
const MAX_CONFIG_BYTES = 1 << 20;
/** No engine folder kiln writes comes near this; a registry cannot make a pull fill the disk. */
const MAX_LAYER_BYTES = 64 * 2 ** 30;

const descriptor = z.object({
  mediaType: z.string(),
  digest: z.string(),
  size: z.number().int().nonnegative(),
});
const manifestSchema = z.object({ config: descriptor, layers: z.array(descriptor).length(1) });
const configSchema = z.object({
  schema: z.literal('kiln.remote-engine/v1'),
  model: z.string(),
  key: z.string(),
  files: z.array(z.object({ path: z.string(), sha256: z.string(), bytes: z.number().int().nonnegative() })),
});

export type RemotePull = { status: 'hit' } | { status: 'miss' } | { status: 'refused'; reason: string };

/** A store tier behind the host cache: engines by artifact key, shared by every runner that can reach it. */
export interface RemoteEngineStore {
  readonly where: string;
  /** Places `<model>/<key>` into `store` when the remote has it and every file's sha256 checks out. */
  pull(store: LocalStore, model: string, key: string): Promise<RemotePull>;
  push(artifact: StoredArtifact): Promise<void>;
}

/**
 * The remote engine store on an OCI registry: repository `<namespace>/engines`, tag = artifact key
 * (64 hex digits, within the tag grammar), one manifest per engine folder whose config lists every
 * file with its sha256 and whose single layer is the folder as a deterministic tar. A pull checks the
 * layer digest, then each extracted file against the listing, then the engine against artifact.json
 * (the store's own lookup), before the folder is renamed into the store.
 */
export function ociEngineStore(options: OciStoreOptions): RemoteEngineStore {
  const { target, client } = connectOci(options);
  const repository = repositoryFor(target, 'engines');
  const where = `${target.registry}/${repository}`;
  return {
    where,
    pull: (store, model, key) => pull(client, repository, where, store, model, key),
    push: (artifact) => push(client, repository, artifact),
  };
}

async function push(client: OciClient, repository: string, artifact: StoredArtifact): Promise<void> {
  const { record, dir } = artifact;
  if (await client.getManifest(repository, record.key)) return;
  const files: ReleaseFile[] = [];
  for (const rel of await listFiles(dir)) {
    const full = path.join(dir, rel);
    files.push({ path: rel, sha256: await sha256File(full), bytes: (await stat(full)).size });
  }
  const config = new TextEncoder().encode(
    canonicalJson({ schema: 'kiln.remote-engine/v1', model: record.model, key: record.key, files }),
  );
  const configDigest = `sha256:${sha256(config)}`;
  const temp = await mkdtemp(path.join(tmpdir(), 'kiln-remote-push-'));
  try {
    const layer = await packLayer(dir, files, path.join(temp, 'layer.tar'));
    if (!(await client.hasBlob(repository, layer.digest)))
      await client.pushBlob(repository, layer.digest, new Uint8Array(await readFile(layer.file)));
    if (!(await client.hasBlob(repository, configDigest)))
      await client.pushBlob(repository, configDigest, config);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: CONFIG_MEDIA_TYPE, digest: configDigest, size: config.byteLength },
      layers: [{ mediaType: LAYER_MEDIA_TYPE, digest: layer.digest, size: layer.size }],
      annotations: { 'dev.kiln.key': record.key, 'dev.kiln.model': record.model },
    };
    await client.putManifest(
      repository,
      record.key,
      new TextEncoder().encode(JSON.stringify(manifest)),
      OCI_MANIFEST,
    );
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function pull(
  client: OciClient,
  repository: string,
  where: string,
  store: LocalStore,
  model: string,
  key: string,
): Promise<RemotePull> {
  const fetched = await client.getManifest(repository, key);
  if (!fetched) return { status: 'miss' };
  const refuse = (reason: string): RemotePull => ({
    status: 'refused',
    reason: `${where}:${key.slice(0, 12)}: ${reason}`,
  });
  const manifest = manifestSchema.safeParse(parseJson(fetched.bytes));
  if (!manifest.success) return refuse('manifest is not a kiln engine manifest');
  const { config: configRef, layers } = manifest.data;
  if (configRef.size > MAX_CONFIG_BYTES) return refuse(`config of ${configRef.size} bytes is too large`);
  const configBytes = await client.blobBytes(repository, configRef.digest, MAX_CONFIG_BYTES);
  if (`sha256:${sha256(configBytes)}` !== configRef.digest)
    return refuse('config digest differs from the manifest');
  const config = configSchema.safeParse(parseJson(configBytes));
  if (!config.success || config.data.key !== key || config.data.model !== model)
    return refuse(`config does not describe ${model}/${key.slice(0, 12)}`);
  const layer = layers[0]!;
  if (layer.size > MAX_LAYER_BYTES) return refuse(`layer of ${layer.size} bytes is too large`);

  const temp = await mkdtemp(path.join(tmpdir(), 'kiln-remote-pull-'));
  const staging = await store.stage(model, key);
  try {
    const tarFile = path.join(temp, 'layer.tar');
    const got = await client.downloadBlob(repository, layer.digest, tarFile, layer.size);
    if (got.digest !== layer.digest || got.size !== layer.size)
      return refuse(
        `layer sha256 ${got.digest.slice(7, 19)} differs from the manifest's ${layer.digest.slice(7, 19)}`,
      );
    const listed = new Map(config.data.files.map((f) => [f.path, f]));
    try {
      await extractLayer(tarFile, staging.dir, new Set(listed.keys()), `${where}:${key.slice(0, 12)}`);
    } catch (error) {
      if (error instanceof InputError) return refuse(error.message);
      throw error;
    }
    for (const file of listed.values()) {
      // A listed file the layer did not bring (or a folder in its place) is the remote's fault; an
      // EACCES or EIO in our own staging folder is this host's, and surfaces as itself.
      const actual = await sha256File(path.join(staging.dir, file.path)).catch((error: unknown) => {
        const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code === 'ENOENT' || code === 'EISDIR') return 'missing';
        throw error;
      });
      if (actual !== file.sha256)
        return refuse(`${file.path}: sha256 ${actual.slice(0, 12)} differs from the listing`);
    }
    const record = parseJson(await readFile(path.join(staging.dir, 'artifact.json'))) as ArtifactRecord;
    if (record?.schema !== 'kiln.artifact/v1' || record.key !== key || record.model !== model)
      return refuse(`artifact.json does not describe ${model}/${key.slice(0, 12)}`);
    if (listed.get(record.engine?.file)?.sha256 !== record.engine.sha256)
      return refuse(`engine sha256 in artifact.json differs from the listing`);
    await staging.commit(record);
  } finally {
    await staging.discard();
    await rm(temp, { recursive: true, force: true });
  }
  // The store's own lookup re-hashes the engine against artifact.json before anything trusts it.
  const found = await store.lookup(model, key);
  return found.status === 'hit'
    ? { status: 'hit' }
    : refuse(found.status === 'corrupt' ? found.reason : 'not placed');
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
