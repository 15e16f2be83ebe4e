// The attestation and sealing calls a guest may import (module `env`), compatible with WAMR's lib-rats
// wrapper (core/iwasm/libraries/lib-rats: same names, parameters and evidence JSON), plus Twine's own
// twine_seal / twine_unseal. Every pointer and length goes through GuestMemory (bounds-checked). A
// failure is a negative return code (docs/GUEST-API.md), never a host exception; a trap inside the
// guest's own malloc/free stays a trap.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { TwineError, isTwineError } from "../errors.js";
import { GuestMemory } from "../wasi/memory.js";
import type { WasmMemory } from "../wasi/wasm-types.js";
import { libratsReportData } from "./report-data.js";
import { REPORT_DATA_SIZE } from "./tee.js";
import type { Evidence, EvidenceType, SealPolicy, Tee } from "./tee.js";

/** Return codes, as in include/twine_attest.h. */
export const ATTEST_RC = {
  OK: 0,
  INVALID: -1,
  FAULT: -2,
  NO_MEM: -3,
  TEE: -4,
  VERIFY: -5,
  UNSUPPORTED: -6,
  AUTH: -7,
  SIZE: -8,
} as const;

/** Largest evidence JSON accepted from the guest (a base64 DCAP quote is ~8 KiB; quotes are capped at 64 KiB). */
export const MAX_EVIDENCE_JSON = 128 * 1024;
/** Largest buffer twine_seal / twine_unseal take in one call. */
export const MAX_SEAL_BYTES = 64 * 1024 * 1024;
/** sealed = version (1) ‖ policy (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16). */
export const SEAL_OVERHEAD = 30;
const SEAL_VERSION = 1;
const SEAL_POLICY_CODES: readonly SealPolicy[] = ["program", "signer"];

/** rats_sgx_evidence_t (lib_rats_common.h), wasm32 layout; checked by the C guest with offsetof. */
export const RATS_SGX_EVIDENCE = {
  quote: 0,
  quoteMax: 8192,
  quoteSize: 8192,
  userData: 8196,
  productId: 8260,
  mrEnclave: 8264,
  securityVersion: 8296,
  mrSigner: 8300,
  attFlags: 8336,
  attXfrm: 8344,
  size: 8352,
} as const;

/** What the imports need of the instance; read lazily, since imports exist before the instance. */
export interface GuestExports {
  memory: WasmMemory;
  /** WAMR's module_malloc calls the guest's exported malloc when it has no app heap: so do we. */
  malloc?: (size: number) => number;
  free?: (ptr: number) => void;
}

/** Checks evidence for librats_verify: true only if it is genuine (chain, signature, policy). */
export type EvidenceVerifier = (evidence: { type: EvidenceType; report: Uint8Array }) => boolean;

export interface TeeImportOptions {
  /** How librats_verify checks evidence; without one it answers UNSUPPORTED. */
  verifier?: EvidenceVerifier;
}

class RatsError extends Error {
  constructor(
    readonly rc: number,
    message: string,
  ) {
    super(message);
  }
}

function b64(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
    throw new RatsError(ATTEST_RC.INVALID, "report_base64 is not base64");
  return new Uint8Array(Buffer.from(s, "base64"));
}

/** Evidence JSON as lib-rats writes it: {"type","report_base64","report_len"}. */
export function evidenceToJson(e: Pick<Evidence, "type" | "report">): string {
  return JSON.stringify({
    type: e.type,
    report_base64: Buffer.from(e.report).toString("base64"),
    report_len: e.report.length,
  });
}

export function evidenceFromJson(text: string): { type: EvidenceType; report: Uint8Array } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new RatsError(ATTEST_RC.INVALID, "evidence is not JSON");
  }
  if (typeof j !== "object" || j === null || Array.isArray(j))
    throw new RatsError(ATTEST_RC.INVALID, "evidence JSON is not an object");
  const o = j as Record<string, unknown>;
  const type = o.type;
  if (type !== "sgx_ecdsa" && type !== "tdx_ecdsa" && type !== "sev_snp")
    throw new RatsError(ATTEST_RC.UNSUPPORTED, "unknown evidence type");
  if (typeof o.report_base64 !== "string" || typeof o.report_len !== "number")
    throw new RatsError(ATTEST_RC.INVALID, "evidence JSON lacks report_base64 / report_len");
  const report = b64(o.report_base64);
  if (report.length !== o.report_len)
    throw new RatsError(ATTEST_RC.INVALID, "report_len does not match the report");
  return { type, report };
}

