import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { encodeNpy, parseNpy } from '../../src/core/npy.js';
import { readNpy, writeNpy } from '../../src/core/io/npy-files.js';
import { allocateData, TENSOR_DTYPES, toFloat64 } from '../../src/core/tensor.js';
import type { HostTensor, TensorDtype } from '../../src/core/tensor.js';

const DIR = 'test/fixtures/npy';
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(DIR, name)));
const load = (name: string) => parseNpy(bytesOf(name), join(DIR, name));

/** Hand-built .npy bytes: magic, version, length field, header (padded like numpy), data. */
function npy(header: string, data: ArrayLike<number> = [], major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const body = new TextEncoder().encode(header);
  const total = Math.ceil((prefix + body.length + 1) / 64) * 64;
  const out = new Uint8Array(total + data.length).fill(0x20);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, total - prefix, true);
  else view.setUint32(8, total - prefix, true);
  out.set(body, prefix);
  out[total - 1] = 0x0a;
  out.set(data, total);
  return out;
}
const hdr = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).not.toContain('\n');
    return error as InputError;
  }
  throw new Error('expected an InputError');
}
const messageOf = (bytes: Uint8Array, source = 'x.npy') => errorOf(() => parseNpy(bytes, source)).message;

describe('parseNpy on numpy-written files', () => {
  it('reads each dtype with numpy’s values', () => {
    const f4 = load('f4_2x3.npy');
    expect(f4).toMatchObject({ dtype: 'float32', shape: [2, 3] });
    expect([...f4.data]).toEqual([0, 1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45, -0]);
    expect(Object.is(f4.data[5], -0)).toBe(true);

    const f2 = load('f2_specials.npy');
    expect(f2.dtype).toBe('float16');
    expect(f2.data).toBeInstanceOf(Uint16Array);
    expect([...f2.data]).toEqual([0, 0x8000, 0x3c00, 0x7bff, 0x03ff, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x2e66]);
    expect([...toFloat64(f2)].slice(0, 8)).toEqual([
      0,
      -0,
      1,
      65504,
      1023 * 2 ** -24,
      2 ** -24,
      Infinity,
      -Infinity,
    ]);

    expect(load('f8_scalar.npy')).toEqual({ dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) });
    expect(load('i8_big.npy')).toEqual({
      dtype: 'int64',
      shape: [5],
      data: new BigInt64Array([-(2n ** 62n), 2n ** 62n + 1n, -1n, 0n, 2n ** 53n - 1n]),
    });
    expect(load('i4_2x2x2.npy')).toEqual({
      dtype: 'int32',
      shape: [2, 2, 2],
      data: new Int32Array([-4, -3, -2, -1, 0, 1, 2, 3]),
    });
    expect(load('i1.npy')).toEqual({ dtype: 'int8', shape: [4], data: new Int8Array([-128, -1, 0, 127]) });
    expect(load('u1_2x2.npy')).toEqual({
      dtype: 'uint8',
      shape: [2, 2],
      data: new Uint8Array([0, 1, 128, 255]),
    });
    expect(load('b1.npy')).toEqual({ dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) });
    expect(load('empty_f4_0x3.npy')).toEqual({ dtype: 'float32', shape: [0, 3], data: new Float32Array(0) });
  });

  it('byte-swaps big-endian files', () => {
    expect(load('be_f4.npy')).toEqual({
      dtype: 'float32',
      shape: [3],
      data: new Float32Array([1.5, -2, 3.25]),
    });
    expect(load('be_i8.npy')).toEqual({
      dtype: 'int64',
      shape: [3],
      data: new BigInt64Array([1n, -2n, 2n ** 40n]),
    });
  });

  it('reads format versions 2.0 and 3.0', () => {
    expect(load('v2_i4.npy')).toEqual({ dtype: 'int32', shape: [3], data: new Int32Array([0, 1, 2]) });
    expect(load('v3_u1.npy')).toEqual({ dtype: 'uint8', shape: [3], data: new Uint8Array([7, 8, 9]) });
  });

  it('refuses complex and Fortran-ordered files with a clear message', () => {
    expect(messageOf(bytesOf('c8.npy'), 'golden/det/s384/x.npy')).toBe(
      "golden/det/s384/x.npy: unsupported dtype '<c8' (expected one of float32, float16, float64, int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool)",
    );
    expect(messageOf(bytesOf('fortran_f4_2x3.npy'), 'f.npy')).toBe(
      'f.npy: fortran_order is True for shape 2x3: only C-order arrays are supported (save np.ascontiguousarray(a))',
    );
  });

  it.each([
    'f4_2x3.npy',
    'f2_specials.npy',
    'f8_scalar.npy',
    'i8_big.npy',
    'i4_2x2x2.npy',
    'i1.npy',
    'u1_2x2.npy',
    'b1.npy',
    'empty_f4_0x3.npy',
    'f16_cases_f4.npy',
  ])('encodeNpy reproduces numpy’s bytes for %s', (name) => {
    expect(encodeNpy(load(name))).toEqual(bytesOf(name));
  });
});

