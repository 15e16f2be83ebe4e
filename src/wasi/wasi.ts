// Our own wasi_snapshot_preview1 host. Every import is a thin body: decode the arguments, look the fd
// up with the rights the call needs (fd-table.ts), call the mount or handle, encode the result into
// guest memory (memory.ts, bounds-checked), and return an errno or throw. `guard` turns whatever a
// body throws into an errno in one place: nothing thrown by a mount, a handle or a bug reaches the
// guest as an exception, unknown errors become IO. Only proc_exit and proc_raise, which are not
// guarded, throw on purpose, to unwind the guest.
import { randomFillSync } from "node:crypto";
import { ERRNO, TwineError, errnoOf, isTwineError, wasiError } from "../errors.js";
import { resolvePath, type ResolvedPath } from "../vfs/resolve.js";
import { StdioHandle } from "../vfs/stdio.js";
import {
  FILETYPE,
  type FileHandle,
  type Filestat,
  type Mount,
  type OpenOptions,
  type TimeSpec,
} from "../vfs/types.js";
import { clockNow, clockRes } from "./clocks.js";
import {
  ADVICE_NOREUSE,
  FDFLAGS_ALL,
  FDFLAGS_APPEND,
  FDFLAGS_DSYNC,
  FDFLAGS_SYNC,
  FDSTAT,
  FILESTAT,
  FSTFLAGS_ALL,
  FSTFLAGS_ATIM,
  FSTFLAGS_ATIM_NOW,
  FSTFLAGS_MTIM,
  FSTFLAGS_MTIM_NOW,
  LOOKUPFLAGS_SYMLINK_FOLLOW,
  PREOPENTYPE_DIR,
  PRESTAT,
  RIGHTS_DIR_BASE,
  RIGHTS_DIR_INHERITING,
  RIGHTS_FD_ADVISE,
  RIGHTS_FD_ALLOCATE,
  RIGHTS_FD_DATASYNC,
  RIGHTS_FD_FDSTAT_SET_FLAGS,
  RIGHTS_FD_FILESTAT_GET,
  RIGHTS_FD_FILESTAT_SET_SIZE,
  RIGHTS_FD_FILESTAT_SET_TIMES,
  RIGHTS_FD_READ,
  RIGHTS_FD_READDIR,
  RIGHTS_FD_SEEK,
  RIGHTS_FD_SYNC,
  RIGHTS_FD_TELL,
  RIGHTS_FD_WRITE,
  RIGHTS_FILE_BASE,
  RIGHTS_PATH_CREATE_DIRECTORY,
  RIGHTS_PATH_FILESTAT_GET,
  RIGHTS_PATH_FILESTAT_SET_TIMES,
  RIGHTS_PATH_LINK_SOURCE,
  RIGHTS_PATH_LINK_TARGET,
  RIGHTS_PATH_READLINK,
  RIGHTS_PATH_REMOVE_DIRECTORY,
  RIGHTS_PATH_RENAME_SOURCE,
  RIGHTS_PATH_RENAME_TARGET,
  RIGHTS_PATH_SYMLINK,
  RIGHTS_PATH_UNLINK_FILE,
  RIGHTS_POLL_FD_READWRITE,
  SIGNAL,
  WHENCE_CUR,
  WHENCE_END,
  WHENCE_SET,
} from "./constants.js";
import { DEFAULT_MAX_OPEN_FDS, FdTable, type DirEntry, type FdEntry, type FileEntry } from "./fd-table.js";
import { GuestMemory, u64 } from "./memory.js";
import { openAccess } from "./open-flags.js";
import { pollOneoff } from "./poll.js";
import { fillDirents, listDirectory } from "./readdir.js";
import { StringList } from "./string-list.js";
import { wasm, type WasmInstance } from "./wasm-types.js";

export interface WasiOptions {
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Each becomes a preopened directory, fd 3, 4, … in this order. */
  mounts?: readonly { guestPath: string; mount: Mount }[];
  /** Host fds for the guest's fd 0, 1, 2 (default 0, 1, 2). */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  /** Most bytes passed on to stdout and to stderr each; the rest are dropped (default: no limit). */
  outputLimitBytes?: number;
  /** Most fds open at once, stdio and preopens included (default 1024). */
  maxOpenFds?: number;
}

/** Largest file offset or size (off_t is signed 64-bit). */
const MAX_FILESIZE = (1n << 63n) - 1n;
/**
 * Most bytes one fd_read/fd_write/fd_pread/fd_pwrite moves. More is a short transfer, which POSIX
 * allows and libc loops over; it bounds the work one call can ask of the host.
 */
export const MAX_IO_BYTES = 64 * 1024 * 1024;
/** crypto.getRandomValues' per-call quota; randomFillSync has none, but chunking keeps calls short. */
const RANDOM_CHUNK = 65536;

const RIGHTS_STDIN =
  RIGHTS_FD_READ | RIGHTS_FD_FDSTAT_SET_FLAGS | RIGHTS_FD_FILESTAT_GET | RIGHTS_POLL_FD_READWRITE;
const RIGHTS_STDOUT =
  RIGHTS_FD_WRITE |
  RIGHTS_FD_DATASYNC |
  RIGHTS_FD_SYNC |
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_POLL_FD_READWRITE;

