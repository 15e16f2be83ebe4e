// The worker thread that runs one guest: set the tiering flags, compile, build the mounts and the
// WASI host here (their handles cannot cross threads), instantiate, call `_start`. The main thread
// only watches the clock and terminates this thread on timeout, so a spinning guest never blocks it.
// The input comes as the first message rather than as workerData, so the thread can be started (and
// this file loaded) while the main thread is still reading and checking the module.
import { setFlagsFromString } from "node:v8";
import { parentPort } from "node:worker_threads";
import { TwineError, isTwineError } from "../errors.js";
import type { Mount } from "../vfs/index.js";
import type { GuestExports } from "../tee/guest-imports.js";
import type { Wasi } from "../wasi/wasi.js";
import { checkImports, compileModule, type ExternKind } from "./module.js";
import { applyTiering } from "./tiering.js";
import { wasm, type WasmImports, type WasmInstance, type WasmModule } from "./wasm-api.js";
import type { WireError, WorkerInput, WorkerMessage } from "./worker-protocol.js";

/**
 * The mounts and the WASI host load while the thread waits for its input and then while the module
 * compiles (V8 compiles on background threads), instead of before either can start. A failure to
 * load them fails the run, as a failed static import did.
 */
const host = Promise.all([import("../vfs/index.js"), import("../wasi/wasi.js")]);

function post(m: WorkerMessage): void {
  parentPort?.postMessage(m);
}

function toWire(e: unknown): WireError {
  if (isTwineError(e)) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: "internal", message: `${e.name}: ${e.message}` };
  return { code: "internal", message: String(e) };
}

async function setup(input: WorkerInput): Promise<{ wasi: Wasi; instance: WasmInstance }> {
  // Node 20.20 crashes (SIGSEGV) in fast API calls reached from Wasm; bin/twine.js cannot pass the
  // flag on its command line, so it is set here, before any guest code runs (process-wide).
  setFlagsFromString("--no-turbo-fast-api-calls");
  let module: WasmModule;
  try {
    applyTiering(input.tier);
    module = await compileModule(input.bytes);
  } finally {
    post({ type: "compiled" });
  }
  const [{ createMount }, { Wasi }] = await host;
  const mounts: { guestPath: string; mount: Mount }[] = [];
  let wasi: Wasi;
  try {
    for (const c of input.mounts) mounts.push({ guestPath: c.guestPath, mount: createMount(c) });
    wasi = new Wasi({
      args: input.args,
      env: input.env,
      mounts,
      stdin: input.stdin,
      stdout: input.stdout,
      stderr: input.stderr,
      ...(input.outputLimitBytes === undefined ? {} : { outputLimitBytes: input.outputLimitBytes }),
      ...(input.maxOpenFds === undefined ? {} : { maxOpenFds: input.maxOpenFds }),
    });
  } catch (e) {
    for (const m of mounts) m.mount.close();
    throw e;
  }
  try {
    // The TEE imports read the instance's exports (memory, malloc) at call time.
    const ref: { exports?: GuestExports } = {};
    // Loaded only for TEE runs: the backends bring the attestation code with them.
    const imports: WasmImports =
      input.tee === undefined
        ? wasi.getImportObject()
        : {
            ...wasi.getImportObject(),
            env: (await import("../tee/worker-tee.js")).createWorkerTeeImports(input.tee, () => ref.exports),
          };
    checkImports(
      wasm.Module.imports(module).map((i) => ({ ...i, kind: i.kind as ExternKind })),
      imports,
    );
    const instance = await instantiate(module, imports);
    ref.exports = instance.exports as unknown as GuestExports;
    return { wasi, instance };
  } catch (e) {
    wasi.close();
    throw e;
  }
}

async function instantiate(module: WasmModule, imports: WasmImports): Promise<WasmInstance> {
  try {
    return await wasm.instantiate(module, imports);
  } catch (e) {
    if (e instanceof wasm.LinkError) throw new TwineError("module.link", e.message, { cause: e });
    // V8 reports a memory it cannot reserve as a RangeError ("Out of memory: Cannot allocate Wasm memory").
    if (e instanceof RangeError) throw new TwineError("run.memory_limit", e.message, { cause: e });
    // A trap in the start function or a data segment out of bounds.
    if (e instanceof wasm.RuntimeError) throw new TwineError("run.trap", e.message, { cause: e });
    throw e;
  }
}

async function main(input: WorkerInput): Promise<void> {
  let ready: { wasi: Wasi; instance: WasmInstance };
  try {
    ready = await setup(input);
  } catch (e) {
    post({ type: "failed", phase: "setup", error: toWire(e) });
    return;
  }
  const { wasi, instance } = ready;
  post({ type: "running" });
  let exitCode: number;
  try {
    exitCode = wasi.start(instance);
  } catch (e) {
    try {
      wasi.close();
    } catch {
      // The run's own failure is the one to report.
    }
    post({ type: "failed", phase: "run", error: toWire(e) });
    return;
  }
  // Closing commits mounts (a protected volume's new root): a failure there fails the run.
  try {
    wasi.close();
  } catch (e) {
    post({ type: "failed", phase: "run", error: toWire(e) });
    return;
  }
  post({ type: "exited", exitCode });
}

parentPort?.once("message", (input: WorkerInput) => void main(input));
