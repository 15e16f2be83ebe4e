// The guest's stdin/stdout/stderr (or any inherited host fd) as a stream. It writes straight to the
// fd with fs.writeSync, so it works from a worker thread on the process's real fd 1. Node makes pipes
// of stdio non-blocking, so EAGAIN is expected: we sleep ~1 ms with Atomics.wait and retry, which
// keeps the synchronous WASI call synchronous without spinning a core.
import * as fs from "node:fs";
import { wasiError } from "../errors.js";
import { fromHostError, hostErrorCode } from "./host-errno.js";
import { filestatOf } from "./host.js";
import { FILETYPE, type FileHandle, type Filestat, type Filetype, type TimeSpec } from "./types.js";

const RETRY_SLEEP_MS = 1;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function sleepBriefly(): void {
  Atomics.wait(sleepCell, 0, 0, RETRY_SLEEP_MS);
}

function isAgain(e: unknown): boolean {
  const code = hostErrorCode(e);
  return code === "EAGAIN" || code === "EWOULDBLOCK";
}

/** witx filetype of a host fd: CHARACTER_DEVICE for a terminal, UNKNOWN for pipes and sockets. */
export function stdioFiletype(fd: number): Filetype {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    throw fromHostError(e, "stdio fstat");
  }
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  // Terminals (what tty.isatty tests for) and devices such as /dev/null.
  if (st.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  return FILETYPE.UNKNOWN;
}

/**
 * A host fd the guest may read or write as a stream. The fd belongs to the process, not to this
 * handle: close() only ends the guest's use of it, so the runtime's own fd 1 stays open. Metadata
 * changes (size, times) are refused: the operator's stdio is not the guest's file.
 */
export class StdioHandle implements FileHandle {
  readonly filetype: Filetype;
  readonly seekable = false;
  private closed = false;
  private written = 0;

  /**
   * `limitBytes`: most bytes passed on to the fd; the rest are dropped, as a full log drops them, and
   * the guest is told they were written so it runs on (a server capturing output into host files must
   * not let a guest fill the disk before its timeout).
   */
  constructor(
    private readonly fd: number,
    private readonly limitBytes: number = Infinity,
  ) {
    this.filetype = stdioFiletype(fd);
  }

  /** Reads what is available (waiting for at least one byte); 0 at end of input. */
  pread(buf: Uint8Array, _position: bigint): number {
    this.check();
    if (buf.length === 0) return 0;
    for (;;) {
      try {
        return fs.readSync(this.fd, buf, 0, buf.length, null);
      } catch (e) {
        if (isAgain(e)) {
          sleepBriefly();
          continue;
        }
        throw fromHostError(e, "stdio read");
      }
    }
  }

  /** Writes all of buf, however many partial writes and EAGAINs it takes. */
  pwrite(buf: Uint8Array, _position: bigint): number {
    this.check();
    const passed = Math.min(buf.length, Math.max(0, this.limitBytes - this.written));
    this.written += passed;
    this.writeAll(buf.subarray(0, passed));
    return buf.length;
  }

  private writeAll(buf: Uint8Array): void {
    let done = 0;
    while (done < buf.length) {
      try {
        done += fs.writeSync(this.fd, buf, done, buf.length - done, null);
      } catch (e) {
        if (!isAgain(e)) throw fromHostError(e, "stdio write");
        sleepBriefly();
      }
    }
  }

  /** A stream has no end offset: this writes and returns the number of bytes written. */
  append(buf: Uint8Array): bigint {
    return BigInt(this.pwrite(buf, 0n));
  }

  stat(): Filestat {
    this.check();
    try {
      return filestatOf(fs.fstatSync(this.fd, { bigint: true }), this.filetype);
    } catch (e) {
      throw fromHostError(e, "stdio fstat");
    }
  }

  setSize(_size: bigint): void {
    this.check();
    throw wasiError("INVAL", "cannot resize a stdio stream");
  }

  allocate(_offset: bigint, _len: bigint): void {
    this.check();
    throw wasiError("SPIPE", "cannot allocate on a stdio stream");
  }

  setTimes(_atim: TimeSpec, _mtim: TimeSpec): void {
    this.check();
    throw wasiError("PERM", "cannot change the times of a stdio stream");
  }

  /** Terminals and pipes have nothing to flush (fsync says EINVAL); a file is flushed. */
  sync(dataOnly: boolean): void {
    this.check();
    try {
      if (dataOnly) fs.fdatasyncSync(this.fd);
      else fs.fsyncSync(this.fd);
    } catch (e) {
      if (hostErrorCode(e) !== "EINVAL") throw fromHostError(e, "stdio sync");
    }
  }

  close(): void {
    this.check();
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw wasiError("BADF");
  }
}
