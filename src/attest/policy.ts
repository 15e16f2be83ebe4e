// What the relying party expects of verified evidence. Checked after verification, each expectation
// its own finding. Measurements are hex strings so a policy file and the API have one shape.
// Options that weaken checks are named `dangerous…` and are off by default.
import { TwineError } from "../errors.js";
import { bytesEqual, fromHex, hex, readU64 } from "./bytes.js";
import type { ParsedQuote } from "./abi-quote.js";
import { TCB_STATUSES } from "./collateral.js";
import type { TcbStatus } from "./collateral.js";
import type { EvidenceKind, Findings } from "./findings.js";
import { decodeTcb } from "./abi-snp.js";
import type { SnpReport, SnpTcbParts } from "./abi-snp.js";

/** A TCB floor has the parts of a decoded TCB_VERSION; its `fmc` is compared on Turin reports only. */
export type SnpTcb = SnpTcbParts;

export interface Policy {
  /**
   * DCAP TCB statuses to accept. Default: UpToDate, SWHardeningNeeded. Revoked is never accepted.
   * TDRelaunchAdvised[ConfigurationNeeded] (TD 1.5) is accepted when listed or when
   * OutOfDate[ConfigurationNeeded] is (it would otherwise have been that); never by UpToDate, since the
   * TD runs as launched on an out-of-date TDX module until relaunched.
   */
  acceptedTcbStatuses?: readonly TcbStatus[];
  /** Expected REPORTDATA (SGX, TDX, SNP), hex of ≤ 64 bytes, zero-padded to 64. */
  reportData?: string;
  // SGX
  mrEnclave?: string;
  mrSigner?: string;
  isvProdId?: number;
  minIsvSvn?: number;
  // TDX
  mrTd?: string;
  /** RTMR0..3; null or absent entries are not checked. */
  rtmrs?: readonly (string | null)[];
  mrConfigId?: string;
  mrOwner?: string;
  mrOwnerConfig?: string;
  // SEV-SNP
  measurement?: string;
  hostData?: string;
  idKeyDigest?: string;
  authorKeyDigest?: string;
  vmpl?: number;
  minGuestSvn?: number;
  minReportedTcb?: SnpTcb;
  /**
   * Minimum SEV-SNP firmware, "MAJOR.MINOR" or "MAJOR.MINOR.BUILD" (each 0..255): both the running
   * (CURRENT_*) and the committed (COMMITTED_*) firmware must be at least this. The committed one is
   * what the platform can no longer roll back below; the running one could be newer.
   */
  minFirmware?: string;
  /**
   * Refuse SNP evidence verified without AMD's CRL (`attest.crl_missing`). Off by default: without it,
   * revocation of the ASK/ASVK and VCEK/VLEK is not checked (the verdict's `fields.amdCrl` says so).
   */
  requireSnpCrl?: boolean;
  /** Accept debug enclaves, TDs and guests (their memory is readable by the host). */
  dangerousAllowDebug?: boolean;
  /** Accept evidence chained to roots passed in by the caller instead of the embedded vendor roots. */
  dangerousAllowCustomRoots?: boolean;
}

export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly TcbStatus[] = ["UpToDate", "SWHardeningNeeded"];

const KIND_OF: Record<string, EvidenceKind | "any"> = {
  acceptedTcbStatuses: "any",
  reportData: "any",
  mrEnclave: "sgx",
  mrSigner: "sgx",
  isvProdId: "sgx",
  minIsvSvn: "sgx",
  mrTd: "tdx",
  rtmrs: "tdx",
  mrConfigId: "tdx",
  mrOwner: "tdx",
  mrOwnerConfig: "tdx",
  measurement: "snp",
  hostData: "snp",
  idKeyDigest: "snp",
  authorKeyDigest: "snp",
  vmpl: "snp",
  minGuestSvn: "snp",
  minReportedTcb: "snp",
  minFirmware: "snp",
  requireSnpCrl: "snp",
  dangerousAllowDebug: "any",
  dangerousAllowCustomRoots: "any",
};

const HEX_SIZES: Record<string, number> = {
  mrEnclave: 32,
  mrSigner: 32,
  mrTd: 48,
  mrConfigId: 48,
  mrOwner: 48,
  mrOwnerConfig: 48,
  measurement: 48,
  hostData: 32,
  idKeyDigest: 48,
  authorKeyDigest: 48,
};

