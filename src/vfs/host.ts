// A mount over a directory of the host, on node:fs *sync* calls (the WASI imports are synchronous and
// run in a worker). Guest paths arrive as validated component lists from the resolver; each is checked
// again and joined under the realpath of the root taken once, at construction. This mount never
// follows a symlink by itself: lstat for stat, O_NOFOLLOW for open, readlink returns the raw target.
// Each operation pins its parent directory (O_DIRECTORY|O_NOFOLLOW, checked through /proc/self/fd) so a
// host process cannot swap a directory for a symlink between the resolver's check and the use; README.md
// says where that falls back to plain paths.
import * as fs from "node:fs";
import { TwineError, wasiError } from "../errors.js";
import { fromHostError, quietWasiError } from "./host-errno.js";
import { checkComponents } from "./names.js";
import { applyTimeSpec, wallClockNs } from "./time.js";
import {
  FILETYPE,
  type DirEntry,
  type FileHandle,
  type Filestat,
  type Filetype,
  type Mount,
  type OpenOptions,
  type TimeSpec,
} from "./types.js";

export interface HostMountOptions {
  /** Host mounts are read-only unless asked otherwise. */
  readonly?: boolean;
  /** Pin directories through /proc/self/fd (see README.md). Default: when /proc/self/fd works. */
  pinDirectories?: boolean;
}

const C = fs.constants;
const MAX_POSITION = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function filetypeOfStats(st: fs.BigIntStats | fs.Stats): Filetype {
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return FILETYPE.BLOCK_DEVICE;
  // A host socket cannot say whether it is a stream or datagram one; uvwasi also answers stream.
  if (st.isSocket()) return FILETYPE.SOCKET_STREAM;
  return FILETYPE.UNKNOWN;
}

export function filestatOf(st: fs.BigIntStats, filetype: Filetype = filetypeOfStats(st)): Filestat {
  return {
    dev: st.dev,
    ino: st.ino,
    filetype,
    nlink: st.nlink,
    size: st.size,
    atim: st.atimeNs,
    mtim: st.mtimeNs,
    ctim: st.ctimeNs,
  };
}

/** node:fs takes times as seconds in a double: sub-microsecond precision is lost (documented). */
function nsToSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

function timesFor(current: fs.BigIntStats, atim: TimeSpec, mtim: TimeSpec): [number, number] {
  // node:fs has no UTIME_OMIT, so "omit" writes back the current value.
  const now = wallClockNs();
  return [
    nsToSeconds(applyTimeSpec(atim, current.atimeNs, now)),
    nsToSeconds(applyTimeSpec(mtim, current.mtimeNs, now)),
  ];
}

/** A byte offset node:fs can take exactly, or `undefined` when it is past any real file. */
function toPosition(position: bigint): number | undefined {
  if (position < 0n) throw wasiError("INVAL", "negative offset");
  return position > MAX_POSITION ? undefined : Number(position);
}

const PROC_FD = "/proc/self/fd/";
/**
 * Pinned directory fds kept open between operations, most recently used last. Each is checked again
 * (one readlink) at every use, so keeping them saves the open and close, not the check.
 */
const MAX_PINNED = 16;

export class HostMount implements Mount {
  readonly kind = "host";
  readonly readonly: boolean;
  /** The realpath of the host directory, fixed at construction. */
  readonly root: string;
  /**
   * Whether directories can be pinned through /proc/self/fd (Linux): then every operation works on a
   * directory whose fd was opened and whose real path was checked, which closes the race with host
   * processes swapping a directory for a symlink (see README.md). Without /proc the race stays open.
   */
  readonly pinsDirectories: boolean;
  /** Expected host path of a pinned directory → its O_DIRECTORY fd (see pin()). */
  private readonly pinned = new Map<string, number>();

