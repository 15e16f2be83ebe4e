// The seam between the WASI layer and the storage behind it. The WASI layer resolves guest paths
// component by component (see resolve.ts) and only ever hands a Mount a list of *validated* names
// relative to the mount root: never "", ".", "..", never containing "/" or NUL. Symlinks are read
// with `readlink` and followed by the resolver, inside the virtual namespace, so no mount ever
// follows a link on its own. Mount methods fail by throwing TwineError (`wasi.<errno>` codes or
// `pfs.*`), which the WASI layer turns into an errno in one place.

/** File types, numbered as witx `filetype`. */
export const FILETYPE = {
  UNKNOWN: 0,
  BLOCK_DEVICE: 1,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SOCKET_DGRAM: 5,
  SOCKET_STREAM: 6,
  SYMBOLIC_LINK: 7,
} as const;
export type Filetype = (typeof FILETYPE)[keyof typeof FILETYPE];

/** witx `filestat`; all u64 fields as bigint, times in nanoseconds since the epoch. */
export interface Filestat {
  dev: bigint;
  ino: bigint;
  filetype: Filetype;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** A time to set: leave as is, set to now, or set to a value (ns). Mirrors fstflags. */
export type TimeSpec = { kind: "omit" } | { kind: "now" } | { kind: "set"; ns: bigint };

export interface DirEntry {
  name: string;
  ino: bigint;
  filetype: Filetype;
}

/** Open options after the WASI layer has folded oflags, fdflags and rights into one decision. */
export interface OpenOptions {
  read: boolean;
  write: boolean;
  create: boolean;
  exclusive: boolean;
  truncate: boolean;
  append: boolean;
  /** Open must fail with NOTDIR unless the target is a directory. */
  directory: boolean;
}

/** OpenOptions with every flag off except those given (the one place the full list is spelled out). */
export function openOptions(flags: Partial<OpenOptions>): OpenOptions {
  return {
    read: false,
    write: false,
    create: false,
    exclusive: false,
    truncate: false,
    append: false,
    directory: false,
    ...flags,
  };
}

/** An open regular file or character device. Positions are handled by the WASI fd, not here. */
export interface FileHandle {
  readonly filetype: Filetype;
  /** Read up to buf.length bytes at `position`; returns bytes read (0 at end). */
  pread(buf: Uint8Array, position: bigint): number;
  /** Write all of buf at `position`; returns bytes written. */
  pwrite(buf: Uint8Array, position: bigint): number;
  /** Append all of buf at the current end; returns the new end offset. */
  append(buf: Uint8Array): bigint;
  stat(): Filestat;
  /** Set the size, zero-filling when it grows. */
  setSize(size: bigint): void;
  /** Ensure [offset, offset+len) is allocated; grows the file if needed. */
  allocate(offset: bigint, len: bigint): void;
  setTimes(atim: TimeSpec, mtim: TimeSpec): void;
  sync(dataOnly: boolean): void;
  close(): void;
  /** Streams (stdin/stdout/pipes) are not seekable: pread/pwrite ignore position and seek is ESPIPE. */
  readonly seekable: boolean;
}

export interface Mount {
  readonly kind: "mem" | "host" | "pfs";
  readonly readonly: boolean;
  /** lstat of a path (does not follow a final symlink); NOENT if missing. [] is the mount root. */
  lstat(path: readonly string[]): Filestat;
  /** Target of a symlink, as stored (may be relative or absolute; the resolver decides). */
  readlink(path: readonly string[]): string;
  /**
   * Optional shortcut for the resolver: true only if `path` is, now, a directory reached from the
   * mount root through directories alone (no symlink on the way), so its components need no lstat
   * each. false means only "walk it": never an error, and never a reason to refuse the path.
   */
  knownDirectory?(path: readonly string[]): boolean;
  open(path: readonly string[], opts: OpenOptions): FileHandle;
  /** All entries except "." and "..", in a stable order for an unchanged directory. */
  readdir(path: readonly string[]): DirEntry[];
  mkdir(path: readonly string[]): void;
  rmdir(path: readonly string[]): void;
  unlink(path: readonly string[]): void;
  rename(from: readonly string[], to: readonly string[]): void;
  symlink(target: string, path: readonly string[]): void;
  link(from: readonly string[], to: readonly string[]): void;
  /** path_filestat_set_times (follows no symlink: the resolver already did). */
  setTimes(path: readonly string[], atim: TimeSpec, mtim: TimeSpec): void;
  /** Commit everything durable (pfs: a new volume root). No-op where the host OS does it. */
  sync(): void;
  /** Release host resources. */
  close(): void;
}
