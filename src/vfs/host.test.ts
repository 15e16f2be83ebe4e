// Host-mount specifics: confinement against real symlinks and a secret outside the root, the pinned
// directories that defeat a host swapping a directory for a link, read-only mounts, the errno table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isTwineError } from "../errors.js";
import { fromHostError } from "./host-errno.js";
import { HostMount } from "./host.js";
import { resolvePath } from "./resolve.js";
import { FILETYPE, openOptions, type Mount, type OpenOptions } from "./types.js";

const RO: OpenOptions = openOptions({ read: true });
const RW: OpenOptions = { ...RO, write: true };
const P = (s: string): string[] => (s === "" ? [] : s.split("/"));
const SECRET = `TOPSECRET-${process.pid}-${Date.now()}`;

/**
 * tmp/secret.txt, tmp/outside/secret.txt        (must never be read)
 * tmp/root/                                      (the mount)
 *   public.txt, sub/inner.txt
 *   escape -> ../secret.txt, abs -> tmp/secret.txt, dirout -> .., deepout -> ../outside,
 *   sub/up -> ../../secret.txt, sub/upup -> ../.., hop -> sub/up
 */
function makeTree(): { tmp: string; root: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-host-"));
  const root = path.join(tmp, "root");
  fs.writeFileSync(path.join(tmp, "secret.txt"), SECRET);
  fs.mkdirSync(path.join(tmp, "outside"));
  fs.writeFileSync(path.join(tmp, "outside", "secret.txt"), SECRET);
  fs.mkdirSync(path.join(root, "sub"), { recursive: true });
  fs.writeFileSync(path.join(root, "public.txt"), "public");
  fs.writeFileSync(path.join(root, "sub", "inner.txt"), "inner");
  fs.symlinkSync("../secret.txt", path.join(root, "escape"));
  fs.symlinkSync(path.join(tmp, "secret.txt"), path.join(root, "abs"));
  fs.symlinkSync("..", path.join(root, "dirout"));
  fs.symlinkSync("../outside", path.join(root, "deepout"));
  fs.symlinkSync("../../secret.txt", path.join(root, "sub", "up"));
  fs.symlinkSync("../..", path.join(root, "sub", "upup"));
  fs.symlinkSync("sub/up", path.join(root, "hop"));
  return { tmp, root };
}

/** Every path under dir with its type and size, never following links (readdir's recursive mode does). */
function listTree(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const st = fs.lstatSync(path.join(dir, name));
    out.push(`${prefix}${name}:${st.mode}:${st.size}:${st.mtimeMs}`);
    if (st.isDirectory()) out.push(...listTree(path.join(dir, name), `${prefix}${name}/`));
  }
  return out;
}

