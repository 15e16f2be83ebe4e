// Choosing a backend: `--tee sim|gramine|tsm|auto`. Auto takes the first real interface present
// (Gramine's /dev/attestation, then configfs-tsm) and falls back to sim, saying so loudly is the CLI's
// job: sim proves nothing.
import * as fs from "node:fs";
import * as path from "node:path";
import { hkdfSync } from "node:crypto";
import { verifyEvidence } from "../attest/index.js";
import { GRAMINE_ROOT, GramineTee } from "./gramine.js";
import type { EvidenceVerifier } from "./guest-imports.js";
import { SimTee } from "./sim.js";
import { TSM_ROOT, TsmTee } from "./tsm.js";
import type { TeeChoice, TeeLocations } from "./choice.js";
import type { SealPolicy, Tee, TeeKind } from "./tee.js";

export { TEE_CHOICES, parseSealPolicy, parseTeeChoice } from "./choice.js";
export type { TeeChoice, TeeLocations } from "./choice.js";

export function detectTee(loc: TeeLocations = {}): TeeKind {
  if (fs.existsSync(path.join(loc.gramineRoot ?? GRAMINE_ROOT, "attestation_type"))) return "gramine";
  if (fs.existsSync(path.join(loc.tsmRoot ?? TSM_ROOT, "report"))) return "tsm";
  return "sim";
}

export function createTee(choice: TeeChoice, loc: TeeLocations = {}): Tee {
  const kind = choice === "auto" ? detectTee(loc) : choice;
  switch (kind) {
    case "sim":
      return new SimTee(loc.simDir === undefined ? {} : { dir: loc.simDir });
    case "gramine":
      return new GramineTee(loc.gramineRoot === undefined ? {} : { root: loc.gramineRoot });
    case "tsm":
      return new TsmTee(loc.tsmRoot === undefined ? {} : { root: loc.tsmRoot });
  }
}

/**
 * How librats_verify checks evidence inside this TEE. Under sim: evidence of this same sim (its root,
 * fresh collateral), accepted with dangerousAllowSim since the runtime itself proves nothing. Real
 * TEEs need DCAP collateral from a PCCS, which the runtime does not fetch: no verifier.
 */
export function defaultVerifier(tee: Tee, now: () => Date = () => new Date()): EvidenceVerifier | undefined {
  if (!(tee instanceof SimTee)) return undefined;
  return (ev) => {
    if (ev.type !== "sgx_ecdsa") return false;
    const at = now();
    return verifyEvidence(ev.report, {
      collateral: tee.collateral(at),
      now: at,
      roots: { intelSgxRootCa: tee.rootDer },
      dangerousAllowSim: true,
    }).ok;
  };
}

/**
 * The 32-byte pfs volume key for `--pfs DIR::/data --seal <policy>`: the sealing key through HKDF
 * with its own label, so it never equals the key twine_seal uses.
 */
export function pfsVolumeKey(tee: Tee, policy: SealPolicy, programHash: Uint8Array): Uint8Array {
  const seal = tee.getSealingKey(policy, programHash);
  return new Uint8Array(hkdfSync("sha256", seal, new Uint8Array(0), "twine-seal/v1/pfs-volume-key", 32));
}