  constructor(hostDir: string, options: HostMountOptions = {}) {
    this.readonly = options.readonly ?? true;
    let st: fs.Stats;
    try {
      this.root = fs.realpathSync.native(hostDir);
      st = fs.statSync(this.root);
    } catch (e) {
      throw fromHostError(e, "host mount root");
    }
    if (!st.isDirectory()) throw wasiError("NOTDIR", "host mount root is not a directory");
    this.pinsDirectories = options.pinDirectories !== false && procFdWorks(this.root, st.ino);
  }

  lstat(path: readonly string[]): Filestat {
    const kept = this.keptPin(path);
    if (kept !== undefined) {
      try {
        return filestatOf(fs.fstatSync(kept, { bigint: true }), FILETYPE.DIRECTORY);
      } catch (e) {
        throw fromHostError(e, "lstat");
      }
    }
    const p = this.hostPath(path, "lstat");
    let st: fs.BigIntStats | undefined;
    try {
      // A missing entry is the resolver's everyday answer (a file about to be created, a probe for a
      // journal): asked without an exception, it costs a system call rather than two Error objects.
      st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
    } catch (e) {
      throw fromHostError(e, "lstat");
    }
    if (st === undefined) throw quietWasiError("NOENT", "lstat: ENOENT");
    return filestatOf(st);
  }

  /**
   * Only a directory this mount pinned before (a parent of an earlier operation, reached then by the
   * resolver's own walk) whose fd still names exactly that path: the kernel's name for the directory
   * is the path through real directories, so a component renamed or swapped for a symlink since
   * changes it. The kernel is never asked to walk a path the resolver has not walked.
   */
  knownDirectory(path: readonly string[]): boolean {
    try {
      return this.keptPin(path) !== undefined;
    } catch {
      return false;
    }
  }

  readlink(path: readonly string[]): string {
    const p = this.hostPath(path, "readlink");
    let target: Buffer;
    try {
      target = fs.readlinkSync(p, { encoding: "buffer" });
    } catch (e) {
      throw fromHostError(e, "readlink");
    }
    return decodeName(target);
  }

  open(path: readonly string[], opts: OpenOptions): FileHandle {
    if (opts.directory && (opts.create || opts.exclusive || opts.truncate)) {
      throw wasiError("INVAL", "directory open with create, exclusive or truncate");
    }
    // Second fence after the WASI layer's rights (wasmtime GHSA-2r75-cxrj-cmph).
    if (opts.truncate && !opts.write) throw wasiError("INVAL", "truncate without write access");
    if (this.readonly && (opts.write || opts.truncate)) throw wasiError("ROFS");
    // O_NOFOLLOW: a final symlink fails with ELOOP. O_NONBLOCK: a FIFO planted by the host cannot
    // hang the open. No O_APPEND: pwrite must honour its position; append() finds the end itself.
    let flags = C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY; // libuv adds O_CLOEXEC
    flags |= opts.read && opts.write ? C.O_RDWR : opts.write ? C.O_WRONLY : C.O_RDONLY;
    if (opts.create && !this.readonly) flags |= C.O_CREAT | (opts.exclusive ? C.O_EXCL : 0);
    if (opts.truncate) flags |= C.O_TRUNC;
    if (opts.directory) flags |= C.O_DIRECTORY;
    const p = this.hostPath(path, "open");
    let fd: number;
    try {
      fd = fs.openSync(p, flags, 0o666);
    } catch (e) {
      const err = fromHostError(e, "open");
      if (this.readonly && opts.create && err.code === "wasi.noent") throw wasiError("ROFS");
      throw err;
    }
    try {
      if (this.readonly && opts.create && opts.exclusive) throw wasiError("EXIST");
      // The type decides seekability and whether path_open makes a directory fd; the plain (not
      // bigint) fstat is the cheaper one and its mode is exact.
      const filetype = filetypeOfStats(fs.fstatSync(fd));
      return new HostFileHandle(fd, filetype, opts.write, this.readonly);
    } catch (e) {
      fs.closeSync(fd);
      throw fromHostError(e, "open");
    }
  }

