import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { buildMatrix, type MatrixEntry } from '../../src/core/build-matrix.js';
import { parseConfig } from '../../src/core/io/config-load.js';
import { ROOT } from '../helpers/kiln-cli.js';

/**
 * The example workflows in examples/workflows/ are what users copy: check the structure GitHub
 * requires, that they use the plan's matrix as `kiln plan` writes it, and that they keep self-hosted
 * runners away from forks.
 */

const DIR = path.join(ROOT, 'examples', 'workflows');
const FILES = [
  'pull-request.yml',
  'release.yml',
  'gpu-matrix.yml',
  'pull-request-forks.yml',
  'pull-request-forks-report.yml',
  'default-branch.yml',
];
const ACTION_YML = path.join(ROOT, 'action.yml');
const KILN_ACTION = 'owner/kiln@v1';
const FORK_GUARD = 'github.event.pull_request.head.repo.full_name == github.repository';
/** The keys of a `kiln plan` matrix entry: everything a build job may read from `matrix`. */
const MATRIX_KEYS: Array<keyof MatrixEntry> = ['target', 'runs-on', 'model', 'backend'];

type Json = Record<string, unknown>;

interface Step extends Json {
  id?: string;
  uses?: string;
  run?: string;
  with?: Json;
}

interface Job extends Json {
  'runs-on'?: unknown;
  uses?: string;
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  strategy?: { matrix?: unknown };
  steps?: Step[];
}

interface Workflow {
  on: unknown;
  jobs: Record<string, Job>;
}

