// `twine measure app.wasm [same flags as run]`: prints, offline, the module's SHA-256 and the launch
// manifest (canonical JSON) with its SHA-256, so a data owner can decide what to trust before any run.
// Flags that do not change what the guest computes (--tiering, --tee, host paths, the --provision URL)
// are accepted and left out of the manifest; --provision-pin is in it.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { parseModule } from "../runtime/module.js";
import { launchOf } from "../tee/launch.js";
import type { MountConfig } from "../vfs/index.js";
import { addLaunchOptions, checkLaunchFlags, launchFlagsOf, type LaunchFlagValues } from "./launch-flags.js";

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
      const launch = launchFlagsOf(args, flags, mounts);
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