  readdir(path: readonly string[]): DirEntry[] {
    // The directory itself is pinned (opened without following a link), so the listing and the
    // per-entry lstat both read exactly the directory the resolver approved.
    const dir = this.pin(path, "readdir");
    let raw: Buffer[];
    try {
      raw = fs.readdirSync(dir, { encoding: "buffer" });
    } catch (e) {
      throw fromHostError(e, "readdir");
    }
    const entries: DirEntry[] = [];
    for (const bytes of raw) {
      const name = decodeName(bytes);
      let st: fs.BigIntStats | undefined;
      try {
        st = fs.lstatSync(join(dir, name), { bigint: true, throwIfNoEntry: false });
      } catch (e) {
        throw fromHostError(e, "readdir");
      }
      if (st === undefined) continue; // removed by the host since the listing
      entries.push({ name, ino: st.ino, filetype: filetypeOfStats(st) });
    }
    // The host's order is stable but host-specific; sorting makes runs reproducible across hosts.
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  mkdir(path: readonly string[]): void {
    this.mutable();
    if (path.length === 0) throw wasiError("EXIST");
    const p = this.hostPath(path, "mkdir");
    try {
      fs.mkdirSync(p, 0o777);
    } catch (e) {
      throw fromHostError(e, "mkdir");
    }
  }

  rmdir(path: readonly string[]): void {
    this.mutable();
    if (path.length === 0) throw wasiError("BUSY", "cannot remove the mount root");
    const p = this.hostPath(path, "rmdir");
    try {
      fs.rmdirSync(p);
    } catch (e) {
      throw fromHostError(e, "rmdir");
    }
  }

  unlink(path: readonly string[]): void {
    this.mutable();
    if (path.length === 0) throw wasiError("ISDIR");
    const p = this.hostPath(path, "unlink");
    try {
      fs.unlinkSync(p);
    } catch (e) {
      throw fromHostError(e, "unlink");
    }
  }

  rename(from: readonly string[], to: readonly string[]): void {
    this.mutable();
    if (from.length === 0 || to.length === 0) throw wasiError("BUSY", "cannot rename the mount root");
    const [f, t] = this.hostPaths(from, to, "rename");
    try {
      fs.renameSync(f, t);
    } catch (e) {
      throw fromHostError(e, "rename");
    }
  }

  symlink(target: string, path: readonly string[]): void {
    this.mutable();
    if (target.includes("\0")) throw wasiError("INVAL", "symlink target contains NUL");
    if (target === "") throw wasiError("NOENT", "empty symlink target");
    if (path.length === 0) throw wasiError("EXIST");
    const p = this.hostPath(path, "symlink");
    try {
      fs.symlinkSync(target, p);
    } catch (e) {
      throw fromHostError(e, "symlink");
    }
  }

  link(from: readonly string[], to: readonly string[]): void {
    this.mutable();
    if (to.length === 0) throw wasiError("EXIST");
    // link(2) on Linux does not follow a final symlink in `from` (linkat without AT_SYMLINK_FOLLOW).
    const [f, t] = this.hostPaths(from, to, "link");
    try {
      fs.linkSync(f, t);
    } catch (e) {
      throw fromHostError(e, "link");
    }
  }

  setTimes(path: readonly string[], atim: TimeSpec, mtim: TimeSpec): void {
    this.mutable();
    const p = this.hostPath(path, "setTimes");
    try {
      const [a, m] = timesFor(fs.lstatSync(p, { bigint: true }), atim, mtim);
      fs.lutimesSync(p, a, m);
    } catch (e) {
      throw fromHostError(e, "setTimes");
    }
  }

  sync(): void {}

  close(): void {
    for (const fd of this.pinned.values()) fs.closeSync(fd);
    this.pinned.clear();
  }

  private mutable(): void {
    if (this.readonly) throw wasiError("ROFS", "read-only host mount");
  }

  /**
   * The host path of `path` for one operation: its final component looked up inside its pinned
   * parent directory. The caller must not follow a final symlink (lstat, O_NOFOLLOW, unlink...).
   * Valid until the next pin() (which may evict the fd), except as hostPaths() says.
   */
  private hostPath(path: readonly string[], what: string): string {
    checkComponents(path);
    const name = path.at(-1);
    if (name === undefined) return this.root;
    return join(this.pin(path.slice(0, -1), what), name);
  }

  /**
   * The kept pinned fd of the directory `path`, if it still names exactly that path: then an fstat
   * of it is what lstat of the path would say (the resolver's walk through intermediate directories),
   * without a second lookup through /proc. At the top level a plain lstat is cheaper than the check.
   */
  private keptPin(path: readonly string[]): number | undefined {
    if (path.length < 2) return undefined;
    checkComponents(path);
    const expected = path.reduce(join, this.root);
    const fd = this.pinned.get(expected);
    return fd !== undefined && procFdTarget(fd) === expected ? fd : undefined;
  }

  /**
   * Two host paths for one operation. The first stays valid through the second pin(): its fd is the
   * most recently used, so never the one evicted, and it is closed only if the second pin finds the
   * same directory changed; the fd number can then be reused only by a fresh pin that passed the
   * same check, or the operation fails.
   */
  private hostPaths(from: readonly string[], to: readonly string[], what: string): [string, string] {
    const f = this.hostPath(from, what);
    return [f, this.hostPath(to, what)];
  }

  /**
   * A path to the directory `path` that a host process can no longer redirect (see pinsDirectories).
   * The fd is kept for later operations, but every use reads /proc/self/fd/N again: a directory
   * renamed, removed or swapped since is never used, and is pinned afresh (which then decides).
   */
  private pin(path: readonly string[], what: string): string {
    checkComponents(path);
    if (path.length === 0) return this.root;
    const expected = path.reduce(join, this.root);
    if (!this.pinsDirectories) {
      // Without /proc, at least refuse a final symlink as the pinned path would.
      let st: fs.Stats;
      try {
        st = fs.lstatSync(expected);
      } catch (e) {
        throw fromHostError(e, what);
      }
      if (st.isSymbolicLink()) throw wasiError("NOTDIR");
      return expected;
    }
    const cached = this.pinned.get(expected);
    if (cached !== undefined) {
      this.pinned.delete(expected);
      if (procFdTarget(cached) === expected) {
        this.pinned.set(expected, cached);
        return PROC_FD + String(cached);
      }
      fs.closeSync(cached);
    }
    let fd: number;
    try {
      fd = fs.openSync(expected, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_NONBLOCK);
    } catch (e) {
      const err = fromHostError(e, what);
      // O_NOFOLLOW|O_DIRECTORY on a symlink says ELOOP; the mem mount (and POSIX) say ENOTDIR.
      throw err.code === "wasi.loop" ? wasiError("NOTDIR") : err;
    }
    let actual: string;
    try {
      actual = fs.readlinkSync(PROC_FD + String(fd));
    } catch (e) {
      fs.closeSync(fd);
      throw fromHostError(e, what);
    }
    if (actual !== expected) {
      fs.closeSync(fd);
      if (actual.endsWith(" (deleted)")) throw wasiError("NOENT", "directory removed by the host");
      throw new TwineError("vfs.escape", "a host directory was swapped while in use");
    }
    if (this.pinned.size >= MAX_PINNED) {
      const [oldPath, oldFd] = this.pinned.entries().next().value as [string, number];
      this.pinned.delete(oldPath);
      fs.closeSync(oldFd);
    }
    this.pinned.set(expected, fd);
    return PROC_FD + String(fd);
  }
}

/** The path /proc/self/fd/N names now, or undefined if it cannot be read. */
function procFdTarget(fd: number): string | undefined {
  try {
    return fs.readlinkSync(PROC_FD + String(fd));
  } catch {
    return undefined;
  }
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** Whether /proc/self/fd/N names an open directory and can be walked through (Linux); false elsewhere. */
function procFdWorks(root: string, ino: number): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(root, C.O_RDONLY | C.O_DIRECTORY);
    return fs.readlinkSync(PROC_FD + String(fd)) === root && fs.statSync(`${PROC_FD}${fd}/.`).ino === ino;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Host names and link targets must be UTF-8 for the guest (as wasmtime: otherwise EILSEQ). */
function decodeName(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw wasiError("ILSEQ", "host name is not valid UTF-8");
  }
}

/** An open host file (or directory, for its metadata) behind a host fd owned by this handle. */
export class HostFileHandle implements FileHandle {
  readonly seekable: boolean;
  private fd: number;