function withTree(
  run: (m: HostMount, tmp: string, root: string) => void,
  readonly = false,
  pinDirectories = true,
): void {
  const { tmp, root } = makeTree();
  const m = new HostMount(root, { readonly, pinDirectories });
  try {
    run(m, tmp, root);
  } finally {
    m.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Reads everything a guest could reach at `guestPath`, as text, or undefined on an error. */
function reachable(m: Mount, guestPath: string, follow: boolean): string | undefined {
  let r;
  try {
    r = resolvePath(m, [], guestPath, follow);
  } catch (e) {
    assert.ok(isTwineError(e), String(e));
    return undefined;
  }
  const seen: string[] = [];
  try {
    const h = m.open(r.path, RO);
    const buf = new Uint8Array(4096);
    const n = h.filetype === FILETYPE.DIRECTORY ? 0 : h.pread(buf, 0n);
    seen.push(new TextDecoder().decode(buf.subarray(0, n)));
    h.close();
  } catch (e) {
    assert.ok(isTwineError(e), String(e));
  }
  try {
    seen.push(...m.readdir(r.path).map((e) => e.name));
  } catch (e) {
    assert.ok(isTwineError(e), String(e));
  }
  try {
    seen.push(m.readlink(r.path));
  } catch (e) {
    assert.ok(isTwineError(e), String(e));
  }
  return seen.join("\n");
}

for (const pinned of [true, false]) {
  void test(`host mount (pinned=${pinned}): no path through the mount reads the secret or lists outside`, () => {
    withTree(
      (m) => {
        const paths = [
          "escape",
          "abs",
          "dirout",
          "dirout/secret.txt",
          "deepout",
          "deepout/secret.txt",
          "sub/up",
          "sub/upup",
          "sub/upup/secret.txt",
          "hop",
          "hop/",
          "../secret.txt",
          "sub/../../secret.txt",
          "/etc/passwd",
          "dirout/outside/secret.txt",
          "sub/up/..",
          "escape/.",
          ".",
          "sub",
          "public.txt",
        ];
        let readSomething = false;
        for (const p of paths) {
          for (const follow of [true, false]) {
            const seen = reachable(m, p, follow);
            if (seen === undefined) continue;
            assert.ok(!seen.includes(SECRET), `${p} leaked the secret`);
            assert.ok(!seen.split("\n").includes("secret.txt"), `${p} listed outside`);
            assert.ok(!seen.split("\n").includes("outside"), `${p} listed outside`);
            if (seen.includes("public")) readSomething = true;
          }
        }
        assert.ok(readSomething, "the walk must reach real content inside the mount");
      },
      false,
      pinned,
    );
  });
}

for (const pinned of [true, false]) {
  void test(`host mount (pinned=${pinned}): a component list with a link in it never leaves the root`, () => {
    withTree(
      (m) => {
        // The resolver would never produce these; a mount handed them must still not follow the link.
        assert.throws(() => m.open(P("escape"), RO), { code: "wasi.loop" });
        assert.throws(() => m.open(P("abs"), RO), { code: "wasi.loop" });
        assert.throws(() => m.readdir(P("dirout")), { code: "wasi.notdir" });
        assert.throws(() => m.open(P("dirout/secret.txt"), RO), { code: "wasi.notdir" });
        assert.throws(() => m.lstat(P("deepout/secret.txt")), { code: "wasi.notdir" });
        assert.throws(() => m.open(P("deepout/secret.txt"), RO), { code: "wasi.notdir" });
        assert.throws(() => m.mkdir(P("deepout/new")), { code: "wasi.notdir" });
        assert.throws(() => m.open(["..", "secret.txt"], RO), { code: "vfs.escape" });
        assert.throws(() => m.open(["sub/../../secret.txt"], RO), { code: "vfs.escape" });
      },
      false,
      pinned,
    );
  });
}

void test("host mount: a directory swapped for a link after resolution is caught (pinned dirs)", () => {
  withTree((m, tmp, root) => {
    assert.equal(m.pinsDirectories, true, "this Linux host has /proc/self/fd");
    fs.mkdirSync(path.join(root, "a", "b"), { recursive: true });
    fs.mkdirSync(path.join(tmp, "outside", "b"));
    fs.writeFileSync(path.join(tmp, "outside", "b", "secret.txt"), SECRET);
    const r = resolvePath(m, [], "a/b/secret.txt", true);
    assert.deepEqual(r.path, ["a", "b", "secret.txt"]);
    // A host process (or a guest in another runtime sharing the directory) swaps "a".
    fs.renameSync(path.join(root, "a"), path.join(root, "a-old"));
    fs.symlinkSync("../outside", path.join(root, "a"));
    assert.throws(() => m.open(r.path, RO), { code: "vfs.escape" });
    assert.throws(() => m.lstat(r.path), { code: "vfs.escape" });
    assert.throws(() => m.readdir(["a", "b"]), { code: "vfs.escape" });
    assert.throws(() => m.mkdir(["a", "b", "planted"]), { code: "vfs.escape" });
    assert.throws(() => m.unlink(r.path), { code: "vfs.escape" });
    assert.throws(() => m.rename(r.path, ["stolen"]), { code: "vfs.escape" });
    assert.equal(fs.existsSync(path.join(tmp, "outside", "b", "planted")), false);
    assert.equal(fs.readFileSync(path.join(tmp, "outside", "b", "secret.txt"), "utf8"), SECRET);
  });
});

void test("host mount: a kept (cached) pinned directory is checked again at every use", () => {
  withTree((m, tmp, root) => {
    fs.mkdirSync(path.join(root, "a", "b"), { recursive: true });
    fs.writeFileSync(path.join(root, "a", "b", "f.txt"), "first");
    const read = (): string => {
      const h = m.open(["a", "b", "f.txt"], RO);
      const buf = new Uint8Array(16);
      const text = new TextDecoder().decode(buf.subarray(0, h.pread(buf, 0n)));
      h.close();
      return text;
    };
    assert.equal(read(), "first"); // pins root/a/b and keeps its fd
    // Removed and made again by the host: the kept fd names a deleted directory, never used again.
    fs.rmSync(path.join(root, "a", "b"), { recursive: true });
    assert.throws(() => m.lstat(["a", "b", "f.txt"]), { code: "wasi.noent" });
    fs.mkdirSync(path.join(root, "a", "b"));
    fs.writeFileSync(path.join(root, "a", "b", "f.txt"), "second");
    assert.equal(read(), "second");
    // Moved out of the mount by the host, a link left in its place: the kept fd now names a
    // directory outside, and so does a fresh pin through the link; both are refused.
    fs.renameSync(path.join(root, "a"), path.join(tmp, "moved"));
    fs.symlinkSync("../moved", path.join(root, "a"));
    assert.throws(() => read(), { code: "vfs.escape" });
    assert.throws(() => m.mkdir(["a", "b", "planted"]), { code: "vfs.escape" });
    assert.equal(fs.existsSync(path.join(tmp, "moved", "b", "planted")), false);
  });
});

void test("host mount: lstat answers from a kept pin only while it still names the path", () => {
  withTree((m, _tmp, root) => {
    fs.mkdirSync(path.join(root, "a", "b"), { recursive: true });
    fs.mkdirSync(path.join(root, "c", "b"), { recursive: true });
    fs.writeFileSync(path.join(root, "a", "b", "f"), "a");
    m.open(["a", "b", "f"], RO).close(); // keeps a pin of root/a/b
    const st = m.lstat(["a", "b"]);
    const host = fs.lstatSync(path.join(root, "a", "b"), { bigint: true });
    assert.deepEqual([st.filetype, st.ino, st.mtim], [FILETYPE.DIRECTORY, host.ino, host.mtimeNs]);
    // "a" becomes a link to "c": the kept fd names root/a-old/b now and is not believed.
    fs.renameSync(path.join(root, "a"), path.join(root, "a-old"));
    fs.symlinkSync("c", path.join(root, "a"));
    assert.throws(() => m.lstat(["a", "b"]), { code: "wasi.notdir" });
    assert.deepEqual(resolvePath(m, [], "a/b/f", false).path, ["c", "b", "f"]);
    assert.equal(m.lstat(["a-old", "b"]).ino, host.ino);
  });
});

void test("host mount: kept directory fds are bounded and released by close()", () => {
  const openFds = (): number => fs.readdirSync("/proc/self/fd").length;
  const { tmp, root } = makeTree();
  try {
    for (let i = 0; i < 40; i++) fs.mkdirSync(path.join(root, `d${i}`, "x"), { recursive: true });
    const m = new HostMount(root, { readonly: true });
    const before = openFds();
    for (let i = 0; i < 40; i++) assert.equal(m.lstat([`d${i}`, "x"]).filetype, FILETYPE.DIRECTORY);
    const kept = openFds() - before;
    assert.ok(kept > 0 && kept <= 16, `kept ${kept} fds`);
    m.close();
    assert.equal(openFds(), before);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

void test("host mount: a missing entry is NOENT from lstat, readlink and open alike", () => {
  withTree((m) => {
    assert.throws(() => m.lstat(["sub", "missing"]), { code: "wasi.noent" });
    assert.throws(() => m.readlink(["sub", "missing"]), { code: "wasi.noent" });
    assert.throws(() => m.open(["sub", "missing"], RO), { code: "wasi.noent" });
    assert.throws(() => m.lstat(["missing", "x"]), { code: "wasi.noent" });
  });
});

void test("host mount: read-only refuses every mutation with ROFS and changes nothing", () => {
  withTree((m, _tmp, root) => {
    assert.equal(m.readonly, true);
    const before = listTree(root);
    const rofs = { code: "wasi.rofs" };
    assert.throws(() => m.mkdir(P("x")), rofs);
    assert.throws(() => m.rmdir(P("sub")), rofs);
    assert.throws(() => m.unlink(P("public.txt")), rofs);
    assert.throws(() => m.rename(P("public.txt"), P("x")), rofs);
    assert.throws(() => m.symlink("public.txt", P("x")), rofs);
    assert.throws(() => m.link(P("public.txt"), P("x")), rofs);
    assert.throws(() => m.setTimes(P("public.txt"), { kind: "now" }, { kind: "now" }), rofs);
    assert.throws(() => m.open(P("public.txt"), RW), rofs);
    assert.throws(() => m.open(P("public.txt"), { ...RW, truncate: true }), rofs);
    assert.throws(() => m.open(P("new.txt"), { ...RO, create: true }), rofs);
    assert.throws(() => m.open(P("public.txt"), { ...RO, create: true, exclusive: true }), {
      code: "wasi.exist",
    });
    const h = m.open(P("public.txt"), { ...RO, create: true });
    assert.throws(() => h.setTimes({ kind: "now" }, { kind: "now" }), rofs);
    assert.throws(() => h.pwrite(new Uint8Array(1), 0n), { code: "wasi.badf" });
    const buf = new Uint8Array(16);
    assert.equal(new TextDecoder().decode(buf.subarray(0, h.pread(buf, 0n))), "public");
    h.close();
    assert.deepEqual(listTree(root), before);
    assert.equal(fs.readFileSync(path.join(root, "public.txt"), "utf8"), "public");
  }, true);
});

void test("host mount: default is read-only; the root is the realpath", () => {
  const { tmp, root } = makeTree();
  try {
    fs.symlinkSync("root", path.join(tmp, "rootlink"));
    const m = new HostMount(path.join(tmp, "rootlink"));
    assert.equal(m.readonly, true);
    assert.equal(m.root, fs.realpathSync(root));
    assert.equal(m.lstat([]).filetype, FILETYPE.DIRECTORY);
    assert.throws(() => new HostMount(path.join(tmp, "missing")), { code: "wasi.noent" });
    assert.throws(() => new HostMount(path.join(root, "public.txt")), { code: "wasi.notdir" });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

void test("host mount: names and link targets that are not UTF-8 are ILSEQ", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-host-"));
  try {
    const bad = Buffer.from([0x66, 0xff, 0x66]);
    fs.symlinkSync(bad, Buffer.concat([Buffer.from(`${tmp}/`), Buffer.from("ln")]));
    const m = new HostMount(tmp);
    assert.throws(() => m.readlink(["ln"]), { code: "wasi.ilseq" });
    fs.writeFileSync(Buffer.concat([Buffer.from(`${tmp}/`), bad]), "x");
    assert.throws(() => m.readdir([]), { code: "wasi.ilseq" });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

void test("host mount: opening a FIFO does not hang and is not seekable", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-host-"));
  try {
    execFileSync("mkfifo", [path.join(tmp, "fifo")]);
    const m = new HostMount(tmp);
    const h = m.open(["fifo"], RO);
    assert.equal(h.filetype, FILETYPE.UNKNOWN);
    assert.equal(h.seekable, false);
    assert.equal(h.pread(new Uint8Array(8), 0n), 0); // no writer: end of stream
    h.close();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

void test("host errno table: Node error codes map to WASI codes, the rest to io.host", () => {
  const table: [string, string][] = [
    ["ENOENT", "wasi.noent"],
    ["EEXIST", "wasi.exist"],
    ["ENOTDIR", "wasi.notdir"],
    ["EISDIR", "wasi.isdir"],
    ["ENOTEMPTY", "wasi.notempty"],
    ["ELOOP", "wasi.loop"],
    ["EACCES", "wasi.acces"],
    ["EPERM", "wasi.perm"],
    ["EXDEV", "wasi.xdev"],
    ["EINVAL", "wasi.inval"],
    ["ENAMETOOLONG", "wasi.nametoolong"],
    ["EMFILE", "wasi.mfile"],
    ["ENOSPC", "wasi.nospc"],
    ["EBADF", "wasi.badf"],
    ["EMLINK", "wasi.mlink"],
    ["EROFS", "wasi.rofs"],
    ["EAGAIN", "wasi.again"],
    ["EPIPE", "wasi.pipe"],
    ["ESOMETHINGNEW", "io.host"],
  ];
  for (const [nodeCode, code] of table) {
    const e = Object.assign(new Error("x"), { code: nodeCode });
    const t = fromHostError(e, "op");
    assert.equal(t.code, code, nodeCode);
    assert.equal(t.cause, e);
  }
  assert.equal(fromHostError(new TypeError("bad arg"), "op").code, "io.host");
  assert.equal(fromHostError("not an error", "op").code, "io.host");
});

void test("host mount: a real EACCES from the host surfaces as wasi.acces", (t) => {
  if (process.getuid?.() === 0) {
    t.skip("root ignores permission bits");
    return;
  }
  withTree((m, _tmp, root) => {
    fs.chmodSync(path.join(root, "public.txt"), 0o000);
    assert.throws(() => m.open(P("public.txt"), RO), { code: "wasi.acces" });
  });
});
