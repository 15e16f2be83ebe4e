// Intel SGX under Gramine, through its pseudo-files in /dev/attestation (Gramine docs, "Attestation and
// secret provisioning"): write 64 bytes to `user_report_data`, read `quote`; `report` is the local
// SGX report; `keys/_sgx_mrenclave` / `keys/_sgx_mrsigner` are the 16-byte SGX sealing keys. The root
// is injectable so tests can point it at a directory that mimics these files.
import * as fs from "node:fs";
import * as path from "node:path";
import { TwineError } from "../errors.js";
import { checkReportData, deriveSealingKey, REPORT_DATA_SIZE } from "./tee.js";
import type { Evidence, SealPolicy, Tee } from "./tee.js";

export const GRAMINE_ROOT = "/dev/attestation";

/** Quote v3 header (48) + SGX report body (384): anything shorter cannot hold the report data. */
const QUOTE_MIN_SIZE = 48 + 384;
/** Quote v3 offset of REPORTDATA: header 48 + report body offset 320. */
const QUOTE_REPORT_DATA = 48 + 320;
/** sgx_report_t: body 384, key id 32, MAC 16. MRENCLAVE is at body offset 64. */
const SGX_REPORT_SIZE = 432;
const REPORT_MR_ENCLAVE = 64;
/** Gramine returns SGX sealing keys as 16 raw bytes (sgx_key_128bit_t). */
const SGX_KEY_SIZE = 16;

export interface GramineOptions {
  /** Where Gramine's attestation pseudo-files are (default /dev/attestation). */
  root?: string;
}

export class GramineTee implements Tee {
  readonly kind = "gramine";
  private readonly root: string;
  private measured: Uint8Array | undefined;

  constructor(opts: GramineOptions = {}) {
    this.root = opts.root ?? GRAMINE_ROOT;
    const type = this.read("attestation_type").toString("latin1").trim();
    if (type !== "dcap") {
      throw new TwineError(
        "tee.attestation_type",
        `Gramine attestation type is "${type}", twine needs "dcap"`,
      );
    }
  }

  private file(name: string): string {
    return path.join(this.root, name);
  }

  private read(name: string): Buffer {
    try {
      return fs.readFileSync(this.file(name));
    } catch (e) {
      throw deviceError(this.file(name), e);
    }
  }

  getEvidence(reportData: Uint8Array): Evidence {
    checkReportData(reportData);
    try {
      fs.writeFileSync(this.file("user_report_data"), reportData);
    } catch (e) {
      throw deviceError(this.file("user_report_data"), e);
    }
    const quote = new Uint8Array(this.read("quote"));
    if (quote.length < QUOTE_MIN_SIZE) {
      throw new TwineError(
        "tee.short_quote",
        `Gramine returned a ${quote.length}-byte quote (at least ${QUOTE_MIN_SIZE})`,
      );
    }
    // A quote for other report data means someone else's write raced ours, or a stale quote.
    const got = quote.subarray(QUOTE_REPORT_DATA, QUOTE_REPORT_DATA + REPORT_DATA_SIZE);
    if (!Buffer.from(got).equals(reportData)) {
      throw new TwineError(
        "tee.report_data_mismatch",
        "Gramine's quote carries other report data than written",
      );
    }
    return { type: "sgx_ecdsa", report: quote, sim: false };
  }

  getSealingKey(policy: SealPolicy, programHash: Uint8Array): Uint8Array {
    const name = policy === "program" ? "keys/_sgx_mrenclave" : "keys/_sgx_mrsigner";
    const key = this.read(name);
    if (key.length !== SGX_KEY_SIZE) {
      throw new TwineError("tee.key", `${name} holds ${key.length} bytes, expected ${SGX_KEY_SIZE}`);
    }
    return deriveSealingKey(key, policy, programHash);
  }

  /** MRENCLAVE, from the local report (no quote needed). */
  measurement(): Uint8Array {
    if (this.measured === undefined) {
      const report = this.read("report");
      if (report.length < SGX_REPORT_SIZE) {
        throw new TwineError(
          "tee.short_report",
          `Gramine returned a ${report.length}-byte report (${SGX_REPORT_SIZE})`,
        );
      }
      this.measured = new Uint8Array(report.subarray(REPORT_MR_ENCLAVE, REPORT_MR_ENCLAVE + 32));
    }
    return this.measured;
  }
}

function deviceError(file: string, e: unknown): TwineError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new TwineError(
      "tee.no_device",
      `${file} does not exist: not running under Gramine with attestation`,
      { cause: e },
    );
  }
  return new TwineError("tee.io", `${file}: ${code ?? "I/O error"}`, { cause: e });
}
