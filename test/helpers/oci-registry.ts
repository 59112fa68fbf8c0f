/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a free loopback port,
 * with filesystem storage in a temporary folder that tests may reach into (to tamper with a blob).
 * CI installs the package (.ci/run); a machine without it fails the suites that need it, by design.
 */
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REGISTRY_BINARY = process.env.KILN_TEST_REGISTRY ?? '/usr/bin/docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:<port>`, what a kiln OCI target starts with. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The registry's filesystem storage root. */
  storage: string;
  /** Where the registry keeps a blob's bytes (`…/blobs/sha256/<2>/<hex>/data`). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts a registry and waits until `GET /v2/` answers 200. */
export async function startRegistry(): Promise<TestRegistry> {
  try {
    await access(REGISTRY_BINARY, constants.X_OK);
  } catch {
    throw new Error(
      `${REGISTRY_BINARY} not found: install Debian's docker-registry package ` +
        '(apt-get install -y --no-install-recommends docker-registry; CI does this in .ci/run) ' +
        'or point KILN_TEST_REGISTRY at a distribution 2.x registry binary',
    );
  }
  const work = await mkdtemp(path.join(tmpdir(), 'kiln-registry-'));
  const storage = path.join(work, 'storage');
  let lastError: unknown;
  // The port is free when picked but another process may take it first: try a few.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const config = path.join(work, 'config.yml');
    await writeFile(config, registryConfig(storage, port));
    const child = execa(REGISTRY_BINARY, ['serve', config], { reject: false, all: true, buffer: true });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, child);
    } catch (error) {
      child.kill('SIGKILL');
      await child;
      lastError = error;
      continue;
    }
    return {
      host: `127.0.0.1:${port}`,
      url,
      storage,
      blobPath: (digest) => {
        const hex = digest.replace(/^sha256:/, '');
        return path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      },
      stop: async () => {
        child.kill('SIGTERM');
        await child;
        await rm(work, { recursive: true, force: true });
      },
    };
  }
  await rm(work, { recursive: true, force: true });
  throw lastError;
}

function registryConfig(storage: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // A fixed secret: without one the registry logs a warning and signs upload state randomly.
    '  secret: kiln-test-secret',
    '',
  ].join('\n');
}

async function waitReady(url: string, child: ResultPromise<{ reject: false; all: true; buffer: true }>) {
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited) {
      const result = await child;
      throw new Error(
        `docker-registry exited (${result.exitCode}) before serving: ${String(result.all).slice(-800)}`,
      );
    }
    const ok = await fetch(`${url}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`docker-registry did not answer ${url}/v2/ within 15 s`);
}

/**
 * HTTP status of `GET /v2/<repository>/manifests/<ref>` asking for OCI manifests: distribution
 * answers 404 to an OCI manifest when the Accept header does not allow it, so asking without it
 * would make "no tag is visible" true for the wrong reason.
 */
export async function manifestStatus(registryUrl: string, repository: string, ref: string): Promise<number> {
  const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${ref}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  await response.arrayBuffer();
  return response.status;
}
