/** Filling in the inputs a profile may leave out: those whose every dim the model fixes. */
import type { EngineProfile } from '../backend.js';
import type { IoSpec } from './onnx-model.js';

type Shapes = Record<string, number[]>;

/**
 * The model's own dims when it fixes all of them (a rank-0 sample rate, a `[1, 3]` scale); undefined
 * when any dim is symbolic or unknown, or the rank is unknown, since only the user can choose those.
 */
export function staticShape(input: IoSpec): number[] | undefined {
  if (input.unknownRank) return undefined;
  if (!input.dims.every((dim) => typeof dim === 'number')) return undefined;
  return input.dims as number[];
}

/**
 * The shapes with every omitted, fully static model input added at the model's own dims, in model
 * input order (then any name the model lacks, left for the shape check to refuse). Writing `[1, 2]`
 * for an input whose dims cannot change is noise a user should not need to repeat.
 */
export function completeShapes(inputs: readonly IoSpec[], shapes: Readonly<Shapes>): Shapes {
  const out: Shapes = {};
  for (const input of inputs) {
    const given = shapes[input.name];
    const fixed = given === undefined ? staticShape(input) : undefined;
    if (given !== undefined) out[input.name] = given;
    else if (fixed !== undefined) out[input.name] = [...fixed];
  }
  for (const [name, shape] of Object.entries(shapes)) if (!(name in out)) out[name] = shape;
  return out;
}

/** The profile with {@link completeShapes} applied to each of its shape maps (min, opt, max for a range). */
export function completeProfile<P extends EngineProfile>(inputs: readonly IoSpec[], profile: P): P {
  if ('shapes' in profile) return { ...profile, shapes: completeShapes(inputs, profile.shapes) };
  return {
    ...profile,
    min: completeShapes(inputs, profile.min),
    opt: completeShapes(inputs, profile.opt),
    max: completeShapes(inputs, profile.max),
  };
}
