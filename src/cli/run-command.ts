// `twine run`: parse and strictly validate the flags, run the module with the Runtime, and turn the
// outcome into the exit status: the guest's own exit code, or one error line and the status from
// errors.ts (trap 134, timeout 124, limits 125, bad module 65, bad flags 2).
import { fstatSync } from "node:fs";
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { MAX_TIMEOUT_MS, Runtime, type RunOptions } from "../runtime/runtime.js";
import { TIERINGS, type Tiering } from "../runtime/tiering.js";
import { parseSealPolicy, parseTeeChoice, type TeeChoice } from "../tee/choice.js";
import type { SealPolicy } from "../tee/tee.js";
import { parseDirFlag, type MountConfig } from "../vfs/index.js";

const MIB = 1024 * 1024;

interface RunFlags {
  env?: [string, string][];
  timeout?: number;
  maxMemory?: number;
  maxFds?: number;
  tiering?: Tiering;
  pfs?: string[];
  keyFile?: string;
  tee?: TeeChoice;
  seal?: SealPolicy;
}

function usage(message: string): TwineError {
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

/**
 * A guest blocked in read(2) on a blocking stdin pipe cannot be stopped by a timeout, and the
 * process could not exit until the read returned. Creating `process.stdin` makes a pipe or socket
 * stdin non-blocking (libuv does so, and Node restores the flags at exit); the WASI host then
 * waits for EAGAIN in short interruptible sleeps. It reads nothing until someone listens, and no
 * one does. A terminal is left as it is: its flags are shared with the shell.
 */
function makeStdinInterruptible(): void {
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return; // no stdin at all
  }
  if (st.isFIFO() || st.isSocket()) void process.stdin;
}

export function registerRun(program: Command): void {
  // --dir and --mem share one list so preopens get fds 3, 4, … in command-line order.
  const mounts: MountConfig[] = [];
  const mount =
    (parse: (s: string) => MountConfig) =>
    (s: string): void => {
      mounts.push(parse(s));
    };
  program
    .command("run")
    .description("run a WASI command module (guest arguments go after --)")
    .argument("<module>", "the .wasm file")
    .argument("[args...]", "arguments for the guest (argv[0] is the module's file name)")
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
      collect((s: string) => s),
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
    .action(async (module: string, args: string[], flags: RunFlags) => {
      if (flags.keyFile !== undefined && flags.pfs === undefined) throw usage("--key-file needs --pfs");
      // Loaded only when asked for: the TEE backends bring the attestation code with them.
      const tee =
        flags.tee === undefined && flags.seal === undefined
          ? {}
          : (await import("./tee-flags.js")).teeRunSetup(module, flags);
      // pfs mounts come after --dir/--mem ones: the key file may be named after them on the line.
      const pfsMounts =
        flags.pfs === undefined
          ? []
          : (tee.sealedPfs ?? (await import("./pfs-command.js")).parsePfsFlags(flags.pfs, flags.keyFile));
      const options: RunOptions = {
        args,
        env: Object.fromEntries(flags.env ?? []),
        mounts: [...mounts, ...pfsMounts],
      };
      if (flags.timeout !== undefined) options.timeoutMs = flags.timeout * 1000;
      if (flags.maxMemory !== undefined) options.maxMemoryBytes = flags.maxMemory * MIB;
      if (flags.maxFds !== undefined) options.maxOpenFds = flags.maxFds;
      if (flags.tiering !== undefined) options.tiering = flags.tiering;
      if (tee.tee !== undefined) options.tee = tee.tee;
      const runtime = new Runtime(options);
      makeStdinInterruptible();
      const result = await runtime.run(module);
      if (result.status !== "exited") throw result.error;
      program.setOptionValue("__status", result.exitCode);
    });
}
