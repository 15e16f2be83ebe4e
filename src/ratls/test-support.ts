// Test support (not part of the API): a sim TEE in a temp dir measuring a tiny fake runtime, and the
// verifier options that accept exactly its evidence.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { SimTee } from "../tee/sim.js";
import type { RatlsVerifyOptions } from "./verify.js";

const made: string[] = [];

export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `twine-ratls-${prefix}-`));
  made.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export function simTee(): SimTee {
  const dist = tempDir("dist");
  fs.mkdirSync(path.join(dist, "src"));
  fs.writeFileSync(path.join(dist, "src", "runtime.js"), "export {};\n");
  return new SimTee({ dir: tempDir("sim"), runtimeDist: dist });
}

export function launchHashOf(label: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(label).digest());
}

/** Options that accept `tee`'s sim evidence (dangerousAllowSim) at `now`. */
export function simAccepting(tee: SimTee, now: Date = new Date()): RatlsVerifyOptions {
  return {
    collateral: tee.collateral(now),
    roots: { intelSgxRootCa: tee.rootDer },
    dangerousAllowSim: true,
    now,
  };
}

export function failedCodes(v: { findings: readonly { ok: boolean; code: string }[] }): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => f.code);
}
