// The hook that lets a relying party accept evidence from Twine's software-only `sim` TEE, and only
// when it says so. Sim quotes are SGX DCAP v3 quotes whose header user_data carries SIM_QE_USER_DATA
// (inside the signed region, so it cannot be stripped) and whose chain ends at a locally generated
// root. Without `dangerousAllowSim` they are refused with `attest.sim` whatever roots are passed.
import { bytesEqual } from "./bytes.js";
import type { Finding, Verdict } from "./findings.js";
import { verifyEvidence } from "./index.js";
import type { VerifyOptions } from "./index.js";

/** Quote header user_data (20 bytes at offset 28) of every sim quote. */
export const SIM_QE_USER_DATA: Uint8Array = (() => {
  const b = new Uint8Array(20);
  b.set(new TextEncoder().encode("TWINE-SIM-INSECURE"));
  return b;
})();
const USER_DATA_AT = 28;

/** True when `bytes` is a DCAP v3 quote marked as produced by the sim backend. */
export function isSimEvidence(bytes: Uint8Array): boolean {
  return (
    bytes.length >= USER_DATA_AT + 20 &&
    bytes[0] === 3 &&
    bytes[1] === 0 &&
    bytesEqual(bytes.subarray(USER_DATA_AT, USER_DATA_AT + 20), SIM_QE_USER_DATA)
  );
}

export interface SimVerifyOptions extends VerifyOptions {
  /** Accept sim evidence (it proves nothing about the platform); `roots` must then hold the sim root. */
  dangerousAllowSim?: boolean;
}

/** `verifyEvidence`, plus step `0.sim`: sim evidence fails unless `dangerousAllowSim`. */
export function verifyEvidenceAllowingSim(bytes: Uint8Array, opts: SimVerifyOptions): Verdict {
  if (!isSimEvidence(bytes)) return verifyEvidence(bytes, opts);
  const allow = opts.dangerousAllowSim === true;
  // The sim root is a custom root by construction; allowing sim allows it for this evidence only.
  const policy = { ...opts.policy, ...(allow ? { dangerousAllowCustomRoots: true } : {}) };
  const v = verifyEvidence(bytes, { ...opts, policy });
  const sim: Finding = allow
    ? {
        step: "0.sim",
        code: "attest.ok",
        ok: true,
        detail: "sim evidence allowed by dangerousAllowSim: it proves nothing",
      }
    : {
        step: "0.sim",
        code: "attest.sim",
        ok: false,
        detail: "sim evidence (software only, insecure) is refused",
      };
  return { ...v, ok: v.ok && allow, findings: [sim, ...v.findings], fields: { ...v.fields, sim: true } };
}
