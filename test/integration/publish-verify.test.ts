import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import type { ArtifactRecord } from '../../src/store/artifact.js';
import { pullRelease } from '../../src/store/oci/release.js';
import type { ReleaseRecord } from '../../src/store/release/release-record.js';
import type { PublishResults } from '../../src/cli/commands/publish.js';
import { freePort, manifestStatus, startRegistry, type TestRegistry } from '../helpers/oci-registry.js';
import { parseTritonConfig } from '../helpers/pbtxt-parse.js';
import { foreignIsa, nodeOnlyPath } from '../helpers/foreign-host.js';
import { GENERATED, runKiln, workspace, TWO_HEAD_B1_CONFIG } from '../helpers/kiln-cli.js';

const config = TWO_HEAD_B1_CONFIG;

// What GitHub's runner sets (documented default environment variables).
const ACTIONS_ENV = {
  GITHUB_ACTIONS: 'true',
  GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  GITHUB_REF: 'refs/tags/v1.2.0',
  GITHUB_REPOSITORY: 'acme/models',
  GITHUB_RUN_ID: '9001',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_WORKFLOW_REF: 'acme/models/.github/workflows/release.yml@refs/tags/v1.2.0',
  RUNNER_NAME: 'gpu-a10g-07',
  RUNNER_OS: 'Linux',
  RUNNER_ARCH: 'X64',
};

describe('provenance and kiln verify on a real CPU engine', () => {
  let dir: string;
  let artifactDir: string;
  let record: ArtifactRecord;

  beforeAll(async () => {
    dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    const built = await runKiln(['build', '--json', 'results.json'], dir, ACTIONS_ENV);
    expect(built.exitCode, built.stderr).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as BuildResults;
    artifactDir = path.dirname(results.engines[0]!.enginePath);
    record = JSON.parse(await readFile(path.join(artifactDir, 'artifact.json'), 'utf8')) as ArtifactRecord;
  });

  it('records which commit, workflow run and runner built the engine', () => {
    expect(record.provenance).toMatchObject({
      builder: 'github-actions',
      commit: ACTIONS_ENV.GITHUB_SHA,
      ref: 'refs/tags/v1.2.0',
      repository: 'acme/models',
      workflowRun: 'https://github.com/acme/models/actions/runs/9001/attempts/2',
      runner: { name: 'gpu-a10g-07', os: 'Linux', arch: 'X64' },
    });
  });

  it('passes an engine on the host that built it', async () => {
    const run = await runKiln(['verify', artifactDir], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^two-head\/b1\/fp32 \(\w{12}\): matches this host \(CPU x64/);
  });

  it('refuses an engine built for another CPU, naming the flags and the engine to use instead', async () => {
    // The same artifact as if built on a CPU that differs from this one (derived from this host's
    // recorded ISA, so it differs on any host: with or without AVX-512, AVX-VNNI or AMX).
    const foreign = path.join(path.dirname(artifactDir), 'f'.repeat(64));
    await cp(artifactDir, foreign, { recursive: true });
    const other = foreignIsa(record.tags.hardware.isa as string[], record.tags.hardware.arch as string);
    const tags = { ...record.tags, hardware: { ...record.tags.hardware, isa: other.isa } };
    await writeFile(
      path.join(foreign, 'artifact.json'),
      JSON.stringify({ ...record, key: 'f'.repeat(64), tags }),
    );
    const run = await runKiln(['verify', foreign], dir);
    expect(run.exitCode).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('two-head/b1/fp32 (ffffffffffff) does not match this host: CPU ISA:');
    if (other.removed) expect(lines[0]).toContain(`this host adds ${other.removed}`);
    if (other.added) expect(lines[0]).toContain(`engine needs ${other.added} which this host lacks`);
    expect(lines[0]).toContain(`use ${artifactDir} (built for this host) instead`);
  });

  it('refuses a TensorRT engine on a host without TensorRT, naming what the engine needs', async () => {
    const gpu = path.join(path.dirname(artifactDir), 'e'.repeat(64));
    await cp(artifactDir, gpu, { recursive: true });
    const hardware = {
      kind: 'gpu',
      computeCapability: '8.6',
      driverMajor: 535,
      cuda: '12.2',
      tensorrt: '10.3.0',
    };
    await writeFile(
      path.join(gpu, 'artifact.json'),
      JSON.stringify({
        ...record,
        key: 'e'.repeat(64),
        tags: { ...record.tags, backend: 'tensorrt', hardware },
      }),
    );
    // A host without TensorRT, whether or not the machine running this test has trtexec.
    const bin = await nodeOnlyPath();
    const run = await runKiln(['verify', path.join(gpu, 'artifact.json')], dir, { PATH: bin });
    await rm(bin, { recursive: true, force: true });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('this host cannot run tensorrt (trtexec not on PATH');
    expect(run.stderr).toContain(
      'the engine needs GPU compute capability 8.6, driver 535, CUDA 12.2, TensorRT 10.3.0',
    );
  });

  it('refuses a missing artifact and a wrong argument count with exit 2', async () => {
    const missing = await runKiln(['verify', path.join(dir, 'nope')], dir);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/nope\/artifact\.json: not found/);
    const none = await runKiln(['verify'], dir);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('expected one ARTIFACT folder, found 0');
  });
});