/** Thrown by proc_exit and terminating proc_raise to unwind the guest; caught only by start(). */
class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`guest exited with ${code}`);
  }
}

const utf8 = new TextEncoder();

/** Signals whose default action is to ignore (CHLD, URG, WINCH), continue (CONT) or stop the process. */
const NON_TERMINATING = new Set<number>([
  SIGNAL.NONE,
  SIGNAL.CHLD,
  SIGNAL.CONT,
  SIGNAL.URG,
  SIGNAL.WINCH,
  SIGNAL.STOP,
  SIGNAL.TSTP,
  SIGNAL.TTIN,
  SIGNAL.TTOU,
]);

/** Linux's number for a WASI signal: the same up to SIGTERM, then one more (Linux has SIGSTKFLT 16). */
function linuxSignal(sig: number): number {
  return sig <= SIGNAL.TERM ? sig : sig + 1;
}

export class Wasi {
  readonly wasiImport: WasiImports;
  private readonly mem = new GuestMemory();
  private readonly fds: FdTable;
  private readonly mounts: readonly Mount[];
  private started = false;
  private closed = false;

  constructor(o: WasiOptions = {}) {
    const args = new StringList(o.args ?? []);
    const env = StringList.environ(o.env ?? {});
    this.fds = new FdTable(o.maxOpenFds ?? DEFAULT_MAX_OPEN_FDS);
    this.mounts = (o.mounts ?? []).map((m) => m.mount);
    const out = o.outputLimitBytes ?? Infinity;
    const stdio: [number, bigint, number][] = [
      [o.stdin ?? 0, RIGHTS_STDIN, Infinity],
      [o.stdout ?? 1, RIGHTS_STDOUT, out],
      [o.stderr ?? 2, RIGHTS_STDOUT, out],
    ];
    for (const [hostFd, rights, limit] of stdio) {
      this.fds.insert({
        kind: "file",
        handle: new StdioHandle(hostFd, limit),
        position: 0n,
        fdflags: 0,
        rightsBase: rights,
        rightsInheriting: 0n,
      });
    }
    for (const { guestPath, mount } of o.mounts ?? []) {
      if (guestPath === "" || guestPath.includes("\0")) {
        throw new TwineError("cli.usage", "a mount's guest path must be non-empty and without NUL");
      }
      this.fds.insert({
        kind: "dir",
        mount,
        path: [],
        preopen: guestPath,
        listing: undefined,
        fdflags: 0,
        rightsBase: RIGHTS_DIR_BASE,
        rightsInheriting: RIGHTS_DIR_INHERITING,
      });
    }
    this.wasiImport = createImports(this.mem, this.fds, args, env);
  }

  getImportObject(): { wasi_snapshot_preview1: WasiImports } {
    return { wasi_snapshot_preview1: this.wasiImport };
  }

  /**
   * Runs `_start` and returns the exit code: 0 if it returns, proc_exit's code, or 128 + the Linux
   * signal number for a terminating proc_raise. A trap becomes `run.trap`; a missing `memory` or
   * `_start` export is `module.link`.
   */
  start(instance: WasmInstance): number {
    const { memory, _start } = instance.exports;
    if (!(memory instanceof wasm.Memory)) throw new TwineError("module.link", "module exports no memory");
    if (typeof _start !== "function") throw new TwineError("module.link", "module exports no _start");
    if (this.started) throw new TwineError("run.already_started", "this Wasi instance already ran");
    this.started = true;
    this.mem.attach(memory);
    return this.run(_start as () => unknown);
  }

  /** Calls a guest export; returns 0, or the exit code if the guest exited. */
  private run(entry: () => unknown): number {
    try {
      entry();
      return 0;
    } catch (e) {
      if (e instanceof ProcExit) return e.code;
      // V8 reports Wasm stack exhaustion as a RangeError; to the guest it is a trap like any other.
      if (e instanceof wasm.RuntimeError || e instanceof RangeError) {
        throw new TwineError("run.trap", e.message, { cause: e });
      }
      throw e;
    }
  }

  /**
   * For a reactor module (no `_start`), as node:wasi's initialize(): binds its memory and runs its
   * `_initialize` export if it has one. Its exports can then be called, and the imports used, freely.
   */
  initialize(instance: WasmInstance): void {
    const { memory, _start, _initialize } = instance.exports;
    if (!(memory instanceof wasm.Memory)) throw new TwineError("module.link", "module exports no memory");
    if (_start !== undefined) throw new TwineError("module.link", "a command module is run with start()");
    if (_initialize !== undefined && typeof _initialize !== "function") {
      throw new TwineError("module.link", "_initialize is not a function");
    }
    if (this.started) throw new TwineError("run.already_started", "this Wasi instance already ran");
    this.started = true;
    this.mem.attach(memory);
    if (typeof _initialize === "function") this.run(_initialize as () => unknown);
  }

