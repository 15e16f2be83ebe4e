// Node's global `WebAssembly` has no TypeScript types in this project (lib ES2022 without DOM;
// @types/node 20 does not declare it), so the part the runtime uses is typed here, structurally.
// The shapes match src/wasi/wasm-types.ts, so an instance from here fits the WASI host.

/** A compiled module: opaque to the runtime, which only passes it from compile to instantiate. */
export type WasmModule = object;

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

export type WasmImports = Record<string, Record<string, unknown>>;

export interface WasmImportDescriptor {
  module: string;
  name: string;
  kind: string;
}

type ErrorClass = new (message?: string) => Error;

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports?: WasmImports): Promise<WasmInstance>;
  Module: { imports(module: WasmModule): WasmImportDescriptor[] };
  Memory: abstract new (...args: never[]) => object;
  Table: abstract new (...args: never[]) => object;
  Global: abstract new (...args: never[]) => object;
  CompileError: ErrorClass;
  LinkError: ErrorClass;
  RuntimeError: ErrorClass;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