describe('kiln publish: local release store, a real OCI registry, a Triton repository', () => {
  let dir: string;
  let registry: TestRegistry;
  let results: BuildResults;

  beforeAll(async () => {
    registry = await startRegistry();
    dir = await workspace(config, { 'model.onnx': path.join(GENERATED, 'two-head.onnx') });
    const built = await runKiln(['build', '--json', 'results.json'], dir);
    expect(built.exitCode, built.stderr).toBe(0);
    results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as BuildResults;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('publishes the verified engines everywhere, and a pull by digest gives back the same bytes', async () => {
    const run = await runKiln(
      [
        'publish',
        '--version',
        'v1.0.0',
        '--results',
        'results.json',
        '--oci',
        `${registry.host}/kiln`,
      ].concat(['--triton', 'triton', '--json', 'publish.json']),
      dir,
      ACTIONS_ENV,
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('two-head@v1.0.0: published, 1 engines');
    const published = JSON.parse(await readFile(path.join(dir, 'publish.json'), 'utf8')) as PublishResults;
    const release = published.releases[0]!;
    expect(release.dir).toBe(path.join(dir, '.kiln', 'releases', 'two-head', 'v1.0.0'));
    expect(release.engines.map((e) => [e.key, e.target])).toEqual([[results.engines[0]!.key, 'cpu']]);
    expect(release.oci?.reference).toBe(`${registry.host}/kiln/two-head:v1.0.0`);
    expect(release.oci?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const record = JSON.parse(
      await readFile(path.join(release.dir, 'release.json'), 'utf8'),
    ) as ReleaseRecord;
    expect(record.provenance).toMatchObject({ builder: 'github-actions', commit: ACTIONS_ENV.GITHUB_SHA });

    // The registry serves the manifest by tag: one layer per engine, annotated with its key and hardware.
    const manifest = (await (
      await fetch(`${registry.url}/v2/kiln/two-head/manifests/v1.0.0`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { layers: Array<{ annotations: Record<string, string> }> };
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.annotations['dev.kiln.key']).toBe(results.engines[0]!.key);
    expect(JSON.parse(manifest.layers[0]!.annotations['dev.kiln.hardware']!)).toEqual(results.hardware);

    const pulled = await pullRelease({
      target: `${registry.host}/kiln`,
      model: 'two-head',
      ref: release.oci!.digest,
      destRoot: await mkdtemp(path.join(tmpdir(), 'kiln-pull-')),
    });
    const engine = record.engines[0]!;
    const [a, b] = await Promise.all(
      [release.dir, pulled.dir].map((d) => readFile(path.join(d, engine.dir, engine.engine.file))),
    );
    expect(Buffer.compare(a!, b!)).toBe(0);

    // The Triton model repository parses back against Triton's own model_config.proto.
    const tritonModel = path.join(dir, 'triton', 'two-head_b1_fp32');
    const parsed = parseTritonConfig(await readFile(path.join(tritonModel, 'config.pbtxt'), 'utf8'));
    expect(parsed).toMatchObject({ name: 'two-head_b1_fp32', backend: 'onnxruntime' });
    expect(await readdir(path.join(tritonModel, '1'))).toEqual(['model.ort']);
  });

  it('publishing the same version again is a no-op with the same digest', async () => {
    const args = [
      'publish',
      '--version',
      'v1.0.0',
      '--results',
      'results.json',
      '--oci',
      `${registry.host}/kiln`,
    ];
    const run = await runKiln([...args, '--json', 'again.json'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain('already published (unchanged)');
    const first = JSON.parse(await readFile(path.join(dir, 'publish.json'), 'utf8')) as PublishResults;
    const again = JSON.parse(await readFile(path.join(dir, 'again.json'), 'utf8')) as PublishResults;
    expect(again.releases[0]!.oci!.digest).toBe(first.releases[0]!.oci!.digest);
  });

  it('refuses results whose golden gate failed: exit 1, nothing published anywhere', async () => {
    const failed = structuredClone(results);
    failed.engines[0]!.golden = {
      ...failed.engines[0]!.golden,
      pass: false,
      failure: "output 'y': 2 of 8 elements differ",
    };
    await writeFile(path.join(dir, 'failed.json'), JSON.stringify(failed));
    const run = await runKiln(
      ['publish', '--version', 'v2.0.0', '--results', 'failed.json', '--oci', `${registry.host}/kiln`],
      dir,
    );
    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      "kiln: refusing to publish: 1 engine(s) failed their golden gate, first two-head/b1/fp32 on cpu (output 'y': 2 of 8 elements differ); nothing was published",
    ]);
    await expect(readdir(path.join(dir, '.kiln', 'releases', 'two-head'))).resolves.toEqual(['v1.0.0']);
    expect(await manifestStatus(registry.url, 'kiln/two-head', 'v2.0.0')).toBe(404);
  });

  it('without --results publishes what this host builds, and refuses engines that were never built', async () => {
    const run = await runKiln(['publish', '--version', 'local-1'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    const record = JSON.parse(
      await readFile(path.join(dir, '.kiln', 'releases', 'two-head', 'local-1', 'release.json'), 'utf8'),
    ) as ReleaseRecord;
    expect(record.engines.map((e) => e.key)).toEqual([results.engines[0]!.key]);

    const empty = await workspace(config, {
      'model.onnx': path.join(GENERATED, 'two-head.onnx'),
    });
    const missing = await runKiln(['publish', '--version', 'local-1'], empty);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(
      /^kiln: two-head\/b1\/fp32 on cpu \(\w{12}\): not in the store .*; build it first \(kiln build\)$/,
    );
    await expect(readdir(path.join(empty, '.kiln', 'releases'))).rejects.toThrow(/ENOENT/);
  });

  it('a registry that is down fails in one line naming it', async () => {
    const port = await freePort();
    const run = await runKiln(
      ['publish', '--version', 'v3.0.0', '--results', 'results.json', '--oci', `127.0.0.1:${port}/kiln`],
      dir,
    );
    expect(run.exitCode).toBe(2);
    const lines = run.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('kiln:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
  });
});
