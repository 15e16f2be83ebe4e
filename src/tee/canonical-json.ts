// Canonical JSON for hashed documents: object keys sorted by UTF-16 code units (as Array.sort),
// no whitespace, strings escaped by JSON.stringify, numbers only as safe integers. Two equal values
// always give the same bytes, so a data owner can recompute a hash from the printed text.
import { TwineError } from "../errors.js";

export type CanonicalValue =
  null | boolean | number | string | CanonicalValue[] | { [k: string]: CanonicalValue };

export function canonicalJson(v: CanonicalValue): string {
  if (v === null || typeof v === "boolean" || typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v))
      throw new TwineError("tee.manifest", `canonical JSON holds only safe integers, got ${v}`);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`).join(",")}}`;
}
