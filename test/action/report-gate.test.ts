/**
 * The report as a merge gate that cannot be fooled (issue 12): run() with the real loopback GitHub
 * server (every request validated against GitHub's OpenAPI description), results in a temp folder as
 * the artifact service would hand them over, and a real git repository whose base commit holds the
 * trusted kiln.yaml. Every way to fail ends in a `failure` check run that says why; only "nothing
 * changed" passes without results; a pull request's own gates never judge it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { createGitHubApi } from '../../src/action/github-api.js';
import { run } from '../../src/action/main.js';
import type { ActionOverrides } from '../../src/action/main.js';
import type { ArtifactSource } from '../../src/action/results-transfer.js';
import type { RunContext } from '../../src/action/run-context.js';
import { DEFAULT_MARKER, hasMarker } from '../../src/action/sticky-comment.js';
import type { BuildResults } from '../../src/core/results.js';
import {
  abResults,
  buildResults,
  folderTransfer,
  placeResults,
  planMatrix,
  prContext,
  recordingIO,
} from '../helpers/action-fakes.js';
import { gitRepo, twoModelConfig } from '../helpers/git-repo.js';
import { DEFAULT_TOKEN, startGitHubServer, validateRequest } from '../helpers/github-server.js';
import type { GitHubTestServer } from '../helpers/github-server.js';

let tmp: string;
let stdout: string[];
let server: GitHubTestServer;
let savedEnv: NodeJS.ProcessEnv;
let repo: string;

const errors = () =>
  stdout
    .join('')
    .split(/\r?\n/)
    .filter((l) => l.startsWith('::error::'));
const artifacts = () => path.join(tmp, 'artifacts');
const github = () => createGitHubApi(DEFAULT_TOKEN, { baseUrl: server.url, sleep: async () => {} });
const reports = () => server.comments.filter((c) => hasMarker(c.body, DEFAULT_MARKER));
const check = () =>
  server.checkRuns.map((c) => c.body as { conclusion: string; head_sha: string; output: { title: string } });

async function report(inputs: Record<string, string>, overrides: ActionOverrides): Promise<string[]> {
  const all = { command: 'report', 'github-token': DEFAULT_TOKEN, ...inputs };
  for (const [name, value] of Object.entries(all)) process.env[`INPUT_${name.toUpperCase()}`] = value;
  await run({ io: recordingIO(), transfer: folderTransfer(artifacts()), github: github(), ...overrides });
  return errors();
}

/** The trusted base (strict gates) and a head commit with `headConfig` (the PR's own kiln.yaml). */
async function pullRequest(headConfig?: string, baseConfig: string | null = twoModelConfig()) {
  repo = path.join(tmp, 'repo');
  const models = { 'models/det.onnx': 'det', 'models/rec.onnx': 'rec' };
  const [base, head] = await gitRepo(repo, [
    { ...models, ...(baseConfig === null ? { 'README.md': 'x' } : { 'kiln.yaml': baseConfig }) },
    { 'models/det.onnx': 'new det', ...(headConfig ? { 'kiln.yaml': headConfig } : {}) },
  ]);
  process.env.GITHUB_WORKSPACE = repo;
  return { base: base!, head: head!, context: prContext({}, { baseSha: base!, headSha: head! }) };
}

/** build.json as kiln writes it under the PR's `gates.golden: warn`: a NaN output, "warned". */
function nanUnderWarn(): BuildResults {
  const results = buildResults('cpu', [{ model: 'det', pass: false }]);
  const output = results.engines[0]!.golden.outputs[0]!;
  Object.assign(output, { nanGot: 3, atol: 1000, rtol: 1000 });
  results.gates.golden = 'warn';
  return results;
}

beforeAll(() => {
  validateRequest('GET', '/', new URLSearchParams(), undefined);
});

