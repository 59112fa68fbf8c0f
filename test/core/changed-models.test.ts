import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  allModels,
  changedModels,
  normalizeRepoPath,
  type ChangeInput,
} from '../../src/core/changed-models.js';
import { parseConfig, type KilnConfig } from '../../src/core/io/config-load.js';

/** A repository that does not exist on disk: changedModels is pure, and parseConfig only resolves paths. */
const REPO = path.resolve('/kiln-plan-test-repo');

interface Raw {
  [key: string]: unknown;
  models: Array<Record<string, unknown>>;
}

const det = () => ({
  name: 'det',
  path: 'models/det.onnx',
  manifest: 'models/det.manifest.yaml',
  profiles: [{ name: 's384', shapes: { x: [1, 3, 384, 384] } }],
  precisions: ['fp32', 'int8'],
  calibration: { data: 'calib/det/' },
  golden: { inputs: 'golden/det/', samples: 2 },
});
const rec = () => ({
  name: 'rec',
  path: 'models/rec.onnx',
  profiles: [{ name: 'w320', shapes: { x: [1, 3, 48, 320] } }],
});
const raw = (): Raw => ({
  version: 1,
  models: [det(), rec()],
  targets: [
    { name: 'cpu', 'runs-on': ['self-hosted', 'linux', 'x64'], backend: 'onnxruntime-cpu' },
    { name: 'a10g', 'runs-on': ['self-hosted', 'linux', 'gpu', 'sm86'], backend: 'tensorrt' },
  ],
});

/** Parses a config object as `<REPO>/<folder>/kiln.yaml`. */
function config(data: Raw, folder = ''): KilnConfig {
  return parseConfig(stringify(data), 'kiln.yaml', path.join(REPO, folder));
}

function plan(head: KilnConfig, changedFiles: string[], base?: KilnConfig | null) {
  const input: ChangeInput = { repoRoot: REPO, head, changedFiles, ...(base === undefined ? {} : { base }) };
  return changedModels(input);
}

/** `{ model: reasons }` of the changed models. */
function reasons(result: ReturnType<typeof changedModels>): Record<string, string[]> {
  return Object.fromEntries(result.changed.map((c) => [c.model, c.reasons]));
}

describe('changedModels: files', () => {
  const head = config(raw());

  it('the model file', () => {
    expect(reasons(plan(head, ['models/det.onnx'], head))).toEqual({
      det: ['model file models/det.onnx changed'],
    });
  });

  it('the manifest', () => {
    expect(reasons(plan(head, ['models/det.manifest.yaml'], head))).toEqual({
      det: ['manifest models/det.manifest.yaml changed'],
    });
  });

  it('any file under the calibration data folder, counted', () => {
    expect(reasons(plan(head, ['calib/det/a.npy', 'calib/det/sub/b.npy'], head))).toEqual({
      det: ['calibration data calib/det/ (2 files) changed'],
    });
  });

  it('any file under the golden inputs folder', () => {
    expect(reasons(plan(head, ['golden/det/s384/x.npy'], head))).toEqual({
      det: ['golden inputs golden/det/ (1 file) changed'],
    });
  });

  it('an external-data file of the model (its .onnx unchanged), and not a stray file beside it', () => {
    const externalData = new Map([['det', { files: ['models/det.data', 'models/w/det-conv.data'] }]]);
    const only = (files: string[]) =>
      reasons(changedModels({ repoRoot: REPO, head, base: head, changedFiles: files, externalData }));
    expect(only(['models/w/det-conv.data'])).toEqual({
      det: ['external data models/w/det-conv.data changed'],
    });
    expect(only(['models/notes.txt'])).toEqual({});
  });

  it('a model whose external data could not be read is built, not skipped (fail closed)', () => {
    const externalData = new Map([['det', { unreadable: 'models/det.onnx: not a valid ONNX model' }]]);
    const result = changedModels({
      repoRoot: REPO,
      head,
      base: head,
      changedFiles: ['models/x.data'],
      externalData,
    });
    expect(reasons(result)).toEqual({
      det: ['model file models/det.onnx unreadable (models/det.onnx: not a valid ONNX model)'],
    });
  });

  it('a sibling folder sharing a prefix does not count as inside', () => {
    expect(
      plan(head, ['calib/det2/a.npy', 'golden/detail.txt', 'models/det.onnx.bak'], head).changed,
    ).toEqual([]);
  });

  it('several reasons for one model, several models, in config order', () => {
    const result = plan(head, ['models/rec.onnx', 'models/det.onnx', 'golden/det/s384/x.npy'], head);
    expect(result.changed.map((c) => c.model)).toEqual(['det', 'rec']);
    expect(reasons(result).det).toEqual([
      'model file models/det.onnx changed',
      'golden inputs golden/det/ (1 file) changed',
    ]);
  });

  it('accepts ./ prefixes, doubled slashes and duplicates in the changed list', () => {
    expect(reasons(plan(head, ['./models//det.onnx', 'models/det.onnx'], head))).toEqual({
      det: ['model file models/det.onnx changed'],
    });
    expect(normalizeRepoPath('./a//b/')).toBe('a/b');
    expect(normalizeRepoPath('a\\b')).toBe('a/b');
  });

  it('a renamed model file: the old and new paths both appear (git diff --no-renames), the config entry moved', () => {
    const before = config(raw());
    const data = raw();
    data.models[0]!.path = 'models/det-v2.onnx';
    const after = config(data);
    expect(reasons(plan(after, ['models/det.onnx', 'models/det-v2.onnx'], before))).toEqual({
      det: ['config entry changed (path)', 'model file models/det-v2.onnx changed'],
    });
  });

  it('a file renamed away from a model path still marks that model (its file is gone)', () => {
    expect(reasons(plan(head, ['models/det.onnx', 'archive/det.onnx'], head))).toEqual({
      det: ['model file models/det.onnx changed'],
    });
  });
});

