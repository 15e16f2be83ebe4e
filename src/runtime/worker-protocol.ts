// What the runtime and its worker say to each other. Everything here is structured-cloneable:
// mounts travel as configs (open handles cannot cross threads) and errors as code + message.
import type { ErrorCode } from "../errors.js";
import type { TeeConfig } from "../tee/worker-tee.js";
import type { MountConfig } from "../vfs/index.js";

export interface WorkerInput {
  /** A buffer of its own: it is moved to the worker, not copied. */
  bytes: Uint8Array<ArrayBuffer>;
  tier: "eager" | "lazy";
  args: string[];
  env: Record<string, string>;
  mounts: MountConfig[];
  stdin: number;
  stdout: number;
  stderr: number;
  outputLimitBytes?: number;
  maxOpenFds?: number;
  /** When set, the guest also gets the TEE's `env` imports (attestation, sealing). */
  tee?: TeeConfig;
}

/** An error as it crosses the thread boundary. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

export type WorkerMessage =
  /** Compilation is over (successfully or not): the process-wide tiering flags are free again. */
  | { type: "compiled" }
  /** `_start` is about to be called: the timeout starts now. */
  | { type: "running" }
  | { type: "exited"; exitCode: number }
  /** `phase: "setup"` failed before the guest ran (run() rejects); `"run"` ended a running guest. */
  | { type: "failed"; phase: "setup" | "run"; error: WireError };
