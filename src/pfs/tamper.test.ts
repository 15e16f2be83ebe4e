// An attacker with the host directory: every change must end in a pfs.* error, never in wrong
// plaintext. Each case edits a fresh copy of one reference volume; the whole suite runs at the default
// node size and at 32 KiB.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  openSync,
  closeSync,
  readSync,
  rmSync,
  writeSync,
  truncateSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { isTwineError } from "../errors.js";
import type { Mount } from "../vfs/types.js";
import { DEFAULT_NODE_SIZE, INODE_SIZE, SUPER, SUPER_SLOT_SIZE, TABLE_KIND } from "./format.js";
import { deriveKeys, macSuper } from "./keys.js";
import { NODES_FILE, SUPER_FILE } from "./node-store.js";
import { PfsMount } from "./pfs-mount.js";
import type { NodeInfo, TrustedRoot } from "./volume.js";
import { KEY, OTHER_KEY, bytes, flipBit, path, prng, readFile, tempDir, writeFile } from "./test-helpers.js";

/** The reference volume's files, scaled so that every node size gets the same tree shapes. */
function content(nodeSize: number): Record<string, Buffer> {
  const rand = prng(42);
  const scale = nodeSize / DEFAULT_NODE_SIZE;
  return {
    "a/one.bin": bytes(rand, 20_000 * scale),
    "a/two.bin": bytes(rand, 20_000 * scale),
    "b/three.txt": Buffer.from("three"),
    "b/four.txt": Buffer.from("four!"),
    "big.bin": bytes(rand, 70 * nodeSize),
  };
}

interface Reference {
  nodes: NodeInfo[];
  inos: Map<string, number>;
  trusted: TrustedRoot;
}

function build(dir: string, nodeSize: number, files: Record<string, Buffer>): Reference {
  const m = PfsMount.create(dir, KEY, { nodeSize });
  m.mkdir(["a"]);
  m.mkdir(["b"]);
  // Enough inodes that the inode table needs an index node too.
  m.mkdir(["many"]);
  const many = Math.max(40, nodeSize / INODE_SIZE);
  for (let i = 0; i < many; i++) writeFile(m, `many/f${i}`, Buffer.from(`file ${i}`));
  for (const [p, data] of Object.entries(files)) writeFile(m, p, data);
  m.symlink("a/one.bin", ["ln"]);
  m.sync();
  const inos = new Map<string, number>();
  for (const p of [...Object.keys(files), "a", "b", "ln"]) inos.set(p, Number(m.lstat(path(p)).ino));
  const nodes = m.volume.nodeMap();
  const trusted = m.volume.trustedRoot;
  m.close();
  return { nodes, inos, trusted };
}

