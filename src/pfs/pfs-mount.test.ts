import { test } from "node:test";
import { existsSync } from "node:fs";
import assert from "node:assert/strict";
import { createMount } from "../vfs/index.js";
import { FILETYPE } from "../vfs/types.js";
import { DEFAULT_NODE_SIZE, MAX_FILE_SIZE, MAX_NODE_SIZE } from "./format.js";
import { PfsMount } from "./pfs-mount.js";
import { KEY, RO, RW, bytes, code, path, prng, readFile, tempDir, writeFile } from "./test-helpers.js";

// The semantic tests run at the default node size and at 32 KiB.
for (const nodeSize of [DEFAULT_NODE_SIZE, 32768]) {
  void test(`the last byte of the largest file, and one past it (${nodeSize / 1024} KiB nodes)`, (t) => {
    const dir = tempDir(t);
    const m = PfsMount.create(dir, KEY, { cacheNodes: 16, nodeSize });
    const h = m.open(path("huge"), RW);
    h.pwrite(Buffer.from("z"), BigInt(MAX_FILE_SIZE - 1));
    assert.equal(
      code(() => h.pwrite(Buffer.from("zz"), BigInt(MAX_FILE_SIZE - 1))),
      "wasi.fbig",
    );
    h.close();
    m.close();
    const r = PfsMount.open(dir, KEY);
    const one = Buffer.alloc(2, 1);
    const hr = r.open(path("huge"), RO);
    assert.equal(hr.pread(one, BigInt(MAX_FILE_SIZE - 2)), 2);
    assert.deepEqual([...one], [0, "z".charCodeAt(0)]);
    hr.close();
    // Only the nodes on the path to the last byte exist: verify walks them, not 2^50 bytes.
    const report = r.volume.verify();
    assert.equal(report.bytes, MAX_FILE_SIZE);
    assert.equal(report.nodes, r.volume.nodeMap().length);
    r.close();
  });

  void test(`files and directories survive close and reopen (${nodeSize / 1024} KiB nodes)`, (t) => {
    const dir = tempDir(t);
    const m = PfsMount.create(dir, KEY, { nodeSize });
    m.mkdir(path("a"));
    m.mkdir(path("a/b"));
    const big = bytes(prng(1), 300_000);
    writeFile(m, "a/b/big.bin", big);
    writeFile(m, "small.txt", Buffer.from("hello"));
    m.symlink("../small.txt", path("a/link"));
    m.close();
    const r = PfsMount.open(dir, KEY);
    assert.deepEqual(readFile(r, "a/b/big.bin"), big);
    assert.equal(readFile(r, "small.txt").toString(), "hello");
    assert.equal(r.readlink(path("a/link")), "../small.txt");
    assert.deepEqual(
      r.readdir(path("a")).map((e) => [e.name, e.filetype]),
      [
        ["b", FILETYPE.DIRECTORY],
        ["link", FILETYPE.SYMBOLIC_LINK],
      ],
    );
    assert.equal(r.lstat(path("a/b/big.bin")).size, 300_000n);
    assert.equal(r.volume.geometry.nodeSize, nodeSize);
    r.volume.verify();
    r.close();
  });

  void test(`sparse writes read as zeros; truncate shrinks and grows with zeros (${nodeSize / 1024} KiB nodes)`, (t) => {
    const m = PfsMount.create(tempDir(t), KEY, { cacheNodes: 16, nodeSize });
    const h = m.open(path("f"), RW);
    h.pwrite(Buffer.from("end"), 10_000_000n);
    assert.equal(h.stat().size, 10_000_003n);
    const b = Buffer.alloc(8192, 1);
    assert.equal(h.pread(b, 5_000_000n), 8192);
    assert.ok(b.every((x) => x === 0));
    h.pwrite(Buffer.alloc(10_000, 0xaa), 0n);
    h.setSize(5000n);
    h.setSize(20_000n);
    const all = Buffer.alloc(20_000);
    assert.equal(h.pread(all, 0n), 20_000);
    assert.ok(all.subarray(0, 5000).every((x) => x === 0xaa));
    assert.ok(all.subarray(5000).every((x) => x === 0));
    h.setSize(0n);
    assert.equal(h.pread(all, 0n), 0);
    h.close();
    m.sync();
    m.volume.verify();
    m.close();
  });

  void test(`several handles on one file see each other; unlinked open file stays readable (${nodeSize / 1024} KiB nodes)`, (t) => {
    const m = PfsMount.create(tempDir(t), KEY, { nodeSize });
    const a = m.open(path("f"), RW);
    const b = m.open(path("f"), RW);
    a.pwrite(Buffer.from("abc"), 0n);
    b.append(Buffer.from("def"));
    const out = Buffer.alloc(6);
    a.pread(out, 0n);
    assert.equal(out.toString(), "abcdef");
    m.unlink(path("f"));
    assert.equal(
      code(() => m.lstat(path("f"))),
      "wasi.noent",
    );
    a.pread(out, 0n);
    assert.equal(out.toString(), "abcdef");
    m.sync();
    a.close();
    b.close();
    m.sync();
    m.volume.verify();
    m.close();
  });

  void test(`POSIX errors as wasi codes (${nodeSize / 1024} KiB nodes)`, (t) => {
    const m = PfsMount.create(tempDir(t), KEY, { nodeSize });
    m.mkdir(path("d"));
    writeFile(m, "d/f", Buffer.from("x"));
    assert.equal(
      code(() => m.mkdir(path("d"))),
      "wasi.exist",
    );
    assert.equal(
      code(() => m.rmdir(path("d"))),
      "wasi.notempty",
    );
    assert.equal(
      code(() => m.unlink(path("d"))),
      "wasi.isdir",
    );
    assert.equal(
      code(() => m.rmdir(path("d/f"))),
      "wasi.notdir",
    );
    assert.equal(
      code(() => m.open(path("nope"), RO)),
      "wasi.noent",
    );
    assert.equal(
      code(() => m.open(path("d/f/x"), RO)),
      "wasi.notdir",
    );
    assert.equal(
      code(() => m.open(path("d"), RW)),
      "wasi.isdir",
    );
    assert.equal(
      code(() => m.rename(path("d"), path("d/sub"))),
      "wasi.inval",
    );
    assert.equal(
      code(() => m.open(path("x".repeat(256)), RW)),
      "wasi.nametoolong",
    );
    m.mkdir(path("e"));
    assert.equal(
      code(() => m.rename(path("d/f"), path("e"))),
      "wasi.isdir",
    );
    m.rename(path("d/f"), path("e/g"));
    assert.equal(readFile(m, "e/g").toString(), "x");
    m.rename(path("e"), path("d"));
    assert.deepEqual(
      m.readdir([]).map((e) => e.name),
      ["d"],
    );
    m.close();
  });

  void test(`a read-only volume refuses writes (${nodeSize / 1024} KiB nodes)`, (t) => {
    const dir = tempDir(t);
    const m = PfsMount.create(dir, KEY, { nodeSize });
    writeFile(m, "f", Buffer.from("x"));
    m.close();
    const r = PfsMount.open(dir, KEY, { readonly: true });
    assert.equal(readFile(r, "f").toString(), "x");
    assert.equal(
      code(() => r.mkdir(path("d"))),
      "wasi.rofs",
    );
    assert.equal(
      code(() => r.open(path("f"), RW)),
      "wasi.rofs",
    );
    r.close();
  });
}

