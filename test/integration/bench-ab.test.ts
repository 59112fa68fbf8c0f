import { execa } from 'execa';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AbResults } from '../../src/core/results.js';
import { PPOCR, runKiln, workspace } from '../helpers/kiln-cli.js';

// Base and head are different real models behind the same name and profile: the classifier at the
// merge base (~1 ms at 64x192) and the detector at head (~3 ms): a regression no noise can explain.
const config = `version: 1
models:
  - name: ocr
    path: models/m.onnx
    profiles: [{ name: w192, shapes: { x: [1, 3, 64, 192] } }]
    golden: { samples: 1 }
gates:
  latency: { metric: p50, maxRegressionPct: 10, confidence: 0.95 }
bench: { warmup: 2, minSamples: 120, maxSamples: 200, budgetMs: 600, stabilityPct: 10 }
`;

async function git(dir: string, ...args: string[]): Promise<void> {
  await execa('git', args, { cwd: dir });
}

describe('kiln bench --base: interleaved A/B against the merge base', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await workspace(config);
    await mkdir(path.join(dir, 'models'));
    await copyFile(PPOCR.cls, path.join(dir, 'models/m.onnx'));
    await git(dir, 'init', '-q', '-b', 'main');
    await git(dir, 'config', 'user.email', 'ci@example.com');
    await git(dir, 'config', 'user.name', 'ci');
    await git(dir, 'add', 'kiln.yaml', 'models');
    await git(dir, 'commit', '-qm', 'base');
    await git(dir, 'checkout', '-qb', 'feature');
  });

  it('the same model at head and base is not a regression', async () => {
    const run = await runKiln(['bench', '--base', 'main', '--json', 'aa.json'], dir);
    expect(run.stderr).toContain('A/B ocr / w192 / fp32: base vs head, interleaved');
    expect(run.exitCode).toBe(0);
    const ab = JSON.parse(await readFile(path.join(dir, 'aa.json'), 'utf8')) as AbResults;
    const [c] = ab.comparisons;
    expect(c?.verdict).not.toBe('regression');
    // At least the first early look (50 per side); how many more depends on the host's speed.
    expect(c?.base?.n).toBeGreaterThanOrEqual(50);
    expect(c?.ci?.[0]).toBeLessThan(1.1);
    // The results say what was timed, which statistic was gated and within what budget.
    expect(c?.measures).toBe('ONNX Runtime CPU wall time per session.run');
    expect(c?.statistic).toBe('p50');
    expect(c?.budgetMs).toBeGreaterThanOrEqual(1200);
  });

  it('a slower model at head fails the latency gate with exit 1 and its confidence interval', async () => {
    await copyFile(PPOCR.det, path.join(dir, 'models/m.onnx'));
    await git(dir, 'commit', '-qam', 'swap in a slower model');
    const run = await runKiln(['bench', '--base', 'main', '--json', 'ab.json'], dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /latency gate failed for 1 engine\(s\); first: ocr\/w192\/fp32 on cpu: regression: p50 \+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\]/,
    );
    // The figures name the statistic compared and how many samples each side had.
    expect(run.stderr).toMatch(/regression: p50 .* \(\d+\.\d+ → \d+\.\d+ ms, n=\d+\/\d+\)/);
    const ab = JSON.parse(await readFile(path.join(dir, 'ab.json'), 'utf8')) as AbResults;
    expect(ab.comparisons[0]?.verdict).toBe('regression');
    expect(ab.comparisons[0]?.ci?.[0]).toBeGreaterThan(1.5);
    expect((await execa('git', ['worktree', 'list'], { cwd: dir })).stdout.split('\n')).toHaveLength(1);
  });

  it('kiln keys --base lists the merge base engines the A/B bench needs, without a worktree left behind', async () => {
    const head = await runKiln(['keys', '--json', 'head-keys.json'], dir);
    const base = await runKiln(['keys', '--base', 'main', '--json', 'base-keys.json'], dir);
    expect([head.exitCode, base.exitCode]).toEqual([0, 0]);
    const read = async (f: string) =>
      JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Array<{ key: string }>;
    const [headKeys, baseKeys] = [await read('head-keys.json'), await read('base-keys.json')];
    expect(headKeys).toHaveLength(1);
    expect(baseKeys).toHaveLength(1);
    // The model at head is the detector, at the merge base the classifier: different engines.
    expect(baseKeys[0]!.key).not.toBe(headKeys[0]!.key);
    expect((await execa('git', ['worktree', 'list'], { cwd: dir })).stdout.split('\n')).toHaveLength(1);
  });

  it('an unknown base ref is one line and exit 2', async () => {
    const run = await runKiln(['bench', '--base', 'mian'], dir);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(/^kiln: --base mian: not a git revision in .*$/);
  });
});
