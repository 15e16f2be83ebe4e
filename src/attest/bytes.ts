// The one bounds-checked byte reader (and its writer twin) for every evidence structure, plus layout
// tables: each structure is a list of named fields whose offsets are derived, never typed twice.
import { TwineError } from "../errors.js";

export interface Field {
  readonly name: string;
  readonly size: number;
  /** Reserved / must-be-zero bytes: parsers reject any non-zero byte here. */
  readonly reserved?: true;
}

export interface Layout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
  /** Offset of each named field inside the structure. */
  readonly offsets: Readonly<Record<string, number>>;
}

/** Builds a layout and checks that its fields add up to the size the spec gives. */
export function layout(name: string, size: number, fields: readonly Field[]): Layout {
  const offsets: Record<string, number> = {};
  let at = 0;
  for (const f of fields) {
    if (f.name in offsets) throw new TwineError("internal", `${name}: field ${f.name} twice`);
    offsets[f.name] = at;
    at += f.size;
  }
  if (at !== size) throw new TwineError("internal", `${name}: fields add up to ${at}, spec says ${size}`);
  return { name, size, fields, offsets };
}

export function offsetOf(l: Layout, field: string): number {
  const o = l.offsets[field];
  if (o === undefined) throw new TwineError("internal", `${l.name}: no field ${field}`);
  return o;
}

/** Reads a structure's fields into a record of byte views; reserved fields must be zero. */
export function readLayout(r: ByteReader, l: Layout): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const f of l.fields) {
    const b = r.bytes(f.size, `${l.name}.${f.name}`);
    if (f.reserved === true && !isZero(b)) {
      throw new TwineError("attest.reserved_nonzero", `${l.name}.${f.name}: reserved bytes are not zero`);
    }
    out[f.name] = b;
  }
  return out;
}

/** Writes a structure from named byte values; missing fields (and reserved ones) are zero. */
export function writeLayout(w: ByteWriter, l: Layout, values: Readonly<Record<string, Uint8Array>>): void {
  for (const f of l.fields) {
    const v = f.reserved === true ? undefined : values[f.name];
    if (v !== undefined && v.length !== f.size) {
      throw new TwineError("attest.format", `${l.name}.${f.name}: ${v.length} bytes, expected ${f.size}`);
    }
    w.bytes(v ?? new Uint8Array(f.size));
  }
}

export class ByteReader {
  private pos = 0;
  constructor(
    readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      throw new TwineError(
        "attest.truncated",
        `${this.what}: ${field} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`,
      );
    }
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  u16(field: string): number {
    const b = this.bytes(2, field);
    return b[0]! | (b[1]! << 8);
  }
  u32(field: string): number {
    const b = this.bytes(4, field);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  u64(field: string): bigint {
    return readU64(this.bytes(8, field));
  }
}

export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private len = 0;
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.len += b.length;
    return this;
  }
  u16(v: number): this {
    return this.bytes(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff));
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.bytes(b);
  }
  get length(): number {
    return this.len;
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.len);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

export function readU64(b: Uint8Array): bigint {
  if (b.length !== 8) throw new TwineError("internal", "u64 needs 8 bytes");
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}
export function readU32(b: Uint8Array, at = 0): number {
  if (b.length < at + 4) throw new TwineError("internal", "u32 needs 4 bytes");
  return new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, true);
}
export function readU16(b: Uint8Array, at = 0): number {
  if (b.length < at + 2) throw new TwineError("internal", "u16 needs 2 bytes");
  return new DataView(b.buffer, b.byteOffset + at, 2).getUint16(0, true);
}
export function u64Bytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}
export function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
export function u16Bytes(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff);
}

export function isZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}

/** Strict hex decode (even length, hex digits only); `what` names the field for the error. */
export function fromHex(s: string, what: string, size?: number): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new TwineError("attest.format", `${what}: not a hex string`);
  }
  const b = new Uint8Array(Buffer.from(s, "hex"));
  if (size !== undefined && b.length !== size) {
    throw new TwineError("attest.format", `${what}: ${b.length} bytes, expected ${size}`);
  }
  return b;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  for (const p of parts) w.bytes(p);
  return w.finish();
}