void test("a pfs mount config opens an existing volume and creates one only when asked", (t) => {
  const dir = tempDir(t);
  const cfg = { type: "pfs", guestPath: "/data", hostPath: `${dir}/vol`, key: KEY } as const;
  assert.equal(
    code(() => createMount({ ...cfg, create: false })),
    "pfs.format",
  );
  const m = createMount({ ...cfg, create: true });
  writeFile(m, "f", Buffer.from("kept"));
  m.close();
  const again = createMount({ ...cfg, create: false });
  assert.equal(readFile(again, "f").toString(), "kept");
  again.close();
});

void test("create takes only powers of two from 4 KiB to 64 KiB and leaves no volume otherwise", (t) => {
  const dir = tempDir(t);
  for (const bad of [0, 2048, 6144, 2 * MAX_NODE_SIZE]) {
    assert.equal(
      code(() => PfsMount.create(`${dir}/v${bad}`, KEY, { nodeSize: bad })),
      "pfs.format",
    );
    assert.equal(existsSync(`${dir}/v${bad}`), false);
  }
  for (const nodeSize of [8192, MAX_NODE_SIZE]) {
    const m = PfsMount.create(`${dir}/ok${nodeSize}`, KEY, { nodeSize });
    writeFile(m, "f", bytes(prng(nodeSize), 3 * nodeSize + 5));
    m.close();
    const r = PfsMount.open(`${dir}/ok${nodeSize}`, KEY);
    assert.equal(r.volume.geometry.nodeSize, nodeSize);
    assert.deepEqual(readFile(r, "f"), bytes(prng(nodeSize), 3 * nodeSize + 5));
    r.close();
  }
});
