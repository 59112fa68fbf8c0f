/**
 * External-data locations in an ONNX model are paths a pull request writes: `../../etc/passwd` or
 * `/etc/shadow` there would make ONNX Runtime (or any loader) read files outside the repository, the
 * traversal class of CVE-2022-25882 and CVE-2024-27318. Every location must be a plain relative path
 * naming a regular file inside the model's folder; anything else is refused in one line.
 */
import path from 'node:path';
import type { onnx as Onnx } from 'onnx-proto';
import { openConfined } from '../../core/io/confined-file.js';
import { InputError } from '../../core/errors.js';
import { compareText } from '../../core/ordering.js';

const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL

/** Every tensor stored in the model: initializers, sparse ones, Constant attributes, subgraphs. */
export function* tensorsOf(graph: Onnx.IGraphProto | null | undefined): Generator<Onnx.ITensorProto> {
  if (!graph) return;
  yield* graph.initializer ?? [];
  for (const sparse of graph.sparseInitializer ?? []) {
    if (sparse.values) yield sparse.values;
    if (sparse.indices) yield sparse.indices;
  }
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      if (attribute.t) yield attribute.t;
      yield* attribute.tensors ?? [];
      yield* tensorsOf(attribute.g);
      for (const sub of attribute.graphs ?? []) yield* tensorsOf(sub);
    }
  }
}

/** Why a location string is not a plain relative path, or undefined when it is one. */
export function locationProblem(location: string): string | undefined {
  if (location === '') return 'is empty';
  if (location.includes('\0')) return 'contains a NUL byte';
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location)) return 'is absolute';
  if (location.split(/[\\/]/).includes('..')) return "climbs out with '..'";
  return undefined;
}

/**
 * Checks every external-data location in `model` (read from `modelPath`): a plain relative path to
 * a regular file inside the model's folder, symlinks allowed only where they resolve inside it.
 * Only the locations are read, never the weights: a model over 2 GiB is external data by necessity.
 * @returns the distinct locations as normalized POSIX paths relative to the model's folder, sorted.
 * @throws InputError naming the model, the tensor and the location.
 */
export async function checkExternalData(model: Onnx.IModelProto, modelPath: string): Promise<string[]> {
  const dir = path.dirname(modelPath);
  const files = new Set<string>();
  for (const tensor of tensorsOf(model.graph)) {
    const entries = tensor.externalData ?? [];
    if (tensor.dataLocation !== EXTERNAL && entries.length === 0) continue;
    const location = entries.find((e) => e.key === 'location')?.value ?? '';
    const where = `${modelPath}: tensor '${tensor.name ?? ''}' external data location ${JSON.stringify(location)}`;
    const problem = locationProblem(location);
    if (problem !== undefined) {
      throw new InputError(`${where} ${problem}, expected a relative path inside ${dir}`);
    }
    const opened = await openConfined(dir, path.join(dir, location), {
      what: 'external data file',
      maxBytes: Number.MAX_SAFE_INTEGER,
    }).catch((error: unknown) => {
      throw new InputError(`${where}: ${(error as Error).message}`, { cause: error });
    });
    await opened.handle.close();
    files.add(path.posix.normalize(location));
  }
  return [...files].sort(compareText);
}
