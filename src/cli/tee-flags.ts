// `twine run --tee sim|gramine|tsm|auto --seal program|signer`: resolves the TEE once on the main
// thread (the worker gets the resolved kind, so both agree), derives sealed pfs volume keys, and says
// loudly when the TEE is the insecure sim.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { TwineError } from "../errors.js";
import type { RunTeeOptions } from "../runtime/runtime.js";
import type { TeeChoice } from "../tee/choice.js";
import { createTee, pfsVolumeKey } from "../tee/select.js";
import type { SealPolicy } from "../tee/tee.js";
import type { MountConfig } from "../vfs/index.js";
import { parsePfsFlag } from "./launch-flags.js";

export interface TeeFlags {
  tee?: TeeChoice;
  seal?: SealPolicy;
  pfs?: string[];
  keyFile?: string;
}

export interface TeeRunSetup {
  tee?: RunTeeOptions;
  /** --pfs mounts keyed by the sealing key, when --seal is given. */
  sealedPfs?: MountConfig[];
}

export function teeRunSetup(modulePath: string, flags: TeeFlags): TeeRunSetup {
  const choice = flags.tee ?? (flags.seal !== undefined ? "auto" : undefined);
  if (choice === undefined) return {};
  if (flags.seal !== undefined && flags.keyFile !== undefined) {
    throw new TwineError("cli.usage", "--seal and --key-file both key --pfs volumes: give one");
  }
  const tee = createTee(choice);
  if (tee.kind === "sim") {
    process.stderr.write(
      "twine: warning: TEE is sim (software only, INSECURE): nothing is protected or proven\n",
    );
  }
  const setup: TeeRunSetup = { tee: { choice: tee.kind } };
  if (flags.seal !== undefined && flags.pfs !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(modulePath);
    } catch (e) {
      throw new TwineError("io.host", `cannot read module ${modulePath}`, { cause: e });
    }
    const key = pfsVolumeKey(tee, flags.seal, new Uint8Array(createHash("sha256").update(bytes).digest()));
    // Nobody outside the TEE holds a sealed volume's key, so the program creates its volume itself.
    setup.sealedPfs = flags.pfs.map((f) => ({ type: "pfs", ...parsePfsFlag(f), key, create: true }));
  }
  return setup;
}
