// A tiny Wasm binary writer for the runtime's tests: just enough to build modules byte by byte,
// including malformed ones. Not used by the runtime itself.

export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v === 0 ? b : b | 0x80);
  } while (v !== 0);
  return out;
}

export function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

export function vec(items: readonly number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function section(id: number, payload: readonly number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function moduleOf(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

export const I32 = 0x7f;
export const KIND = { function: 0, table: 1, memory: 2, global: 3 } as const;

export function funcType(params: number[], results: number[]): number[] {
  return [0x60, ...uleb(params.length), ...params, ...uleb(results.length), ...results];
}

export function limits(min: number, max?: number, shared = false): number[] {
  const flags = (max === undefined ? 0 : 1) | (shared ? 2 : 0);
  return [flags, ...uleb(min), ...(max === undefined ? [] : uleb(max))];
}

export const typeSection = (types: number[][]): number[] => section(1, vec(types));
export const importSection = (imports: number[][]): number[] => section(2, vec(imports));
export const functionSection = (typeIdx: number[]): number[] => section(3, vec(typeIdx.map((t) => uleb(t))));
export const memorySection = (mems: number[][]): number[] => section(5, vec(mems));
export const exportSection = (exports: number[][]): number[] => section(7, vec(exports));
export const codeSection = (bodies: number[][]): number[] =>
  section(10, vec(bodies.map((b) => [...uleb(b.length), ...b])));

export function importFunc(module: string, name: string, typeIdx: number): number[] {
  return [...str(module), ...str(name), KIND.function, ...uleb(typeIdx)];
}

export function exportOf(name: string, kind: keyof typeof KIND, index: number): number[] {
  return [...str(name), KIND[kind], ...uleb(index)];
}

/** Body of a function with no locals. */
export function body(...code: number[]): number[] {
  return [0x00, ...code, 0x0b];
}

export interface CommandParts {
  /** Limits of the one memory (default min 1, no max); null for no memory section. */
  memory?: number[] | null;
  imports?: number[][];
  exports?: number[][];
}

/**
 * A valid command module: type 0 `() -> ()`, type 1 `(i32) -> i32`; function `_start` (empty) and
 * `grow` (memory.grow by its argument, returning the old size or -1), one memory (default min 1).
 * Imports are of type 0 and come first in the function index space.
 */
export function commandModule(parts: CommandParts = {}): Uint8Array {
  const imports = parts.imports ?? [];
  const funcImports = imports.length;
  const mem = parts.memory === undefined ? limits(1) : parts.memory;
  const sections: number[][] = [typeSection([funcType([], []), funcType([I32], [I32])])];
  if (imports.length > 0) sections.push(importSection(imports));
  sections.push(functionSection([0, 1]));
  if (mem !== null) sections.push(memorySection([mem]));
  sections.push(
    exportSection(
      parts.exports ?? [
        exportOf("_start", "function", funcImports),
        exportOf("grow", "function", funcImports + 1),
        exportOf("memory", "memory", 0),
      ],
    ),
  );
  sections.push(codeSection([body(), body(0x20, 0x00, 0x40, 0x00)]));
  return moduleOf(...sections);
}
