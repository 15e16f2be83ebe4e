// `twine verify EVIDENCE --collateral DIR|FILE [--snp-crl FILE] …`: verifies an SGX/TDX quote or SEV-SNP
// report offline and prints a verdict. Exit 0 only when every check passed, 1 when rejected, 2 on usage errors
// (including unreadable input files).
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { parsePolicy, verifyEvidence } from "../attest/index.js";
import { loadCollateralFiles, readBoundedFile, withSnpCrl } from "../attest/collateral-files.js";
import type { EvidenceKind, Policy, Verdict } from "../attest/index.js";

interface VerifyFlags {
  sgxRoot?: string;
  dangerousAllowSim?: boolean;
  collateral: string[];
  snpCrl?: string;
  policy?: string;
  now?: string;
  json?: boolean;
  kind?: string;
}

function usage(message: string): TwineError {
  return new TwineError("cli.usage", message);
}

const readInput = (path: string, what: string): Uint8Array => readBoundedFile(path, what, "cli.usage");

function parseKind(s: string | undefined): EvidenceKind | undefined {
  if (s === undefined || s === "sgx" || s === "tdx" || s === "snp") return s;
  throw usage(`--kind ${s}: expected sgx, tdx or snp`);
}

function parseNow(s: string | undefined): Date {
  if (s === undefined) return new Date();
  const d = new Date(s);
  if (
    !/^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d))?$/.test(s) ||
    Number.isNaN(d.getTime())
  ) {
    throw usage(`--now ${s} is not an ISO 8601 time (e.g. 2025-07-01T00:00:00Z)`);
  }
  return d;
}

export function formatVerdict(v: Verdict): string {
  const lines: string[] = [];
  const failed = v.findings.filter((f) => !f.ok).length;
  const kind = typeof v.fields.kind === "string" ? v.fields.kind.toUpperCase() : "Unrecognised";
  lines.push(
    `${kind} evidence: ${v.ok ? "ACCEPTED" : "REJECTED"} (${v.findings.length - failed} of ${v.findings.length} checks passed)`,
  );
  const width = Math.max(0, ...Object.keys(v.fields).map((k) => k.length));
  lines.push("fields:");
  for (const [k, val] of Object.entries(v.fields)) lines.push(`  ${k.padEnd(width)}  ${String(val)}`);
  if (v.fields.kind === "sgx" || v.fields.kind === "tdx") {
    const adv = v.advisoryIds.length > 0 ? ` (advisories: ${v.advisoryIds.join(", ")})` : "";
    lines.push(`TCB status: ${v.tcbStatus ?? "none (no TCB level matched)"}${adv}`);
  }
  // Said apart from the fields too: "not checked" must never read as "not revoked".
  if (typeof v.fields.amdCrl === "string") lines.push(`AMD revocation: ${v.fields.amdCrl}`);
  lines.push("checks:");
  const sw = Math.max(0, ...v.findings.map((f) => f.step.length));
  for (const f of v.findings) {
    lines.push(`  ${f.ok ? "pass" : "FAIL"}  ${f.step.padEnd(sw)}  ${f.ok ? "" : `[${f.code}] `}${f.detail}`);
  }
  return `${lines.join("\n")}\n`;
}

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("verify TEE evidence (SGX DCAP quote v3, TDX quote v4/v5, SEV-SNP report) offline")
    .argument("<evidence>", "the quote or report file")
    .requiredOption(
      "--collateral <path>",
      "DCAP collateral JSON, or SNP certificates (.pem/.der); a folder, or repeat the flag",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      "--snp-crl <file>",
      "AMD's CRL for the SNP product (KDS /vcek/v1/{product}/crl, DER or PEM); without it revocation is not checked",
    )
    .option("--policy <file>", "policy JSON (expected measurements, accepted TCB statuses, …)")
    .option("--now <iso>", "judge validity at this time instead of the clock (e.g. 2025-07-01T00:00:00Z)")
    .option("--kind <kind>", "expect this kind of evidence: sgx, tdx or snp")
    .option("--json", "print the verdict as JSON")
    .option(
      "--sgx-root <file>",
      "trust this DER root instead of Intel's for SGX/TDX (e.g. a sim root; the policy must allow custom roots)",
    )
    .option(
      "--dangerous-allow-sim",
      "accept evidence from Twine's insecure software `sim` TEE (proves nothing; for development only)",
    )
    .action((evidencePath: string, flags: VerifyFlags) => {
      const kind = parseKind(flags.kind);
      const now = parseNow(flags.now);
      const evidence = readInput(evidencePath, "evidence");
      const loaded = loadCollateralFiles(flags.collateral, "cli.usage");
      const collateral = flags.snpCrl === undefined ? loaded : withSnpCrl(loaded, flags.snpCrl, "cli.usage");
      let policy: Policy = {};
      if (flags.policy !== undefined) {
        const text = Buffer.from(readInput(flags.policy, "policy")).toString("utf8");
        try {
          policy = parsePolicy(text);
        } catch (e) {
          throw new TwineError(
            "cli.usage",
            `--policy ${flags.policy}: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
        }
      }
      const opts = {
        collateral,
        policy,
        now,
        ...(kind !== undefined ? { kind } : {}),
        ...(flags.sgxRoot !== undefined
          ? { roots: { intelSgxRootCa: readInput(flags.sgxRoot, "root") } }
          : {}),
        ...(flags.dangerousAllowSim === true ? { dangerousAllowSim: true } : {}),
      };
      const v = verifyEvidence(evidence, opts);
      if (flags.json === true) {
        const { ok, kind: k, tcbStatus, advisoryIds, fields, findings } = v;
        process.stdout.write(
          `${JSON.stringify({ ok, kind: k, tcbStatus: tcbStatus ?? null, advisoryIds, fields, findings }, null, 2)}\n`,
        );
      } else {
        process.stdout.write(formatVerdict(v));
      }
      process.exitCode = v.ok ? 0 : 1;
    });
}
