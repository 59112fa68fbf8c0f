import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { allowedKeysAt, describeExpectation, describeValue, formatKeyPath } from '../config-issues.js';
import { readConfined } from './confined-file.js';
import { InputError } from '../errors.js';
import { yamlData } from '../yaml-data.js';
import { sha256 } from '../hashing.js';
import {
  impliedRange,
  manifestChannels,
  manifestSchema,
  type Layout,
  type RawManifest,
} from '../manifest-schema.js';

/**
 * What the model check needs of a model input; structurally the backends' IoSpec (from describeModel),
 * spelled out here because core must not import backends.
 */
export interface ModelInputSpec {
  name: string;
  dtype: string;
  dims: ReadonlyArray<number | string | null>;
  unknownRank?: boolean;
}

/** A validated manifest that still knows where each key sits, so later checks can name the line. */
export interface Manifest extends RawManifest {
  /** The file as given (messages name it so). */
  file: string;
  /** sha256 of the file's bytes: part of the artifact key. */
  sha256: string;
  /** `<file>:<line>: <key path>` for a key path, the prefix of every message about that key. */
  where: (keyPath: PropertyKey[]) => string;
}

/** Bound on a manifest file: a few KiB in practice. */
const MAX_MANIFEST_BYTES = 16 * 1024 ** 2;

/**
 * Reads and validates a manifest file, a regular file inside `root` (default: its own folder; the
 * config's folder for a manifest a config names). Any problem is one InputError line naming file,
 * line and key.
 */
export async function loadManifest(file: string, root = path.dirname(file)): Promise<Manifest> {
  const bytes = await readConfined(root, file, { what: 'manifest', maxBytes: MAX_MANIFEST_BYTES });
  return parseManifest(bytes.toString('utf8'), file);
}

