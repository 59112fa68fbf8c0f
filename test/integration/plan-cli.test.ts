import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { BIAS, matMulAddModel, WEIGHTS, writeWeightFile } from '../helpers/external-data-models.js';
import { runKiln } from '../helpers/kiln-cli.js';

/**
 * `kiln plan` against a real git repository: a base commit on `main`, a change on a branch. The
 * model files are arbitrary bytes: plan opens a model only to read its external-data locations, when
 * a file in its folder changed that is no model's own file (the last test, with a real model).
 */

const CONFIG = `version: 1
models:
  - name: det
    path: models/det.onnx
    profiles: [{ name: s384, shapes: { x: [1, 3, 384, 384] } }]
    golden: { inputs: golden/det/ }
  - name: rec
    path: models/rec.onnx
    profiles: [{ name: w320, shapes: { x: [1, 3, 48, 320] } }]
targets:
  - name: cpu
    runs-on: [self-hosted, linux, x64]
    backend: onnxruntime-cpu
  - name: a10g
    runs-on: [self-hosted, linux, gpu, sm86]
    backend: tensorrt
bench: { warmup: 5 }
`;

const made: string[] = [];
let repo: string;

async function git(args: string[], cwd = repo): Promise<string> {
  return (await execa('git', args, { cwd })).stdout;
}

async function write(file: string, text: string, cwd = repo): Promise<void> {
  await mkdir(path.dirname(path.join(cwd, file)), { recursive: true });
  await writeFile(path.join(cwd, file), text);
}

/** A repo whose `main` holds kiln.yaml and its files under `folder`, checked out on branch `change`. */
async function makeRepo(folder = ''): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-'));
  made.push(dir);
  await git(['init', '--quiet', '--initial-branch=main'], dir);
  await git(['config', 'user.email', 'kiln@example.com'], dir);
  await git(['config', 'user.name', 'kiln test'], dir);
  await git(['config', 'commit.gpgsign', 'false'], dir);
  await write(path.join(folder, 'kiln.yaml'), CONFIG, dir);
  await write(path.join(folder, 'models/det.onnx'), 'not really onnx: det', dir);
  await write(path.join(folder, 'models/rec.onnx'), 'not really onnx: rec', dir);
  await write(path.join(folder, 'golden/det/s384/x.npy'), 'golden', dir);
  await write('README.md', 'hello\n', dir);
  await git(['add', '-A'], dir);
  await git(['commit', '--quiet', '-m', 'base'], dir);
  await git(['checkout', '--quiet', '-b', 'change'], dir);
  return dir;
}

async function commitAll(message: string): Promise<void> {
  await git(['add', '-A']);
  await git(['commit', '--quiet', '--allow-empty', '-m', message]);
}

interface Entry {
  target: string;
  'runs-on': string[];
  model: string;
  backend: string;
}

function matrixOf(stdout: string): Entry[] {
  const matrix = JSON.parse(stdout) as { include: Entry[] };
  expect(Object.keys(matrix)).toEqual(['include']);
  return matrix.include;
}

const pairs = (entries: Entry[]) => entries.map((e) => `${e.model}@${e.target}`);

beforeEach(async () => {
  repo = await makeRepo();
});

afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('kiln plan --base', () => {
  it('plans only the changed model, on every target', async () => {
    await write('models/rec.onnx', 'a new rec');
    await commitAll('change rec');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(run.exitCode).toBe(0);
    expect(matrixOf(run.stdout)).toEqual([
      { target: 'cpu', 'runs-on': ['self-hosted', 'linux', 'x64'], model: 'rec', backend: 'onnxruntime-cpu' },
      {
        target: 'a10g',
        'runs-on': ['self-hosted', 'linux', 'gpu', 'sm86'],
        model: 'rec',
        backend: 'tensorrt',
      },
    ]);
    expect(run.stderr).toContain('1 of 2 model(s) changed');
    expect(run.stderr).toContain('rec: model file models/rec.onnx changed');
    expect(run.stderr).not.toMatch(/^\s*det:/m);
  });

  it('a golden input file marks its model', async () => {
    await write('golden/det/s384/x.npy', 'new golden');
    await commitAll('golden');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(pairs(matrixOf(run.stdout))).toEqual(['det@cpu', 'det@a10g']);
    expect(run.stderr).toContain('golden inputs golden/det/ (1 file) changed');
  });

  it("a change to kiln.yaml's bench section plans every model", async () => {
    await write('kiln.yaml', CONFIG.replace('bench: { warmup: 5 }', 'bench: { warmup: 2 }'));
    await commitAll('bench');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(run.exitCode).toBe(0);
    expect(pairs(matrixOf(run.stdout))).toEqual(['det@cpu', 'det@a10g', 'rec@cpu', 'rec@a10g']);
    expect(run.stderr).toContain('bench settings changed (warmup)');
  });

  it('a change to the gates plans nothing and says why', async () => {
    await write('kiln.yaml', `${CONFIG}gates: { golden: warn }\n`);
    await commitAll('gates');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe('{"include":[]}');
    expect(run.stderr).toContain('gates changed');
  });

  it('nothing that a model uses changed: {"include":[]} and exit 0', async () => {
    await write('README.md', 'edited\n');
    await commitAll('docs');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim()).toBe('{"include":[]}');
    expect(run.stderr).toContain('0 of 2 model(s) changed');
  });

  it('compares with the merge base: later commits on main are not this change', async () => {
    await git(['checkout', '--quiet', 'main']);
    await write('models/det.onnx', 'det changed on main after the branch');
    await commitAll('main moves on');
    await git(['checkout', '--quiet', 'change']);
    await write('models/rec.onnx', 'rec changed on the branch');
    await commitAll('branch');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(pairs(matrixOf(run.stdout))).toEqual(['rec@cpu', 'rec@a10g']);
  });

  it('a model added to kiln.yaml plans only that model; a removed one is reported', async () => {
    const config = CONFIG.replace(
      '  - name: rec\n    path: models/rec.onnx',
      '  - name: cls\n    path: models/cls.onnx',
    );
    await write('kiln.yaml', config);
    await write('models/cls.onnx', 'cls');
    await commitAll('swap rec for cls');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(pairs(matrixOf(run.stdout))).toEqual(['cls@cpu', 'cls@a10g']);
    expect(run.stderr).toContain('cls: new model in kiln.yaml; model file models/cls.onnx changed');
    expect(run.stderr).toContain('rec: removed from kiln.yaml: not built');
  });

  it('a kiln.yaml new since the base plans every model', async () => {
    const fresh = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-'));
    made.push(fresh);
    await git(['init', '--quiet', '--initial-branch=main'], fresh);
    await git(['config', 'user.email', 'kiln@example.com'], fresh);
    await git(['config', 'user.name', 'kiln test'], fresh);
    await write('README.md', 'x\n', fresh);
    await git(['add', '-A'], fresh);
    await git(['commit', '--quiet', '-m', 'base'], fresh);
    await write('kiln.yaml', CONFIG, fresh);
    await git(['add', '-A'], fresh);
    await git(['commit', '--quiet', '-m', 'add kiln'], fresh);
    const run = await runKiln(['plan', '--base', 'main~1'], fresh);
    expect(run.exitCode).toBe(0);
    expect(pairs(matrixOf(run.stdout))).toEqual(['det@cpu', 'det@a10g', 'rec@cpu', 'rec@a10g']);
    expect(run.stderr).toContain('config kiln.yaml is new');
  });

  it('a config in a sub-folder, run from elsewhere with --config, writing --json', async () => {
    const sub = await makeRepo('ml/ocr');
    await write('ml/ocr/models/det.onnx', 'new det', sub);
    await git(['add', '-A'], sub);
    await git(['commit', '--quiet', '-m', 'det'], sub);
    const out = path.join(sub, 'out', 'matrix.json');
    const run = await runKiln(['plan', '--config', 'ml/ocr/kiln.yaml', '--base', 'main', '--json', out], sub);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('');
    expect(pairs(matrixOf(await readFile(out, 'utf8')))).toEqual(['det@cpu', 'det@a10g']);
    expect(run.stderr).toContain('det: model file ml/ocr/models/det.onnx changed');
  });

  it('an unknown ref: exit 2 and one line naming it', async () => {
    const run = await runKiln(['plan', '--base', 'origin/mian'], repo);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^kiln: --base origin\/mian: not a git revision in /);
  });

  it('not a git repository: exit 2, one line', async () => {
    const plain = await mkdtemp(path.join(os.tmpdir(), 'kiln-plan-nogit-'));
    made.push(plain);
    await write('kiln.yaml', CONFIG, plain);
    const run = await runKiln(['plan', '--base', 'main'], plain);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/not inside a git repository/);
  });
});

describe('kiln plan --changed and --all', () => {
  it('--changed FILE... takes repo-relative paths', async () => {
    const run = await runKiln(['plan', '--changed', 'README.md', 'models/det.onnx'], repo);
    expect(run.exitCode).toBe(0);
    expect(pairs(matrixOf(run.stdout))).toEqual(['det@cpu', 'det@a10g']);
  });

  it('--all plans every model × target', async () => {
    const run = await runKiln(['plan', '--all'], repo);
    expect(run.exitCode).toBe(0);
    expect(pairs(matrixOf(run.stdout))).toEqual(['det@cpu', 'det@a10g', 'rec@cpu', 'rec@a10g']);
  });

  it('no --base, --changed or --all: exit 2, one line', async () => {
    const run = await runKiln(['plan'], repo);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--base REF, --changed FILE\.\.\. or --all/);
  });

  it('a blank runner label: exit 2 naming the key path', async () => {
    await write('kiln.yaml', CONFIG.replace('[self-hosted, linux, x64]', '[self-hosted, " "]'));
    const run = await runKiln(['plan', '--all'], repo);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('kiln.yaml: targets[0].runs-on: found ["self-hosted"," "]');
  });
});

describe('kiln plan: external data', () => {
  it("a change to a model's .data file alone plans that model (and a stray file beside it does not)", async () => {
    // det and rec become real models whose weights live in models/<name>-w.data and -b.data.
    for (const name of ['det', 'rec']) {
      await writeWeightFile(path.join(repo, 'models'), `${name}-w.data`, [[0, WEIGHTS]]);
      await writeWeightFile(path.join(repo, 'models'), `${name}-b.data`, [[0, BIAS]]);
      const model = matMulAddModel(
        { location: `${name}-w.data`, offset: 0 },
        { location: `${name}-b.data`, offset: 0 },
      );
      await writeFile(path.join(repo, `models/${name}.onnx`), model);
    }
    await commitAll('rec with external data');
    await git(['branch', '-f', 'main', 'HEAD']);
    await writeWeightFile(path.join(repo, 'models'), 'rec-b.data', [[0, BIAS.map((v) => v + 1)]]);
    await write('models/notes.txt', 'not a weight file');
    await commitAll('new rec bias, and a note');
    const run = await runKiln(['plan', '--base', 'main'], repo);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(pairs(matrixOf(run.stdout))).toEqual(['rec@cpu', 'rec@a10g']);
    expect(run.stderr).toContain('rec: external data models/rec-b.data changed');
  });
});
