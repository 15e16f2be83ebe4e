// An in-memory file system with POSIX (Linux) errno semantics: directories, growable files, symlinks
// and hard links. It never touches the host, so it is the reference the host mount is tested against.
import { TwineError, wasiError } from "../errors.js";
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

interface Meta {
  readonly ino: bigint;
  nlink: number;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

interface FileNode extends Meta {
  readonly kind: "file";
  /** Capacity is data.length; bytes past `size` are always zero, so growing never leaks old data. */
  data: Uint8Array;
  size: number;
  openCount: number;
}

interface DirNode extends Meta {
  readonly kind: "dir";
  /** A Map keeps insertion order, which is the readdir order. */
  readonly entries: Map<string, Node>;
}

interface LinkNode extends Meta {
  readonly kind: "symlink";
  readonly target: string;
}

type Node = FileNode | DirNode | LinkNode;

export interface MemMountOptions {
  /** Wall-clock time in ns; injectable for tests. */
  clock?: () => bigint;
  /** Cap on the bytes held by all files together (and so on one file's size). Default 1 GiB. */
  maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 1 << 30;
const MIN_CAPACITY = 64;

// Distinct mounts must not share (dev, ino) pairs: guests use them to tell files apart.
let nextDev = 1n;

function filetypeOf(node: Node): Filetype {
  switch (node.kind) {
    case "file":
      return FILETYPE.REGULAR_FILE;
    case "dir":
      return FILETYPE.DIRECTORY;
    case "symlink":
      return FILETYPE.SYMBOLIC_LINK;
  }
}

export class MemMount implements Mount {
  readonly kind = "mem";
  readonly readonly = false;
  readonly dev: bigint;
  private readonly root: DirNode;
  private readonly clock: () => bigint;
  readonly maxBytes: number;
  private usedBytes = 0;
  private nextIno = 1n;

  constructor(options: MemMountOptions = {}) {
    this.clock = options.clock ?? wallClockNs;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.dev = nextDev++;
    this.root = this.newDir();
  }

  lstat(path: readonly string[]): Filestat {
    return this.statNode(this.walk(path));
  }

  readlink(path: readonly string[]): string {
    const node = this.walk(path);
    if (node.kind !== "symlink") throw wasiError("INVAL", "not a symbolic link");
    return node.target;
  }

  open(path: readonly string[], opts: OpenOptions): FileHandle {
    if (opts.directory && (opts.create || opts.exclusive || opts.truncate)) {
      throw wasiError("INVAL", "directory open with create, exclusive or truncate");
    }
    // The WASI layer decides rights; refusing TRUNC without write here is the second fence
    // (wasmtime GHSA-2r75-cxrj-cmph: TRUNC on a read-only fd emptied the file).
    if (opts.truncate && !opts.write) throw wasiError("INVAL", "truncate without write access");
    let node: Node;
    if (path.length === 0) {
      if (opts.create && opts.exclusive) throw wasiError("EXIST");
      node = this.root;
    } else {
      const { dir, name } = this.parent(path);
      const existing = dir.entries.get(name);
      if (existing === undefined) {
        if (!opts.create) throw wasiError("NOENT");
        if (opts.directory) throw wasiError("NOENT");
        const file = this.newFile();
        this.insert(dir, name, file);
        node = file;
      } else {
        if (opts.create && opts.exclusive) throw wasiError("EXIST");
        node = existing;
      }
    }
    switch (node.kind) {
      case "symlink":
        // As O_NOFOLLOW: the resolver follows links, a mount never does.
        throw wasiError("LOOP", "final component is a symbolic link");
      case "dir":
        if (opts.write || opts.truncate || opts.create) throw wasiError("ISDIR");
        return new MemDirHandle(this, node);
      case "file":
        if (opts.directory) throw wasiError("NOTDIR");
        if (opts.truncate && node.size > 0) this.resize(node, 0);
        return new MemFileHandle(this, node, opts.read, opts.write);
    }
  }

