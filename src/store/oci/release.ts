import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson } from '../../core/canonical-json.js';
import { InputError, KilnError } from '../../core/errors.js';
import { sha256 } from '../../core/hashing.js';
import { compareText } from '../../core/ordering.js';
import { readArtifactRecord, type ArtifactRecord } from '../artifact.js';
import { OCI_MANIFEST, connectOci } from './client.js';
import type { OciClient, OciStoreOptions } from './client.js';
import { packLayer } from './layer.js';
import {
  ENGINE_LAYER_MEDIA_TYPE,
  RELEASE_MEDIA_TYPE,
  engineAnnotations,
  parseReleaseManifest,
  releaseManifest,
} from './manifest.js';
import type { Descriptor, ReleaseManifest } from './manifest.js';
import { repositoryFor, shortDigest } from './reference.js';
import { readRelease, validateVersion } from '../release/release-record.js';
import type { ReleaseEngine } from '../release/release-record.js';

export { pullRelease } from './pull.js';
export type { PulledRelease } from './pull.js';
export type { OciStoreOptions } from './client.js';

/** A pushed release: `registry/namespace/model:version` and the manifest digest it resolves to. */
export interface PushedRelease {
  reference: string;
  digest: string;
}

/**
 * Pushes a local release folder (see release.ts) to an OCI registry as one manifest per model version:
 * release.json as config, one tar layer per engine, annotated with its key inputs and hardware tags.
 * The release is re-verified first; blobs go up before the manifest, and the tag is written last, so
 * a failure part-way never leaves the version visible. A version is immutable: the same release again
 * is a no-op, different content under an existing tag is refused.
 */
export async function pushRelease(
  options: OciStoreOptions & { releaseDir: string; onProgress?: (line: string) => void },
): Promise<PushedRelease> {
  const progress = options.onProgress ?? (() => undefined);
  const record = await readRelease(options.releaseDir);
  const version = validateVersion(record.version, path.join(options.releaseDir, 'release.json'));
  const { target, client } = connectOci(options);
  const repository = repositoryFor(target, record.model);
  const label = `${target.registry}/${repository}`;
  const reference = `${label}:${version}`;
  const configBytes = await readFile(path.join(options.releaseDir, 'release.json'));
  if (canonicalJson(JSON.parse(configBytes.toString('utf8'))) !== canonicalJson(record)) {
    throw new InputError(`${options.releaseDir}/release.json: changed while it was being verified`);
  }
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-oci-push-'));
  try {
    const config: Descriptor = {
      mediaType: RELEASE_MEDIA_TYPE,
      digest: `sha256:${sha256(configBytes)}`,
      size: configBytes.byteLength,
    };
    const blobs: Array<{ descriptor: Descriptor; body: () => Promise<Blob | Uint8Array> }> = [
      { descriptor: config, body: () => Promise.resolve(configBytes) },
    ];
    const layers: Descriptor[] = [];
    for (const [index, engine] of record.engines.entries()) {
      const artifact = await readArtifact(options.releaseDir, engine);
      const dir = path.join(options.releaseDir, engine.dir);
      const packed = await packLayer(dir, engine.files, path.join(work, `layer-${index}.tar`));
      const descriptor: Descriptor = {
        mediaType: ENGINE_LAYER_MEDIA_TYPE,
        digest: packed.digest,
        size: packed.size,
        annotations: engineAnnotations(engine, artifact),
      };
      layers.push(descriptor);
      blobs.push({ descriptor, body: () => openAsBlob(packed.file) });
    }
    const manifest = releaseManifest(record, config, layers);
    const digest = `sha256:${sha256(manifest)}`;

    const existing = await client.getManifest(repository, version);
    if (existing) {
      if (existing.digest === digest || sameContent(existing.bytes, config, layers)) {
        progress(`${reference} is already this release (${shortDigest(existing.digest)}), nothing to push`);
        return { reference, digest: existing.digest };
      }
      throw new InputError(
        `${reference} already exists as ${shortDigest(existing.digest)}, not this release's ${shortDigest(digest)}: published versions are immutable, publish a new version`,
      );
    }
    await pushBlobs(client, repository, blobs, progress).catch((error: unknown) => {
      throw untagged(error, `nothing was tagged, so '${version}' is not visible`);
    });
    await tag(client, repository, version, manifest, digest);
    progress(`tagged ${reference} → ${shortDigest(digest)}`);
    return { reference, digest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The engine's artifact.json (for its key inputs), from a folder that must be `engines/<key>`. */
async function readArtifact(releaseDir: string, engine: ReleaseEngine): Promise<ArtifactRecord> {
  if (engine.dir !== `engines/${engine.key}`) {
    throw new InputError(
      `${releaseDir}/release.json: engine ${engine.key} lives in '${engine.dir}', expected engines/<key>`,
    );
  }
  return readArtifactRecord(path.join(releaseDir, engine.dir));
}

/**
 * True when a manifest already in the registry carries exactly this release (same config and layer
 * blobs) even if its own bytes differ, e.g. written by another kiln version: still the same release.
 */
function sameContent(bytes: Uint8Array, config: Descriptor, layers: Descriptor[]): boolean {
  let other: ReleaseManifest;
  try {
    other = parseReleaseManifest(bytes, 'existing');
  } catch {
    return false;
  }
  const digests = (list: Descriptor[]) =>
    list
      .map((d) => d.digest)
      .sort(compareText)
      .join(',');
  return other.config.digest === config.digest && digests(other.layers) === digests(layers);
}

async function pushBlobs(
  client: OciClient,
  repository: string,
  blobs: Array<{ descriptor: Descriptor; body: () => Promise<Blob | Uint8Array> }>,
  progress: (line: string) => void,
): Promise<void> {
  for (const { descriptor, body } of blobs) {
    const name = descriptor.annotations?.['org.opencontainers.image.title'] ?? 'release.json';
    if (await client.hasBlob(repository, descriptor.digest)) {
      progress(`${name} (${shortDigest(descriptor.digest)}) is already there`);
      continue;
    }
    await client.pushBlob(repository, descriptor.digest, await body());
    progress(`pushed ${name} (${shortDigest(descriptor.digest)}, ${descriptor.size} bytes)`);
  }
}

/**
 * The manifest PUT that makes the version visible. If its answer is lost (a 5xx after the registry
 * stored it), the tag is read back once: a tag that already points at this release means success.
 */
async function tag(
  client: OciClient,
  repository: string,
  version: string,
  manifest: Uint8Array,
  digest: string,
): Promise<void> {
  try {
    await client.putManifest(repository, version, manifest, OCI_MANIFEST);
  } catch (error) {
    const now = await client.getManifest(repository, version).catch(() => 'unknown' as const);
    if (now !== 'unknown' && now?.digest === digest) return;
    const state =
      now === undefined
        ? `nothing was tagged, so '${version}' is not visible`
        : now === 'unknown'
          ? `whether '${version}' is visible could not be checked`
          : `'${version}' points at ${shortDigest(now.digest)}, another release`;
    throw untagged(error, state);
  }
}

/** The one-line failure with what it means for the tag appended. */
function untagged(error: unknown, state: string): unknown {
  if (!(error instanceof KilnError)) return error;
  const message = `${error.message}; ${state}`;
  return error instanceof InputError
    ? new InputError(message, { cause: error })
    : new KilnError(message, { cause: error, exitCode: error.exitCode });
}
