// A thin, throwing view over asn1js: every accessor checks the type it expects and fails with
// `attest.der` (never a TypeError), so hostile DER in certificates, CRLs and extensions is just an error.
import * as asn1js from "asn1js";
import { TwineError } from "../errors.js";

export type Der = asn1js.AsnType;

/** Parses exactly one DER element covering all of `bytes`. */
export function parseDer(bytes: Uint8Array, what: string): Der {
  let r: ReturnType<typeof asn1js.fromBER>;
  try {
    r = asn1js.fromBER(bytes);
  } catch (e) {
    // asn1js throws plain Errors on some malformed values (e.g. times) while decoding.
    throw new TwineError("attest.der", `${what}: malformed DER`, { cause: e });
  }
  if (r.offset === -1 || r.result.error !== "" || r.offset !== bytes.length) {
    throw new TwineError("attest.der", `${what}: malformed DER`);
  }
  return r.result;
}

/**
 * Checks that `bytes` is one element whose every length, down the whole tree, is DER: definite, minimal and
 * exactly filled by what it holds. asn1js reads BER and accepts a non-minimal length (`82 00 e7`) whose
 * value does not even match the contents, so bytes outside a signature could change unnoticed.
 */
export function assertDerLengths(bytes: Uint8Array, what: string): void {
  const bad = (): never => {
    throw new TwineError("attest.der", `${what}: not DER (lengths)`);
  };
  const walk = (start: number, end: number, depth: number): void => {
    if (depth > 32) bad();
    let at = start;
    while (at < end) {
      const tag = bytes[at++]!;
      if ((tag & 0x1f) === 0x1f || at >= end) bad();
      let len = bytes[at++]!;
      if (len === 0x80 || len > 0x84) bad();
      if (len > 0x80) {
        const n = len - 0x80;
        if (at + n > end || bytes[at] === 0) bad();
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + bytes[at++]!;
        if (len < 0x80) bad();
      }
      if (at + len > end) bad();
      if ((tag & 0x20) !== 0) walk(at, at + len, depth + 1);
      at += len;
    }
  };
  if (bytes.length === 0) bad();
  walk(0, bytes.length, 0);
  // One element at the top.
  const first = bytes[1]!;
  const head = first < 0x80 ? 2 : 2 + (first - 0x80);
  let len = 0;
  for (let i = 2; i < head; i++) len = len * 256 + bytes[i]!;
  if ((first < 0x80 ? first : len) + head !== bytes.length) bad();
}

function fail(what: string, expected: string): never {
  throw new TwineError("attest.der", `${what}: expected ${expected}`);
}

export function children(n: Der | undefined, what: string): Der[] {
  if (n instanceof asn1js.Sequence || n instanceof asn1js.Set) return n.valueBlock.value;
  if (n instanceof asn1js.Constructed) return n.valueBlock.value;
  return fail(what, "a constructed value");
}

/** The children of a SEQUENCE (not a SET): for structures whose unsigned outer tag must not be malleable. */
export function sequence(n: Der | undefined, what: string): Der[] {
  if (n instanceof asn1js.Sequence) return n.valueBlock.value;
  return fail(what, "a SEQUENCE");
}

/** The children of a context-specific tag `[tag]`, or undefined when `n` is not that tag. */
export function contextChildren(n: Der | undefined, tag: number): Der[] | undefined {
  if (n instanceof asn1js.Constructed && n.idBlock.tagClass === 3 && n.idBlock.tagNumber === tag) {
    return n.valueBlock.value;
  }
  return undefined;
}

export function oid(n: Der | undefined, what: string): string {
  if (n instanceof asn1js.ObjectIdentifier) return n.valueBlock.toString();
  return fail(what, "an OBJECT IDENTIFIER");
}

export function octets(n: Der | undefined, what: string): Uint8Array {
  if (n instanceof asn1js.OctetString && !n.idBlock.isConstructed) return n.valueBlock.valueHexView;
  return fail(what, "an OCTET STRING");
}

export function bitString(n: Der | undefined, what: string): Uint8Array {
  if (n instanceof asn1js.BitString && n.valueBlock.unusedBits === 0) return n.valueBlock.valueHexView;
  return fail(what, "a BIT STRING");
}

/** A small non-negative INTEGER or ENUMERATED (SVNs, types): bounded so a huge one is an error. */
export function smallInt(n: Der | undefined, what: string, max = 0xffff_ffff): number {
  if (n instanceof asn1js.Integer || n instanceof asn1js.Enumerated) {
    const v = n.valueBlock.valueHexView;
    if (v.length > 5) fail(what, "a small INTEGER");
    let x = 0;
    for (const b of v) x = x * 256 + b;
    if (v.length > 0 && (v[0]! & 0x80) !== 0) fail(what, "a non-negative INTEGER");
    if (x > max) fail(what, `an INTEGER ≤ ${max}`);
    return x;
  }
  return fail(what, "an INTEGER");
}

/** INTEGER bytes as lower-case hex without leading zero bytes (for serial numbers). */
export function integerHex(n: Der | undefined, what: string): string {
  if (!(n instanceof asn1js.Integer)) return fail(what, "an INTEGER");
  let v = n.valueBlock.valueHexView;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  return Buffer.from(v).toString("hex");
}

export function time(n: Der | undefined, what: string): Date {
  if (n instanceof asn1js.UTCTime || n instanceof asn1js.GeneralizedTime) {
    let d: Date;
    try {
      d = n.toDate();
    } catch {
      return fail(what, "a valid time");
    }
    if (Number.isNaN(d.getTime())) fail(what, "a valid time");
    return d;
  }
  return fail(what, "a UTCTime or GeneralizedTime");
}

export function isInteger(n: Der | undefined): boolean {
  return n instanceof asn1js.Integer;
}

export function isTime(n: Der | undefined): boolean {
  return n instanceof asn1js.UTCTime || n instanceof asn1js.GeneralizedTime;
}

export function ia5(n: Der | undefined, what: string): string {
  if (
    n instanceof asn1js.IA5String ||
    n instanceof asn1js.Utf8String ||
    n instanceof asn1js.PrintableString
  ) {
    return n.valueBlock.value;
  }
  return fail(what, "a string");
}

/** The exact DER bytes an element was decoded from (what a signature covers). */
export function rawOf(n: Der): Uint8Array {
  return n.valueBeforeDecodeView;
}
