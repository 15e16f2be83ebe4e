// What a verification returns: every check it ran, passed or failed, in step order. A verdict is
// accepted only when every finding passed; callers that want an exception use `verdictError`.
import { TwineError } from "../errors.js";
import type { ErrorCode } from "../errors.js";

export type EvidenceKind = "sgx" | "tdx" | "snp";

/** A problem found by one check (one check may find several). */
export interface Issue {
  code: ErrorCode;
  detail: string;
}

export interface Finding {
  /** `<number>.<name>`, numbered as in the verifier's step list (README). */
  step: string;
  /** `attest.ok` when the check passed, else the `attest.*` code of the problem. */
  code: ErrorCode;
  ok: boolean;
  detail: string;
}

export type Fields = Record<string, string | number | boolean>;

export interface Verdict {
  ok: boolean;
  kind: EvidenceKind;
  findings: Finding[];
  /** DCAP: the converged TCB status (absent when no level matched). */
  tcbStatus?: string;
  advisoryIds: string[];
  /** The evidence's fields, for people (hex strings, numbers, flags). */
  fields: Fields;
}

export class Findings {
  readonly list: Finding[] = [];

  pass(step: string, detail: string): void {
    this.list.push({ step, code: "attest.ok", ok: true, detail });
  }
  fail(step: string, code: ErrorCode, detail: string): void {
    this.list.push({ step, code, ok: false, detail });
  }
  /** One passing finding when `found` is empty, else one failing finding per issue. */
  check(step: string, okDetail: string, found: readonly Issue[]): boolean {
    if (found.length === 0) {
      this.pass(step, okDetail);
      return true;
    }
    for (const i of found) this.fail(step, i.code, i.detail);
    return false;
  }
  /** Runs a step that may throw a TwineError; the error becomes a failing finding. */
  run<T>(step: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (e instanceof TwineError) {
        this.fail(step, e.code, e.message);
        return undefined;
      }
      throw e;
    }
  }
  /** A check that could not run because an earlier one failed: the verdict cannot pass. */
  blocked(step: string, needs: string): void {
    this.fail(step, "attest.not_evaluated", `not evaluated: needs ${needs}`);
  }
  get ok(): boolean {
    return this.list.every((f) => f.ok);
  }
}

/** The first failure of a verdict as an error (for callers that must refuse), or undefined. */
export function verdictError(v: Verdict): TwineError | undefined {
  const bad = v.findings.find((f) => !f.ok);
  if (bad === undefined) return undefined;
  const more = v.findings.filter((f) => !f.ok).length - 1;
  return new TwineError(
    bad.code,
    `${v.kind} evidence rejected at ${bad.step}: ${bad.detail}${more > 0 ? ` (+${more} more)` : ""}`,
  );
}
