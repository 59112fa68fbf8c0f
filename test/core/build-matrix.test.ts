import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildMatrix, runnerLabels } from '../../src/core/build-matrix.js';
import type { RawConfig } from '../../src/core/config-schema.js';
import { InputError } from '../../src/core/errors.js';

type Config = Pick<RawConfig, 'models' | 'targets'>;

const model = (name: string) =>
  ({
    name,
    path: `models/${name}.onnx`,
    profiles: [{ name: 'p', shapes: { x: [1, 2] } }],
    precisions: ['fp32'],
    golden: { samples: 4, seed: 0 },
  }) satisfies Config['models'][number];

const config = (runsOn: Array<string | string[]> = [['self-hosted', 'linux', 'x64'], 'gpu-box']): Config => ({
  models: [model('det'), model('rec'), model('cls')],
  targets: runsOn.map((labels, i) => ({
    name: i === 0 ? 'cpu' : `gpu${i}`,
    'runs-on': labels,
    backend: i === 0 ? 'onnxruntime-cpu' : 'tensorrt',
  })),
});

/** The one-line InputError message that `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('expected an InputError');
}

describe('buildMatrix', () => {
  it('one entry per changed model × target, runs-on always an array', () => {
    expect(buildMatrix(config(), ['rec'], 'kiln.yaml')).toEqual({
      include: [
        {
          target: 'cpu',
          'runs-on': ['self-hosted', 'linux', 'x64'],
          model: 'rec',
          backend: 'onnxruntime-cpu',
        },
        { target: 'gpu1', 'runs-on': ['gpu-box'], model: 'rec', backend: 'tensorrt' },
      ],
    });
  });

  it('nothing changed: an empty include, not an error', () => {
    expect(buildMatrix(config(), [], 'kiln.yaml')).toEqual({ include: [] });
    expect(JSON.stringify(buildMatrix(config(), [], 'kiln.yaml'))).toBe('{"include":[]}');
  });

  it('has only the include key, so fromJSON adds no matrix axis', () => {
    expect(Object.keys(buildMatrix(config(), ['det'], 'kiln.yaml'))).toEqual(['include']);
  });

  it('orders model-major in config order, then targets in config order, whatever the input order', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(['det', 'rec', 'cls']), (models) => {
        const pairs = buildMatrix(config(), models, 'kiln.yaml').include.map((e) => `${e.model}@${e.target}`);
        const expected = ['det', 'rec', 'cls']
          .filter((m) => models.includes(m))
          .flatMap((m) => [`${m}@cpu`, `${m}@gpu1`]);
        expect(pairs).toEqual(expected);
      }),
    );
  });

  it('ignores duplicates in the model list', () => {
    expect(buildMatrix(config(), ['det', 'det'], 'kiln.yaml').include).toHaveLength(2);
  });

  it('entries do not share label arrays (a consumer may mutate one)', () => {
    const { include } = buildMatrix(config(), ['det', 'rec'], 'kiln.yaml');
    include[0]!['runs-on'].push('mutated');
    expect(include[2]!['runs-on']).toEqual(['self-hosted', 'linux', 'x64']);
  });

  it.each([
    { labels: [['self-hosted', '']], key: 'targets[0].runs-on', found: '["self-hosted",""]' },
    { labels: [['self-hosted'], ['gpu', '  ']], key: 'targets[1].runs-on', found: '["gpu","  "]' },
    { labels: [['self-hosted'], ' ', ['x']], key: 'targets[1].runs-on', found: '" "' },
    { labels: [[]], key: 'targets[0].runs-on', found: '[]' },
    { labels: [[' gpu']], key: 'targets[0].runs-on', found: '[" gpu"]' },
    { labels: [['gpu\n']], key: 'targets[0].runs-on', found: '["gpu\\n"]' },
  ])('refuses blank labels in one line naming $key and the value', ({ labels, key, found }) => {
    const message = refusal(() => buildMatrix(config(labels), [], 'ml/kiln.yaml'));
    expect(message).toBe(
      `ml/kiln.yaml: ${key}: found ${found}, expected one or more runner labels, none blank or with surrounding spaces`,
    );
  });
});

describe('runnerLabels', () => {
  it('a single label becomes an array; an array is copied', () => {
    expect(runnerLabels('gpu', 'x')).toEqual(['gpu']);
    const labels = ['a', 'b'];
    const copy = runnerLabels(labels, 'x');
    expect(copy).toEqual(labels);
    expect(copy).not.toBe(labels);
  });
});
