// An attacker with the host directory: every change must end in a pfs.* error, never in wrong
// plaintext. Each case edits a fresh copy of one reference volume.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, openSync, closeSync, readSync, rmSync, writeSync, truncateSync, statSync } from "node:fs";
import { join } from "node:path";
import { isTwineError } from "../errors.js";
import type { Mount } from "../vfs/types.js";
import { NODE_SIZE, TABLE_KIND } from "./format.js";
import { NODES_FILE, SUPER_FILE } from "./node-store.js";
import { PfsMount } from "./pfs-mount.js";
import type { NodeInfo, TrustedRoot } from "./volume.js";
import { KEY, OTHER_KEY, bytes, path, prng, readFile, tempDir, writeFile } from "./test-helpers.js";

const rand = prng(42);
const CONTENT: Record<string, Buffer> = {
  "a/one.bin": bytes(rand, 20_000),
  "a/two.bin": bytes(rand, 20_000),
  "b/three.txt": Buffer.from("three"),
  "b/four.txt": Buffer.from("four!"),
  "big.bin": bytes(rand, 70 * NODE_SIZE),
};

function build(dir: string): { nodes: NodeInfo[]; inos: Map<string, number>; trusted: TrustedRoot } {
  const m = PfsMount.create(dir, KEY);
  m.mkdir(["a"]);
  m.mkdir(["b"]);
  // Enough inodes that the inode table needs an index node too.
  m.mkdir(["many"]);
  for (let i = 0; i < 40; i++) writeFile(m, `many/f${i}`, Buffer.from(`file ${i}`));
  for (const [p, data] of Object.entries(CONTENT)) writeFile(m, p, data);
  m.symlink("a/one.bin", ["ln"]);
  m.sync();
  const inos = new Map<string, number>();
  for (const p of [...Object.keys(CONTENT), "a", "b", "ln"]) inos.set(p, Number(m.lstat(path(p)).ino));
  const nodes = m.volume.nodeMap();
  const trusted = m.volume.trustedRoot;
  m.close();
  return { nodes, inos, trusted };
}

/** Opens, verifies and reads everything; returns "ok" or the error code. Wrong plaintext fails. */
function probe(dir: string, key: Uint8Array = KEY, trusted?: TrustedRoot): string {
  let m: Mount | undefined;
  try {
    const pm = PfsMount.open(dir, key, { trusted });
    m = pm;
    pm.volume.verify();
    for (const [p, data] of Object.entries(CONTENT))
      assert.deepEqual(readFile(pm, p), data, `plaintext of ${p}`);
    return "ok";
  } catch (e) {
    if (isTwineError(e)) return e.code;
    throw e;
  } finally {
    try {
      m?.close();
    } catch {
      // closing a half-broken volume may fail again; the probe already has its answer
    }
  }
}

function readSlot(dir: string, slot: number): Buffer {
  const fd = openSync(join(dir, NODES_FILE), "r");
  const b = Buffer.alloc(NODE_SIZE);
  readSync(fd, b, 0, NODE_SIZE, slot * NODE_SIZE);
  closeSync(fd);
  return b;
}

function writeSlot(dir: string, slot: number, b: Buffer): void {
  const fd = openSync(join(dir, NODES_FILE), "r+");
  writeSync(fd, b, 0, NODE_SIZE, slot * NODE_SIZE);
  closeSync(fd);
}

function swapSlots(dir: string, a: number, b: number): void {
  const x = readSlot(dir, a);
  const y = readSlot(dir, b);
  writeSlot(dir, a, y);
  writeSlot(dir, b, x);
}

function flipBit(file: string, offset: number): void {
  const fd = openSync(file, "r+");
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0] = (b[0] ?? 0) ^ 0x10;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