const dtypeArb = fc.constantFrom(...TENSOR_DTYPES);
const tensorArb = fc
  .tuple(dtypeArb, fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }))
  .chain(([dtype, shape]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = fc.uint8Array({ minLength: count * bytesFor(dtype), maxLength: count * bytesFor(dtype) });
    return bytes.map((raw): HostTensor => {
      const data = allocateData(dtype, count);
      new Uint8Array(data.buffer).set(raw);
      if (dtype === 'bool') for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) & 1;
      return { dtype, shape, data };
    });
  });
function bytesFor(dtype: TensorDtype): number {
  return allocateData(dtype, 1).BYTES_PER_ELEMENT;
}

describe('encodeNpy / parseNpy round trip', () => {
  it('round-trips every dtype and shape bit for bit, 64-byte aligned', () => {
    fc.assert(
      fc.property(tensorArb, (t) => {
        const bytes = encodeNpy(t);
        const dataOffset = 10 + new DataView(bytes.buffer).getUint16(8, true);
        expect(dataOffset % 64).toBe(0);
        const back = parseNpy(bytes, 'rt.npy');
        expect(back.dtype).toBe(t.dtype);
        expect(back.shape).toEqual(t.shape);
        expect(new Uint8Array(back.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
      }),
      { numRuns: 300 },
    );
  });

  it('parses from an unaligned view into a fresh buffer', () => {
    const encoded = encodeNpy({ dtype: 'float64', shape: [2], data: new Float64Array([1, 2]) });
    const shifted = new Uint8Array(encoded.length + 3);
    shifted.set(encoded, 3);
    expect([...parseNpy(shifted.subarray(3), 'u.npy').data]).toEqual([1, 2]);
  });

  it('writes format 2.0 when the header exceeds 64 KiB', () => {
    const shape = new Array<number>(22000).fill(1);
    const bytes = encodeNpy({ dtype: 'int8', shape, data: new Int8Array([5]) });
    expect(bytes[6]).toBe(2);
    expect((12 + new DataView(bytes.buffer).getUint32(8, true)) % 64).toBe(0);
    const back = parseNpy(bytes, 'big.npy');
    expect(back.shape).toHaveLength(22000);
    expect([...back.data]).toEqual([5]);
  });

  it('normalises bool bytes to 0/1 both ways', () => {
    expect([...parseNpy(npy(hdr('|b1', '(3,)'), [0, 2, 255]), 'b.npy').data]).toEqual([0, 1, 1]);
    const bytes = encodeNpy({ dtype: 'bool', shape: [2], data: new Uint8Array([7, 0]) });
    expect([...bytes.subarray(bytes.length - 2)]).toEqual([1, 0]);
  });

  it('refuses data that does not match the shape', () => {
    expect(errorOf(() => encodeNpy({ dtype: 'int32', shape: [2, 2], data: new Int32Array(3) })).message).toBe(
      'cannot encode tensor: shape 2x2 needs 4 elements, data has 3',
    );
  });
});

describe('parseNpy header variants', () => {
  it("accepts '<u1', '>u1', '<i1', Python 2 long shapes and double quotes", () => {
    expect(parseNpy(npy(hdr('<u1', '(2,)'), [1, 2]), 'a').dtype).toBe('uint8');
    expect(parseNpy(npy(hdr('>u1', '(2,)'), [1, 2]), 'a').dtype).toBe('uint8');
    expect(parseNpy(npy(hdr('<i1', '(1,)'), [255]), 'a').data[0]).toBe(-1);
    expect(parseNpy(npy(hdr('<i1', '(1L, 2L)'), [1, 2]), 'a').shape).toEqual([1, 2]);
    const dq = `{"descr": "<i1", "shape": (1,), "fortran_order": False}`;
    expect(parseNpy(npy(dq, [3]), 'a').data[0]).toBe(3);
  });

  it('accepts fortran_order True when the layout equals C order', () => {
    expect(parseNpy(npy(hdr('|u1', '(1, 3, 1)', 'True'), [1, 2, 3]), 'a').shape).toEqual([1, 3, 1]);
    expect(parseNpy(npy(hdr('|u1', '()', 'True'), [9]), 'a').shape).toEqual([]);
  });

  it('reads format 2.0 headers built by hand', () => {
    expect([...parseNpy(npy(hdr('<f2', '(1,)'), [0x00, 0x3c], 2), 'a').data]).toEqual([0x3c00]);
  });
});

describe('parseNpy errors name the file and say what was expected', () => {
  const cases: [string, Uint8Array, string][] = [
    [
      'bad magic',
      new TextEncoder().encode('hello world, not numpy'),
      'x.npy: not a .npy file (bad magic: expected the \\x93NUMPY header)',
    ],
    [
      'npz',
      new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0]),
      'x.npy: not a .npy file (bad magic: expected the \\x93NUMPY header) (a zip archive: .npz is not supported)',
    ],
    ['empty file', new Uint8Array(0), 'x.npy: not a .npy file (bad magic: expected the \\x93NUMPY header)'],
    [
      'version',
      (() => {
        const b = npy(hdr('<f4', '()'), [0, 0, 0, 0]);
        b[6] = 4;
        return b;
      })(),
      'x.npy: unsupported .npy format version 4.0 (expected 1.0, 2.0 or 3.0)',
    ],
    [
      'truncated header',
      npy(hdr('<f4', '()')).subarray(0, 40),
      'x.npy: truncated header: header length says 118 bytes, file has 30',
    ],
    [
      'truncated prefix v2',
      npy(hdr('<f4', '()'), [], 2).subarray(0, 11),
      'x.npy: truncated header: file has only 11 bytes',
    ],
    [
      'malformed',
      npy("{'descr': '<f4' 'shape': ()}"),
      `x.npy: malformed header "{'descr': '<f4' 'shape': ()}": expected ',' or '}' at offset 16`,
    ],
    [
      'unterminated',
      npy("{'descr: <f4}"),
      `x.npy: malformed header "{'descr: <f4}": unterminated string at offset 1`,
    ],
    ['not a dict', npy("['descr']"), `x.npy: header "['descr']" is not a dict`],
    [
      'keys',
      npy("{'descr': '<f4', 'shape': ()}"),
      'x.npy: header keys are [descr, shape] (expected exactly descr, fortran_order, shape)',
    ],
    [
      'extra key',
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"),
      'x.npy: header keys are [descr, fortran_order, shape, x] (expected exactly descr, fortran_order, shape)',
    ],
    [
      'structured',
      npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}"),
      "x.npy: unsupported dtype [('a', '<f4')] (expected one of float32, float16, float64, int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool)",
    ],
    [
      'byte order on f4',
      npy(hdr('|f4', '()')),
      "x.npy: unsupported dtype '|f4' (expected one of float32, float16, float64, int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool)",
    ],
    [
      'float128',
      npy(hdr('<f16', '()')),
      "x.npy: unsupported dtype '<f16' (expected one of float32, float16, float64, int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool)",
    ],
    [
      'negative dim',
      npy(hdr('<f4', '(3, -1)')),
      'x.npy: invalid shape (3, -1) (expected a tuple of non-negative ints)',
    ],
    ['paren int', npy(hdr('<f4', '(3)')), 'x.npy: invalid shape 3 (expected a tuple of non-negative ints)'],
    [
      'list shape',
      npy(hdr('<f4', '[3]')),
      'x.npy: invalid shape [3] (expected a tuple of non-negative ints)',
    ],
    [
      'fortran not bool',
      npy(hdr('<f4', '()', '0'), [0, 0, 0, 0]),
      'x.npy: invalid fortran_order 0 (expected True or False)',
    ],
    [
      'truncated data',
      npy(hdr('<f4', '(1, 3, 4, 4)'), new Uint8Array(100)),
      'x.npy: truncated data: header says 1x3x4x4 float32 = 192 bytes, file has 100',
    ],
    [
      'trailing data',
      npy(hdr('<f4', '(2,)'), new Uint8Array(12)),
      'x.npy: unexpected trailing data: header says 2 float32 = 8 bytes, file has 12',
    ],
    [
      'scalar short',
      npy(hdr('<f8', '()'), new Uint8Array(4)),
      'x.npy: truncated data: header says scalar float64 = 8 bytes, file has 4',
    ],
    [
      'garbage after dict',
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x"),
      `x.npy: malformed header "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x": unexpected text after the header dict at offset 54`,
    ],
  ];
  it.each(cases)('%s', (_name, bytes, message) => {
    expect(messageOf(bytes)).toBe(message);
  });

  it('refuses a version 3.0 header that is not UTF-8, with the decoder error as cause', () => {
    const bytes = npy(hdr('|u1', '()'), [1], 3);
    bytes[12] = 0xff;
    const error = errorOf(() => parseNpy(bytes, 'v3.npy'));
    expect(error.message).toBe('v3.npy: header is not valid UTF-8');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('keeps the parse failure as cause', () => {
    expect(errorOf(() => parseNpy(npy('{'), 'c.npy')).cause).toBeInstanceOf(Error);
  });
});

describe('readNpy / writeNpy', () => {
  it('writes, creating directories, and reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-npy-'));
    const path = join(dir, 'nested', 'y.npy');
    const t: HostTensor = { dtype: 'float32', shape: [2], data: new Float32Array([0.5, -1]) };
    await writeNpy(path, t);
    expect(await readNpy(path)).toEqual(t);
  });

  it('reports unreadable and unwritable paths as InputErrors naming the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-npy-'));
    const missing = join(dir, 'missing.npy');
    await expect(readNpy(missing)).rejects.toThrow(`${missing}: cannot read .npy file (file not found)`);
    await expect(readNpy(missing)).rejects.toHaveProperty('cause.code', 'ENOENT');
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    const t: HostTensor = { dtype: 'uint8', shape: [], data: new Uint8Array(1) };
    await expect(writeNpy(join(file, 'y.npy'), t)).rejects.toBeInstanceOf(InputError);
    await expect(writeNpy(join(file, 'y.npy'), t)).rejects.toThrow(/file\/y\.npy: cannot write \.npy file: /);
  });
});