  constructor(
    fd: number,
    readonly filetype: Filetype,
    private readonly writable: boolean,
    /** A read-only mount must not change host metadata through a handle either. */
    private readonly mountReadonly: boolean,
  ) {
    this.fd = fd;
    this.seekable = filetype === FILETYPE.REGULAR_FILE || filetype === FILETYPE.BLOCK_DEVICE;
  }

  pread(buf: Uint8Array, position: bigint): number {
    const fd = this.open();
    const pos = this.seekable ? toPosition(position) : null;
    if (pos === undefined || buf.length === 0) return 0;
    try {
      return fs.readSync(fd, buf, 0, buf.length, pos);
    } catch (e) {
      throw fromHostError(e, "read");
    }
  }

  pwrite(buf: Uint8Array, position: bigint): number {
    const fd = this.open();
    let pos = this.seekable ? toPosition(position) : null;
    if (pos === undefined) throw wasiError("FBIG", "offset past the largest file");
    if (buf.length === 0) return 0;
    let done = 0;
    while (done < buf.length) {
      let n: number;
      try {
        n = fs.writeSync(fd, buf, done, buf.length - done, pos);
      } catch (e) {
        throw fromHostError(e, "write");
      }
      if (n === 0) throw wasiError("IO", "host write made no progress");
      done += n;
      if (pos !== null) pos += n;
    }
    return done;
  }

