// The resolver's rules, table-driven, against the mem mount and a host mount holding real symlinks.
// TWINE_VFS_FUZZ sets the size of the random-path campaign (default 1500 paths per mount).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isTwineError } from "../errors.js";
import { HostMount } from "./host.js";
import { MemMount } from "./mem.js";
import { resolvePath } from "./resolve.js";
import type { Mount } from "./types.js";

const P = (s: string): string[] => (s === "" ? [] : s.split("/"));

function populate(m: Mount): void {
  m.mkdir(P("a"));
  m.mkdir(P("a/b"));
  m.open(P("a/b/file"), mkfile).close();
  m.open(P("file"), mkfile).close();
  m.symlink("../../..", P("escape"));
  m.symlink("..", P("a/up"));
  m.symlink("../..", P("a/upup"));
  m.symlink("/etc/passwd", P("abs"));
  m.symlink("loop2", P("loop1"));
  m.symlink("loop1", P("loop2"));
  m.symlink("self", P("self"));
  m.symlink("a/b", P("dirlink"));
  m.symlink("a/b/", P("dirlink_slash"));
  m.symlink("file", P("filelink"));
  m.symlink("file/", P("fileslash"));
  m.symlink("nothing", P("dangling"));
  m.symlink("b/file", P("a/rel")); // relative to its own directory, not to base
  // chain41_0 -> chain41_1 -> ... -> chain41_40 -> file: 41 expansions; chain40_* needs 40.
  for (const [prefix, n] of [
    ["chain41_", 41],
    ["chain40_", 40],
  ] as const) {
    for (let i = 0; i < n; i++) m.symlink(i === n - 1 ? "file" : `${prefix}${i + 1}`, P(`${prefix}${i}`));
  }
}

const mkfile = {
  read: true,
  write: true,
  create: true,
  exclusive: true,
  truncate: false,
  append: false,
  directory: false,
};

type Expect = { path: string; trailing?: boolean } | { code: string };
type Row = [base: string, guestPath: string, followFinal: boolean, expect: Expect];

const ok = (p: string, trailing = false): Expect => ({ path: p, trailing });
const err = (code: string): Expect => ({ code: `wasi.${code}` });

const rows: Row[] = [
  ["", "file", true, ok("file")],
  ["", "a/b/file", true, ok("a/b/file")],
  ["", "./a/./b/../b/file", true, ok("a/b/file")],
  ["", "a//b", true, ok("a/b")],
  ["", ".", true, ok("", true)],
  ["", "a/b/..", true, ok("a", true)],
  // escapes
  ["", "a/../../x", true, err("notcapable")],
  ["", "../etc/passwd", true, err("notcapable")],
  ["", "..", true, err("notcapable")],
  ["", "/etc/passwd", true, err("notcapable")],
  ["", "/", true, err("notcapable")],
  ["", "escape", true, err("notcapable")],
  ["", "escape", false, ok("escape")],
  ["", "escape/etc/passwd", false, err("notcapable")],
  ["", "a/upup", true, err("notcapable")],
  ["", "a/upup/x", false, err("notcapable")],
  ["", "abs", true, err("notcapable")],
  ["", "abs", false, ok("abs")],
  ["", "abs/", false, err("notcapable")],
  ["", "abs/x", false, err("notcapable")],
  // links resolve relative to their own directory, physically
  ["", "a/up/file", true, ok("file")],
  ["", "a/rel", true, ok("a/b/file")],
  ["", "a/rel", false, ok("a/rel")],
  ["", "dirlink", true, ok("a/b")],
  ["", "dirlink", false, ok("dirlink")],
  ["", "dirlink/file", false, ok("a/b/file")],
  ["", "dirlink/../file", true, ok("a/file")],
  ["", "dangling", true, ok("nothing")],
  ["", "dangling", false, ok("dangling")],
  // loops
  ["", "loop1", true, err("loop")],
  ["", "loop1", false, ok("loop1")],
  ["", "self/x", false, err("loop")],
  ["", "chain41_0", true, err("loop")],
  ["", "chain41_0", false, ok("chain41_0")],
  ["", "chain40_0", true, ok("file")],
  // trailing slashes
  ["", "a/", false, ok("a", true)],
  ["", "a/.", false, ok("a", true)],
  ["", "a///", false, ok("a", true)],
  ["", "file/", true, err("notdir")],
  ["", "file/.", true, err("notdir")],
  ["", "file/x", true, err("notdir")],
  ["", "filelink/", false, err("notdir")],
  ["", "dirlink/", false, ok("a/b", true)],
  ["", "dirlink_slash", true, ok("a/b", true)],
  ["", "fileslash", true, err("notdir")],
  ["", "missing/", false, ok("missing", true)],
  // missing components
  ["", "missing", true, ok("missing")],
  ["", "missing/x", true, err("noent")],
  ["", "a/missing/x", true, err("noent")],
  ["", "", true, err("noent")],
  // NUL and long names
  ["", "a\0b", true, err("inval")],
  ["", "file\0", false, err("inval")],
  ["", "x".repeat(255), true, ok("x".repeat(255))],
  ["", "x".repeat(256), true, err("nametoolong")],
  ["", `a/${"x".repeat(256)}/file`, true, err("nametoolong")],
  ["", "é".repeat(127), true, ok("é".repeat(127))],
  ["", "é".repeat(128), true, err("nametoolong")],
  // a base below the root confines as tightly as the root does
  ["a", "..", true, err("notcapable")],
  ["a", "../file", true, err("notcapable")],
  ["a", "up", true, err("notcapable")],
  ["a", "up", false, ok("a/up")],
  ["a", "b/../b/file", true, ok("a/b/file")],
  ["a", "b/..", true, ok("a", true)],
  ["a", "rel", true, ok("a/b/file")],
  ["a/b", "../../file", true, err("notcapable")],
];

