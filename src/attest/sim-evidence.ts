// The mark of evidence from Twine's software-only `sim` TEE. Sim quotes are SGX DCAP v3 quotes whose
// header user_data carries SIM_QE_USER_DATA (inside the signed region, so it cannot be stripped) and
// whose chain ends at a locally generated root. `verifyEvidence` refuses them with `attest.sim`, whatever
// roots are passed, unless the caller sets `dangerousAllowSim`.
import { bytesEqual } from "./bytes.js";

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
