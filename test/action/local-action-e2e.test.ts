/**
 * The whole Action, end to end, under @github/local-action: its CLI runs the TypeScript sources with
 * tsx, replaces @actions/core, @actions/github, @actions/artifact and @actions/cache with its local
 * stubs (quibble), reads the inputs (`INPUT_*`) and the run's environment from a dotenv file, and
 * calls the entry's exported `run()`.
 *
 * - `report`: against the loopback GitHub server (every request validated against GitHub's OpenAPI
 *   description). GITHUB_API_URL is passed in the process environment, not the dotenv file, because
 *   local-action's @actions/github stub reads it when the stub module loads, before the dotenv file
 *   is. Results reach `report` through local-action's artifact stub; that stub only knows artifacts
 *   uploaded in the same process, so the entry (test/helpers/action-e2e-entry.ts) first uploads them
 *   through the Action's own results transfer, as the build jobs would.
 * - `plan`: against a temp git repository, in the Action's own process (no kiln CLI needed).
 * - `report` reads the gates from kiln.yaml at the base commit of a temp git repository (GITHUB_WORKSPACE).
 *
 * local-action does not set a failing exit code on `core.setFailed` (it prints `::error::…`), so the
 * tests read the workflow commands it prints. Set KILN_E2E_PRINT=1 to see the rendered PR comment.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DEFAULT_MARKER, hasMarker } from '../../src/action/sticky-comment.js';
import { abResults, buildResults, planMatrix } from '../helpers/action-fakes.js';
import { BOT_LOGIN, DEFAULT_TOKEN, startGitHubServer, validateRequest } from '../helpers/github-server.js';
import type { GitHubTestServer } from '../helpers/github-server.js';
import { gitRepo, twoModelConfig } from '../helpers/git-repo.js';
import { ROOT } from '../helpers/kiln-cli.js';

const LOCAL_ACTION = path.join(ROOT, 'node_modules', '@github', 'local-action', 'bin', 'local-action.js');
const ENTRY = 'test/helpers/action-e2e-entry.ts';
const HEAD = '1111111111111111111111111111111111111111';

let tmp: string;
let server: GitHubTestServer;

interface LocalRun {
  stdout: string;
  exitCode: number | undefined;
  errors: string[];
  outputs: Record<string, string>;
  summary: string;
}

/** A pull_request event payload as GitHub writes it to GITHUB_EVENT_PATH (the fields kiln reads). */
function pullRequestEvent(number: number, head: string, base: string): unknown {
  const repo = { full_name: 'acme/models', name: 'models', owner: { login: 'acme' } };
  return {
    action: 'synchronize',
    number,
    pull_request: {
      number,
      head: { sha: head, ref: 'change', repo },
      base: { sha: base, ref: 'main', repo },
    },
    repository: repo,
  };
}

