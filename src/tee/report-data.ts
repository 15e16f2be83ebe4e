// The 64 bytes of REPORTDATA in every piece of evidence, in two documented layouts
// (docs/GUEST-API.md, "Report data"):
//  - runtime evidence:  launchHash (32) ‖ SHA-256("twine/report-data/v1" ‖ u32be len ‖ nonce ‖ u32be len ‖ runtimeKey)
//  - guest (lib-rats):  SHA-256(SHA-256(module) ‖ buffer) (32) ‖ 32 zero bytes
// A SHA-256 output is never all zeros in practice, so the second half tells the two apart: a guest
// cannot produce evidence that reads as the runtime's.
import { TwineError } from "../errors.js";
import { REPORT_DATA_SIZE, sha256 } from "./tee.js";

const DOMAIN = new TextEncoder().encode("twine/report-data/v1");
/** Longest nonce or key accepted (a P-384 SPKI is 120 bytes; this leaves room for any KEM key). */
export const MAX_BINDING_SIZE = 4096;

function lengthPrefixed(b: Uint8Array): Uint8Array[] {
  if (b.length > MAX_BINDING_SIZE)
    throw new TwineError("tee.report_data", `binding of ${b.length} bytes is too long`);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, b.length);
  return [len, b];
}

export interface ReportDataInput {
  /** SHA-256 of the canonical launch manifest. */
  launchHash: Uint8Array;
  /** The relying party's fresh nonce, or its public key. */
  nonce: Uint8Array;
  /** The runtime's ephemeral public key (e.g. its TLS key's SPKI). */
  runtimeKey: Uint8Array;
}

export function runtimeReportData(i: ReportDataInput): Uint8Array {
  if (i.launchHash.length !== 32) throw new TwineError("tee.report_data", "launch hash must be 32 bytes");
  const out = new Uint8Array(REPORT_DATA_SIZE);
  out.set(i.launchHash, 0);
  out.set(sha256(DOMAIN, ...lengthPrefixed(i.nonce), ...lengthPrefixed(i.runtimeKey)), 32);
  return out;
}

/** WAMR lib-rats: SHA-256(SHA-256(module) ‖ buffer), zero-padded to 64 bytes. */
export function libratsReportData(moduleHash: Uint8Array, buffer: Uint8Array): Uint8Array {
  if (moduleHash.length !== 32) throw new TwineError("tee.report_data", "module hash must be 32 bytes");
  const out = new Uint8Array(REPORT_DATA_SIZE);
  out.set(sha256(moduleHash, buffer), 0);
  return out;
}
