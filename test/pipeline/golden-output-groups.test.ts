import { describe, expect, it } from 'vitest';
import type { IoSpec } from '../../src/backends/model/onnx-model.js';
import { allocateTensor } from '../../src/core/tensor.js';
import {
  estimatedOutputBytes,
  GOLDEN_GROUP_BYTES,
  goldenGroups,
  outputGroups,
} from '../../src/pipeline/golden-output-groups.js';

const MiB = 1024 ** 2;
const inputs: IoSpec[] = [{ name: 'x', dtype: 'float32', dims: ['N', 1, 'H', 'W'] }];
const sample = { x: allocateTensor('float32', [2, 1, 8, 16]) };

describe('estimatedOutputBytes', () => {
  it('resolves symbolic dims from the inputs that share them', () => {
    expect(
      estimatedOutputBytes({ name: 'y', dtype: 'float32', dims: ['N', 3, 'H', 'W'] }, inputs, sample),
    ).toBe(2 * 3 * 8 * 16 * 4);
    expect(estimatedOutputBytes({ name: 'ids', dtype: 'int64', dims: ['N', 5] }, inputs, sample)).toBe(
      2 * 5 * 8,
    );
  });

  it('is unknown for data-dependent dims, unknown dims, no shape, and non-tensor types', () => {
    const unknown: IoSpec[] = [
      { name: 'boxes', dtype: 'float32', dims: ['num_boxes', 4] },
      { name: 'a', dtype: 'float32', dims: [null, 4] },
      { name: 'b', dtype: 'float32', dims: [], unknownRank: true },
      { name: 'seq', dtype: 'sequence', dims: [], unknownRank: true },
    ];
    expect(unknown.map((o) => estimatedOutputBytes(o, inputs, sample))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('outputGroups', () => {
  it('packs outputs in order within the budget; an unknown or oversized output goes alone', () => {
    const sizes: Record<string, number | undefined> = { a: 6, b: 6, c: undefined, d: 3, e: 20, f: 1, g: 9 };
    expect(outputGroups(Object.keys(sizes), (n) => sizes[n], 12)).toEqual([
      ['a', 'b'],
      ['c'],
      ['d'],
      ['e'],
      ['f', 'g'],
    ]);
  });

  it('twelve 4 MiB outputs run in three groups of four, so one run holds 16 MiB per session', () => {
    const names = Array.from({ length: 12 }, (_, i) => `y${i}`);
    const groups = goldenGroups(
      {
        inputs: [{ name: 'x', dtype: 'float32', dims: [1, 1, 1024, 1024] }],
        outputs: names.map((name) => ({ name, dtype: 'float32', dims: [1, 1, 1024, 1024] })),
      },
      { x: allocateTensor('float32', [1, 1, 1, 1]) },
      names,
    );
    expect(GOLDEN_GROUP_BYTES).toBe(16 * MiB);
    expect(groups.map((g) => g.length)).toEqual([4, 4, 4]);
    expect(groups.flat()).toEqual(names);
  });

  it('a model of small outputs is checked in one run per sample', () => {
    const names = ['logits', 'probs'];
    const groups = goldenGroups(
      { inputs, outputs: names.map((name) => ({ name, dtype: 'float32', dims: ['N', 10] })) },
      sample,
      names,
    );
    expect(groups).toEqual([names]);
  });
});
