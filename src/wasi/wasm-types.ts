// Node's global `WebAssembly` has no TypeScript types here (lib is ES2022 without DOM, and
// @types/node 20 does not declare it), so the little of it this folder uses is typed structurally.
// A real WebAssembly.Memory / Instance from any caller fits these shapes.

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

/** The `importObject` of WebAssembly.instantiate: module name → field name → value. */
export type WasmImports = Record<string, Record<string, unknown>>;

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: WasmImports) => WasmInstance;
  RuntimeError: new (message?: string) => Error;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
