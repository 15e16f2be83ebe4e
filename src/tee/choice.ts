// The `--tee` and `--seal` vocabularies. Kept apart from the backends so the CLI can parse its flags
// without loading them (and the attestation code they pull in) on every command.
import { TwineError } from "../errors.js";
import { TEE_KINDS } from "./tee.js";
import type { SealPolicy, TeeKind } from "./tee.js";

export type TeeChoice = TeeKind | "auto";
export const TEE_CHOICES: readonly TeeChoice[] = [...TEE_KINDS, "auto"];

/** Where the real interfaces are (tests point these at mimicking directories). */
export interface TeeLocations {
  gramineRoot?: string;
  tsmRoot?: string;
  simDir?: string;
}

export function parseTeeChoice(s: string): TeeChoice {
  const c = TEE_CHOICES.find((x) => x === s);
  if (c === undefined) {
    throw new TwineError(
      "cli.usage",
      `--tee expects one of ${TEE_CHOICES.join(", ")}, got ${JSON.stringify(s)}`,
    );
  }
  return c;
}

export function parseSealPolicy(s: string): SealPolicy {
  if (s !== "program" && s !== "signer") {
    throw new TwineError("cli.usage", `--seal expects program or signer, got ${JSON.stringify(s)}`);
  }
  return s;
}
