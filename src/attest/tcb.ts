// TCB level matching and status convergence, as Intel QVL's TcbLevelCheck / TdxModuleCheck and
// convergeTcbStatusWithQeTcbStatus do it ([S3]).
import type { IdentityLevel, TcbLevel, TcbStatus } from "./collateral.js";

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
 */
export function matchTdxLevel(
  levels: readonly TcbLevel[],
  comps: readonly number[],
  pceSvn: number,
  teeTcbSvn: Uint8Array,
): { sgxMatched: boolean; level: TcbLevel | undefined } {
  const from = (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0;
  let sgxMatched = false;
  for (const l of levels) {
    if (!(l.pceSvn <= pceSvn && l.sgxComponents.every((svn, i) => svn <= (comps[i] ?? -1)))) continue;
    sgxMatched = true;
    const tdx = l.tdxComponents ?? [];
    let ok = true;
    for (let i = from; i < 16; i++) if ((tdx[i] ?? 0) > (teeTcbSvn[i] ?? 0)) ok = false;
    if (ok) return { sgxMatched, level: l };
  }
  return { sgxMatched, level: undefined };
}

/** The first identity level (highest isvsvn first) that `isvsvn` meets. */
export function matchIdentityLevel(
  levels: readonly IdentityLevel[],
  isvsvn: number,
): IdentityLevel | undefined {
  return [...levels].sort((a, b) => b.isvsvn - a.isvsvn).find((l) => isvsvn >= l.isvsvn);
}

/** Folds a QE (or TDX module) status into the platform status, as Intel QVL does. */
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
