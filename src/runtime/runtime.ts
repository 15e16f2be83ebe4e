// The library's way to run a guest. The main thread checks the module (module.ts), applies the
// memory cap to the binary, picks the tier, and hands everything to a new worker thread (worker.ts;
// started ahead if the caller used prestartWorker, spare-worker.ts). It keeps only a timer and an
// optional abort signal: either one terminates the worker (one stopping path), which stops even a
// guest spinning in a loop without imports.
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { TwineError, type ErrorCode } from "../errors.js";
import type { TeeChoice, TeeLocations } from "../tee/index.js";
import type { MountConfig } from "../vfs/index.js";
import { MAX_MODULE_BYTES, capMemory, checkCommand, parseModule } from "./module.js";
import { takeWorker } from "./spare-worker.js";
import { TIERINGS, resolveTiering, tagWithTier, type Tiering } from "./tiering.js";
import type { WorkerInput, WorkerMessage } from "./worker-protocol.js";

export interface RunOptions {
  /** Guest arguments after argv[0] (which is the module's file name). */
  args?: string[];
  /** argv[0] when the module is given as bytes (default "module.wasm"). */
  argv0?: string;
  env?: Record<string, string>;
  /** Preopened directories, fd 3, 4, … in this order. */
  mounts?: MountConfig[];
  /** Host fds for the guest's fd 0, 1, 2 (default 0, 1, 2). */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  /** Most bytes of guest stdout and of stderr passed on to their fds; the rest are dropped. */
  outputLimitBytes?: number;
  /** Wall-clock limit on the guest's run, from `_start` (compilation does not count). */
  timeoutMs?: number;
  /**
   * Stops the run when aborted, the way the timeout does. The result is `cancelled`, with the
   * signal's reason as its error when that is a TwineError, else `run.cancelled`.
   */
  signal?: AbortSignal;
  /** Cap on the guest's linear memory; enforced by rewriting the module's memory maximum. */
  maxMemoryBytes?: number;
  maxOpenFds?: number;
  tiering?: Tiering;
  /** Run inside this TEE: the guest gets its attestation and sealing imports (`env`). */
  tee?: RunTeeOptions;
}

export interface RunTeeOptions {
  choice: TeeChoice;
  locations?: TeeLocations;
}

export type RunResult =
  | { status: "exited"; exitCode: number }
  | { status: "trap" | "timeout" | "memory_limit" | "cancelled" | "error"; error: TwineError };

/** argv[0] when the module is given as bytes rather than a path. */
const DEFAULT_ARGV0 = "module.wasm";
/** Longest timeout: what setTimeout can represent (about 24.8 days). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** How long a terminated worker may take to stop before the timeout is reported anyway. */
const TERMINATE_GRACE_MS = 1000;

/**
 * V8's tiering flags are process-wide and read at compile time, so compilations are serialised:
 * each run holds this lock from setting its flags until its module is compiled.
 */
let compileLock: Promise<void> = Promise.resolve();

function acquireCompileLock(): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const acquired = compileLock.then(() => release);
  compileLock = compileLock.then(() => released);
  return acquired;
}

export class Runtime {
  private readonly options: RunOptions;

  constructor(options: RunOptions = {}) {
    validateOptions(options);
    this.options = { ...options };
  }

  /**
   * Runs a command module to completion. Rejects with `module.*` for a bad module and with the
   * setup error (a mount, the host) when the guest could not start; otherwise resolves with how the
   * guest ended. All guest output to host fds is written before this resolves.
   */
  async run(module: Uint8Array | string): Promise<RunResult> {
    const o = this.options;
    const bytes = typeof module === "string" ? await readModule(module) : module;
    const argv0 = typeof module === "string" ? basename(module) : (o.argv0 ?? DEFAULT_ARGV0);
    const info = parseModule(bytes);
    checkCommand(info);
    let runnable = bytes;
    if (o.maxMemoryBytes !== undefined) {
      try {
        runnable = capMemory(bytes, info, o.maxMemoryBytes);
      } catch (e) {
        if (e instanceof TwineError && e.code === "run.memory_limit")
          return { status: "memory_limit", error: e };
        throw e;
      }
    }
    const tier = resolveTiering(o.tiering ?? "auto", info.codeBytes);
    const input: WorkerInput = {
      bytes: tagWithTier(runnable, tier),
      tier,
      args: [argv0, ...(o.args ?? [])],
      env: o.env ?? {},
      mounts: o.mounts ?? [],
      stdin: o.stdin ?? 0,
      stdout: o.stdout ?? 1,
      stderr: o.stderr ?? 2,
      ...(o.outputLimitBytes === undefined ? {} : { outputLimitBytes: o.outputLimitBytes }),
      ...(o.maxOpenFds === undefined ? {} : { maxOpenFds: o.maxOpenFds }),
      // The module hash is over the bytes as given, before the memory cap rewrote them.
      ...(o.tee === undefined
        ? {}
        : { tee: { ...o.tee, moduleHash: new Uint8Array(createHash("sha256").update(bytes).digest()) } }),
    };
    const release = await acquireCompileLock();
    try {
      if (o.signal?.aborted === true) return { status: "cancelled", error: cancelError(o.signal) };
      return await runWorker(input, o.timeoutMs, o.signal, release);
    } finally {
      release();
    }
  }
}