describe('changedModels: a config in a sub-folder of the repository', () => {
  const head = config(raw(), 'ml/ocr');

  it('compares repo-relative paths', () => {
    expect(reasons(plan(head, ['ml/ocr/models/rec.onnx', 'ml/ocr/calib/det/a.npy'], head))).toEqual({
      det: ['calibration data ml/ocr/calib/det/ (1 file) changed'],
      rec: ['model file ml/ocr/models/rec.onnx changed'],
    });
  });

  it('the same path relative to the repo root is a different file', () => {
    expect(plan(head, ['models/rec.onnx', 'ocr/models/rec.onnx'], head).changed).toEqual([]);
  });

  it('names the config by its repo path', () => {
    expect(reasons(plan(head, ['ml/ocr/kiln.yaml'], null)).rec).toEqual(['config ml/ocr/kiln.yaml is new']);
  });
});

describe('changedModels: the config', () => {
  it('an unchanged config, even re-ordered or with defaults spelt out, changes nothing', () => {
    const data = raw();
    data.models[1] = { ...rec(), precisions: ['fp32'], golden: { samples: 4, seed: 0 } };
    data.bench = { warmup: 5 };
    const result = plan(config(data), ['kiln.yaml'], config(raw()));
    expect(result).toEqual({ changed: [], removed: [], notes: [] });
  });

  it('a changed entry names the keys that changed', () => {
    const data = raw();
    data.models[1]!.precisions = ['fp16'];
    data.models[1]!.profiles = [{ name: 'w640', shapes: { x: [1, 3, 48, 640] } }];
    expect(reasons(plan(config(data), ['kiln.yaml'], config(raw())))).toEqual({
      rec: ['config entry changed (precisions, profiles)'],
    });
  });

  it('a nested setting (golden tolerance) changes the entry', () => {
    const data = raw();
    data.models[0]!.golden = { ...det().golden, tolerance: { atol: 1e-3, rtol: 1e-2 } };
    expect(reasons(plan(config(data), ['kiln.yaml'], config(raw())))).toEqual({
      det: ['config entry changed (golden)'],
    });
  });

  it('a new model is changed; a removed one is reported, not built', () => {
    const data = raw();
    data.models = [{ ...rec(), name: 'cls', path: 'models/cls.onnx' }, rec()];
    const result = plan(config(data), ['kiln.yaml', 'models/cls.onnx'], config(raw()));
    expect(reasons(result)).toEqual({
      cls: ['new model in kiln.yaml', 'model file models/cls.onnx changed'],
    });
    expect(result.removed).toEqual([{ model: 'det', reasons: ['removed from kiln.yaml: not built'] }]);
  });

  it('a config that is new at the base marks every model', () => {
    expect(reasons(plan(config(raw()), ['kiln.yaml'], null))).toEqual({
      det: ['config kiln.yaml is new'],
      rec: ['config kiln.yaml is new'],
    });
  });

  it('bench settings rebuild every model (the latency figures depend on them)', () => {
    const data = raw();
    data.bench = { warmup: 1, budgetMs: 500 };
    expect(reasons(plan(config(data), ['kiln.yaml'], config(raw())))).toEqual({
      det: ['bench settings changed (budgetMs, warmup)'],
      rec: ['bench settings changed (budgetMs, warmup)'],
    });
  });

  it('an added or edited target rebuilds every model', () => {
    const data = raw();
    (data.targets as Array<Record<string, unknown>>)[1]!.expect = { computeCapability: '8.6' };
    (data.targets as unknown[]).push({ name: 'l4', 'runs-on': ['self-hosted', 'sm89'], backend: 'tensorrt' });
    expect(reasons(plan(config(data), ['kiln.yaml'], config(raw())))).toEqual({
      det: ['targets changed (added l4; a10g changed)'],
      rec: ['targets changed (added l4; a10g changed)'],
    });
  });

  it('a removed or re-ordered target builds nothing, and says so', () => {
    const data = raw();
    data.targets = [
      { name: 'a10g', 'runs-on': ['self-hosted', 'linux', 'gpu', 'sm86'], backend: 'tensorrt' },
    ];
    const removed = plan(config(data), ['kiln.yaml'], config(raw()));
    expect(removed.changed).toEqual([]);
    expect(removed.notes).toEqual(['target cpu removed: nothing to build for that']);
    const swapped = raw();
    swapped.targets = [...(raw().targets as unknown[])].reverse();
    expect(plan(config(swapped), ['kiln.yaml'], config(raw()))).toEqual({
      changed: [],
      removed: [],
      notes: [],
    });
  });

  it('gates affect reporting only: nothing rebuilt, a note says so', () => {
    const data = raw();
    data.gates = { golden: 'warn', latency: { maxRegressionPct: 5 } };
    const result = plan(config(data), ['kiln.yaml'], config(raw()));
    expect(result.changed).toEqual([]);
    expect(result.notes).toEqual([
      'gates changed: they apply when results are reported, so nothing is rebuilt for them',
    ]);
  });

  it('a changed store rebuilds nothing', () => {
    const data = raw();
    data.store = 'engines';
    const result = plan(config(data), ['kiln.yaml'], config(raw()));
    expect(result.changed).toEqual([]);
    expect(result.notes).toEqual(['store changed: engines are found by key, so nothing is rebuilt for it']);
  });

  it('without a base (plain --changed), a changed config file rebuilds everything', () => {
    const head = config(raw());
    expect(reasons(plan(head, ['kiln.yaml']))).toEqual({
      det: ['config kiln.yaml changed (no base to compare its entries with)'],
      rec: ['config kiln.yaml changed (no base to compare its entries with)'],
    });
    expect(reasons(plan(head, ['models/rec.onnx']))).toEqual({ rec: ['model file models/rec.onnx changed'] });
  });
});

