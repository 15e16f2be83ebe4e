// Intel TDX and AMD SEV-SNP guests through Linux configfs-tsm (Documentation/ABI/testing/
// configfs-tsm): mkdir report/<name>, write 64 bytes to `inblob`, read `outblob` (the TDX quote or
// SNP report), `auxblob` (SNP certificate table) and `provider`, then rmdir. `generation` counts writes
// to the entry: read before and after, a change means another writer raced us and the outblob may
// answer their inblob, so we retry, and give up if it keeps changing.
import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { TwineError } from "../errors.js";
import { checkReportData, REPORT_DATA_SIZE } from "./tee.js";
import type { Evidence, EvidenceType, SealPolicy, Tee } from "./tee.js";

export const TSM_ROOT = "/sys/kernel/config/tsm";
export const TSM_ATTEMPTS = 3;

/** The few fs calls this backend makes; tests pass one that behaves like configfs over a temp dir. */
export interface TsmFs {
  existsSync(p: string): boolean;
  mkdirSync(p: string): void;
  rmdirSync(p: string): void;
  readFileSync(p: string): Uint8Array;
  writeFileSync(p: string, data: Uint8Array): void;
}

export interface TsmOptions {
  /** configfs-tsm mount point (default /sys/kernel/config/tsm). */
  root?: string;
  fs?: TsmFs;
}

interface ProviderInfo {
  type: EvidenceType;
  minSize: number;
  /** Where REPORTDATA sits in the evidence. */
  reportDataAt: number;
  measurementAt: number;
  measurementSize: number;
}

const PROVIDERS: Record<string, ProviderInfo> = {
  // Quote v4/v5 header 48 + TD report: REPORTDATA at body 520, MRTD at body 136 (48 bytes).
  tdx_guest: {
    type: "tdx_ecdsa",
    minSize: 48 + 584,
    reportDataAt: 48 + 520,
    measurementAt: 48 + 136,
    measurementSize: 48,
  },
  // SNP ATTESTATION_REPORT (0x4A0 bytes): REPORT_DATA at 0x50, MEASUREMENT at 0x90 (48 bytes).
  sev_guest: {
    type: "sev_snp",
    minSize: 0x4a0,
    reportDataAt: 0x50,
    measurementAt: 0x90,
    measurementSize: 48,
  },
};

export class TsmTee implements Tee {
  readonly kind = "tsm";
  private readonly reportDir: string;
  private readonly fs: TsmFs;
  private measured: Uint8Array | undefined;

  constructor(opts: TsmOptions = {}) {
    this.fs = opts.fs ?? nodeFs;
    this.reportDir = path.join(opts.root ?? TSM_ROOT, "report");
    if (!this.fs.existsSync(this.reportDir)) {
      throw new TwineError(
        "tee.no_device",
        `${this.reportDir} does not exist: configfs-tsm is not available`,
      );
    }
  }

  getEvidence(reportData: Uint8Array): Evidence {
    checkReportData(reportData);
    const entry = path.join(this.reportDir, `twine-${process.pid}-${randomBytes(6).toString("hex")}`);
    this.io(entry, () => this.fs.mkdirSync(entry));
    try {
      return this.collect(entry, reportData);
    } finally {
      // configfs entries outlive the process; a failed rmdir only leaks one directory.
      try {
        this.fs.rmdirSync(entry);
      } catch {
        // The evidence (or the error being thrown) matters more than the cleanup.
      }
    }
  }

  private collect(entry: string, reportData: Uint8Array): Evidence {
    const read = (name: string): Uint8Array =>
      this.io(entry, () => this.fs.readFileSync(path.join(entry, name)));
    const providerName = Buffer.from(read("provider")).toString("latin1").trim();
    const p = PROVIDERS[providerName];
    if (p === undefined)
      throw new TwineError("tee.provider", `configfs-tsm provider "${providerName}" is not supported`);
    for (let attempt = 0; attempt < TSM_ATTEMPTS; attempt++) {
      this.io(entry, () => this.fs.writeFileSync(path.join(entry, "inblob"), reportData));
      const before = read("generation");
      const outblob = read("outblob");
      const auxblob = p.type === "sev_snp" ? this.optional(entry, "auxblob") : undefined;
      const after = read("generation");
      if (!Buffer.from(before).equals(after)) continue;
      if (outblob.length < p.minSize) {
        throw new TwineError(
          "tee.short_evidence",
          `${providerName} outblob is ${outblob.length} bytes (at least ${p.minSize})`,
        );
      }
      // A TDX outblob is a DCAP quote v4/v5 with TEE type 0x81; anything else is not what we asked for.
      if (
        p.type === "tdx_ecdsa" &&
        !((outblob[0] === 4 || outblob[0] === 5) && outblob[1] === 0 && outblob[4] === 0x81)
      ) {
        throw new TwineError("tee.evidence_format", "tdx_guest outblob is not a TDX quote v4/v5");
      }
      const got = outblob.subarray(p.reportDataAt, p.reportDataAt + REPORT_DATA_SIZE);
      if (!Buffer.from(got).equals(reportData)) {
        throw new TwineError(
          "tee.report_data_mismatch",
          `${providerName} outblob carries other report data than written`,
        );
      }
      const ev: Evidence = { type: p.type, report: new Uint8Array(outblob), sim: false };
      if (auxblob !== undefined && auxblob.length > 0) ev.auxblob = new Uint8Array(auxblob);
      return ev;
    }
    throw new TwineError(
      "tee.generation_changed",
      `configfs-tsm generation changed during each of ${TSM_ATTEMPTS} attempts`,
    );
  }

  private optional(entry: string, name: string): Uint8Array | undefined {
    const file = path.join(entry, name);
    if (!this.fs.existsSync(file)) return undefined;
    return this.io(entry, () => this.fs.readFileSync(file));
  }

  private io<T>(entry: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TwineError("tee.io", `configfs-tsm ${path.basename(entry)}: ${code ?? "I/O error"}`, {
        cause: e,
      });
    }
  }

  /** CVMs have no key derivable from the measurement: the sealing key is provisioned over attested TLS. */
  getSealingKey(_policy: SealPolicy, _programHash: Uint8Array): Uint8Array {
    throw new TwineError(
      "tee.no_sealing_key",
      "configfs-tsm offers no sealing key; provision one over attested TLS",
    );
  }

  /** MRTD (TDX) or MEASUREMENT (SNP), from evidence over zero report data. */
  measurement(): Uint8Array {
    if (this.measured === undefined) {
      const ev = this.getEvidence(new Uint8Array(REPORT_DATA_SIZE));
      const p = Object.values(PROVIDERS).find((x) => x.type === ev.type)!;
      this.measured = ev.report.slice(p.measurementAt, p.measurementAt + p.measurementSize);
    }
    return this.measured;
  }
}
