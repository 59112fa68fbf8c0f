import { z } from 'zod';
import { canonicalJson } from '../../core/canonical-json.js';
import { InputError } from '../../core/errors.js';
import type { ArtifactRecord } from '../artifact.js';
import { OCI_MANIFEST } from './client.js';
import type { ReleaseEngine, ReleaseRecord } from '../release/release-record.js';

/** The config blob of a kiln release manifest: release.json, byte for byte. */
export const RELEASE_MEDIA_TYPE = 'application/vnd.kiln.release.v1+json';
/** One engine folder (`engines/<key>/`) as an uncompressed tar. */
export const ENGINE_LAYER_MEDIA_TYPE = 'application/vnd.kiln.engine.v1.tar';

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(DIGEST, 'a sha256: digest'),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.literal(OCI_MANIFEST),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** An OCI content descriptor. */
export type Descriptor = z.infer<typeof descriptorSchema>;
/** An OCI image manifest as kiln writes and reads it. */
export type ReleaseManifest = z.infer<typeof manifestSchema>;

/**
 * What a registry UI (and `oras manifest fetch`) shows about an engine without downloading it: the
 * key and everything it was computed from, the hardware it is bound to, and the engine's own hash.
 */
export function engineAnnotations(engine: ReleaseEngine, artifact: ArtifactRecord): Record<string, string> {
  const inputs = artifact.keyInputs;
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;
  const entries: Array<[string, string | undefined]> = [
    ['org.opencontainers.image.title', `${engine.key}.tar`],
    ['dev.kiln.key', engine.key],
    ['dev.kiln.profile', engine.profile],
    ['dev.kiln.precision', engine.precision],
    ['dev.kiln.backend', engine.backend],
    ['dev.kiln.backend-version', engine.backendVersion],
    ['dev.kiln.hardware', canonicalJson(engine.hardware)],
    ['dev.kiln.engine-sha256', engine.engine.sha256],
    ['dev.kiln.target', engine.target],
    ['dev.kiln.model-sha256', text(inputs.model)],
    ['dev.kiln.manifest-sha256', text(inputs.manifest)],
    ['dev.kiln.calibration-sha256', text(calibrationData(inputs.calibration))],
    ['dev.kiln.shapes', inputs.profile === undefined ? undefined : canonicalJson(inputs.profile)],
    [
      'dev.kiln.compile-options',
      inputs.compileOptions === undefined ? undefined : canonicalJson(inputs.compileOptions),
    ],
  ];
  return Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * The manifest of a release: release.json as config, one layer per engine, and annotations naming
 * the version and where it came from. Built only from the release's own content (created time
 * included), so the same release always gives the same bytes and digest.
 */
export function releaseManifest(record: ReleaseRecord, config: Descriptor, layers: Descriptor[]): Uint8Array {
  const provenance = record.provenance;
  const annotations: Record<string, string> = {
    'org.opencontainers.image.version': record.version,
    'org.opencontainers.image.created': record.createdAt,
    ...(provenance?.commit ? { 'org.opencontainers.image.revision': provenance.commit } : {}),
    ...(provenance?.repository ? { 'org.opencontainers.image.source': sourceUrl(record) } : {}),
    'dev.kiln.model': record.model,
  };
  const manifest: ReleaseManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: RELEASE_MEDIA_TYPE,
    config,
    layers,
    annotations,
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** Parses a fetched manifest, refusing (one line, naming `where`) anything that is not a kiln release. */
export function parseReleaseManifest(bytes: Uint8Array, where: string): ReleaseManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new InputError(`${where}: the manifest is not JSON`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.join('.') || 'manifest';
    throw new InputError(`${where}: not an OCI image manifest (${at}: ${issue?.message ?? 'invalid'})`, {
      cause: parsed.error,
    });
  }
  const manifest = parsed.data;
  if (manifest.config.mediaType !== RELEASE_MEDIA_TYPE) {
    throw new InputError(
      `${where}: not a kiln release (config media type '${manifest.config.mediaType}', expected '${RELEASE_MEDIA_TYPE}')`,
    );
  }
  const foreign = manifest.layers.find((layer) => layer.mediaType !== ENGINE_LAYER_MEDIA_TYPE);
  if (foreign) {
    throw new InputError(
      `${where}: layer ${foreign.digest} has media type '${foreign.mediaType}', expected '${ENGINE_LAYER_MEDIA_TYPE}'`,
    );
  }
  return manifest;
}

function sourceUrl(record: ReleaseRecord): string {
  const run = record.provenance?.workflowRun;
  const server = run ? new URL(run).origin : 'https://github.com';
  return `${server}/${record.provenance?.repository ?? ''}`;
}

/** The calibration data hash of a key document: `{data, method, percentile}`, or a bare hash in older records. */
function calibrationData(calibration: unknown): unknown {
  return calibration !== null && typeof calibration === 'object'
    ? (calibration as { data?: unknown }).data
    : calibration;
}