/** Runs `local-action run ROOT <entry> <dotenv>` with these variables in the dotenv file. */
async function localAction(
  vars: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<LocalRun> {
  const envFile = path.join(tmp, '.env');
  const summaryFile = path.join(tmp, 'step-summary.md');
  const artifactDir = path.join(tmp, 'local-artifacts');
  await mkdir(artifactDir, { recursive: true });
  await mkdir(path.join(tmp, 'runner-temp'), { recursive: true });
  await writeFile(summaryFile, '');
  const all: Record<string, string> = {
    GITHUB_REPOSITORY: 'acme/models',
    GITHUB_RUN_ID: '9001',
    GITHUB_SHA: HEAD,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: path.join(tmp, 'runner-temp'),
    RUNNER_ENVIRONMENT: 'github-hosted',
    LOCAL_ACTION_WORKSPACE: tmp,
    LOCAL_ACTION_ARTIFACT_PATH: artifactDir,
    ...vars,
  };
  // Single quotes: dotenv keeps such a value literally (JSON's `"` and `\` included).
  for (const [k, v] of Object.entries(all)) if (/['\n]/.test(v)) throw new Error(`${k}: cannot quote ${v}`);
  await writeFile(
    envFile,
    Object.entries(all)
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n') + '\n',
  );
  // A clean environment: nothing from a surrounding workflow run (GITHUB_*, INPUT_*, ACTIONS_*) leaks in.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(GITHUB_|INPUT_|ACTIONS_|RUNNER_|LOCAL_ACTION_)/.test(k)) env[k] = v;
  }
  const result = await execa('node', [LOCAL_ACTION, 'run', ROOT, ENTRY, envFile], {
    cwd: ROOT, // local-action finds the toolkit packages to stub with `npm ls` in its working directory
    env: { ...env, FORCE_COLOR: '0', NO_COLOR: '1', ...extraEnv },
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 50_000,
  });
  const stdout = result.all ?? '';
  const lines = stdout.split(/\r?\n/);
  const outputs: Record<string, string> = {};
  for (const line of lines) {
    const m = /^::set-output name=([\w-]+)::(.*)$/.exec(line);
    if (m) outputs[m[1]!] = m[2]!;
  }
  return {
    stdout,
    exitCode: result.exitCode,
    errors: lines.filter((l) => l.startsWith('::error::')),
    outputs,
    summary: await readFile(summaryFile, 'utf8'),
  };
}

beforeAll(() => {
  validateRequest('GET', '/', new URLSearchParams(), undefined); // load the OpenAPI description once
});

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-local-action-'));
  server = await startGitHubServer();
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('report under local-action', () => {
  let headSha = HEAD;
  async function reportRun(plan: string, targets: string[]): Promise<LocalRun> {
    // The report reads the gates from kiln.yaml at the base commit, with git, in the workspace.
    const repo = path.join(tmp, 'repo');
    const [base, head] = await gitRepo(repo, [
      { 'kiln.yaml': twoModelConfig(), 'models/det.onnx': 'det', 'models/rec.onnx': 'rec' },
      { 'models/det.onnx': 'new det' },
    ]);
    headSha = head!;
    const eventFile = path.join(tmp, 'event.json');
    await writeFile(eventFile, JSON.stringify(pullRequestEvent(7, head!, base!)));
    const uploads = [];
    for (const target of targets) {
      const dir = path.join(tmp, 'build-jobs', target);
      await mkdir(dir, { recursive: true });
      const engines = [
        { model: 'ocr-det', profile: 's384' },
        { model: 'ocr-rec', profile: 'w320' },
      ];
      await writeFile(path.join(dir, 'build.json'), JSON.stringify(buildResults(target, engines)));
      await writeFile(path.join(dir, 'ab.json'), JSON.stringify(abResults(target, engines)));
      uploads.push({ name: `kiln-results-${target}-all`, dir });
    }
    const run = await localAction(
      {
        INPUT_COMMAND: 'report',
        'INPUT_GITHUB-TOKEN': DEFAULT_TOKEN,
        INPUT_PLAN: plan,
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: eventFile,
        KILN_E2E_UPLOADS: JSON.stringify(uploads),
        GITHUB_WORKSPACE: repo,
      },
      { GITHUB_API_URL: server.url },
    );
    expect(run.stdout).not.toContain(DEFAULT_TOKEN);
    return run;
  }

  it('posts one sticky comment and a success check run from the uploaded results', async () => {
    const plan = planMatrix([
      ['ocr-det', 'cpu'],
      ['ocr-det', 'a10g'],
    ]);
    const run = await reportRun(plan, ['cpu', 'a10g']);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.errors, run.stdout).toEqual([]);

    const reports = server.comments.filter((c) => hasMarker(c.body, DEFAULT_MARKER));
    expect(reports).toHaveLength(1);
    const comment = reports[0]!;
    expect(comment).toMatchObject({
      owner: 'acme',
      repo: 'models',
      issueNumber: 7,
      user: { login: BOT_LOGIN },
    });
    expect(comment.body.split('\n')[0]).toBe(DEFAULT_MARKER);
    expect(comment.body).toContain('ocr-det');
    expect(comment.body).toContain('ocr-rec');
    expect(comment.body).toContain('a10g');
    expect(comment.body).toContain('https://github.com/acme/models/actions/runs/9001');
    expect(run.outputs['comment-url']).toBe(
      `https://github.com/acme/models/pull/7#issuecomment-${comment.id}`,
    );

    expect(server.checkRuns).toHaveLength(1);
    expect(server.checkRuns[0]!.body).toMatchObject({
      name: 'kiln',
      head_sha: headSha,
      status: 'completed',
      conclusion: 'success',
    });
    expect(run.summary).toContain('ocr-rec');
    expect(run.summary).not.toContain(DEFAULT_MARKER);
    for (const r of server.requests) expect(r.authorization).toBe(`token ${DEFAULT_TOKEN}`);

    if (process.env.KILN_E2E_PRINT === '1') {
      console.log(`--- rendered PR comment (local-action e2e) ---\n${comment.body}\n--- end ---`);
    }
  });

  it('a planned target that uploaded nothing fails the check and the step', async () => {
    const plan = planMatrix([
      ['ocr-det', 'cpu'],
      ['ocr-det', 'l4'],
    ]);
    const run = await reportRun(plan, ['cpu']);
    expect(server.checkRuns[0]!.body).toMatchObject({ conclusion: 'failure' });
    const title = (server.checkRuns[0]!.body.output as { title: string }).title;
    expect(run.errors, run.stdout).toEqual([`::error::${title}`]);
    expect(server.comments[0]!.body).toContain('target l4 produced no results');
  });
});

describe('plan under local-action, in the Action process (no kiln CLI)', () => {
  const CONFIG = `version: 1
models:
  - name: det
    path: models/det.onnx
    profiles: [{ name: s384, shapes: { x: [1, 3, 384, 384] } }]
  - name: rec
    path: models/rec.onnx
    profiles: [{ name: w320, shapes: { x: [1, 3, 48, 320] } }]
targets:
  - name: cpu
    runs-on: [self-hosted, linux, x64]
    backend: onnxruntime-cpu
`;

  it('sets the matrix of the changed model, diffing against the pull request base', async () => {
    const repo = path.join(tmp, 'repo');
    const [base, head] = await gitRepo(repo, [
      {
        'kiln.yaml': CONFIG,
        'models/det.onnx': 'not really onnx: det',
        'models/rec.onnx': 'not really onnx: rec',
      },
      { 'models/rec.onnx': 'a new rec' },
    ]);

    const eventFile = path.join(tmp, 'event.json');
    await writeFile(eventFile, JSON.stringify(pullRequestEvent(8, head!, base!)));
    const run = await localAction({
      INPUT_COMMAND: 'plan',
      INPUT_CONFIG: path.join(repo, 'kiln.yaml'),
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile,
    });
    expect(run.errors, run.stdout).toEqual([]);
    expect(JSON.parse(run.outputs.matrix ?? 'null'), run.stdout).toEqual({
      include: [
        {
          target: 'cpu',
          'runs-on': ['self-hosted', 'linux', 'x64'],
          model: 'rec',
          backend: 'onnxruntime-cpu',
        },
      ],
    });
    expect(run.stdout).toContain('kiln plan: 1 build job(s): rec@cpu');
    expect(server.requests).toEqual([]); // plan needs no GitHub API
  });
});