beforeEach(async () => {
  savedEnv = { ...process.env };
  for (const name of Object.keys(process.env)) {
    if (/^(INPUT_|ACTIONS_|GITHUB_)/.test(name)) delete process.env[name];
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-gate-'));
  process.env.RUNNER_TEMP = path.join(tmp, 'runner-temp');
  await mkdir(process.env.RUNNER_TEMP, { recursive: true });
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  server = await startGitHubServer();
});

afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  process.env = savedEnv;
  expect(server.violations).toEqual([]);
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('fail closed', () => {
  it('a pull request that loosens its own gates with a NaN golden failure gets a red check', async () => {
    const loose = twoModelConfig('{ golden: warn, latency: { maxRegressionPct: 1000 } }');
    const { context } = await pullRequest(loose);
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: nanUnderWarn(),
      ab: abResults('cpu', [{ model: 'det' }], 1.5), // 50% slower, "fine" under the PR's 1000%
    });
    const failed = await report({ plan: planMatrix([['det', 'cpu']]) }, { context });
    expect(check()).toHaveLength(1);
    expect(check()[0]!.conclusion).toBe('failure');
    expect(check()[0]!.output.title).toMatch(/golden failure/);
    expect(check()[0]!.output.title).toMatch(/latency regression/);
    expect(failed).toEqual([`::error::${check()[0]!.output.title}`]);
    const body = reports()[0]!.body;
    const top = body.split('\n').slice(0, 4).join('\n');
    expect(top).toContain('This pull request changes judging settings');
    expect(top).toContain('gates.golden: fail → warn');
    expect(top).toContain('gates.latency.maxRegressionPct: 10 → 1000');
    expect(top).toContain('applies once merged');
  });

  it('a tolerance loosened by the pull request does not pass an output the base tolerance fails', async () => {
    const strict = twoModelConfig().replace(
      'profiles: [{ name: s384',
      'golden: { tolerance: { atol: 0.001, rtol: 0.001 } }\n    profiles: [{ name: s384',
    );
    const { context } = await pullRequest(strict.replace('atol: 0.001', 'atol: 1'), strict);
    const results = buildResults('cpu', [{ model: 'det' }]);
    Object.assign(results.engines[0]!.golden.outputs[0]!, { atol: 1, maxAbsDiff: 0.4, maxRelDiff: 0.5 });
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: results,
      ab: abResults('cpu', [{ model: 'det' }]),
    });
    await report({ plan: planMatrix([['det', 'cpu']]) }, { context });
    expect(check()[0]!.conclusion).toBe('failure');
    expect(reports()[0]!.body).toContain('models\\[det\\].golden.tolerance.atol: 0.001 → 1');
  });

  it('no plan (the plan job failed): a failure check that says so, and the comment says it too', async () => {
    const { context, head } = await pullRequest();
    const failed = await report({ plan: '' }, { context });
    expect(check()).toMatchObject([{ conclusion: 'failure', head_sha: head }]);
    expect(check()[0]!.output.title).toMatch(/^report: no plan: the plan job failed or was skipped/);
    expect(failed).toHaveLength(1);
    expect(reports()[0]!.body).toContain('the gate could not decide');
  });

  it('an unreadable result file: a failure check naming the file', async () => {
    const { context } = await pullRequest();
    await mkdir(path.join(artifacts(), 'kiln-results-cpu-det'), { recursive: true });
    await writeFile(path.join(artifacts(), 'kiln-results-cpu-det', 'build.json'), '{"schema": "nope"');
    await report({ plan: planMatrix([['det', 'cpu']]) }, { context });
    expect(check()[0]!.conclusion).toBe('failure');
    expect(check()[0]!.output.title).toMatch(/build\.json: not valid JSON/);
  });

  it('only an empty plan passes without results; a build job that failed names its reason', async () => {
    const { context } = await pullRequest();
    expect(await report({ plan: '{"include":[]}' }, { context })).toEqual([]);
    expect(check()[0]!.conclusion).toBe('success');

    await mkdir(path.join(artifacts(), 'kiln-results-l4-det'), { recursive: true });
    await writeFile(
      path.join(artifacts(), 'kiln-results-l4-det', 'failure.json'),
      JSON.stringify({
        schema: 'kiln.build-failure/v1',
        target: 'l4',
        model: 'det',
        exitCode: 2,
        reason: 'kiln build on l4: TensorRT 10.3 not found',
      }),
    );
    await report({ plan: planMatrix([['det', 'l4']]) }, { context });
    expect(check()[1]!.conclusion).toBe('failure');
    expect(check()[1]!.output.title).toBe('1 missing target across 1 target');
    const top = reports()[0]!.body.split('\n').slice(0, 3).join('\n');
    expect(top).toContain('target l4 (model det): kiln build on l4: TensorRT 10.3 not found');
    expect(reports()[0]!.body).toContain('target l4 produced no results');
  });

  it('a kiln.yaml new in this pull request is judged by the built-in strict gates, said so', async () => {
    const { context } = await pullRequest(twoModelConfig('{ golden: warn }'), null);
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: nanUnderWarn(),
      ab: abResults('cpu', [{ model: 'det' }]),
    });
    await report({ plan: planMatrix([['det', 'cpu']]) }, { context });
    expect(check()[0]!.conclusion).toBe('failure');
    expect(reports()[0]!.body).toContain('built-in (strict) gates');
  });

  it('without the base commit in the clone the report cannot read the gates: failure', async () => {
    await pullRequest();
    const context = prContext({}, { baseSha: 'f'.repeat(40), headSha: 'e'.repeat(40) });
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: buildResults('cpu', [{ model: 'det' }]),
      ab: abResults('cpu', [{ model: 'det' }]),
    });
    await report({ plan: planMatrix([['det', 'cpu']]) }, { context });
    expect(check()[0]!.conclusion).toBe('failure');
    expect(check()[0]!.output.title).toMatch(/is not in the clone.*fetch-depth: 0/);
  });

  it('never posts a neutral check', async () => {
    const { context } = await pullRequest();
    await report({ plan: planMatrix([['det', 'cpu']]) }, { context });
    await report({ plan: '{"include":[]}' }, { context });
    expect(check().map((c) => c.conclusion)).toEqual(['failure', 'success']);
  });
});