const SGX_BODY = 48;
const at = (q: Uint8Array, off: number, len: number): Uint8Array => {
  if (off + len > q.length) throw new RatsError(ATTEST_RC.INVALID, "quote too short");
  return q.subarray(off, off + len);
};

/** Fills rats_sgx_evidence_t as WAMR does (but with the real XFRM, where WAMR copies the flags twice). */
export function fillRatsSgxEvidence(quote: Uint8Array): Uint8Array {
  const L = RATS_SGX_EVIDENCE;
  if (quote.length > L.quoteMax) throw new RatsError(ATTEST_RC.SIZE, "quote larger than SGX_QUOTE_MAX_SIZE");
  if (quote.length < SGX_BODY + 384 || quote[0] !== 3 || quote[1] !== 0)
    throw new RatsError(ATTEST_RC.INVALID, "not an SGX v3 quote");
  const out = new Uint8Array(L.size);
  const dv = new DataView(out.buffer);
  out.set(quote, L.quote);
  dv.setUint32(L.quoteSize, quote.length, true);
  out.set(at(quote, SGX_BODY + 320, 64), L.userData);
  dv.setUint32(L.productId, dvOf(quote).getUint16(SGX_BODY + 256, true), true);
  out.set(at(quote, SGX_BODY + 64, 32), L.mrEnclave);
  dv.setUint32(L.securityVersion, dvOf(quote).getUint16(SGX_BODY + 258, true), true);
  out.set(at(quote, SGX_BODY + 128, 32), L.mrSigner);
  out.set(at(quote, SGX_BODY + 48, 8), L.attFlags);
  out.set(at(quote, SGX_BODY + 56, 8), L.attXfrm);
  return out;
}

function dvOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

const SEAL_INFO = Buffer.from("twine-seal/v1/guest-aes-256-gcm");

export function sealBuffer(
  key: Uint8Array,
  policy: SealPolicy,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const header = Uint8Array.of(SEAL_VERSION, SEAL_POLICY_CODES.indexOf(policy));
  const nonce = randomBytes(12);
  const c = createCipheriv(
    "aes-256-gcm",
    Buffer.from(hkdfSync("sha256", key, new Uint8Array(0), SEAL_INFO, 32)),
    nonce,
  );
  c.setAAD(Buffer.concat([header, aad]));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([header, nonce, ct, c.getAuthTag()]));
}

/** The policy a sealed buffer names (its header byte), before any key is derived. */
export function sealedPolicy(sealed: Uint8Array): SealPolicy {
  const p = SEAL_POLICY_CODES[sealed[1] ?? -1];
  if (sealed.length < SEAL_OVERHEAD || sealed[0] !== SEAL_VERSION || p === undefined) {
    throw new TwineError("tee.seal_format", "not a Twine sealed buffer");
  }
  return p;
}

export function unsealBuffer(key: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  sealedPolicy(sealed);
  const d = createDecipheriv(
    "aes-256-gcm",
    Buffer.from(hkdfSync("sha256", key, new Uint8Array(0), SEAL_INFO, 32)),
    sealed.subarray(2, 14),
  );
  d.setAAD(Buffer.concat([sealed.subarray(0, 2), aad]));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(14, sealed.length - 16)), d.final()]));
  } catch (e) {
    throw new TwineError("tee.unseal", "sealed data does not open under this identity (or was changed)", {
      cause: e,
    });
  }
}

function rcOf(e: unknown): number {
  if (e instanceof RatsError) return e.rc;
  if (isTwineError(e)) {
    if (e.code === "wasi.fault") return ATTEST_RC.FAULT;
    if (e.code === "tee.unseal") return ATTEST_RC.AUTH;
    if (e.code === "tee.seal_format") return ATTEST_RC.INVALID;
    return ATTEST_RC.TEE;
  }
  // Not ours: a trap in the guest's malloc/free, or a host bug; neither may be swallowed.
  throw e;
}

