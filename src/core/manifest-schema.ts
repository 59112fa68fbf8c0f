import { z } from 'zod';
import { TENSOR_DTYPES, type TensorDtype } from './tensor.js';

/**
 * The preprocessing manifest schema (docs/architecture.md "Preprocessing manifest"): per model input, what the
 * model saw in training. Objects are strict, like kiln.yaml's, because a misspelt key (`colourOrder`)
 * silently ignored is exactly the kind of skew the manifest exists to catch.
 */

export const LAYOUTS = ['NCHW', 'NHWC', 'NC', 'sequence', 'scalar'] as const;
export type Layout = (typeof LAYOUTS)[number];
export const INTERPOLATIONS = ['nearest', 'bilinear', 'bicubic', 'area', 'lanczos'] as const;
export const STEP_KINDS = ['resize', 'scale', 'normalize', 'tokenize'] as const;

const finite = z.number().refine(Number.isFinite, 'a finite number');

/** What each integer dtype holds: a listed value outside it would wrap silently when written. */
const INTEGER_BOUNDS: Partial<Record<TensorDtype, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  bool: [0, 1],
};
const positiveInt = z.number().int().positive();
const perChannel = z.array(finite).min(1);

/**
 * `scale: 0.00392156862745098` or `scale: 1/255`: YAML reads `1/255` as a string, and people write
 * the fraction (it is what the training code says), so accept both and keep the number.
 */
const scaleFactor = z
  .union([
    finite.refine((v) => v !== 0, 'a non-zero number'),
    z.string().regex(/^\s*\d+(\.\d+)?\s*\/\s*\d+(\.\d+)?\s*$/, 'a non-zero number or a fraction like 1/255'),
  ])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const [a, b] = v.split('/').map(Number) as [number, number];
    return a / b;
  })
  .refine((v) => Number.isFinite(v) && v !== 0, 'a non-zero number or a fraction like 1/255');

const normalize = z
  .strictObject({ mean: perChannel, std: perChannel })
  .refine((n) => n.mean.length === n.std.length, { message: 'mean and std of equal length', path: ['std'] })
  .refine((n) => n.std.every((s) => s > 0), { message: 'every std > 0', path: ['std'] });

/**
 * One step, written as a single-key map (`- scale: 1/255`). An object with optional keys plus an
 * "exactly one" rule gives better one-line errors than a union, whose failure names no branch.
 */
const step = z
  .strictObject({
    resize: z
      .strictObject({ height: positiveInt, width: positiveInt, interpolation: z.enum(INTERPOLATIONS) })
      .optional(),
    scale: scaleFactor.optional(),
    normalize: normalize.optional(),
    tokenize: z.strictObject({ tokenizer: z.string().min(1) }).optional(),
  })
  .refine((s) => Object.values(s).filter((v) => v !== undefined).length === 1, {
    message: `exactly one step key: ${STEP_KINDS.join(', ')}`,
  });

