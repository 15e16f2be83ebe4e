// Volume.verify on sparse files: it walks the nodes that exist (the live view, uncommitted changes
// included), never the holes, and still authenticates every leaf and index node it passes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import type { FileHandle } from "../vfs/types.js";
import { DEFAULT_NODE_SIZE, REF_SIZE, decodeRef } from "./format.js";
import { NODES_FILE } from "./node-store.js";
import { PfsMount } from "./pfs-mount.js";
import type { NodeInfo } from "./volume.js";
import {
  KEY,
  RO,
  RW,
  bytes,
  code,
  flipBit,
  path,
  prng,
  readFile,
  tempDir,
  writeFile,
} from "./test-helpers.js";

const FAR = 2 ** 40;
const MID = 2 ** 39;

function readAt(h: FileHandle, pos: number, n: number): string {
  const b = Buffer.alloc(n);
  const got = h.pread(b, BigInt(pos));
  return b.subarray(0, got).toString("latin1");
}

/** "f": one byte at 0 and one at 2^40; "g": `gNodes` dense nodes (cache traffic). */
function build(dir: string, nodeSize: number, gNodes: number): Buffer {
  const m = PfsMount.create(dir, KEY, { nodeSize, cacheNodes: 16 });
  writeFile(m, "f", Buffer.from("a"));
  writeFile(m, "f", Buffer.from("b"), BigInt(FAR));
  const g = bytes(prng(3), gNodes * nodeSize);
  writeFile(m, "g", g);
  m.close();
  return g;
}

/** The test reaches into the node cache to set up (and check) one exact cache state. */
interface CachePeek {
  inodes: Map<number, { nodes: Map<number, { level: number; index: number; dirty: boolean; buf: Buffer }> }>;
}

function cachedNodes(
  m: PfsMount,
  ino: number,
): { level: number; index: number; dirty: boolean; buf: Buffer }[] {
  const o = (m.volume as unknown as CachePeek).inodes.get(ino);
  return o ? [...o.nodes.values()] : [];
}