/** Validates manifest text; `file` names it in messages: `<file>:<line>: <key path>: found X, expected Y`. */
export function parseManifest(text: string, file: string): Manifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new InputError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${first.message.split('\n')[0]}`, {
      cause: first,
    });
  }
  const where = (keyPath: PropertyKey[]) => {
    const line = lineOfKey(doc, lines, keyPath);
    return `${file}${line ? `:${line}` : ''}: ${formatKeyPath(keyPath)}`;
  };
  const data = yamlData(doc, file);
  const parsed = manifestSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const unknownKey = issue.code === 'unrecognized_keys';
    const keyPath = unknownKey ? [...issue.path, issue.keys[0]!] : (issue.path as PropertyKey[]);
    // The value at the key, not zod's `input`: a refinement on an object reports the whole object.
    const found = unknownKey ? 'an unknown key' : describeValue(valueAt(data, keyPath));
    const expected =
      issue.code === 'invalid_union'
        ? 'expected a non-zero number or a fraction like 1/255'
        : describeExpectation(issue as z.core.$ZodIssue, allowedKeysAt(manifestSchema, issue.path));
    const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
    throw new InputError(`${where(keyPath)}: found ${found}, ${expected}${more}`, { cause: parsed.error });
  }
  const inputs = Object.fromEntries(
    Object.entries(parsed.data.inputs).map(([name, input]) => [
      name,
      { ...input, range: impliedRange(input) },
    ]),
  );
  return { ...parsed.data, inputs, file, sha256: sha256(text), where };
}

function valueAt(data: unknown, keyPath: PropertyKey[]): unknown {
  let node = data;
  for (const key of keyPath) node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
  return node;
}

/** The line of the key at `keyPath` (same rule as config-load: the key's line, not its value's). */
function lineOfKey(doc: Document, lines: LineCounter, keyPath: PropertyKey[]): number | undefined {
  for (let depth = keyPath.length; depth > 0; depth--) {
    const path = keyPath.slice(0, depth);
    const parent = depth > 1 ? doc.getIn(path.slice(0, -1).map(String), true) : doc.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((i) => isScalar(i.key) && String(i.key.value) === String(path.at(-1)));
      const range = (pair?.key as { range?: [number, number] } | undefined)?.range;
      if (range) return lines.linePos(range[0]).line;
    }
    const node = doc.getIn(path.map(String), true) as { range?: [number, number] } | undefined;
    // A missing key has no line: fall back to its parent's, which is where it should be added.
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Where each layout keeps channels, and the rank it implies; `sequence` has no channel dim. */
export const LAYOUT_AXES: Record<Layout, { rank: number[]; channel?: number }> = {
  NCHW: { rank: [4], channel: 1 },
  NHWC: { rank: [4], channel: 3 },
  NC: { rank: [2], channel: 1 },
  sequence: { rank: [2, 3] },
  scalar: { rank: [0] },
};

/**
 * Refuses a manifest that contradicts the model: an input missing on either side, a dtype that
 * differs, a layout whose rank or channel dim the model's fixed dims rule out, or mean/std vectors
 * whose length is not the model's channel count. Throws the first problem as one InputError line.
 */
export function checkManifestAgainstModel(
  manifest: Manifest,
  model: { inputs: readonly ModelInputSpec[] },
): void {
  const problems: string[] = [];
  const names = model.inputs.map((i) => i.name);
  for (const name of Object.keys(manifest.inputs)) {
    if (!names.includes(name)) {
      problems.push(
        `${manifest.where(['inputs', name])}: found an input the model does not have, expected one of the model inputs ${names.join(', ')}`,
      );
    }
  }
  for (const spec of model.inputs) {
    const input = manifest.inputs[spec.name];
    if (!input) {
      problems.push(
        `${manifest.where(['inputs'])}: found no entry for model input '${spec.name}' ${spec.dtype}, expected every model input described`,
      );
      continue;
    }
    const at = (...keys: PropertyKey[]) => manifest.where(['inputs', spec.name, ...keys]);
    if (input.dtype !== spec.dtype) {
      problems.push(
        `${at('dtype')}: found "${input.dtype}", expected ${spec.dtype} (the model input's dtype)`,
      );
    }
    if (spec.unknownRank) continue;
    const axes = LAYOUT_AXES[input.layout];
    const dims = spec.dims;
    const shown = `[${dims.map((d) => (typeof d === 'number' ? d : '?')).join(',')}]`;
    if (!axes.rank.includes(dims.length)) {
      problems.push(
        `${at('layout')}: found "${input.layout}", expected a layout of rank ${dims.length} (model input '${spec.name}' is ${shown})`,
      );
      continue;
    }
    if (axes.channel === undefined) continue;
    const channels = dims[axes.channel];
    const other = input.layout === 'NCHW' ? 3 : input.layout === 'NHWC' ? 1 : undefined;
    const otherDim = other === undefined ? undefined : dims[other];
    const implied = manifestChannels(input);
    const plausible = (d: unknown) => (implied ? d === implied.count : d === 1 || d === 3 || d === 4);
    // The layout is wrong when its channel dim cannot hold the channels but the other layout's can.
    if (!plausible(channels) && typeof otherDim === 'number' && plausible(otherDim)) {
      const swapped = input.layout === 'NCHW' ? 'NHWC' : 'NCHW';
      problems.push(
        `${at('layout')}: found "${input.layout}" (channels at dim ${axes.channel}), expected ${swapped}: model input '${spec.name}' is ${shown}`,
      );
      continue;
    }
    if (typeof channels !== 'number') continue;
    const vectors: Array<[PropertyKey[], number[]]> = [];
    input.steps.forEach((s, i) => {
      if (s.normalize) vectors.push([['steps', i, 'normalize', 'mean'], s.normalize.mean]);
    });
    if (input.stats) vectors.push([['stats', 'mean'], input.stats.mean]);
    for (const [keys, values] of vectors) {
      if (values.length !== channels) {
        problems.push(
          `${at(...keys)}: found ${values.length} values, expected ${channels} (one per channel: model input '${spec.name}' is ${shown}, ${input.layout})`,
        );
      }
    }
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
    throw new InputError(`${problems[0]}${more}`, { cause: new Error(problems.join('\n')) });
  }
}
