// One behaviour table, run against the mem mount and a writable host mount on a temp dir (with and
// without /proc directory pinning), so they cannot drift apart. Each case gets a fresh mount holding the same fixture tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostMount } from "./host.js";
import { MemMount } from "./mem.js";
import { FILETYPE, openOptions, type FileHandle, type Mount, type OpenOptions } from "./types.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const P = (s: string): string[] => (s === "" ? [] : s.split("/"));

const RO: OpenOptions = openOptions({ read: true });
const RW: OpenOptions = { ...RO, write: true };
const CREATE: OpenOptions = { ...RW, create: true };
const DIR: OpenOptions = { ...RO, directory: true };

function writeFile(m: Mount, p: string, text: string): void {
  const h = m.open(P(p), { ...CREATE, truncate: true });
  h.pwrite(enc.encode(text), 0n);
  h.close();
}

function readAll(h: FileHandle): string {
  const buf = new Uint8Array(Number(h.stat().size));
  const n = h.pread(buf, 0n);
  return dec.decode(buf.subarray(0, n));
}

function readFile(m: Mount, p: string): string {
  const h = m.open(P(p), RO);
  try {
    return readAll(h);
  } finally {
    h.close();
  }
}

/**
 * Fixture:  d/ { f = "hello", e/ (empty) }, f = "root file", full/ { x = "x" }, ln -> f,
 *           dangling -> missing
 */
function populate(m: Mount): void {
  m.mkdir(P("d"));
  writeFile(m, "d/f", "hello");
  m.mkdir(P("d/e"));
  writeFile(m, "f", "root file");
  m.mkdir(P("full"));
  writeFile(m, "full/x", "x");
  m.symlink("f", P("ln"));
  m.symlink("missing", P("dangling"));
}

interface Fixture {
  mount: Mount;
  cleanup(): void;
}

const kinds: Record<string, () => Fixture> = {
  mem: () => ({ mount: new MemMount(), cleanup: () => {} }),
  host: () => hostFixture(true),
  "host (unpinned)": () => hostFixture(false),
};

