// The data owner's policy file: which launches may receive secrets or data, and how their RA-TLS
// evidence is judged (evidence policy, collateral, roots, certificate age). Parsed strictly: an
// unknown key or a malformed value is an error, since a typo must never weaken what is accepted.
// Paths in the file are relative to the file's folder.
import { dirname, isAbsolute, resolve } from "node:path";
import { TwineError } from "../errors.js";
import { parsePolicy } from "../attest/index.js";
import {
  loadCollateralFiles,
  MAX_EVIDENCE_FILE,
  readBoundedFile,
  withSnpCrl,
} from "../attest/collateral-files.js";
import type { DcapCollateral, Policy, SnpCollateral, TrustRoots } from "../attest/index.js";
import { SimTee, defaultSimDir } from "../tee/sim.js";
import { BACKDATE_MS } from "./cert.js";
import type { PeerCheck } from "./tls.js";

export const DEFAULT_MAX_CERT_AGE_SECONDS = 600;
const MAX_POLICY_FILE = 1024 * 1024;
const KEYS = new Set([
  "launchHashes",
  "evidence",
  "collateral",
  "snpCrl",
  "sgxRoot",
  "maxCertAgeSeconds",
  "dangerousAllowSim",
  "simDir",
]);

export interface OwnerPolicy {
  /** Launch hashes (`twine measure`) of which a peer must carry one. Never empty. */
  launchHashes: readonly Uint8Array[];
  /** What the verified evidence must show (attest Policy); `{}` takes the verifier's defaults. */
  evidence: Policy;
  collateral: DcapCollateral | SnpCollateral;
  roots?: Partial<TrustRoots>;
  maxCertAgeSeconds: number;
  /** Accept the insecure sim TEE's evidence (proves nothing). */
  dangerousAllowSim: boolean;
}

function invalid(detail: string, cause?: unknown): TwineError {
  return new TwineError("policy.invalid", `owner policy: ${detail}`, cause === undefined ? {} : { cause });
}

const readBytes = (path: string, what: string, max: number): Uint8Array =>
  readBoundedFile(path, what, "policy.read", max);

function loadCollateral(
  paths: readonly string[],
  snpCrl: string | undefined,
): DcapCollateral | SnpCollateral {
  try {
    const c = loadCollateralFiles(paths, "policy.read");
    if (snpCrl === undefined) return c;
    if (!("certs" in c)) throw invalid("snpCrl goes with SNP certificates, not DCAP collateral");
    return withSnpCrl(c, snpCrl, "policy.read");
  } catch (e) {
    if (e instanceof TwineError && e.code.startsWith("policy.")) throw e;
    throw invalid(`collateral: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

function pathList(v: unknown, key: string): string[] {
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    !v.every((x) => typeof x === "string" && x !== "" && !x.includes("\0"))
  )
    throw invalid(`${key} must be a non-empty list of paths`);
  return v as string[];
}

function onePath(v: unknown, key: string): string {
  if (typeof v !== "string" || v === "" || v.includes("\0")) throw invalid(`${key} must be a path`);
  return v;
}

/** Parses a policy file's text; relative paths in it are taken from `baseDir`. Loads the files it names. */
export function parseOwnerPolicy(text: string, baseDir: string): OwnerPolicy {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw invalid("not JSON", e);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw invalid("not a JSON object");
  const o = j as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw invalid(`unknown key ${JSON.stringify(k)}`);
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));

  const lh = o.launchHashes;
  if (!Array.isArray(lh) || lh.length === 0) throw invalid("launchHashes must be a non-empty list");
  const launchHashes = lh.map((h, i) => {
    if (typeof h !== "string" || !/^[0-9a-fA-F]{64}$/.test(h))
      throw invalid(`launchHashes[${i}] must be 64 hex digits (a launch sha256 from \`twine measure\`)`);
    return new Uint8Array(Buffer.from(h, "hex"));
  });

  let evidence: Policy = {};
  if (o.evidence !== undefined) {
    try {
      evidence = parsePolicy(o.evidence);
    } catch (e) {
      throw invalid(`evidence: ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }

  let maxCertAgeSeconds = DEFAULT_MAX_CERT_AGE_SECONDS;
  if (o.maxCertAgeSeconds !== undefined) {
    const n = o.maxCertAgeSeconds;
    if (typeof n !== "number" || !Number.isFinite(n) || n <= 0)
      throw invalid("maxCertAgeSeconds must be a positive number");
    maxCertAgeSeconds = n;
  }

  if (o.dangerousAllowSim !== undefined && typeof o.dangerousAllowSim !== "boolean")
    throw invalid("dangerousAllowSim must be true or false");
  const dangerousAllowSim = o.dangerousAllowSim === true;
  if (o.simDir !== undefined && !dangerousAllowSim) throw invalid("simDir needs dangerousAllowSim");

  const collateralPaths =
    o.collateral === undefined ? undefined : pathList(o.collateral, "collateral").map(at);
  const snpCrlPath = o.snpCrl === undefined ? undefined : at(onePath(o.snpCrl, "snpCrl"));
  if (snpCrlPath !== undefined && collateralPaths === undefined) throw invalid("snpCrl needs collateral");
  const sgxRootPath = o.sgxRoot === undefined ? undefined : at(onePath(o.sgxRoot, "sgxRoot"));
  if (sgxRootPath !== undefined && !dangerousAllowSim && evidence.dangerousAllowCustomRoots !== true)
    throw invalid("sgxRoot needs evidence.dangerousAllowCustomRoots");

  let collateral: DcapCollateral | SnpCollateral;
  let rootDer: Uint8Array | undefined =
    sgxRootPath === undefined ? undefined : readBytes(sgxRootPath, "sgxRoot", MAX_EVIDENCE_FILE);
  if (collateralPaths !== undefined) {
    collateral = loadCollateral(collateralPaths, snpCrlPath);
  } else if (dangerousAllowSim) {
    // The sim's own collateral and root: it proves nothing, so there is nothing to fetch.
    const dir = o.simDir === undefined ? defaultSimDir() : at(onePath(o.simDir, "simDir"));
    const sim = new SimTee({ dir });
    collateral = sim.collateral(new Date());
    rootDer ??= sim.rootDer;
  } else {
    throw invalid("collateral is required unless dangerousAllowSim");
  }
  const p: OwnerPolicy = { launchHashes, evidence, collateral, maxCertAgeSeconds, dangerousAllowSim };
  if (rootDer !== undefined) p.roots = { intelSgxRootCa: rootDer };
  return p;
}

export function loadOwnerPolicy(file: string): OwnerPolicy {
  const text = Buffer.from(readBytes(file, "owner policy", MAX_POLICY_FILE)).toString("utf8");
  return parseOwnerPolicy(text, dirname(resolve(file)));
}

/** How to judge a peer under `p`: its launch hash one of `launchHashes`, its certificate young enough. */
export function peerCheckOf(p: OwnerPolicy): PeerCheck {
  const check: PeerCheck = {
    collateral: p.collateral,
    policy: p.evidence,
    expectedLaunchHashes: p.launchHashes,
    // Certificates are backdated for clock skew: the age limit counts from when one was made.
    maxAgeMs: p.maxCertAgeSeconds * 1000 + BACKDATE_MS,
    dangerousAllowSim: p.dangerousAllowSim,
  };
  if (p.roots !== undefined) check.roots = p.roots;
  return check;
}
