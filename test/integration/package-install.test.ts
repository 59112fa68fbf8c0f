import { execa, type Options } from 'execa';
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { FAST_BENCH, GENERATED, ROOT, workspace } from '../helpers/kiln-cli.js';

/**
 * What a user gets from `npm install kiln-ml`: the repository is packed the way `npm publish` packs
 * it (prepack build, `files`), the tarball is installed into an empty folder, and the installed bins
 * and public API are used from there. Packing happens in a copy so the shared build/ that the other
 * suites run is never rebuilt under them. Slow (a tsc build and an npm install), so one install
 * serves every assertion.
 */

// Outputs and folders that are not sources: the pack must rebuild build/ itself.
const NOT_COPIED = new Set([
  'node_modules',
  'build',
  'dist',
  'test',
  'examples',
  'coverage',
  'scratch',
  '.git',
  '.kiln',
]);

// The parent may be `npm test`: its npm_* variables (npm_config_*, npm_command…) would configure the
// child npm and the lifecycle scripts, so children start without them.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
const run = (file: string, args: string[], cwd: string, env: Record<string, string> = {}) =>
  execa(file, args, { cwd, env: { ...cleanEnv, ...env }, extendEnv: false, reject: false } satisfies Options);

let tmp: string;
let tarball: { path: string; bytes: number };
let app: string;
let installed: string[];
const version = (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const bin = (name: string) => path.join(app, 'node_modules', '.bin', name);

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-pack-'));
  const repo = path.join(tmp, 'repo');
  await cp(ROOT, repo, {
    recursive: true,
    filter: (source) => !NOT_COPIED.has(path.relative(ROOT, source).split(path.sep)[0]!),
  });
  await symlink(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'));

  const out = path.join(tmp, 'out');
  await mkdir(out);
  const pack = await run('npm', ['pack', '--pack-destination', out], repo);
  expect(pack.stderr).not.toMatch(/npm error/);
  expect(pack.exitCode).toBe(0);
  const [name] = (await readdir(out)).filter((f) => f.endsWith('.tgz'));
  tarball = { path: path.join(out, name!), bytes: (await stat(path.join(out, name!))).size };

  // An empty project installing the tarball; the registry (through the local cache) supplies the
  // dependencies. onnxruntime-node's postinstall would fetch CUDA libraries from NuGet: skipped, as
  // docs/install.md tells offline and CPU-only users, because the CPU runtime is in the npm package.
  app = path.join(tmp, 'app');
  await mkdir(app);
  await writeFile(
    path.join(app, 'package.json'),
    '{ "name": "pack-check", "private": true, "type": "module" }\n',
  );
  const install = await run(
    'npm',
    ['install', tarball.path, '--prefer-offline', '--no-audit', '--no-fund'],
    app,
    { ONNXRUNTIME_NODE_INSTALL: 'skip' },
  );
  expect(install.stderr).not.toMatch(/npm error/);
  expect(install.exitCode).toBe(0);
  installed = await listFiles(path.join(app, 'node_modules', 'kiln-ml'));
}, 900_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('the packed kiln-ml tarball, installed into an empty folder', () => {
  it('ships only what runs: compiled JS and types, the bins, README and the systemd unit', () => {
    console.log(`kiln-ml tarball: ${tarball.bytes} bytes, ${installed.length} files`);
    const shipped =
      /^(build\/(src|runner-agent\/src)\/.+\.(js|d\.ts)|bin\/kiln(-agent)?\.js|package\.json|README\.md|runner-agent\/kiln-agent\.service)$/;
    expect(installed.filter((f) => !shipped.test(f))).toEqual([]);
    expect(installed).toEqual(
      expect.arrayContaining([
        'build/src/index.js',
        'build/src/index.d.ts',
        'build/src/cli/main.js',
        'build/runner-agent/src/cli.js',
        // docs/agent.md copies it from "$(npm root -g)/kiln-ml/runner-agent/".
        'runner-agent/kiln-agent.service',
      ]),
    );
    // The GitHub Action runs from its committed bundle (dist/), never from the npm package.
    expect(installed.filter((f) => f.startsWith('build/src/action/'))).toEqual([]);
    // The old tarball carried the test suite and no build; models or fixtures would show up as MBs.
    expect(tarball.bytes).toBeLessThan(2_000_000);
  });

  it('`kiln --version` prints the package version and nothing else', async () => {
    const result = await run(bin('kiln'), ['--version'], app);
    expect(result).toMatchObject({ exitCode: 0, stdout: version, stderr: '' });
  });

  it('`kiln build` compiles, golden-checks and stores a model with the installed ONNX Runtime', async () => {
    const dir = await workspace(
      `version: 1
models:
  - name: two-head
    path: model.onnx
    profiles:
      - name: b2
        shapes: { x: [2, 8], ids: [2, 4] }
    golden: { samples: 2, seed: 3 }
${FAST_BENCH}`,
      { 'model.onnx': path.join(GENERATED, 'two-head.onnx') },
    );
    const result = await run(bin('kiln'), ['build', '--json', 'results.json'], dir);
    expect(result.stderr).toContain('two-head / b2 / fp32');
    expect(result.exitCode).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as BuildResults;
    expect(results.engines.map((e) => [e.model, e.profile, e.cache, e.golden.pass])).toEqual([
      ['two-head', 'b2', 'miss', true],
    ]);
    expect((await stat(results.engines[0]!.enginePath)).size).toBeGreaterThan(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('`kiln-agent probe --json` describes this host', async () => {
    const result = await run(bin('kiln-agent'), ['probe', '--json'], app);
    expect(result.exitCode).toBe(0);
    const probe = JSON.parse(result.stdout) as { cpu: { model: string; arch: string; isa: string[] } };
    expect(probe.cpu.arch).toBe(process.arch);
    // Node reads the same /proc/cpuinfo; some containers hide it from os.cpus(), which is then empty.
    const model = os.cpus()[0]?.model.trim();
    if (model) expect(probe.cpu.model).toBe(model);
    else expect(probe.cpu.model).toMatch(/\S/);
  });

  it('`kiln-agent doctor` passes on ONNX Runtime CPU and gives the GPU fix as a command for this install', async () => {
    const result = await run(bin('kiln-agent'), ['doctor'], app);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^ok\s+onnxruntime-cpu/m);
    // The CUDA download was skipped above, so the GPU providers are missing on any host.
    const script = path.join(await realpath(app), 'node_modules', 'onnxruntime-node', 'script', 'install.js');
    expect(result.stdout).toContain(`ONNXRUNTIME_NODE_INSTALL=cuda12 node "${script}"`);
  });

  it('a plain ESM script imports the public API, and only the public API', async () => {
    await writeFile(
      path.join(app, 'route.mjs'),
      `import { routeShape, suggestProfiles, InputError } from 'kiln-ml';
import { createRequire } from 'node:module';
const pkg = createRequire(import.meta.url)('kiln-ml/package.json');
const profiles = [{ name: 'b1', shapes: { x: [1, 3, 64] } }, { name: 'b8', shapes: { x: [8, 3, 64] } }];
const route = routeShape(profiles, { x: [5, 3, 64] });
let error;
try { routeShape(profiles, { x: [9, 3, 64] }); } catch (e) { error = e instanceof InputError ? e.message : String(e); }
const suggestion = suggestProfiles([{ shape: [1, 3, 64], count: 9 }, { shape: [8, 3, 64], count: 1 }], 2);
let deep;
try { await import('kiln-ml/build/src/core/hashing.js'); } catch (e) { deep = e.code; }
console.log(JSON.stringify({ route, error, buckets: suggestion.buckets.map((b) => b.name), deep, version: pkg.version }));
`,
    );
    const result = await run('node', ['route.mjs'], app);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      route: { profile: 'b8', padding: { x: [3, 0, 0] }, paddedElements: 3 * 3 * 64, wasteRatio: 3 / 8 },
      error: expect.stringMatching(/^[^\n]*x=9x3x64[^\n]*$/),
      buckets: ['s1', 's8'],
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      version,
    });
  });

  it('TypeScript resolves the types through `exports`', async () => {
    await writeFile(
      path.join(app, 'check.ts'),
      `import { routeShape, type Route } from 'kiln-ml';
const route: Route = routeShape([{ name: 'b1', shapes: { x: [1, 4] } }], { x: [1, 4] });
// @ts-expect-error the profile name is a string, not a number
const wrong: number = route.profile;
export { wrong };
`,
    );
    await writeFile(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', types: [] },
        files: ['check.ts'],
      }),
    );
    const result = await run(
      'node',
      [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'],
      app,
    );
    expect(result.stdout).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('npm in the repository', () => {
  it('prints no config warning on every command (no unknown keys in the project .npmrc)', async () => {
    const result = await run('npm', ['pkg', 'get', 'name'], ROOT);
    expect(result.stdout.trim()).toBe('"kiln-ml"');
    expect(result.stderr).not.toMatch(/Unknown project config/);
  });
});