describe('forks', () => {
  it("a fork's pull_request report makes no API call and points at the workflow_run pattern", async () => {
    const { context } = await pullRequest();
    const fork = { ...context, pullRequest: { ...context.pullRequest!, headRepo: 'mallory/models' } };
    const failed = await report({ plan: planMatrix([['det', 'cpu']]) }, { context: fork });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/comes from fork mallory\/models.*workflow_run/);
    expect(server.requests).toEqual([]);
  });

  /** The trusted workflow_run report's context: default branch checked out, the PR run's id. */
  function workflowRunContext(headSha: string, pullNumbers: number[]): RunContext {
    const { pullRequest: _omit, ...rest } = prContext({ eventName: 'workflow_run', runId: 5151 });
    void _omit;
    return {
      ...rest,
      workflowRun: { id: 777, event: 'pull_request', headSha, headRepo: 'acme/models', pullNumbers },
    };
  }

  function recordingTransfer() {
    const inner = folderTransfer(artifacts());
    const sources: Array<ArtifactSource | undefined> = [];
    return {
      sources,
      transfer: {
        upload: inner.upload,
        downloadAll: (dir: string, from?: ArtifactSource) => {
          sources.push(from);
          return inner.downloadAll(dir);
        },
      },
    };
  }

  it('workflow_run: a same-repository pull request is reported from the triggering run', async () => {
    const { base, head } = await pullRequest();
    server.addPull({
      owner: 'acme',
      repo: 'models',
      number: 42,
      headSha: head,
      baseSha: base,
      headRepoFullName: 'acme/models',
    });
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: buildResults('cpu', [{ model: 'det' }]),
      ab: abResults('cpu', [{ model: 'det' }]),
    });
    await mkdir(path.join(artifacts(), 'kiln-plan'), { recursive: true });
    await writeFile(path.join(artifacts(), 'kiln-plan', 'matrix.json'), planMatrix([['det', 'cpu']]));
    await writeFile(
      path.join(artifacts(), 'kiln-plan', 'pull-request.json'),
      JSON.stringify({ number: 42, headSha: head }),
    );
    const { transfer, sources } = recordingTransfer();
    expect(await report({}, { context: workflowRunContext(head, [42]), transfer })).toEqual([]);
    expect(sources).toEqual([{ runId: 777, owner: 'acme', repo: 'models', token: DEFAULT_TOKEN }]);
    expect(check()).toMatchObject([{ conclusion: 'success', head_sha: head }]);
    expect(reports()).toMatchObject([{ issueNumber: 42 }]);
  });

  it("workflow_run: a fork's results are never trusted; the check fails and says what to do", async () => {
    const { base, head } = await pullRequest();
    server.addPull({
      owner: 'acme',
      repo: 'models',
      number: 43,
      headSha: head,
      baseSha: base,
      headRepoFullName: 'mallory/models',
    });
    // What the fork's own run uploaded: a "passing" result and its plan (GitHub lists no PR for forks).
    await placeResults(artifacts(), 'kiln-results-cpu-det', {
      build: buildResults('cpu', [{ model: 'det' }]),
    });
    await mkdir(path.join(artifacts(), 'kiln-plan'), { recursive: true });
    await writeFile(path.join(artifacts(), 'kiln-plan', 'matrix.json'), planMatrix([['det', 'cpu']]));
    await writeFile(
      path.join(artifacts(), 'kiln-plan', 'pull-request.json'),
      JSON.stringify({ number: 43, headSha: head }),
    );
    const { transfer } = recordingTransfer();
    await report({}, { context: workflowRunContext(head, []), transfer });
    expect(check()).toMatchObject([{ conclusion: 'failure', head_sha: head }]);
    expect(reports()).toMatchObject([{ issueNumber: 43 }]);
    expect(reports()[0]!.body).toContain('comes from a fork');
  });

  it("workflow_run: a fork's plan that says nothing changed is not trusted either", async () => {
    const { base, head } = await pullRequest();
    server.addPull({
      owner: 'acme',
      repo: 'models',
      number: 45,
      headSha: head,
      baseSha: base,
      headRepoFullName: 'mallory/models',
    });
    await mkdir(path.join(artifacts(), 'kiln-plan'), { recursive: true });
    await writeFile(path.join(artifacts(), 'kiln-plan', 'matrix.json'), '{"include":[]}');
    await writeFile(
      path.join(artifacts(), 'kiln-plan', 'pull-request.json'),
      JSON.stringify({ number: 45, headSha: head }),
    );
    await report({}, { context: workflowRunContext(head, []), transfer: recordingTransfer().transfer });
    expect(check()).toMatchObject([{ conclusion: 'failure', head_sha: head }]);
  });

  it('workflow_run: a plan artifact naming another pull request is refused by its head sha', async () => {
    const { base, head } = await pullRequest();
    server.addPull({
      owner: 'acme',
      repo: 'models',
      number: 44,
      headSha: base,
      baseSha: base,
      headRepoFullName: 'acme/models',
    });
    await mkdir(path.join(artifacts(), 'kiln-plan'), { recursive: true });
    await writeFile(path.join(artifacts(), 'kiln-plan', 'matrix.json'), '{"include":[]}');
    await writeFile(
      path.join(artifacts(), 'kiln-plan', 'pull-request.json'),
      JSON.stringify({ number: 44, headSha: head }),
    );
    const { transfer } = recordingTransfer();
    await report({}, { context: workflowRunContext(head, []), transfer });
    expect(check()).toMatchObject([{ conclusion: 'failure', head_sha: head }]);
    expect(check()[0]!.output.title).toMatch(/pull request #44 is at/);
    expect(reports()).toEqual([]);
  });
});
