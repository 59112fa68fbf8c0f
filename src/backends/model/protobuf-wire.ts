/**
 * A reader of the protobuf wire format that can skip a length-delimited field without reading it, so
 * a model's graph can be walked while its gigabytes of weights stay on disk.
 */
import { readSync } from 'node:fs';

/** Bytes by position: a buffer in memory, or a file read on demand. */
export interface ByteSource {
  readonly length: number;
  /** `length` bytes at `position`; the caller has checked they lie inside the source. */
  read(position: number, length: number): Uint8Array;
  /** The byte at `position` (no view allocated: varints are read a byte at a time). */
  byteAt(position: number): number;
}

/** A source over bytes already in memory. */
export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    length: bytes.length,
    read: (position, length) => bytes.subarray(position, position + length),
    byteAt: (position) => bytes[position]!,
  };
}

const WINDOW = 64 * 1024;

/**
 * A source over an open file of `length` bytes, read through a 64 KiB window: walking the graph
 * costs a few small reads, whatever the size of the tensors it steps over.
 */
export function fileSource(fd: number, length: number): ByteSource {
  let start = 0;
  let window = new Uint8Array(0);
  const fill = (into: Uint8Array, position: number): void => {
    let done = 0;
    while (done < into.length) {
      const read = readSync(fd, into, done, into.length - done, position + done);
      if (read === 0) throw new Error(`file shorter than ${length} bytes: it changed while being read`);
      done += read;
    }
  };
  const source: ByteSource = {
    length,
    byteAt(position) {
      if (position < start || position >= start + window.length) source.read(position, 1);
      return window[position - start]!;
    },
    read(position, size) {
      if (position >= start && position + size <= start + window.length)
        return window.subarray(position - start, position - start + size);
      if (size > WINDOW) {
        const bytes = new Uint8Array(size);
        fill(bytes, position);
        return bytes;
      }
      start = position;
      window = new Uint8Array(Math.min(WINDOW, length - position));
      fill(window, position);
      return window.subarray(0, size);
    },
  };
  return source;
}

/** Wire types of the protobuf encoding. */
export const WIRE = { varint: 0, fixed64: 1, bytes: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;

const utf8 = new TextDecoder();

/** Reads the fields of one message, from `position` up to `end` of `source`. */
export class WireReader {
  constructor(
    private readonly source: ByteSource,
    private position = 0,
    private readonly end = source.length,
  ) {}

  /** Whether every field of the message has been read. */
  done(): boolean {
    return this.position >= this.end;
  }

  /** The next field's tag: field number `tag >>> 3`, wire type `tag & 7`. */
  tag(): number {
    const tag = this.varint();
    if (tag < 8 || tag > 0xffffffff) throw new Error(`invalid field tag ${tag} at byte ${this.position}`);
    return tag;
  }

  /** A varint field's value, after checking the field is one. */
  varintField(wire: number): number {
    this.expect(wire, WIRE.varint);
    return this.varint();
  }

  /** A varint as a number; 64-bit values are read two's complement, as int64 fields are. */
  varint(): number {
    // Tags, lengths and dims fit in 4 bytes (28 bits): plain arithmetic, no BigInt on the hot path.
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    let big = BigInt(result);
    for (let shift = 28n; shift < 70n; shift += 7n) {
      const byte = this.byte();
      big |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new Error(`varint over 10 bytes at byte ${this.position}`);
  }

  /** A length-delimited field's UTF-8 text, at most `maxBytes` long. */
  string(wire: number, maxBytes = 16 << 20): string {
    const length = this.length(wire);
    if (length > maxBytes) throw new Error(`a ${length}-byte string, over the ${maxBytes}-byte bound`);
    const bytes = this.take(length);
    // Names are ASCII almost always; building those directly skips the decoder's per-call cost.
    if (length <= 64 && bytes.every((b) => b < 0x80)) return String.fromCharCode(...bytes);
    return utf8.decode(bytes);
  }

  /** A reader over a length-delimited field (a nested message); this reader moves past it. */
  message(wire: number): WireReader {
    const length = this.length(wire);
    const nested = new WireReader(this.source, this.position, this.position + length);
    this.position += length;
    return nested;
  }

  /** Steps over a field of wire type `wire` without reading its bytes. */
  skip(wire: number): void {
    if (wire === WIRE.varint) this.varint();
    else if (wire === WIRE.fixed64) this.advance(8);
    else if (wire === WIRE.fixed32) this.advance(4);
    else if (wire === WIRE.bytes) this.advance(this.length(wire));
    else if (wire === WIRE.startGroup) {
      for (let next = this.tag(); (next & 7) !== WIRE.endGroup; next = this.tag()) this.skip(next & 7);
    } else throw new Error(`invalid wire type ${wire} at byte ${this.position}`);
  }

  /** Throws unless `wire` is what a field of that kind must have. */
  expect(wire: number, expected: number): void {
    if (wire !== expected)
      throw new Error(`wire type ${wire} where ${expected} belongs at byte ${this.position}`);
  }

  private length(wire: number): number {
    this.expect(wire, WIRE.bytes);
    const length = this.varint();
    if (length < 0 || this.position + length > this.end)
      throw new Error(`index out of range: ${this.position} + ${length} > ${this.end}`);
    return length;
  }

  private advance(count: number): void {
    if (this.position + count > this.end)
      throw new Error(`index out of range: ${this.position} + ${count} > ${this.end}`);
    this.position += count;
  }

  private byte(): number {
    const at = this.position;
    this.advance(1);
    return this.source.byteAt(at);
  }

  private take(count: number): Uint8Array {
    const at = this.position;
    this.advance(count);
    return this.source.read(at, count);
  }
}
