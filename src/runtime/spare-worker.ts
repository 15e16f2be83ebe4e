// The guest's worker thread, started ahead of its run. A thread takes ~0.1 s to start and load the
// WASI host; started early, that overlaps what the caller does before `Runtime.run()` (the CLI:
// loading the command, parsing flags, reading and checking the module) instead of following it.
// This file imports nothing else of ours, so `bin/twine.js` can start the thread before loading the CLI.
import { Worker } from "node:worker_threads";

const WORKER_URL = new URL("./worker.js", import.meta.url);

/** A started thread no run has taken yet; `stopped` if it failed or exited meanwhile. */
interface SpareWorker {
  worker: Worker;
  stopped: boolean;
}

let spare: SpareWorker | undefined;

/**
 * Starts the next run's worker thread now. It waits for its input and does nothing else; until a
 * run takes it, it does not keep the process alive.
 */
export function prestartWorker(): void {
  if (spare !== undefined) return;
  const s: SpareWorker = { worker: new Worker(WORKER_URL), stopped: false };
  const stop = (): void => {
    s.stopped = true;
  };
  // Also keeps an 'error' event before a run took the thread from being thrown.
  s.worker.on("error", stop).on("exit", stop).unref();
  spare = s;
}

/** The started thread if it is still alive, else a new one. */
export function takeWorker(): Worker {
  const s = spare;
  spare = undefined;
  if (s === undefined || s.stopped) return new Worker(WORKER_URL);
  s.worker.ref();
  return s.worker;
}
