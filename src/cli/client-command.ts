// `twine client info|run|cancel URL --policy P`: the data owner's side of `twine serve`. The server is
// verified under the owner policy inside the TLS handshake before anything is sent; `run` then
// creates a job, uploads the volume key and the inputs, starts it, waits (Ctrl-C cancels the job),
// prints the guest's output, downloads outputs (and optionally the raw encrypted volume), and exits
// with the guest's status. `cancel` stops a job kept (`run --keep`) or submitted through the library.
import { createReadStream, mkdirSync, statSync, writeFileSync, type ReadStream } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { TwineClient, isJobId } from "../client/client.js";
import { TwineError, isTwineError } from "../errors.js";
import { loadOwnerPolicy } from "../ratls/owner-policy.js";
import { usage } from "./launch-flags.js";
import { readKeyFile } from "./pfs-command.js";

/** How long a Ctrl-C during an upload waits for the server to see the upload abandoned: 5 s. */
const CANCEL_ATTEMPTS = 50;
const CANCEL_RETRY_MS = 100;

interface CommonFlags {
  policy: string;
}

interface RunFlags extends CommonFlags {
  keyFile?: string;
  input?: { local: string; guest: string }[];
  output?: { guest: string; local: string }[];
  fetchVolume?: string;
  keep?: boolean;
}

/** `LOCAL=GUEST_PATH`: the guest path is absolute, so the split is at the last "=/". */
function parseInput(s: string, previous: RunFlags["input"]): NonNullable<RunFlags["input"]> {
  const at = s.lastIndexOf("=/");
  if (at <= 0) throw usage(`--input expects LOCAL=/GUEST_PATH, got ${JSON.stringify(s)}`);
  return [...(previous ?? []), { local: s.slice(0, at), guest: s.slice(at + 1) }];
}

/** `GUEST_PATH=LOCAL`: split at the first "=". */
function parseOutput(s: string, previous: RunFlags["output"]): NonNullable<RunFlags["output"]> {
  const at = s.indexOf("=");
  if (!s.startsWith("/") || at <= 1 || at === s.length - 1)
    throw usage(`--output expects /GUEST_PATH=LOCAL, got ${JSON.stringify(s)}`);
  return [...(previous ?? []), { guest: s.slice(0, at), local: s.slice(at + 1) }];
}

async function connect(url: string, flags: CommonFlags): Promise<TwineClient> {
  return TwineClient.connect(url, { policy: loadOwnerPolicy(flags.policy) });
}

/** Writes a new local file; an existing one is never overwritten. */
function writeNew(path: string, data: Uint8Array): void {
  try {
    writeFileSync(path, data, { flag: "wx" });
  } catch (e) {
    throw new TwineError("io.host", `cannot create ${path} (${(e as { code?: string }).code ?? "error"})`, {
      cause: e,
    });
  }
}

/** Raw volume files into `dir` (one volume), or `dir/<guest path with _>/` each (several). */
async function fetchVolumes(c: TwineClient, id: string, pfs: readonly string[], dir: string): Promise<void> {
  for (const mount of pfs) {
    const one = pfs.length === 1;
    const to = one
      ? dir
      : join(
          dir,
          mount
            .split("/")
            .filter((s) => s !== "")
            .join("_"),
        );
    mkdirSync(to, { recursive: true });
    writeNew(join(to, "super"), await c.getVolumeFile(id, "super", one ? undefined : mount));
    writeNew(join(to, "nodes"), await c.getVolumeFile(id, "nodes", one ? undefined : mount));
  }
}

