import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PPOCR, runKiln, workspace } from '../helpers/kiln-cli.js';

/**
 * `kiln route` and `kiln profiles suggest` as a user runs them. The config points at a copy of the
 * real PP-OCRv4 detector, but routing reads only the config: the same answers come back when the
 * model file is missing.
 */

const CONFIG = `version: 1
models:
  - name: ocr-det
    path: models/det.onnx
    profiles:
      - name: s384
        shapes: { x: [1, 3, 384, 384] }
      - name: s640
        shapes: { x: [1, 3, 640, 640] }
      - name: b1-8
        min: { x: [1, 3, 384, 384] }
        opt: { x: [4, 3, 384, 384] }
        max: { x: [8, 3, 384, 384] }
  - name: ocr-cls
    path: models/cls.onnx
    profiles:
      - name: w192
        shapes: { x: [1, 3, 48, 192] }
`;

describe('kiln route', () => {
  it('names the profile, the padding per dim and the waste', async () => {
    const dir = await workspace(CONFIG, { 'models/det.onnx': PPOCR.det, 'models/cls.onnx': PPOCR.cls });
    const run = await runKiln(['route', '--model', 'ocr-det', '--shape', 'x=1x3x400x400'], dir);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(
      [
        'ocr-det: x=1x3x400x400 -> profile s640 (x=1x3x640x640)',
        '  pad x: dim 2 +240 (400 -> 640), dim 3 +240 (400 -> 640)',
        '  waste: 748800 padded of 1228800 elements (60.9%)',
      ].join('\n'),
    );

    const json = await runKiln(
      ['route', '-c', 'kiln.yaml', '-m', 'ocr-det', '--shape', 'x=1x3x384x300', '--json'],
      dir,
    );
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      model: 'ocr-det',
      shapes: { x: [1, 3, 384, 300] },
      profile: 's384',
      padding: { x: [0, 0, 0, 84] },
      paddedElements: 3 * 384 * 84,
      wasteRatio: 84 / 384,
    });
  });

  it('serves a ranged profile at its boundaries and refuses one past max', async () => {
    const dir = await workspace(CONFIG, { 'models/det.onnx': PPOCR.det, 'models/cls.onnx': PPOCR.cls });
    const route = async (shape: string) =>
      runKiln(['route', '--model', 'ocr-det', '--shape', shape, '--json'], dir);
    for (const shape of ['x=2x3x384x384', 'x=8x3x384x384']) {
      const run = await route(shape);
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ profile: 'b1-8', paddedElements: 0 });
    }
    // Batch 1 at 384 is served exactly by s384 too; the earlier profile wins the tie.
    expect(JSON.parse((await route('x=1x3x384x384')).stdout)).toMatchObject({ profile: 's384' });
    const text = await runKiln(['route', '--model', 'ocr-det', '--shape', 'x=8x3x384x384'], dir);
    expect(text.stdout).toBe(
      'ocr-det: x=8x3x384x384 -> profile b1-8 (ranged x=1x3x384x384..8x3x384x384), no padding\n  waste: 0 padded of 3538944 elements (0.0%)',
    );
    const past = await route('x=9x3x384x384');
    expect(past.exitCode).toBe(2);
    expect(past.stdout).toBe('');
    expect(past.stderr).toBe(
      'kiln: no profile of model ocr-det serves x=9x3x384x384 (largest: s640 1x3x640x640; ranged b1-8 allows up to 8x3x384x384)',
    );
  });

  it('refuses a shape no profile serves with one line and exit 2, without reading the model', async () => {
    // No model files at all: route must not need them.
    const dir = await workspace(CONFIG);
    const run = await runKiln(['route', '--model', 'ocr-det', '--shape', '1x3x900x900'], dir);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      'kiln: no profile of model ocr-det serves x=1x3x900x900 (largest: s640 1x3x640x640; ranged b1-8 allows up to 8x3x384x384)',
    );
    const ok = await runKiln(['route', '--model', 'ocr-cls', '--shape', 'x=1x3x48x192'], dir);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toContain('-> profile w192');
  });

  it('pads dims named by --pad-dims that the profiles do not vary', async () => {
    const dir = await workspace(CONFIG);
    const refused = await runKiln(['route', '--model', 'ocr-cls', '--shape', 'x=1x3x48x100'], dir);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toBe(
      'kiln: no profile of model ocr-cls serves x=1x3x48x100 (largest: w192 1x3x48x192); x dim 3 is not padded (equal in every profile, so taken as static)',
    );
    const padded = await runKiln(
      ['route', '--model', 'ocr-cls', '--shape', 'x=1x3x48x100', '--pad-dims', 'x=3', '--json'],
      dir,
    );
    expect(padded.exitCode).toBe(0);
    expect(JSON.parse(padded.stdout)).toMatchObject({ profile: 'w192', padding: { x: [0, 0, 0, 92] } });
  });

  it('exits 2 on bad arguments, each with one line', async () => {
    const dir = await workspace(CONFIG);
    const cases: [string[], string][] = [
      [
        ['route', '--shape', 'x=1x3x8x8'],
        'kiln: kiln route: kiln.yaml has 2 models; pick one with --model (ocr-det, ocr-cls)',
      ],
      [
        ['route', '--model', 'nope', '--shape', 'x=1'],
        'kiln: --model nope: no such model in kiln.yaml (models: ocr-det, ocr-cls)',
      ],
      [
        ['route', '--model', 'ocr-det'],
        'kiln: kiln route: give the request shape, e.g. --shape x=1x3x400x400',
      ],
      [
        ['route', '--model', 'ocr-det', '--shape', 'x=1x3xax8'],
        'kiln: --shape x=1x3xax8: expected NAME=DxDx...',
      ],
      [
        ['route', '--model', 'ocr-det', '--shape', 'y=1x3x8x8'],
        "kiln: model ocr-det has no input 'y' (inputs: x)",
      ],
      [
        ['route', '--model', 'ocr-det', '--shape', 'x=1x3x8'],
        'kiln: x=1x3x8 has rank 3, but the profiles of model ocr-det give x rank 4',
      ],
      [
        ['route', '--model', 'ocr-det', '--shape', 'x=1x3x8x8', '--shape', 'x=1x3x8x8'],
        "kiln: --shape x=1x3x8x8: input 'x' is given twice",
      ],
      [
        ['route', '--model', 'ocr-det', '--shape', 'x=1x3x8x8', '--pad-dims', 'x=a'],
        'kiln: --pad-dims x=a: expected NAME=I,J',
      ],
      [
        ['route', '--config', 'missing.yaml', '--shape', 'x=1'],
        'kiln: missing.yaml: cannot read config (file not found)',
      ],
      [['route', '--bogus'], "kiln route: unknown option '--bogus'"],
    ];
    for (const [args, first] of cases) {
      const run = await runKiln(args, dir);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0], args.join(' ')).toContain(first);
      expect(run.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('kiln profiles suggest', () => {
  it('proposes buckets from a CSV histogram and prints a profiles block kiln.yaml accepts', async () => {
    const dir = await workspace(CONFIG);
    await writeFile(
      path.join(dir, 'shapes.csv'),
      'shape,count\n1x3x48x320,500\n1x3x48x160,300\n1x3x48x640,50\n1x3x48x480,100\n1x3x48x200,200\n',
    );
    const run = await runKiln(['profiles', 'suggest', '--shapes', 'shapes.csv', '--engines', '2'], dir);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('1150 requests, 5 distinct shape(s), varying x dim 3');
    expect(run.stdout).toContain('exact (dynamic program over one varying dim)');
    expect(run.stdout).toMatch(/s320 +1x3x48x320 +1000 \(87\.0%\) +22\.5%/);
    expect(run.stdout).toMatch(/s640 +1x3x48x640 +150 \(13\.0%\) +16\.7%/);
    const block = run.stdout.slice(run.stdout.indexOf('profiles:\n'));
    expect(parse(block)).toEqual({
      profiles: [
        { name: 's320', shapes: { x: [1, 3, 48, 320] } },
        { name: 's640', shapes: { x: [1, 3, 48, 640] } },
      ],
    });
    // Pasted into a config, kiln route agrees with the buckets.
    const config = `version: 1\nmodels:\n  - name: rec\n    path: rec.onnx\n${block.replace(/^(?=.)/gm, '    ')}`;
    const routed = await workspace(config);
    const route = await runKiln(['route', '--shape', 'x=1x3x48x200', '--json'], routed);
    expect(route.exitCode).toBe(0);
    expect(JSON.parse(route.stdout)).toMatchObject({ profile: 's320', padding: { x: [0, 0, 0, 120] } });
  });

  it('takes JSON with named inputs, says when it uses the heuristic, and --json for machines', async () => {
    const dir = await workspace(CONFIG);
    await writeFile(
      path.join(dir, 'shapes.json'),
      JSON.stringify([
        { shape: '1x3x384x512', count: 120 },
        { shape: [1, 3, 512, 384], count: 100 },
        { shape: [1, 3, 640, 640], count: 10 },
        { shape: [1, 3, 384, 384], count: 300 },
      ]),
    );
    const text = await runKiln(
      ['profiles', 'suggest', '--shapes', 'shapes.json', '-k', '2', '--input', 'image'],
      dir,
    );
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(
      'heuristic (greedy merge by least added waste, then refinement; not guaranteed optimal)',
    );
    expect(text.stdout).toContain('shapes: { image: [1, 3, 384, 512] }');
    const json = await runKiln(['profiles', 'suggest', '--shapes', 'shapes.json', '-k', '9', '--json'], dir);
    expect(json.exitCode).toBe(0);
    const result = JSON.parse(json.stdout) as { method: string; buckets: unknown[]; paddedElements: number };
    expect(result.method).toBe('heuristic');
    expect(result.buckets).toHaveLength(4);
    expect(result.paddedElements).toBe(0);
  });

  it('exits 2 on a bad histogram or arguments, naming the line', async () => {
    const dir = await workspace(CONFIG);
    await writeFile(path.join(dir, 'bad.csv'), '1x3x8x8,5\n1x3x8,2\n');
    await writeFile(path.join(dir, 'typo.csv'), '1x3x8x8,5\n1x3x8y8,2\n');
    const cases: [string[], string][] = [
      [
        ['profiles', 'suggest', '--shapes', 'bad.csv'],
        'kiln: bad.csv: shape 2 (x=1x3x8): x has rank 3, but shape 1 gives it rank 4',
      ],
      [['profiles', 'suggest', '--shapes', 'typo.csv'], 'kiln: typo.csv:2: shape "1x3x8y8": expected dims'],
      [
        ['profiles', 'suggest', '--shapes', 'none.csv'],
        'kiln: none.csv: cannot read shapes file (--shapes) (file not found)',
      ],
      [
        ['profiles', 'suggest', '--shapes', 'bad.csv', '--engines', '0'],
        'kiln: --engines 0: expected a whole number',
      ],
      [['profiles', 'suggest'], 'kiln: kiln profiles suggest: give the observed shapes with --shapes FILE'],
      [['profiles', 'advise'], "kiln: kiln profiles: unknown subcommand 'advise'"],
    ];
    for (const [args, first] of cases) {
      const run = await runKiln(args, dir);
      expect(run.exitCode, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0], args.join(' ')).toContain(first);
    }
  });
});
