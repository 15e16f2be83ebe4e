// The one seam between the runtime and the TEE it runs in: where evidence, sealing keys and the
// runtime's own measurement come from. Every method is synchronous: the guest's attestation imports
// are synchronous Wasm calls, so backends do their (small) file I/O with fs.*Sync.
import { createHash, hkdfSync } from "node:crypto";
import { TwineError } from "../errors.js";

export type TeeKind = "sim" | "gramine" | "tsm";
export const TEE_KINDS: readonly TeeKind[] = ["sim", "gramine", "tsm"];

/** Whose identity a sealing key is bound to (as the SGX SDK's MRENCLAVE / MRSIGNER key policies). */
export type SealPolicy = "program" | "signer";
export const SEAL_POLICIES: readonly SealPolicy[] = ["program", "signer"];

/** Evidence type names as lib-rats spells them (its JSON `type` field). */
export type EvidenceType = "sgx_ecdsa" | "tdx_ecdsa" | "sev_snp";

export const REPORT_DATA_SIZE = 64;
export const SEALING_KEY_SIZE = 32;

export interface Evidence {
  type: EvidenceType;
  /** The SGX / TDX quote or the SEV-SNP attestation report, as the TEE produced it. */
  report: Uint8Array;
  /** SEV-SNP: the certificate table configfs-tsm returns in `auxblob` (VCEK chain), when present. */
  auxblob?: Uint8Array;
  /** True for the software-only `sim` backend: this evidence proves nothing. */
  sim: boolean;
}

export interface Tee {
  readonly kind: TeeKind;
  /** Evidence binding exactly these 64 bytes of report data. */
  getEvidence(reportData: Uint8Array): Evidence;
  /**
   * A 32-byte key only this TEE can derive. `program`: bound to the runtime's exact measurement and to
   * `programHash` (the module's SHA-256). `signer`: bound to the runtime's signer only, so it survives
   * updates of the runtime and of the program.
   */
  getSealingKey(policy: SealPolicy, programHash: Uint8Array): Uint8Array;
  /** The runtime's identity as this TEE measures it (MRENCLAVE, MRTD, SNP MEASUREMENT, or sim's hash). */
  measurement(): Uint8Array;
}

export function checkReportData(reportData: Uint8Array): void {
  if (reportData.length !== REPORT_DATA_SIZE) {
    throw new TwineError(
      "tee.report_data",
      `report data must be ${REPORT_DATA_SIZE} bytes, got ${reportData.length}`,
    );
  }
}

export function checkProgramHash(programHash: Uint8Array): void {
  if (programHash.length !== 32) throw new TwineError("tee.usage", "program hash must be a 32-byte SHA-256");
}

const SEAL_SALT = new TextEncoder().encode("twine-seal-v1");

/**
 * The one derivation from a TEE root key to a sealing key. `info` carries the policy name and, for
 * `program`, the program hash, so the two policies and two programs never share a key.
 */
export function deriveSealingKey(
  rootKey: Uint8Array,
  policy: SealPolicy,
  programHash: Uint8Array,
): Uint8Array {
  checkProgramHash(programHash);
  const info =
    policy === "program" ? Buffer.concat([Buffer.from("program:"), programHash]) : Buffer.from("signer:");
  return new Uint8Array(hkdfSync("sha256", rootKey, SEAL_SALT, info, SEALING_KEY_SIZE));
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
