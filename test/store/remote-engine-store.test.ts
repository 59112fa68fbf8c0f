import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/hashing.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import { connectOci, OCI_MANIFEST } from '../../src/store/oci/client.js';
import { LocalStore, type StoredArtifact } from '../../src/store/local-store.js';
import { ociEngineStore } from '../../src/store/remote-engine-store.js';
import { startRegistry, type TestRegistry } from '../helpers/oci-registry.js';
import { storeFiles } from '../helpers/kiln-cli.js';

let registry: TestRegistry;
const key = sha256('a key');

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

async function emptyStore(): Promise<LocalStore> {
  return new LocalStore(await mkdtemp(path.join(tmpdir(), 'kiln-remote-store-')));
}

/** An artifact folder as kiln commits one: an engine, a golden sample, artifact.json naming both. */
async function storedArtifact(store: LocalStore): Promise<StoredArtifact> {
  const staging = await store.stage('det', key);
  const engine = randomBytes(2048);
  await writeFile(path.join(staging.dir, 'engine.ort'), engine);
  await writeFile(path.join(staging.dir, 'golden.npy'), randomBytes(64));
  const record = {
    schema: 'kiln.artifact/v1',
    model: 'det',
    key,
    engine: { file: 'engine.ort', sha256: sha256(engine), bytes: engine.byteLength },
  } as unknown as ArtifactRecord;
  return staging.commit(record);
}

describe('ociEngineStore against a real registry', () => {
  it('push then pull into another store gives back every file; a wrong model or key is not a hit', async () => {
    const remote = ociEngineStore({ target: `${registry.host}/roundtrip` });
    const built = await storedArtifact(await emptyStore());
    await remote.push(built);
    const other = await emptyStore();
    expect(await remote.pull(other, 'det', sha256('another key'))).toEqual({ status: 'miss' });
    expect(await remote.pull(other, 'det', key)).toEqual({ status: 'hit' });
    for (const file of ['engine.ort', 'golden.npy'])
      expect(
        (await readFile(path.join(other.artifactDir('det', key), file))).equals(
          await readFile(path.join(built.dir, file)),
        ),
      ).toBe(true);
    expect(await remote.pull(await emptyStore(), 'rec', key)).toMatchObject({
      status: 'refused',
      reason: expect.stringContaining('config does not describe rec/') as string,
    });
  });

  it('refuses a file whose sha256 differs from the listing, leaving nothing in the store', async () => {
    const namespace = 'lying';
    const remote = ociEngineStore({ target: `${registry.host}/${namespace}` });
    await remote.push(await storedArtifact(await emptyStore()));
    // Rewrite the listing: the layer is intact, but the config now promises another engine.
    const { client } = connectOci({ target: `${registry.host}/${namespace}` });
    const repository = `${namespace}/engines`;
    const manifest = JSON.parse(
      new TextDecoder().decode((await client.getManifest(repository, key))!.bytes),
    ) as { config: { digest: string; size: number } };
    const config = JSON.parse(
      new TextDecoder().decode(await client.blobBytes(repository, manifest.config.digest, 1 << 20)),
    ) as { files: Array<{ path: string; sha256: string }> };
    config.files.find((f) => f.path === 'engine.ort')!.sha256 = sha256('some other engine');
    const bytes = new TextEncoder().encode(JSON.stringify(config));
    const digest = `sha256:${sha256(bytes)}`;
    await client.pushBlob(repository, digest, bytes);
    manifest.config = { ...manifest.config, digest, size: bytes.byteLength };
    await client.putManifest(
      repository,
      key,
      new TextEncoder().encode(JSON.stringify(manifest)),
      OCI_MANIFEST,
    );

    const store = await emptyStore();
    const pulled = await remote.pull(store, 'det', key);
    expect(pulled).toEqual({
      status: 'refused',
      reason: expect.stringMatching(
        new RegExp(
          `^${registry.host}/lying/engines:${key.slice(0, 12)}: engine\\.ort: sha256 \\w{12} differs from the listing$`,
        ),
      ) as string,
    });
    expect(await storeFiles(store.dir)).toEqual([]);
  });
});
