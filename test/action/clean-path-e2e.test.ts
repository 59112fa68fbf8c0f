/**
 * The Action's pull-request flow as the example workflow runs it, on a PATH with no kiln on it:
 * `plan` (in the Action's process) → one `build` per matrix entry (the real kiln CLI of this
 * checkout, named by the `kiln` input as a pinned install would be, real ONNX Runtime on real models
 * from an npm package, the real @actions/cache client without a cache service) → `report` against
 * the loopback GitHub server that validates every request against GitHub's OpenAPI description.
 * Artifacts move through a folder, as the artifact service would move them between jobs.
 */
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { actionsEngineCache } from '../../src/action/engine-cache.js';
import { createGitHubApi } from '../../src/action/github-api.js';
import { run } from '../../src/action/main.js';
import type { Matrix } from '../../src/action/commands/plan.js';
import { DEFAULT_MARKER, hasMarker } from '../../src/action/sticky-comment.js';
import { folderTransfer, prContext, recordingIO } from '../helpers/action-fakes.js';
import { gitRepo } from '../helpers/git-repo.js';
import { DEFAULT_TOKEN, startGitHubServer, validateRequest } from '../helpers/github-server.js';
import type { GitHubTestServer } from '../helpers/github-server.js';
import { FAST_BENCH, PPOCR, ROOT } from '../helpers/kiln-cli.js';

const config = (width: number) => `version: 1
models:
  - name: det
    path: models/det.onnx
    profiles: [{ name: w${width}, shapes: { x: [1, 3, 48, ${width}] } }]
    golden: { samples: 1 }
  - name: rec
    path: models/rec.onnx
    profiles: [{ name: w${width}, shapes: { x: [1, 3, 48, ${width}] } }]
    golden: { samples: 1 }
targets:
  - { name: cpu, runs-on: [self-hosted, linux, x64], backend: onnxruntime-cpu }
${FAST_BENCH}`;

let tmp: string;
let server: GitHubTestServer;
const saved = { ...process.env };

beforeAll(async () => {
  validateRequest('GET', '/', new URLSearchParams(), undefined);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-clean-path-'));
  server = await startGitHubServer();
});

afterAll(async () => {
  process.env = saved;
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Only node's and git's folders: no kiln, no npm global bin, nothing a runner image might add. */
async function cleanPath(): Promise<string> {
  const git = (await execa('sh', ['-c', 'command -v git'])).stdout.trim();
  const dirs = [...new Set([path.dirname(process.execPath), path.dirname(git)])];
  return dirs.join(path.delimiter);
}

describe('the Action on a clean PATH', () => {
  it('plans and builds a two-model repository, then reports a passing check', async () => {
    const repo = path.join(tmp, 'repo');
    await mkdir(path.join(repo, 'models'), { recursive: true });
    await copyFile(PPOCR.cls, path.join(repo, 'models', 'det.onnx'));
    await copyFile(PPOCR.cls, path.join(repo, 'models', 'rec.onnx'));
    const [base, head] = await gitRepo(repo, [{ 'kiln.yaml': config(192) }, { 'kiln.yaml': config(160) }]);

    const PATH = await cleanPath();
    const which = await execa('sh', ['-c', 'command -v kiln'], { env: { PATH }, reject: false });
    expect(which.exitCode).not.toBe(0);
    for (const name of Object.keys(process.env)) {
      if (/^(INPUT_|ACTIONS_|GITHUB_)/.test(name)) delete process.env[name];
    }
    Object.assign(process.env, {
      PATH,
      GITHUB_WORKSPACE: repo,
      RUNNER_TEMP: path.join(tmp, 'runner-temp'),
    });
    await mkdir(process.env.RUNNER_TEMP!, { recursive: true });
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const errors = () =>
      lines
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('::error::'));
    const context = prContext({ runnerEnvironment: 'self-hosted' }, { baseSha: base!, headSha: head! });
    const transfer = folderTransfer(path.join(tmp, 'artifacts'));
    const step = async (inputs: Record<string, string>, io = recordingIO()) => {
      for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) delete process.env[name];
      for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v;
      const github = createGitHubApi(DEFAULT_TOKEN, { baseUrl: server.url, sleep: async () => {} });
      await run({ io, context, transfer, github, cache: actionsEngineCache() });
      return io;
    };
    const configPath = path.join(repo, 'kiln.yaml');

    // plan: in the Action's process; nothing named kiln is run.
    const planned = await step({ command: 'plan', config: configPath });
    expect(errors()).toEqual([]);
    const matrix = JSON.parse(planned.outputs.matrix!) as Matrix;
    expect(matrix.include.map((j) => `${j.model}@${j.target}`)).toEqual(['det@cpu', 'rec@cpu']);

    // build: one job per matrix entry, the CLI given as a pinned install would be.
    for (const job of matrix.include) {
      await step({
        command: 'build',
        config: configPath,
        target: job.target,
        model: job.model,
        kiln: `${process.execPath} ${path.join(ROOT, 'bin', 'kiln.js')}`,
        'results-dir': path.join(tmp, 'results', job.model),
      });
      expect(errors(), lines.join('')).toEqual([]);
    }
    expect((await readdir(path.join(tmp, 'artifacts'))).sort()).toEqual([
      'kiln-plan',
      'kiln-results-cpu-det',
      'kiln-results-cpu-rec',
    ]);

    // report: the plan output as the workflow passes it; gates read from the base commit.
    await step({ command: 'report', 'github-token': DEFAULT_TOKEN, plan: planned.outputs.matrix! });
    expect(errors(), lines.join('')).toEqual([]);
    expect(server.violations).toEqual([]);
    expect(server.checkRuns.map((c) => c.body)).toMatchObject([{ conclusion: 'success', head_sha: head }]);
    const comment = server.comments.find((c) => hasMarker(c.body, DEFAULT_MARKER))!;
    expect(comment.body).toContain('det');
    expect(comment.body).toContain('rec');
    expect(comment.body).toContain("Gates, tolerances and bench settings are the merge base's");
  }, 240_000);
});
