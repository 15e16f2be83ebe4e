// `twine measure app.wasm [same flags as run]`: prints, offline, the module's SHA-256 and the launch
// manifest (canonical JSON) with its SHA-256, so a data owner can decide what to trust before any run.
// Flags that do not change what the guest computes (--tiering, --tee, host paths) are accepted and
// left out of the manifest.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { parseModule } from "../runtime/module.js";
import { launchManifest } from "../tee/manifest.js";
import type { LaunchManifest, ManifestMount } from "../tee/manifest.js";
import type { SealPolicy } from "../tee/tee.js";
import type { MountConfig } from "../vfs/index.js";
import {
  MIB,
  addLaunchOptions,
  checkLaunchFlags,
  parsePfsFlag,
  type LaunchFlagValues,
} from "./launch-flags.js";

export interface LaunchFlags {
  args: readonly string[];
  env: Readonly<Record<string, string>>;
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
  const mounts: MountConfig[] = [];
  const measure = program
    .command("measure")
    .description("print a module's SHA-256 and its launch manifest and hash, offline (same flags as run)")
    .argument("<module>", "the .wasm file")
    .argument("[args...]", "arguments for the guest (as for run)");
  addLaunchOptions(measure, mounts)
    .option("--json", "print one JSON object")
    .action((module: string, args: string[], flags: LaunchFlagValues & { json?: boolean }) => {
      checkLaunchFlags(flags);
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
