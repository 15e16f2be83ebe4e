// `twine run --tee sim|gramine|tsm|auto --seal program|signer --provision URL`: resolves the TEE once
// on the main thread (the worker gets the resolved kind, so both agree), derives sealed pfs volume
// keys or fetches provisioned ones, and says loudly when the TEE is the insecure sim. The module's
// bytes are read once by the caller: the bytes hashed into a key or a launch hash are the bytes run.
import { createHash } from "node:crypto";
import { TwineError } from "../errors.js";
import { provisionSecrets } from "../provision/client.js";
import { envOf, volumeKeyFor } from "../provision/secrets.js";
import type { RunTeeOptions } from "../runtime/runtime.js";
import type { TeeChoice } from "../tee/choice.js";
import { launchOf } from "../tee/launch.js";
import type { LaunchFlags } from "../tee/launch.js";
import { createTee, pfsVolumeKey } from "../tee/select.js";
import type { SealPolicy, Tee } from "../tee/tee.js";
import type { MountConfig } from "../vfs/index.js";
import { parsePfsFlag } from "./launch-flags.js";

/** The TEE for `choice`; says loudly on stderr when it is the insecure sim. */
export function createWarnedTee(choice: TeeChoice): Tee {
  const tee = createTee(choice);
  if (tee.kind === "sim") {
    process.stderr.write(
      "twine: warning: TEE is sim (software only, INSECURE): nothing is protected or proven\n",
    );
  }
  return tee;
}

export interface TeeFlags {
  tee?: TeeChoice;
  seal?: SealPolicy;
  pfs?: string[];
  keyFile?: string;
  provision?: URL;
  provisionPin?: Uint8Array;
}

export interface TeeRunSetup {
  tee?: RunTeeOptions;
  /** --pfs mounts keyed by the sealing key (--seal) or by provisioned keys (--provision). */
  keyedPfs?: MountConfig[];
  /** Environment variables provisioned for the guest (`env:NAME` secrets). */
  provisionedEnv?: Record<string, string>;
}

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(b).digest());
}

export async function teeRunSetup(
  moduleBytes: Uint8Array,
  flags: TeeFlags,
  launch: LaunchFlags,
): Promise<TeeRunSetup> {
  const choice =
    flags.tee ?? (flags.seal !== undefined || flags.provision !== undefined ? "auto" : undefined);
  if (choice === undefined) return {};
  if (flags.seal !== undefined && flags.keyFile !== undefined) {
    throw new TwineError("cli.usage", "--seal and --key-file both key --pfs volumes: give one");
  }
  const tee = createWarnedTee(choice);
  const setup: TeeRunSetup = { tee: { choice: tee.kind } };
  if (flags.provision !== undefined && flags.provisionPin !== undefined) {
    await provision(
      tee,
      moduleBytes,
      { url: flags.provision, pin: flags.provisionPin },
      flags.pfs,
      launch,
      setup,
    );
  } else if (flags.seal !== undefined && flags.pfs !== undefined) {
    const key = pfsVolumeKey(tee, flags.seal, sha256(moduleBytes));
    // Nobody outside the TEE holds a sealed volume's key, so the program creates its volume itself.
    setup.keyedPfs = flags.pfs.map((f) => ({ type: "pfs", ...parsePfsFlag(f), key, create: true }));
  }
  return setup;
}

/** Attests this launch to the pinned server and keys the volumes and env with what it sends. */
async function provision(
  tee: Tee,
  moduleBytes: Uint8Array,
  server: { url: URL; pin: Uint8Array },
  pfs: readonly string[] | undefined,
  launch: LaunchFlags,
  setup: TeeRunSetup,
): Promise<void> {
  const secrets = await provisionSecrets({
    url: server.url,
    pin: server.pin,
    tee,
    launchHash: launchOf(moduleBytes, launch).hash,
  });
  // Volumes exist already (the owner made them with `twine pfs create`): a run never creates one.
  setup.keyedPfs = (pfs ?? []).map((f) => {
    const m = parsePfsFlag(f);
    return { type: "pfs", ...m, key: volumeKeyFor(secrets, m.guestPath), create: false };
  });
  setup.provisionedEnv = envOf(secrets);
}