for (const nodeSize of [DEFAULT_NODE_SIZE, 32768]) {
  const kib = `${nodeSize / 1024} KiB nodes`;
  const fanout = nodeSize / REF_SIZE;
  /** Depth of f's tree (data at 2^40): 5 at 4 KiB, 3 at 32 KiB. */
  let depth = 0;
  while (fanout ** depth <= FAR / nodeSize) depth++;

  void test(`a file with data at 0 and 2^40 verifies by its nodes (${kib})`, (t) => {
    const dir = tempDir(t);
    build(dir, nodeSize, 3);
    const m = PfsMount.open(dir, KEY, { readonly: true });
    const report = m.volume.verify();
    assert.equal(report.bytes, FAR + 1 + 3 * nodeSize);
    assert.equal(report.files, 2);
    // Freshly opened, the live trees are the committed ones, node for node.
    const map = m.volume.nodeMap();
    assert.equal(report.nodes, map.length);
    const ino = Number(m.lstat(path("f")).ino);
    assert.equal(map.filter((x) => x.ino === ino).length, 1 + 2 * depth);
    m.close();
  });

  void test(`uncommitted writes, truncates and extends of a sparse file verify (${kib})`, (t) => {
    const dir = tempDir(t);
    const g = build(dir, nodeSize, 40);
    const m = PfsMount.open(dir, KEY, { cacheNodes: 16 });
    const h = m.open(path("f"), RW);
    const expect = new Map<number, string>([
      [0, "a"],
      [FAR, "b"],
    ]);
    const check = (what: string): void => {
      const size = Number(h.stat().size);
      const report = m.volume.verify();
      assert.equal(report.bytes, size + g.length, what);
      for (const [at, s] of expect)
        if (at < size) assert.equal(readAt(h, at, 1), s, `${what}: byte at ${at}`);
      // Cache traffic between checks: the next verify starts with f's nodes evicted or half-flushed.
      assert.deepEqual(readFile(m, "g"), g);
    };
    check("committed");
    h.pwrite(Buffer.from("c"), BigInt(FAR + 3 * nodeSize));
    expect.set(FAR + 3 * nodeSize, "c");
    check("write next to the far leaf");
    h.pwrite(Buffer.from("d"), BigInt(MID));
    expect.set(MID, "d");
    check("write under holes");
    h.setSize(BigInt(MID + 10));
    expect.delete(FAR);
    expect.delete(FAR + 3 * nodeSize);
    check("truncate below the far leaf");
    h.setSize(BigInt(2 ** 45));
    check("extend (the tree grows)");
    h.pwrite(Buffer.from("e"), BigInt(2 ** 45 - 1));
    expect.set(2 ** 45 - 1, "e");
    check("write at the new end");
    assert.equal(readAt(h, MID + 10, 4), "\0\0\0\0");
    h.close();
    m.sync();
    const report = m.volume.verify();
    assert.equal(report.nodes, m.volume.nodeMap().length);
    m.close();
    const r = PfsMount.open(dir, KEY, { readonly: true });
    assert.equal(r.volume.verify().nodes, report.nodes);
    const hr = r.open(path("f"), RO);
    for (const [at, s] of expect) assert.equal(readAt(hr, at, 1), s);
    hr.close();
    r.close();
  });

  /**
   * f gets a new byte at 2^39, under holes down to its level-1 node. Reading g then evicts the
   * new leaf: it is sealed to disk, and its parent is created in the cache only, still under a
   * hole. Returns the mount in that state and the leaf's slot.
   */
  const orphanState = (dir: string): { m: PfsMount; slot: number } => {
    build(dir, nodeSize, 40);
    const m = PfsMount.open(dir, KEY, { cacheNodes: 16 });
    const ino = Number(m.lstat(path("f")).ino);
    const leaf = MID / nodeSize;
    writeFile(m, "f", Buffer.from("d"), BigInt(MID));
    const g = m.open(path("g"), RO);
    const b = Buffer.alloc(nodeSize);
    for (let i = 0; cachedNodes(m, ino).some((n) => n.level === 0 && n.index === leaf); i++) {
      assert.ok(i < 40, "the new leaf was never evicted");
      g.pread(b, BigInt(i * nodeSize));
    }
    g.close();
    const at = (level: number): { dirty: boolean; buf: Buffer } | undefined =>
      cachedNodes(m, ino).find((n) => n.level === level && n.index === Math.floor(leaf / fanout ** level));
    const parent = at(1);
    assert.ok(parent?.dirty, "the leaf's parent is cached, not yet sealed");
    assert.equal(at(2), undefined, "the parent sits under a hole");
    const ref = decodeRef(parent.buf, (leaf % fanout) * REF_SIZE);
    assert.ok(ref !== null);
    return { m, slot: ref.slot };
  };

  void test(`a cached node under a hole: verify reaches the disk nodes it references (${kib})`, (t) => {
    const base = tempDir(t);
    const good = orphanState(join(base, "good"));
    assert.equal(
      code(() => good.m.volume.verify()),
      "ok",
    );
    const h = good.m.open(path("f"), RO);
    assert.equal(readAt(h, MID, 1), "d");
    h.close();
    good.m.close();
    const bad = orphanState(join(base, "bad"));
    flipBit(join(base, "bad", NODES_FILE), bad.slot * nodeSize + 100);
    assert.equal(
      code(() => bad.m.volume.verify()),
      "pfs.integrity",
    );
  });

  void test(`a flipped byte in a leaf under a sparse region or in an index node fails verify (${kib})`, (t) => {
    const base = tempDir(t);
    const ref = join(base, "ref");
    build(ref, nodeSize, 3);
    // A second sparse file written after f: the open-time walk ends on its nodes, not on f's.
    const m = PfsMount.open(ref, KEY);
    writeFile(m, "z", Buffer.from("z"), BigInt(FAR));
    const ino = Number(m.lstat(path("f")).ino);
    m.close();
    const r = PfsMount.open(ref, KEY, { readonly: true });
    const nodes = r.volume.nodeMap().filter((x) => x.ino === ino);
    r.close();
    const far = (level: number): NodeInfo => {
      const x = nodes.find(
        (n) => n.level === level && n.index === Math.floor(FAR / nodeSize / fanout ** level),
      );
      assert.ok(x, `f's node at level ${level}`);
      return x;
    };
    let n = 0;
    const copy = (): string => {
      const d = join(base, `case${n++}`);
      cpSync(ref, d, { recursive: true });
      return d;
    };
    // Leaves are not read when a volume opens: only verify (or a read) catches the far one.
    let d = copy();
    flipBit(join(d, NODES_FILE), far(0).slot * nodeSize + 7);
    let v = PfsMount.open(d, KEY, { readonly: true });
    assert.equal(
      code(() => v.volume.verify()),
      "pfs.integrity",
    );
    v.close();
    // Index nodes are checked when the volume opens; changed after that, verify still catches them.
    for (const level of [1, depth]) {
      d = copy();
      v = PfsMount.open(d, KEY, { readonly: true });
      flipBit(join(d, NODES_FILE), far(level).slot * nodeSize + nodeSize - 1);
      assert.equal(
        code(() => v.volume.verify()),
        "pfs.integrity",
        `index node at level ${level}`,
      );
      v.close();
    }
    // The untouched volume verifies.
    v = PfsMount.open(copy(), KEY, { readonly: true });
    assert.equal(
      code(() => v.volume.verify()),
      "ok",
    );
    v.close();
  });
}
