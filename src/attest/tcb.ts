// TCB level matching, status convergence and the TD 1.5 relaunch check, as Intel QVL's TcbLevelCheck,
// TdxModuleCheck, TDRelaunchCheck and convergeTcbStatusWithQeTcbStatus do it ([S3]).
import type { IdentityLevel, TcbInfo, TcbLevel, TcbLevelStatus, TcbStatus } from "./collateral.js";
import type { Issue } from "./findings.js";

/** The first level (levels are ordered highest first) whose every SGX SVN and PCESVN the platform meets. */
export function matchSgxLevel(
  levels: readonly TcbLevel[],
  comps: readonly number[],
  pceSvn: number,
): TcbLevel | undefined {
  return levels.find((l) => l.pceSvn <= pceSvn && l.sgxComponents.every((svn, i) => svn <= (comps[i] ?? -1)));
}

/**
 * TDX: the SGX part as above, then `tdxtcbcomponents[i] ≤ TEE_TCB_SVN[i]`, from i = 2 when the
 * module's major version (TEE_TCB_SVN[1]) is set, since bytes 0–1 are then judged by the module identity.
 * `sgxLevel` is the first level the SGX part alone matches: the relaunch check needs its status.
 */
export function matchTdxLevel(
  levels: readonly TcbLevel[],
  comps: readonly number[],
  pceSvn: number,
  teeTcbSvn: Uint8Array,
): { sgxMatched: boolean; sgxLevel: TcbLevel | undefined; level: TcbLevel | undefined } {
  const from = (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0;
  let sgxLevel: TcbLevel | undefined;
  for (const l of levels) {
    if (!(l.pceSvn <= pceSvn && l.sgxComponents.every((svn, i) => svn <= (comps[i] ?? -1)))) continue;
    sgxLevel ??= l;
    const tdx = l.tdxComponents ?? [];
    let ok = true;
    for (let i = from; i < 16; i++) if ((tdx[i] ?? 0) > (teeTcbSvn[i] ?? 0)) ok = false;
    if (ok) return { sgxMatched: true, sgxLevel, level: l };
  }
  return { sgxMatched: sgxLevel !== undefined, sgxLevel, level: undefined };
}

/** The first identity level (highest isvsvn first) that `isvsvn` meets. */
export function matchIdentityLevel(
  levels: readonly IdentityLevel[],
  isvsvn: number,
): IdentityLevel | undefined {
  return [...levels].sort((a, b) => b.isvsvn - a.isvsvn).find((l) => isvsvn >= l.isvsvn);
}

/**
 * Folds a QE (or TDX module) status into the platform status, as Intel QVL does. A relaunch status
 * passes through unchanged (Intel's convergeTcbStatusWithQeTcbStatus); it only arises with a QE that
 * is neither OutOfDate nor Revoked.
 */
export function convergeStatus(platform: TcbStatus, other: TcbStatus): TcbStatus {
  if (other === "Revoked") return "Revoked";
  if (other === "OutOfDate") {
    if (platform === "UpToDate" || platform === "SWHardeningNeeded") return "OutOfDate";
    if (platform === "ConfigurationNeeded" || platform === "ConfigurationAndSWHardeningNeeded") {
      return "OutOfDateConfigurationNeeded";
    }
  }
  return platform;
}

/** The outcome of the TD 1.5 relaunch check. */
export interface RelaunchCheck {
  /** The TDX status after the check: a relaunch status, `tdxStatus` unchanged, or undefined on an issue. */
  status: TcbStatus | undefined;
  advised: boolean;
  /** For people: why relaunch is or is not advised (the module SVN running now against the latest). */
  detail: string;
  /** Set when the check refuses the quote (as Intel: module identity missing, or without levels). */
  issue?: Issue;
  /** The running module's SVN (TEE_TCB_SVN2[0]) and the latest one, when the comparison was made. */
  runningModuleSvn?: number;
  latestModuleSvn?: number;
}

export interface RelaunchInput {
  info: TcbInfo;
  /** TEE_TCB_SVN: the TCB the TD was launched on. */
  teeTcbSvn: Uint8Array;
  /** TEE_TCB_SVN2 (TD 1.5 only): the TCB running now, after TD-preserving module updates. */
  teeTcbSvn2: Uint8Array;
  /** Status of the first level that the PCK's SGX SVNs and PCESVN meet. */
  sgxStatus: TcbLevelStatus;
  /** The TDX level status already converged with the launch module's status. */
  tdxStatus: TcbStatus;
  /** The launch module's own status (UpToDate when TEE_TCB_SVN[1] = 0, as Intel). */
  moduleStatus: TcbLevelStatus;
  qeStatus: TcbLevelStatus;
}

const CONFIGURATION_NEEDED: readonly TcbStatus[] = [
  "ConfigurationNeeded",
  "OutOfDateConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "TDRelaunchAdvisedConfigurationNeeded",
];

/** The TCB info's id of the TDX module identity for major version `major` (TEE_TCB_SVN[1]): `TDX_%02X`. */
export function tdxModuleId(major: number): string {
  return `TDX_${major.toString(16).toUpperCase().padStart(2, "0")}`;
}

/**
 * TD relaunch advised (TD 1.5 quote bodies only). Rule as Intel QVL's `checkForRelaunch` in
 * intel/SGX-TDX-DCAP-QuoteVerificationLibrary, `Src/AttestationLibrary/src/Verifiers/Checks/
 * TDRelaunchCheck.cpp` (commit 4b96e200d20b), called by `checkTcbLevel` in `TcbLevelCheck.cpp` (step
 * 4.1.2.4.17.4.3) after the TDX level status is converged with the module status and before the QE
 * status is; re-implemented here, not copied.
 *
 * TEE_TCB_SVN is the TCB the TD was launched on; TEE_TCB_SVN2 the one running now, after TD-preserving
 * TDX module updates. When the TD is out of date only because it was launched on an old module and the
 * platform now runs the latest one, relaunching the TD would bring it up to date: Intel then reports
 * TDRelaunchAdvised instead of OutOfDate. Precisely, the status becomes a relaunch status when all hold:
 *  1. the QE status is not OutOfDate or Revoked (Intel: nor ISVSVN not supported, which fails earlier
 *     here; we also exclude OutOfDateConfigurationNeeded, which Intel's QE identities never carry);
 *  2. the SGX level status is UpToDate, SWHardeningNeeded, ConfigurationNeeded or
 *     ConfigurationAndSWHardeningNeeded;
 *  3. the TDX status (TDX level converged with the launch module) is OutOfDate or
 *     OutOfDateConfigurationNeeded;
 *  4. the launch module's status is OutOfDate (so never when TEE_TCB_SVN[1] = 0, whose module status is
 *     UpToDate);
 *  5. TEE_TCB_SVN2 is the latest. With L the first (latest) TCB level: TEE_TCB_SVN2[2] (TDX late
 *     microcode update) ≥ L.tdxtcbcomponents[2], and
 *     - if TEE_TCB_SVN2[1] = 0: TEE_TCB_SVN2[0] ≥ L.tdxtcbcomponents[0];
 *     - else: TEE_TCB_SVN2[0] ≥ the isvsvn of the latest level of the module identity
 *       `TDX_%02X` of TEE_TCB_SVN2[1]; that identity missing → TDX_MODULE_MISMATCH, without levels →
 *       TCB_NOT_SUPPORTED (both refuse the quote; reached only when 1–4 hold, as in Intel's code).
 * The result is TDRelaunchAdvisedConfigurationNeeded when the SGX level status or the TDX status is a
 * configuration-needed one, else TDRelaunchAdvised. Otherwise the TDX status is unchanged.
 *
 * "Latest": Intel takes the first element of its sorted TCB levels and of the identity's levels. We take
 * `tcbLevels[0]` (Intel publishes levels highest first; level matching assumes the same) and the
 * identity level with the highest isvsvn, which equals Intel's first for Intel's ordering and is never
 * lower otherwise. Identity ids are compared exactly, as `checkTdxModule` does (Intel upper-cases them).
 * Intel's later repository (intel/confidential-computing.tee.dcap.qvl, EvaluateTcb.cpp) evaluates the
 * current TCB from TEE_TCB_SVN2 in full instead; this is the rule ATTESTATION-SPEC §2 cites.
 */
export function checkForRelaunch(r: RelaunchInput): RelaunchCheck {
  const unchanged = (why: string): RelaunchCheck => ({
    status: r.tdxStatus,
    advised: false,
    detail: `not applicable: ${why}; stays ${r.tdxStatus}`,
  });
  if (r.qeStatus === "OutOfDate" || r.qeStatus === "OutOfDateConfigurationNeeded" || r.qeStatus === "Revoked")
    return unchanged(`QE status is ${r.qeStatus}`);
  if (
    r.sgxStatus !== "UpToDate" &&
    r.sgxStatus !== "SWHardeningNeeded" &&
    r.sgxStatus !== "ConfigurationNeeded" &&
    r.sgxStatus !== "ConfigurationAndSWHardeningNeeded"
  )
    return unchanged(`SGX TCB level status is ${r.sgxStatus}`);
  if (r.tdxStatus !== "OutOfDate" && r.tdxStatus !== "OutOfDateConfigurationNeeded")
    return unchanged(`TDX status is not OutOfDate`);
  const launchMajor = r.teeTcbSvn[1] ?? 0;
  const launchSvn = r.teeTcbSvn[0] ?? 0;
  const launched = `${tdxModuleId(launchMajor)} SVN ${launchSvn}`;
  if (r.moduleStatus !== "OutOfDate")
    return unchanged(`launch TDX module ${launched} is ${r.moduleStatus}, not OutOfDate`);

  const latest = r.info.tcbLevels[0];
  if (latest === undefined) {
    const detail = "TCB info has no TDX TCB level";
    return { status: undefined, advised: false, detail, issue: { code: "attest.tcb_not_supported", detail } };
  }
  const running = r.teeTcbSvn2[0] ?? 0;
  const runningMajor = r.teeTcbSvn2[1] ?? 0;
  const microcode = r.teeTcbSvn2[2] ?? 0;
  const latestMicrocode = latest.tdxComponents?.[2] ?? 0;
  let latestSvn: number;
  let against: string;
  if (runningMajor === 0) {
    latestSvn = latest.tdxComponents?.[0] ?? 0;
    against = "the latest TCB level";
  } else {
    const id = tdxModuleId(runningMajor);
    const identity = r.info.tdxModuleIdentities?.find((m) => m.id === id);
    if (identity === undefined) {
      const detail = `TCB info has no TDX module identity ${id} for TEE_TCB_SVN2`;
      return {
        status: undefined,
        advised: false,
        detail,
        issue: { code: "attest.tdx_module_mismatch", detail },
      };
    }
    if (identity.tcbLevels.length === 0) {
      const detail = `TDX module identity ${id} has no TCB level`;
      return {
        status: undefined,
        advised: false,
        detail,
        issue: { code: "attest.tcb_not_supported", detail },
      };
    }
    latestSvn = Math.max(...identity.tcbLevels.map((l) => l.isvsvn));
    against = `${id}'s latest level`;
  }
  const now = `${tdxModuleId(runningMajor)} SVN ${running} (latest ${latestSvn} per ${against}), late microcode SVN ${microcode} (latest ${latestMicrocode})`;
  const svns = { runningModuleSvn: running, latestModuleSvn: latestSvn };
  if (running < latestSvn || microcode < latestMicrocode) {
    return {
      status: r.tdxStatus,
      advised: false,
      detail: `not advised: TD launched on ${launched} (OutOfDate); the platform runs ${now}, not the latest; stays ${r.tdxStatus}`,
      ...svns,
    };
  }
  const status =
    CONFIGURATION_NEEDED.includes(r.sgxStatus) || CONFIGURATION_NEEDED.includes(r.tdxStatus)
      ? "TDRelaunchAdvisedConfigurationNeeded"
      : "TDRelaunchAdvised";
  return {
    status,
    advised: true,
    detail: `advised: TD launched on ${launched} (OutOfDate); the platform now runs ${now}; ${r.tdxStatus} → ${status}`,
    ...svns,
  };
}