interface Fixture {
  mount: Mount;
  cleanup(): void;
}

const kinds: Record<string, () => Fixture> = {
  mem: () => ({ mount: new MemMount(), cleanup: () => {} }),
  host: () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twine-resolve-"));
    return {
      mount: new HostMount(dir, { readonly: false }),
      cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
};

/** Records every method the resolver calls on the mount. */
function spy(m: Mount): { mount: Mount; calls: Set<string> } {
  const calls = new Set<string>();
  const mount = new Proxy(m, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]): unknown => {
        calls.add(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { mount, calls };
}

for (const [kind, make] of Object.entries(kinds)) {
  void test(`resolvePath on ${kind}: rule table`, () => {
    const fx = make();
    try {
      populate(fx.mount);
      const { mount, calls } = spy(fx.mount);
      for (const [base, guestPath, followFinal, expect] of rows) {
        const label = `base=${JSON.stringify(base)} path=${JSON.stringify(guestPath.slice(0, 40))} follow=${followFinal}`;
        if ("code" in expect) {
          assert.throws(
            () => resolvePath(mount, P(base), guestPath, followFinal),
            { code: expect.code },
            label,
          );
        } else {
          const got = resolvePath(mount, P(base), guestPath, followFinal);
          assert.deepEqual(got, { path: P(expect.path), trailingSlash: expect.trailing ?? false }, label);
        }
      }
      // Only queries: the resolver never changes the mount.
      for (const c of calls) assert.ok(["knownDirectory", "lstat", "readlink"].includes(c), c);
    } finally {
      fx.cleanup();
    }
  });

  void test(`resolvePath on ${kind}: random paths never leave base`, () => {
    const fx = make();
    try {
      populate(fx.mount);
      const pieces = [
        "a",
        "b",
        "..",
        ".",
        "",
        "file",
        "escape",
        "up",
        "upup",
        "abs",
        "dirlink",
        "rel",
        "loop1",
        "x",
      ];
      const count = Number(process.env["TWINE_VFS_FUZZ"] ?? (kind === "mem" ? 1500 : 500));
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const allowed = new Set(["wasi.notcapable", "wasi.noent", "wasi.notdir", "wasi.loop"]);
      for (let i = 0; i < count; i++) {
        const base = rand(3) === 0 ? ["a"] : [];
        const parts = Array.from({ length: 1 + rand(6) }, () => pieces[rand(pieces.length)] ?? "");
        const guestPath = parts.join("/");
        try {
          const r = resolvePath(fx.mount, base, guestPath, rand(2) === 0);
          assert.deepEqual(r.path.slice(0, base.length), base, guestPath);
          for (const c of r.path)
            assert.ok(c !== "" && c !== "." && c !== ".." && !c.includes("/"), guestPath);
        } catch (e) {
          if (guestPath === "" && isTwineError(e, "wasi.noent")) continue;
          assert.ok(isTwineError(e) && allowed.has(e.code), `${guestPath}: ${String(e)}`);
        }
      }
    } finally {
      fx.cleanup();
    }
  });
}

void test("resolvePath on host: a pinned directory needs no lstat per component; one swapped for a link since is walked again", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twine-resolve-known-"));
  try {
    const host = new HostMount(dir, { readonly: false });
    fs.mkdirSync(path.join(dir, "a/b/c"), { recursive: true });
    fs.mkdirSync(path.join(dir, "elsewhere/c"), { recursive: true });
    fs.writeFileSync(path.join(dir, "a/b/c/f"), "x");
    fs.writeFileSync(path.join(dir, "elsewhere/c/f"), "y");
    let lstats = 0;
    const counting: Mount = Object.create(host, {
      lstat: { value: (p: readonly string[]) => (lstats++, host.lstat(p)) },
    }) as Mount;
    const resolve = (p: string): string[] => resolvePath(counting, [], p, true).path;

    // Before any operation pinned a/b/c, every component is looked at.
    assert.deepEqual(resolve("a/b/c/f"), P("a/b/c/f"));
    assert.equal(lstats, 4);
    host.open(P("a/b/c/f"), { ...mkfile, create: false }).close(); // pins a/b/c, as any operation in it
    lstats = 0;
    assert.deepEqual(resolve("a/b/c/f"), P("a/b/c/f"));
    assert.equal(lstats, 1, "only the final component");

    // The host swaps a/b for a link inside the mount: the link is expanded in guest space.
    fs.renameSync(path.join(dir, "a/b"), path.join(dir, "a/old"));
    fs.symlinkSync("../elsewhere", path.join(dir, "a/b"));
    assert.deepEqual(resolve("a/b/c/f"), P("elsewhere/c/f"));
    // ... or for one that leaves the mount: refused, as without the shortcut.
    host.open(P("elsewhere/c/f"), { ...mkfile, create: false }).close();
    fs.renameSync(path.join(dir, "elsewhere"), path.join(dir, "a/b2"));
    fs.symlinkSync("../../..", path.join(dir, "elsewhere"));
    assert.throws(() => resolve("elsewhere/c/f"), { code: "wasi.notcapable" });
    host.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
