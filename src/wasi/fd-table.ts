// The rights-checked fd table. `get(fd, rights)` is the one place that answers BADF (no such fd) or
// NOTCAPABLE (the fd lacks a right), so no import can forget either check.
import { TwineError, wasiError } from "../errors.js";
import type { DirEntry as VfsDirEntry, FileHandle, Mount } from "../vfs/types.js";

/** A cached listing for fd_readdir, so cookies keep pointing at the same entries between calls. */
export interface DirListing {
  readonly entries: readonly VfsDirEntry[];
  /** UTF-8 names, encoded once per listing. */
  readonly names: readonly Uint8Array[];
}

interface Rights {
  rightsBase: bigint;
  rightsInheriting: bigint;
  fdflags: number;
}

/** An open regular file, character device or stream (stdio is one of these, not seekable). */
export interface FileEntry extends Rights {
  readonly kind: "file";
  readonly handle: FileHandle;
  /** The file offset; unused when the handle is not seekable. */
  position: bigint;
}

/** An open directory: a mount and the components of its path under the mount root. */
export interface DirEntry extends Rights {
  readonly kind: "dir";
  readonly mount: Mount;
  readonly path: readonly string[];
  /** Set on a preopen: the guest path it was given under (fd_prestat_dir_name). */
  readonly preopen: string | undefined;
  listing: DirListing | undefined;
}

export type FdEntry = FileEntry | DirEntry;

export const DEFAULT_MAX_OPEN_FDS = 1024;

// Pre-built, because creating an Error captures a stack (microseconds) and these answer the
// per-call checks of every import. They never leave the WASI layer: each becomes an errno.
const BADF: TwineError = Object.freeze(wasiError("BADF", "bad file descriptor"));
const NOTCAPABLE: TwineError = Object.freeze(wasiError("NOTCAPABLE", "fd lacks a right"));
const ISDIR: TwineError = Object.freeze(wasiError("ISDIR", "fd is a directory"));
const NOTDIR: TwineError = Object.freeze(wasiError("NOTDIR", "fd is not a directory"));

export class FdTable {
  private readonly entries: (FdEntry | undefined)[] = [];
  private open = 0;

  constructor(readonly maxOpenFds: number = DEFAULT_MAX_OPEN_FDS) {}

  /**
   * The entry for fd, which must hold every right in `required`. Unknown or closed fd → BADF;
   * a missing right → NOTCAPABLE.
   */
  get(fd: number, required: bigint): FdEntry {
    const e = this.lookup(fd);
    if ((e.rightsBase & required) !== required) throw NOTCAPABLE;
    return e;
  }

  /** As get, for data operations: a directory fd is ISDIR (as read(2) on a directory). */
  getFile(fd: number, required: bigint): FileEntry {
    const e = this.lookup(fd);
    if (e.kind !== "file") throw ISDIR;
    if ((e.rightsBase & required) !== required) throw NOTCAPABLE;
    return e;
  }

  /** As get, for path operations: the fd must be a directory (NOTDIR otherwise). */
  getDir(fd: number, required: bigint): DirEntry {
    const e = this.lookup(fd);
    if (e.kind !== "dir") throw NOTDIR;
    if ((e.rightsBase & required) !== required) throw NOTCAPABLE;
    return e;
  }

  private lookup(fd: number): FdEntry {
    const e = this.entries[fd >>> 0];
    if (e === undefined) throw BADF;
    return e;
  }

  /** Fails with `run.fd_limit` (MFILE) when no fd is free: checked before opening, as Linux does. */
  checkRoom(): void {
    if (this.open >= this.maxOpenFds) throw new TwineError("run.fd_limit", "too many open files");
  }

  /** Lowest free fd, as POSIX open does. */
  insert(entry: FdEntry): number {
    this.checkRoom();
    let fd = this.entries.indexOf(undefined);
    if (fd < 0) fd = this.entries.length;
    this.entries[fd] = entry;
    this.open += 1;
    return fd;
  }

  /**
   * fd_close: removes fd from the table (BADF if not open) and returns its entry for the caller to
   * close. A preopen is NOTSUP, as in wasmtime and for the reason renumber() gives.
   */
  remove(fd: number): FdEntry {
    const e = this.get(fd, 0n);
    if (e.kind === "dir" && e.preopen !== undefined)
      throw wasiError("NOTSUP", "a preopened directory stays open");
    this.entries[fd >>> 0] = undefined;
    this.open -= 1;
    this.trim();
    return e;
  }

  /**
   * fd_renumber: moves `from` onto `to`, returning the entry `to` held (for the caller to close).
   * Both must be open (BADF otherwise; `to` must not be a never-opened number). A preopen on either
   * side is NOTSUP: a preopen is a capability root, and letting the guest replace one (or move one
   * to a number libc does not scan) would change which directories its own path lookups reach.
   */
  renumber(from: number, to: number): FdEntry | undefined {
    const src = this.get(from, 0n);
    const dst = this.get(to, 0n);
    if (
      (src.kind === "dir" && src.preopen !== undefined) ||
      (dst.kind === "dir" && dst.preopen !== undefined)
    ) {
      throw wasiError("NOTSUP", "a preopened directory cannot be renumbered");
    }
    if (from >>> 0 === to >>> 0) return undefined;
    this.entries[to >>> 0] = src;
    this.entries[from >>> 0] = undefined;
    this.open -= 1;
    this.trim();
    return dst;
  }

  /** Removes every entry and returns them (for close()). */
  drain(): FdEntry[] {
    const all = this.entries.filter((e): e is FdEntry => e !== undefined);
    this.entries.length = 0;
    this.open = 0;
    return all;
  }

  private trim(): void {
    while (this.entries.length > 0 && this.entries[this.entries.length - 1] === undefined) this.entries.pop();
  }
}