/** Opens, verifies and reads everything; returns "ok" or the error code. Wrong plaintext fails. */
function probeFiles(
  dir: string,
  files: Record<string, Buffer>,
  key: Uint8Array = KEY,
  trusted?: TrustedRoot,
): string {
  let m: Mount | undefined;
  try {
    const pm = PfsMount.open(dir, key, { trusted });
    m = pm;
    pm.volume.verify();
    for (const [p, data] of Object.entries(files))
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

function readBlock(file: string, size: number, index: number): Buffer {
  const fd = openSync(file, "r");
  const b = Buffer.alloc(size);
  readSync(fd, b, 0, size, index * size);
  closeSync(fd);
  return b;
}

function writeBlock(file: string, size: number, index: number, b: Buffer): void {
  const fd = openSync(file, "r+");
  writeSync(fd, b, 0, size, index * size);
  closeSync(fd);
}

function readSuperSlot(dir: string, slot: number): Buffer {
  return readBlock(join(dir, SUPER_FILE), SUPER_SLOT_SIZE, slot);
}

function writeSuperSlot(dir: string, slot: number, b: Buffer): void {
  writeBlock(join(dir, SUPER_FILE), SUPER_SLOT_SIZE, slot, b);
}

for (const NODE_SIZE of [DEFAULT_NODE_SIZE, 32768])
  void test(`tamper (${NODE_SIZE / 1024} KiB nodes): every kind of node, the superblock, swaps, truncation, replay, rollback, wrong key`, async (t) => {
    const CONTENT = content(NODE_SIZE);
    const ONE_SIZE = CONTENT["a/one.bin"]?.length ?? 0;
    const probe = (dir: string, key: Uint8Array = KEY, trusted?: TrustedRoot): string =>
      probeFiles(dir, CONTENT, key, trusted);
    const readSlot = (dir: string, slot: number): Buffer => readBlock(join(dir, NODES_FILE), NODE_SIZE, slot);
    const writeSlot = (dir: string, slot: number, b: Buffer): void =>
      writeBlock(join(dir, NODES_FILE), NODE_SIZE, slot, b);
    const swapSlots = (dir: string, a: number, b: number): void => {
      const x = readSlot(dir, a);
      const y = readSlot(dir, b);
      writeSlot(dir, a, y);
      writeSlot(dir, b, x);
    };
    const base = tempDir(t);
    const ref = join(base, "ref");
    const { nodes, inos, trusted } = build(ref, NODE_SIZE, CONTENT);
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

    const current = Number(trusted.version % 2n);
    const previous = 1 - current;
    const superAt = (slot: number, at: number): number => slot * SUPER_SLOT_SIZE + at;
    const SUPER_OFFSETS = [0, 9, 20, 33, 41, 49, 56, 57, 60, 70, 100, 130, 170, 4000];

    await t.test("a flipped bit in both superblock slots", () => {
      for (const at of SUPER_OFFSETS) {
        const d = fresh();
        flipBit(join(d, SUPER_FILE), superAt(0, at));
        flipBit(join(d, SUPER_FILE), superAt(1, at));
        expectPfs(d, `superblock flip at ${at} in both slots`);
      }
    });

    await t.test(
      "a damaged current slot falls back to the previous commit: only the trusted root tells",
      () => {
        for (const at of SUPER_OFFSETS) {
          const d = fresh();
          flipBit(join(d, SUPER_FILE), superAt(current, at));
          // The fallback (version 1: the empty volume) is itself authentic; a crash tearing the slot
          // being written looks exactly like this.
          const m = PfsMount.open(d, KEY);
          assert.equal(m.volume.trustedRoot.version, trusted.version - 1n);
          assert.deepEqual(m.readdir([]), []);
          m.close();
          assert.equal(probe(d, KEY, trusted), "pfs.rollback", `flip at ${at}`);
        }
        // Zeroing the slot (as if never written) is the same rollback by one.
        const d = fresh();
        writeSuperSlot(d, current, Buffer.alloc(SUPER_SLOT_SIZE));
        assert.equal(probe(d, KEY, trusted), "pfs.rollback");
      },
    );

    await t.test("a damaged previous slot changes nothing", () => {
      const d = fresh();
      flipBit(join(d, SUPER_FILE), superAt(previous, 170));
      assert.equal(probe(d, KEY, trusted), "ok");
    });

    await t.test("the newer slot replaced by an older valid one: only the trusted root tells", () => {
      const cur = fresh();
      const oldSlot = readSuperSlot(cur, current);
      const m = PfsMount.open(cur, KEY);
      for (let i = 0; i < 2; i++) {
        writeFile(m, "extra", Buffer.from(`extra ${i}`));
        m.sync();
      }
      const newest = m.volume.trustedRoot;
      m.close();
      assert.equal(newest.version, trusted.version + 2n);
      assert.equal(Number(newest.version % 2n), current);
      // An older superblock of the same slot (version - 2) where the newest was: the other slot
      // (version - 1) wins, authentic and one version old.
      let d = join(base, `case${n++}`);
      cpSync(cur, d, { recursive: true });
      writeSuperSlot(d, current, oldSlot);
      assert.equal(probe(d), "ok");
      assert.equal(probe(d, KEY, newest), "pfs.rollback");
      // The previous slot copied over the newest one is in the wrong slot: ignored, same outcome.
      d = join(base, `case${n++}`);
      cpSync(cur, d, { recursive: true });
      writeSuperSlot(d, current, readSuperSlot(d, previous));
      assert.equal(probe(d), "ok");
      assert.equal(probe(d, KEY, newest), "pfs.rollback");
    });

    await t.test("a superblock slot from another volume under the same key", () => {
      const other = join(base, `other${n++}`);
      const o = PfsMount.create(other, KEY, { nodeSize: NODE_SIZE });
      o.mkdir(["x"]);
      o.sync();
      o.close();
      for (const slot of [0, 1]) {
        const d = fresh();
        writeSuperSlot(d, slot, readSuperSlot(other, slot));
        assert.equal(probe(d), "pfs.integrity", `slot ${slot} from another volume`);
      }
      // Both slots from the other volume: its superblock over this volume's nodes.
      const d = fresh();
      cpSync(join(other, SUPER_FILE), join(d, SUPER_FILE));
      expectPfs(d, "superblock of another volume");
    });

    await t.test("a superblock of format version 1 (one slot) is refused as a format", () => {
      const d = fresh();
      const v1 = readSuperSlot(d, current);
      v1.writeUInt32LE(1, 8);
      writeFileSync(join(d, SUPER_FILE), v1);
      assert.equal(probe(d), "pfs.format");
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
      d = fresh();
      truncateSync(join(d, SUPER_FILE), SUPER_SLOT_SIZE);
      expectPfs(d, "superblock file without its second slot");
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
      writeFile(m, "a/one.bin", Buffer.alloc(ONE_SIZE, 1));
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
      assert.equal(
        probe(old, KEY, { version: trusted.version, rootHash: Buffer.alloc(32) }),
        "pfs.integrity",
      );
      assert.equal(probe(ref, KEY, trusted), "ok");
      d = join(base, `case${n++}`);
      cpSync(cur, d, { recursive: true });
      cpSync(join(old, SUPER_FILE), join(d, SUPER_FILE));
      assert.equal(probe(d, KEY, newer), "pfs.rollback");
    });

    await t.test("a wrong key", () => {
      assert.equal(probe(ref, OTHER_KEY), "pfs.key");
    });

    await t.test("the node-size field altered", () => {
      const shift = SUPER.nodeShift.offset;
      const own = readSuperSlot(ref, current)[shift] ?? 0;
      for (let other = 0; other <= 8; other++) {
        if (other === own) continue;
        // In both slots: no valid superblock is left.
        let d = fresh();
        for (const slot of [0, 1]) {
          const b = readSuperSlot(d, slot);
          b[shift] = other;
          writeSuperSlot(d, slot, b);
        }
        assert.equal(probe(d), "pfs.integrity", `node shift ${other} in both slots`);
        // In the newest slot only: the previous commit, which only the trusted root tells apart.
        d = fresh();
        const b = readSuperSlot(d, current);
        b[shift] = other;
        writeSuperSlot(d, current, b);
        assert.equal(probe(d, KEY, trusted), "pfs.rollback", `node shift ${other} in the newest slot`);
      }
      // Even a superblock sealed with the key (which the host does not have) that declares another
      // node size over these nodes fails authentication rather than misparsing them.
      for (const other of [0, 1, 3, 4]) {
        if (other === own) continue;
        const d = fresh();
        for (const slot of [0, 1]) {
          const b = readSuperSlot(d, slot);
          b[shift] = other;
          const keys = deriveKeys(KEY, b.subarray(SUPER.volumeId.offset, SUPER.volumeId.offset + 16));
          macSuper(keys, b.subarray(0, SUPER.mac.offset)).copy(b, SUPER.mac.offset);
          writeSuperSlot(d, slot, b);
        }
        expectPfs(d, `re-sealed superblock with node shift ${other}`);
      }
    });
  });
