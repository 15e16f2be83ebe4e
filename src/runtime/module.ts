// Loads and checks a Wasm module before V8 sees it: a bounds-checked walk over the section headers
// that finds imports, exports and memory limits, so that bad input gets a clear `module.*` error and
// so the memory section can be rewritten to enforce a memory cap. Full validation is left to V8
// (`compileModule`); this walker only reads what the runtime needs and trusts nothing it reads.
import { TwineError } from "../errors.js";
import { wasm, type WasmImports, type WasmModule } from "./wasm-api.js";

/** Largest module we accept; bounds the work and memory of parsing and compiling untrusted input. */
export const MAX_MODULE_BYTES = 256 * 1024 * 1024;
export const WASM_PAGE_BYTES = 65536;
/** A wasm32 memory has at most 2^16 pages (4 GiB). */
export const MAX_WASM32_PAGES = 65536;

const MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;
const VERSION_1 = [0x01, 0x00, 0x00, 0x00] as const;

const SECTION = {
  CUSTOM: 0,
  TYPE: 1,
  IMPORT: 2,
  FUNCTION: 3,
  TABLE: 4,
  MEMORY: 5,
  GLOBAL: 6,
  EXPORT: 7,
  START: 8,
  ELEMENT: 9,
  CODE: 10,
  DATA: 11,
  DATA_COUNT: 12,
  TAG: 13,
} as const;
const MAX_SECTION_ID = SECTION.TAG;

/** External kinds as the binary format numbers them, named as `WebAssembly.Module.imports()` does. */
export type ExternKind = "function" | "table" | "memory" | "global" | "tag";
const EXTERN_KINDS: readonly ExternKind[] = ["function", "table", "memory", "global", "tag"];

export interface ImportDesc {
  module: string;
  name: string;
  kind: ExternKind;
}

export interface ExportDesc {
  name: string;
  kind: ExternKind;
  index: number;
}

/** A memory's limits in 64 KiB pages. */
export interface MemoryLimits {
  min: number;
  max?: number;
  shared: boolean;
  memory64: boolean;
}

export interface ModuleInfo {
  imports: ImportDesc[];
  exports: ExportDesc[];
  /** Memories defined by the module (not imported ones). */
  memories: MemoryLimits[];
  /** Where the memory section sits: from its id byte to the end of its payload. */
  memorySection?: { start: number; end: number };
  /** Bytes of the code section's payload (the function bodies), 0 if there is none. */
  codeBytes: number;
}

function invalid(message: string): TwineError {
  return new TwineError("module.invalid", message);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Bounds-checked reader over one byte range; every overrun is `module.invalid` naming `where`. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
    readonly where: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  private truncated(): TwineError {
    return invalid(`truncated module: ${this.where} runs past end`);
  }

  byte(): number {
    if (this.pos >= this.end) throw this.truncated();
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128 of at most `bits` bits, as the spec requires (no overlong or oversized encodings). */
  uleb(bits: 32 | 64 = 32): number {
    const maxBytes = Math.ceil(bits / 7);
    let result = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (result >> BigInt(bits) !== 0n) throw invalid(`integer too large in ${this.where}`);
        if (result > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`integer too large in ${this.where}`);
        return Number(result);
      }
    }
    throw invalid(`integer representation too long in ${this.where}`);
  }

  /** Signed LEB128 of at most 33 bits (a heap type); only its length matters here. */
  skipSleb33(): void {
    for (let i = 0; i < 5; i++) if ((this.byte() & 0x80) === 0) return;
    throw invalid(`integer representation too long in ${this.where}`);
  }

  take(n: number): Uint8Array {
    if (n > this.end - this.pos) throw this.truncated();
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(): string {
    const raw = this.take(this.uleb());
    try {
      return utf8.decode(raw);
    } catch (e) {
      throw new TwineError("module.invalid", `malformed UTF-8 name in ${this.where}`, { cause: e });
    }
  }

  /** A vector length, checked against the bytes left (each element takes at least one byte). */
  count(): number {
    const n = this.uleb();
    if (n > this.end - this.pos) throw this.truncated();
    return n;
  }
}