  readdir(path: readonly string[]): DirEntry[] {
    const node = this.walk(path);
    if (node.kind !== "dir") throw wasiError("NOTDIR");
    return [...node.entries].map(([name, n]) => ({ name, ino: n.ino, filetype: filetypeOf(n) }));
  }

  mkdir(path: readonly string[]): void {
    if (path.length === 0) throw wasiError("EXIST");
    const { dir, name } = this.parent(path);
    if (dir.entries.has(name)) throw wasiError("EXIST");
    this.insert(dir, name, this.newDir());
  }

  rmdir(path: readonly string[]): void {
    if (path.length === 0) throw wasiError("BUSY", "cannot remove the mount root");
    const { dir, name } = this.parent(path);
    const node = dir.entries.get(name);
    if (node === undefined) throw wasiError("NOENT");
    if (node.kind !== "dir") throw wasiError("NOTDIR");
    if (node.entries.size > 0) throw wasiError("NOTEMPTY");
    this.remove(dir, name, node);
  }

  unlink(path: readonly string[]): void {
    if (path.length === 0) throw wasiError("ISDIR");
    const { dir, name } = this.parent(path);
    const node = dir.entries.get(name);
    if (node === undefined) throw wasiError("NOENT");
    if (node.kind === "dir") throw wasiError("ISDIR");
    this.remove(dir, name, node);
  }

  rename(from: readonly string[], to: readonly string[]): void {
    if (from.length === 0 || to.length === 0) throw wasiError("BUSY", "cannot rename the mount root");
    const src = this.parent(from);
    const node = src.dir.entries.get(src.name);
    if (node === undefined) throw wasiError("NOENT");
    const dst = this.parent(to);
    if (node.kind === "dir" && to.length > from.length && from.every((c, i) => to[i] === c)) {
      throw wasiError("INVAL", "cannot move a directory into itself");
    }
    const existing = dst.dir.entries.get(dst.name);
    // POSIX: renaming a name onto a link to the same inode (or onto itself) does nothing.
    if (existing === node) return;
    if (existing !== undefined) {
      if (node.kind === "dir") {
        if (existing.kind !== "dir") throw wasiError("NOTDIR");
        if (existing.entries.size > 0) throw wasiError("NOTEMPTY");
      } else if (existing.kind === "dir") {
        throw wasiError("ISDIR");
      }
      this.remove(dst.dir, dst.name, existing);
    }
    src.dir.entries.delete(src.name);
    this.touchDir(src.dir);
    this.insert(dst.dir, dst.name, node, false);
    node.ctim = this.clock();
  }

  symlink(target: string, path: readonly string[]): void {
    if (target.includes("\0")) throw wasiError("INVAL", "symlink target contains NUL");
    if (target === "") throw wasiError("NOENT", "empty symlink target");
    if (path.length === 0) throw wasiError("EXIST");
    const { dir, name } = this.parent(path);
    if (dir.entries.has(name)) throw wasiError("EXIST");
    const now = this.clock();
    const link: LinkNode = {
      kind: "symlink",
      target,
      ino: this.nextIno++,
      nlink: 0,
      atim: now,
      mtim: now,
      ctim: now,
    };
    this.insert(dir, name, link);
  }

  link(from: readonly string[], to: readonly string[]): void {
    const node = this.walk(from);
    if (node.kind === "dir") throw wasiError("PERM", "hard link to a directory");
    if (to.length === 0) throw wasiError("EXIST");
    const { dir, name } = this.parent(to);
    if (dir.entries.has(name)) throw wasiError("EXIST");
    this.insert(dir, name, node);
    node.ctim = this.clock();
  }

  setTimes(path: readonly string[], atim: TimeSpec, mtim: TimeSpec): void {
    this.setNodeTimes(this.walk(path), atim, mtim);
  }

  sync(): void {}

  close(): void {}

  /** Bytes currently held by files (linked or still open). */
  get bytesInUse(): number {
    return this.usedBytes;
  }

  // --- internals shared with the handles below (@internal: not part of the Mount API) ---

  now(): bigint {
    return this.clock();
  }

