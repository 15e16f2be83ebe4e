// Shared by the pfs tests: temp volumes and small file helpers over the Mount seam.
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTwineError } from "../errors.js";
import { FILETYPE, openOptions, type Mount, type OpenOptions } from "../vfs/types.js";

export const KEY = Buffer.alloc(32, 7);
export const OTHER_KEY = Buffer.alloc(32, 9);

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "twine-pfs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** "ok" if `fn` returns, the code if it throws a TwineError; anything else is rethrown. */
export function code(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    if (isTwineError(e)) return e.code;
    throw e;
  }
}

/** Flips one bit (0x10) of the byte at `offset` of a host file, as a host attacker would. */
export function flipBit(file: string, offset: number): void {
  const fd = openSync(file, "r+");
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0x10;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

export const RW: OpenOptions = openOptions({ read: true, write: true, create: true });
export const RO: OpenOptions = { ...RW, write: false, create: false };

export function path(p: string): string[] {
  return p.split("/").filter((s) => s.length > 0);
}

export function writeFile(m: Mount, p: string, data: Uint8Array, at = 0n): void {
  const h = m.open(path(p), { ...RW, truncate: at === 0n });
  try {
    h.pwrite(data, at);
  } finally {
    h.close();
  }
}

export function readFile(m: Mount, p: string): Buffer {
  const h = m.open(path(p), RO);
  try {
    const size = Number(h.stat().size);
    const b = Buffer.alloc(size);
    const n = h.pread(b, 0n);
    return b.subarray(0, n);
  } finally {
    h.close();
  }
}

/** A deterministic PRNG (mulberry32) so failing seeds can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function bytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** A canonical digest of a whole mount: every path with its type and content (or link target). */
export function snapshot(m: Mount): string {
  const h = createHash("sha256");
  const walk = (dir: string[]): void => {
    const entries = m.readdir(dir).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = [...dir, e.name];
      h.update(`${p.join("/")}\0${e.filetype}\0`);
      if (e.filetype === FILETYPE.DIRECTORY) walk(p);
      else if (e.filetype === FILETYPE.SYMBOLIC_LINK) h.update(m.readlink(p));
      else h.update(readFile(m, p.join("/")));
      h.update("\0");
    }
  };
  walk([]);
  return h.digest("hex");
}
