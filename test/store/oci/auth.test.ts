import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { parseChallenges, tokenFromBody, tokenRequest } from '../../../src/store/oci/auth.js';
import { pullRelease, pushRelease } from '../../../src/store/oci/release.js';
import { startRegistryProxy } from '../../helpers/oci-proxy.js';
import type { ProxyAuth, RegistryProxy } from '../../helpers/oci-proxy.js';
import { startRegistry } from '../../helpers/oci-registry.js';
import type { TestRegistry } from '../../helpers/oci-registry.js';
import { makeRelease } from '../../helpers/release-fixture.js';

describe('WWW-Authenticate and the token request', () => {
  it('parses quoted parameters holding commas, and several challenges', () => {
    const header =
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/models/det:pull,push", Basic realm="x\\"y"';
    expect(parseChallenges(header)).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://ghcr.io/token',
          service: 'ghcr.io',
          scope: 'repository:acme/models/det:pull,push',
        },
      },
      { scheme: 'basic', params: { realm: 'x"y' } },
    ]);
    expect(parseChallenges('Basic realm=registry')).toEqual([
      { scheme: 'basic', params: { realm: 'registry' } },
    ]);
  });

  it('asks the realm for every scope, with Basic credentials or anonymously', () => {
    const challenge = {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'reg',
        scope: 'repository:a:pull repository:b:pull',
      },
    };
    expect(tokenRequest(challenge, { username: 'u', password: 'p' })).toEqual({
      url: 'https://auth.example/token?service=reg&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull',
      headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` },
    });
    expect(tokenRequest(challenge, undefined)?.headers).toEqual({});
    expect(tokenRequest({ scheme: 'bearer', params: {} }, undefined)).toBeUndefined();
    expect(tokenFromBody({ access_token: 'abc' })).toBe('abc');
    expect(tokenFromBody({ token: '' })).toBeUndefined();
  });
});

describe('authenticated registries (a real registry behind an authenticating proxy)', () => {
  let registry: TestRegistry;
  let work: string;
  let proxy: RegistryProxy | undefined;

  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(path.join(tmpdir(), 'kiln-oci-auth-'));
  });

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  async function roundTrip(
    model: string,
    auth: ProxyAuth,
    credentials?: { username: string; password: string },
  ) {
    proxy = await startRegistryProxy(registry.host, auth);
    const source = await makeRelease({
      root: await mkdtemp(path.join(work, 'src-')),
      model,
      version: '1.0.0',
      engines: [{ profile: 's384', precision: 'fp32', hardware: { arch: 'x64' } }],
    });
    const options = { target: `${proxy.host}/acme`, ...(credentials ? { auth: credentials } : {}) };
    const pushed = await pushRelease({ ...options, releaseDir: source.dir });
    const pulled = await pullRelease({
      ...options,
      model,
      ref: '1.0.0',
      destRoot: path.join(work, `dst-${model}`),
    });
    expect(pulled.digest).toBe(pushed.digest);
    expect(await readFile(path.join(pulled.dir, 'release.json'))).toEqual(
      await readFile(path.join(source.dir, 'release.json')),
    );
    return proxy;
  }

  it('answers a Basic challenge with the credentials, then sends them up front', async () => {
    const used = await roundTrip(
      'basic-det',
      { scheme: 'basic', username: 'bot', password: 'pa55word' },
      { username: 'bot', password: 'pa55word' },
    );
    // One challenge for the push and one for the pull (each its own client); after that, Basic up front.
    expect(used.requests.filter((r) => r.status === 401).map((r) => r.authorization)).toEqual([
      undefined,
      undefined,
    ]);
    const answered = used.requests.filter((r) => r.status !== 401);
    expect(answered.length).toBeGreaterThan(5);
    expect(answered.every((r) => r.authorization === 'Basic')).toBe(true);
  });

  it('follows the Bearer token flow, asking for push scope when it pushes', async () => {
    const used = await roundTrip(
      'bearer-det',
      { scheme: 'bearer', username: 'bot', password: 'ghp_token123' },
      { username: 'bot', password: 'ghp_token123' },
    );
    expect(used.tokenScopes).toContain('repository:acme/bearer-det:pull');
    expect(used.tokenScopes).toContain('repository:acme/bearer-det:pull,push');
    const blobOrManifest = used.requests.filter((r) => r.path.startsWith('/v2/') && r.status !== 401);
    expect(blobOrManifest.length).toBeGreaterThan(5);
    expect(blobOrManifest.every((r) => r.authorization === 'Bearer')).toBe(true);
  });

  it('gets an anonymous token when no credentials are given', async () => {
    const used = await roundTrip('anon-det', { scheme: 'bearer' });
    expect(
      used.requests.filter((r) => r.path.startsWith('/token')).every((r) => r.authorization === undefined),
    ).toBe(true);
  });

  it('refuses wrong credentials at once, in one line without the password', async () => {
    proxy = await startRegistryProxy(registry.host, {
      scheme: 'bearer',
      username: 'bot',
      password: 'right-password',
      refusalMessage: 'bad password wrong-password for bot',
    });
    const error = await pullRelease({
      target: `${proxy.host}/acme`,
      auth: { username: 'bot', password: 'wrong-password' },
      model: 'det',
      ref: 'v1',
      destRoot: work,
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${proxy.host}/acme/det: token request to http://${proxy.host} answered 401 Unauthorized (UNAUTHORIZED: bad password *** for bot); no token for user 'bot'`,
    );
    expect(proxy.requests.filter((r) => r.path.startsWith('/token'))).toHaveLength(1);
  });

  it('says that credentials are needed when none were given to a Basic registry', async () => {
    proxy = await startRegistryProxy(registry.host, { scheme: 'basic', username: 'bot', password: 'x1234' });
    const error = await pullRelease({
      target: `${proxy.host}/acme`,
      model: 'det',
      ref: 'v1',
      destRoot: work,
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${proxy.host}/acme/det: GET manifest v1 answered 401 Unauthorized (UNAUTHORIZED: authentication required) (no credentials were given)`,
    );
  });
});
