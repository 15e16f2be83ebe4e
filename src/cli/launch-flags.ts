// The flags that describe a launch (mounts, env, limits, TEE), shared by `twine run` and `twine measure`:
// one definition and one parser, so the manifest `measure` prints is the launch `run` performs, and a
// flag `run` refuses is refused by `measure` too.
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { MAX_TIMEOUT_MS } from "../runtime/runtime.js";
import { TIERINGS, type Tiering } from "../runtime/tiering.js";
import { parseSealPolicy, parseTeeChoice, type TeeChoice } from "../tee/choice.js";
import type { LaunchFlags } from "../tee/launch.js";
import type { SealPolicy } from "../tee/tee.js";
import { parseDirFlag, type MountConfig } from "../vfs/index.js";

export const MIB = 1024 * 1024;

/** What commander collects for the launch options (mounts from --dir/--mem go to their own list). */
export interface LaunchFlagValues {
  env?: [string, string][];
  timeout?: number;
  maxMemory?: number;
  maxFds?: number;
  tiering?: Tiering;
  pfs?: string[];
  keyFile?: string;
  tee?: TeeChoice;
  seal?: SealPolicy;
  provision?: URL;
  /** SHA-256 of the provisioning server's certificate. */
  provisionPin?: Uint8Array;
}

export function usage(message: string): TwineError {
  return new TwineError("cli.usage", message);
}

