import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { KilnError } from '../../core/errors.js';
import { sha256 } from '../../core/hashing.js';
import { TransientFailure } from './errors.js';
import { OciHttp } from './http.js';
import type { OciAuth } from './auth.js';
import type { OciHttpOptions, Sleep } from './http.js';
import { parseOciTarget, shortDigest } from './reference.js';
import type { OciTarget } from './reference.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** Distribution refuses manifests over 4 MiB; never read more than that. */
const MAX_MANIFEST = 4 << 20;
const ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A manifest as the registry holds it: its exact bytes, their digest and its declared media type. */
export interface FetchedManifest {
  bytes: Uint8Array;
  digest: string;
  mediaType: string;
}

/** What a downloaded blob turned out to be, for the caller to compare with its descriptor. */
export interface DownloadedBlob {
  digest: string;
  size: number;
}

/**
 * The few Distribution-spec v2 operations a release needs: blob HEAD, blob upload (POST then PUT
 * `?digest=`), blob GET, manifest GET and PUT. Every operation retries as OciHttp decides.
 */
export class OciClient {
  readonly http: OciHttp;

  constructor(options: OciHttpOptions) {
    this.http = new OciHttp(options);
  }

  /** True when the repository already holds the blob (so a push can skip it). */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const what = `HEAD blob ${shortDigest(digest)}`;
    return this.http.retrying(repository, async () => {
      const url = `/v2/${repository}/blobs/${digest}`;
      const response = await this.http.call(repository, what, { method: 'HEAD', url }, [200, 404]);
      return response.status === 200;
    });
  }

  /** Uploads one blob in a single PUT; the registry checks it against `digest` before accepting it. */
  async pushBlob(repository: string, digest: string, body: Blob | Uint8Array): Promise<void> {
    await this.http.retrying(repository, async () => {
      const start = await this.http.call(
        repository,
        `POST blob upload for ${shortDigest(digest)}`,
        { method: 'POST', url: `/v2/${repository}/blobs/uploads/`, headers: { 'content-length': '0' } },
        [202],
      );
      await start.body?.cancel();
      const location = start.headers.get('location');
      if (!location) {
        throw new KilnError(`${this.http.label(repository)}: blob upload answered 202 without a Location`, {
          exitCode: 2,
        });
      }
      // The Location may be relative and already carry query parameters (distribution's `_state`).
      const url = new URL(location, this.http.target.baseUrl);
      url.searchParams.set('digest', digest);
      const done = await this.http.call(
        repository,
        `PUT blob ${shortDigest(digest)}`,
        {
          method: 'PUT',
          url: url.toString(),
          headers: { 'content-type': 'application/octet-stream' },
          body,
        },
        [201, 204],
      );
      await done.body?.cancel();
    });
  }

  /** A blob small enough to hold in memory (a config): at most `maxBytes` + 1 bytes are read. */
  async blobBytes(repository: string, digest: string, maxBytes: number): Promise<Uint8Array> {
    const what = `GET blob ${shortDigest(digest)}`;
    return this.http.retrying(repository, async () => {
      const url = `/v2/${repository}/blobs/${digest}`;
      const response = await this.http.call(repository, what, { method: 'GET', url }, [200]);
      return this.http.bytes(response, what, maxBytes);
    });
  }

  /**
   * Streams a blob into `file`, hashing as it goes, and stops reading past `maxBytes` + 1 so a
   * registry cannot fill the disk. Returns what arrived; the caller compares it with the descriptor.
   */
  async downloadBlob(
    repository: string,
    digest: string,
    file: string,
    maxBytes: number,
  ): Promise<DownloadedBlob> {
    const what = `GET blob ${shortDigest(digest)}`;
    return this.http.retrying(repository, async () => {
      const url = `/v2/${repository}/blobs/${digest}`;
      const response = await this.http.call(repository, what, { method: 'GET', url }, [200]);
      const hash = createHash('sha256');
      const out = await open(file, 'w');
      let size = 0;
      const reader = response.body?.getReader();
      try {
        while (reader && size <= maxBytes) {
          const next = await reader.read().catch((error: unknown) => {
            if (error instanceof KilnError) throw error; // a timeout, already one line naming the registry
            throw new TransientFailure(what, `failed while reading: ${(error as Error).message}`);
          });
          if (next.done) break;
          size += next.value.byteLength;
          hash.update(next.value);
          await out.write(next.value); // a local write error (ENOSPC…) propagates: retrying would not help
        }
        if (size > maxBytes) await reader?.cancel().catch(() => undefined);
      } finally {
        await out.close();
      }
      return { digest: `sha256:${hash.digest('hex')}`, size };
    });
  }

  /** The manifest at a tag or digest, or undefined when the registry has none there. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const what = `GET manifest ${shortDigest(reference)}`;
    return this.http.retrying(repository, async () => {
      const url = `/v2/${repository}/manifests/${reference}`;
      const response = await this.http.call(
        repository,
        what,
        { method: 'GET', url, headers: { accept: ACCEPT } },
        [200, 404],
      );
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      const bytes = await this.http.bytes(response, what, MAX_MANIFEST);
      if (bytes.byteLength > MAX_MANIFEST) {
        throw new KilnError(
          `${this.http.label(repository)}: ${what} answered more than 4 MiB, too big for a manifest`,
          {
            exitCode: 2,
          },
        );
      }
      const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
      return { bytes, digest: `sha256:${sha256(bytes)}`, mediaType };
    });
  }

  /** Puts a manifest under `reference` (a tag): the step that makes a release visible. Returns its digest. */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<string> {
    const digest = `sha256:${sha256(bytes)}`;
    await this.http.retrying(repository, async () => {
      const response = await this.http.call(
        repository,
        `PUT manifest ${reference}`,
        {
          method: 'PUT',
          url: `/v2/${repository}/manifests/${reference}`,
          headers: { 'content-type': mediaType },
          body: bytes,
        },
        [201, 200],
      );
      await response.body?.cancel();
      const echoed = response.headers.get('docker-content-digest');
      if (echoed && echoed !== digest) {
        throw new KilnError(
          `${this.http.label(repository)}: PUT manifest ${reference} stored digest ${shortDigest(echoed)}, not ${shortDigest(digest)}`,
          { exitCode: 2 },
        );
      }
    });
    return digest;
  }
}

/** What every release operation against a registry takes. */
export interface OciStoreOptions {
  /** `REGISTRY[:PORT]/NAMESPACE`, e.g. `ghcr.io/acme/models` or `127.0.0.1:5000/kiln`. */
  target: string;
  auth?: OciAuth;
  /** Plain HTTP instead of HTTPS; default: only for loopback registries. */
  plainHttp?: boolean;
  /** Injectable backoff wait (tests). */
  sleep?: Sleep;
  /** Attempts per request, the first included (default 4). */
  attempts?: number;
}

/** Parses the target and makes a client for it. */
export function connectOci(options: OciStoreOptions): { target: OciTarget; client: OciClient } {
  const target = parseOciTarget(
    options.target,
    options.plainHttp === undefined ? {} : { plainHttp: options.plainHttp },
  );
  const client = new OciClient({
    target,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.attempts ? { attempts: options.attempts } : {}),
  });
  return { target, client };
}
