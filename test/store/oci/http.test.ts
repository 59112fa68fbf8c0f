import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { OciClient } from '../../../src/store/oci/client.js';
import { parseOciTarget } from '../../../src/store/oci/reference.js';
import { oneLineKilnError } from '../../helpers/one-line-error.js';

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

let server: Server | undefined;
let seen: string[] = [];

/** A loopback server answering each request with the next scripted answer (the last one repeats). */
async function scripted(answers: Scripted[]): Promise<string> {
  seen = [];
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const next = answers[Math.min(seen.length - 1, answers.length - 1)] ?? { status: 500 };
    req.resume();
    req.on('end', () => {
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end(next.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function client(host: string, sleeps: number[], auth?: { username: string; password: string }): OciClient {
  return new OciClient({
    target: parseOciTarget(`${host}/kiln`),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...(auth ? { auth } : {}),
  });
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('retries', () => {
  it('retries 5xx with doubling backoff and returns the eventual answer', async () => {
    const host = await scripted([{ status: 503 }, { status: 502 }, { status: 200 }]);
    const sleeps: number[] = [];
    expect(await client(host, sleeps).hasBlob('kiln/det', DIGEST)).toBe(true);
    expect(sleeps).toEqual([500, 1000]);
    expect(seen).toHaveLength(3);
  });

  it('waits as long as a 429 asks (capped), then goes on', async () => {
    const host = await scripted([{ status: 429, headers: { 'retry-after': '7' } }, { status: 404 }]);
    const sleeps: number[] = [];
    expect(await client(host, sleeps).hasBlob('kiln/det', DIGEST)).toBe(false);
    expect(sleeps).toEqual([7000]);
  });

  it('gives up after 4 attempts with one line naming registry, repository, request and answer', async () => {
    const host = await scripted([{ status: 503 }]);
    const sleeps: number[] = [];
    const error = await oneLineKilnError(client(host, sleeps).getManifest('kiln/det', 'v1'));
    expect(error.message).toBe(`${host}/kiln/det: GET manifest v1 answered 503 Service Unavailable 4 times`);
    expect(error.exitCode).toBe(2);
    expect(seen).toHaveLength(4);
  });

  it('says so when the attempts failed differently', async () => {
    const host = await scripted([{ status: 500 }, { status: 502 }, { status: 504 }, { status: 503 }]);
    const error = await oneLineKilnError(client(host, []).getManifest('kiln/det', 'v1'));
    expect(error.message).toBe(
      `${host}/kiln/det: GET manifest v1 answered 503 Service Unavailable (4 attempts failed)`,
    );
  });

  it('never retries another 4xx, and quotes the registry error code', async () => {
    const body = JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid' }] });
    const host = await scripted([{ status: 400, body }]);
    const sleeps: number[] = [];
    const error = await oneLineKilnError(
      client(host, sleeps).putManifest('kiln/det', 'v1', new TextEncoder().encode('{}'), 'application/json'),
    );
    expect(error.message).toBe(
      `${host}/kiln/det: PUT manifest v1 answered 400 Bad Request (MANIFEST_INVALID: manifest invalid)`,
    );
    expect(seen).toEqual(['PUT /v2/kiln/det/manifests/v1']);
    expect(sleeps).toEqual([]);
  });

  it('restarts an upload from its POST when the PUT fails', async () => {
    const host = await scripted([
      { status: 202, headers: { location: '/v2/kiln/det/blobs/uploads/one?_state=x' } },
      { status: 503 },
      { status: 202, headers: { location: '/v2/kiln/det/blobs/uploads/two?_state=y' } },
      { status: 201 },
    ]);
    await client(host, []).pushBlob('kiln/det', DIGEST, new Uint8Array([1, 2, 3]));
    expect(seen).toEqual([
      'POST /v2/kiln/det/blobs/uploads/',
      `PUT /v2/kiln/det/blobs/uploads/one?_state=x&digest=${encodeURIComponent(DIGEST)}`,
      'POST /v2/kiln/det/blobs/uploads/',
      `PUT /v2/kiln/det/blobs/uploads/two?_state=y&digest=${encodeURIComponent(DIGEST)}`,
    ]);
  });
});

describe('credentials in errors', () => {
  it('scrubs a password that a registry echoes back', async () => {
    const body = JSON.stringify({
      errors: [{ code: 'DENIED', message: 'token s3cr3t-pass is not allowed' }],
    });
    const host = await scripted([{ status: 403, body }]);
    const error = await oneLineKilnError(
      client(host, [], { username: 'bot', password: 's3cr3t-pass' }).getManifest('kiln/det', 'v1'),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      `${host}/kiln/det: GET manifest v1 answered 403 Forbidden (DENIED: token *** is not allowed) (as user 'bot')`,
    );
  });
});
