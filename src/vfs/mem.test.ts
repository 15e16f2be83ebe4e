// Mem-mount specifics; the POSIX errno table shared with the host mount is in mount-behaviour.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemMount } from "./mem.js";
import { openOptions, type OpenOptions } from "./types.js";

const CREATE: OpenOptions = openOptions({ read: true, write: true, create: true });

void test("mem: readdir order is insertion order, and renames append", () => {
  const m = new MemMount();
  for (const n of ["zeta", "alpha", "mid"]) m.mkdir([n]);
  m.open(["b-file"], CREATE).close();
  assert.deepEqual(
    m.readdir([]).map((e) => e.name),
    ["zeta", "alpha", "mid", "b-file"],
  );
  m.rename(["zeta"], ["omega"]);
  assert.deepEqual(
    m.readdir([]).map((e) => e.name),
    ["alpha", "mid", "b-file", "omega"],
  );
});

void test("mem: times come from the injected clock", () => {
  let now = 1_000n;
  const m = new MemMount({ clock: () => now });
  assert.equal(m.lstat([]).mtim, 1_000n);
  now = 2_000n;
  const h = m.open(["f"], CREATE);
  assert.equal(h.stat().ctim, 2_000n);
  assert.equal(m.lstat([]).mtim, 2_000n, "creating an entry touches the directory");
  now = 3_000n;
  h.pwrite(new Uint8Array([1]), 0n);
  assert.equal(h.stat().mtim, 3_000n);
  now = 4_000n;
  m.setTimes(["f"], { kind: "now" }, { kind: "omit" });
  assert.deepEqual([m.lstat(["f"]).atim, m.lstat(["f"]).mtim, m.lstat(["f"]).ctim], [4_000n, 3_000n, 4_000n]);
  h.close();
});

void test("mem: mounts have distinct dev numbers and unique inode numbers", () => {
  const a = new MemMount();
  const b = new MemMount();
  assert.notEqual(a.lstat([]).dev, b.lstat([]).dev);
  a.mkdir(["d"]);
  a.open(["f"], CREATE).close();
  a.symlink("f", ["l"]);
  const inos = new Set([[], ["d"], ["f"], ["l"]].map((p) => a.lstat(p).ino));
  assert.equal(inos.size, 4);
});

void test("mem: maxBytes gives NOSPC across files and FBIG for one file", () => {
  const m = new MemMount({ maxBytes: 1000 });
  const a = m.open(["a"], CREATE);
  a.pwrite(new Uint8Array(600), 0n);
  const b = m.open(["b"], CREATE);
  assert.throws(() => b.pwrite(new Uint8Array(500), 0n), { code: "wasi.nospc" });
  assert.throws(() => a.setSize(1001n), { code: "wasi.fbig" });
  assert.throws(() => a.pwrite(new Uint8Array(1), 1n << 60n), { code: "wasi.fbig" });
  b.pwrite(new Uint8Array(400), 0n);
  assert.equal(m.bytesInUse, 1000);
  a.setSize(100n);
  assert.equal(m.bytesInUse, 500);
  a.close();
  b.close();
});

void test("mem: an unlinked file's bytes are freed when its last handle closes", () => {
  const m = new MemMount();
  const h = m.open(["f"], CREATE);
  h.pwrite(new Uint8Array(100), 0n);
  const h2 = m.open(["f"], CREATE);
  m.unlink(["f"]);
  assert.equal(m.bytesInUse, 100);
  h.close();
  assert.equal(m.bytesInUse, 100);
  h2.pwrite(new Uint8Array(50), 100n);
  h2.close();
  assert.equal(m.bytesInUse, 0);
  m.open(["g"], CREATE).pwrite(new Uint8Array(10), 0n);
  m.unlink(["g"]);
  // A handle is still open on g (never closed above), so its bytes stay counted.
  assert.equal(m.bytesInUse, 10);
});

void test("mem: many small appends stay fast (capacity doubles)", () => {
  const m = new MemMount();
  const h = m.open(["log"], CREATE);
  const byte = new Uint8Array([7]);
  const n = 200_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) h.append(byte);
  const ms = performance.now() - t0;
  assert.equal(h.stat().size, BigInt(n));
  // Copying on every append would move ~20 GB here; doubling moves ~400 KB.
  assert.ok(ms < 5_000, `200k appends took ${ms.toFixed(0)} ms`);
  const buf = new Uint8Array(n);
  assert.equal(h.pread(buf, 0n), n);
  assert.ok(buf.every((b) => b === 7));
  h.close();
});

void test("mem: renaming a directory moves its whole subtree", () => {
  const m = new MemMount();
  m.mkdir(["a"]);
  m.mkdir(["a", "b"]);
  m.open(["a", "b", "f"], CREATE).close();
  m.mkdir(["z"]);
  m.rename(["a"], ["z", "a2"]);
  assert.equal(m.lstat(["z", "a2", "b", "f"]).size, 0n);
  assert.equal(m.lstat(["z"]).nlink, 3n);
  assert.equal(m.lstat([]).nlink, 3n);
});

void test("mem: a large shrink (which reallocates) then regrow leaves no stale bytes", () => {
  const m = new MemMount();
  const h = m.open(["f"], CREATE);
  h.pwrite(new Uint8Array(1 << 20).fill(9), 0n);
  h.setSize(10n);
  h.setSize(50n); // within the new capacity: no copy hides stale bytes here
  const small = new Uint8Array(50);
  assert.equal(h.pread(small, 0n), 50);
  assert.ok(small.subarray(10).every((b) => b === 0));
  h.setSize(1000n);
  const buf = new Uint8Array(1000);
  assert.equal(h.pread(buf, 0n), 1000);
  assert.ok(buf.subarray(0, 10).every((b) => b === 9));
  assert.ok(buf.subarray(10).every((b) => b === 0));
  assert.equal(m.bytesInUse, 1000);
  h.close();
});
