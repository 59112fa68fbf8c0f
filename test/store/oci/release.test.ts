import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { sha256 } from '../../../src/core/hashing.js';
import { OCI_MANIFEST, OciClient } from '../../../src/store/oci/client.js';
import {
  ENGINE_LAYER_MEDIA_TYPE,
  RELEASE_MEDIA_TYPE,
  releaseManifest,
} from '../../../src/store/oci/manifest.js';
import type { ReleaseManifest } from '../../../src/store/oci/manifest.js';
import { parseOciTarget } from '../../../src/store/oci/reference.js';
import { pullRelease, pushRelease } from '../../../src/store/oci/release.js';
import { startRegistryProxy } from '../../helpers/oci-proxy.js';
import type { RegistryProxy } from '../../helpers/oci-proxy.js';
import { freePort, startRegistry } from '../../helpers/oci-registry.js';
import type { TestRegistry } from '../../helpers/oci-registry.js';
import { makeRelease } from '../../helpers/release-fixture.js';
import type { FixtureEngine } from '../../helpers/release-fixture.js';
import { oneLineKilnError } from '../../helpers/one-line-error.js';

const AVX2 = { arch: 'x64', isa: ['avx2', 'fma'] };
const AVX512 = { arch: 'x64', isa: ['avx2', 'avx512f', 'fma'] };
const ENGINES: FixtureEngine[] = [
  { profile: 's384', precision: 'fp32', hardware: AVX2, target: 'cpu' },
  { profile: 's640', precision: 'int8', hardware: AVX512 },
];

let registry: TestRegistry;
let work: string;
let proxy: RegistryProxy | undefined;
let sleeps: number[];
const sleep = (ms: number): Promise<void> => {
  sleeps.push(ms);
  return Promise.resolve();
};

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(path.join(tmpdir(), 'kiln-oci-release-'));
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  sleeps = [];
});
sleeps = [];

/** A fresh release of `model` in its own source root. */
async function release(model: string, version = 'v1', engines = ENGINES) {
  const root = await mkdtemp(path.join(work, 'src-'));
  return makeRelease({
    root,
    model,
    version,
    engines,
    provenance: { builder: 'local', commit: 'a'.repeat(40), runner: { hostname: 'ci-7' } },
  });
}

/** Every file under `dir` by relative path, with its bytes. */
async function filesUnder(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out.set(path.relative(dir, full), await readFile(full));
  }
  return out;
}

