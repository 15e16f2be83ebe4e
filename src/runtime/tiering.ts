// How V8 compiles the guest. V8's flags are process-wide and read when a module is compiled, so the
// worker sets them right before `WebAssembly.compile`, and the runtime never compiles two modules at
// once (see runtime.ts). Measurements behind the threshold are in README.md.
import { setFlagsFromString } from "node:v8";
import { appendCustomSection } from "./module.js";

export type Tiering = "auto" | "eager" | "lazy";
export const TIERINGS: readonly Tiering[] = ["auto", "eager", "lazy"];

/**
 * Code sections up to this size compile eagerly with TurboFan under "auto". On the project's
 * 2-core machine TurboFan compiles ~0.8 MiB of code per second, so this bounds the up-front cost
 * at about 1.3 s, which a run long enough to care about speed repays (long kernels run ~2.3x
 * slower on Liftoff).
 */
export const EAGER_MAX_CODE_BYTES = 1024 * 1024;

/** The strategy "auto" resolves to for a code section of `codeBytes`. */
export function resolveTiering(tiering: Tiering, codeBytes: number): "eager" | "lazy" {
  if (tiering !== "auto") return tiering;
  return codeBytes <= EAGER_MAX_CODE_BYTES ? "eager" : "lazy";
}

/**
 * Every flag is set both ways, so a process that ran an eager module and then a lazy one gets
 * V8's defaults back. "eager": no Liftoff, every function compiled by TurboFan before the module
 * resolves. "lazy" (V8's defaults): functions compile with Liftoff on first call and tier up when hot.
 */
const FLAGS = {
  eager: "--no-liftoff --no-wasm-lazy-compilation",
  lazy: "--liftoff --wasm-lazy-compilation --wasm-dynamic-tiering",
} as const;

export function applyTiering(tier: "eager" | "lazy"): void {
  setFlagsFromString(FLAGS[tier]);
}

/**
 * V8 keeps compiled modules in a process-wide cache keyed by the module's bytes and hands out the
 * cached code whatever the flags are now, so a module run eagerly and then lazily would stay on
 * TurboFan code (and the reverse). A custom section naming the tier makes the bytes, and so the
 * cache entry, differ per tier; it changes nothing else.
 */
export function tagWithTier(bytes: Uint8Array, tier: "eager" | "lazy"): Uint8Array<ArrayBuffer> {
  return appendCustomSection(bytes, "twine.tiering", new TextEncoder().encode(tier));
}