  statNode(node: Node): Filestat {
    let size: number;
    let nlink: number;
    switch (node.kind) {
      case "file":
        size = node.size;
        nlink = node.nlink;
        break;
      case "dir":
        size = 0;
        nlink = 2;
        for (const child of node.entries.values()) if (child.kind === "dir") nlink += 1;
        break;
      case "symlink":
        size = Buffer.byteLength(node.target, "utf8");
        nlink = node.nlink;
        break;
    }
    return {
      dev: this.dev,
      ino: node.ino,
      filetype: filetypeOf(node),
      nlink: BigInt(nlink),
      size: BigInt(size),
      atim: node.atim,
      mtim: node.mtim,
      ctim: node.ctim,
    };
  }

  setNodeTimes(node: Node, atim: TimeSpec, mtim: TimeSpec): void {
    const now = this.clock();
    node.atim = applyTimeSpec(atim, node.atim, now);
    node.mtim = applyTimeSpec(mtim, node.mtim, now);
    node.ctim = now;
  }

  /** Sets a file's size: zero-fills on growth, wipes the tail on shrink, enforces maxBytes. */
  resize(node: FileNode, size: number): void {
    const delta = size - node.size;
    if (size > this.maxBytes) throw wasiError("FBIG", "file larger than the mount allows");
    if (delta > 0 && this.isLive(node) && this.usedBytes + delta > this.maxBytes) {
      throw wasiError("NOSPC", "memory mount is full");
    }
    if (size > node.data.length) {
      const capacity = Math.min(Math.max(size, node.data.length * 2, MIN_CAPACITY), this.maxBytes);
      const data = new Uint8Array(capacity);
      data.set(node.data.subarray(0, node.size));
      node.data = data;
    } else if (size < node.data.length / 4 && node.data.length > MIN_CAPACITY) {
      // Give memory back after a large shrink, so a truncated file does not keep its peak size.
      node.data = node.data.slice(0, Math.max(size * 2, MIN_CAPACITY));
      node.data.fill(0, size);
    } else if (size < node.size) {
      node.data.fill(0, size, node.size);
    }
    node.size = size;
    if (this.isLive(node)) this.usedBytes += delta;
    node.mtim = node.ctim = this.clock();
  }

  /** Called by a handle when it closes: an unlinked file's bytes go when its last handle does. */
  releaseHandle(node: FileNode): void {
    node.openCount -= 1;
    if (!this.isLive(node)) this.usedBytes -= node.size;
  }

  private isLive(node: FileNode): boolean {
    return node.nlink > 0 || node.openCount > 0;
  }

  private newDir(): DirNode {
    const now = this.clock();
    return {
      kind: "dir",
      entries: new Map(),
      ino: this.nextIno++,
      nlink: 0,
      atim: now,
      mtim: now,
      ctim: now,
    };
  }

  private newFile(): FileNode {
    const now = this.clock();
    return {
      kind: "file",
      data: new Uint8Array(0),
      size: 0,
      openCount: 0,
      ino: this.nextIno++,
      nlink: 0,
      atim: now,
      mtim: now,
      ctim: now,
    };
  }

  /** The node at `path`; every intermediate must be a real directory (links were the resolver's job). */
  private walk(path: readonly string[]): Node {
    checkComponents(path);
    let node: Node = this.root;
    for (const name of path) {
      if (node.kind !== "dir") throw wasiError("NOTDIR");
      const next: Node | undefined = node.entries.get(name);
      if (next === undefined) throw wasiError("NOENT");
      node = next;
    }
    return node;
  }

  private parent(path: readonly string[]): { dir: DirNode; name: string } {
    checkComponents(path);
    const dir = this.walk(path.slice(0, -1));
    if (dir.kind !== "dir") throw wasiError("NOTDIR");
    const name = path.at(-1);
    if (name === undefined) throw new TwineError("internal", "parent of the mount root");
    return { dir, name };
  }

  private insert(dir: DirNode, name: string, node: Node, newLink = true): void {
    dir.entries.set(name, node);
    if (newLink && node.kind !== "dir") node.nlink += 1;
    this.touchDir(dir);
  }

