// Test support (not part of the API): the real vectors in test/fixtures/tee/ and directories that
// mimic Gramine's /dev/attestation and Linux configfs-tsm around them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TsmFs } from "./tsm.js";

const DIR = new URL("../../../test/fixtures/tee/", import.meta.url);

export function teeFixture(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(new URL(name, DIR)));
}

const made: string[] = [];

export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `twine-${prefix}-`));
  made.push(d);
  return d;
}

/** Removes every directory tempDir made (call from test.after). */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** The report data each vector carries (so a mimic that serves it unchanged is consistent). */
export function reportDataOf(evidence: Uint8Array, at: number): Uint8Array {
  return evidence.slice(at, at + 64);
}

/** A directory laid out as Gramine's /dev/attestation, serving `quote` and a report built from it. */
export function mimicGramine(opts: { type?: string; quote?: Uint8Array; keys?: boolean } = {}): string {
  const root = tempDir("gramine");
  fs.writeFileSync(path.join(root, "attestation_type"), opts.type ?? "dcap");
  fs.writeFileSync(path.join(root, "user_report_data"), new Uint8Array(64));
  const quote = opts.quote ?? teeFixture("sgx_quote");
  fs.writeFileSync(path.join(root, "quote"), quote);
  // sgx_report_t = the quote's 384-byte report body, then key id and MAC.
  const report = new Uint8Array(432);
  report.set(quote.subarray(48, Math.min(quote.length, 48 + 384)));
  fs.writeFileSync(path.join(root, "report"), report);
  if (opts.keys !== false) {
    fs.mkdirSync(path.join(root, "keys"));
    fs.writeFileSync(path.join(root, "keys", "_sgx_mrenclave"), Buffer.alloc(16, 0xe1));
    fs.writeFileSync(path.join(root, "keys", "_sgx_mrsigner"), Buffer.alloc(16, 0x51));
  }
  return root;
}

export interface TsmMimic {
  root: string;
  fs: TsmFs;
  /** Entries created so far (to check each was removed). */
  made: string[];
}

/**
 * configfs-tsm over a temp dir: mkdir of report/<name> populates `provider` and `generation`; each
 * write of `inblob` bumps `generation`; `outblob` serves `outblob` (or, with `echo`, the vector with
 * the written report data patched in, as a real TEE would); `racyReads` more generation bumps happen
 * behind our back while reading outblob.
 */
export function mimicTsm(opts: {
  provider: string;
  outblob: Uint8Array;
  auxblob?: Uint8Array;
  echoAt?: number;
  racyReads?: number;
}): TsmMimic {
  const root = tempDir("tsm");
  fs.mkdirSync(path.join(root, "report"), { recursive: true });
  const made: string[] = [];
  let racy = opts.racyReads ?? 0;
  const bump = (entry: string): void => {
    const g = path.join(entry, "generation");
    fs.writeFileSync(g, `${Number(fs.readFileSync(g, "latin1")) + 1}\n`);
  };
  const mimic: TsmFs = {
    existsSync: (p) => fs.existsSync(p),
    mkdirSync: (p) => {
      fs.mkdirSync(p);
      made.push(p);
      fs.writeFileSync(path.join(p, "provider"), `${opts.provider}\n`);
      fs.writeFileSync(path.join(p, "generation"), "0\n");
      if (opts.auxblob !== undefined) fs.writeFileSync(path.join(p, "auxblob"), opts.auxblob);
    },
    rmdirSync: (p) => fs.rmSync(p, { recursive: true }),
    readFileSync: (p) => {
      const entry = path.dirname(p);
      if (path.basename(p) !== "outblob") return new Uint8Array(fs.readFileSync(p));
      if (racy > 0) {
        racy--;
        bump(entry);
      }
      const out = Uint8Array.from(opts.outblob);
      if (opts.echoAt !== undefined) out.set(fs.readFileSync(path.join(entry, "inblob")), opts.echoAt);
      return out;
    },
    writeFileSync: (p, data) => {
      fs.writeFileSync(p, data);
      if (path.basename(p) === "inblob") bump(path.dirname(p));
    },
  };
  return { root, fs: mimic, made };
}
