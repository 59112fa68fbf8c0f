import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/core/io/file-hashing.js';
import type { BuildResults } from '../../src/core/results.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import { startRegistry, type TestRegistry } from '../helpers/oci-registry.js';
import { GENERATED, runKiln, storeFiles, workspace, TWO_HEAD_B1_CONFIG } from '../helpers/kiln-cli.js';

const config = TWO_HEAD_B1_CONFIG;

// Three runners, each with its own empty store, sharing one real registry (Debian's docker-registry
// on loopback) as the remote engine store.
describe('the remote engine store on a real OCI registry', () => {
  let registry: TestRegistry;
  let remote: string;
  let key: string;
  let engineA: Buffer;

  const runner = () => workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
  const build = async (dir: string) => {
    const run = await runKiln(['build', '--remote-store', remote, '--json', 'out.json'], dir);
    const results = JSON.parse(await readFile(path.join(dir, 'out.json'), 'utf8')) as BuildResults;
    return { ...run, engine: results.engines[0]! };
  };

  beforeAll(async () => {
    registry = await startRegistry();
    remote = `oci://${registry.host}/kiln`;
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('runner A misses, builds and pushes the engine under its artifact key', async () => {
    const a = await build(await runner());
    expect(a.exitCode, a.stderr).toBe(0);
    expect(a.stderr).toContain('0 cache hits, 1 built');
    key = a.engine.key;
    expect(a.stderr).toContain(`pushed ${key.slice(0, 12)} to ${registry.host}/kiln/engines`);
    engineA = await readFile(a.engine.enginePath);
    const manifest = await fetch(`${registry.url}/v2/kiln/engines/manifests/${key}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(manifest.status).toBe(200);
  });

  it('runner B, with another empty store, pulls and hits: same engine bytes, nothing compiled', async () => {
    const dir = await runner();
    const b = await build(dir);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stderr).toContain(`pulled ${key.slice(0, 12)} from ${registry.host}/kiln/engines`);
    expect(b.stderr).toContain('1 cache hits, 0 built');
    expect(b.stderr).not.toMatch(/compile\s+onnxruntime-cpu/);
    expect(b.engine.key).toBe(key);
    expect((await readFile(b.engine.enginePath)).equals(engineA)).toBe(true);
    expect((await storeFiles(path.join(dir, '.kiln/store'))).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('runner C refuses a tampered layer in the registry and rebuilds instead', async () => {
    const response = await fetch(`${registry.url}/v2/kiln/engines/manifests/${key}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifest = (await response.json()) as { layers: Array<{ digest: string }> };
    const blob = registry.blobPath(manifest.layers[0]!.digest);
    const bytes = await readFile(blob);
    bytes[600] ^= 0xff; // inside the first file's data, past its tar header
    await writeFile(blob, bytes);

    const dir = await runner();
    const c = await build(dir);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stderr).toMatch(
      /remote store entry refused \(.*layer sha256 \w+ differs from the manifest's \w+\); rebuilding/,
    );
    expect(c.stderr).toContain('0 cache hits, 1 built');
    // What runner C stores is its own build, intact: nothing of the tampered layer was kept.
    const record = JSON.parse(
      await readFile(path.join(path.dirname(c.engine.enginePath), 'artifact.json'), 'utf8'),
    ) as ArtifactRecord;
    expect(record.engine.sha256).toBe(await sha256File(c.engine.enginePath));
    expect((await storeFiles(path.join(dir, '.kiln/store'))).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  });

  it('a remote store that is not oci:// is refused in one line with exit 2', async () => {
    const run = await runKiln(['build', '--remote-store', 'https://example.com/x'], await runner());
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      'kiln: --remote-store https://example.com/x: expected oci://REGISTRY/NAMESPACE (e.g. oci://ghcr.io/acme/kiln)',
    );
  });
});
