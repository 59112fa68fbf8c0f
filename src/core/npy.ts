/**
 * NumPy `.npy` files (format 1.0, 2.0 and 3.0), the interchange format for golden inputs and
 * reference outputs. Written byte-for-byte as `numpy.save` writes them, so files round-trip through
 * Python unchanged, and read strictly: a golden file that is silently misread defeats the gate.
 */
import { createHash } from 'node:crypto';
import { InputError } from './errors.js';
import { DTYPE_BY_CODE, DESCR_BY_DTYPE, latin1, MAGIC, parsePyLiteral, pyRepr } from './npy-header.js';
import type { PyValue } from './npy-header.js';
import { allocateData, bytesPerElement, formatShape, TENSOR_DTYPES } from './tensor.js';
import type { HostTensor } from './tensor.js';

const ARRAY_ALIGN = 64;
/** numpy leaves room to grow the first axis in place; matching it makes our bytes equal numpy's. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const EXPECTED_DTYPES = `expected one of ${TENSOR_DTYPES.join(', ')}`;

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** Parses `.npy` bytes; `source` names the file in errors, which are all single-line InputErrors. */
export function parseNpy(bytes: Uint8Array, source: string): HostTensor {
  const bad = (message: string, cause?: unknown): never => {
    throw new InputError(`${source}: ${message}`, cause === undefined ? {} : { cause });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    // Never quote the bytes: the file may be any secret a symlink or a bad path reached.
    const zip = bytes[0] === 0x50 && bytes[1] === 0x4b ? ' (a zip archive: .npz is not supported)' : '';
    bad(`not a .npy file (bad magic: expected the \\x93NUMPY header)${zip}`);
  }
  const [major, minor] = [bytes[6] as number, bytes[7] as number];
  if (![1, 2, 3].includes(major) || minor !== 0) {
    bad(`unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) bad(`truncated header: file has only ${bytes.length} bytes`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = prefix + headerLength;
  if (bytes.length < dataOffset) {
    bad(`truncated header: header length says ${headerLength} bytes, file has ${bytes.length - prefix}`);
  }
  const headerBytes = bytes.subarray(prefix, dataOffset);
  let header = '';
  try {
    // Versions 1 and 2 are latin1 (every byte is a char); version 3 is UTF-8.
    header =
      major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(headerBytes) : latin1(headerBytes);
  } catch (error) {
    bad('header is not valid UTF-8', error);
  }
  const shown = JSON.stringify(header.trim().slice(0, 160));
  let dict: PyValue = { t: 'none' };
  try {
    dict = parsePyLiteral(header);
  } catch (error) {
    bad(`malformed header ${shown}: ${(error as Error).message}`, error);
  }
  if (dict.t !== 'dict') return bad(`header ${shown} is not a dict`);
  const keys = [...dict.v.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    bad(`header keys are [${keys.join(', ')}] (expected exactly descr, fortran_order, shape)`);
  }
  const descr = dict.v.get('descr') as PyValue;
  const match = descr.t === 'str' ? /^([<>|=])([fiub]\d+)$/.exec(descr.v) : null;
  const dtype = match ? DTYPE_BY_CODE[match[2] as string] : undefined;
  const order = match?.[1] as string;
  const width = dtype === undefined ? 0 : bytesPerElement(dtype);
  if (!dtype || (width > 1 && order === '|'))
    return bad(`unsupported dtype ${pyRepr(descr)} (${EXPECTED_DTYPES})`);
  const shapeValue = dict.v.get('shape') as PyValue;
  const shape: number[] = [];
  for (const dim of shapeValue.t === 'tuple' ? shapeValue.v : [shapeValue]) {
    if (shapeValue.t !== 'tuple' || dim.t !== 'int' || !Number.isSafeInteger(dim.v) || dim.v < 0) {
      return bad(`invalid shape ${pyRepr(shapeValue)} (expected a tuple of non-negative ints)`);
    }
    shape.push(dim.v);
  }
  const fortran = dict.v.get('fortran_order') as PyValue;
  if (fortran.t !== 'bool') bad(`invalid fortran_order ${pyRepr(fortran)} (expected True or False)`);
  // Fortran and C order coincide when at most one axis is longer than 1, so only refuse real transposes.
  if (fortran.t === 'bool' && fortran.v && shape.filter((d) => d > 1).length > 1) {
    bad(
      `fortran_order is True for shape ${formatShape(shape)}: only C-order arrays are supported (save np.ascontiguousarray(a))`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * width;
  const available = bytes.length - dataOffset;
  if (available !== expected) {
    const what = available < expected ? 'truncated data' : 'unexpected trailing data';
    bad(`${what}: header says ${formatShape(shape)} ${dtype} = ${expected} bytes, file has ${available}`);
  }
  // Copy: the source may be unaligned for the element width, and callers may reuse their buffer.
  const raw = bytes.slice(dataOffset);
  const fileLittle = order !== '>' && (order !== '=' || HOST_LITTLE_ENDIAN);
  if (width > 1 && fileLittle !== HOST_LITTLE_ENDIAN) swapBytes(raw, width);
  const data = allocateData(dtype, count);
  new Uint8Array(data.buffer).set(raw);
  // numpy treats any non-zero byte as True; ORT expects exactly 0/1.
  if (dtype === 'bool') for (let i = 0; i < data.length; i++) data[i] = data[i] ? 1 : 0;
  return { dtype, shape, data };
}

/** Encodes `t` exactly as `numpy.save` would: format 1.0, or 2.0 when the header exceeds 64 KiB. */
export function encodeNpy(t: HostTensor): Uint8Array {
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new InputError(
      `cannot encode tensor: shape ${formatShape(t.shape)} needs ${count} elements, data has ${t.data.length}`,
    );
  }
  const shapeRepr = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${DESCR_BY_DTYPE[t.dtype]}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (t.shape.length > 0) header += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(t.shape[0]).length);
  let prefix = 10;
  const padded = (): number => header.length + 1 + ARRAY_ALIGN - ((prefix + header.length + 1) % ARRAY_ALIGN);
  if (padded() > 0xffff) prefix = 12;
  const headerLength = padded();
  const width = bytesPerElement(t.dtype);
  const out = new Uint8Array(prefix + headerLength + count * width);
  out.set(MAGIC);
  out[6] = prefix === 10 ? 1 : 2;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.fill(0x20, prefix, prefix + headerLength - 1);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out[prefix + headerLength - 1] = 0x0a;
  const body = out.subarray(prefix + headerLength);
  body.set(new Uint8Array(t.data.buffer, t.data.byteOffset, count * width));
  if (width > 1 && !HOST_LITTLE_ENDIAN) swapBytes(body, width);
  if (t.dtype === 'bool') for (let i = 0; i < body.length; i++) body[i] = body[i] ? 1 : 0;
  return out;
}

/** Longest escaped name kept whole; file systems allow 255 bytes and `in-`/`out-` prefixes come on top. */
const MAX_ESCAPED = 160;

/**
 * File name of a named tensor's `.npy` (golden inputs and outputs, calibration and serving samples).
 * Injective, so two outputs never share a file: letters, digits, `_`, `-` and a non-leading `.` stay,
 * every other UTF-8 byte becomes `%XX` (so `a/b` is `a%2Fb.npy`, `a:b` is `a%3Ab.npy`, `a_b` stays).
 * A name whose escape exceeds 160 characters keeps an escaped prefix plus `~` and a sha256 of the
 * full name (`~` is always escaped otherwise, so the two forms cannot meet).
 */
export function npyFileName(tensorName: string): string {
  let escaped = '';
  for (const byte of new TextEncoder().encode(tensorName)) {
    const c = String.fromCharCode(byte);
    const plain = /[A-Za-z0-9_-]/.test(c) || (c === '.' && escaped !== '');
    escaped += plain ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (escaped.length > MAX_ESCAPED) {
    const digest = createHash('sha256').update(tensorName, 'utf8').digest('hex').slice(0, 32);
    escaped = `${escaped.slice(0, MAX_ESCAPED - 40).replace(/%[0-9A-F]?$/, '')}~${digest}`;
  }
  // '%' alone is no escape, so the empty name cannot meet another; '.npy' would be a hidden file.
  return `${escaped === '' ? '%' : escaped}.npy`;
}