/** [major, minor, build] of "MAJOR.MINOR[.BUILD]" (build 0 when absent), or undefined if malformed. */
function firmwareOf(v: string): [number, number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$/.exec(v);
  if (m === null) return undefined;
  const parts = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] as [number, number, number];
  return parts.every((x) => x <= 255) ? parts : undefined;
}

/** A report's version field (build, minor, major, as stored) as [major, minor, build]. */
function reportFirmware(v: Uint8Array): [number, number, number] {
  return [v[2] ?? 0, v[1] ?? 0, v[0] ?? 0];
}

function atLeastFirmware(have: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) if ((have[i] ?? 0) !== (min[i] ?? 0)) return (have[i] ?? 0) > (min[i] ?? 0);
  return true;
}

function policyError(detail: string): TwineError {
  return new TwineError("attest.policy_format", `policy: ${detail}`);
}

/** Parses and validates a policy (JSON text or object). Unknown keys are errors: a typo must not weaken it. */
export function parsePolicy(input: unknown): Policy {
  let j: unknown = input;
  if (typeof input === "string") {
    try {
      j = JSON.parse(input);
    } catch {
      throw policyError("not JSON");
    }
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw policyError("not an object");
  const o = j as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (!(k in KIND_OF)) throw policyError(`unknown key ${k}`);
    const size = HEX_SIZES[k];
    if (size !== undefined) {
      if (typeof v !== "string" || !/^[0-9a-fA-F]*$/.test(v) || v.length !== size * 2)
        throw policyError(`${k} must be ${size} bytes of hex`);
    } else if (k === "reportData") {
      if (typeof v !== "string" || !/^[0-9a-fA-F]*$/.test(v) || v.length % 2 !== 0 || v.length > 128) {
        throw policyError("reportData must be hex of at most 64 bytes");
      }
    } else if (k === "rtmrs") {
      if (
        !Array.isArray(v) ||
        v.length > 4 ||
        !v.every((x) => x === null || (typeof x === "string" && /^[0-9a-fA-F]{96}$/.test(x)))
      ) {
        throw policyError("rtmrs must be up to 4 entries of 48 bytes of hex or null");
      }
    } else if (k === "acceptedTcbStatuses") {
      if (
        !Array.isArray(v) ||
        !v.every((s) => typeof s === "string" && (TCB_STATUSES as readonly string[]).includes(s))
      ) {
        throw policyError(`acceptedTcbStatuses must list statuses from ${TCB_STATUSES.join(", ")}`);
      }
      if (v.includes("Revoked")) throw policyError("Revoked cannot be accepted");
    } else if (k.startsWith("dangerous") || k === "requireSnpCrl") {
      if (typeof v !== "boolean") throw policyError(`${k} must be a boolean`);
    } else if (k === "minReportedTcb") {
      const t = v as Record<string, unknown>;
      if (
        typeof v !== "object" ||
        v === null ||
        !["bootloader", "tee", "snp", "microcode"].every((x) => isByte(t[x])) ||
        !(t.fmc === undefined || isByte(t.fmc)) ||
        Object.keys(t).length !== (t.fmc === undefined ? 4 : 5)
      ) {
        throw policyError("minReportedTcb needs bootloader, tee, snp, microcode and optionally fmc (0..255)");
      }
    } else if (k === "minFirmware") {
      if (typeof v !== "string" || firmwareOf(v) === undefined)
        throw policyError('minFirmware must be "MAJOR.MINOR" or "MAJOR.MINOR.BUILD", each 0..255');
    } else if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw policyError(`${k} must be a non-negative integer`);
    }
  }
  return o;
}

function isByte(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255;
}

function padReportData(h: string): Uint8Array {
  const out = new Uint8Array(64);
  out.set(fromHex(h, "reportData"));
  return out;
}

/**
 * A relaunch status is the TDX status that would otherwise have been OutOfDate[ConfigurationNeeded],
 * with the platform now running the latest module: a policy that accepts the out-of-date status
 * accepts it too (it is no worse), so policies written before the relaunch check keep their verdicts.
 * UpToDate never implies it: the TD itself still runs as launched on an out-of-date module.
 */