/** Reads the section headers and the sections the runtime needs. Throws `module.invalid`. */
export function parseModule(bytes: Uint8Array): ModuleInfo {
  if (bytes.length > MAX_MODULE_BYTES) {
    throw invalid(`module is ${bytes.length} bytes; the limit is ${MAX_MODULE_BYTES}`);
  }
  if (bytes.length < 4 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw invalid("not a WebAssembly module (bad magic)");
  }
  if (bytes.length < 8) throw invalid("truncated module: header runs past end");
  if (VERSION_1.some((b, i) => bytes[4 + i] !== b)) {
    const version = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
    throw invalid(
      `unsupported WebAssembly binary version 0x${version.toString(16)} (only core modules, version 1)`,
    );
  }
  const info: ModuleInfo = { imports: [], exports: [], memories: [], codeBytes: 0 };
  const seen = new Set<number>();
  const top = new Reader(bytes, 8, bytes.length, "section header");
  while (!top.done) {
    const start = top.pos;
    const id = top.byte();
    if (id > MAX_SECTION_ID) throw invalid(`unknown section id ${id} at offset ${start}`);
    const size = top.uleb();
    const payload = top.pos;
    if (size > bytes.length - payload) throw invalid(`truncated module: section ${id} runs past end`);
    top.pos = payload + size;
    if (id !== SECTION.CUSTOM) {
      if (seen.has(id)) throw invalid(`duplicate section ${id}`);
      seen.add(id);
    }
    const r = new Reader(bytes, payload, payload + size, `section ${id}`);
    switch (id) {
      case SECTION.IMPORT:
        readImports(r, info);
        break;
      case SECTION.MEMORY:
        for (let n = r.count(); n > 0; n--) info.memories.push(readLimits(r, true));
        info.memorySection = { start, end: payload + size };
        break;
      case SECTION.EXPORT:
        for (let n = r.count(); n > 0; n--) {
          const name = r.name();
          info.exports.push({ name, kind: externKind(r.byte(), r), index: r.uleb() });
        }
        break;
      case SECTION.CODE:
        info.codeBytes = size;
        continue;
      default:
        continue;
    }
    if (!r.done) throw invalid(`section ${id} has ${payload + size - r.pos} unexpected trailing bytes`);
  }
  return info;
}

function externKind(b: number, r: Reader): ExternKind {
  const kind = EXTERN_KINDS[b];
  if (kind === undefined) throw invalid(`unknown external kind 0x${b.toString(16)} in ${r.where}`);
  return kind;
}

function readImports(r: Reader, info: ModuleInfo): void {
  for (let n = r.count(); n > 0; n--) {
    const module = r.name();
    const name = r.name();
    const kind = externKind(r.byte(), r);
    switch (kind) {
      case "function":
        r.uleb();
        break;
      case "table":
        skipValType(r);
        readLimits(r, false);
        break;
      case "memory":
        readLimits(r, true);
        break;
      case "global":
        skipValType(r);
        r.byte();
        break;
      case "tag":
        r.byte();
        r.uleb();
        break;
    }
    info.imports.push({ module, name, kind });
  }
}

/** A value or reference type: one byte, or (typed function references / GC) a prefix and a heap type. */
function skipValType(r: Reader): void {
  const t = r.byte();
  if (t === 0x63 || t === 0x64) r.skipSleb33();
}

function readLimits(r: Reader, isMemory: boolean): MemoryLimits {
  const flags = r.byte();
  const allowed = isMemory ? 0x07 : 0x01;
  if ((flags & ~allowed) !== 0) throw invalid(`bad limits flags 0x${flags.toString(16)} in ${r.where}`);
  const memory64 = (flags & 0x04) !== 0;
  const bits = memory64 ? 64 : 32;
  const min = r.uleb(bits);
  const limits: MemoryLimits = { min, shared: (flags & 0x02) !== 0, memory64 };
  if ((flags & 0x01) !== 0) limits.max = r.uleb(bits);
  return limits;
}

/**
 * The checks for a WASI command module: it exports a `_start` function and a `memory`, and defines
 * its memory rather than importing it (an imported memory could not be capped). Reactor modules
 * (`_initialize`, no `_start`) are not supported in this version.
 */
export function checkCommand(info: ModuleInfo): void {
  const imported = info.imports.filter((i) => i.kind === "memory");
  if (imported.length > 0) {
    const names = imported.map((i) => `${i.module}.${i.name}`).join(", ");
    throw new TwineError("module.link", `imported memories are not supported (${names})`);
  }
  const start = info.exports.find((e) => e.name === "_start");
  if (start === undefined) {
    throw new TwineError(
      "module.link",
      "module has no _start export: only WASI command modules are supported (not reactors or libraries)",
    );
  }
  if (start.kind !== "function")
    throw new TwineError("module.link", `_start is a ${start.kind}, not a function`);
  const memory = info.exports.find((e) => e.name === "memory");
  if (memory?.kind !== "memory")
    throw new TwineError("module.link", 'module exports no memory named "memory"');
  if (info.memories.some((m) => m.memory64)) throw invalid("64-bit memories are not supported");
}