function hostFixture(pinDirectories: boolean): Fixture {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twine-vfs-"));
  const mount = new HostMount(dir, { readonly: false, pinDirectories });
  assert.equal(mount.pinsDirectories, pinDirectories);
  return { mount, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

type Case = [name: string, run: (m: Mount) => void];

const throwsCode = (f: () => unknown, code: string): void => {
  assert.throws(f, { code });
};

/** The POSIX errno table (Linux flavour). */
const errnoCases: Case[] = [
  ["mkdir existing dir -> EXIST", (m) => throwsCode(() => m.mkdir(P("d")), "wasi.exist")],
  ["mkdir over a file -> EXIST", (m) => throwsCode(() => m.mkdir(P("f")), "wasi.exist")],
  ["mkdir over a symlink -> EXIST", (m) => throwsCode(() => m.mkdir(P("dangling")), "wasi.exist")],
  ["mkdir the root -> EXIST", (m) => throwsCode(() => m.mkdir([]), "wasi.exist")],
  ["mkdir under a missing dir -> NOENT", (m) => throwsCode(() => m.mkdir(P("no/x")), "wasi.noent")],
  ["mkdir under a file -> NOTDIR", (m) => throwsCode(() => m.mkdir(P("f/x")), "wasi.notdir")],
  ["rmdir non-empty -> NOTEMPTY", (m) => throwsCode(() => m.rmdir(P("full")), "wasi.notempty")],
  ["rmdir a file -> NOTDIR", (m) => throwsCode(() => m.rmdir(P("f")), "wasi.notdir")],
  ["rmdir a symlink -> NOTDIR", (m) => throwsCode(() => m.rmdir(P("ln")), "wasi.notdir")],
  ["rmdir missing -> NOENT", (m) => throwsCode(() => m.rmdir(P("nope")), "wasi.noent")],
  ["rmdir the root -> BUSY", (m) => throwsCode(() => m.rmdir([]), "wasi.busy")],
  ["unlink a dir -> ISDIR", (m) => throwsCode(() => m.unlink(P("d")), "wasi.isdir")],
  ["unlink missing -> NOENT", (m) => throwsCode(() => m.unlink(P("nope")), "wasi.noent")],
  ["unlink under a file -> NOTDIR", (m) => throwsCode(() => m.unlink(P("f/x")), "wasi.notdir")],
  [
    "rename dir over non-empty dir -> NOTEMPTY",
    (m) => throwsCode(() => m.rename(P("d"), P("full")), "wasi.notempty"),
  ],
  [
    "rename dir into its own subtree -> INVAL",
    (m) => throwsCode(() => m.rename(P("d"), P("d/e/d")), "wasi.inval"),
  ],
  ["rename file over dir -> ISDIR", (m) => throwsCode(() => m.rename(P("f"), P("d/e")), "wasi.isdir")],
  ["rename dir over file -> NOTDIR", (m) => throwsCode(() => m.rename(P("d/e"), P("f")), "wasi.notdir")],
  ["rename missing -> NOENT", (m) => throwsCode(() => m.rename(P("nope"), P("x")), "wasi.noent")],
  ["rename into a missing dir -> NOENT", (m) => throwsCode(() => m.rename(P("f"), P("no/x")), "wasi.noent")],
  ["rename the root -> BUSY", (m) => throwsCode(() => m.rename([], P("x")), "wasi.busy")],
  ["open dir for write -> ISDIR", (m) => throwsCode(() => m.open(P("d"), RW), "wasi.isdir")],
  [
    "open dir with create -> ISDIR",
    (m) => throwsCode(() => m.open(P("d"), { ...RO, create: true }), "wasi.isdir"),
  ],
  [
    "open excl on existing -> EXIST",
    (m) => throwsCode(() => m.open(P("f"), { ...CREATE, exclusive: true }), "wasi.exist"),
  ],
  [
    "open excl on a dangling link -> EXIST",
    (m) => throwsCode(() => m.open(P("dangling"), { ...CREATE, exclusive: true }), "wasi.exist"),
  ],
  ["open missing without create -> NOENT", (m) => throwsCode(() => m.open(P("nope"), RO), "wasi.noent")],
  ["open a file as directory -> NOTDIR", (m) => throwsCode(() => m.open(P("f"), DIR), "wasi.notdir")],
  [
    "open a final symlink -> LOOP (never followed)",
    (m) => throwsCode(() => m.open(P("ln"), RO), "wasi.loop"),
  ],
  [
    "open directory with create -> INVAL",
    (m) => throwsCode(() => m.open(P("d"), { ...DIR, create: true }), "wasi.inval"),
  ],
  [
    "open truncate without write -> INVAL",
    (m) => throwsCode(() => m.open(P("f"), { ...RO, truncate: true }), "wasi.inval"),
  ],
  ["open through a file -> NOTDIR", (m) => throwsCode(() => m.open(P("f/x"), CREATE), "wasi.notdir")],
  ["link a dir -> PERM", (m) => throwsCode(() => m.link(P("d"), P("d2")), "wasi.perm")],
  ["link onto existing -> EXIST", (m) => throwsCode(() => m.link(P("f"), P("d/f")), "wasi.exist")],
  ["link missing -> NOENT", (m) => throwsCode(() => m.link(P("nope"), P("x")), "wasi.noent")],
  ["symlink onto existing -> EXIST", (m) => throwsCode(() => m.symlink("x", P("f")), "wasi.exist")],
  ["symlink with empty target -> NOENT", (m) => throwsCode(() => m.symlink("", P("s")), "wasi.noent")],
  ["symlink with NUL in target -> INVAL", (m) => throwsCode(() => m.symlink("a\0b", P("s")), "wasi.inval")],
  ["readlink a file -> INVAL", (m) => throwsCode(() => m.readlink(P("f")), "wasi.inval")],
  ["readlink missing -> NOENT", (m) => throwsCode(() => m.readlink(P("nope")), "wasi.noent")],
  ["readdir a file -> NOTDIR", (m) => throwsCode(() => m.readdir(P("f")), "wasi.notdir")],
  ["readdir a symlink -> NOTDIR (not followed)", (m) => throwsCode(() => m.readdir(P("ln")), "wasi.notdir")],
  ["lstat missing -> NOENT", (m) => throwsCode(() => m.lstat(P("d/nope")), "wasi.noent")],
  ["lstat through a file -> NOTDIR", (m) => throwsCode(() => m.lstat(P("f/x")), "wasi.notdir")],
  [
    "invalid components never reach storage -> vfs.escape",
    (m) => {
      for (const bad of [[".."], ["."], [""], ["a/b"], ["a\0"], ["d", ".."]]) {
        throwsCode(() => m.lstat(bad), "vfs.escape");
        throwsCode(() => m.open(bad, RO), "vfs.escape");
      }
    },
  ],
];

/** Behaviour beyond errno: data, links, times, handles. */
const behaviourCases: Case[] = [
  [
    "lstat reports types, sizes, nlink",
    (m) => {
      assert.equal(m.lstat([]).filetype, FILETYPE.DIRECTORY);
      assert.equal(m.lstat(P("f")).filetype, FILETYPE.REGULAR_FILE);
      assert.equal(m.lstat(P("f")).size, 9n);
      assert.equal(m.lstat(P("f")).nlink, 1n);
      const ln = m.lstat(P("ln"));
      assert.equal(ln.filetype, FILETYPE.SYMBOLIC_LINK);
      assert.equal(ln.size, 1n);
      assert.notEqual(m.lstat(P("f")).ino, m.lstat(P("d/f")).ino);
      assert.equal(m.readlink(P("ln")), "f");
    },
  ],
  [
    "readdir lists names and types, not . and ..",
    (m) => {
      const got = m
        .readdir([])
        .map((e) => `${e.name}:${e.filetype}`)
        .sort();
      assert.deepEqual(got, ["d:3", "dangling:7", "f:4", "full:3", "ln:7"]);
      const f = m.readdir(P("d")).find((e) => e.name === "f");
      assert.equal(f?.ino, m.lstat(P("d/f")).ino);
      assert.deepEqual(m.readdir(P("d/e")), []);
    },
  ],
  [
    "readdir order is stable for an unchanged dir",
    (m) => {
      for (const n of ["q", "a", "zz", "m"]) writeFile(m, `d/e/${n}`, n);
      const a = m.readdir(P("d/e")).map((e) => e.name);
      assert.deepEqual(
        m.readdir(P("d/e")).map((e) => e.name),
        a,
      );
      assert.deepEqual([...a].sort(), ["a", "m", "q", "zz"]);
    },
  ],
  [
    "write, read back, sparse write zero-fills",
    (m) => {
      const h = m.open(P("new"), CREATE);
      assert.equal(h.filetype, FILETYPE.REGULAR_FILE);
      assert.equal(h.seekable, true);
      assert.equal(h.pwrite(enc.encode("abc"), 0n), 3);
      assert.equal(h.pwrite(enc.encode("Z"), 6n), 1);
      const buf = new Uint8Array(10);
      assert.equal(h.pread(buf, 0n), 7);
      assert.deepEqual([...buf.subarray(0, 7)], [97, 98, 99, 0, 0, 0, 90]);
      assert.equal(h.pread(buf, 7n), 0);
      assert.equal(h.pread(buf, 1n << 62n), 0);
      assert.equal(h.stat().size, 7n);
      h.close();
    },
  ],
  [
    "setSize shrinks then grows with zeros (no stale bytes)",
    (m) => {
      const h = m.open(P("f"), RW);
      h.setSize(4n);
      assert.equal(readAll(h), "root");
      h.setSize(8n);
      const buf = new Uint8Array(8);
      h.pread(buf, 0n);
      assert.deepEqual([...buf.subarray(4)], [0, 0, 0, 0]);
      h.close();
    },
  ],
  [
    "append writes at the end and returns the new end",
    (m) => {
      const h = m.open(P("d/f"), { ...RW, append: true });
      assert.equal(h.append(enc.encode(" world")), 11n);
      h.close();
      assert.equal(readFile(m, "d/f"), "hello world");
    },
  ],
  [
    "allocate grows, never shrinks",
    (m) => {
      const h = m.open(P("d/f"), RW);
      h.allocate(0n, 2n);
      assert.equal(h.stat().size, 5n);
      h.allocate(4n, 6n);
      assert.equal(h.stat().size, 10n);
      throwsCode(() => h.allocate(0n, 0n), "wasi.inval");
      h.close();
    },
  ],
  [
    "truncate on open empties the file",
    (m) => {
      m.open(P("f"), { ...RW, truncate: true }).close();
      assert.equal(m.lstat(P("f")).size, 0n);
    },
  ],
  [
    "create makes an empty file; excl on missing succeeds",
    (m) => {
      m.open(P("d/e/n"), { ...CREATE, exclusive: true }).close();
      assert.equal(m.lstat(P("d/e/n")).size, 0n);
      assert.equal(m.lstat(P("d/e")).nlink, 2n);
    },
  ],
  [
    "read-only handle: write -> BADF, setSize -> INVAL; closed handle -> BADF",
    (m) => {
      const h = m.open(P("f"), RO);
      throwsCode(() => h.pwrite(enc.encode("x"), 0n), "wasi.badf");
      throwsCode(() => h.setSize(0n), "wasi.inval");
      throwsCode(() => h.allocate(0n, 1n), "wasi.badf");
      h.close();
      throwsCode(() => h.pread(new Uint8Array(1), 0n), "wasi.badf");
      throwsCode(() => h.stat(), "wasi.badf");
      throwsCode(() => h.close(), "wasi.badf");
      assert.equal(readFile(m, "f"), "root file");
    },
  ],
  [
    "write-only handle: read -> BADF",
    (m) => {
      const h = m.open(P("f"), { ...RW, read: false });
      throwsCode(() => h.pread(new Uint8Array(1), 0n), "wasi.badf");
      h.close();
    },
  ],
  [
    "a directory opens for metadata; data access fails",
    (m) => {
      const h = m.open(P("d"), DIR);
      assert.equal(h.filetype, FILETYPE.DIRECTORY);
      assert.equal(h.stat().ino, m.lstat(P("d")).ino);
      throwsCode(() => h.pread(new Uint8Array(1), 0n), "wasi.isdir");
      throwsCode(() => h.pwrite(new Uint8Array(1), 0n), "wasi.badf");
      h.close();
      m.open([], DIR).close();
    },
  ],
  [
    "open files stay usable after unlink",
    (m) => {
      const h = m.open(P("d/f"), RW);
      m.unlink(P("d/f"));
      throwsCode(() => m.lstat(P("d/f")), "wasi.noent");
      assert.equal(readAll(h), "hello");
      h.pwrite(enc.encode("J"), 0n);
      assert.equal(readAll(h), "Jello");
      assert.equal(h.stat().nlink, 0n);
      h.close();
      assert.deepEqual(
        m.readdir(P("d")).map((e) => e.name),
        ["e"],
      );
    },
  ],
  [
    "hard links share data and count nlink",
    (m) => {
      m.link(P("d/f"), P("d/e/g"));
      assert.equal(m.lstat(P("d/f")).nlink, 2n);
      assert.equal(m.lstat(P("d/e/g")).ino, m.lstat(P("d/f")).ino);
      const h = m.open(P("d/e/g"), RW);
      h.pwrite(enc.encode("J"), 0n);
      h.close();
      assert.equal(readFile(m, "d/f"), "Jello");
      m.unlink(P("d/f"));
      assert.equal(m.lstat(P("d/e/g")).nlink, 1n);
      assert.equal(readFile(m, "d/e/g"), "Jello");
    },
  ],
  [
    "link of a symlink links the symlink itself",
    (m) => {
      m.link(P("ln"), P("ln2"));
      assert.equal(m.lstat(P("ln2")).filetype, FILETYPE.SYMBOLIC_LINK);
      assert.equal(m.readlink(P("ln2")), "f");
    },
  ],
  [
    "rename file over file replaces it",
    (m) => {
      m.rename(P("d/f"), P("f"));
      assert.equal(readFile(m, "f"), "hello");
      throwsCode(() => m.lstat(P("d/f")), "wasi.noent");
    },
  ],
  [
    "rename dir over an empty dir replaces it",
    (m) => {
      m.rename(P("full"), P("d/e"));
      assert.equal(readFile(m, "d/e/x"), "x");
      throwsCode(() => m.lstat(P("full")), "wasi.noent");
    },
  ],
  [
    "rename onto itself or onto a hard link of itself does nothing",
    (m) => {
      m.rename(P("f"), P("f"));
      m.link(P("f"), P("g"));
      m.rename(P("f"), P("g"));
      assert.equal(readFile(m, "f"), "root file");
      assert.equal(readFile(m, "g"), "root file");
    },
  ],
  [
    "rename moves a symlink, not its target",
    (m) => {
      m.rename(P("ln"), P("d/ln"));
      assert.equal(m.readlink(P("d/ln")), "f");
      assert.equal(readFile(m, "f"), "root file");
    },
  ],
  [
    "mkdir, rmdir, unlink round trip",
    (m) => {
      m.mkdir(P("d/e/n"));
      assert.equal(m.lstat(P("d/e")).nlink, 3n);
      m.rmdir(P("d/e/n"));
      m.unlink(P("full/x"));
      m.rmdir(P("full"));
      m.unlink(P("ln"));
      assert.equal(m.lstat(P("f")).nlink, 1n);
      assert.deepEqual(
        m
          .readdir([])
          .map((e) => e.name)
          .sort(),
        ["d", "dangling", "f"],
      );
    },
  ],
  [
    "setTimes: set, omit and now",
    (m) => {
      const t1 = 1_600_000_000_500_000_000n; // exact in a double of seconds, for the host mount
      const t2 = 1_500_000_000_000_000_000n;
      m.setTimes(P("f"), { kind: "set", ns: t1 }, { kind: "set", ns: t2 });
      let st = m.lstat(P("f"));
      assert.equal(st.atim, t1);
      assert.equal(st.mtim, t2);
      m.setTimes(P("f"), { kind: "omit" }, { kind: "now" });
      st = m.lstat(P("f"));
      assert.equal(st.atim, t1);
      assert.ok(st.mtim > 1_700_000_000_000_000_000n);
      const h = m.open(P("f"), RW);
      h.setTimes({ kind: "set", ns: t2 }, { kind: "omit" });
      assert.equal(h.stat().atim, t2);
      h.close();
    },
  ],
  [
    "setTimes on a symlink does not touch its target",
    (m) => {
      const before = m.lstat(P("f")).mtim;
      m.setTimes(P("ln"), { kind: "omit" }, { kind: "set", ns: 1_000_000_000_000_000_000n });
      assert.equal(m.lstat(P("ln")).mtim, 1_000_000_000_000_000_000n);
      assert.equal(m.lstat(P("f")).mtim, before);
    },
  ],
  [
    "writing updates mtime",
    (m) => {
      m.setTimes(P("f"), { kind: "omit" }, { kind: "set", ns: 1_000_000_000_000_000_000n });
      const h = m.open(P("f"), RW);
      h.pwrite(enc.encode("R"), 0n);
      h.close();
      assert.ok(m.lstat(P("f")).mtim > 1_000_000_000_000_000_000n);
    },
  ],
];

for (const [kind, make] of Object.entries(kinds)) {
  for (const [name, run] of [...errnoCases, ...behaviourCases]) {
    void test(`${kind} mount: ${name}`, () => {
      const fx = make();
      try {
        populate(fx.mount);
        run(fx.mount);
      } finally {
        fx.mount.close();
        fx.cleanup();
      }
    });
  }
}