void test("tamper: every kind of node, the superblock, swaps, truncation, replay, rollback, wrong key", async (t) => {
  const base = tempDir(t);
  const ref = join(base, "ref");
  const { nodes, inos, trusted } = build(ref);
  assert.equal(probe(ref), "ok");
  let n = 0;
  const fresh = (): string => {
    const d = join(base, `case${n++}`);
    cpSync(ref, d, { recursive: true });
    return d;
  };
  const expectPfs = (d: string, what: string, trustedRoot?: TrustedRoot): void => {
    const c = probe(d, KEY, trustedRoot);
    assert.match(c, /^pfs\./, `${what}: got ${c}`);
  };
  const of = (p: string, level = 0): NodeInfo[] =>
    nodes.filter((x) => x.ino === inos.get(p) && x.level === level).sort((a, b) => a.index - b.index);

  await t.test("a flipped bit in every kind of node", () => {
    const kinds = new Map<string, NodeInfo>();
    for (const x of nodes) kinds.set(`${x.kind === TABLE_KIND ? "table" : x.kind}/${x.level}`, x);
    // table data + index, directory data, file data + index, symlink data
    for (const k of ["table/0", "table/1", "3/0", "4/0", "4/1", "7/0"]) assert.ok(kinds.has(k), k);
    for (const [k, x] of kinds) {
      for (const at of [0, 1234, NODE_SIZE - 1]) {
        const d = fresh();
        flipBit(join(d, NODES_FILE), x.slot * NODE_SIZE + at);
        expectPfs(d, `flip in ${k} at ${at}`);
      }
    }
  });

  await t.test("a flipped bit anywhere in the superblock", () => {
    for (const at of [0, 9, 20, 33, 41, 49, 56, 70, 100, 130, 170, 4000]) {
      const d = fresh();
      flipBit(join(d, SUPER_FILE), at);
      expectPfs(d, `superblock flip at ${at}`);
    }
  });

  await t.test("a swapped pair of nodes in one file, and between files", () => {
    const [a0, a1] = of("a/one.bin");
    const [b0] = of("a/two.bin");
    assert.ok(a0 && a1 && b0);
    let d = fresh();
    swapSlots(d, a0.slot, a1.slot);
    expectPfs(d, "swap within a file");
    d = fresh();
    swapSlots(d, a0.slot, b0.slot);
    expectPfs(d, "swap between files");
  });

  await t.test("a file swapped with another (all its nodes)", () => {
    const one = of("a/one.bin");
    const two = of("a/two.bin");
    assert.equal(one.length, two.length);
    const d = fresh();
    one.forEach((x, i) => swapSlots(d, x.slot, two[i]!.slot));
    expectPfs(d, "file swap");
  });

  await t.test("a file moved to another directory (directory contents swapped)", () => {
    const [da] = of("a");
    const [db] = of("b");
    assert.ok(da && db);
    let d = fresh();
    writeSlot(d, db.slot, readSlot(d, da.slot));
    expectPfs(d, "entries of a/ copied into b/");
    d = fresh();
    swapSlots(d, da.slot, db.slot);
    expectPfs(d, "directories swapped");
  });

  await t.test("a truncated node store, a truncated or missing superblock", () => {
    let d = fresh();
    const size = statSync(join(d, NODES_FILE)).size;
    truncateSync(join(d, NODES_FILE), size - NODE_SIZE);
    expectPfs(d, "store minus one node");
    d = fresh();
    truncateSync(join(d, NODES_FILE), size - 100);
    expectPfs(d, "store minus 100 bytes");
    d = fresh();
    truncateSync(join(d, SUPER_FILE), 100);
    expectPfs(d, "short superblock");
    for (const f of [SUPER_FILE, NODES_FILE]) {
      d = fresh();
      rmSync(join(d, f));
      expectPfs(d, `missing ${f}`);
    }
  });

  await t.test("an old copy of a file replayed, and the whole volume rolled back", () => {
    const old = fresh();
    const cur = fresh();
    const m = PfsMount.open(cur, KEY);
    writeFile(m, "a/one.bin", Buffer.alloc(20_000, 1));
    m.sync();
    const newer = m.volume.trustedRoot;
    const newNodes = m.volume.nodeMap().filter((x) => x.ino === inos.get("a/one.bin") && x.level === 0);
    m.close();
    // Old ciphertext of the file's nodes written over the nodes the new version references.
    let d = join(base, `case${n++}`);
    cpSync(cur, d, { recursive: true });
    of("a/one.bin").forEach((x, i) => writeSlot(d, newNodes[i]!.slot, readSlot(old, x.slot)));
    assert.match(probe(d), /^pfs\./);
    // The old volume as a whole is internally consistent: only the trusted root can tell.
    assert.equal(probe(old), "ok");
    assert.equal(probe(old, KEY, newer), "pfs.rollback");
    // Same version, different content: a fork.
    assert.equal(probe(old, KEY, { version: trusted.version, rootHash: Buffer.alloc(32) }), "pfs.integrity");
    assert.equal(probe(ref, KEY, trusted), "ok");
    d = join(base, `case${n++}`);
    cpSync(cur, d, { recursive: true });
    cpSync(join(old, SUPER_FILE), join(d, SUPER_FILE));
    assert.equal(probe(d, KEY, newer), "pfs.rollback");
  });

  await t.test("a wrong key", () => {
    assert.equal(probe(ref, OTHER_KEY), "pfs.key");
  });
});
