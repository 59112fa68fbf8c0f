import { InputError } from '../errors.js';
import { parseDims } from '../shape-routing.js';
import type { ObservedShape, ShapeCount } from './types.js';

/** Reading the observed-shapes file of `kiln profiles suggest` (JSON or CSV). */

/**
 * An observed shape as text: bare dims `1x3x384x512`, or named `x=1x3x384x512;y=1x2` (`;` or spaces
 * between inputs). Undefined when it is neither.
 */
export function parseShapeText(text: string): number[] | Record<string, number[]> | undefined {
  const trimmed = text.trim();
  if (!trimmed.includes('=')) return parseDims(trimmed);
  const named: Record<string, number[]> = {};
  for (const part of trimmed.split(/[;\s]+/).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    const dims = parseDims(part.slice(eq + 1));
    if (eq < 1 || !dims || Object.hasOwn(named, name)) return undefined;
    named[name] = dims;
  }
  return Object.keys(named).length > 0 ? named : undefined;
}

/**
 * Reads a histogram file's text: JSON (an array of `{"shape": [1,3,384,512] | "1x3x384x512" |
 * {"x": [...]}, "count": 120}`, or an object `{"1x3x384x512": 120}`), else CSV lines `shape,count`
 * (an optional `shape,count` header, `#` comments and blank lines allowed). `display` names the file
 * in errors.
 */
export function parseShapeHistogram(text: string, display: string): ShapeCount[] {
  const head = text.trimStart();
  const entries =
    head.startsWith('[') || head.startsWith('{') ? parseJson(text, display) : parseCsv(text, display);
  if (entries.length === 0)
    throw new InputError(`${display}: no shapes found, expected lines like 1x3x384x512,120`);
  return entries;
}

const SHAPE_HINT = 'expected dims like 1x3x384x512, [1, 3, 384, 512] or {"x": [1, 3, 384, 512]}';

function parseJson(text: string, display: string): ShapeCount[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${display}: invalid JSON: ${(error as Error).message.split('\n', 1)[0]}`, {
      cause: error,
    });
  }
  if (Array.isArray(data)) {
    return data.map((item: unknown, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw new InputError(
          `${display}: [${i}]: found ${describe(item)}, expected {"shape": ..., "count": N}`,
        );
      }
      const record = item as Record<string, unknown>;
      return {
        shape: jsonShape(record.shape, `${display}: [${i}].shape`),
        count: checkCount(record.count, `${display}: [${i}].count`),
      };
    });
  }
  return Object.entries(data as Record<string, unknown>).map(([key, count]) => {
    const shape = parseShapeText(key);
    if (!shape) throw new InputError(`${display}: key "${key}": ${SHAPE_HINT}`);
    return { shape, count: checkCount(count, `${display}: "${key}"`) };
  });
}

function jsonShape(value: unknown, where: string): ObservedShape {
  const dims = (v: unknown) =>
    typeof v === 'string'
      ? parseDims(v)
      : Array.isArray(v) && v.length > 0 && v.every((d) => Number.isSafeInteger(d) && (d as number) >= 1)
        ? (v as number[])
        : undefined;
  if (typeof value === 'string') {
    const parsed = parseShapeText(value);
    if (parsed) return parsed;
  } else if (Array.isArray(value)) {
    const parsed = dims(value);
    if (parsed) return parsed;
  } else if (typeof value === 'object' && value !== null && Object.keys(value).length > 0) {
    const named: Record<string, number[]> = {};
    for (const [name, v] of Object.entries(value)) {
      const parsed = dims(v);
      if (!parsed) throw new InputError(`${where}.${name}: found ${describe(v)}, ${SHAPE_HINT}`);
      named[name] = parsed;
    }
    return named;
  }
  throw new InputError(`${where}: found ${describe(value)}, ${SHAPE_HINT}`);
}

function parseCsv(text: string, display: string): ShapeCount[] {
  const entries: ShapeCount[] = [];
  let first = true;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${display}:${i + 1}`;
    const comma = line.lastIndexOf(',');
    if (comma < 0)
      throw new InputError(`${where}: found "${line}", expected shape,count like 1x3x384x512,120`);
    const shapeText = line
      .slice(0, comma)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    const countText = line.slice(comma + 1).trim();
    const header = first && countText.toLowerCase() === 'count';
    first = false;
    if (header) return;
    const shape = parseShapeText(shapeText);
    if (!shape) throw new InputError(`${where}: shape "${shapeText}": ${SHAPE_HINT}`);
    entries.push({ shape, count: checkCount(countText === '' ? NaN : Number(countText), `${where}: count`) });
  });
  return entries;
}

export function checkCount(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InputError(`${where}: found ${describe(value)}, expected a positive number of requests`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'number' && Number.isNaN(value)) return 'not a number';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
