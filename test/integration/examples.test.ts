import { execa } from 'execa';
import { cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../src/core/io/npy-files.js';
import type { BuildResults } from '../../src/core/results.js';
import { ROOT, runKiln } from '../helpers/kiln-cli.js';

/**
 * The bundled examples as a user meets them after `npm ci` (which copies their models and writes
 * their golden data: scripts/example-models.js): the docs' `kiln skew` commands on examples/ocr, and a
 * build of examples/vad. The OCR example's own build is what `.ci/run` runs, twice.
 */

const temps: string[] = [];
const temp = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-examples-'));
  temps.push(dir);
  return dir;
};
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Every file under `dir` with its bytes, for comparing two generated trees. */
async function tree(dir: string): Promise<Map<string, Buffer>> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  return new Map(
    await Promise.all(
      files.map(async (e) => {
        const file = path.join(e.parentPath, e.name);
        return [path.relative(dir, file), await readFile(file)] as const;
      }),
    ),
  );
}

describe('examples/ocr: a preprocessing manifest per model, data from rendered text lines', () => {
  it.each([
    ['det', 'examples/ocr/golden/det/s384'],
    ['det', 'examples/ocr/calibration/det'],
    ['rec', 'examples/ocr/golden/rec/w160-640'],
    ['cls', 'examples/ocr/golden/cls/b1'],
    ['cls', 'examples/ocr/golden/cls/b8'],
  ])('kiln skew --manifest examples/ocr/manifests/%s.yaml --inputs %s passes', async (model, inputs) => {
    const run = await runKiln(
      ['skew', '--manifest', `examples/ocr/manifests/${model}.yaml`, '--inputs', inputs],
      ROOT,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^x: \d+ sample\(s\), values in .*: ok$/);
    expect(run.exitCode).toBe(0);
  });

  it('kiln skew names the detector pages fed to the recognizer as out of its range, exit 1', async () => {
    const run = await runKiln(
      ['skew', '--manifest', 'examples/ocr/manifests/rec.yaml', '--inputs', 'examples/ocr/golden/det/s384'],
      ROOT,
    );
    expect(run.stdout).toContain('SKEW (out-of-range)');
    expect(run.stderr).toMatch(
      /^kiln: skew: input 'x': values in \[-1\.4\d*, 2\.4\d*\] .*expected \[-1, 1\]/,
    );
    expect(run.exitCode).toBe(1);
  });

  it('make-data.js writes the same golden and calibration files again, text on paper rather than noise', async () => {
    const out = await temp();
    const made = await execa('node', [path.join(ROOT, 'examples', 'ocr', 'make-data.js'), out]);
    expect(made.stdout).toContain('from 10 text lines');
    for (const folder of ['golden', 'calibration']) {
      const [again, shipped] = [
        await tree(path.join(out, folder)),
        await tree(path.join(ROOT, 'examples', 'ocr', folder)),
      ];
      expect([...again.keys()].sort()).toEqual([...shipped.keys()].sort());
      for (const [file, bytes] of again) expect(bytes.equals(shipped.get(file)!), file).toBe(true);
    }
    // A rendered line is mostly paper (1 after (v / 255 - 0.5) / 0.5) with dark ink strokes near -1.
    const line = await readNpy(path.join(out, 'golden', 'rec', 'w160-640', '1', 'x.npy'));
    expect(line.shape).toEqual([1, 3, 48, 320]);
    const values = Array.from(line.data as Float32Array);
    const paper = values.filter((v) => v > 0.9).length / values.length;
    const ink = values.filter((v) => v < -0.5).length / values.length;
    expect(paper).toBeGreaterThan(0.5);
    expect(ink).toBeGreaterThan(0.03);
  });
});

describe('examples/vad: Silero VAD v5, a rank-0 sample rate and a recurrent state', () => {
  it('builds with golden steps at both sample rates, stores the engine, then is a cache hit', async () => {
    const model = path.join(ROOT, 'examples', 'vad', 'models', 'silero_vad_v5.onnx');
    const copied = await stat(model).catch(() => null);
    expect(
      copied?.isFile(),
      `${model}: missing; npm ci copies it from the @ricky0123/vad-web devDependency`,
    ).toBe(true);
    const dir = path.join(await temp(), 'vad');
    await cp(path.join(ROOT, 'examples', 'vad'), dir, {
      recursive: true,
      filter: (source) => !['.kiln', 'golden'].includes(path.basename(source)),
    });
    const made = await execa('node', [path.join(ROOT, 'examples', 'vad', 'make-golden.js'), dir]);
    expect(made.stdout).toMatch(/16000 Hz: speech 0\.\d+ at step \d+; 8000 Hz/);

    const first = await runKiln(['build', '--config', 'kiln.yaml', '--json', 'first.json'], dir);
    expect(first.stderr).toContain('[1/1] silero-vad / chunk256-8k-to-512-16k / fp32');
    expect(first.stderr).toContain('golden   pass, 6 npy samples');
    expect(first.exitCode).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'first.json'), 'utf8')) as BuildResults;
    const [engine] = results.engines;
    expect(results.engines).toHaveLength(1);
    expect(engine!.golden.source).toBe('npy');
    expect(engine!.golden.outputs.map((o) => [o.output, o.pass])).toEqual([
      ['output', true],
      ['stateN', true],
    ]);

    // The reference outputs stored with the engine: the stream's first step is silence, the peak
    // step at 16 kHz is speech, so the golden check ran the model on both decisions.
    const golden = path.join(path.dirname(engine!.enginePath), 'golden');
    const speech = async (n: number) =>
      (await readNpy(path.join(golden, String(n), 'out-output.npy'))).data[0];
    expect(await speech(0)).toBeLessThan(0.2);
    expect(await speech(1)).toBeGreaterThan(0.5);
    const rates = await Promise.all(
      [0, 3].map(async (n) => Number((await readNpy(path.join(golden, String(n), 'in-sr.npy'))).data[0])),
    );
    expect(rates).toEqual([16000, 8000]);

    const second = await runKiln(['build', '--config', 'kiln.yaml'], dir);
    expect(second.stderr).toContain('kiln: 1 engines: 1 cache hits, 0 built, 0 failed golden');
    expect(second.exitCode).toBe(0);
  }, 120_000);
});
