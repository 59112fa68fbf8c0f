/** Checking a profile's input shapes against the model inputs they are meant for. */
import { InputError } from '../../core/errors.js';
import { formatDims, type IoSpec } from './onnx-model.js';
import { staticShape } from './profile-complete.js';

// Input names are arbitrary strings ('input:0', 'x.1'); quote them when a dotted path would mislead.
function keyPath(where: string, name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${where}.${name}` : `${where}[${JSON.stringify(name)}]`;
}

/** Per input name, its dims; `null` (only from {@link pinInputShapes} callers) leaves a dim unpinned. */
export type ProfileShapes = Readonly<Record<string, ReadonlyArray<number | null>>>;

/**
 * Checks a profile's input shapes against the model inputs. `where` is the key path of the shapes
 * map (e.g. `kiln.yaml: models[0].profiles[1].shapes`); messages start with it. Returns the value
 * each symbolic dim name takes, since ONNX means one name to be one size across all inputs.
 * A `null` dim is skipped (rank still counts): ranged profiles pin only the dims where min = max.
 * An input the model fixes completely may be omitted; `[]` is a rank-0 input's shape.
 * @throws InputError naming the first problem found.
 */
export function checkProfileShapes(
  inputs: readonly IoSpec[],
  shapes: ProfileShapes,
  where: string,
): Map<string, number> {
  const names = inputs.map((input) => input.name);
  for (const name of Object.keys(shapes)) {
    if (!names.includes(name)) {
      throw new InputError(
        `${keyPath(where, name)}: '${name}' is not a model input (model inputs: ${names.join(', ')})`,
      );
    }
  }
  const symbols = new Map<string, { value: number; at: string }>();
  for (const input of inputs) {
    const shape = shapes[input.name];
    const at = keyPath(where, input.name);
    if (shape === undefined) {
      // An input whose every dim the model fixes may be left out: there is nothing to choose.
      if (staticShape(input) !== undefined) continue;
      const needed = inputs.filter((i) => staticShape(i) === undefined).map((i) => i.name);
      throw new InputError(
        `${where}: no shape for model input '${input.name}' ${input.unknownRank ? '(rank unknown)' : formatDims(input.dims)} (a profile needs every input with a dynamic dim: ${needed.join(', ')})`,
      );
    }
    if (!Array.isArray(shape)) {
      throw new InputError(`${at}: ${JSON.stringify(shape)} is not a list of dims`);
    }
    if (!input.unknownRank && shape.length !== input.dims.length) {
      throw new InputError(
        `${at}: ${formatDims(shape)} has rank ${shape.length}, model input '${input.name}' has rank ${input.dims.length} ${formatDims(input.dims)}`,
      );
    }
    shape.forEach((value, index) => {
      if (value === null) return;
      if (!Number.isInteger(value) || value < 1) {
        throw new InputError(`${at}: dim ${index} is ${JSON.stringify(value)}, expected an integer >= 1`);
      }
      const dim = input.dims[index];
      if (typeof dim === 'number' && dim !== value) {
        throw new InputError(`${at}: dim ${index} is ${value} but the model fixes it to ${dim}`);
      }
      if (typeof dim !== 'string') return;
      const bound = symbols.get(dim);
      if (bound === undefined) symbols.set(dim, { value, at: `${input.name} dim ${index}` });
      else if (bound.value !== value) {
        throw new InputError(
          `${at}: dim ${index} is ${value} but the model names it '${dim}', which is ${bound.value} at ${bound.at}`,
        );
      }
    });
  }
  return new Map([...symbols].map(([name, { value }]) => [name, value]));
}
