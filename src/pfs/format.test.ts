import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { code } from "./test-helpers.js";
import {
  AAD,
  AAD_SIZE,
  DIRENT,
  DIRENT_HEADER,
  INODE,
  INODE_SIZE,
  MAX_FILE_SIZE,
  MAX_NODE_SIZE,
  MIN_NODE_SIZE,
  REF,
  REF_SIZE,
  ROOT_RECORD,
  ROOT_RECORD_SIZE,
  SUPER,
  SUPER_SLOT_SIZE,
  SUPER_USED,
  decodeDir,
  decodeInode,
  decodeRef,
  decodeSuper,
  encodeDir,
  encodeInode,
  encodeRef,
  encodeSuper,
  geometry,
  isValidNodeSize,
  type Field,
  type InodeRecord,
} from "./format.js";

function contiguous(layout: Record<string, Field>, size: number): void {
  let at = 0;
  for (const [name, f] of Object.entries(layout)) {
    assert.equal(f.offset, at, `${name} starts where the previous field ends`);
    at += f.size;
  }
  assert.equal(at, size);
}

void test("layout tables are contiguous and add up to their sizes", () => {
  contiguous(SUPER, SUPER_USED);
  contiguous(REF, REF_SIZE);
  contiguous(INODE, INODE_SIZE);
  contiguous(AAD, AAD_SIZE);
  contiguous(DIRENT, DIRENT_HEADER);
  contiguous(ROOT_RECORD, ROOT_RECORD_SIZE);
  assert.equal(MIN_NODE_SIZE % REF_SIZE, 0);
  assert.equal(MIN_NODE_SIZE % INODE_SIZE, 0);
});

void test("every node size has a geometry that reaches MAX_FILE_SIZE with exact arithmetic", () => {
  const sizes = [4096, 8192, 16384, 32768, 65536];
  for (const n of sizes) {
    const g = geometry(n);
    assert.equal(g.fanout, n / REF_SIZE);
    // The shallowest depth that holds the largest file: deep enough, one level less is not.
    assert.ok(g.fanout ** g.maxDepth * n >= MAX_FILE_SIZE);
    assert.ok(g.fanout ** (g.maxDepth - 1) * n < MAX_FILE_SIZE);
    assert.ok(Number.isSafeInteger(g.fanout ** g.maxDepth * 8));
    assert.ok(Number.isSafeInteger(g.maxSlots * n));
  }
  assert.equal(geometry(4096).maxDepth, 7);
  assert.equal(geometry(32768).maxDepth, 4);
  for (const bad of [0, 2048, 4095, 12288, 2 * MAX_NODE_SIZE, 4096.5]) {
    assert.equal(isValidNodeSize(bad), false, String(bad));
    assert.equal(
      code(() => geometry(bad)),
      "pfs.format",
    );
  }
});

void test("references, inodes, superblocks and directories round-trip", () => {
  const b = Buffer.alloc(MIN_NODE_SIZE);
  const ref = { slot: 12345, version: 7n, nonce: randomBytes(12), tag: randomBytes(16) };
  encodeRef(b, 64, ref);
  assert.deepEqual(decodeRef(b, 64), ref);
  encodeRef(b, 64, null);
  assert.equal(decodeRef(b, 64), null);

  const rec: InodeRecord = {
    type: 4,
    depth: 2,
    nlink: 3,
    size: 123456789,
    atim: 1n,
    mtim: 2n,
    ctim: 3n,
    generation: 9n,
    parent: 1,
    root: ref,
  };
  encodeInode(b, 128, rec);
  assert.deepEqual(decodeInode(b, 128, 7), rec);

  const sb = {
    volumeId: randomBytes(16),
    version: 42n,
    slotCount: 1000,
    tableSize: 4096,
    tableDepth: 1,
    tableRoot: ref,
    keyCheck: randomBytes(32),
    nodeSize: 4096,
  };
  assert.deepEqual(decodeSuper(encodeSuper(sb)), sb);
  // The default size encodes as 0, what a format-2 volume written before the field holds.
  assert.equal(encodeSuper(sb)[SUPER.nodeShift.offset], 0);
  for (const nodeSize of [8192, 32768, 65536]) {
    const big = { ...sb, nodeSize };
    assert.deepEqual(decodeSuper(encodeSuper(big)), big);
  }

  const dir = new Map([
    ["a", { ino: 2, type: 4 }],
    ["ünï", { ino: 3, type: 3 }],
    ["x".repeat(255), { ino: 4, type: 7 }],
  ]);
  assert.deepEqual(decodeDir(encodeDir(dir)), dir);
});

void test("decoders reject reserved bytes, bad types, bad names and truncation", () => {
  const b = Buffer.alloc(MIN_NODE_SIZE);
  encodeRef(b, 0, { slot: 1, version: 1n, nonce: Buffer.alloc(12), tag: Buffer.alloc(16) });
  b[REF.reserved.offset] = 1;
  assert.equal(
    code(() => decodeRef(b, 0)),
    "pfs.integrity",
  );
  const hole = Buffer.alloc(REF_SIZE);
  hole[REF.slot.offset] = 1; // version 0 but not all zero
  assert.equal(
    code(() => decodeRef(hole, 0)),
    "pfs.integrity",
  );
  const ino = Buffer.alloc(INODE_SIZE);
  ino[INODE.type.offset] = 5;
  assert.equal(
    code(() => decodeInode(ino, 0, 7)),
    "pfs.integrity",
  );
  const sb = encodeSuper({
    volumeId: Buffer.alloc(16),
    version: 1n,
    slotCount: 0,
    tableSize: 0,
    tableDepth: 0,
    tableRoot: null,
    keyCheck: Buffer.alloc(32),
    nodeSize: 4096,
  });
  assert.equal(sb.length, SUPER_SLOT_SIZE);
  sb[SUPER_USED + 10] = 1;
  assert.equal(
    code(() => decodeSuper(sb)),
    "pfs.integrity",
  );
  sb[SUPER_USED + 10] = 0;
  // A node size past 64 KiB, and a tree too deep for the declared node size.
  sb[SUPER.nodeShift.offset] = 5;
  assert.equal(
    code(() => decodeSuper(sb)),
    "pfs.integrity",
  );
  sb[SUPER.nodeShift.offset] = 3;
  sb[SUPER.tableDepth.offset] = geometry(32768).maxDepth + 1;
  assert.equal(
    code(() => decodeSuper(sb)),
    "pfs.integrity",
  );
  sb[SUPER.tableDepth.offset] = 0;
  sb[SUPER.nodeShift.offset] = 0;
  sb[0] = 0x41;
  assert.equal(
    code(() => decodeSuper(sb)),
    "pfs.format",
  );
  const good = encodeDir(new Map([["ab", { ino: 2, type: 4 }]]));
  assert.equal(
    code(() => decodeDir(good.subarray(0, good.length - 1))),
    "pfs.integrity",
  );
  for (const bad of ["..", ".", "a/b", "a\0b"]) {
    assert.equal(
      code(() => decodeDir(encodeDir(new Map([[bad, { ino: 2, type: 4 }]])))),
      "pfs.integrity",
      bad,
    );
  }
  const dup = Buffer.concat([good, good]);
  assert.equal(
    code(() => decodeDir(dup)),
    "pfs.integrity",
  );
});