async function rawManifest(repository: string, ref: string): Promise<Response> {
  return fetch(`${registry.url}/v2/${repository}/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe('push and pull against a real registry', () => {
  it('pulls byte-identical files by tag and by digest, and accepts an identical existing folder', async () => {
    const source = await release('ocr-det');
    const pushed = await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
    expect(pushed.reference).toBe(`${registry.host}/kiln/ocr-det:v1`);
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const byTag = await pullRelease({
      target: `${registry.host}/kiln`,
      model: 'ocr-det',
      ref: 'v1',
      destRoot: path.join(work, 'dst-tag'),
    });
    const byDigest = await pullRelease({
      target: `${registry.host}/kiln`,
      model: 'ocr-det',
      ref: pushed.digest,
      destRoot: path.join(work, 'dst-digest'),
    });
    const expected = await filesUnder(source.dir);
    expect(expected.size).toBe(1 + 2 * 4);
    for (const pulled of [byTag, byDigest]) {
      expect(pulled.digest).toBe(pushed.digest);
      expect(pulled.record).toEqual(source.record);
      expect(await filesUnder(pulled.dir)).toEqual(expected);
    }
    expect(byTag.dir).toBe(path.join(work, 'dst-tag', 'ocr-det', 'v1'));

    const again = await pullRelease({
      target: `${registry.host}/kiln`,
      model: 'ocr-det',
      ref: 'v1',
      destRoot: path.join(work, 'dst-tag'),
    });
    expect(again.dir).toBe(byTag.dir);
    expect(await readdir(path.join(work, 'dst-tag', '.tmp')).catch(() => [])).toEqual([]);
  });

  it('writes a manifest with the release as config, one annotated tar layer per engine', async () => {
    const source = await release('ocr-rec');
    const pushed = await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
    const response = await rawManifest('kiln/ocr-rec', 'v1');
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(`sha256:${sha256(bytes)}`).toBe(pushed.digest);
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as ReleaseManifest;
    const releaseJson = await readFile(path.join(source.dir, 'release.json'));
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: RELEASE_MEDIA_TYPE,
      config: {
        mediaType: RELEASE_MEDIA_TYPE,
        digest: `sha256:${sha256(releaseJson)}`,
        size: releaseJson.length,
      },
      annotations: {
        'org.opencontainers.image.version': 'v1',
        'org.opencontainers.image.created': source.record.createdAt,
        'org.opencontainers.image.revision': 'a'.repeat(40),
        'dev.kiln.model': 'ocr-rec',
      },
    });
    expect(manifest.layers).toHaveLength(2);
    for (const engine of source.record.engines) {
      const layer = manifest.layers.find((l) => l.annotations?.['dev.kiln.key'] === engine.key);
      const artifact = JSON.parse(
        await readFile(path.join(source.dir, engine.dir, 'artifact.json'), 'utf8'),
      ) as { keyInputs: { model: string; calibration: string | null } };
      expect(layer?.mediaType).toBe(ENGINE_LAYER_MEDIA_TYPE);
      expect(layer?.annotations).toMatchObject({
        'org.opencontainers.image.title': `${engine.key}.tar`,
        'dev.kiln.profile': engine.profile,
        'dev.kiln.precision': engine.precision,
        'dev.kiln.backend': 'onnxruntime-cpu',
        'dev.kiln.backend-version': '1.30.0',
        'dev.kiln.hardware': JSON.stringify(engine.hardware), // keys already sorted: canonical
        'dev.kiln.engine-sha256': engine.engine.sha256,
        'dev.kiln.model-sha256': artifact.keyInputs.model,
      });
      expect(layer?.annotations?.['dev.kiln.target']).toBe(engine.target);
      expect(layer?.annotations?.['dev.kiln.calibration-sha256']).toBe(
        (artifact.keyInputs.calibration as { data?: string } | null)?.data,
      );
    }
    expect(manifest.layers.map((l) => l.annotations?.['dev.kiln.precision']).sort()).toEqual([
      'fp32',
      'int8',
    ]);
    expect(manifest.layers.some((l) => l.annotations?.['dev.kiln.calibration-sha256'])).toBe(true);

    // The layer is the engine folder as a reproducible tar: sorted paths, no owners, no times.
    const layer = manifest.layers[0];
    const blob = await fetch(`${registry.url}/v2/kiln/ocr-rec/blobs/${layer?.digest}`);
    const extract = tar.extract();
    extract.end(Buffer.from(await blob.arrayBuffer()));
    const headers = [];
    for await (const entry of extract) {
      headers.push(entry.header);
      entry.resume();
    }
    const names = headers.map((h) => h.name);
    expect(names).toEqual(['artifact.json', 'engine.ort', 'golden/0/in-x.npy', 'golden/0/out-y.npy']);
    for (const h of headers)
      expect([h.mtime.getTime(), h.mode, h.uid, h.gid, h.type]).toEqual([0, 0o644, 0, 0, 'file']);
  });

  it('makes a second push of the same release a no-op with the same digest', async () => {
    const source = await release('ocr-cls');
    const first = await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
    proxy = await startRegistryProxy(registry.host);
    const lines: string[] = [];
    const second = await pushRelease({
      target: `${proxy.host}/kiln`,
      releaseDir: source.dir,
      onProgress: (line) => lines.push(line),
    });
    expect(second.digest).toBe(first.digest);
    expect(proxy.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200']);
    expect(lines.join('\n')).toContain('nothing to push');
  });

  it('takes a manifest serialized differently but holding the same blobs as the same release', async () => {
    const source = await release('respelled');
    await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
    const original = await (await rawManifest('kiln/respelled', 'v1')).text();
    const respelled = new TextEncoder().encode(JSON.stringify(JSON.parse(original), null, 2));
    const client = new OciClient({ target: parseOciTarget(`${registry.host}/kiln`) });
    const digest = await client.putManifest('kiln/respelled', 'v1', respelled, OCI_MANIFEST);
    const again = await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
    expect(again.digest).toBe(digest);
    expect((await rawManifest('kiln/respelled', 'v1')).headers.get('docker-content-digest')).toBe(digest);
  });

  it('refuses different content under an existing tag and leaves the tag alone', async () => {
    const first = await pushRelease({
      target: `${registry.host}/kiln`,
      releaseDir: (await release('layout')).dir,
    });
    const other = await release('layout');
    const error = await oneLineKilnError(
      pushRelease({ target: `${registry.host}/kiln`, releaseDir: other.dir }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(
      new RegExp(
        `^${registry.host}/kiln/layout:v1 already exists as sha256:[0-9a-f]{12}…, not this release's .*immutable`,
      ),
    );
    expect((await rawManifest('kiln/layout', 'v1')).headers.get('docker-content-digest')).toBe(first.digest);
  });
});