describe('allModels', () => {
  it('marks every model, in config order', () => {
    expect(allModels(config(raw())).changed).toEqual([
      { model: 'det', reasons: ['every model is built (--all)'] },
      { model: 'rec', reasons: ['every model is built (--all)'] },
    ]);
  });
});

describe('changedModels: property', () => {
  const head = config(raw(), 'ml');
  /** Paths a model depends on, exactly or as a folder prefix. */
  const referenced = (file: string) =>
    ['ml/models/det.onnx', 'ml/models/det.manifest.yaml', 'ml/models/rec.onnx', 'ml/kiln.yaml'].includes(
      file,
    ) ||
    file.startsWith('ml/calib/det/') ||
    file.startsWith('ml/golden/det/') ||
    file === 'ml/calib/det' ||
    file === 'ml/golden/det';
  const segment = fc.constantFrom(
    'ml',
    'models',
    'calib',
    'golden',
    'det',
    'rec',
    'x.npy',
    'det.onnx',
    'a b',
    'é',
  );
  const file = fc
    .array(segment, { minLength: 1, maxLength: 5 })
    .map((parts) => parts.join('/'))
    .filter((f) => !referenced(f));

  it('a change to files no model references never marks a model', () => {
    fc.assert(
      fc.property(fc.array(file, { maxLength: 20 }), (files) => {
        const result = plan(head, files, head);
        expect(result).toEqual({ changed: [], removed: [], notes: [] });
      }),
      { numRuns: 300 },
    );
  });

  it('adding a referenced file to any change marks its model', () => {
    fc.assert(
      fc.property(fc.array(file, { maxLength: 10 }), fc.nat(), (files, at) => {
        const withModel = [...files];
        withModel.splice(at % (files.length + 1), 0, 'ml/models/rec.onnx');
        expect(plan(head, withModel, head).changed.map((c) => c.model)).toEqual(['rec']);
      }),
    );
  });
});