/**
 * The `env` imports: librats_collect, librats_verify, librats_parse_evidence,
 * librats_dispose_evidence_json, twine_seal, twine_unseal. `moduleHash` is SHA-256 of the module bytes.
 */
export function createTeeImports(
  tee: Tee,
  getExports: () => GuestExports | undefined,
  moduleHash: Uint8Array,
  opts: TeeImportOptions = {},
): Record<string, (...args: number[]) => number | void> {
  if (moduleHash.length !== 32) throw new TwineError("tee.usage", "module hash must be a 32-byte SHA-256");
  // A call before instantiation finished (from a start function) has no exports to work with yet.
  const instance = (): GuestExports => {
    const e = getExports();
    if (e === undefined) throw new TwineError("tee.usage", "TEE imports called before the instance exists");
    return e;
  };
  const mem = new GuestMemory();
  let attached: WasmMemory | undefined;
  const memory = (): GuestMemory => {
    const m = instance().memory;
    if (m !== attached) {
      mem.attach(m);
      attached = m;
    }
    return mem;
  };
  const keys = new Map<SealPolicy, Uint8Array>();
  const sealingKey = (p: SealPolicy): Uint8Array => {
    let k = keys.get(p);
    if (k === undefined) {
      k = tee.getSealingKey(p, moduleHash);
      keys.set(p, k);
    }
    return k;
  };
  const guarded =
    (f: (...a: number[]) => number) =>
    (...a: number[]): number => {
      try {
        return f(...a);
      } catch (e) {
        return rcOf(e);
      }
    };
  const readJson = (ptr: number, len: number): string => {
    const n = len >>> 0;
    if (n > MAX_EVIDENCE_JSON) throw new RatsError(ATTEST_RC.INVALID, "evidence JSON too long");
    const raw = memory().bytes(ptr, n);
    // The lib-rats macros pass strlen + 1: the terminating NUL is not part of the JSON.
    const end = raw.indexOf(0);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(end < 0 ? raw : raw.subarray(0, end));
    } catch {
      throw new RatsError(ATTEST_RC.INVALID, "evidence JSON is not UTF-8");
    }
  };
  const policyOf = (p: number): SealPolicy => {
    const policy = SEAL_POLICY_CODES[p];
    if (policy === undefined) throw new RatsError(ATTEST_RC.INVALID, "unknown seal policy");
    return policy;
  };
  /** Writes `out` to (ptr, cap) and its length to *lenPtr; SIZE (with the needed length) if it does not fit. */
  const output = (out: Uint8Array, ptr: number, cap: number, lenPtr: number): number => {
    const m = memory();
    m.setU32(lenPtr, out.length);
    if (out.length > cap >>> 0) return ATTEST_RC.SIZE;
    m.bytes(ptr, out.length).set(out);
    return ATTEST_RC.OK;
  };

  return {
    // int librats_collect(char **evidence_json, const char *buffer, uint32_t buffer_size)
    librats_collect: guarded((outPtr, bufPtr, bufLen) => {
      const m = memory();
      m.check(outPtr, 4);
      const buffer = bufPtr === 0 ? new Uint8Array(0) : Uint8Array.from(m.bytes(bufPtr, bufLen));
      const ev = tee.getEvidence(libratsReportData(moduleHash, buffer));
      const json = Buffer.from(`${evidenceToJson(ev)}\0`, "utf8");
      const { malloc } = instance();
      if (typeof malloc !== "function") throw new RatsError(ATTEST_RC.NO_MEM, "the guest exports no malloc");
      const ptr = malloc(json.length) >>> 0;
      if (ptr === 0) throw new RatsError(ATTEST_RC.NO_MEM, "the guest's malloc failed");
      m.bytes(ptr, json.length).set(json);
      m.setU32(outPtr, ptr);
      return ATTEST_RC.OK;
    }),
    // int librats_verify(const char *evidence_json, uint32_t evidence_size, const uint8_t *hash, uint32_t hash_size)
    // `hash` is the expected first 32 bytes of report data. lib-rats' macro passes strlen(hash) + 1 as
    // hash_size, which means nothing for binary data, so exactly 32 bytes are read whatever it says.
    librats_verify: guarded((jsonPtr, jsonLen, hashPtr, _hashLen) => {
      const ev = evidenceFromJson(readJson(jsonPtr, jsonLen));
      const hash = Uint8Array.from(memory().bytes(hashPtr, 32));
      if (opts.verifier === undefined) return ATTEST_RC.UNSUPPORTED;
      if (!opts.verifier(ev)) return ATTEST_RC.VERIFY;
      const rd = reportDataOf(ev);
      return Buffer.from(rd.subarray(0, 32)).equals(hash) ? ATTEST_RC.OK : ATTEST_RC.VERIFY;
    }),
    // int librats_parse_evidence(const char *evidence_json, uint32_t json_size, rats_sgx_evidence_t *evidence, uint32_t evidence_size)
    librats_parse_evidence: guarded((jsonPtr, jsonLen, outPtr, outLen) => {
      const ev = evidenceFromJson(readJson(jsonPtr, jsonLen));
      if (ev.type !== "sgx_ecdsa") return ATTEST_RC.UNSUPPORTED;
      if (outLen >>> 0 < RATS_SGX_EVIDENCE.size) return ATTEST_RC.SIZE;
      const filled = fillRatsSgxEvidence(ev.report);
      memory().bytes(outPtr, filled.length).set(filled);
      return ATTEST_RC.OK;
    }),
    // void librats_dispose_evidence_json(char *evidence_json)
    librats_dispose_evidence_json: (ptr: number): void => {
      const free = getExports()?.free;
      if (ptr !== 0 && typeof free === "function") free(ptr);
    },
    // int twine_seal(uint32_t policy, const uint8_t *aad, uint32_t aad_len, const uint8_t *in, uint32_t in_len,
    //                uint8_t *out, uint32_t out_cap, uint32_t *out_len)
    twine_seal: guarded((policy, aadPtr, aadLen, inPtr, inLen, outPtr, outCap, outLenPtr) => {
      const p = policyOf(policy);
      if (inLen >>> 0 > MAX_SEAL_BYTES) return ATTEST_RC.SIZE;
      const m = memory();
      const aad = Uint8Array.from(m.bytes(aadPtr, aadLen));
      const sealed = sealBuffer(sealingKey(p), p, aad, m.bytes(inPtr, inLen));
      return output(sealed, outPtr, outCap, outLenPtr);
    }),
    // int twine_unseal(uint32_t policy, const uint8_t *aad, uint32_t aad_len, const uint8_t *in, uint32_t in_len,
    //                  uint8_t *out, uint32_t out_cap, uint32_t *out_len)
    twine_unseal: guarded((policy, aadPtr, aadLen, inPtr, inLen, outPtr, outCap, outLenPtr) => {
      const p = policyOf(policy);
      if (inLen >>> 0 > MAX_SEAL_BYTES + SEAL_OVERHEAD) return ATTEST_RC.SIZE;
      const m = memory();
      const aad = Uint8Array.from(m.bytes(aadPtr, aadLen));
      const sealed = Uint8Array.from(m.bytes(inPtr, inLen));
      // The caller names the policy it expects; a buffer sealed under the other one is refused.
      if (sealedPolicy(sealed) !== p) return ATTEST_RC.AUTH;
      return output(unsealBuffer(sealingKey(p), aad, sealed), outPtr, outCap, outLenPtr);
    }),
  };
}

/** The 64 bytes of report data in SGX/TDX quotes and SNP reports. */
export function reportDataOf(ev: { type: EvidenceType; report: Uint8Array }): Uint8Array {
  const off = ev.type === "sgx_ecdsa" ? 48 + 320 : ev.type === "tdx_ecdsa" ? 48 + 520 : 0x50;
  if (ev.report.length < off + REPORT_DATA_SIZE) throw new RatsError(ATTEST_RC.INVALID, "evidence too short");
  return ev.report.subarray(off, off + REPORT_DATA_SIZE);
}