  private remove(dir: DirNode, name: string, node: Node): void {
    dir.entries.delete(name);
    this.touchDir(dir);
    if (node.kind === "dir") return;
    node.nlink -= 1;
    node.ctim = this.clock();
    if (node.kind === "file" && !this.isLive(node)) this.usedBytes -= node.size;
  }

  private touchDir(dir: DirNode): void {
    dir.mtim = dir.ctim = this.clock();
  }
}

/** Positions past what a JS array can index are past the end of any mem file. */
function toIndex(position: bigint): number {
  if (position < 0n) throw wasiError("INVAL", "negative offset");
  return position > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(position);
}

class MemFileHandle implements FileHandle {
  readonly filetype = FILETYPE.REGULAR_FILE;
  readonly seekable = true;
  private closed = false;

  constructor(
    private readonly mount: MemMount,
    private readonly node: FileNode,
    private readonly readable: boolean,
    private readonly writable: boolean,
  ) {
    node.openCount += 1;
  }

  pread(buf: Uint8Array, position: bigint): number {
    this.check(this.readable);
    const start = toIndex(position);
    if (start >= this.node.size) return 0;
    const n = Math.min(buf.length, this.node.size - start);
    buf.set(this.node.data.subarray(start, start + n));
    return n;
  }

  pwrite(buf: Uint8Array, position: bigint): number {
    this.check(this.writable);
    const start = toIndex(position);
    if (buf.length === 0) return 0;
    const end = start + buf.length;
    if (end > this.node.size) this.mount.resize(this.node, end);
    this.node.data.set(buf, start);
    this.node.mtim = this.node.ctim = this.mount.now();
    return buf.length;
  }

  append(buf: Uint8Array): bigint {
    this.pwrite(buf, BigInt(this.node.size));
    return BigInt(this.node.size);
  }

  stat(): Filestat {
    this.check(true);
    return this.mount.statNode(this.node);
  }

  setSize(size: bigint): void {
    if (this.closed) throw wasiError("BADF");
    // As ftruncate(2) on a descriptor not open for writing.
    if (!this.writable) throw wasiError("INVAL", "not open for writing");
    this.mount.resize(this.node, toIndex(size));
  }

  allocate(offset: bigint, len: bigint): void {
    this.check(this.writable);
    if (len <= 0n) throw wasiError("INVAL", "allocate needs a positive length");
    const end = toIndex(offset) + toIndex(len);
    if (end > this.node.size) this.mount.resize(this.node, end);
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    this.check(true);
    this.mount.setNodeTimes(this.node, atim, mtim);
  }

  sync(_dataOnly: boolean): void {
    this.check(true);
  }

  close(): void {
    this.check(true);
    this.closed = true;
    this.mount.releaseHandle(this.node);
  }

  private check(allowed: boolean): void {
    if (this.closed || !allowed) throw wasiError("BADF");
  }
}

/** A directory opened for its metadata (fd_filestat_get, fd_filestat_set_times); data access fails. */
class MemDirHandle implements FileHandle {
  readonly filetype = FILETYPE.DIRECTORY;
  readonly seekable = false;
  private closed = false;

  constructor(
    private readonly mount: MemMount,
    private readonly node: DirNode,
  ) {}

  pread(_buf: Uint8Array, _position: bigint): number {
    this.check();
    throw wasiError("ISDIR");
  }

  pwrite(_buf: Uint8Array, _position: bigint): number {
    this.check();
    throw wasiError("BADF");
  }

  append(_buf: Uint8Array): bigint {
    this.check();
    throw wasiError("BADF");
  }

  stat(): Filestat {
    this.check();
    return this.mount.statNode(this.node);
  }

  setSize(_size: bigint): void {
    this.check();
    throw wasiError("INVAL");
  }

  allocate(_offset: bigint, _len: bigint): void {
    this.check();
    throw wasiError("BADF");
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    this.check();
    this.mount.setNodeTimes(this.node, atim, mtim);
  }

  sync(_dataOnly: boolean): void {
    this.check();
  }

  close(): void {
    this.check();
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw wasiError("BADF");
  }
}
