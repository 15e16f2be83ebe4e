// A pfs volume seen through the VFS seam: POSIX-like semantics over the volume's inodes. Paths
// arrive as validated component lists (see ../vfs/types.ts); this file never touches the host.
import { existsSync, readdirSync } from "node:fs";
import { type TwineError, wasiError } from "../errors.js";
import {
  FILETYPE,
  type DirEntry,
  type FileHandle,
  type Filestat,
  type Filetype,
  type Mount,
  type OpenOptions,
  type TimeSpec,
} from "../vfs/types.js";
import { checkComponents } from "../vfs/names.js";
import { applyTimeSpec } from "../vfs/time.js";
import { MAX_FILE_SIZE, MAX_NAME_BYTES, ROOT_INO } from "./format.js";
import { Volume, type Inode, type VolumeOptions } from "./volume.js";

/**
 * A missing name is an expected answer (SQLite stats its journal before every transaction), not a
 * fault: its error carries no stack, whose capture through the guest's Wasm frames costs more
 * than the lookup itself.
 */
function noent(): TwineError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return wasiError("NOENT");
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export class PfsMount implements Mount {
  readonly kind = "pfs" as const;
  readonly readonly: boolean;
  private readonly dev: bigint;

  constructor(readonly volume: Volume) {
    this.readonly = volume.readonly;
    this.dev = volume.volumeId.readBigUInt64LE(0);
  }

  static create(hostPath: string, key: Uint8Array, opts: VolumeOptions = {}): PfsMount {
    return new PfsMount(Volume.create(hostPath, key, opts));
  }

  static open(hostPath: string, key: Uint8Array, opts: VolumeOptions = {}): PfsMount {
    return new PfsMount(Volume.open(hostPath, key, opts));
  }

  /** Opens the volume at hostPath, creating it first if the directory is missing or empty. */
  static openOrCreate(hostPath: string, key: Uint8Array, opts: VolumeOptions = {}): PfsMount {
    const empty = !existsSync(hostPath) || readdirSync(hostPath).length === 0;
    if (empty && opts.readonly !== true) return PfsMount.create(hostPath, key, opts);
    return PfsMount.open(hostPath, key, opts);
  }

  stat(o: Inode): Filestat {
    let nlink = o.nlink;
    let size = o.size;
    if (o.type === FILETYPE.DIRECTORY) {
      // As the mem mount (and Linux): 2 + subdirectories; the encrypted listing's size is not shown.
      nlink = 2;
      for (const e of this.volume.entries(o).values()) if (e.type === FILETYPE.DIRECTORY) nlink++;
      size = 0;
    }
    return {
      dev: this.dev,
      ino: BigInt(o.ino),
      filetype: o.type as Filetype,
      nlink: BigInt(nlink),
      size: BigInt(size),
      atim: o.atim,
      mtim: o.mtim,
      ctim: o.ctim,
    };
  }

  private walk(path: readonly string[]): Inode {
    checkComponents(path);
    let cur = this.volume.root();
    for (const name of path) {
      if (cur.type !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
      const next = this.volume.lookup(cur, checkName(name));
      if (next === null) throw noent();
      cur = next;
    }
    return cur;
  }

  private parentOf(path: readonly string[]): { dir: Inode; name: string } {
    const name = path[path.length - 1];
    if (name === undefined) throw wasiError("BUSY", "the mount root has no parent");
    checkComponents(path);
    const dir = this.walk(path.slice(0, -1));
    if (dir.type !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
    return { dir, name: checkName(name) };
  }

  private mutable(): void {
    if (this.readonly) throw wasiError("ROFS");
  }

  lstat(path: readonly string[]): Filestat {
    return this.stat(this.walk(path));
  }

  readlink(path: readonly string[]): string {
    const o = this.walk(path);
    if (o.type !== FILETYPE.SYMBOLIC_LINK) throw wasiError("INVAL");
    const b = Buffer.allocUnsafe(o.size);
    this.volume.readAt(o, 0, b);
    return b.toString("utf8");
  }

  open(path: readonly string[], opts: OpenOptions): FileHandle {
    if (opts.directory && (opts.create || opts.exclusive || opts.truncate))
      throw wasiError("INVAL", "directory open with create, exclusive or truncate");
    // Second fence behind the WASI layer's rights (wasmtime GHSA-2r75-cxrj-cmph).
    if (opts.truncate && !opts.write) throw wasiError("INVAL", "truncate without write access");
    let o: Inode;
    if (path.length === 0) {
      o = this.volume.root();
      if (opts.create && opts.exclusive) throw wasiError("EXIST");
    } else {
      const { dir, name } = this.parentOf(path);
      const found = this.volume.lookup(dir, name);
      if (found === null) {
        if (!opts.create) throw noent();
        if (opts.directory) throw noent();
        this.mutable();
        o = this.volume.allocInode(FILETYPE.REGULAR_FILE, dir.ino);
        o.nlink = 1;
        this.volume.addEntry(dir, name, o);
      } else {
        if (opts.create && opts.exclusive) throw wasiError("EXIST");
        o = found;
      }
    }
    if (o.type === FILETYPE.SYMBOLIC_LINK) throw wasiError("LOOP");
    if (opts.directory && o.type !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
    if (o.type === FILETYPE.DIRECTORY) {
      if (opts.write || opts.truncate || opts.create) throw wasiError("ISDIR");
    } else if (opts.write || opts.truncate) {
      this.mutable();
    }
    if (opts.truncate && o.type === FILETYPE.REGULAR_FILE && o.size !== 0) {
      this.volume.setSize(o, 0);
      o.mtim = o.ctim = this.volume.timestamp();
    }
    o.opens++;
    return new PfsHandle(this, o, opts.read, opts.write && o.type === FILETYPE.REGULAR_FILE);
  }

  readdir(path: readonly string[]): DirEntry[] {
    const dir = this.walk(path);
    const out: DirEntry[] = [];
    for (const [name, e] of this.volume.entries(dir)) {
      out.push({ name, ino: BigInt(e.ino), filetype: e.type as Filetype });
    }
    return out;
  }

  mkdir(path: readonly string[]): void {
    if (path.length === 0) throw wasiError("EXIST");
    const { dir, name } = this.parentOf(path);
    if (this.volume.lookup(dir, name) !== null) throw wasiError("EXIST");
    this.mutable();
    const o = this.volume.allocInode(FILETYPE.DIRECTORY, dir.ino);
    o.nlink = 1;
    this.volume.addEntry(dir, name, o);
  }

  rmdir(path: readonly string[]): void {
    const { dir, name } = this.parentOf(path);
    const o = this.volume.lookup(dir, name);
    if (o === null) throw noent();
    if (o.type !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
    if (this.volume.entries(o).size > 0) throw wasiError("NOTEMPTY");
    this.mutable();
    this.volume.removeEntry(dir, name);
    this.volume.unref(o);
  }

  unlink(path: readonly string[]): void {
    if (path.length === 0) throw wasiError("ISDIR");
    const { dir, name } = this.parentOf(path);
    const o = this.volume.lookup(dir, name);
    if (o === null) throw noent();
    if (o.type === FILETYPE.DIRECTORY) throw wasiError("ISDIR");
    this.mutable();
    this.volume.removeEntry(dir, name);
    this.volume.unref(o);
  }

  rename(from: readonly string[], to: readonly string[]): void {
    if (from.length === 0 || to.length === 0) throw wasiError("BUSY", "cannot rename the mount root");
    const s = this.parentOf(from);
    const o = this.volume.lookup(s.dir, s.name);
    if (o === null) throw noent();
    const d = this.parentOf(to);
    if (o.type === FILETYPE.DIRECTORY) {
      // A directory may not move into its own subtree.
      for (let p = d.dir; ; p = this.volume.inode(p.parent)) {
        if (p.ino === o.ino) throw wasiError("INVAL");
        if (p.ino === ROOT_INO) break;
      }
    }
    const t = this.volume.lookup(d.dir, d.name);
    if (t !== null) {
      if (t.ino === o.ino) return;
      if (o.type === FILETYPE.DIRECTORY) {
        if (t.type !== FILETYPE.DIRECTORY) throw wasiError("NOTDIR");
        if (this.volume.entries(t).size > 0) throw wasiError("NOTEMPTY");
      } else if (t.type === FILETYPE.DIRECTORY) {
        throw wasiError("ISDIR");
      }
    }
    this.mutable();
    if (t !== null) {
      this.volume.removeEntry(d.dir, d.name);
      this.volume.unref(t);
    }
    this.volume.removeEntry(s.dir, s.name);
    this.volume.addEntry(d.dir, d.name, o);
    if (o.type === FILETYPE.DIRECTORY) o.parent = d.dir.ino;
    o.ctim = this.volume.timestamp();
    this.volume.touch(o);
  }

  symlink(target: string, path: readonly string[]): void {
    if (target.includes("\0")) throw wasiError("INVAL", "symlink target contains NUL");
    if (target === "") throw wasiError("NOENT", "empty symlink target");
    if (path.length === 0) throw wasiError("EXIST");
    const { dir, name } = this.parentOf(path);
    if (this.volume.lookup(dir, name) !== null) throw wasiError("EXIST");
    this.mutable();
    const o = this.volume.allocInode(FILETYPE.SYMBOLIC_LINK, dir.ino);
    o.nlink = 1;
    this.volume.writeAt(o, 0, Buffer.from(target, "utf8"));
    this.volume.addEntry(dir, name, o);
  }

  link(from: readonly string[], to: readonly string[]): void {
    const o = this.walk(from);
    if (o.type === FILETYPE.DIRECTORY) throw wasiError("PERM");
    if (to.length === 0) throw wasiError("EXIST");
    const { dir, name } = this.parentOf(to);
    if (this.volume.lookup(dir, name) !== null) throw wasiError("EXIST");
    this.mutable();
    o.nlink++;
    o.ctim = this.volume.timestamp();
    this.volume.touch(o);
    this.volume.addEntry(dir, name, o);
  }

  setTimes(path: readonly string[], atim: TimeSpec, mtim: TimeSpec): void {
    this.setInodeTimes(this.walk(path), atim, mtim);
  }

  setInodeTimes(o: Inode, atim: TimeSpec, mtim: TimeSpec): void {
    this.mutable();
    const now = this.volume.timestamp();
    o.atim = applyTimeSpec(atim, o.atim, now);
    o.mtim = applyTimeSpec(mtim, o.mtim, now);
    o.ctim = now;
    this.volume.touch(o);
  }

  sync(): void {
    this.volume.commit();
  }

  close(): void {
    this.volume.close();
  }
}

function checkName(name: string): string {
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) throw wasiError("NAMETOOLONG");
  return name;
}

function toOffset(v: bigint): number {
  if (v < 0n) throw wasiError("INVAL", "negative offset");
  return v > BigInt(MAX_FILE_SIZE) ? MAX_FILE_SIZE + 1 : Number(v);
}

/** One open file or directory; several handles share the inode, so all see each other's writes. */
class PfsHandle implements FileHandle {
  readonly seekable: boolean;
  readonly filetype: Filetype;
  private closed = false;

  constructor(
    private readonly mount: PfsMount,
    private readonly o: Inode,
    private readonly readable: boolean,
    private readonly writable: boolean,
  ) {
    this.filetype = o.type as Filetype;
    this.seekable = o.type !== FILETYPE.DIRECTORY;
  }

  private open(): Inode {
    if (this.closed) throw wasiError("BADF");
    return this.o;
  }

  /** A directory handle only carries metadata: data access fails as on the mem mount. */
  private file(dirErrno: "ISDIR" | "BADF" | "INVAL"): Inode {
    const o = this.open();
    if (o.type === FILETYPE.DIRECTORY) throw wasiError(dirErrno);
    return o;
  }

  private forWrite(dirErrno: "BADF" | "INVAL", errno: "BADF" | "INVAL" = "BADF"): Inode {
    const o = this.file(dirErrno);
    if (!this.writable) throw wasiError(errno);
    return o;
  }

  pread(buf: Uint8Array, position: bigint): number {
    const o = this.file("ISDIR");
    if (!this.readable) throw wasiError("BADF");
    return this.mount.volume.readAt(o, toOffset(position), buf);
  }

  pwrite(buf: Uint8Array, position: bigint): number {
    const o = this.forWrite("BADF");
    const pos = toOffset(position);
    if (buf.length === 0) return 0;
    if (pos + buf.length > MAX_FILE_SIZE) throw wasiError("FBIG");
    this.write(o, pos, buf);
    return buf.length;
  }

  append(buf: Uint8Array): bigint {
    const o = this.forWrite("BADF");
    if (o.size + buf.length > MAX_FILE_SIZE) throw wasiError("FBIG");
    if (buf.length > 0) this.write(o, o.size, buf);
    return BigInt(o.size);
  }

  private write(o: Inode, pos: number, buf: Uint8Array): void {
    const v = this.mount.volume;
    v.writeAt(o, pos, buf);
    o.mtim = o.ctim = v.timestamp();
  }

  stat(): Filestat {
    return this.mount.stat(this.open());
  }

  setSize(size: bigint): void {
    // As ftruncate(2) on a descriptor not open for writing.
    const o = this.forWrite("INVAL", "INVAL");
    if (size > BigInt(MAX_FILE_SIZE)) throw wasiError("FBIG");
    const v = this.mount.volume;
    v.setSize(o, toOffset(size));
    o.mtim = o.ctim = v.timestamp();
  }

  allocate(offset: bigint, len: bigint): void {
    const o = this.forWrite("BADF");
    if (len <= 0n || offset < 0n) throw wasiError("INVAL", "allocate needs a positive length");
    const end = offset + len;
    if (end > BigInt(MAX_FILE_SIZE)) throw wasiError("FBIG");
    if (Number(end) > o.size) {
      const v = this.mount.volume;
      v.setSize(o, Number(end));
      o.mtim = o.ctim = v.timestamp();
    }
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    this.mount.setInodeTimes(this.open(), atim, mtim);
  }

  sync(_dataOnly: boolean): void {
    this.open();
    if (!this.mount.readonly) this.mount.volume.commit();
  }

  close(): void {
    this.open();
    this.closed = true;
    this.mount.volume.release(this.o);
  }
}