function load(file: string): { text: string; workflow: Workflow } {
  const text = readFileSync(path.join(DIR, file), 'utf8');
  const doc = parseDocument(text, { uniqueKeys: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  return { text, workflow: doc.toJS() as Workflow };
}

const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : [job.needs].flat());
const kilnSteps = (workflow: Workflow): Step[] =>
  Object.values(workflow.jobs).flatMap((job) => (job.steps ?? []).filter((s) => s.uses === KILN_ACTION));
const triggers = (workflow: Workflow): Json =>
  typeof workflow.on === 'string'
    ? { [workflow.on]: null }
    : Array.isArray(workflow.on)
      ? Object.fromEntries(workflow.on.map((e: string) => [e, null]))
      : (workflow.on as Json);

/** Every `${{ … }}` expression; throws on an unbalanced one. */
function expressions(text: string): string[] {
  const found: string[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('${{', at);
    const close = text.indexOf('}}', at);
    if (open < 0) {
      if (close >= 0) throw new Error(`stray '}}' at offset ${close}`);
      return found;
    }
    if (close >= 0 && close < open) throw new Error(`stray '}}' at offset ${close}`);
    const end = text.indexOf('}}', open + 3);
    const nextOpen = text.indexOf('${{', open + 3);
    if (end < 0 || (nextOpen >= 0 && nextOpen < end)) throw new Error(`unclosed '\${{' at offset ${open}`);
    found.push(text.slice(open + 3, end).trim());
    at = end + 2;
  }
}

/** The input names action.yml declares, or undefined while it does not exist. */
function actionInputs(): string[] | undefined {
  if (!existsSync(ACTION_YML)) return undefined;
  const action = parseDocument(readFileSync(ACTION_YML, 'utf8')).toJS() as { inputs?: Json };
  return Object.keys(action.inputs ?? {});
}

describe.each(FILES)('examples/workflows/%s', (file) => {
  const { text, workflow } = load(file);
  const jobs = Object.entries(workflow.jobs ?? {});

  it('has the top-level keys GitHub requires: on and at least one job', () => {
    expect(workflow.on).toBeDefined();
    expect(jobs.length).toBeGreaterThan(0);
  });

  it('every job has runs-on or uses; every step has exactly one of uses or run', () => {
    for (const [name, job] of jobs) {
      expect(job['runs-on'] !== undefined || job.uses !== undefined, `job ${name}`).toBe(true);
      if (job.uses === undefined)
        expect(Array.isArray(job.steps) && job.steps.length > 0, `job ${name}`).toBe(true);
      for (const [i, step] of (job.steps ?? []).entries()) {
        expect((step.uses === undefined) !== (step.run === undefined), `jobs.${name}.steps[${i}]`).toBe(true);
      }
    }
  });

  it('needs refer to jobs that exist, with no cycle', () => {
    const names = new Set(jobs.map(([name]) => name));
    for (const [name, job] of jobs) {
      for (const need of needsOf(job)) expect(names, `jobs.${name}.needs: ${need}`).toContain(need);
    }
    // A chain of needs longer than the number of jobs must run in a circle.
    const visit = (name: string, depth: number) => {
      expect(depth, `needs cycle through ${name}`).toBeLessThanOrEqual(names.size);
      for (const need of needsOf(workflow.jobs[name]!)) visit(need, depth + 1);
    };
    for (const name of names) visit(name, 0);
  });

  it('${{ }} expressions are balanced', () => {
    expect(() => expressions(text)).not.toThrow();
    expect(expressions(text).length).toBeGreaterThan(0);
    for (const expression of expressions(text)) expect(expression, expression).not.toBe('');
  });

  it("each matrix is fromJSON of a needed job's plan output, and build jobs read only the plan's keys", () => {
    const matrixJobs = jobs.filter(([, job]) => job.strategy?.matrix !== undefined);
    const builds = kilnSteps(workflow).filter((s) => s.with?.command === 'build');
    expect(matrixJobs.length > 0).toBe(builds.length > 0);
    for (const [name, job] of matrixJobs) {
      const match = /^\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\s*\}\}$/.exec(
        String(job.strategy!.matrix),
      );
      expect(match, `jobs.${name}.strategy.matrix: ${String(job.strategy!.matrix)}`).not.toBeNull();
      const [, planJob, output] = match!;
      expect(needsOf(job)).toContain(planJob);
      const producer = workflow.jobs[planJob!]!;
      const value = producer.outputs?.[output!];
      expect(value, `jobs.${planJob}.outputs.${output}`).toBeDefined();
      // The output comes from a step of that job that runs the plan.
      const step = /steps\.([\w-]+)\.outputs\./.exec(value!)?.[1];
      const planStep = producer.steps?.find((s) => s.id === step);
      expect(planStep, `jobs.${planJob}: step ${step}`).toBeDefined();
      expect(planStep!.with?.command === 'plan' || /\bkiln plan\b/.test(planStep!.run ?? '')).toBe(true);
      // The job runs where the plan says, and reads only keys kiln plan writes.
      expect(job['runs-on']).toBe('${{ matrix.runs-on }}');
      const used = [...JSON.stringify(job).matchAll(/matrix\.([\w-]+)/g)].map((m) => m[1]);
      for (const key of used) expect(MATRIX_KEYS as string[]).toContain(key);
    }
  });

  it('kiln action steps name a known command', () => {
    const steps = kilnSteps(workflow);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) expect(['plan', 'build', 'report', 'publish']).toContain(step.with?.command);
  });

  it.skipIf(actionInputs() === undefined)(
    'every with: key of the kiln action is an input action.yml declares (skipped while there is no action.yml)',
    () => {
      const declared = actionInputs()!;
      for (const step of kilnSteps(workflow)) {
        for (const key of Object.keys(step.with ?? {})) expect(declared, `with: ${key}`).toContain(key);
      }
    },
  );

  it('reports unless cancelled, never always(), and never uses pull_request_target', () => {
    expect(text).not.toMatch(/always\(\)/);
    expect('pull_request_target' in triggers(workflow)).toBe(false);
    for (const [name, job] of jobs) {
      if ((job.steps ?? []).some((s) => s.uses === KILN_ACTION && s.with?.command === 'report')) {
        expect(job.if ?? '', `jobs.${name}.if`).toMatch(
          /!cancelled\(\)|workflow_run\.conclusion != 'cancelled'/,
        );
      }
    }
  });

  it('no step installs kiln: the Action plans in-process and brings its own CLI', () => {
    for (const [name, job] of jobs) {
      for (const step of job.steps ?? []) {
        expect(step.run ?? '', `jobs.${name}`).not.toMatch(/npm (i|install|ci)\b.*kiln|\bkiln plan\b/);
      }
    }
  });

  it('keeps fork pull requests off self-hosted runners', () => {
    if (!('pull_request' in triggers(workflow)) && !('pull_request_target' in triggers(workflow))) return;
    for (const [name, job] of jobs) {
      const runsOn = JSON.stringify(job['runs-on'] ?? '');
      const selfHosted = runsOn.includes('self-hosted') || runsOn.includes('matrix.');
      if (selfHosted) expect(job.if ?? '', `jobs.${name}.if`).toContain(FORK_GUARD);
    }
  });
});