/** A repeatable flag's parser: commander passes the previous list (undefined the first time). */
function collect<T>(parse: (s: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

function parseDir(s: string): MountConfig {
  try {
    return parseDirFlag(s);
  } catch (e) {
    if (e instanceof TwineError && e.code === "cli.usage") throw e;
    throw new TwineError("cli.usage", `bad --dir ${JSON.stringify(s)}`, { cause: e });
  }
}

function parseMem(s: string): MountConfig {
  if (s === "" || s.includes("\0")) throw usage(`--mem expects a guest path, got ${JSON.stringify(s)}`);
  return { type: "mem", guestPath: s };
}

function parseEnv(s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0 || s.includes("\0"))
    throw usage(`--env expects K=V with a non-empty K, got ${JSON.stringify(s)}`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

/** A decimal number (no hex, exponents or "Infinity"), as people type them. */
function parseNumber(flag: string, s: string, integer: boolean): number {
  const pattern = integer ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$/;
  const n = Number(s);
  if (!pattern.test(s) || !Number.isFinite(n) || n <= 0) {
    throw usage(`${flag} expects a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(s)}`);
  }
  return n;
}

/** A parser for an integer flag in [min, max] (decimal digits only), for commander. */
export function integerIn(flag: string, min: number, max: number): (s: string) => number {
  return (s) => {
    const n = Number(s);
    if (!/^[0-9]+$/.test(s) || n < min || n > max)
      throw usage(`${flag} expects an integer from ${min} to ${max}`);
    return n;
  };
}

function parseTimeout(s: string): number {
  const seconds = parseNumber("--timeout", s, false);
  if (seconds * 1000 > MAX_TIMEOUT_MS) throw usage(`--timeout is at most ${MAX_TIMEOUT_MS / 1000} seconds`);
  return seconds;
}

function parseTiering(s: string): Tiering {
  const t = TIERINGS.find((x) => x === s);
  if (t === undefined)
    throw usage(`--tiering expects one of ${TIERINGS.join(", ")}, got ${JSON.stringify(s)}`);
  return t;
}

/** `HOST_DIR::GUEST`: a protected volume (its key comes from --key-file or --seal). */
export function parsePfsFlag(s: string): { hostPath: string; guestPath: string } {
  const sep = s.indexOf("::");
  const hostPath = s.slice(0, Math.max(sep, 0));
  const guestPath = s.slice(sep + 2);
  if (sep <= 0 || guestPath === "" || s.includes("\0"))
    throw usage(`--pfs expects HOST_DIR::GUEST, got ${JSON.stringify(s)}`);
  return { hostPath, guestPath };
}

/** `https://HOST:PORT` (a path, query or credentials would mean nothing to the provisioning client). */
function parseProvisionUrl(s: string): URL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw usage(`--provision expects https://HOST:PORT, got ${JSON.stringify(s)}`);
  }
  if (
    u.protocol !== "https:" ||
    u.username !== "" ||
    u.password !== "" ||
    (u.pathname !== "/" && u.pathname !== "") ||
    u.search !== "" ||
    u.hash !== ""
  )
    throw usage(`--provision expects https://HOST:PORT, got ${JSON.stringify(s)}`);
  return u;
}

/** 64 hex digits, optionally with ':' between bytes (as `openssl x509 -fingerprint -sha256` prints). */
export function parsePin(s: string): Uint8Array {
  const h = s.replace(/:/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(h))
    throw usage(`--provision-pin expects a SHA-256 (64 hex digits), got ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(h, "hex"));
}

/**
 * Adds the launch options to `cmd`. --dir and --mem go to `mounts` in command-line order (preopens get
 * fds 3, 4, … in that order); --pfs values are checked here and keyed later, once --key-file or --seal
 * (which may come after them on the line) is known.
 */
export function addLaunchOptions(cmd: Command, mounts: MountConfig[]): Command {
  const mount =
    (parse: (s: string) => MountConfig) =>
    (s: string): void => {
      mounts.push(parse(s));
    };
  return cmd
    .option("--dir <HOST::GUEST[:ro|:rw]>", "mount a host directory (read-only unless :rw)", mount(parseDir))
    .option("--mem <GUEST>", "mount an empty in-memory directory", mount(parseMem))
    .option("--env <K=V>", "set an environment variable for the guest", collect(parseEnv))
    .option("--timeout <seconds>", "stop the guest after this many seconds", parseTimeout)
    .option("--max-memory <MiB>", "cap the guest's linear memory", (s) =>
      parseNumber("--max-memory", s, true),
    )
    .option("--max-fds <N>", "most file descriptors open at once", (s) => parseNumber("--max-fds", s, true))
    .option("--tiering <auto|eager|lazy>", "how V8 compiles the guest (default auto)", parseTiering)
    .option(
      "--pfs <HOST_DIR::GUEST>",
      "mount a protected (encrypted, authenticated) volume made by `twine pfs create`",
      collect((s: string) => {
        parsePfsFlag(s);
        return s;
      }),
    )
    .option("--key-file <file>", "the volume key for --pfs (32 raw bytes or 64 hex digits)")
    .option(
      "--tee <sim|gramine|tsm|auto>",
      "run in this TEE: the guest may import attestation and sealing calls",
      parseTeeChoice,
    )
    .option(
      "--seal <program|signer>",
      "key --pfs volumes with the TEE's sealing key instead of --key-file",
      parseSealPolicy,
    )
    .option(
      "--provision <https://HOST:PORT>",
      "before the guest starts, attest to this `twine provision serve` and take --pfs keys and env from it",
      parseProvisionUrl,
    )
    .option(
      "--provision-pin <sha256>",
      "the provisioning server's certificate SHA-256 (part of the launch: measure with it too)",
      parsePin,
    );
}

/** The checks across flags that both commands make. */
export function checkLaunchFlags(flags: LaunchFlagValues): void {
  if (flags.keyFile !== undefined && flags.pfs === undefined) throw usage("--key-file needs --pfs");
  if (flags.seal !== undefined && flags.keyFile !== undefined)
    throw usage("--seal and --key-file both key --pfs volumes: give one");
  if (flags.provision !== undefined && (flags.keyFile !== undefined || flags.seal !== undefined))
    throw usage("--provision keys --pfs volumes: give neither --key-file nor --seal");
  if (flags.provision !== undefined && flags.provisionPin === undefined)
    throw usage("--provision needs --provision-pin (the server's certificate SHA-256)");
}

/** The launch these flags describe, mounts ordered as `twine run` mounts them (--dir/--mem, then --pfs). */
export function launchFlagsOf(
  args: readonly string[],
  flags: LaunchFlagValues,
  mounts: readonly MountConfig[],
): LaunchFlags {
  const pfsMounts = (flags.pfs ?? []).map((f) => ({ type: "pfs" as const, ...parsePfsFlag(f) }));
  const launch: LaunchFlags = {
    args,
    env: Object.fromEntries(flags.env ?? []),
    mounts: [...mounts, ...pfsMounts],
  };
  if (flags.maxMemory !== undefined) launch.maxMemoryBytes = flags.maxMemory * MIB;
  if (flags.maxFds !== undefined) launch.maxOpenFds = flags.maxFds;
  if (flags.timeout !== undefined) launch.timeoutMs = flags.timeout * 1000;
  if (flags.seal !== undefined) launch.seal = flags.seal;
  if (flags.provisionPin !== undefined) launch.provisionPin = flags.provisionPin;
  return launch;
}
