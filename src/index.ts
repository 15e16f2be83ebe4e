// Public library API. Side-effect free: importing it starts nothing.
export { TwineError, isTwineError, ERRNO, EXIT } from "./errors.js";
export type { ErrorCode } from "./errors.js";

export { Runtime } from "./runtime/runtime.js";
export type { RunOptions, RunResult } from "./runtime/runtime.js";
export type { Tiering } from "./runtime/tiering.js";

export { Wasi } from "./wasi/wasi.js";
export type { WasiOptions } from "./wasi/wasi.js";

export { createMount, parseDirFlag } from "./vfs/index.js";
export type { MountConfig } from "./vfs/index.js";
export type { Mount, FileHandle, Filestat, DirEntry, OpenOptions, TimeSpec } from "./vfs/types.js";

export { PfsMount } from "./pfs/pfs-mount.js";

export { verifyEvidence, detectKind, parsePolicy, defaultRoots } from "./attest/index.js";
export type { Verdict, Finding, Policy, EvidenceKind, VerifyOptions } from "./attest/index.js";

export { loadOwnerPolicy, parseOwnerPolicy, peerCheckOf } from "./ratls/owner-policy.js";
export type { OwnerPolicy } from "./ratls/owner-policy.js";
export {
  provisionSecrets,
  createProvisionServer,
  createServerIdentity,
  certFingerprint,
} from "./provision/index.js";
export type {
  ProvisionOptions,
  ProvisionServerOptions,
  ProvisionEvent,
  ServerIdentity,
} from "./provision/index.js";

export { TwineClient } from "./client/client.js";
export type { ClientOptions, ServerInfo, JobStatus, JobState } from "./client/client.js";
export { startServe } from "./serve/server.js";
export type { ServeOptions, ServeHandle, ServeLimits } from "./serve/server.js";
export type { JobSpec } from "./serve/jobs.js";