  append(buf: Uint8Array): bigint {
    const end = this.stat().size;
    this.pwrite(buf, end);
    return end + BigInt(buf.length);
  }

  stat(): Filestat {
    const fd = this.open();
    let st: fs.BigIntStats;
    try {
      st = fs.fstatSync(fd, { bigint: true });
    } catch (e) {
      throw fromHostError(e, "fstat");
    }
    return filestatOf(st, this.filetype);
  }

  setSize(size: bigint): void {
    const fd = this.open();
    const len = toPosition(size);
    if (len === undefined) throw wasiError("FBIG");
    try {
      fs.ftruncateSync(fd, len);
    } catch (e) {
      throw fromHostError(e, "ftruncate");
    }
  }

  /** node:fs has no fallocate: growing the file (sparse) gives the same visible result. */
  allocate(offset: bigint, len: bigint): void {
    const fd = this.open();
    if (!this.writable) throw wasiError("BADF");
    if (len <= 0n || offset < 0n) throw wasiError("INVAL");
    const end = toPosition(offset + len);
    if (end === undefined) throw wasiError("FBIG");
    try {
      if (BigInt(end) > fs.fstatSync(fd, { bigint: true }).size) fs.ftruncateSync(fd, end);
    } catch (e) {
      throw fromHostError(e, "allocate");
    }
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    const fd = this.open();
    if (this.mountReadonly) throw wasiError("ROFS", "read-only host mount");
    try {
      const [a, m] = timesFor(fs.fstatSync(fd, { bigint: true }), atim, mtim);
      fs.futimesSync(fd, a, m);
    } catch (e) {
      throw fromHostError(e, "futimes");
    }
  }

  sync(dataOnly: boolean): void {
    const fd = this.open();
    try {
      if (dataOnly) fs.fdatasyncSync(fd);
      else fs.fsyncSync(fd);
    } catch (e) {
      throw fromHostError(e, "fsync");
    }
  }

  close(): void {
    const fd = this.open();
    this.fd = -1;
    try {
      fs.closeSync(fd);
    } catch (e) {
      throw fromHostError(e, "close");
    }
  }

  private open(): number {
    if (this.fd < 0) throw wasiError("BADF");
    return this.fd;
  }
}
