import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttestSubject, Attestor } from '../../src/action/attestor.js';
import { publishCommand } from '../../src/action/commands/publish.js';
import type { EngineCache } from '../../src/action/engine-cache.js';
import { readInputs } from '../../src/action/inputs.js';
import { processKilnRunner } from '../../src/action/kiln-process.js';
import type { RunContext } from '../../src/action/run-context.js';
import { GateError, InputError } from '../../src/core/errors.js';
import type { BuildResults } from '../../src/core/results.js';
import type { PublishResults } from '../../src/cli/commands/publish.js';
import { folderTransfer, prContext, recordingIO } from '../helpers/action-fakes.js';
import { FAST_BENCH, GENERATED, ROOT, runKiln, workspace } from '../helpers/kiln-cli.js';
import { manifestStatus, startRegistry, type TestRegistry } from '../helpers/oci-registry.js';

const config = `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - { name: b1, shapes: { x: [1, 8], ids: [1, 4] } }
      - { name: b2, shapes: { x: [2, 8], ids: [2, 4] } }
    golden: { samples: 2 }
${FAST_BENCH}`;

/** The Actions cache as a folder of engine folders by key, the way the build jobs left it. */
function folderCache(root: string): EngineCache & { restored: string[] } {
  const cache = {
    restored: [] as string[],
    async restore(dir: string, key: string) {
      try {
        await cp(path.join(root, key), dir, { recursive: true, errorOnExist: false });
        cache.restored.push(key);
        return true;
      } catch {
        return false;
      }
    },
    async save(dir: string, key: string) {
      await cp(dir, path.join(root, key), { recursive: true });
    },
  };
  return cache;
}

function recordingAttestor(): Attestor & { calls: AttestSubject[][] } {
  const calls: AttestSubject[][] = [];
  return {
    calls,
    async attest(subjects) {
      calls.push(subjects);
      return { attestationId: '77', url: 'https://github.com/acme/models/attestations/77' };
    },
  };
}

const tagContext = (): RunContext => {
  const { pullRequest: _pr, ...rest } = prContext({ eventName: 'push', ref: 'refs/tags/v2.1.0' });
  return rest;
};