async function run(url: string, flags: RunFlags, program: Command): Promise<void> {
  for (const i of flags.input ?? []) {
    try {
      if (!statSync(i.local).isFile()) throw usage(`--input ${i.local} is not a file`);
    } catch (e) {
      if (e instanceof TwineError) throw e;
      throw usage(`--input ${i.local} cannot be read`);
    }
  }
  const key = flags.keyFile === undefined ? undefined : readKeyFile(flags.keyFile);
  const c = await connect(url, flags);
  try {
    const pfs = c.info.pfs;
    if (pfs.length > 0 && key === undefined)
      throw usage(`the server's launch has protected volumes (${pfs.join(", ")}): give --key-file`);
    const id = await c.createJob();
    // Said at once, so the owner can stop or fetch the job later (`twine client cancel URL ID`). Only
    // with --keep: the id is the job's capability, and a kept job is one its owner means to come back to.
    if (flags.keep === true) process.stderr.write(`twine: job ${id} kept on the server\n`);
    // From here the first Ctrl-C cancels the job on the server, whether its inputs are still being
    // uploaded or it is already running: the wait then sees it end, and it is reported and deleted
    // like any failed job. The handler is gone after it, so a second one quits at once.
    let cancelling: Promise<void> | undefined;
    let uploading: ReadStream | undefined;
    const interrupt = (): void => {
      process.stderr.write("twine: cancelling the job (Ctrl-C again to quit without waiting)\n");
      // The server refuses to cancel a job while an upload to it is in progress: abandon it first.
      uploading?.destroy(new TwineError("serve.cancelled", "the upload was abandoned"));
      cancelling = cancelWhenIdle(c, id).then(undefined, (e: unknown) => {
        // `serve.state`: the job ended on its own meanwhile, and the wait reports how.
        if (!isTwineError(e, "serve.state"))
          process.stderr.write(`twine: cannot cancel the job: ${isTwineError(e) ? e.code : "internal"}\n`);
      });
    };
    process.once("SIGINT", interrupt);
    try {
      try {
        if (key !== undefined) await c.putKey(id, key);
        for (const i of flags.input ?? []) {
          if (cancelling !== undefined) break;
          uploading = createReadStream(i.local);
          await c.putFile(id, i.guest, uploading);
          uploading = undefined;
        }
        if (cancelling === undefined) await c.start(id);
      } catch (e) {
        // Cancelled while uploading: the abandoned upload fails, and the wait reports the cancel.
        // Any other failure is this command's.
        if (cancelling === undefined) throw e;
      }
      const st = await c.wait(id).finally(() => process.off("SIGINT", interrupt));
      // Its reply comes about when the wait's does; the connection must outlive it.
      await cancelling;
      process.stdout.write(st.stdout);
      process.stderr.write(st.stderr);
      if (st.stdoutTruncated || st.stderrTruncated)
        process.stderr.write("twine: warning: the guest's output was longer than the server keeps; cut\n");
      if (st.state === "exited") {
        for (const o of flags.output ?? []) writeNew(o.local, await c.getFile(id, o.guest));
      }
      if (flags.fetchVolume !== undefined) await fetchVolumes(c, id, pfs, flags.fetchVolume);
      if (st.state === "failed") {
        const e = st.error ?? { code: "internal", message: "the job failed" };
        throw new TwineError(e.code as TwineError["code"], `the job failed: ${e.message}`);
      }
      program.setOptionValue("__status", st.exitCode ?? 0);
    } finally {
      process.off("SIGINT", interrupt);
      // A job still running (the wait failed) cannot be deleted: it ends on its own.
      if (flags.keep !== true) await c.deleteJob(id).catch(() => undefined);
    }
  } finally {
    c.close();
  }
}

/**
 * Cancels a job, retrying for a while when the server still counts an abandoned upload as in
 * progress (`serve.busy`): it learns of the abandon when the upload's connection closes.
 */
async function cancelWhenIdle(c: TwineClient, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await c.cancel(id);
      return;
    } catch (e) {
      if (!isTwineError(e, "serve.busy") || attempt >= CANCEL_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, CANCEL_RETRY_MS));
    }
  }
}

async function cancel(url: string, id: string, flags: CommonFlags): Promise<void> {
  if (!isJobId(id)) throw usage("a job id is 32 lower-case hex digits");
  const c = await connect(url, flags);
  try {
    const st = await c.cancel(id);
    const shown = {
      id: st.id,
      state: st.state,
      ...(st.exitCode === undefined ? {} : { exitCode: st.exitCode }),
      ...(st.error === undefined ? {} : { error: st.error }),
    };
    process.stdout.write(`${JSON.stringify(shown)}\n`);
  } finally {
    c.close();
  }
}

export function registerClient(program: Command): void {
  const client = program.command("client").description("verify a `twine serve` endpoint and run jobs on it");
  const policyOption = [
    "--policy <file>",
    "owner policy: the launches to trust and how to judge evidence",
  ] as const;

  client
    .command("info <url>")
    .description("verify the server and print its launch (hash, manifest) and TEE")
    .requiredOption(...policyOption)
    .action(async (url: string, flags: CommonFlags) => {
      const c = await connect(url, flags);
      c.close();
      process.stdout.write(`${JSON.stringify(c.info, null, 2)}\n`);
    });

  client
    .command("run <url>")
    .description(
      "verify the server, upload key and inputs, run one job, print its output, download results; " +
        "Ctrl-C cancels the job on the server (exit 130), a second Ctrl-C quits without waiting",
    )
    .requiredOption(...policyOption)
    .option("--key-file <file>", "volume key for the job's protected volumes (32 raw bytes or 64 hex digits)")
    .option("--input <LOCAL=/GUEST>", "upload a local file into the job's volume (repeatable)", parseInput)
    .option(
      "--output <GUEST=LOCAL>",
      "download a file of the job's volume after it exited (repeatable)",
      parseOutput,
    )
    .option("--fetch-volume <dir>", "download the raw encrypted volume (super, nodes) for `twine pfs export`")
    .option("--keep", "keep the job on the server afterwards (its id is printed)")
    .action((url: string, flags: RunFlags) => run(url, flags, program));

  client
    .command("cancel <url> <id>")
    .description(
      "verify the server and cancel a job that has not ended (a running guest is stopped); " +
        "prints its final state as JSON",
    )
    .requiredOption(...policyOption)
    .action((url: string, id: string, flags: CommonFlags) => cancel(url, id, flags));
}
