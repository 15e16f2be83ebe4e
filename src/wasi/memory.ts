// A bounds-checked view of the guest's linear memory. Every pointer and length the guest passes goes
// through here before any byte is touched: an out-of-range one is `wasi.fault` (errno FAULT for the
// guest), never a host exception and never a read beyond the guest's own memory. Pointers arrive as
// i32 (possibly negative in JS) and are read as u32; sums are done in doubles, which hold any sum of
// two u32 exactly, so `ptr + len` cannot wrap.
import { TwineError, wasiError } from "../errors.js";
import { IOVEC } from "./constants.js";
import type { WasmMemory } from "./wasm-types.js";

/** POSIX IOV_MAX (Linux UIO_MAXIOV): more iovecs than this in one call is INVAL, as on Linux. */
export const IOV_MAX = 1024;
/** Longest path accepted from the guest, in bytes (Linux PATH_MAX). */
export const PATH_MAX = 4096;

const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function fault(): TwineError {
  return wasiError("FAULT", "pointer or length outside guest memory");
}

export class GuestMemory {
  private memory: WasmMemory | undefined;
  private u8: Uint8Array = EMPTY;
  private view: DataView = new DataView(new ArrayBuffer(0));

  /** Binds the view to the instance's exported memory; until then every access faults. */
  attach(memory: WasmMemory): void {
    this.memory = memory;
    this.reload();
  }

  private reload(): void {
    if (this.memory === undefined) return;
    const buffer = this.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.view = new DataView(buffer);
  }

  /**
   * The current bytes. `memory.grow` detaches the old ArrayBuffer, which makes views over it report
   * length 0: that is the (cheap) signal to re-read `memory.buffer`.
   */
  private current(): Uint8Array {
    if (this.u8.byteLength === 0) this.reload();
    return this.u8;
  }

  get byteLength(): number {
    return this.current().byteLength;
  }

  /** Throws FAULT unless [ptr, ptr + len) lies inside memory (both as the guest's u32). */
  check(ptr: number, len: number): void {
    if ((ptr >>> 0) + (len >>> 0) > this.current().byteLength) throw fault();
  }

  /**
   * Throws FAULT unless an array of `count` elements of `size` bytes at ptr lies inside memory. The
   * product is computed in doubles (exact below 2^53), never truncated back to 32 bits.
   */
  checkArray(ptr: number, count: number, size: number): void {
    if ((ptr >>> 0) + (count >>> 0) * size > this.current().byteLength) throw fault();
  }

  /** A view (not a copy) of [ptr, ptr + len). */
  bytes(ptr: number, len: number): Uint8Array {
    const p = ptr >>> 0;
    const end = p + (len >>> 0);
    const u8 = this.current();
    if (end > u8.byteLength) throw fault();
    return u8.subarray(p, end);
  }

  private dv(ptr: number, size: number): DataView {
    this.check(ptr, size);
    return this.view;
  }

  u8At(ptr: number): number {
    return this.dv(ptr, 1).getUint8(ptr >>> 0);
  }
  u16At(ptr: number): number {
    return this.dv(ptr, 2).getUint16(ptr >>> 0, true);
  }
  u32At(ptr: number): number {
    return this.dv(ptr, 4).getUint32(ptr >>> 0, true);
  }
  u64At(ptr: number): bigint {
    return this.dv(ptr, 8).getBigUint64(ptr >>> 0, true);
  }
  setU8(ptr: number, v: number): void {
    this.dv(ptr, 1).setUint8(ptr >>> 0, v);
  }
  setU16(ptr: number, v: number): void {
    this.dv(ptr, 2).setUint16(ptr >>> 0, v, true);
  }
  setU32(ptr: number, v: number): void {
    this.dv(ptr, 4).setUint32(ptr >>> 0, v, true);
  }
  setU64(ptr: number, v: bigint): void {
    this.dv(ptr, 8).setBigUint64(ptr >>> 0, v, true);
  }

  /** Copies `src` into guest memory at ptr (all of it, or FAULT before writing anything). */
  write(ptr: number, src: Uint8Array): void {
    this.bytes(ptr, src.byteLength).set(src);
  }

  /**
   * A string from the guest: UTF-8, strictly decoded (invalid → ILSEQ), at most `max` bytes
   * (longer → NAMETOOLONG).
   */
  string(ptr: number, len: number, max: number = PATH_MAX): string {
    const bytes = this.bytes(ptr, len);
    if (bytes.byteLength > max) throw wasiError("NAMETOOLONG", "string from the guest is too long");
    try {
      return decoder.decode(bytes);
    } catch (e) {
      throw new TwineError("wasi.ilseq", "string from the guest is not valid UTF-8", { cause: e });
    }
  }

  /**
   * Validates an iovec array before any I/O: the array itself lies in memory (checked as
   * `count * 8` bytes before anything else is done with `count`), holds at most IOV_MAX entries,
   * and every buffer it points to lies in memory. Returns the number of entries.
   */
  checkIovecs(ptr: number, count: number): number {
    const n = count >>> 0;
    this.checkArray(ptr, n, IOVEC.size);
    if (n > IOV_MAX) throw wasiError("INVAL", "more than IOV_MAX iovecs");
    const view = this.view;
    const limit = this.u8.byteLength;
    let at = ptr >>> 0;
    for (let i = 0; i < n; i++, at += IOVEC.size) {
      const buf = view.getUint32(at + IOVEC.buf.offset, true);
      const len = view.getUint32(at + IOVEC.buf_len.offset, true);
      if (buf + len > limit) throw fault();
    }
    return n;
  }

  /** Entry `index` of an iovec array already validated by checkIovecs, as a view. */
  iovec(ptr: number, index: number): Uint8Array {
    const at = (ptr >>> 0) + index * IOVEC.size;
    const view = this.view;
    const buf = view.getUint32(at + IOVEC.buf.offset, true);
    const len = view.getUint32(at + IOVEC.buf_len.offset, true);
    return this.u8.subarray(buf, buf + len);
  }
}

/** A u64 argument: Wasm i64 arrives as a signed BigInt, so values ≥ 2^63 must be reinterpreted. */
export function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}