describe('a registry that fails', () => {
  it('retries a 503 mid-push and succeeds', async () => {
    proxy = await startRegistryProxy(registry.host);
    proxy.fail({ method: 'PUT', path: /\/blobs\/uploads\//, nth: 2 });
    const source = await release('retry-once');
    const pushed = await pushRelease({ target: `${proxy.host}/kiln`, releaseDir: source.dir, sleep });
    expect(proxy.requests.filter((r) => r.status === 503)).toHaveLength(1);
    expect(sleeps).toEqual([500]);
    const pulled = await pullRelease({
      target: `${registry.host}/kiln`,
      model: 'retry-once',
      ref: pushed.digest,
      destRoot: path.join(work, 'dst-retry'),
    });
    expect(await filesUnder(pulled.dir)).toEqual(await filesUnder(source.dir));
  });

  it('gives up on a blob upload that keeps failing with one line, and no tag is visible', async () => {
    proxy = await startRegistryProxy(registry.host);
    proxy.fail({ method: 'PUT', path: /\/blobs\/uploads\//, nth: 2, count: Infinity });
    const source = await release('always-503');
    const error = await oneLineKilnError(
      pushRelease({ target: `${proxy.host}/kiln`, releaseDir: source.dir, sleep }),
    );
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(
      new RegExp(
        `^${proxy.host}/kiln/always-503: PUT blob sha256:[0-9a-f]{12}… answered 503 Service Unavailable \\(UNAVAILABLE: injected fault\\) 4 times; nothing was tagged, so 'v1' is not visible$`,
      ),
    );
    expect(sleeps).toEqual([500, 1000, 2000]);
    expect(proxy.requests.some((r) => r.path.includes('/manifests/') && r.method === 'PUT')).toBe(false);
    expect((await rawManifest('kiln/always-503', 'v1')).status).toBe(404);
  });

  it('reads the tag back when the answer to the manifest PUT was lost', async () => {
    proxy = await startRegistryProxy(registry.host);
    proxy.fail({ method: 'PUT', path: /\/manifests\/v1$/, count: Infinity, status: 502, forward: true });
    const source = await release('lost-answer');
    const pushed = await pushRelease({ target: `${proxy.host}/kiln`, releaseDir: source.dir, sleep });
    expect(proxy.requests.filter((r) => r.status === 502)).toHaveLength(4);
    expect((await rawManifest('kiln/lost-answer', 'v1')).headers.get('docker-content-digest')).toBe(
      pushed.digest,
    );
  });

  it('names the registry when nothing listens there', async () => {
    const port = await freePort();
    const source = await release('nobody-home');
    const push = await oneLineKilnError(
      pushRelease({ target: `127.0.0.1:${port}/kiln`, releaseDir: source.dir, sleep }),
    );
    expect(push.message).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${port}/kiln/nobody-home: GET manifest v1 failed: connect ECONNREFUSED .* 4 times$`,
      ),
    );
    const pull = await oneLineKilnError(
      pullRelease({ target: `127.0.0.1:${port}/kiln`, model: 'x', ref: 'v1', destRoot: work, sleep }),
    );
    expect(pull.message).toContain(`127.0.0.1:${port}/kiln/x: GET manifest v1 failed: connect ECONNREFUSED`);
  });
});

describe('pull trusts nothing it has not checked', () => {
  it.each(['flipped', 'truncated'] as const)(
    'refuses a %s layer, naming its digest, and leaves nothing',
    async (how) => {
      const model = `tamper-${how}`;
      const source = await release(model);
      await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
      const manifest = (await (await rawManifest(`kiln/${model}`, 'v1')).json()) as ReleaseManifest;
      const layer = manifest.layers[1];
      if (!layer) throw new Error('no layer');
      const data = await readFile(registry.blobPath(layer.digest));
      if (how === 'flipped') data[600] = (data[600] ?? 0) ^ 0xff;
      await writeFile(registry.blobPath(layer.digest), how === 'flipped' ? data : data.subarray(0, 1000));

      const destRoot = path.join(work, `dst-${model}`);
      const error = await oneLineKilnError(
        pullRelease({ target: `${registry.host}/kiln`, model, ref: 'v1', destRoot, sleep }),
      );
      expect(error).toBeInstanceOf(InputError);
      const key = layer.annotations?.['dev.kiln.key']?.slice(0, 12) ?? '?';
      const got = how === 'flipped' ? `${layer.size} bytes` : '1000 bytes';
      expect(error.message).toMatch(
        new RegExp(
          `^${registry.host}/kiln/${model}: layer ${layer.digest.slice(0, 19)}… \\(engine ${key}\\): got ${got} hashing to sha256:[0-9a-f]{12}…, expected ${layer.size} bytes of ${layer.digest}: the registry copy is damaged or was tampered with$`,
        ),
      );
      expect(await exists(path.join(destRoot, model))).toBe(false);
      expect(await readdir(path.join(destRoot, '.tmp'))).toEqual([]);
    },
  );

  it('refuses a manifest that does not hash to the digest it was pulled by', async () => {
    const source = await release('tamper-manifest');
    const pushed = await pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir });
    const file = registry.blobPath(pushed.digest);
    // Still valid JSON, still the same release: only the bytes (and so the digest) differ.
    await writeFile(file, `${(await readFile(file, 'utf8')).trimEnd()} `);
    const destRoot = path.join(work, 'dst-tamper-manifest');
    const error = await oneLineKilnError(
      pullRelease({
        target: `${registry.host}/kiln`,
        model: 'tamper-manifest',
        ref: pushed.digest,
        destRoot,
      }),
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(
      new RegExp(
        `^${registry.host}/kiln/tamper-manifest@${pushed.digest}: the registry's manifest hashes to sha256:[0-9a-f]{12}…; refusing it$`,
      ),
    );
    expect(await exists(path.join(destRoot, 'tamper-manifest'))).toBe(false);
  });

  it('refuses a layer whose tar climbs out of its folder', async () => {
    const source = await release('escape', 'v1', [ENGINES[0] as FixtureEngine]);
    const engine = source.record.engines[0];
    if (!engine) throw new Error('no engine');
    const pack = tar.pack();
    pack.entry({ name: 'artifact.json' }, '{}');
    pack.entry({ name: '../../../evil.txt' }, 'pwned');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const layerBytes = Buffer.concat(chunks);
    const configBytes = await readFile(path.join(source.dir, 'release.json'));

    const client = new OciClient({ target: parseOciTarget(`${registry.host}/kiln`) });
    const config = {
      mediaType: RELEASE_MEDIA_TYPE,
      digest: `sha256:${sha256(configBytes)}`,
      size: configBytes.length,
    };
    const layer = {
      mediaType: ENGINE_LAYER_MEDIA_TYPE,
      digest: `sha256:${sha256(layerBytes)}`,
      size: layerBytes.length,
      annotations: { 'dev.kiln.key': engine.key },
    };
    await client.pushBlob('kiln/escape', config.digest, configBytes);
    await client.pushBlob('kiln/escape', layer.digest, layerBytes);
    await client.putManifest(
      'kiln/escape',
      'v1',
      releaseManifest(source.record, config, [layer]),
      OCI_MANIFEST,
    );

    const destRoot = path.join(work, 'dst-escape');
    const error = await oneLineKilnError(
      pullRelease({ target: `${registry.host}/kiln`, model: 'escape', ref: 'v1', destRoot }),
    );
    expect(error.message).toMatch(/tar entry '\.\.\/\.\.\/\.\.\/evil\.txt' escapes its folder$/);
    expect(await exists(path.join(destRoot, 'escape'))).toBe(false);
    expect(await exists(path.join(destRoot, 'evil.txt'))).toBe(false);
    expect(await exists(path.join(destRoot, '.tmp', 'evil.txt'))).toBe(false);
  });

  it('refuses a release.json whose engine path climbs out of its folder, writing nothing', async () => {
    const source = await release('climb', 'v1', [ENGINES[0] as FixtureEngine]);
    const honest = source.record.engines[0];
    if (!honest) throw new Error('no engine');
    // The digest-checked config itself is hostile: the engine "file" is outside the version folder.
    const escape = '../../../../etc/passwd';
    const record = {
      ...source.record,
      engines: [
        {
          ...honest,
          engine: { ...honest.engine, file: escape },
          files: honest.files.map((f) => (f.path === honest.engine.file ? { ...f, path: escape } : f)),
        },
      ],
    };
    const configBytes = Buffer.from(JSON.stringify(record));
    const pack = tar.pack();
    pack.entry({ name: 'artifact.json' }, '{}');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    const layerBytes = Buffer.concat(chunks);
    const client = new OciClient({ target: parseOciTarget(`${registry.host}/kiln`) });
    const config = {
      mediaType: RELEASE_MEDIA_TYPE,
      digest: `sha256:${sha256(configBytes)}`,
      size: configBytes.length,
    };
    const layer = {
      mediaType: ENGINE_LAYER_MEDIA_TYPE,
      digest: `sha256:${sha256(layerBytes)}`,
      size: layerBytes.length,
      annotations: { 'dev.kiln.key': honest.key },
    };
    await client.pushBlob('kiln/climb', config.digest, configBytes);
    await client.pushBlob('kiln/climb', layer.digest, layerBytes);
    await client.putManifest(
      'kiln/climb',
      'v1',
      releaseManifest(source.record, config, [layer]),
      OCI_MANIFEST,
    );

    const destRoot = path.join(work, 'dst-climb');
    const error = await oneLineKilnError(
      pullRelease({ target: `${registry.host}/kiln`, model: 'climb', ref: 'v1', destRoot }),
    );
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(
      `release.json: engines[0].engine.file: found "${escape}", expected a relative path`,
    );
    expect(await exists(path.join(destRoot, 'climb'))).toBe(false);
  });

  it('refuses a version that is not there, and a model name the registry cannot hold', async () => {
    const missing = await oneLineKilnError(
      pullRelease({ target: `${registry.host}/kiln`, model: 'ocr-det', ref: 'v404', destRoot: work }),
    );
    expect(missing.message).toBe(`${registry.host}/kiln/ocr-det:v404: no such version in the registry`);
    const source = await release('OCR_Det');
    const upper = await oneLineKilnError(
      pushRelease({ target: `${registry.host}/kiln`, releaseDir: source.dir }),
    );
    expect(upper).toBeInstanceOf(InputError);
    expect(upper.message).toMatch(
      /^model 'OCR_Det' in 127\.0\.0\.1:\d+: repository 'kiln\/OCR_Det' is not a valid OCI name/,
    );
  });
});
