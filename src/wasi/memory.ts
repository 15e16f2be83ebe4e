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

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Pre-built, because creating an Error captures a stack (microseconds): a guest probing with bad
 * pointers must not make every call that slow. It never leaves the WASI layer (it becomes errno FAULT).
 */
const FAULT: TwineError = Object.freeze(wasiError("FAULT", "pointer or length outside guest memory"));

export class GuestMemory {
  private memory: WasmMemory | undefined;
  private buffer = new ArrayBuffer(0);
  private u8 = new Uint8Array(0);
  private view = new DataView(this.buffer);

  /** Binds the view to the instance's exported memory; until then every access faults. */
  attach(memory: WasmMemory): void {
    this.memory = memory;
    this.reload();
  }

  private reload(): void {
    if (this.memory === undefined) return;
    this.buffer = this.memory.buffer;
    this.u8 = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  /**
   * Current size in bytes. `memory.grow` detaches the old ArrayBuffer, whose length then reads 0:
   * that is the (cheap) signal to re-read `memory.buffer`.
   */
  get byteLength(): number {
    if (this.buffer.byteLength === 0) this.reload();
    return this.buffer.byteLength;
  }

  /** Throws FAULT unless [ptr, ptr + len) lies inside memory (both as the guest's u32). */
  check(ptr: number, len: number): void {
    if ((ptr >>> 0) + (len >>> 0) > this.byteLength) throw FAULT;
  }

  /**
   * Throws FAULT unless an array of `count` elements of `size` bytes at ptr lies inside memory. The
   * product is computed in doubles (exact below 2^53), never truncated back to 32 bits.
   */
  checkArray(ptr: number, count: number, size: number): void {
    if ((ptr >>> 0) + (count >>> 0) * size > this.byteLength) throw FAULT;
  }

  /** A view (not a copy) of [ptr, ptr + len). */
  bytes(ptr: number, len: number): Uint8Array {
    const p = ptr >>> 0;
    const n = len >>> 0;
    if (p + n > this.byteLength) throw FAULT;
    // Faster than subarray(), which looks up a species constructor.
    return new Uint8Array(this.buffer, p, n);
  }

  /** The DataView, once [ptr, ptr + size) is known to be inside memory. */
  private at(ptr: number, size: number): DataView {
    if ((ptr >>> 0) + size > this.byteLength) throw FAULT;
    return this.view;
  }

  u8At(ptr: number): number {
    return this.at(ptr, 1).getUint8(ptr >>> 0);
  }
  u16At(ptr: number): number {
    return this.at(ptr, 2).getUint16(ptr >>> 0, true);
  }
  u32At(ptr: number): number {
    return this.at(ptr, 4).getUint32(ptr >>> 0, true);
  }
  u64At(ptr: number): bigint {
    return this.at(ptr, 8).getBigUint64(ptr >>> 0, true);
  }
  setU8(ptr: number, v: number): void {
    this.at(ptr, 1).setUint8(ptr >>> 0, v);
  }
  setU16(ptr: number, v: number): void {
    this.at(ptr, 2).setUint16(ptr >>> 0, v, true);
  }
  setU32(ptr: number, v: number): void {
    this.at(ptr, 4).setUint32(ptr >>> 0, v, true);
  }
  setU64(ptr: number, v: bigint): void {
    this.at(ptr, 8).setBigUint64(ptr >>> 0, v, true);
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
    const limit = this.buffer.byteLength;
    let at = ptr >>> 0;
    for (let i = 0; i < n; i++, at += IOVEC.size) {
      const buf = view.getUint32(at + IOVEC.buf.offset, true);
      const len = view.getUint32(at + IOVEC.buf_len.offset, true);
      if (buf + len > limit) throw FAULT;
    }
    return n;
  }

  /** Entry `index` of an iovec array already validated by checkIovecs, as a view. */
  iovec(ptr: number, index: number): Uint8Array {
    const at = (ptr >>> 0) + index * IOVEC.size;
    const view = this.view;
    return new Uint8Array(
      this.buffer,
      view.getUint32(at + IOVEC.buf.offset, true),
      view.getUint32(at + IOVEC.buf_len.offset, true),
    );
  }
}

/** A u64 argument: Wasm i64 arrives as a signed BigInt, so values ≥ 2^63 must be reinterpreted. */
export function u64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}