describe('the Action publish command, with the real kiln CLI and a real registry', () => {
  let registry: TestRegistry;
  let dir: string;
  let cacheRoot: string;
  let transferRoot: string;
  let results: BuildResults;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    // What a build job leaves behind: its engines in the cache and build.json in the run's artifacts.
    const built = await runKiln(['build', '--json', 'out/build.json'], dir);
    expect(built.exitCode, built.stderr).toBe(0);
    results = JSON.parse(await readFile(path.join(dir, 'out', 'build.json'), 'utf8')) as BuildResults;
    cacheRoot = await mkdtemp(path.join(tmpdir(), 'kiln-cache-'));
    const cache = folderCache(cacheRoot);
    for (const e of results.engines) await cache.save(path.dirname(e.enginePath), e.key);
    transferRoot = await mkdtemp(path.join(tmpdir(), 'kiln-artifacts-'));
    await folderTransfer(transferRoot).upload(
      'kiln-results-cpu-all',
      [path.join(dir, 'out', 'build.json')],
      path.join(dir, 'out'),
    );
  });

  afterAll(async () => {
    await registry?.stop();
  });

  async function publish(inputs: Record<string, string>, attestor = recordingAttestor()) {
    const io = recordingIO();
    const tempDir = await mkdtemp(path.join(tmpdir(), 'kiln-runner-temp-'));
    const cache = folderCache(cacheRoot);
    const error = await publishCommand({
      inputs: readInputs((name) => ({ command: 'publish', 'github-token': 'ghs_x', ...inputs })[name] ?? ''),
      context: tagContext(),
      kiln: processKilnRunner(['node', path.join(ROOT, 'bin', 'kiln.js')], { timeoutMs: 120_000, cwd: dir }),
      cache,
      transfer: folderTransfer(transferRoot),
      attestor,
      io,
      tempDir,
    }).catch((e: unknown) => e);
    return { error, io, cache, attestor };
  }

  it('restores the engines the build results name, publishes them to the registry and attests every digest', async () => {
    const { error, io, cache, attestor } = await publish({ oci: `${registry.host}/kiln` });
    expect(error).toBeUndefined();
    expect(cache.restored.sort()).toEqual(results.engines.map((e) => e.key).sort());
    const published = JSON.parse(await readFile(io.outputs.published!, 'utf8')) as PublishResults;
    expect(published.version).toBe('v2.1.0'); // the tag name
    const release = published.releases[0]!;
    expect(release.oci!.reference).toBe(`${registry.host}/kiln/two-head:v2.1.0`);
    expect(await manifestStatus(registry.url, 'kiln/two-head', 'v2.1.0')).toBe(200);
    // One attestation: each engine file by its sha256, and the OCI manifest by its digest.
    expect(attestor.calls).toHaveLength(1);
    const subjects = attestor.calls[0]!;
    for (const engine of results.engines) {
      const stored = JSON.parse(
        await readFile(path.join(path.dirname(engine.enginePath), 'artifact.json'), 'utf8'),
      );
      expect(subjects).toContainEqual({
        name: expect.stringContaining(`two-head/v2.1.0/engines/${engine.key}/engine.ort`),
        digest: { sha256: stored.engine.sha256 },
      });
    }
    expect(subjects).toContainEqual({
      name: `${registry.host}/kiln/two-head`,
      digest: { sha256: release.oci!.digest.slice('sha256:'.length) },
    });
    expect(io.infos.join('\n')).toContain(
      'build provenance attested for 3 subjects: https://github.com/acme/models/attestations/77',
    );
  });

  it('refuses to publish when a build job reported a failed golden gate, and attests nothing', async () => {
    const failedRoot = await mkdtemp(path.join(tmpdir(), 'kiln-artifacts-'));
    const failed = structuredClone(results);
    failed.engines[1]!.golden = { ...failed.engines[1]!.golden, pass: false, failure: 'output z: NaN' };
    await mkdir(path.join(failedRoot, 'kiln-results-cpu-all'), { recursive: true });
    await writeFile(path.join(failedRoot, 'kiln-results-cpu-all', 'build.json'), JSON.stringify(failed));
    const saved = transferRoot;
    transferRoot = failedRoot;
    try {
      const { error, attestor } = await publish({ oci: `${registry.host}/kiln`, version: 'v9' });
      expect(error).toBeInstanceOf(GateError);
      expect((error as Error).message).toContain(
        'kiln publish v9: refusing to publish: 1 engine(s) failed their golden gate, first two-head/b2/fp32 on cpu (output z: NaN)',
      );
      expect(attestor.calls).toEqual([]);
      expect(await manifestStatus(registry.url, 'kiln/two-head', 'v9')).toBe(404);
    } finally {
      transferRoot = saved;
    }
  });

  it('needs a version off tags, and names the missing permission when there is no OIDC token', async () => {
    const io = recordingIO();
    const branch = { ...tagContext(), ref: 'refs/heads/main' };
    const common = {
      kiln: processKilnRunner(['node', path.join(ROOT, 'bin', 'kiln.js')], { timeoutMs: 60_000, cwd: dir }),
      cache: folderCache(cacheRoot),
      transfer: folderTransfer(transferRoot),
      io,
      tempDir: await mkdtemp(path.join(tmpdir(), 'kiln-runner-temp-')),
    };
    const noVersion = await publishCommand({
      ...common,
      inputs: readInputs((name) => ({ command: 'publish', attest: 'false' })[name] ?? ''),
      context: branch,
      attestor: undefined,
    }).catch((e: unknown) => e);
    expect(noVersion).toBeInstanceOf(InputError);
    expect((noVersion as Error).message).toBe(
      "input 'version': found '', and refs/heads/main is not a tag; publish runs on release tags or with an explicit version",
    );
    const { actionsAttestor } = await import('../../src/action/attestor.js');
    const attestor = actionsAttestor(
      'ghs_x',
      { owner: 'acme', repo: 'models', serverUrl: 'https://github.com' },
      {},
    );
    await expect(attestor.attest([{ name: 'x', digest: { sha256: '0'.repeat(64) } }])).rejects.toThrow(
      "input 'attest': true needs the job permissions id-token: write and attestations: write (or set attest: false)",
    );
  });
});