const input = z
  .strictObject({
    dtype: z.enum(TENSOR_DTYPES as unknown as [TensorDtype, ...TensorDtype[]]),
    layout: z.enum(LAYOUTS),
    colorOrder: z.enum(['RGB', 'BGR']).optional(),
    steps: z.array(step).default([]),
    // `range: [0, 30521]` (a vocabulary) is short for `range: { min: 0, max: 30521 }`.
    range: z
      .preprocess(
        (v) => (Array.isArray(v) && v.length === 2 ? { min: v[0], max: v[1] } : v),
        z.strictObject({ min: finite, max: finite }),
      )
      .refine((r) => r.min < r.max, { message: 'min < max', path: ['max'] })
      .optional(),
    /** The only values the input takes (a sample rate: `[8000, 16000]`); synthetic inputs pick among them. */
    values: z.array(finite).min(1).optional(),
    /** An attention mask: synthetic inputs are 1 for a leading run of each row, then 0. */
    mask: z.literal(true).optional(),
    stats: z
      .strictObject({ mean: perChannel, std: perChannel })
      .refine((s) => s.mean.length === s.std.length, {
        message: 'mean and std of equal length',
        path: ['std'],
      })
      .refine((s) => s.std.every((v) => v >= 0), { message: 'every std >= 0', path: ['std'] })
      .optional(),
  })
  .superRefine((value, ctx) => {
    if (!value.range && !value.values && !value.mask) {
      ctx.addIssue({
        code: 'custom',
        path: ['range'],
        input: undefined,
        message: 'range: [min, max], values: [...] or mask: true',
      });
    }
    const integral = !value.dtype.startsWith('float');
    const [lo, hi] = INTEGER_BOUNDS[value.dtype] ?? [-Infinity, Infinity];
    const bad = integral
      ? value.values?.findIndex((v) => !Number.isInteger(v) || v < lo || v > hi)
      : undefined;
    if (bad !== undefined && bad >= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['values', bad],
        input: value.values?.[bad],
        message: `an integer from ${lo} to ${hi} (the input is ${value.dtype})`,
      });
    }
    if (value.mask && (!integral || value.range || value.values)) {
      ctx.addIssue({
        code: 'custom',
        path: ['mask'],
        input: value.mask,
        message: 'mask only on an integer or bool input, without range or values',
      });
    }
    // Colour order only means something for images; on a token sequence it is a copy-paste error.
    if (value.colorOrder && value.layout !== 'NCHW' && value.layout !== 'NHWC') {
      ctx.addIssue({
        code: 'custom',
        path: ['colorOrder'],
        input: value.colorOrder,
        message: 'colorOrder only with layout NCHW or NHWC',
      });
    }
  });

export const manifestSchema = z.strictObject({
  version: z.literal(1),
  inputs: z.record(z.string().min(1), input).refine((r) => Object.keys(r).length > 0, 'at least one input'),
});

type ParsedManifest = z.infer<typeof manifestSchema>;
type ParsedInput = ParsedManifest['inputs'][string];
/** A manifest input; `range` is always set: given, the span of `values`, or [0, 1] for a mask. */
export type ManifestInput = Omit<ParsedInput, 'range'> & { range: { min: number; max: number } };
/** A validated manifest with every input's range filled in ({@link impliedRange}). */
export type RawManifest = Omit<ParsedManifest, 'inputs'> & { inputs: Record<string, ManifestInput> };

/** The value range an input's manifest entry implies (see {@link ManifestInput}). */
export function impliedRange(input: ParsedInput): { min: number; max: number } {
  if (input.range) return input.range;
  // reduce, not Math.min(...values): spreading a long list from a pull request overflows the stack.
  if (input.values) {
    return input.values.reduce((r, v) => ({ min: Math.min(r.min, v), max: Math.max(r.max, v) }), {
      min: Infinity,
      max: -Infinity,
    });
  }
  return { min: 0, max: 1 };
}
export type ManifestStep = ManifestInput['steps'][number];

/** The normalize step of an input, if it has one (the last wins, as it would when applied in order). */
export function normalizeStep(input: ManifestInput): { mean: number[]; std: number[] } | undefined {
  return input.steps.findLast((s) => s.normalize)?.normalize;
}

/** The product of an input's scale steps (1 when none): what raw pixels are multiplied by. */
export function scaleProduct(input: ManifestInput): number {
  return input.steps.reduce((product, s) => product * (s.scale ?? 1), 1);
}

/**
 * How many channels the manifest itself implies (normalize or stats vectors, or 3 for a colour
 * order); undefined when it says nothing about channels.
 */
export function manifestChannels(input: ManifestInput): { count: number; from: string } | undefined {
  const norm = normalizeStep(input);
  if (norm) return { count: norm.mean.length, from: 'normalize.mean' };
  if (input.stats) return { count: input.stats.mean.length, from: 'stats.mean' };
  if (input.colorOrder) return { count: 3, from: `colorOrder ${input.colorOrder}` };
  return undefined;
}
