/**
 * The Action's commands (plan, build, report) through `run()` with its side effects replaced: a fake
 * kiln that writes the JSON files the real CLI writes, a fake engine cache, a results transfer over a
 * temp folder, a recording io, and, for `report`, the real loopback GitHub server that validates every
 * request against GitHub's OpenAPI description. Inputs come from `INPUT_*` variables as on a runner;
 * `core.setFailed` is observed as the `::error::` line @actions/core prints.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { actionsEngineCache, engineCacheKey } from '../../src/action/engine-cache.js';
import { createGitHubApi } from '../../src/action/github-api.js';
import { readInputs } from '../../src/action/inputs.js';
import { run } from '../../src/action/main.js';
import type { ActionOverrides } from '../../src/action/main.js';
import { SELF_HOSTED_SECURITY_DOCS } from '../../src/action/run-context.js';
import { DEFAULT_MARKER, hasMarker } from '../../src/action/sticky-comment.js';
import { InputError } from '../../src/core/errors.js';
import {
  BASE_SHA,
  abResults,
  buildResults,
  fakeCache,
  fakeKiln,
  flagsOf,
  folderTransfer,
  placeResults,
  planMatrix,
  prContext,
  recordingIO,
} from '../helpers/action-fakes.js';
import type { EventLog, RecordingIO } from '../helpers/action-fakes.js';
import { gitRepo, twoModelConfig, type CommitFiles } from '../helpers/git-repo.js';
import { BOT_LOGIN, DEFAULT_TOKEN, startGitHubServer, validateRequest } from '../helpers/github-server.js';
import type { GitHubTestServer } from '../helpers/github-server.js';

let tmp: string;
let stdout: string[];
let io: RecordingIO;
let server: GitHubTestServer;
let savedEnv: NodeJS.ProcessEnv;

/** Lines @actions/core printed (workflow commands), e.g. `::error::…`. */
const coreLines = () => stdout.join('').split(/\r?\n/).filter(Boolean);
const errors = () => coreLines().filter((l) => l.startsWith('::error::'));
const warnings = () => coreLines().filter((l) => l.startsWith('::warning::'));

function setInputs(inputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
}

async function runAction(inputs: Record<string, string>, overrides: ActionOverrides): Promise<string[]> {
  setInputs(inputs);
  await run({ io, ...overrides });
  return errors();
}

beforeAll(() => {
  validateRequest('GET', '/', new URLSearchParams(), undefined); // load the OpenAPI description once
});

beforeEach(async () => {
  savedEnv = { ...process.env };
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('INPUT_') || name.startsWith('ACTIONS_') || name.startsWith('GITHUB_'))
      delete process.env[name];
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-action-'));
  process.env.RUNNER_TEMP = path.join(tmp, 'runner-temp');
  await mkdir(process.env.RUNNER_TEMP, { recursive: true });
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  io = recordingIO();
  server = await startGitHubServer();
});