  /**
   * Closes every fd, then every mount (which commits a protected volume); all are attempted and the
   * first failure is rethrown. A second call does nothing: mounts are closed exactly once.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: Error | undefined;
    const attempt = (f: () => void): void => {
      try {
        f();
      } catch (e) {
        first ??= e instanceof Error ? e : new TwineError("internal", String(e));
      }
    };
    for (const e of this.fds.drain()) if (e.kind === "file") attempt(() => e.handle.close());
    for (const m of this.mounts) attempt(() => m.close());
    if (first !== undefined) throw first;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the imports.

function fileSpan(offset: bigint, what: string): bigint {
  if (offset > MAX_FILESIZE) throw wasiError("INVAL", `${what} beyond the largest file offset`);
  return offset;
}

function timeSpecs(atim: bigint, mtim: bigint, fstflags: number): [TimeSpec, TimeSpec] {
  if ((fstflags & ~FSTFLAGS_ALL) !== 0) throw wasiError("INVAL", "unknown fstflags");
  const spec = (value: bigint, set: number, now: number): TimeSpec => {
    if ((fstflags & set) !== 0 && (fstflags & now) !== 0) throw wasiError("INVAL", "both a time and NOW");
    if ((fstflags & now) !== 0) return { kind: "now" };
    if ((fstflags & set) !== 0) return { kind: "set", ns: u64(value) };
    return { kind: "omit" };
  };
  return [spec(atim, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW), spec(mtim, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW)];
}

function lookupFollows(flags: number): boolean {
  if ((flags & ~LOOKUPFLAGS_SYMLINK_FOLLOW) !== 0) throw wasiError("INVAL", "unknown lookupflags");
  return (flags & LOOKUPFLAGS_SYMLINK_FOLLOW) !== 0;
}

function lstatOrMissing(mount: Mount, path: readonly string[]): Filestat | undefined {
  try {
    return mount.lstat(path);
  } catch (e) {
    if (isTwineError(e, "wasi.noent")) return undefined;
    throw e;
  }
}

/** "a/b//" → "a/b": for calls that must act on a final symlink itself, not on what it names. */
function withoutTrailingSlashes(path: string): { path: string; trailing: boolean } {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  return { path: path.slice(0, end), trailing: end < path.length };
}

function lastComponent(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function writeFilestat(mem: GuestMemory, ptr: number, st: Filestat): void {
  mem.bytes(ptr, FILESTAT.size).fill(0);
  const p = ptr >>> 0;
  mem.setU64(p + FILESTAT.dev.offset, BigInt.asUintN(64, st.dev));
  mem.setU64(p + FILESTAT.ino.offset, BigInt.asUintN(64, st.ino));
  mem.setU8(p + FILESTAT.filetype.offset, st.filetype);
  mem.setU64(p + FILESTAT.nlink.offset, BigInt.asUintN(64, st.nlink));
  mem.setU64(p + FILESTAT.filesize.offset, BigInt.asUintN(64, st.size));
  mem.setU64(p + FILESTAT.atim.offset, BigInt.asUintN(64, st.atim));
  mem.setU64(p + FILESTAT.mtim.offset, BigInt.asUintN(64, st.mtim));
  mem.setU64(p + FILESTAT.ctim.offset, BigInt.asUintN(64, st.ctim));
}

/** Reads into the iovecs from `at` (or the fd's position when `at` is undefined); stops at a short read. */
function readv(mem: GuestMemory, f: FileEntry, iovs: number, n: number, at: bigint | undefined): number {
  const h = f.handle;
  const seekable = h.seekable;
  let pos = at ?? f.position;
  let total = 0;
  for (let i = 0; i < n && total < MAX_IO_BYTES; i++) {
    let buf = mem.iovec(iovs, i);
    if (buf.length > MAX_IO_BYTES - total) buf = buf.subarray(0, MAX_IO_BYTES - total);
    const r = h.pread(buf, pos);
    total += r;
    if (seekable) pos += BigInt(r);
    if (r < buf.length) break;
  }
  if (at === undefined && seekable) f.position = pos;
  return total;
}

/** Writes the iovecs at `at` (or at the fd's position, or at the end in append mode). */
function writev(mem: GuestMemory, f: FileEntry, iovs: number, n: number, at: bigint | undefined): number {
  const h = f.handle;
  const seekable = h.seekable;
  const append = at === undefined && seekable && (f.fdflags & FDFLAGS_APPEND) !== 0;
  let pos = at ?? f.position;
  let total = 0;
  for (let i = 0; i < n && total < MAX_IO_BYTES; i++) {
    let buf = mem.iovec(iovs, i);
    if (buf.length > MAX_IO_BYTES - total) buf = buf.subarray(0, MAX_IO_BYTES - total);
    if (append) {
      pos = h.append(buf);
      total += buf.length;
      continue;
    }
    const w = h.pwrite(buf, pos);
    total += w;
    if (seekable) pos += BigInt(w);
    if (w < buf.length) break;
  }
  if (at === undefined && seekable) f.position = pos;
  if ((f.fdflags & (FDFLAGS_DSYNC | FDFLAGS_SYNC)) !== 0) h.sync((f.fdflags & FDFLAGS_SYNC) === 0);
  return total;
}

/**
 * path_open's lookup and open. The final component is first opened as it is (mounts open as
 * O_NOFOLLOW); only if it may be a symlink (LOOP) and `follow` is asked is the path resolved again,
 * following it. The common case thus costs no host lookup of the final component before the open.
 * The mount applies the POSIX errnos: NOENT, EXIST for EXCL, LOOP for a final symlink, ISDIR for a
 * directory opened for writing, NOTDIR for O_DIRECTORY on a file.
 */
function openPath(
  dir: DirEntry,
  p: string,
  opts: OpenOptions,
  follow: boolean,
): { handle: FileHandle; path: string[] } {
  const open = (r: ResolvedPath): { handle: FileHandle; path: string[] } => {
    // "x/" names a directory: never create a file for it (Linux: EISDIR); a file there is NOTDIR.
    if (r.trailingSlash && opts.create) throw wasiError("ISDIR", "O_CREAT of a directory path");
    const handle = dir.mount.open(r.path, r.trailingSlash ? { ...opts, directory: true } : opts);
    return { handle, path: r.path };
  };
  try {
    return open(resolvePath(dir.mount, dir.path, p, false));
  } catch (e) {
    // Linux answers O_NOFOLLOW|O_DIRECTORY on a symlink with ENOTDIR rather than ELOOP.
    const maybeLink = isTwineError(e, "wasi.loop") || (opts.directory && isTwineError(e, "wasi.notdir"));
    if (!maybeLink) throw e;
    // Not following: a final symlink is ELOOP, or ENOTDIR under O_DIRECTORY, whichever the mount.
    if (!follow) throw opts.directory ? wasiError("NOTDIR", "final component is a symlink") : e;
  }
  return open(resolvePath(dir.mount, dir.path, p, true));
}

function closeEntry(e: FdEntry): void {
  if (e.kind === "file") e.handle.close();
}

/** The entry of a preopened directory; anything else is BADF (libc scans fds 3… until BADF). */
function preopenOf(fds: FdTable, fd: number): Uint8Array {
  const e = fds.get(fd, 0n);
  if (e.kind !== "dir" || e.preopen === undefined) throw wasiError("BADF", "not a preopened directory");
  return utf8.encode(e.preopen);
}

// ---------------------------------------------------------------------------------------------
// The imports. Argument names follow wasi_snapshot_preview1.witx; i32 pointers arrive as JS numbers
// (possibly negative: memory.ts reads them as u32), u64 as BigInt (signed: `u64()` reinterprets).

export type WasiImports = ReturnType<typeof createImports>;

/** An import's body: its arguments as Wasm passes them; an errno back (OK on success), or a throw. */
type Body = (...args: never[]) => number;
/** A body as the trampolines see it: they pass on exactly what Wasm passed. */
type Call = (...args: unknown[]) => number;

/**
 * The one errno boundary of this layer: whatever a body throws (a TwineError from the fd table, a
 * pointer check or a mount, or a bug) reaches the guest as `errnoOf(e)`, unknown errors as IO,
 * never as an exception.
 */
function attempt(body: Call, ...args: unknown[]): number {
  try {
    return body(...args);
  } catch (e) {
    return errnoOf(e);
  }
}

/**
 * One trampoline per arity, so that an import keeps its witx parameter count: V8 calls a JS import
 * whose count matches the Wasm signature directly, and adapts the arguments of any other (measurably
 * slower on the cheapest calls). Its `length` stays the witx arity too.
 */
const TRAMPOLINES: readonly ((body: Call) => Call)[] = [
  (body) => () => attempt(body),
  (body) => (a) => attempt(body, a),
  (body) => (a, b) => attempt(body, a, b),
  (body) => (a, b, c) => attempt(body, a, b, c),
  (body) => (a, b, c, d) => attempt(body, a, b, c, d),
  (body) => (a, b, c, d, e) => attempt(body, a, b, c, d, e),
  (body) => (a, b, c, d, e, f) => attempt(body, a, b, c, d, e, f),
  (body) => (a, b, c, d, e, f, g) => attempt(body, a, b, c, d, e, f, g),
  (body) => (a, b, c, d, e, f, g, h) => attempt(body, a, b, c, d, e, f, g, h),
  (body) => (a, b, c, d, e, f, g, h, i) => attempt(body, a, b, c, d, e, f, g, h, i),
];

/**
 * An import from its body. It costs one call (~5 ns): V8 shares the feedback of a closure literal
 * among all its closures, so it cannot inline 40 different bodies into one trampoline. proc_exit
 * and proc_raise are not guarded: their ProcExit must unwind the guest.
 */
function guard<F extends Body>(body: F): F {
  const trampoline = TRAMPOLINES[body.length];
  if (trampoline === undefined)
    throw new TwineError("internal", `no trampoline for ${body.length} parameters`);
  return trampoline(body as unknown as Call) as unknown as F;
}

function createImports(mem: GuestMemory, fds: FdTable, args: StringList, env: StringList) {
  const OK = ERRNO.SUCCESS;

  /** The directory fd and decoded path of a path_* call, in the order errors are reported. */
  const dirPath = (fd: number, rights: bigint, ptr: number, len: number): { dir: DirEntry; path: string } => {
    const dir = fds.getDir(fd, rights);
    return { dir, path: mem.string(ptr, len) };
  };

  // No socket is ever handed to the guest in this version, so every fd is either bad or not a socket.
  const notSocket = guard((fd: number): number => {
    fds.get(fd, 0n);
    return ERRNO.NOTSOCK;
  });

  // args_* and environ_* are the same two calls over two string lists.
  const listGet = (list: StringList) =>
    guard((pointers: number, buf: number): number => {
      list.get(mem, pointers, buf);
      return OK;
    });
  const listSizesGet = (list: StringList) =>
    guard((count: number, bufSize: number): number => {
      list.sizesGet(mem, count, bufSize);
      return OK;
    });

  // fd_sync and fd_datasync differ in the right they need and in what the file's sync may skip; on a
  // directory fd both commit its mount (pfs: a new volume root).
  const syncFd = (rights: bigint, dataOnly: boolean) =>
    guard((fd: number): number => {
      const e = fds.get(fd, rights);
      if (e.kind === "file") e.handle.sync(dataOnly);
      else e.mount.sync();
      return OK;
    });

  return {
    args_get: listGet(args),
    args_sizes_get: listSizesGet(args),
    environ_get: listGet(env),
    environ_sizes_get: listSizesGet(env),

    clock_res_get: guard((id: number, resolution: number): number => {
      const r = clockRes(id >>> 0);
      mem.setU64(resolution, r);
      return OK;
    }),

    clock_time_get: guard((id: number, _precision: bigint, time: number): number => {
      const t = clockNow(id >>> 0);
      mem.setU64(time, t);
      return OK;
    }),

    fd_advise: guard((fd: number, offset: bigint, len: bigint, advice: number): number => {
      const f = fds.getFile(fd, RIGHTS_FD_ADVISE);
      if (advice >>> 0 > ADVICE_NOREUSE) throw wasiError("INVAL", "unknown advice");
      fileSpan(u64(offset), "offset");
      fileSpan(u64(len), "length");
      if (!f.handle.seekable) throw wasiError("SPIPE");
      // Advice is only a hint; the mounts have no cache to tune.
      return OK;
    }),

    fd_allocate: guard((fd: number, offset: bigint, len: bigint): number => {
      const f = fds.getFile(fd, RIGHTS_FD_ALLOCATE);
      const off = u64(offset);
      const n = u64(len);
      if (n === 0n) throw wasiError("INVAL", "allocate of zero bytes");
      if (off + n > MAX_FILESIZE) throw wasiError("FBIG");
      if (!f.handle.seekable) throw wasiError("SPIPE");
      f.handle.allocate(off, n);
      return OK;
    }),

    fd_close: guard((fd: number): number => {
      closeEntry(fds.remove(fd));
      return OK;
    }),

    fd_datasync: syncFd(RIGHTS_FD_DATASYNC, true),

    fd_fdstat_get: guard((fd: number, stat: number): number => {
      const e = fds.get(fd, 0n);
      mem.bytes(stat, FDSTAT.size).fill(0);
      const p = stat >>> 0;
      mem.setU8(p + FDSTAT.fs_filetype.offset, e.kind === "file" ? e.handle.filetype : FILETYPE.DIRECTORY);
      mem.setU16(p + FDSTAT.fs_flags.offset, e.fdflags);
      mem.setU64(p + FDSTAT.fs_rights_base.offset, e.rightsBase);
      mem.setU64(p + FDSTAT.fs_rights_inheriting.offset, e.rightsInheriting);
      return OK;
    }),

    fd_fdstat_set_flags: guard((fd: number, flags: number): number => {
      const e = fds.get(fd, RIGHTS_FD_FDSTAT_SET_FLAGS);
      if ((flags & ~FDFLAGS_ALL) !== 0) throw wasiError("INVAL", "unknown fdflags");
      e.fdflags = flags & FDFLAGS_ALL;
      return OK;
    }),

    fd_fdstat_set_rights: guard(
      (fd: number, fs_rights_base: bigint, fs_rights_inheriting: bigint): number => {
        const e = fds.get(fd, 0n);
        const base = u64(fs_rights_base);
        const inheriting = u64(fs_rights_inheriting);
        // Rights can only ever be dropped: asking for one the fd lacks is NOTCAPABLE.
        if ((base & ~e.rightsBase) !== 0n || (inheriting & ~e.rightsInheriting) !== 0n) {
          throw wasiError("NOTCAPABLE", "fd_fdstat_set_rights cannot add rights");
        }
        e.rightsBase = base;
        e.rightsInheriting = inheriting;
        return OK;
      },
    ),

    fd_filestat_get: guard((fd: number, buf: number): number => {
      const e = fds.get(fd, RIGHTS_FD_FILESTAT_GET);
      mem.check(buf, FILESTAT.size);
      writeFilestat(mem, buf, e.kind === "file" ? e.handle.stat() : e.mount.lstat(e.path));
      return OK;
    }),

    fd_filestat_set_size: guard((fd: number, size: bigint): number => {
      const f = fds.getFile(fd, RIGHTS_FD_FILESTAT_SET_SIZE);
      f.handle.setSize(fileSpan(u64(size), "size"));
      return OK;
    }),

    fd_filestat_set_times: guard((fd: number, atim: bigint, mtim: bigint, fst_flags: number): number => {
      const e = fds.get(fd, RIGHTS_FD_FILESTAT_SET_TIMES);
      const [a, m] = timeSpecs(atim, mtim, fst_flags);
      if (e.kind === "file") e.handle.setTimes(a, m);
      else e.mount.setTimes(e.path, a, m);
      return OK;
    }),

    fd_pread: guard((fd: number, iovs: number, iovs_len: number, offset: bigint, nread: number): number => {
      const f = fds.getFile(fd, RIGHTS_FD_READ | RIGHTS_FD_SEEK);
      const n = mem.checkIovecs(iovs, iovs_len);
      mem.check(nread, 4);
      if (!f.handle.seekable) throw wasiError("SPIPE");
      mem.setU32(nread, readv(mem, f, iovs, n, fileSpan(u64(offset), "offset")));
      return OK;
    }),

    fd_prestat_get: guard((fd: number, buf: number): number => {
      const name = preopenOf(fds, fd);
      mem.bytes(buf, PRESTAT.size).fill(0);
      mem.setU8((buf >>> 0) + PRESTAT.tag.offset, PREOPENTYPE_DIR);
      mem.setU32((buf >>> 0) + PRESTAT.pr_name_len.offset, name.byteLength);
      return OK;
    }),

    fd_prestat_dir_name: guard((fd: number, path: number, path_len: number): number => {
      const name = preopenOf(fds, fd);
      const out = mem.bytes(path, path_len);
      if (out.byteLength < name.byteLength) throw wasiError("NAMETOOLONG", "buffer too small for the name");
      out.set(name);
      return OK;
    }),

    fd_pwrite: guard(
      (fd: number, iovs: number, iovs_len: number, offset: bigint, nwritten: number): number => {
        const f = fds.getFile(fd, RIGHTS_FD_WRITE | RIGHTS_FD_SEEK);
        const n = mem.checkIovecs(iovs, iovs_len);
        mem.check(nwritten, 4);
        if (!f.handle.seekable) throw wasiError("SPIPE");
        mem.setU32(nwritten, writev(mem, f, iovs, n, fileSpan(u64(offset), "offset")));
        return OK;
      },
    ),

    fd_read: guard((fd: number, iovs: number, iovs_len: number, nread: number): number => {
      const f = fds.getFile(fd, RIGHTS_FD_READ);
      const n = mem.checkIovecs(iovs, iovs_len);
      mem.check(nread, 4);
      mem.setU32(nread, readv(mem, f, iovs, n, undefined));
      return OK;
    }),

    fd_readdir: guard((fd: number, buf: number, buf_len: number, cookie: bigint, bufused: number): number => {
      const d = fds.getDir(fd, RIGHTS_FD_READDIR);
      const out = mem.bytes(buf, buf_len);
      mem.check(bufused, 4);
      const c = u64(cookie);
      // Cookie 0 (rewinddir) takes a fresh listing; later cookies index the one already taken.
      if (c === 0n || d.listing === undefined) d.listing = listDirectory(d.mount, d.path);
      mem.setU32(bufused, fillDirents(out, d.listing, c));
      return OK;
    }),

    fd_renumber: guard((fd: number, to: number): number => {
      const replaced = fds.renumber(fd, to);
      if (replaced !== undefined) closeEntry(replaced);
      return OK;
    }),

    fd_seek: guard((fd: number, offset: bigint, whence: number, newoffset: number): number => {
      // Per witx, FD_TELL alone allows the one seek that does not move: (0, CUR).
      const tellOnly = whence === WHENCE_CUR && offset === 0n;
      const f = fds.getFile(fd, tellOnly ? 0n : RIGHTS_FD_SEEK);
      if (tellOnly && (f.rightsBase & (RIGHTS_FD_SEEK | RIGHTS_FD_TELL)) === 0n) {
        throw wasiError("NOTCAPABLE", "fd lacks FD_SEEK and FD_TELL");
      }
      mem.check(newoffset, 8);
      if (!f.handle.seekable) throw wasiError("SPIPE");
      let base: bigint;
      switch (whence) {
        case WHENCE_SET:
          base = 0n;
          break;
        case WHENCE_CUR:
          base = f.position;
          break;
        case WHENCE_END:
          base = f.handle.stat().size;
          break;
        default:
          throw wasiError("INVAL", "unknown whence");
      }
      // `offset` is a signed filedelta: BigInt from an i64 is already signed.
      const pos = base + offset;
      if (pos < 0n || pos > MAX_FILESIZE) throw wasiError("INVAL", "seek outside the file offset range");
      f.position = pos;
      mem.setU64(newoffset, pos);
      return OK;
    }),

    fd_sync: syncFd(RIGHTS_FD_SYNC, false),

    fd_tell: guard((fd: number, offset: number): number => {
      const f = fds.getFile(fd, RIGHTS_FD_TELL);
      mem.check(offset, 8);
      if (!f.handle.seekable) throw wasiError("SPIPE");
      mem.setU64(offset, f.position);
      return OK;
    }),

    fd_write: guard((fd: number, iovs: number, iovs_len: number, nwritten: number): number => {
      const f = fds.getFile(fd, RIGHTS_FD_WRITE);
      const n = mem.checkIovecs(iovs, iovs_len);
      mem.check(nwritten, 4);
      mem.setU32(nwritten, writev(mem, f, iovs, n, undefined));
      return OK;
    }),

    path_create_directory: guard((fd: number, path: number, path_len: number): number => {
      const { dir, path: p } = dirPath(fd, RIGHTS_PATH_CREATE_DIRECTORY, path, path_len);
      const r = resolvePath(dir.mount, dir.path, p, false);
      // "." and "x/.." name the directory itself, which exists.
      if (r.path.length === dir.path.length) throw wasiError("EXIST");
      dir.mount.mkdir(r.path);
      return OK;
    }),

    path_filestat_get: guard(
      (fd: number, flags: number, path: number, path_len: number, buf: number): number => {
        const { dir, path: p } = dirPath(fd, RIGHTS_PATH_FILESTAT_GET, path, path_len);
        const follow = lookupFollows(flags);
        mem.check(buf, FILESTAT.size);
        // Look at the final component as is first: only a symlink needs the second, following pass
        // (saving a host lstat on every plain stat).
        let st = dir.mount.lstat(resolvePath(dir.mount, dir.path, p, false).path);
        if (follow && st.filetype === FILETYPE.SYMBOLIC_LINK) {
          st = dir.mount.lstat(resolvePath(dir.mount, dir.path, p, true).path);
        }
        writeFilestat(mem, buf, st);
        return OK;
      },
    ),

    path_filestat_set_times: guard(
      (
        fd: number,
        flags: number,
        path: number,
        path_len: number,
        atim: bigint,
        mtim: bigint,
        fst_flags: number,
      ): number => {
        const { dir, path: p } = dirPath(fd, RIGHTS_PATH_FILESTAT_SET_TIMES, path, path_len);
        const [a, m] = timeSpecs(atim, mtim, fst_flags);
        const r = resolvePath(dir.mount, dir.path, p, lookupFollows(flags));
        dir.mount.setTimes(r.path, a, m);
        return OK;
      },
    ),

    path_link: guard(
      (
        old_fd: number,
        old_flags: number,
        old_path: number,
        old_path_len: number,
        new_fd: number,
        new_path: number,
        new_path_len: number,
      ): number => {
        const src = dirPath(old_fd, RIGHTS_PATH_LINK_SOURCE, old_path, old_path_len);
        const dst = dirPath(new_fd, RIGHTS_PATH_LINK_TARGET, new_path, new_path_len);
        if (src.dir.mount !== dst.dir.mount) throw wasiError("XDEV", "link across mounts");
        const mount = src.dir.mount;
        const from = resolvePath(mount, src.dir.path, src.path, lookupFollows(old_flags));
        const st = mount.lstat(from.path);
        if (st.filetype === FILETYPE.DIRECTORY) throw wasiError("PERM", "hard link to a directory");
        const to = resolvePath(mount, dst.dir.path, dst.path, false);
        if (lstatOrMissing(mount, to.path) !== undefined) throw wasiError("EXIST");
        if (to.trailingSlash) throw wasiError("NOENT", "a new link cannot be a directory path");
        mount.link(from.path, to.path);
        return OK;
      },
    ),

    path_open: guard(
      (
        fd: number,
        dirflags: number,
        path: number,
        path_len: number,
        oflags: number,
        fs_rights_base: bigint,
        fs_rights_inheriting: bigint,
        fdflags: number,
        opened_fd: number,
      ): number => {
        const dir = fds.getDir(fd, 0n);
        const base = u64(fs_rights_base);
        const inheriting = u64(fs_rights_inheriting);
        const access = openAccess(oflags, fdflags, base, inheriting);
        if ((dir.rightsBase & access.dirRights) !== access.dirRights) {
          throw wasiError("NOTCAPABLE", "directory fd lacks a right path_open needs");
        }
        if ((dir.rightsInheriting & access.inheritedRights) !== access.inheritedRights) {
          throw wasiError("NOTCAPABLE", "requested rights exceed the directory's inheriting rights");
        }
        const p = mem.string(path, path_len);
        mem.check(opened_fd, 4);
        const opts = access.opts;
        // O_CREAT|O_EXCL never follows a final symlink: an existing link is EXIST, as POSIX says.
        const follow = lookupFollows(dirflags) && !opts.exclusive;
        fds.checkRoom();
        const { handle, path: opened } = openPath(dir, p, opts, follow);
        let newFd: number;
        if (handle.filetype === FILETYPE.DIRECTORY) {
          // Directory fds are path-based (the Mount interface lists and resolves by path).
          handle.close();
          newFd = fds.insert({
            kind: "dir",
            mount: dir.mount,
            path: opened,
            preopen: undefined,
            listing: undefined,
            fdflags: fdflags & FDFLAGS_ALL,
            rightsBase: base & RIGHTS_DIR_BASE,
            rightsInheriting: inheriting,
          });
        } else {
          // Cannot fail: checkRoom() made sure an fd is free.
          newFd = fds.insert({
            kind: "file",
            handle,
            position: 0n,
            fdflags: fdflags & FDFLAGS_ALL,
            rightsBase: base & RIGHTS_FILE_BASE,
            rightsInheriting: inheriting,
          });
        }
        mem.setU32(opened_fd, newFd);
        return OK;
      },
    ),

    path_readlink: guard(
      (fd: number, path: number, path_len: number, buf: number, buf_len: number, bufused: number): number => {
        const { dir, path: p } = dirPath(fd, RIGHTS_PATH_READLINK, path, path_len);
        const out = mem.bytes(buf, buf_len);
        mem.check(bufused, 4);
        const r = resolvePath(dir.mount, dir.path, p, false);
        if (dir.mount.lstat(r.path).filetype !== FILETYPE.SYMBOLIC_LINK) {
          throw wasiError("INVAL", "not a symbolic link");
        }
        const target = utf8.encode(dir.mount.readlink(r.path));
        // As readlink(2): a target longer than the buffer is silently truncated.
        const n = Math.min(target.byteLength, out.byteLength);
        out.set(target.subarray(0, n));
        mem.setU32(bufused, n);
        return OK;
      },
    ),

    path_remove_directory: guard((fd: number, path: number, path_len: number): number => {
      const { dir, path: raw } = dirPath(fd, RIGHTS_PATH_REMOVE_DIRECTORY, path, path_len);
      // A trailing slash must not make us follow a final symlink and remove its target.
      const { path: p } = withoutTrailingSlashes(raw);
      const last = lastComponent(p);
      if (last === ".") throw wasiError("INVAL", "cannot remove '.'");
      if (last === "..") throw wasiError("NOTEMPTY", "cannot remove '..'");
      const r = resolvePath(dir.mount, dir.path, p, false);
      const st = dir.mount.lstat(r.path);
      if (st.filetype !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
      dir.mount.rmdir(r.path);
      return OK;
    }),

    path_rename: guard(
      (
        fd: number,
        old_path: number,
        old_path_len: number,
        new_fd: number,
        new_path: number,
        new_path_len: number,
      ): number => {
        const src = dirPath(fd, RIGHTS_PATH_RENAME_SOURCE, old_path, old_path_len);
        const dst = dirPath(new_fd, RIGHTS_PATH_RENAME_TARGET, new_path, new_path_len);
        if (src.dir.mount !== dst.dir.mount) throw wasiError("XDEV", "rename across mounts");
        const mount = src.dir.mount;
        const from = withoutTrailingSlashes(src.path);
        const to = withoutTrailingSlashes(dst.path);
        for (const p of [from.path, to.path]) {
          const last = lastComponent(p);
          if (last === "." || last === "..") throw wasiError("INVAL", "cannot rename '.' or '..'");
        }
        const a = resolvePath(mount, src.dir.path, from.path, false);
        const b = resolvePath(mount, dst.dir.path, to.path, false);
        const st = mount.lstat(a.path);
        if ((from.trailing || to.trailing) && st.filetype !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
        mount.rename(a.path, b.path);
        return OK;
      },
    ),

    path_symlink: guard(
      (
        old_path: number,
        old_path_len: number,
        fd: number,
        new_path: number,
        new_path_len: number,
      ): number => {
        const dir = fds.getDir(fd, RIGHTS_PATH_SYMLINK);
        const target = mem.string(old_path, old_path_len);
        const p = mem.string(new_path, new_path_len);
        // The target is stored as given; the resolver refuses to follow absolute or escaping ones.
        if (target.includes("\0")) throw wasiError("INVAL", "symlink target contains NUL");
        if (target === "") throw wasiError("NOENT", "empty symlink target");
        const r = resolvePath(dir.mount, dir.path, p, false);
        if (lstatOrMissing(dir.mount, r.path) !== undefined) throw wasiError("EXIST");
        if (r.trailingSlash) throw wasiError("NOENT", "a new symlink cannot be a directory path");
        dir.mount.symlink(target, r.path);
        return OK;
      },
    ),

    path_unlink_file: guard((fd: number, path: number, path_len: number): number => {
      const { dir, path: raw } = dirPath(fd, RIGHTS_PATH_UNLINK_FILE, path, path_len);
      const { path: p, trailing } = withoutTrailingSlashes(raw);
      const r = resolvePath(dir.mount, dir.path, p, false);
      const st = dir.mount.lstat(r.path);
      if (st.filetype === FILETYPE.DIRECTORY) throw wasiError("ISDIR");
      if (trailing) throw wasiError("NOTDIR");
      dir.mount.unlink(r.path);
      return OK;
    }),

    poll_oneoff: guard((in_: number, out: number, nsubscriptions: number, nevents: number): number => {
      mem.check(nevents, 4);
      mem.setU32(nevents, pollOneoff(mem, fds, in_, out, nsubscriptions));
      return OK;
    }),

    proc_exit(rval: number): never {
      throw new ProcExit(rval >>> 0);
    },

    /**
     * Terminating signals end the guest with exit status 128 + the Linux signal number (what a shell
     * reports for a process killed by it); signals that by default are ignored, continue or stop
     * return success and do nothing (a guest cannot be stopped); an unknown signal is INVAL.
     */
    proc_raise(sig: number): number {
      const s = sig >>> 0;
      if (s > SIGNAL.SYS) return ERRNO.INVAL;
      if (NON_TERMINATING.has(s)) return OK;
      throw new ProcExit(128 + linuxSignal(s));
    },

    sched_yield(): number {
      return OK;
    },

    random_get: guard((buf: number, buf_len: number): number => {
      const out = mem.bytes(buf, buf_len);
      for (let off = 0; off < out.byteLength; off += RANDOM_CHUNK) {
        randomFillSync(out, off, Math.min(RANDOM_CHUNK, out.byteLength - off));
      }
      return OK;
    }),

    sock_accept(fd: number, _flags: number, _ro_fd: number): number {
      return notSocket(fd);
    },

    sock_recv(
      fd: number,
      _ri_data: number,
      _ri_data_len: number,
      _ri_flags: number,
      _ro_datalen: number,
      _ro_flags: number,
    ): number {
      return notSocket(fd);
    },

    sock_send(
      fd: number,
      _si_data: number,
      _si_data_len: number,
      _si_flags: number,
      _so_datalen: number,
    ): number {
      return notSocket(fd);
    },

    sock_shutdown(fd: number, _how: number): number {
      return notSocket(fd);
    },
  };
}