describe('what each example is for', () => {
  it('the fork pattern: the pull_request half posts nothing; the workflow_run half reports it without running its code', () => {
    const untrusted = load('pull-request-forks.yml').workflow;
    expect(Object.keys(triggers(untrusted))).toEqual(['pull_request']);
    expect(kilnSteps(untrusted).map((s) => s.with?.command)).toEqual(['plan', 'build']);
    expect(JSON.stringify(untrusted)).not.toMatch(/write/);

    const { workflow, text } = load('pull-request-forks-report.yml');
    const on = triggers(workflow).workflow_run as { workflows: string[]; types: string[] };
    expect(on.workflows).toEqual([(untrusted as unknown as { name: string }).name]);
    expect(on.types).toEqual(['completed']);
    const report = workflow.jobs.report!;
    expect(report.permissions).toEqual({
      contents: 'read',
      actions: 'read',
      checks: 'write',
      'pull-requests': 'write',
    });
    expect(kilnSteps(workflow).map((s) => s.with?.command)).toEqual(['report']);
    // Only the default branch is checked out: no ref, no head sha, no run of anything.
    for (const step of report.steps ?? []) {
      expect(step.run).toBeUndefined();
      expect(JSON.stringify(step.with ?? {})).not.toMatch(/ref|head/);
    }
    expect(text).not.toMatch(/head_sha|head\.ref|pull_request\.head/);
  });

  it('pull-request.yml runs on pull requests touching the models or kiln.yaml, plan → build → report', () => {
    const { workflow } = load('pull-request.yml');
    const paths = (triggers(workflow).pull_request as { paths: string[] }).paths;
    expect(paths).toContain('kiln.yaml');
    expect(paths).toContain('models/**');
    expect(Object.keys(workflow.jobs)).toEqual(['plan', 'build', 'report']);
    expect(workflow.jobs.report!.if).toBe('${{ !cancelled() }}');
    expect(needsOf(workflow.jobs.report!)).toEqual(['plan', 'build']);
  });

  it('default-branch.yml builds every model on pushes to the default branch, seeding the engine cache PR runs read', () => {
    const { workflow } = load('default-branch.yml');
    const push = triggers(workflow).push as { branches: string[]; paths: string[] };
    expect(push.branches).toEqual(['main']);
    const pr = triggers(load('pull-request.yml').workflow).pull_request as { paths: string[] };
    expect(push.paths).toEqual(pr.paths);
    expect(Object.keys(workflow.jobs)).toEqual(['plan', 'push']);
    // Outside a pull request the Action plans every model, in-process: no kiln install on the runner.
    expect(workflow.jobs.plan!['runs-on']).toBe('ubuntu-latest');
    expect(kilnSteps({ on: null, jobs: { plan: workflow.jobs.plan! } })[0]!.with?.command).toBe('plan');
    const build = workflow.jobs.push!.steps!.find((s) => s.uses === KILN_ACTION)!;
    expect(build.with).toMatchObject({ command: 'build', cache: true });
  });

  it('release.yml runs on v* tags, plans --all, builds every model everywhere, then publishes only after all passed', () => {
    const { workflow } = load('release.yml');
    expect((triggers(workflow).push as { tags: string[] }).tags).toEqual(['v*']);
    // Outside a pull request the Action plans every model, in-process: no kiln install on the runner.
    expect(workflow.jobs.plan!['runs-on']).toBe('ubuntu-latest');
    expect(kilnSteps({ on: null, jobs: { plan: workflow.jobs.plan! } })[0]!.with?.command).toBe('plan');
    // A failed golden gate fails its build job; nothing may skip that (no continue-on-error).
    expect(JSON.stringify(workflow.jobs.build)).not.toContain('continue-on-error');
    const publish = workflow.jobs.publish!;
    expect(needsOf(publish)).toEqual(['build', 'report']);
    // The default if: success(): a failed build or report publishes nothing.
    expect(publish.if).toBeUndefined();
    expect(JSON.stringify(publish)).not.toContain('continue-on-error');
    const step = kilnSteps({ on: null, jobs: { publish } })[0]!;
    expect(step.with?.command).toBe('publish');
    expect(step.with?.oci).toMatch(/^ghcr\.io\//);
    // Signing the provenance needs the OIDC token and the attestations API.
    expect(publish.permissions).toMatchObject({
      'id-token': 'write',
      attestations: 'write',
      packages: 'write',
    });
  });

  it('gpu-matrix.yml: the kiln.yaml targets it documents plan a10g / l4 / h100 / cpu on their labels', () => {
    const { text } = load('gpu-matrix.yml');
    const lines = text.split('\n');
    const start = lines.findIndex((l) => /^#\s+targets:$/.test(l));
    expect(start).toBeGreaterThan(0);
    const end = lines.findIndex((l, i) => i > start && /^#\s*$/.test(l));
    const targets = lines
      .slice(start, end)
      .map((l) => l.replace(/^# {3}/, ''))
      .join('\n');
    const config = parseConfig(
      `version: 1\nmodels:\n  - { name: ocr-det, path: det.onnx, profiles: [{ name: p, shapes: { x: [1] } }] }\n${targets}\n`,
      'gpu-matrix.yml#kiln.yaml',
      path.join(ROOT, 'examples'),
    );
    const plan = buildMatrix(config, ['ocr-det'], 'gpu-matrix.yml#kiln.yaml');
    expect(plan.include.map((e) => [e.target, e['runs-on'].join(',')])).toEqual([
      ['a10g', 'self-hosted,linux,gpu,sm86'],
      ['l4', 'self-hosted,linux,gpu,sm89'],
      ['h100', 'self-hosted,linux,gpu,sm90'],
      ['cpu', 'self-hosted,linux,x64'],
    ]);
  });
});