afterEach(async () => {
  vi.restoreAllMocks();
  // setFailed sets the exit code of this (test) process; the failure was asserted already.
  process.exitCode = undefined;
  process.env = savedEnv;
  expect(server.violations).toEqual([]);
  // The token never shows up in anything the Action recorded or printed, bar the mask command itself.
  const recorded = [
    ...coreLines().filter((l) => !l.startsWith('::add-mask::')),
    ...Object.values(io.outputs),
    ...io.infos,
    ...io.warnings,
    ...io.summaries,
    ...server.comments.map((c) => c.body),
    ...server.checkRuns.map((c) => JSON.stringify(c.body)),
  ].join('\n');
  expect(recorded).not.toContain(DEFAULT_TOKEN);
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------

describe('inputs', () => {
  const base = { command: 'plan', cache: 'true', 'timeout-minutes': '60' };
  const read = (map: Record<string, string>) => () => readInputs((name) => map[name] ?? '');

  it('names the input and the value it found, in one line', () => {
    expect(read({ ...base, command: 'deploy' })).toThrow(
      new InputError("input 'command': found 'deploy', expected one of plan, build, report, publish"),
    );
    expect(read({ ...base, cache: 'yes' })).toThrow("input 'cache': found 'yes', expected true or false");
    expect(read({ ...base, 'timeout-minutes': 'soon' })).toThrow(
      "input 'timeout-minutes': found 'soon', expected minutes between 1 and 1440",
    );
    expect(read({ ...base, 'timeout-minutes': '0' })).toThrow("input 'timeout-minutes': found '0'");
    expect(read({ ...base, command: 'build' })).toThrow("input 'target': found ''");
    expect(read({ ...base, command: 'report' })).toThrow("input 'github-token': found ''");
    expect(read({ ...base, plan: '{"matrix": []}' })).toThrow(
      `input 'plan': found '{"matrix": []}', expected the plan job's matrix output`,
    );
  });

  it('reads defaults and splits the kiln command line', () => {
    const inputs = readInputs(
      (name) => ({ command: ' build ', target: 'cpu', kiln: 'npx --no-install kiln' })[name] ?? '',
    );
    expect(inputs).toMatchObject({
      command: 'build',
      target: 'cpu',
      config: 'kiln.yaml',
      kiln: ['npx', '--no-install', 'kiln'],
      cache: true,
      timeoutMinutes: 60,
      resultsDir: 'kiln-results',
    });
  });

  const badInputs: Array<{ inputs: Record<string, string>; line: string }> = [
    {
      inputs: { command: 'deploy' },
      line: "::error::input 'command': found 'deploy', expected one of plan, build, report, publish",
    },
    {
      inputs: { command: 'build', target: 'cpu', cache: 'maybe' },
      line: "::error::input 'cache': found 'maybe', expected true or false",
    },
    {
      inputs: { command: 'plan', 'timeout-minutes': '-5' },
      line: "::error::input 'timeout-minutes': found '-5', expected minutes between 1 and 1440",
    },
    {
      inputs: { command: 'build' },
      line: "::error::input 'target': found '', expected the matrix target (with: target: ${{ matrix.target }})",
    },
    {
      inputs: { command: 'report' },
      line: "::error::input 'github-token': found '', expected a token with pull-requests: write and checks: write",
    },
    {
      inputs: { command: 'report', 'github-token': DEFAULT_TOKEN, plan: '{include: oops' },
      line: `::error::input 'plan': found '{include: oops', expected the plan job's matrix output (JSON {"include": [...]})`,
    },
  ];

  // Titled by the expected line, never by the inputs (one holds the token).
  it.each(badInputs)('run() fails with $line', async ({ inputs, line }) => {
    const kiln = fakeKiln({});
    expect(await runAction(inputs, { kiln, context: prContext() })).toEqual([line]);
    expect(process.exitCode).toBe(1);
    expect(kiln.calls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('plan, in-process (no kiln CLI)', () => {
  const cpuOnly = (model: string) => ({
    target: 'cpu',
    'runs-on': ['self-hosted', 'cpu'],
    model,
    backend: 'onnxruntime-cpu',
  });
  async function repoWith(change: CommitFiles): Promise<{ repo: string; base: string; head: string }> {
    const repo = path.join(tmp, 'repo');
    const files = { 'kiln.yaml': twoModelConfig(), 'models/det.onnx': 'det', 'models/rec.onnx': 'rec' };
    const [base, head] = await gitRepo(repo, [files, change]);
    return { repo, base: base!, head: head! };
  }
  const transfer = () => folderTransfer(path.join(tmp, 'artifacts'));

  it('sets the matrix of the changed model, diffing against the pull request base, and uploads the plan', async () => {
    const { repo, base, head } = await repoWith({ 'models/rec.onnx': 'a new rec' });
    const t = transfer();
    const context = prContext({}, { baseSha: base, headSha: head });
    expect(
      await runAction({ command: 'plan', config: path.join(repo, 'kiln.yaml') }, { context, transfer: t }),
    ).toEqual([]);
    expect(process.exitCode).toBeUndefined();
    expect(JSON.parse(io.outputs.matrix!)).toEqual({ include: [cpuOnly('rec')] });
    expect(io.infos.at(-1)).toBe('kiln plan: 1 build job(s): rec@cpu');
    expect(io.infos[0]).toContain('rec: model file models/rec.onnx changed');
    expect(t.uploads.map((u) => [u.name, u.files.map((f) => path.basename(f))])).toEqual([
      ['kiln-plan', ['matrix.json', 'pull-request.json']],
    ]);
    const planned = JSON.parse(
      await readFile(path.join(tmp, 'artifacts', 'kiln-plan', 'pull-request.json'), 'utf8'),
    );
    expect(planned).toEqual({ number: 42, headSha: head });
  });

  it('plans every model outside a pull request; an empty plan is news, not a failure', async () => {
    const { repo, base } = await repoWith({ 'README.md': 'docs only' });
    const config = path.join(repo, 'kiln.yaml');
    await runAction(
      { command: 'plan', config },
      { context: prContext({ pullRequest: undefined }), transfer: transfer() },
    );
    expect(JSON.parse(io.outputs.matrix!)).toEqual({ include: [cpuOnly('det'), cpuOnly('rec')] });
    io = recordingIO();
    await runAction({ command: 'plan', config, base }, { context: prContext(), transfer: transfer() });
    expect(io.outputs.matrix).toBe('{"include":[]}');
    expect(io.infos.at(-1)).toBe('kiln plan: no model or kiln.yaml change needs engines');
    expect(errors()).toEqual([]);
  });

  it('a kiln.yaml syntax error fails the plan in one line naming the file; no matrix is set', async () => {
    const { repo, base, head } = await repoWith({ 'kiln.yaml': 'version: 1\nmodels: [\n' });
    const context = prContext({}, { baseSha: base, headSha: head });
    const failed = await runAction(
      { command: 'plan', config: path.join(repo, 'kiln.yaml') },
      { context, transfer: transfer() },
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^::error::.*kiln\.yaml:\d+: invalid YAML/);
    expect(process.exitCode).toBe(1);
    expect(io.outputs).toEqual({});
  });
});

// ---------------------------------------------------------------------------------------------------

describe('build', () => {
  const keys = [
    { target: 'cpu', model: 'det', profile: 's384', precision: 'fp32', key: 'k-det', path: 'det/k-det' },
    { target: 'cpu', model: 'rec', profile: 'w320', precision: 'fp32', key: 'k-rec', path: 'rec/k-rec' },
    // Two profiles that compile to one engine share a key: restored and saved once.
    { target: 'cpu', model: 'rec', profile: 'w320b', precision: 'fp32', key: 'k-rec', path: 'rec/k-rec' },
    // An engine whose compile failed leaves no artifact.json: nothing to save.
    { target: 'cpu', model: 'cls', profile: 'b1', precision: 'fp32', key: 'k-cls', path: 'cls/k-cls' },
  ];
  // The merge base shares k-det with head; k-det-base is the base's own det engine.
  const baseKeys = [
    { target: 'cpu', model: 'det', profile: 's384', precision: 'fp32', key: 'k-det', path: 'det/k-det' },
    {
      target: 'cpu',
      model: 'det',
      profile: 's384',
      precision: 'fp32',
      key: 'k-det-base',
      path: 'det/k-det-base',
    },
  ];
  const built = buildResults('cpu', [{ model: 'det' }, { model: 'rec' }]);
  const compared = abResults('cpu', [{ model: 'det' }, { model: 'rec' }]);

  /** kiln build: writes engines for det and rec into the store, and build.json. */
  function buildStep(exitCode = 0, reason?: string) {
    return {
      exitCode,
      ...(reason !== undefined ? { reason } : {}),
      json: built,
      effect: async (flags: Record<string, string>) => {
        for (const p of ['det/k-det', 'rec/k-rec']) {
          await mkdir(path.join(flags.store!, p), { recursive: true });
          await writeFile(path.join(flags.store!, p, 'artifact.json'), '{}');
        }
      },
    };
  }

  it('refuses a fork pull request on a self-hosted runner without running kiln', async () => {
    const log: EventLog = [];
    const kiln = fakeKiln({ keys: { json: keys } }, log);
    const cache = fakeCache([], log);
    const transfer = folderTransfer(path.join(tmp, 'artifacts'), log);
    const context = prContext({ runnerEnvironment: 'self-hosted' }, { headRepo: 'mallory/models' });
    const failed = await runAction({ command: 'build', target: 'cpu' }, { kiln, cache, transfer, context });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^::error::refusing to build pull request #42 from fork mallory\/models/);
    expect(failed[0]).toContain(SELF_HOSTED_SECURITY_DOCS);
    expect(process.exitCode).toBe(1);
    expect(log).toEqual([]);
    expect(kiln.calls).toEqual([]);
  });

  it('a deleted fork (no head repository) is refused too; a github-hosted runner may build a fork', async () => {
    const deleted = prContext({ runnerEnvironment: 'unknown' }, { headRepo: '(deleted fork)' });
    const kiln = fakeKiln({ keys: { json: [] }, build: {}, bench: {} });
    const transfer = folderTransfer(path.join(tmp, 'artifacts'));
    const deps = { kiln, cache: fakeCache([]), transfer };
    expect(await runAction({ command: 'build', target: 'cpu' }, { ...deps, context: deleted })).toHaveLength(
      1,
    );
    expect(kiln.calls).toEqual([]);
    stdout.length = 0;
    const hosted = prContext({ runnerEnvironment: 'github-hosted' }, { headRepo: 'mallory/models' });
    expect(await runAction({ command: 'build', target: 'cpu' }, { ...deps, context: hosted })).toEqual([]);
    expect(kiln.calls.map((c) => c.slice(0, 2).join(' '))).toEqual([
      'keys --config',
      'keys --base',
      'build --config',
      'bench --base',
    ]);
  });

  it('remote-store passes --remote-store (and --plain-http) to kiln build only', async () => {
    const kiln = fakeKiln({ keys: { json: keys }, build: buildStep(), bench: { json: compared } }, []);
    const failed = await runAction(
      {
        command: 'build',
        target: 'cpu',
        cache: 'false',
        'remote-store': 'oci://127.0.0.1:5000/kiln',
        'plain-http': 'true',
        'results-dir': path.join(tmp, 'results'),
      },
      {
        kiln,
        cache: fakeCache([], []),
        transfer: folderTransfer(path.join(tmp, 'artifacts')),
        context: prContext(),
      },
    );
    expect(failed).toEqual([]);
    const build = kiln.calls.find((c) => c[0] === 'build')!;
    expect(build.slice(build.indexOf('--remote-store'), build.indexOf('--remote-store') + 3)).toEqual([
      '--remote-store',
      'oci://127.0.0.1:5000/kiln',
      '--plain-http',
    ]);
    expect(kiln.calls.filter((c) => c.includes('--remote-store')).map((c) => c[0])).toEqual(['build']);
  });

  it('keys → restore → build → bench → save only new engines → upload build.json and ab.json', async () => {
    const log: EventLog = [];
    const bench = {
      json: compared,
      // kiln bench builds the merge base's engines into the same store.
      effect: async (flags: Record<string, string>) => {
        await mkdir(path.join(flags.store!, 'det/k-det-base'), { recursive: true });
        await writeFile(path.join(flags.store!, 'det/k-det-base', 'artifact.json'), '{}');
      },
    };
    const kiln = fakeKiln(
      { keys: { json: keys }, 'keys --base': { json: baseKeys }, build: buildStep(), bench },
      log,
    );
    const cache = fakeCache(['k-det'], log);
    const artifacts = path.join(tmp, 'artifacts');
    const transfer = folderTransfer(artifacts, log);
    const resultsDir = path.join(tmp, 'results');
    const failed = await runAction(
      { command: 'build', target: 'cpu', 'results-dir': resultsDir },
      { kiln, cache, transfer, context: prContext() },
    );
    expect(failed).toEqual([]);
    expect(process.exitCode).toBeUndefined();
    expect(log).toEqual([
      'kiln keys',
      'kiln keys --base',
      'restore k-det hit',
      'restore k-rec miss',
      'restore k-cls miss',
      'restore k-det-base miss',
      'kiln build',
      'kiln bench',
      'save k-rec',
      'save k-det-base',
      'upload kiln-results-cpu-all',
    ]);

    const store = path.join(process.env.RUNNER_TEMP!, 'kiln-store');
    const scope = ['--config', 'kiln.yaml', '--target', 'cpu'];
    expect(kiln.calls).toEqual([
      ['keys', ...scope, '--json', path.join(process.env.RUNNER_TEMP!, 'kiln-keys.json')],
      [
        'keys',
        '--base',
        BASE_SHA,
        ...scope,
        '--json',
        path.join(process.env.RUNNER_TEMP!, 'kiln-base-keys.json'),
      ],
      ['build', ...scope, '--store', store, '--json', path.join(resultsDir, 'build.json')],
      ['bench', '--base', BASE_SHA, ...scope, '--store', store, '--json', path.join(resultsDir, 'ab.json')],
    ]);
    expect(cache.restores.map((r) => r.dir)).toEqual(
      ['det/k-det', 'rec/k-rec', 'cls/k-cls', 'det/k-det-base'].map((p) => path.join(store, p)),
    );
    expect(cache.saves).toEqual([
      { dir: path.join(store, 'rec/k-rec'), key: 'k-rec' },
      { dir: path.join(store, 'det/k-det-base'), key: 'k-det-base' },
    ]);
    expect(io.infos).toContain("engine cache: 1 of 4 engines restored (1 of them the merge base's)");

    expect(transfer.uploads).toEqual([
      {
        name: 'kiln-results-cpu-all',
        files: [path.join(resultsDir, 'build.json'), path.join(resultsDir, 'ab.json')],
        rootDir: resultsDir,
      },
    ]);
    const uploaded = path.join(artifacts, 'kiln-results-cpu-all');
    expect(JSON.parse(await readFile(path.join(uploaded, 'build.json'), 'utf8'))).toEqual(built);
    expect(JSON.parse(await readFile(path.join(uploaded, 'ab.json'), 'utf8'))).toEqual(compared);
    expect(io.outputs).toEqual({ 'results-path': resultsDir });
  });

  it('one model, cache off: no restore or save, the artifact is named for the model', async () => {
    const kiln = fakeKiln({
      keys: { json: keys.slice(0, 1) },
      build: buildStep(),
      bench: { json: compared },
    });
    const cache = fakeCache(['k-det']);
    const transfer = folderTransfer(path.join(tmp, 'artifacts'));
    const resultsDir = path.join(tmp, 'results');
    const inputs = {
      command: 'build',
      target: 'cpu',
      model: 'det',
      cache: 'false',
      'results-dir': resultsDir,
    };
    expect(await runAction(inputs, { kiln, cache, transfer, context: prContext() })).toEqual([]);
    expect(cache.restores).toEqual([]);
    expect(cache.saves).toEqual([]);
    expect(flagsOf(kiln.calls[1]!)).toMatchObject({ target: 'cpu', model: 'det' });
    expect(transfer.uploads.map((u) => u.name)).toEqual(['kiln-results-cpu-det']);
  });

  it("a failed gate still uploads the results, then fails the job with kiln's reason", async () => {
    const reason = 'golden check failed on cpu: det/s384 output y: 7 of 10 elements differ';
    const log: EventLog = [];
    const kiln = fakeKiln(
      { keys: { json: keys }, build: buildStep(1, reason), bench: { json: compared } },
      log,
    );
    const transfer = folderTransfer(path.join(tmp, 'artifacts'), log);
    const resultsDir = path.join(tmp, 'results');
    const failed = await runAction(
      { command: 'build', target: 'cpu', 'results-dir': resultsDir },
      { kiln, cache: fakeCache([], log), transfer, context: prContext() },
    );
    expect(failed).toEqual([`::error::kiln build on cpu: ${reason}`]);
    expect(process.exitCode).toBe(1);
    expect(log.slice(-2)).toEqual(['save k-rec', 'upload kiln-results-cpu-all']);
    expect(transfer.uploads[0]!.files.map((f) => path.basename(f))).toEqual([
      'build.json',
      'ab.json',
      'failure.json',
    ]);
    expect(JSON.parse(await readFile(path.join(resultsDir, 'failure.json'), 'utf8'))).toEqual({
      schema: 'kiln.build-failure/v1',
      target: 'cpu',
      model: '',
      exitCode: 1,
      reason: `kiln build on cpu: ${reason}`,
    });
    expect(io.outputs['results-path']).toBe(resultsDir);
  });

  it("a failed upload never hides kiln's verdict; after a passing build it fails the job itself", async () => {
    const reason = 'golden check failed on cpu: det/s384 output y: 7 of 10 elements differ';
    const broken = {
      upload: async () => {
        throw new Error('artifact service unavailable');
      },
      downloadAll: async () => [],
    };
    const inputs = { command: 'build', target: 'cpu', 'results-dir': path.join(tmp, 'results') };
    const gateFailed = fakeKiln({
      keys: { json: keys },
      build: buildStep(1, reason),
      bench: { json: compared },
    });
    expect(
      await runAction(inputs, {
        kiln: gateFailed,
        cache: fakeCache([]),
        transfer: broken,
        context: prContext(),
      }),
    ).toEqual([`::error::kiln build on cpu: ${reason}`]);
    expect(io.warnings).toEqual(['uploading the results of cpu failed: artifact service unavailable']);

    stdout.length = 0;
    const passed = fakeKiln({ keys: { json: keys }, build: buildStep(0), bench: { json: compared } });
    expect(
      await runAction(inputs, { kiln: passed, cache: fakeCache([]), transfer: broken, context: prContext() }),
    ).toEqual(['::error::uploading the results of cpu failed: artifact service unavailable']);
  });

  it('kiln build exit 2 skips the bench and fails with the reason; exit 2 from kiln keys stops early', async () => {
    const transfer = folderTransfer(path.join(tmp, 'artifacts'));
    const resultsDir = path.join(tmp, 'results');
    const inputs = { command: 'build', target: 'cpu', 'results-dir': resultsDir };
    const broken = fakeKiln({
      keys: { json: keys },
      build: { exitCode: 2, reason: 'kiln.yaml: no target cpu' },
    });
    expect(
      await runAction(inputs, { kiln: broken, cache: fakeCache([]), transfer, context: prContext() }),
    ).toEqual(['::error::kiln build on cpu: kiln.yaml: no target cpu']);
    // keys (head), keys --base (the merge base's), build; no bench after an exit 2.
    expect(broken.calls.map((c) => c[0])).toEqual(['keys', 'keys', 'build']);
    // Only the failure record goes up, so the report's line for cpu carries kiln's reason.
    expect(transfer.uploads.map((u) => u.files.map((f) => path.basename(f)))).toEqual([['failure.json']]);
    expect(JSON.parse(await readFile(path.join(resultsDir, 'failure.json'), 'utf8'))).toMatchObject({
      exitCode: 2,
      reason: 'kiln build on cpu: kiln.yaml: no target cpu',
    });

    stdout.length = 0;
    const noKeys = fakeKiln({ keys: { exitCode: 2, reason: 'kiln.yaml: not found' } });
    expect(
      await runAction(inputs, { kiln: noKeys, cache: fakeCache([]), transfer, context: prContext() }),
    ).toEqual(['::error::kiln keys failed: kiln.yaml: not found']);
    expect(noKeys.calls.map((c) => c[0])).toEqual(['keys']);
  });
});

describe('actionsEngineCache without the cache service', () => {
  it('restore misses and save does nothing: one warning, no error, the job does not fail', async () => {
    delete process.env.ACTIONS_CACHE_URL;
    delete process.env.ACTIONS_RESULTS_URL;
    const dir = path.join(tmp, 'engine');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'artifact.json'), '{}');
    const cache = actionsEngineCache();
    const key = 'a'.repeat(64);
    await expect(cache.restore(dir, key)).resolves.toBe(false);
    await expect(cache.save(dir, key)).resolves.toBeUndefined();
    expect(errors()).toEqual([]);
    expect(process.exitCode).toBeUndefined();
    expect(warnings()).toEqual([
      '::warning::engine cache: no GitHub cache service on this runner (ACTIONS_CACHE_URL/ACTIONS_RESULTS_URL unset); engines are neither restored nor saved',
    ]);
    expect(engineCacheKey(key)).toBe(`kiln-engine-v1-${key}`);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('report', () => {
  const artifacts = () => path.join(tmp, 'artifacts');
  const both: Array<[string, string]> = [
    ['det', 'cpu'],
    ['det', 'a10g'],
  ];
  const inputs = (plan: string) => ({ command: 'report', 'github-token': DEFAULT_TOKEN, plan });
  const github = () => createGitHubApi(DEFAULT_TOKEN, { baseUrl: server.url, sleep: async () => {} });
  let shas: { base: string; head: string };
  const deps = () => ({
    context: prContext({}, { baseSha: shas.base, headSha: shas.head }),
    transfer: folderTransfer(artifacts()),
    github: github(),
  });
  // Gates are read from the base commit's kiln.yaml with git, in the workspace.
  beforeEach(async () => {
    const repo = path.join(tmp, 'repo');
    const files = { 'kiln.yaml': twoModelConfig(), 'models/det.onnx': 'det', 'models/rec.onnx': 'rec' };
    const [base, head] = await gitRepo(repo, [files, { 'models/det.onnx': 'new det' }]);
    shas = { base: base!, head: head! };
    process.env.GITHUB_WORKSPACE = repo;
  });
  const reports = () => server.comments.filter((c) => hasMarker(c.body, DEFAULT_MARKER));
  const commentPosts = () =>
    server.requests.filter((r) => r.method === 'POST' && r.operationId === 'issues/create-comment');

  async function placePassing(targets: string[]): Promise<void> {
    for (const target of targets) {
      await placeResults(artifacts(), `kiln-results-${target}-det`, {
        build: buildResults(target, [{ model: 'det' }]),
        ab: abResults(target, [{ model: 'det' }]),
      });
    }
  }

  it('all pass: one comment, a success check run on the head sha, the job summary, comment-url', async () => {
    await placePassing(['cpu', 'a10g']);
    expect(await runAction(inputs(planMatrix(both)), deps())).toEqual([]);
    expect(process.exitCode).toBeUndefined();

    expect(reports()).toHaveLength(1);
    const [comment] = reports();
    expect(comment!.user.login).toBe(BOT_LOGIN);
    expect(comment!.body.split('\n')[0]).toBe(DEFAULT_MARKER);
    expect(comment!.body).toContain('det');
    expect(io.outputs['comment-url']).toBe(
      `https://github.com/acme/models/pull/42#issuecomment-${comment!.id}`,
    );
    expect(server.checkRuns).toHaveLength(1);
    expect(server.checkRuns[0]!.body).toMatchObject({
      name: 'kiln',
      head_sha: shas.head,
      status: 'completed',
      conclusion: 'success',
    });
    expect(io.summaries).toHaveLength(1);
    expect(io.summaries[0]).toContain('kiln');
    expect(io.summaries[0]).not.toContain(DEFAULT_MARKER);
    expect(io.infos).toContain(`kiln report: created ${io.outputs['comment-url']}`);
  });

  it('a results file whose engine is {} fails the job in one line naming the file and key, and the check with it', async () => {
    await placePassing(['cpu']);
    const build = buildResults('a10g', [{ model: 'det' }]);
    await placeResults(artifacts(), 'kiln-results-a10g-det', {
      build: { ...build, engines: [{} as (typeof build.engines)[number]] },
    });
    const failures = await runAction(inputs(planMatrix(both)), deps());
    expect(failures).toEqual([
      `::error::${path.join(tmp, 'runner-temp', 'kiln-report', 'kiln-results-a10g-det', 'build.json')}: engines[0].model: found nothing (key missing), expected string (+10 more)`,
    ]);
    // Fail closed: no half report, but a failed check (a required check is never left pending).
    expect(server.checkRuns.map((c) => c.body)).toMatchObject([{ conclusion: 'failure' }]);
    expect(reports()).toHaveLength(1);
    expect(reports()[0]!.body).toContain('the gate could not decide');
    expect(reports()[0]!.body).toContain('engines\\[0\\].model');
  });

  it('a second report updates the same comment (no duplicate)', async () => {
    await placePassing(['cpu', 'a10g']);
    await runAction(inputs(planMatrix(both)), deps());
    const first = reports()[0]!;
    io = recordingIO();
    expect(await runAction(inputs(planMatrix(both)), deps())).toEqual([]);
    expect(reports()).toHaveLength(1);
    expect(reports()[0]!.id).toBe(first.id);
    expect(commentPosts()).toHaveLength(1);
    expect(server.requests.filter((r) => r.operationId === 'issues/update-comment')).toHaveLength(1);
    expect(io.infos).toContain(`kiln report: updated ${io.outputs['comment-url']}`);
    expect(server.checkRuns).toHaveLength(2);
  });

  it('a golden failure fails the check run and the job', async () => {
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: buildResults('cpu', [{ model: 'det', pass: false }]),
      ab: abResults('cpu', [{ model: 'det' }]),
    });
    await placePassing(['a10g']);
    const failed = await runAction(inputs(planMatrix(both)), deps());
    const check = server.checkRuns[0]!.body as { conclusion: string; output: { title: string } };
    expect(check.conclusion).toBe('failure');
    expect(failed).toEqual([`::error::${check.output.title}`]);
    expect(process.exitCode).toBe(1);
    expect(reports()).toHaveLength(1);
    expect(reports()[0]!.body).toMatch(/golden/i);
  });

  it('a planned target with no results is named in the comment and fails the check', async () => {
    await placePassing(['cpu', 'a10g']);
    const planned = planMatrix([...both, ['det', 'l4-gpu']]);
    const failed = await runAction(inputs(planned), deps());
    expect(failed).toHaveLength(1);
    expect(server.checkRuns[0]!.body).toMatchObject({ conclusion: 'failure' });
    expect(reports()[0]!.body).toContain('target l4-gpu produced no results');
  });

  it('hostile model names cannot inject HTML or mention anyone', async () => {
    const hostile = [
      { model: '<img src=x onerror=alert(document.cookie)>' },
      { model: '@octocat look here' },
    ];
    await placeResults(artifacts(), 'kiln-results-cpu-all', {
      build: buildResults('cpu', hostile),
      ab: abResults('cpu', hostile),
    });
    expect(await runAction(inputs(planMatrix([['x', 'cpu']])), deps())).toEqual([]);
    const body = reports()[0]!.body;
    const summary = JSON.stringify(server.checkRuns[0]!.body);
    for (const text of [body, summary, io.summaries[0]!]) {
      expect(text).not.toMatch(/<img/i);
      expect(text).not.toContain('@octocat');
    }
    expect(body).toContain('octocat'); // still shown, just defused
  });

  it('retries a 503 on listing the comments', async () => {
    await placePassing(['cpu', 'a10g']);
    server.failNext(1, 503, {}, { method: 'GET' });
    expect(await runAction(inputs(planMatrix(both)), deps())).toEqual([]);
    const lists = server.requests.filter((r) => r.operationId === 'issues/list-comments');
    expect(lists.map((r) => r.status)).toEqual([503, 200]);
    expect(reports()).toHaveLength(1);
    expect(server.checkRuns).toHaveLength(1);
  });

  it('a failing API call fails the job in one line that never shows the token', async () => {
    await placePassing(['cpu', 'a10g']);
    server.seedComment('acme', 'models', 42, `${DEFAULT_MARKER}\nold report`, BOT_LOGIN);
    // The check-run POST is answered with an error that echoes the token back.
    server.failNext(
      1,
      422,
      {},
      { method: 'POST', body: { message: `token ${DEFAULT_TOKEN} is not allowed` } },
    );
    const failed = await runAction(inputs(planMatrix(both)), deps());
    expect(failed).toEqual([
      '::error::GitHub API: POST /repos/acme/models/check-runs failed: 422 Unprocessable Entity (token [REDACTED] is not allowed) after 1 attempt',
    ]);
    expect(process.exitCode).toBe(1);
    expect(stdout.join('')).not.toContain(`token ${DEFAULT_TOKEN}`);
    // The comment was updated before the check run failed.
    expect(reports()).toHaveLength(1);
    expect(reports()[0]!.body).not.toContain('old report');
  });

  it('every request carried the token only in its Authorization header', async () => {
    await placePassing(['cpu']);
    await runAction(inputs(planMatrix([['det', 'cpu']])), deps());
    expect(server.requests.length).toBeGreaterThan(0);
    for (const r of server.requests) {
      expect(r.authorization).toBe(`token ${DEFAULT_TOKEN}`);
      expect(JSON.stringify([r.path, r.query, r.body])).not.toContain(DEFAULT_TOKEN);
    }
  });
});

describe('build, merge-base keys', () => {
  it('a failing kiln keys --base is a warning: the bench rebuilds the base engines', async () => {
    const kiln = fakeKiln({
      keys: { json: [] },
      'keys --base': { exitCode: 2, reason: '--base abc: no merge base' },
      build: {},
      bench: {},
    });
    const transfer = folderTransfer(path.join(tmp, 'artifacts'));
    const failed = await runAction(
      { command: 'build', target: 'cpu', 'results-dir': path.join(tmp, 'results') },
      { kiln, cache: fakeCache([]), transfer, context: prContext() },
    );
    expect(failed).toEqual([]);
    expect(io.warnings).toContain(
      'merge-base engine keys unavailable (--base abc: no merge base); kiln bench rebuilds them',
    );
    expect(kiln.calls.map((c) => c[0])).toEqual(['keys', 'keys', 'build', 'bench']);
  });
});
