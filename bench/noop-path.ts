/**
 * The no-op path as a user waits for it, whole `kiln` processes: a cache-hit build of the example
 * against bare `node` startup and against a cold build; `kiln keys` over a generated repository of
 * ten models, cold (no hash index) and warm, with one and four targets; `kiln keys --base`.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import onnxProto from 'onnx-proto';
import { diagnosticLine, line, median } from './measure.js';

const { onnx } = onnxProto;
const MODELS = 10;
const MODEL_BYTES = 30 * 1024 * 1024;

/** Wall time of one process, ms; a failed run stops the bench with its stderr. */
async function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const start = performance.now();
  const run = await execa(process.execPath, args, { cwd, env: { ...process.env, ...env }, reject: false });
  const ms = performance.now() - start;
  if (run.exitCode !== 0) throw new Error(`${args.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  return ms;
}

const spread = (xs: number[], digits = 0) =>
  `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

/** A model whose single weight is `bytes` of random float32 data: real bytes, nothing sparse. */
function bigModel(bytes: number): Uint8Array {
  const count = bytes / 4;
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'noop-bench',
      node: [
        { opType: 'ReduceSum', input: ['w'], output: ['s'], name: 'sum' },
        { opType: 'Add', input: ['x', 's'], output: ['y'], name: 'add' },
      ],
      initializer: [{ name: 'w', dims: [count], dataType: 1, rawData: randomBytes(bytes) }],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }],
    },
  }).finish();
}

function keysConfig(targets: number): string {
  const models = Array.from(
    { length: MODELS },
    (_, i) =>
      `  - name: m${i}\n    path: models/m${i}.onnx\n    profiles: [{ name: p, shapes: { x: [1] } }]\n`,
  ).join('');
  const targetList = Array.from(
    { length: targets },
    (_, i) => `  - name: cpu${i}\n    runs-on: [self-hosted]\n    backend: onnxruntime-cpu\n`,
  ).join('');
  return `version: 1\nmodels:\n${models}targets:\n${targetList}`;
}

async function git(cwd: string, ...args: string[]): Promise<void> {
  await execa('git', ['-c', 'core.compression=0', ...args], { cwd });
}

/** Rows for `npm run bench`. */
export async function noopPathFigures(root: string, work: string): Promise<string[]> {
  const kiln = path.join(root, 'bin', 'kiln.js');
  const rows: string[] = [];
  const bare = () => timed(['-e', '0'], root, {});

  // Cache-hit build of the example, whole processes.
  const example = path.join(work, 'noop-example');
  await cp(path.join(root, 'examples', 'ocr'), example, {
    recursive: true,
    filter: (s) => !s.includes('.kiln'),
  });
  const exampleEnv = { KILN_HASH_INDEX: path.join(work, 'noop-example-index.json') };
  const old = new Date(Date.now() - 60_000);
  for (const model of ['det', 'rec', 'cls'])
    await utimes(path.join(example, 'models', `${model}.onnx`), old, old);
  const cold = await timed([kiln, 'build'], example, exampleEnv);
  const hits: number[] = [];
  const nodes: number[] = [];
  for (let i = 0; i < 6; i++) {
    hits.push(await timed([kiln, 'build'], example, exampleEnv));
    nodes.push(await bare());
  }
  const above = hits.map((h, i) => h - nodes[i]!);
  const hitVsCold = median(hits) / cold;
  rows.push(
    line(
      'cache-hit kiln build vs cold, example (process)',
      hitVsCold,
      '<= 0.03',
      hitVsCold <= 0.03,
      `${median(hits).toFixed(0)} ms (${spread(hits)}) vs ${(cold / 1000).toFixed(1)} s`,
    ),
    line(
      'cache-hit build above bare node startup (s)',
      median(above) / 1000,
      '<= 0.3',
      median(above) <= 300,
      `${median(above).toFixed(0)} ms above node's ${median(nodes).toFixed(0)} ms (spread ${spread(above)} ms)`,
    ),
  );

  // kiln keys on ten generated models.
  const repo = path.join(work, 'noop-repo');
  await mkdir(path.join(repo, 'models'), { recursive: true });
  for (let i = 0; i < MODELS; i++)
    await writeFile(path.join(repo, 'models', `m${i}.onnx`), bigModel(MODEL_BYTES));
  await writeFile(path.join(repo, 'kiln.yaml'), keysConfig(4));
  // Past the racy window, so the first run's hashes are remembered.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const gb = (MODELS * MODEL_BYTES) / 1e9;
  const index = path.join(work, 'noop-repo-index.json');
  for (const [targets, args] of [
    [1, ['keys', '--target', 'cpu0']],
    [4, ['keys']],
  ] as const) {
    const coldRuns: number[] = [];
    const warmRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      await rm(index, { force: true });
      coldRuns.push(await timed([kiln, ...args], repo, { KILN_HASH_INDEX: index }));
      warmRuns.push(await timed([kiln, ...args], repo, { KILN_HASH_INDEX: index }));
    }
    const coldGbs = gb / (median(coldRuns) / 1000);
    rows.push(
      line(
        `kiln keys, ${MODELS} models ${gb.toFixed(2)} GB, ${targets} target${targets > 1 ? 's' : ''}, cold (GB/s)`,
        coldGbs,
        '>= 0.75',
        coldGbs >= 0.75,
        `${median(coldRuns).toFixed(0)} ms (${spread(coldRuns)}), no hash index; files in page cache`,
      ),
      line(
        `same, warm hash index (s)`,
        median(warmRuns) / 1000,
        '<= 0.2',
        median(warmRuns) <= 200,
        `${median(warmRuns).toFixed(0)} ms (${spread(warmRuns)}), node alone ${median(nodes).toFixed(0)} ms`,
      ),
    );
  }

  // kiln keys --base: one model changed since the merge base.
  await writeFile(path.join(repo, '.gitignore'), '.kiln\n');
  await git(repo, 'init', '--quiet', '--initial-branch=main');
  await git(repo, 'config', 'user.email', 'bench@example.com');
  await git(repo, 'config', 'user.name', 'bench');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '--quiet', '--no-gpg-sign', '-m', 'base');
  await writeFile(path.join(repo, 'models', 'm0.onnx'), bigModel(MODEL_BYTES));
  await git(repo, 'commit', '--quiet', '--no-gpg-sign', '-am', 'head');
  const base: number[] = [];
  const head: number[] = [];
  for (let i = 0; i < 3; i++) {
    base.push(
      await timed([kiln, 'keys', '--target', 'cpu0', '--base', 'HEAD~1'], repo, { KILN_HASH_INDEX: index }),
    );
    head.push(await timed([kiln, 'keys', '--target', 'cpu0'], repo, { KILN_HASH_INDEX: index }));
  }
  rows.push(
    diagnosticLine(
      'kiln keys --base vs kiln keys (warm), 1 changed',
      median(base) / median(head),
      `${median(base).toFixed(0)} ms (${spread(base)}) vs ${median(head).toFixed(0)} ms`,
    ),
  );
  return rows;
}
