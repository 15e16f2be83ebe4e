// Moving trees between the host and a volume (`twine pfs import|export|rekey`). Host paths come
// from the data owner's command line; names coming out of a volume were validated when their
// directory was authenticated (no "/", ".", "..", NUL), so joining them onto a host path is safe.
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { TwineError, isTwineError } from "../errors.js";
import { FILETYPE, openOptions, type FileHandle, type OpenOptions } from "../vfs/types.js";
import type { PfsMount } from "./pfs-mount.js";

const CHUNK = 1 << 20;
const CREATE: OpenOptions = openOptions({ read: true, write: true, create: true, truncate: true });
const READ: OpenOptions = { ...CREATE, write: false, create: false, truncate: false };

export interface TransferStats {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

/** Called with the bytes copied so far, after each chunk. */
export type OnBytes = (bytes: number) => void;

function hostError(what: string, e: unknown): TwineError {
  return new TwineError("io.host", `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

function stats(): TransferStats {
  return { files: 0, directories: 0, symlinks: 0, bytes: 0 };
}

/** Bytes of regular files under a host path (for the progress bar's total). */
export function hostTreeBytes(p: string): number {
  const st = lstatSync(p);
  if (st.isDirectory()) return readdirSync(p).reduce((n, name) => n + hostTreeBytes(join(p, name)), 0);
  return st.isFile() ? st.size : 0;
}

/** Bytes of regular files under a volume path. */
export function volumeTreeBytes(m: PfsMount, p: readonly string[]): number {
  const st = m.lstat(p);
  if (st.filetype === FILETYPE.DIRECTORY)
    return m.readdir(p).reduce((n, e) => n + volumeTreeBytes(m, [...p, e.name]), 0);
  return st.filetype === FILETYPE.REGULAR_FILE ? Number(st.size) : 0;
}

function mkdirIfMissing(m: PfsMount, p: readonly string[]): void {
  try {
    m.mkdir(p);
  } catch (e) {
    if (!isTwineError(e, "wasi.exist") || m.lstat(p).filetype !== FILETYPE.DIRECTORY) throw e;
  }
}

/** Copies a host file, directory tree or symlink to `dest` in the volume, then commits. */
export function importTree(
  m: PfsMount,
  hostSrc: string,
  dest: readonly string[],
  onBytes?: OnBytes,
): TransferStats {
  const s = stats();
  const buf = Buffer.allocUnsafe(CHUNK);
  const copy = (src: string, to: readonly string[]): void => {
    let st;
    try {
      st = lstatSync(src);
    } catch (e) {
      throw hostError(`cannot read ${src}`, e);
    }
    if (st.isDirectory()) {
      if (to.length > 0) mkdirIfMissing(m, to);
      s.directories++;
      for (const name of readdirSync(src)) copy(join(src, name), [...to, name]);
    } else if (st.isSymbolicLink()) {
      m.symlink(readlinkSync(src), to);
      s.symlinks++;
    } else if (st.isFile()) {
      const fd = openSync(src, "r");
      const h = m.open(to, CREATE);
      try {
        for (let pos = 0; ;) {
          const n = readSync(fd, buf, 0, CHUNK, pos);
          if (n === 0) break;
          h.pwrite(buf.subarray(0, n), BigInt(pos));
          pos += n;
          s.bytes += n;
          onBytes?.(s.bytes);
        }
      } finally {
        h.close();
        closeSync(fd);
      }
      s.files++;
    }
    // Sockets, fifos and devices have no meaning inside a volume: skipped.
  };
  copy(hostSrc, dest);
  m.sync();
  return s;
}

/** Copies a volume path to a new host path; refuses to overwrite existing host files. */
export function exportTree(
  m: PfsMount,
  src: readonly string[],
  hostDest: string,
  onBytes?: OnBytes,
): TransferStats {
  const s = stats();
  const copy = (from: readonly string[], to: string): void => {
    const st = m.lstat(from);
    if (st.filetype === FILETYPE.DIRECTORY) {
      try {
        mkdirSync(to, { recursive: true });
      } catch (e) {
        throw hostError(`cannot create ${to}`, e);
      }
      s.directories++;
      for (const e of m.readdir(from)) copy([...from, e.name], join(to, e.name));
    } else if (st.filetype === FILETYPE.SYMBOLIC_LINK) {
      try {
        symlinkSync(m.readlink(from), to);
      } catch (e) {
        throw hostError(`cannot create ${to}`, e);
      }
      s.symlinks++;
    } else {
      let fd: number;
      try {
        fd = openSync(to, "wx");
      } catch (e) {
        throw hostError(`cannot create ${to}`, e);
      }
      const h = m.open(from, READ);
      try {
        copyOut(h, fd, s, onBytes);
      } finally {
        h.close();
        closeSync(fd);
      }
      s.files++;
    }
  };
  copy(src, hostDest);
  return s;
}

function copyOut(h: FileHandle, fd: number, s: TransferStats, onBytes: OnBytes | undefined): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; ;) {
    const n = h.pread(buf, BigInt(pos));
    if (n === 0) break;
    writeSync(fd, buf, 0, n, pos);
    pos += n;
    s.bytes += n;
    onBytes?.(s.bytes);
  }
}

/** Copies a whole volume into another (rekey), keeping names, links and times. */
export function copyVolume(from: PfsMount, to: PfsMount, onBytes?: OnBytes): TransferStats {
  const s = stats();
  const buf = Buffer.allocUnsafe(CHUNK);
  const links = new Map<bigint, readonly string[]>();
  const copy = (p: readonly string[]): void => {
    const st = from.lstat(p);
    if (st.filetype === FILETYPE.DIRECTORY) {
      if (p.length > 0) to.mkdir(p);
      s.directories++;
      for (const e of from.readdir(p)) copy([...p, e.name]);
    } else if (st.filetype === FILETYPE.SYMBOLIC_LINK) {
      to.symlink(from.readlink(p), p);
      s.symlinks++;
    } else {
      const first = links.get(st.ino);
      if (first !== undefined) {
        to.link(first, p);
      } else {
        if (st.nlink > 1n) links.set(st.ino, p);
        const r = from.open(p, READ);
        const w = to.open(p, CREATE);
        try {
          for (let pos = 0; ;) {
            const n = r.pread(buf, BigInt(pos));
            if (n === 0) break;
            w.pwrite(buf.subarray(0, n), BigInt(pos));
            pos += n;
            s.bytes += n;
            onBytes?.(s.bytes);
          }
        } finally {
          r.close();
          w.close();
        }
        s.files++;
      }
    }
    to.setTimes(p, { kind: "set", ns: st.atim }, { kind: "set", ns: st.mtim });
  };
  copy([]);
  to.sync();
  return s;
}
