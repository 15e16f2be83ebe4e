// `twine measure app.wasm [same flags as run]`: prints, offline, the module's SHA-256 and the launch
// manifest (canonical JSON) with its SHA-256, so a data owner can decide what to trust before any run.
// Flags that do not change what the guest computes (--tiering, --tee, host paths) are accepted and
// left out of the manifest.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { parseModule } from "../runtime/module.js";
// Only the light tee files: main.ts loads this command on every invocation.
import { parseSealPolicy, parseTeeChoice } from "../tee/choice.js";
import { launchManifest } from "../tee/manifest.js";
import type { LaunchManifest, ManifestMount } from "../tee/manifest.js";
import type { SealPolicy } from "../tee/tee.js";
import { parseDirFlag, type MountConfig } from "../vfs/index.js";

const MIB = 1024 * 1024;

interface MeasureFlags {
  env: [string, string][];
  timeout?: number;
  maxMemory?: number;
  maxFds?: number;
  seal?: SealPolicy;
  keyFile?: string;
  json?: boolean;
}

function usage(message: string): TwineError {
  return new TwineError("cli.usage", message);
}

function parseEnv(s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0 || s.includes("\0"))
    throw usage(`--env expects K=V with a non-empty K, got ${JSON.stringify(s)}`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function parseNumber(flag: string, s: string, integer: boolean): number {
  const pattern = integer ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$/;
  const n = Number(s);
  if (!pattern.test(s) || !Number.isFinite(n) || n <= 0) {
    throw usage(`${flag} expects a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(s)}`);
  }
  return n;
}

/** `HOST::GUEST`: a protected volume; its key is the sealing key when --seal is given. */
export function parsePfsFlag(s: string): { hostPath: string; guestPath: string } {
  const sep = s.indexOf("::");
  const hostPath = s.slice(0, Math.max(sep, 0));
  const guestPath = s.slice(sep + 2);
  if (sep <= 0 || guestPath === "" || s.includes("\0"))
    throw usage(`--pfs expects HOST_DIR::GUEST, got ${JSON.stringify(s)}`);
  return { hostPath, guestPath };
}

export interface LaunchFlags {
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Mounts in command-line order; pfs entries without a key yet are marked by `key: undefined`. */
  /** --dir / --mem mounts in command-line order, then --pfs ones (as `twine run` orders them). */
  mounts: readonly (MountConfig | { type: "pfs"; guestPath: string; hostPath: string })[];
  maxMemoryBytes?: number;
  maxOpenFds?: number;
  timeoutMs?: number;
  seal?: SealPolicy;
}

/** The launch manifest of a module run with these flags (what `twine run` would launch). */
export function launchOf(moduleBytes: Uint8Array, f: LaunchFlags): LaunchManifest {
  const mounts = f.mounts.map((m): ManifestMount => {
    if (m.type === "mem") return { type: "mem", guestPath: m.guestPath };
    if (m.type === "host") return { type: "host", guestPath: m.guestPath, readonly: m.readonly };
    return { type: "pfs", guestPath: m.guestPath, key: f.seal !== undefined ? "sealed" : "provided" };
  });
  const limits: { maxMemoryBytes?: number; maxOpenFds?: number; timeoutMs?: number } = {};
  if (f.maxMemoryBytes !== undefined) limits.maxMemoryBytes = f.maxMemoryBytes;
  if (f.maxOpenFds !== undefined) limits.maxOpenFds = f.maxOpenFds;
  if (f.timeoutMs !== undefined) limits.timeoutMs = Math.round(f.timeoutMs);
  return launchManifest({
    moduleHash: new Uint8Array(createHash("sha256").update(moduleBytes).digest()),
    args: f.args,
    env: f.env,
    mounts,
    limits,
    seal: f.seal ?? null,
  });
}

export function registerMeasure(program: Command): void {
  const mounts: LaunchFlags["mounts"][number][] = [];
  const pfsMounts: LaunchFlags["mounts"][number][] = [];
  const mount =
    (parse: (s: string) => LaunchFlags["mounts"][number]) =>
    (s: string): void => {
      mounts.push(parse(s));
    };
  program
    .command("measure")
    .description("print a module's SHA-256 and its launch manifest and hash, offline (same flags as run)")
    .argument("<module>", "the .wasm file")
    .argument("[args...]", "arguments for the guest (as for run)")
    .option("--dir <HOST::GUEST[:ro|:rw]>", "a host directory mount (as for run)", mount(parseDirFlag))
    .option(
      "--mem <GUEST>",
      "an in-memory directory mount (as for run)",
      mount((s) => ({ type: "mem", guestPath: s })),
    )
    .option("--pfs <HOST::GUEST>", "a protected volume mount (as for run)", (s: string) => {
      pfsMounts.push({ type: "pfs", ...parsePfsFlag(s) });
    })
    .option(
      "--env <K=V>",
      "an environment variable for the guest",
      (v: string, p: [string, string][]) => [...p, parseEnv(v)],
      [],
    )
    .option("--timeout <seconds>", "the run's time limit", (s) => parseNumber("--timeout", s, false))
    .option("--max-memory <MiB>", "the guest's memory cap", (s) => parseNumber("--max-memory", s, true))
    .option("--max-fds <N>", "most file descriptors open at once", (s) => parseNumber("--max-fds", s, true))
    .option("--key-file <file>", "the volume key for --pfs (not read: only whether one is given)")
    .option("--tiering <auto|eager|lazy>", "accepted for symmetry with run; not part of the manifest")
    .option(
      "--tee <sim|gramine|tsm|auto>",
      "accepted for symmetry with run; not part of the manifest",
      parseTeeChoice,
    )
    .option("--seal <program|signer>", "sealing policy for --pfs keys", parseSealPolicy)
    .option("--json", "print one JSON object")
    .action((module: string, args: string[], flags: MeasureFlags) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(module));
      } catch (e) {
        throw new TwineError(
          "cli.usage",
          `cannot read module ${module} (${(e as { code?: string }).code ?? "error"})`,
          { cause: e },
        );
      }
      parseModule(bytes);
      if (mounts.some((m) => m.guestPath === "" || m.guestPath.includes("\0")))
        throw usage("a mount's guest path must be non-empty");
      if (flags.seal !== undefined && flags.keyFile !== undefined)
        throw usage("--seal and --key-file both key --pfs volumes: give one");
      const launch: LaunchFlags = {
        args,
        env: Object.fromEntries(flags.env),
        mounts: [...mounts, ...pfsMounts],
      };
      if (flags.maxMemory !== undefined) launch.maxMemoryBytes = flags.maxMemory * MIB;
      if (flags.maxFds !== undefined) launch.maxOpenFds = flags.maxFds;
      if (flags.timeout !== undefined) launch.timeoutMs = flags.timeout * 1000;
      if (flags.seal !== undefined) launch.seal = flags.seal;
      const m = launchOf(bytes, launch);
      const moduleHash = createHash("sha256").update(bytes).digest("hex");
      const launchHash = Buffer.from(m.hash).toString("hex");
      if (flags.json === true) {
        process.stdout.write(
          `${JSON.stringify({ moduleSha256: moduleHash, launchSha256: launchHash, manifest: m.json })}\n`,
        );
      } else {
        process.stdout.write(
          `module sha256: ${moduleHash}\nlaunch sha256: ${launchHash}\nmanifest: ${m.json}\n`,
        );
      }
    });
}
