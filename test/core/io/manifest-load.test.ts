import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import {
  checkManifestAgainstModel,
  loadManifest,
  parseManifest,
} from '../../../src/core/io/manifest-load.js';
import { manifestChannels, normalizeStep, scaleProduct } from '../../../src/core/manifest-schema.js';

const valid = `version: 1
inputs:
  x:
    dtype: float32
    layout: NCHW
    colorOrder: RGB
    steps:
      - resize: { height: 48, width: 192, interpolation: bilinear }
      - scale: 1/255
      - normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }
    range: { min: -1, max: 1 }
`;

function manifestError(text: string): string {
  let caught: unknown;
  try {
    parseManifest(text, 'm.yaml');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  const message = (caught as InputError).message;
  expect(message).not.toContain('\n');
  return message;
}

const model = (dims: Array<number | string | null>, dtype = 'float32') => ({
  inputs: [{ name: 'x', dtype, dims }],
});

function modelError(text: string, description: ReturnType<typeof model> | { inputs: never[] }): string {
  const manifest = parseManifest(text, 'm.yaml');
  let caught: unknown;
  try {
    checkManifestAgainstModel(manifest, description);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  expect((caught as InputError).message).not.toContain('\n');
  return (caught as InputError).message;
}

describe('parseManifest', () => {
  it('reads a valid manifest, turning 1/255 into a number', () => {
    const m = parseManifest(valid, 'm.yaml');
    const x = m.inputs.x!;
    expect(x.steps[1]!.scale).toBeCloseTo(1 / 255, 15);
    expect(scaleProduct(x)).toBeCloseTo(1 / 255, 15);
    expect(normalizeStep(x)).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    expect(manifestChannels(x)).toEqual({ count: 3, from: 'normalize.mean' });
    expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.where(['inputs', 'x', 'range'])).toBe('m.yaml:11: inputs.x.range');
  });

  it.each([
    [
      'a misspelt key',
      valid.replace('colorOrder', 'colourOrder'),
      'm.yaml:6: inputs.x.colourOrder: found an unknown key, expected only dtype, layout, colorOrder, steps, range, values, mask, stats',
    ],
    [
      'an unknown layout',
      valid.replace('layout: NCHW', 'layout: CHW'),
      'm.yaml:5: inputs.x.layout: found "CHW", expected one of "NCHW" | "NHWC" | "NC" | "sequence" | "scalar"',
    ],
    [
      'a missing range',
      valid.replace('    range: { min: -1, max: 1 }\n', ''),
      'm.yaml:3: inputs.x.range: found nothing (key missing), expected range: [min, max], values: [...] or mask: true',
    ],
    [
      'an inverted range',
      valid.replace('min: -1, max: 1', 'min: 1, max: -1'),
      'm.yaml:11: inputs.x.range.max: found -1, expected min < max',
    ],
    [
      'a bad dtype',
      valid.replace('dtype: float32', 'dtype: float'),
      'm.yaml:4: inputs.x.dtype: found "float", expected one of "float32" | "float16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint64" | "uint32" | "uint16" | "uint8" | "bool"',
    ],
    [
      'a step with two keys',
      valid.replace('- scale: 1/255', '- { scale: 1/255, tokenize: { tokenizer: bpe } }'),
      'm.yaml:9: inputs.x.steps[1]: found an object with keys scale, tokenize, expected exactly one step key: resize, scale, normalize, tokenize',
    ],
    [
      'an unknown step',
      valid.replace('- scale: 1/255', '- rescale: 2'),
      'm.yaml:9: inputs.x.steps[1].rescale: found an unknown key, expected only resize, scale, normalize, tokenize (+1 more)',
    ],
    [
      'a scale that is not a number',
      valid.replace('scale: 1/255', 'scale: half'),
      'm.yaml:9: inputs.x.steps[1].scale: found "half", expected a non-zero number or a fraction like 1/255',
    ],
    [
      'mean/std of different lengths',
      valid.replace('std: [0.5, 0.5, 0.5]', 'std: [0.5]'),
      'm.yaml:10: inputs.x.steps[2].normalize.std: found [0.5], expected mean and std of equal length',
    ],
    [
      'a zero std',
      valid.replace('std: [0.5, 0.5, 0.5]', 'std: [0.5, 0, 0.5]'),
      'm.yaml:10: inputs.x.steps[2].normalize.std: found [0.5,0,0.5], expected every std > 0',
    ],
    [
      'an unknown interpolation',
      valid.replace('bilinear', 'cubic'),
      'm.yaml:8: inputs.x.steps[0].resize.interpolation: found "cubic", expected one of "nearest" | "bilinear" | "bicubic" | "area" | "lanczos"',
    ],
    [
      'colorOrder on a sequence',
      valid.replace('layout: NCHW', 'layout: sequence'),
      'm.yaml:6: inputs.x.colorOrder: found "RGB", expected colorOrder only with layout NCHW or NHWC',
    ],
    [
      'a wrong version',
      valid.replace('version: 1', 'version: 2'),
      'm.yaml:1: version: found 2, expected one of 1',
    ],
    [
      'no inputs',
      'version: 1\ninputs: {}\n',
      'm.yaml:2: inputs: found an object with keys (none), expected at least one input',
    ],
  ])('refuses %s in one line naming file, line, key, value and expectation', (_name, text, message) => {
    expect(manifestError(text)).toBe(message);
  });

  it('names the line of invalid YAML', () => {
    expect(manifestError('version: 1\ninputs:\n  x: [\n')).toMatch(/^m\.yaml:\d+: invalid YAML: /);
  });

  it('loadManifest names an unreadable file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-manifest-'));
    await expect(loadManifest(path.join(dir, 'none.yaml'))).rejects.toThrow(
      /none\.yaml: cannot read manifest \(file not found\)/,
    );
    await writeFile(path.join(dir, 'm.yaml'), valid);
    expect((await loadManifest(path.join(dir, 'm.yaml'))).inputs.x!.layout).toBe('NCHW');
  });
});

