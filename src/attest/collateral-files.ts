// Reading evidence, roots and collateral from files, for every caller that takes them from disk
// (`twine verify`, the owner policy file): one size cap, one folder rule, one way to tell a DCAP JSON
// bundle from SNP certificates. The caller names the error code a missing or oversized file gets, so
// each keeps its own exit status (usage error for the CLI, `policy.read` for a policy file).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TwineError } from "../errors.js";
import type { ErrorCode } from "../errors.js";
import { parseDcapCollateral } from "./collateral.js";
import type { DcapCollateral } from "./collateral.js";
import { snpCollateralFrom } from "./verify-snp.js";
import type { SnpCollateral } from "./verify-snp.js";

/** Largest evidence, root or collateral file read. */
export const MAX_EVIDENCE_FILE = 4 * 1024 * 1024;
const MAX_DIR_FILES = 64;
const CERT_EXT = /\.(pem|der|cer|crt)$/i;

/** A regular file of at most `max` bytes; anything else is `code`. */
export function readBoundedFile(
  path: string,
  what: string,
  code: ErrorCode,
  max: number = MAX_EVIDENCE_FILE,
): Uint8Array {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new TwineError(code, `${what} ${path} is not a file`);
    if (st.size > max) throw new TwineError(code, `${what} ${path} is larger than ${max} bytes`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof TwineError) throw e;
    const errno = (e as { code?: string }).code ?? "error";
    throw new TwineError(code, `cannot read ${what} ${path} (${errno})`, { cause: e });
  }
}

function isJson(b: Uint8Array): boolean {
  return Buffer.from(b.subarray(0, 16)).toString("latin1").trimStart().startsWith("{");
}

/**
 * Files and folders (one level, `.json` and certificate files) → one DCAP collateral JSON bundle, or SNP
 * certificates. Unreadable input is `code`; malformed collateral keeps the parser's `attest.*` code.
 */
export function loadCollateralFiles(
  paths: readonly string[],
  code: ErrorCode,
): DcapCollateral | SnpCollateral {
  const files: { path: string; bytes: Uint8Array }[] = [];
  for (const p of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      const errno = (e as { code?: string }).code ?? "error";
      throw new TwineError(code, `cannot read collateral ${p} (${errno})`, { cause: e });
    }
    if (!isDir) {
      files.push({ path: p, bytes: readBoundedFile(p, "collateral", code) });
      continue;
    }
    const names = readdirSync(p)
      .filter((n) => n.endsWith(".json") || CERT_EXT.test(n))
      .sort();
    if (names.length > MAX_DIR_FILES)
      throw new TwineError(code, `collateral folder ${p} has more than ${MAX_DIR_FILES} files`);
    for (const n of names) {
      const full = join(p, n);
      if (statSync(full).isFile())
        files.push({ path: full, bytes: readBoundedFile(full, "collateral", code) });
    }
  }
  const json = files.filter((f) => isJson(f.bytes));
  if (json.length > 1)
    throw new TwineError(code, `more than one JSON collateral bundle: ${json.map((f) => f.path).join(", ")}`);
  if (json.length === 1) return parseDcapCollateral(json[0]!.bytes);
  if (files.length === 0)
    throw new TwineError(
      code,
      "no collateral found (a DCAP collateral .json, or SNP .pem/.der certificates)",
    );
  return snpCollateralFrom(files.map((f) => f.bytes));
}

/**
 * SNP collateral with AMD's CRL file (DER or PEM, parsed when verifying). DCAP collateral carries its own
 * CRLs, so a CRL file given with it is `code`.
 */
export function withSnpCrl(
  collateral: DcapCollateral | SnpCollateral,
  crlPath: string,
  code: ErrorCode,
): SnpCollateral {
  if (!("certs" in collateral))
    throw new TwineError(code, `an AMD CRL (${crlPath}) goes with SNP certificates, not DCAP collateral`);
  return { ...collateral, crl: readBoundedFile(crlPath, "AMD CRL", code) };
}
