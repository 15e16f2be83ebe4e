// The attestation API: parse and verify SGX DCAP v3 quotes, TDX v4/v5 quotes and SEV-SNP reports.
// Side-effect free. `verifyEvidence` runs verification (verify-dcap.ts, verify-snp.ts) then policy
// (policy.ts) and returns every finding; it throws only on programming errors, never on bad evidence.
import { TwineError } from "../errors.js";
import { bytesEqual, readU32 } from "./bytes.js";
import { SNP_REPORT_SIZE, SNP_VERSIONS } from "./abi-snp.js";
import type { DcapCollateral } from "./collateral.js";
import { Findings } from "./findings.js";
import type { EvidenceKind, Verdict } from "./findings.js";
import { evaluatePolicy } from "./policy.js";
import type { Policy } from "./policy.js";
import { defaultRoots } from "./roots.js";
import type { TrustRoots } from "./roots.js";
import { verifyDcap } from "./verify-dcap.js";
import { verifySnp } from "./verify-snp.js";
import { isSimEvidence } from "./sim-evidence.js";
import type { SnpCollateral } from "./verify-snp.js";

export * from "./abi-quote.js";
export * from "./abi-snp.js";
export {
  parseDcapCollateral,
  serializeDcapCollateral,
  parseTcbInfo,
  parseQeIdentity,
  TCB_STATUSES,
} from "./collateral.js";
export type { DcapCollateral, TcbInfo, QeIdentity, TcbStatus, TcbLevel } from "./collateral.js";
export { verdictError } from "./findings.js";
export type { EvidenceKind, Finding, Verdict, Fields } from "./findings.js";
export { parsePolicy, DEFAULT_ACCEPTED_TCB_STATUSES } from "./policy.js";
export type { Policy, SnpTcb } from "./policy.js";
export { defaultRoots, ROOT_FINGERPRINTS } from "./roots.js";
export type { TrustRoots } from "./roots.js";
export { snpCollateralFrom } from "./verify-snp.js";
export type { SnpCollateral } from "./verify-snp.js";
export { parsePckExtension, OID_SGX_EXTENSION } from "./pck.js";
export type { PckExtension } from "./pck.js";

export interface VerifyOptions {
  /** The expected kind; when absent it is read from the evidence. */
  kind?: EvidenceKind;
  /** DCAP collateral for SGX/TDX quotes, certificates for SNP reports. */
  collateral: DcapCollateral | SnpCollateral;
  /** Expectations; absent means the default policy (no debug, TCB UpToDate or SWHardeningNeeded). */
  policy?: Policy;
  /** The time certificates, CRLs and collateral are judged at. Always explicit. */
  now: Date;
  /** Replaces the embedded vendor roots (the sim backend's root); policy must allow it. */
  roots?: Partial<TrustRoots>;
  /**
   * Accept evidence from Twine's `sim` TEE (it proves nothing about the platform); `roots` must then
   * hold the sim root, which this option also allows as a custom root for that evidence only.
   */
  dangerousAllowSim?: boolean;
}

/** SNP reports start with a small u32 version; quotes with u16 version ‖ u16 key type (2). */
export function detectKind(bytes: Uint8Array): EvidenceKind {
  if (bytes.length === SNP_REPORT_SIZE && SNP_VERSIONS.includes(readU32(bytes))) return "snp";
  if (bytes.length >= 8 && bytes[0] === 3 && bytes[1] === 0) return "sgx";
  if (bytes.length >= 8 && (bytes[0] === 4 || bytes[0] === 5) && bytes[1] === 0) return "tdx";
  throw new TwineError("attest.format", "evidence is neither a DCAP quote nor an SNP report");
}

function isSnpCollateral(c: DcapCollateral | SnpCollateral): c is SnpCollateral {
  return "certs" in c;
}

export function verifyEvidence(bytes: Uint8Array, opts: VerifyOptions): Verdict {
  const f = new Findings();
  if (Number.isNaN(opts.now.getTime())) throw new TwineError("attest.usage", "now is not a valid time");
  const policy = opts.policy ?? {};
  const defaults = defaultRoots();
  const roots: TrustRoots = {
    intelSgxRootCa: opts.roots?.intelSgxRootCa ?? defaults.intelSgxRootCa,
    amdArk: opts.roots?.amdArk ?? defaults.amdArk,
  };
  let kind: EvidenceKind | undefined = opts.kind;
  if (kind === undefined) kind = f.run("0.kind", () => detectKind(bytes));
  if (kind === undefined) return { ok: false, kind: "sgx", findings: f.list, advisoryIds: [], fields: {} };

  if (kind === "snp") {
    const custom =
      opts.roots?.amdArk !== undefined &&
      (Object.keys(roots.amdArk).length !== Object.keys(defaults.amdArk).length ||
        Object.entries(roots.amdArk).some(
          ([k, v]) => defaults.amdArk[k] === undefined || !bytesEqual(v, defaults.amdArk[k]),
        ));
    if (isSnpCollateral(opts.collateral)) {
      const o = verifySnp(bytes, opts.collateral, opts.now, roots.amdArk, f);
      if (o.report !== undefined) {
        const crlGiven = opts.collateral.crl !== undefined;
        evaluatePolicy(policy, { kind: "snp", report: o.report, product: o.product, crlGiven }, custom, f);
      }
      return { ok: f.ok, kind, findings: f.list, advisoryIds: [], fields: o.fields };
    }
    f.fail(
      "0.collateral",
      "attest.collateral_format",
      "SNP evidence needs certificates, not DCAP collateral",
    );
    return { ok: false, kind, findings: f.list, advisoryIds: [], fields: {} };
  }
  if (isSnpCollateral(opts.collateral)) {
    f.fail(
      "0.collateral",
      "attest.collateral_format",
      "a DCAP quote needs DCAP collateral, not certificates",
    );
    return { ok: false, kind, findings: f.list, advisoryIds: [], fields: {} };
  }
  // Step 0.sim comes first so a refused sim quote says why before anything else.
  const sim = isSimEvidence(bytes);
  const allowSim = sim && opts.dangerousAllowSim === true;
  if (sim && allowSim) f.pass("0.sim", "sim evidence allowed by dangerousAllowSim: it proves nothing");
  else if (sim) f.fail("0.sim", "attest.sim", "sim evidence (software only, insecure) is refused");
  const custom =
    opts.roots?.intelSgxRootCa !== undefined && !bytesEqual(roots.intelSgxRootCa, defaults.intelSgxRootCa);
  const o = verifyDcap(bytes, opts.collateral, opts.now, roots.intelSgxRootCa, kind, f);
  if (o.quote !== undefined) {
    evaluatePolicy(
      allowSim ? { ...policy, dangerousAllowCustomRoots: true } : policy,
      { kind: o.quote.body.type === "sgx" ? "sgx" : "tdx", quote: o.quote, tcbStatus: o.tcbStatus },
      custom,
      f,
    );
  }
  const fields = sim ? { ...o.fields, sim: true } : o.fields;
  const verdict: Verdict = { ok: f.ok, kind, findings: f.list, advisoryIds: o.advisoryIds, fields };
  if (o.tcbStatus !== undefined) verdict.tcbStatus = o.tcbStatus;
  return verdict;
}
