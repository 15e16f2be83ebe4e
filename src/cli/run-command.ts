// `twine run`: parse and strictly validate the flags, run the module with the Runtime, and turn the
// outcome into the exit status: the guest's own exit code, or one error line and the status from
// errors.ts (trap 134, timeout 124, limits 125, bad module 65, bad flags 2).
import { fstatSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import { defaultStateDir } from "../pfs/root-store.js";
import { Runtime, readModule, type RunOptions } from "../runtime/runtime.js";
import type { MountConfig } from "../vfs/index.js";
import {
  MIB,
  addLaunchOptions,
  checkLaunchFlags,
  launchFlagsOf,
  usage,
  type LaunchFlagValues,
} from "./launch-flags.js";

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

type RunFlags = LaunchFlagValues & { rootStore: boolean };

/** --pfs volumes are checked against, and recorded in, the root store unless --no-root-store. */
function withRootStore(pfs: MountConfig[], on: boolean): MountConfig[] {
  if (!on) return pfs;
  const rootStore = defaultStateDir();
  return pfs.map((m) => (m.type === "pfs" ? { ...m, rootStore } : m));
}

export function registerRun(program: Command): void {
  const mounts: MountConfig[] = [];
  const run = program
    .command("run")
    .description("run a WASI command module (guest arguments go after --)")
    .argument("<module>", "the .wasm file")
    .argument("[args...]", "arguments for the guest (argv[0] is the module's file name)");
  run.option("--no-root-store", "do not check or record --pfs volume roots in the state directory");
  addLaunchOptions(run, mounts).action(async (module: string, args: string[], flags: RunFlags) => {
    checkLaunchFlags(flags);
    if (flags.provisionPin !== undefined && flags.provision === undefined)
      throw usage("--provision-pin needs --provision");
    const withTee = flags.tee !== undefined || flags.seal !== undefined || flags.provision !== undefined;
    // With a TEE the module is read once: the bytes hashed into keys and evidence are the bytes run.
    const bytes = withTee ? await readModule(module) : undefined;
    // Loaded only when asked for: the TEE backends bring the attestation code with them.
    const tee =
      bytes === undefined
        ? {}
        : await (
            await import("./tee-flags.js")
          ).teeRunSetup(bytes, flags, launchFlagsOf(args, flags, mounts));
    // pfs mounts come after --dir/--mem ones: the key file may be named after them on the line.
    const pfsMounts =
      flags.pfs === undefined
        ? []
        : (tee.keyedPfs ?? (await import("./pfs-command.js")).parsePfsFlags(flags.pfs, flags.keyFile));
    const options: RunOptions = {
      args,
      // Provisioned values are the owner's: they win over --env.
      env: { ...Object.fromEntries(flags.env ?? []), ...tee.provisionedEnv },
      mounts: [...mounts, ...withRootStore(pfsMounts, flags.rootStore)],
      argv0: basename(module),
    };
    if (flags.timeout !== undefined) options.timeoutMs = flags.timeout * 1000;
    if (flags.maxMemory !== undefined) options.maxMemoryBytes = flags.maxMemory * MIB;
    if (flags.maxFds !== undefined) options.maxOpenFds = flags.maxFds;
    if (flags.tiering !== undefined) options.tiering = flags.tiering;
    if (tee.tee !== undefined) options.tee = tee.tee;
    const runtime = new Runtime(options);
    makeStdinInterruptible();
    const result = await runtime.run(bytes ?? module);
    if (result.status !== "exited") throw result.error;
    program.setOptionValue("__status", result.exitCode);
  });
}
