/**
 * The header half of the `.npy` format: the magic, the dtype codes numpy writes, and a strict parser
 * for the Python literal that describes the array. Reading and writing the files is in `npy.ts`.
 */
import type { TensorDtype } from './tensor.js';

export const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

export const DTYPE_BY_CODE: Record<string, TensorDtype> = {
  f4: 'float32',
  f2: 'float16',
  f8: 'float64',
  i8: 'int64',
  i4: 'int32',
  i2: 'int16',
  i1: 'int8',
  u8: 'uint64',
  u4: 'uint32',
  u2: 'uint16',
  u1: 'uint8',
  b1: 'bool',
};
export const DESCR_BY_DTYPE: Record<TensorDtype, string> = {
  float32: '<f4',
  float16: '<f2',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  int16: '<i2',
  int8: '|i1',
  uint64: '<u8',
  uint32: '<u4',
  uint16: '<u2',
  uint8: '|u1',
  bool: '|b1',
};

/** A parsed Python literal from the header; tuples and lists stay distinct because numpy cares. */
export type PyValue =
  | { t: 'str'; v: string }
  | { t: 'int'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'none' }
  | { t: 'tuple' | 'list'; v: PyValue[] }
  | { t: 'dict'; v: Map<string, PyValue> };

export function pyRepr(value: PyValue): string {
  switch (value.t) {
    case 'str':
      return `'${value.v}'`;
    case 'int':
      return String(value.v);
    case 'bool':
      return value.v ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'list':
      return `[${value.v.map(pyRepr).join(', ')}]`;
    case 'tuple':
      return value.v.length === 1
        ? `(${pyRepr(value.v[0] as PyValue)},)`
        : `(${value.v.map(pyRepr).join(', ')})`;
    case 'dict':
      return `{${[...value.v].map(([k, v]) => `'${k}': ${pyRepr(v)}`).join(', ')}}`;
  }
}

/**
 * Parses the subset of Python literal syntax numpy headers use (dict, tuple, list, str, int, bool,
 * None). Hand-rolled because evaluating the header is the classic .npy security hole.
 * Ints may carry Python 2's `L` suffix, which old numpy wrote into shapes.
 */
export function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${pos}`);
  };
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
  };
  const items = (close: string): PyValue[] => {
    const out: PyValue[] = [];
    for (skip(); text[pos] !== close; skip()) {
      out.push(value());
      skip();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
    pos++;
    return out;
  };
  const value = (): PyValue => {
    skip();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const map = new Map<string, PyValue>();
      for (skip(); text[pos] !== '}'; skip()) {
        const key = value();
        if (key.t !== 'str') fail('expected a string key');
        skip();
        if (text[pos++] !== ':') fail("expected ':'");
        map.set((key as { v: string }).v, value());
        skip();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail("expected ',' or '}'");
      }
      pos++;
      return { t: 'dict', v: map };
    }
    if (c === '(') {
      const start = ++pos;
      const v = items(')');
      // "(3)" is the int 3 in Python, not a tuple: only a comma makes a one-element tuple.
      const single = v.length === 1 && !/,\s*\)$/.test(text.slice(start, pos));
      return single ? (v[0] as PyValue) : { t: 'tuple', v };
    }
    if (c === '[') return (pos++, { t: 'list', v: items(']') });
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) fail('unterminated string');
      const v = text.slice(pos + 1, end);
      pos = end + 1;
      return { t: 'str', v };
    }
    const m = /^(-?\d+)[lL]?|^(True|False|None)\b/.exec(text.slice(pos));
    if (!m) return fail('unexpected character');
    pos += m[0].length;
    if (m[2] === 'None') return { t: 'none' };
    if (m[2] !== undefined) return { t: 'bool', v: m[2] === 'True' };
    return { t: 'int', v: Number(m[1]) };
  };
  const result = value();
  skip();
  if (pos < text.length) fail('unexpected text after the header dict');
  return result;
}

/** Decodes a format 1.0/2.0 header, which is latin1: every byte is one char. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
