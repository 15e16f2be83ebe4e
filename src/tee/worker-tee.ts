// The TEE as the runtime's worker thread sees it. Tee objects (open keys, caches) cannot cross
// threads, so the main thread sends this structured-cloneable config and the worker builds the Tee
// and the guest's `env` imports itself, next to the WASI host.
import { createTeeImports } from "./guest-imports.js";
import type { GuestExports } from "./guest-imports.js";
import { createTee, defaultVerifier } from "./select.js";
import type { TeeChoice, TeeLocations } from "./select.js";

export interface TeeConfig {
  choice: TeeChoice;
  locations?: TeeLocations;
  /** SHA-256 of the module file as given (before any rewriting, e.g. the memory cap). */
  moduleHash: Uint8Array;
}

/** The `env` import namespace for a guest run under `cfg`; `getExports` is read at call time. */
export function createWorkerTeeImports(
  cfg: TeeConfig,
  getExports: () => GuestExports | undefined,
): Record<string, (...args: number[]) => number | void> {
  const tee = createTee(cfg.choice, cfg.locations ?? {});
  const verifier = defaultVerifier(tee);
  return createTeeImports(tee, getExports, cfg.moduleHash, verifier === undefined ? {} : { verifier });
}