describe('checkManifestAgainstModel', () => {
  it('accepts a manifest that fits the model (dynamic spatial dims)', () => {
    expect(() =>
      checkManifestAgainstModel(parseManifest(valid, 'm.yaml'), model(['N', 3, 'H', 'W'])),
    ).not.toThrow();
  });

  it('refuses an input the model lacks, and a model input the manifest lacks', () => {
    expect(
      modelError(valid, { inputs: [{ name: 'image', dtype: 'float32', dims: [1, 3, 48, 192] }] } as never),
    ).toBe(
      'm.yaml:3: inputs.x: found an input the model does not have, expected one of the model inputs image (+1 more)',
    );
    const two = {
      inputs: [...model([1, 3, 48, 192]).inputs, { name: 'mask', dtype: 'bool', dims: [1, 48] }],
    };
    expect(modelError(valid, two as never)).toBe(
      "m.yaml:2: inputs: found no entry for model input 'mask' bool, expected every model input described",
    );
  });

  it('refuses a dtype mismatch', () => {
    expect(modelError(valid, model([1, 3, 48, 192], 'float16'))).toBe(
      'm.yaml:4: inputs.x.dtype: found "float32", expected float16 (the model input\'s dtype)',
    );
  });

  it('refuses a layout the model contradicts (channels fixed at the other end)', () => {
    expect(modelError(valid, model(['N', 'H', 'W', 3]))).toBe(
      'm.yaml:5: inputs.x.layout: found "NCHW" (channels at dim 1), expected NHWC: model input \'x\' is [?,?,?,3]',
    );
    expect(modelError(valid, model(['N', 3]))).toBe(
      'm.yaml:5: inputs.x.layout: found "NCHW", expected a layout of rank 2 (model input \'x\' is [?,3])',
    );
  });

  it('refuses mean/std vectors whose length is not the channel count', () => {
    const gray = valid.replace('colorOrder: RGB\n    ', '');
    expect(modelError(gray, model(['N', 1, 48, 192]))).toBe(
      "m.yaml:9: inputs.x.steps[2].normalize.mean: found 3 values, expected 1 (one per channel: model input 'x' is [?,1,48,192], NCHW)",
    );
    const stats = `${valid}    stats: { mean: [0, 0], std: [1, 1] }\n`;
    expect(modelError(stats, model(['N', 3, 48, 192]))).toBe(
      "m.yaml:12: inputs.x.stats.mean: found 2 values, expected 3 (one per channel: model input 'x' is [?,3,48,192], NCHW)",
    );
  });
});
