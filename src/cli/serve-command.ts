// `twine serve [launch flags] MODULE [args…] --state DIR`: the attested job endpoint (src/serve). The
// launch flags are `twine run`'s, so `twine measure` with the same flags prints the launch hash the
// server's certificate binds. Every job gets fresh volumes, one per `--pfs -::GUEST`, keyed by its
// owner; a server must bound every job, so --timeout and --max-memory are required.
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import type { Command } from "commander";
import { parseModule } from "../runtime/module.js";
import { readModule } from "../runtime/runtime.js";
import { startServe, DEFAULT_CERT_REFRESH_MS } from "../serve/server.js";
import type { JobSpec } from "../serve/jobs.js";
import { createWarnedTee } from "./tee-flags.js";
import type { MountConfig } from "../vfs/index.js";
import {
  MIB,
  addLaunchOptions,
  checkLaunchFlags,
  integerIn,
  parsePfsFlag,
  usage,
  type LaunchFlagValues,
} from "./launch-flags.js";

interface ServeFlags extends LaunchFlagValues {
  state: string;
  port: number;
  host: string;
  jobs?: number;
  quiet?: boolean;
  certRefresh?: number;
}

/** The job every request runs, from the launch flags; refuses what a shared server cannot honour. */
export function serveJobSpec(
  modulePath: string,
  module: Uint8Array,
  args: string[],
  mounts: MountConfig[],
  flags: LaunchFlagValues,
): JobSpec {
  checkLaunchFlags(flags);
  if (flags.timeout === undefined || flags.maxMemory === undefined)
    throw usage("twine serve needs --timeout and --max-memory: a server must bound every job it runs");
  if (flags.keyFile !== undefined || flags.seal !== undefined || flags.provision !== undefined)
    throw usage(
      "in twine serve each job's owner uploads its volume key: give no --key-file, --seal or --provision",
    );
  for (const m of mounts) {
    if (m.type === "host" && !m.readonly)
      throw usage(
        `--dir ${m.hostPath}::${m.guestPath}:rw would be shared by every job: serve mounts host folders read-only`,
      );
  }
  const pfs = (flags.pfs ?? []).map((f) => {
    const { hostPath, guestPath } = parsePfsFlag(f);
    if (hostPath !== "-")
      throw usage(`twine serve makes each job's volumes itself under --state: write --pfs -::${guestPath}`);
    return guestPath;
  });
  const spec: JobSpec = {
    module,
    argv0: basename(modulePath),
    args,
    env: Object.fromEntries(flags.env ?? []),
    mounts,
    pfs,
    timeoutMs: flags.timeout * 1000,
    maxMemoryBytes: flags.maxMemory * MIB,
  };
  if (flags.maxFds !== undefined) spec.maxOpenFds = flags.maxFds;
  if (flags.tiering !== undefined) spec.tiering = flags.tiering;
  return spec;
}

export function registerServe(program: Command): void {
  const mounts: MountConfig[] = [];
  const serve = program
    .command("serve")
    .description("serve one fixed launch over attested TLS: owners verify, upload key and inputs, run, fetch")
    .argument("<module>", "the .wasm file")
    .argument("[args...]", "arguments for the guest");
  addLaunchOptions(serve, mounts)
    .requiredOption("--state <dir>", "folder for the jobs' volumes and output (on the untrusted host)")
    .option("--port <n>", "TCP port (0: any free one)", integerIn("--port", 0, 65535), 8443)
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--jobs <n>", "guests running at once (default: CPU count)", integerIn("--jobs", 1, 1024))
    .option(
      "--cert-refresh <seconds>",
      `re-issue the RA-TLS certificate this often (default ${DEFAULT_CERT_REFRESH_MS / 1000})`,
      integerIn("--cert-refresh", 1, 86_400),
    )
    .option("--quiet", "do not log requests to stderr")
    .action(async (modulePath: string, args: string[], flags: ServeFlags) => {
      const bytes = await readModule(modulePath);
      parseModule(bytes);
      const spec = serveJobSpec(modulePath, bytes, args, mounts, flags);
      const tee = createWarnedTee(flags.tee ?? "auto");
      spec.tee = { choice: tee.kind };
      const handle = await startServe({
        job: spec,
        tee,
        stateDir: flags.state,
        host: flags.host,
        port: flags.port,
        jobs: flags.jobs ?? availableParallelism(),
        ...(flags.certRefresh === undefined ? {} : { certRefreshMs: flags.certRefresh * 1000 }),
        ...(flags.quiet === true
          ? {}
          : { log: (line: string) => void process.stderr.write(`twine serve: ${line}\n`) }),
      });
      const host = handle.host.includes(":") ? `[${handle.host}]` : handle.host;
      process.stdout.write(
        `listening on https://${host}:${handle.port}\nlaunch sha256: ${Buffer.from(handle.launchHash).toString("hex")}\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await handle.close();
    });
}