/** A module file's bytes, refusing non-regular and oversized files before reading them. */
export async function readModule(path: string): Promise<Uint8Array> {
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (e) {
    throw new TwineError("io.host", `cannot read module ${path}: ${errorCodeOf(e)}`, { cause: e });
  }
  try {
    // Checked before reading, so a device or an enormous file is refused without reading it.
    const st = await file.stat();
    if (!st.isFile()) throw new TwineError("module.invalid", `${path} is not a regular file`);
    if (st.size > MAX_MODULE_BYTES) {
      throw new TwineError("module.invalid", `module is ${st.size} bytes; the limit is ${MAX_MODULE_BYTES}`);
    }
    return await file.readFile();
  } catch (e) {
    if (e instanceof TwineError) throw e;
    throw new TwineError("io.host", `cannot read module ${path}: ${errorCodeOf(e)}`, { cause: e });
  } finally {
    await file.close();
  }
}

function errorCodeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

function statusOf(code: ErrorCode): Exclude<RunResult["status"], "exited"> | undefined {
  switch (code) {
    case "run.trap":
      return "trap";
    case "run.timeout":
      return "timeout";
    case "run.memory_limit":
      return "memory_limit";
    default:
      return undefined;
  }
}

function cancelError(signal: AbortSignal): TwineError {
  const reason: unknown = signal.reason;
  return reason instanceof TwineError ? reason : new TwineError("run.cancelled", "the run was cancelled");
}

function runWorker(
  input: WorkerInput,
  timeoutMs: number | undefined,
  signal: AbortSignal | undefined,
  release: () => void,
): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const worker = takeWorker();
    let outcome: { result: RunResult } | { error: TwineError } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    let settled = false;
    let running = false;

    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      signal?.removeEventListener("abort", onAbort);
      release();
      const lost = new TwineError("run.worker", "the guest's worker thread stopped without a result");
      const o = outcome ?? (running ? { result: { status: "error", error: lost } } : { error: lost });
      if ("result" in o) resolve(o.result);
      else reject(o.error);
    };

    worker.on("message", (m: WorkerMessage) => {
      switch (m.type) {
        case "compiled":
          release();
          return;
        case "running":
          running = true;
          if (timeoutMs !== undefined) timer = setTimeout(onTimeout, timeoutMs);
          return;
        case "exited":
          outcome ??= { result: { status: "exited", exitCode: m.exitCode } };
          return;
        case "failed": {
          const error = new TwineError(m.error.code, m.error.message);
          const status = statusOf(error.code);
          if (status !== undefined) outcome ??= { result: { status, error } };
          else if (m.phase === "setup") outcome ??= { error };
          else outcome ??= { result: { status: "error", error } };
          return;
        }
      }
    });

    // The one way a run is stopped from outside, for the timeout and for the abort signal.
    const stop = (result: RunResult): void => {
      if (grace !== undefined || settled) return;
      clearTimeout(timer);
      outcome ??= { result };
      // terminate() stops running Wasm at once; a guest blocked in a host call (a read on a pipe)
      // stops only when that call returns, so the result does not wait for it beyond a grace period.
      grace = setTimeout(() => {
        worker.unref();
        settle();
      }, TERMINATE_GRACE_MS);
      void worker.terminate();
    };
    const onTimeout = (): void => {
      const error = new TwineError("run.timeout", `the guest ran longer than ${timeoutMs ?? 0} ms`);
      stop({ status: "timeout", error });
    };
    function onAbort(): void {
      if (signal !== undefined) stop({ status: "cancelled", error: cancelError(signal) });
    }
    signal?.addEventListener("abort", onAbort, { once: true });

    // A worker that fails before the guest runs (it could not load, say) is a setup failure.
    worker.on("error", (e) => {
      const oom = (e as NodeJS.ErrnoException).code === "ERR_WORKER_OUT_OF_MEMORY";
      const message = oom
        ? "the guest's worker thread ran out of memory"
        : `the guest's worker thread failed: ${e.message}`;
      const error = new TwineError("run.worker", message, { cause: e });
      outcome ??= running ? { result: { status: "error", error } } : { error };
    });
    worker.on("exit", settle);
    // The module's bytes are a copy made by tagWithTier: moving its buffer saves copying the module.
    worker.postMessage(input, [input.bytes.buffer]);
  });
}

function validateOptions(o: RunOptions): void {
  const bad = (message: string): TwineError => new TwineError("run.options", message);
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0 && o.timeoutMs <= MAX_TIMEOUT_MS)) {
    throw bad(`timeoutMs must be a positive number up to ${MAX_TIMEOUT_MS}, got ${o.timeoutMs}`);
  }
  if (o.maxMemoryBytes !== undefined && !(Number.isSafeInteger(o.maxMemoryBytes) && o.maxMemoryBytes >= 0)) {
    throw bad(`maxMemoryBytes must be a non-negative integer, got ${o.maxMemoryBytes}`);
  }
  if (o.maxOpenFds !== undefined && !(Number.isSafeInteger(o.maxOpenFds) && o.maxOpenFds > 0)) {
    throw bad(`maxOpenFds must be a positive integer, got ${o.maxOpenFds}`);
  }
  if (
    o.outputLimitBytes !== undefined &&
    !(Number.isSafeInteger(o.outputLimitBytes) && o.outputLimitBytes >= 0)
  ) {
    throw bad(`outputLimitBytes must be a non-negative integer, got ${o.outputLimitBytes}`);
  }
  if (o.tiering !== undefined && !TIERINGS.includes(o.tiering)) {
    throw bad(`tiering must be one of ${TIERINGS.join(", ")}, got ${String(o.tiering)}`);
  }
  for (const fd of [o.stdin, o.stdout, o.stderr]) {
    if (fd !== undefined && !(Number.isSafeInteger(fd) && fd >= 0)) throw bad(`bad host fd ${fd}`);
  }
  if (o.env !== undefined) {
    for (const key of Object.keys(o.env)) {
      if (key === "" || key.includes("=") || key.includes("\0") || (o.env[key] ?? "").includes("\0")) {
        throw bad(`bad environment variable name or value: ${JSON.stringify(key)}`);
      }
    }
  }
}
