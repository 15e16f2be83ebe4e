// Helpers for this folder's tests: a Wasi bound to a real WebAssembly.Memory (from a hand-assembled
// module that only exports memory), stdio on temp files, and a bump allocator for guest buffers.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Mount } from "../vfs/types.js";
import { IOVEC } from "./constants.js";
import { Wasi, type WasiImports, type WasiOptions } from "./wasi.js";
import { wasm, type WasmInstance, type WasmMemory } from "./wasm-types.js";

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

function name(s: string): number[] {
  const b = [...Buffer.from(s, "utf8")];
  return [...leb(b.length), ...b];
}

/**
 * A module with one memory of `pages` pages, exported as "memory", and optionally a `_start` whose
 * body is `code` (raw instructions, no locals) with the listed wasi imports available as functions
 * 0..n-1. Types: 0 = () → (), 1 = (i32) → (), 2 = (i32) → i32.
 */
export function buildModule(
  pages: number,
  start?: { imports: { name: string; type: 0 | 1 | 2 }[]; code: number[] },
): Uint8Array {
  const I32 = 0x7f;
  const types = [0x03, 0x60, 0x00, 0x00, 0x60, 0x01, I32, 0x00, 0x60, 0x01, I32, 0x01, I32];
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const imports = start?.imports ?? [];
  if (start !== undefined) {
    bytes.push(...section(1, types));
    const imp = [...leb(imports.length)];
    for (const i of imports) imp.push(...name("wasi_snapshot_preview1"), ...name(i.name), 0x00, i.type);
    bytes.push(...section(2, imp));
    bytes.push(...section(3, [0x01, 0x00]));
  }
  bytes.push(...section(5, [0x01, 0x00, ...leb(pages)]));
  const exports = [...name("memory"), 0x02, 0x00];
  if (start !== undefined) exports.push(...name("_start"), 0x00, ...leb(imports.length));
  bytes.push(...section(7, [start !== undefined ? 2 : 1, ...exports]));
  if (start !== undefined) {
    const body = [0x00, ...start.code, 0x0b];
    bytes.push(...section(10, [0x01, ...leb(body.length), ...body]));
  }
  return Uint8Array.from(bytes);
}

export function instantiate(bytes: Uint8Array, wasi: Wasi): WasmInstance {
  return new wasm.Instance(new wasm.Module(bytes), wasi.getImportObject());
}

export interface HarnessOptions extends Omit<WasiOptions, "stdin" | "stdout" | "stderr"> {
  stdinText?: string;
  pages?: number;
}

/** A Wasi with a bound memory, driven by calling its imports directly. */
export class Harness {
  readonly wasi: Wasi;
  readonly imp: WasiImports;
  readonly memory: WasmMemory;
  readonly dir: string;
  private readonly hostFds: number[];
  private next = 1024;

  constructor(o: HarnessOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "twine-wasi-"));
    fs.writeFileSync(path.join(this.dir, "stdin"), o.stdinText ?? "");
    this.hostFds = [
      fs.openSync(path.join(this.dir, "stdin"), "r"),
      fs.openSync(path.join(this.dir, "stdout"), "w"),
      fs.openSync(path.join(this.dir, "stderr"), "w"),
    ];
    const [stdin, stdout, stderr] = this.hostFds as [number, number, number];
    const { stdinText: _s, pages, ...rest } = o;
    this.wasi = new Wasi({ ...rest, stdin, stdout, stderr });
    this.imp = this.wasi.wasiImport;
    const instance = instantiate(buildModule(pages ?? 2), this.wasi);
    this.wasi.initialize(instance);
    this.memory = instance.exports.memory as WasmMemory;
  }

  get u8(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  get view(): DataView {
    return new DataView(this.memory.buffer);
  }

  /** A fresh, zeroed, 8-aligned guest buffer. */
  alloc(n: number): number {
    const p = this.next;
    this.next = (this.next + n + 7) & ~7;
    if (this.next > this.memory.buffer.byteLength) throw new Error("test heap exhausted");
    this.u8.fill(0, p, p + n);
    return p;
  }

  /** Copies bytes (or a UTF-8 string) into guest memory: [ptr, len]. */
  put(data: string | Uint8Array): [number, number] {
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    const p = this.alloc(b.byteLength);
    this.u8.set(b, p);
    return [p, b.byteLength];
  }

  /** An iovec array over the given buffers: [iovsPtr, count]. */
  iovecs(bufs: [number, number][]): [number, number] {
    const p = this.alloc(bufs.length * IOVEC.size);
    bufs.forEach(([ptr, len], i) => {
      this.view.setUint32(p + i * IOVEC.size, ptr, true);
      this.view.setUint32(p + i * IOVEC.size + 4, len, true);
    });
    return [p, bufs.length];
  }

  u32(ptr: number): number {
    return this.view.getUint32(ptr, true);
  }

  u64(ptr: number): bigint {
    return this.view.getBigUint64(ptr, true);
  }

  text(ptr: number, len: number): string {
    return Buffer.from(this.u8.subarray(ptr, ptr + len)).toString("utf8");
  }

  stdout(): string {
    return fs.readFileSync(path.join(this.dir, "stdout"), "utf8");
  }

  /** Writes `data` to fd with fd_write; returns [errno, nwritten]. */
  write(fd: number, data: string | Uint8Array): [number, number] {
    const [iovs, n] = this.iovecs([this.put(data)]);
    const out = this.alloc(4);
    const errno = this.imp.fd_write(fd, iovs, n, out);
    return [errno, this.u32(out)];
  }

  /** Reads up to `max` bytes with fd_read; returns [errno, text]. */
  read(fd: number, max: number): [number, string] {
    const buf = this.alloc(max);
    const [iovs, n] = this.iovecs([[buf, max]]);
    const out = this.alloc(4);
    const errno = this.imp.fd_read(fd, iovs, n, out);
    return [errno, this.text(buf, this.u32(out))];
  }

  /** path_open relative to dirfd; returns [errno, fd]. */
  open(
    dirfd: number,
    p: string,
    o: { oflags?: number; base: bigint; inheriting?: bigint; fdflags?: number; follow?: boolean },
  ): [number, number] {
    const [ptr, len] = this.put(p);
    const out = this.alloc(4);
    const errno = this.imp.path_open(
      dirfd,
      o.follow === false ? 0 : 1,
      ptr,
      len,
      o.oflags ?? 0,
      o.base,
      o.inheriting ?? 0n,
      o.fdflags ?? 0,
      out,
    );
    return [errno, this.u32(out)];
  }

  /** Calls a path_* import of the shape (fd, path, path_len). */
  pathCall(f: (fd: number, ptr: number, len: number) => number, fd: number, p: string): number {
    const [ptr, len] = this.put(p);
    return f(fd, ptr, len);
  }

  close(): void {
    this.wasi.close();
    for (const fd of this.hostFds) fs.closeSync(fd);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Harness with one mount preopened as fd 3 at guest path "/sandbox". */
export function withMount(mount: Mount, o: HarnessOptions = {}): Harness {
  return new Harness({ ...o, mounts: [{ guestPath: "/sandbox", mount }] });
}