const RELAUNCH_ACCEPTED_AS: Partial<Record<TcbStatus, TcbStatus>> = {
  TDRelaunchAdvised: "OutOfDate",
  TDRelaunchAdvisedConfigurationNeeded: "OutOfDateConfigurationNeeded",
};

export type PolicySubject =
  | { kind: "sgx" | "tdx"; quote: ParsedQuote; tcbStatus: TcbStatus | undefined }
  | { kind: "snp"; report: SnpReport; product: string | undefined; crlGiven: boolean };

/** Evaluates `policy` against verified evidence, recording one finding per expectation (steps 20.x). */
export function evaluatePolicy(policy: Policy, s: PolicySubject, customRoots: boolean, f: Findings): void {
  for (const k of Object.keys(policy)) {
    const want = KIND_OF[k];
    if (want !== undefined && want !== "any" && want !== s.kind) {
      f.fail(
        "20.policy",
        "attest.policy_mismatch",
        `policy key ${k} is for ${want} evidence, this is ${s.kind}`,
      );
    }
  }
  if (customRoots) {
    if (policy.dangerousAllowCustomRoots === true)
      f.pass("20.roots", "custom trust roots allowed by policy (dangerousAllowCustomRoots)");
    else
      f.fail(
        "20.roots",
        "attest.custom_root",
        "evidence checked against caller-supplied roots, not the vendor roots",
      );
  }
  const expect = (
    step: string,
    name: string,
    actual: Uint8Array,
    expected: string | undefined,
    code: "attest.measurement_mismatch" | "attest.report_data_mismatch" = "attest.measurement_mismatch",
  ): void => {
    if (expected === undefined) return;
    const e = name === "reportData" ? padReportData(expected) : fromHex(expected, name);
    if (bytesEqual(actual, e)) f.pass(step, `${name} = ${hex(actual)}`);
    else f.fail(step, code, `${name} is ${hex(actual)}, policy expects ${hex(e)}`);
  };
  const atLeast = (step: string, name: string, actual: number, min: number | undefined): void => {
    if (min === undefined) return;
    if (actual >= min) f.pass(step, `${name} ${actual} ≥ ${min}`);
    else f.fail(step, "attest.svn_too_low", `${name} ${actual} < ${min}`);
  };
  const equal = (step: string, name: string, actual: number, want: number | undefined): void => {
    if (want === undefined) return;
    if (actual === want) f.pass(step, `${name} = ${actual}`);
    else f.fail(step, "attest.policy_mismatch", `${name} is ${actual}, policy expects ${want}`);
  };
  const debugCheck = (debug: boolean): void => {
    if (!debug) f.pass("20.debug", "not a debug TEE");
    else if (policy.dangerousAllowDebug === true)
      f.pass("20.debug", "debug TEE allowed by policy (dangerousAllowDebug)");
    else f.fail("20.debug", "attest.debug", "debug TEE: its memory is readable by the host");
  };

  if (s.kind === "snp") {
    const r = s.report;
    debugCheck((r.policy & (1n << 19n)) !== 0n);
    expect("20.measurement", "measurement", r.measurement, policy.measurement);
    expect("20.host_data", "hostData", r.hostData, policy.hostData);
    expect("20.id_key_digest", "idKeyDigest", r.idKeyDigest, policy.idKeyDigest);
    expect("20.author_key_digest", "authorKeyDigest", r.authorKeyDigest, policy.authorKeyDigest);
    expect("20.report_data", "reportData", r.reportData, policy.reportData, "attest.report_data_mismatch");
    equal("20.vmpl", "VMPL", r.vmpl, policy.vmpl);
    atLeast("20.guest_svn", "guest SVN", r.guestSvn, policy.minGuestSvn);
    const m = policy.minReportedTcb;
    if (m !== undefined) {
      // The product picks the TCB_VERSION layout: reading a Turin TCB as Milan's would compare the wrong bytes.
      const t = decodeTcb(r.reportedTcb, s.product);
      const fmcOk = t.fmc === undefined || m.fmc === undefined || t.fmc >= m.fmc;
      const ok =
        fmcOk &&
        t.bootloader >= m.bootloader &&
        t.tee >= m.tee &&
        t.snp >= m.snp &&
        t.microcode >= m.microcode;
      const withFmc = t.fmc !== undefined && m.fmc !== undefined;
      const show = (x: SnpTcb): string =>
        `${withFmc ? `${x.fmc}/` : ""}${x.bootloader}/${x.tee}/${x.snp}/${x.microcode}`;
      const parts = `(${withFmc ? "fmc/" : ""}bl/tee/snp/ucode)`;
      if (ok) f.pass("20.reported_tcb", `reported TCB ${show(t)} ≥ ${show(m)} ${parts}`);
      else
        f.fail("20.reported_tcb", "attest.svn_too_low", `reported TCB ${show(t)} below ${show(m)} ${parts}`);
    }
    const minFw = policy.minFirmware === undefined ? undefined : firmwareOf(policy.minFirmware);
    // A Policy object handed in by code skips parsePolicy: a malformed floor fails closed, not open.
    if (policy.minFirmware !== undefined && minFw === undefined)
      f.fail(
        "20.firmware",
        "attest.policy_format",
        `minFirmware ${JSON.stringify(policy.minFirmware)} is malformed`,
      );
    if (minFw !== undefined) {
      const current = reportFirmware(r.currentVersion);
      const committed = reportFirmware(r.committedVersion);
      const show = (x: readonly number[]): string => x.join(".");
      const detail = `firmware ${show(current)} running, ${show(committed)} committed`;
      if (atLeastFirmware(current, minFw) && atLeastFirmware(committed, minFw))
        f.pass("20.firmware", `${detail}, both ≥ ${show(minFw)}`);
      else f.fail("20.firmware", "attest.svn_too_low", `${detail}: below ${show(minFw)}`);
    }
    if (policy.requireSnpCrl === true) {
      if (s.crlGiven) f.pass("20.snp_crl", "AMD CRL required and given (checked at 6.crl, 7.revocation)");
      else f.fail("20.snp_crl", "attest.crl_missing", "policy requires AMD's CRL and none was given");
    }
    return;
  }
  const accepted = policy.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
  const implied = s.tcbStatus === undefined ? undefined : RELAUNCH_ACCEPTED_AS[s.tcbStatus];
  if (s.tcbStatus === undefined) f.blocked("20.tcb_status", "a TCB status");
  else if (s.tcbStatus !== "Revoked" && accepted.includes(s.tcbStatus))
    f.pass("20.tcb_status", `TCB status ${s.tcbStatus} accepted`);
  else if (implied !== undefined && accepted.includes(implied))
    f.pass("20.tcb_status", `TCB status ${s.tcbStatus} accepted (the policy accepts ${implied})`);
  else
    f.fail(
      "20.tcb_status",
      "attest.tcb_status",
      `TCB status ${s.tcbStatus} is not accepted (accepted: ${accepted.join(", ")})${
        s.tcbStatus.startsWith("TDRelaunchAdvised")
          ? "; the TD was launched on an out-of-date TDX module: relaunch it, or list the status"
          : ""
      }`,
    );

  const body = s.quote.body;
  if (body.type === "sgx") {
    const r = body.report;
    debugCheck((readU64(r.attributes.subarray(0, 8)) & 2n) !== 0n);
    expect("20.mr_enclave", "mrEnclave", r.mrEnclave, policy.mrEnclave);
    expect("20.mr_signer", "mrSigner", r.mrSigner, policy.mrSigner);
    equal("20.isv_prod_id", "ISVPRODID", r.isvProdId, policy.isvProdId);
    atLeast("20.isv_svn", "ISVSVN", r.isvSvn, policy.minIsvSvn);
    expect("20.report_data", "reportData", r.reportData, policy.reportData, "attest.report_data_mismatch");
  } else {
    const r = body.report;
    debugCheck(((r.tdAttributes[0] ?? 0) & 1) !== 0);
    expect("20.mr_td", "mrTd", r.mrTd, policy.mrTd);
    policy.rtmrs?.forEach((v, i) =>
      expect(`20.rtmr${i}`, `rtmr${i}`, r.rtmr[i as 0 | 1 | 2 | 3], v ?? undefined),
    );
    expect("20.mr_config_id", "mrConfigId", r.mrConfigId, policy.mrConfigId);
    expect("20.mr_owner", "mrOwner", r.mrOwner, policy.mrOwner);
    expect("20.mr_owner_config", "mrOwnerConfig", r.mrOwnerConfig, policy.mrOwnerConfig);
    expect("20.report_data", "reportData", r.reportData, policy.reportData, "attest.report_data_mismatch");
  }
}