/** Most unknown imports named in one error; the rest are counted. */
const MAX_LISTED_IMPORTS = 10;

/**
 * The imports the host does not provide: an import is known when `provided` (an import object) has
 * a value of the same kind under its module and name.
 */
export function findUnknownImports(imports: readonly ImportDesc[], provided: WasmImports): ImportDesc[] {
  return imports.filter((i) => {
    const value = Object.hasOwn(provided, i.module) ? provided[i.module] : undefined;
    if (value === undefined || !Object.hasOwn(value, i.name)) return true;
    return kindOfValue(value[i.name]) !== i.kind;
  });
}

/** Throws one `module.link` error that lists every unknown import (up to a limit). */
export function checkImports(imports: readonly ImportDesc[], provided: WasmImports): void {
  const unknown = findUnknownImports(imports, provided);
  if (unknown.length === 0) return;
  const listed = unknown.slice(0, MAX_LISTED_IMPORTS).map((i) => `${i.module}.${i.name} (${i.kind})`);
  if (unknown.length > MAX_LISTED_IMPORTS) listed.push(`and ${unknown.length - MAX_LISTED_IMPORTS} more`);
  const noun = unknown.length === 1 ? "unknown import" : "unknown imports";
  throw new TwineError("module.link", `${noun} ${listed.join(", ")}`);
}

function kindOfValue(v: unknown): ExternKind | undefined {
  if (typeof v === "function") return "function";
  if (v instanceof wasm.Memory) return "memory";
  if (v instanceof wasm.Table) return "table";
  if (v instanceof wasm.Global) return "global";
  return undefined;
}

/** Pages allowed by a byte limit (whole pages only, at most the wasm32 maximum). */
export function pagesFor(maxMemoryBytes: number): number {
  return Math.min(Math.floor(maxMemoryBytes / WASM_PAGE_BYTES), MAX_WASM32_PAGES);
}

/**
 * Enforces a memory cap in the binary itself: every defined memory gets a maximum of at most
 * `maxMemoryBytes` (in whole pages), so `memory.grow` past it fails inside the guest (malloc returns
 * NULL) and never grows host memory. A memory whose *initial* size is already over the cap is
 * `run.memory_limit`. Returns the input unchanged when there is no memory section.
 */
export function capMemory(bytes: Uint8Array, info: ModuleInfo, maxMemoryBytes: number): Uint8Array {
  const section = info.memorySection;
  if (section === undefined) return bytes;
  const limit = pagesFor(maxMemoryBytes);
  const entries: number[] = [];
  pushUleb(entries, info.memories.length);
  for (const m of info.memories) {
    if (m.memory64) throw invalid("64-bit memories are not supported");
    if (m.min > limit) {
      throw new TwineError(
        "run.memory_limit",
        `initial memory of ${m.min * WASM_PAGE_BYTES} bytes exceeds the limit of ${limit * WASM_PAGE_BYTES} bytes`,
      );
    }
    entries.push((m.shared ? 0x02 : 0x00) | 0x01);
    pushUleb(entries, m.min);
    pushUleb(entries, Math.min(m.max ?? limit, limit));
  }
  const header: number[] = [SECTION.MEMORY];
  pushUleb(header, entries.length);
  const out = new Uint8Array(bytes.length - (section.end - section.start) + header.length + entries.length);
  out.set(bytes.subarray(0, section.start), 0);
  out.set(header, section.start);
  out.set(entries, section.start + header.length);
  out.set(bytes.subarray(section.end), section.start + header.length + entries.length);
  return out;
}

function pushUleb(out: number[], value: number): void {
  let v = value;
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v === 0 ? b : b | 0x80);
  } while (v !== 0);
}

/** A copy of `bytes` with a custom section appended (custom sections may appear anywhere). */
export function appendCustomSection(
  bytes: Uint8Array,
  name: string,
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const nameBytes = new TextEncoder().encode(name);
  const content: number[] = [];
  pushUleb(content, nameBytes.length);
  content.push(...nameBytes, ...payload);
  const header: number[] = [SECTION.CUSTOM];
  pushUleb(header, content.length);
  const out = new Uint8Array(bytes.length + header.length + content.length);
  out.set(bytes, 0);
  out.set(header, bytes.length);
  out.set(content, bytes.length + header.length);
  return out;
}

/** Full validation and compilation by V8; its CompileError becomes `module.invalid`. */
export async function compileModule(bytes: Uint8Array): Promise<WasmModule> {
  try {
    return await wasm.compile(bytes);
  } catch (e) {
    if (e instanceof wasm.CompileError) {
      throw new TwineError("module.invalid", `invalid module: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
