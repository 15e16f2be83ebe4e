import { test } from "node:test";
import assert from "node:assert/strict";
import { ERRNO } from "../errors.js";
import { MemMount } from "../vfs/mem.js";
import { FILETYPE } from "../vfs/types.js";
import * as C from "./constants.js";
import { Harness, withMount } from "./test-kit.js";

interface Dirent {
  next: bigint;
  ino: bigint;
  type: number;
  name: string;
}

/** Parses whole entries from a readdir buffer; returns them and whether the last one was cut off. */
function parse(h: Harness, buf: number, used: number): { entries: Dirent[]; partial: boolean } {
  const entries: Dirent[] = [];
  let at = 0;
  while (at + C.DIRENT.size <= used) {
    const p = buf + at;
    const namlen = h.u32(p + 16);
    if (at + C.DIRENT.size + namlen > used) return { entries, partial: true };
    entries.push({
      next: h.u64(p),
      ino: h.u64(p + 8),
      type: h.u8[p + 20] as number,
      name: h.text(p + 24, namlen),
    });
    at += C.DIRENT.size + namlen;
  }
  return { entries, partial: at < used };
}

/** Lists a directory fd the way wasi-libc does: refill from the last whole entry's d_next. */
function listAll(h: Harness, fd: number, bufLen: number): Dirent[] {
  const buf = h.alloc(bufLen);
  const used = h.alloc(4);
  const all: Dirent[] = [];
  let cookie = 0n;
  for (let calls = 0; calls < 100_000; calls++) {
    assert.equal(h.imp.fd_readdir(fd, buf, bufLen, cookie, used), ERRNO.SUCCESS);
    const n = h.u32(used);
    const { entries } = parse(h, buf, n);
    all.push(...entries);
    if (n < bufLen) return all;
    assert.ok(entries.length > 0, "buffer too small for one entry");
    cookie = (entries.at(-1) as Dirent).next;
  }
  throw new Error("readdir never finished");
}

void test("fd_readdir lists . and .. then the entries, with types and inode numbers", () => {
  const h = withMount(new MemMount());
  try {
    h.pathCall((fd, p, l) => h.imp.path_create_directory(fd, p, l), 3, "sub");
    const [, fd] = h.open(3, "file", { oflags: C.OFLAGS_CREAT, base: C.RIGHTS_FILE_BASE });
    h.imp.fd_close(fd);
    const entries = listAll(h, 3, 4096);
    assert.deepEqual(
      entries.map((e) => [e.name, e.type]),
      [
        [".", FILETYPE.DIRECTORY],
        ["..", FILETYPE.DIRECTORY],
        ["sub", FILETYPE.DIRECTORY],
        ["file", FILETYPE.REGULAR_FILE],
      ],
    );
    assert.deepEqual(
      entries.map((e) => e.next),
      [1n, 2n, 3n, 4n],
    );
    const st = h.alloc(64);
    h.imp.fd_filestat_get(3, st);
    assert.equal(entries[0]?.ino, h.u64(st + 8));
    // A subdirectory's ".." is its parent.
    const [, sub] = h.open(3, "sub", { oflags: C.OFLAGS_DIRECTORY, base: C.RIGHTS_FD_READDIR });
    const subEntries = listAll(h, sub, 4096);
    assert.equal(subEntries[1]?.ino, h.u64(st + 8));
  } finally {
    h.close();
  }
});

void test("fd_readdir: cookies stay valid across calls over 1000 entries, small buffers", () => {
  const h = withMount(new MemMount());
  try {
    const names = Array.from({ length: 1000 }, (_, i) => `entry-${i}-${"x".repeat(i % 37)}`);
    for (const n of names) {
      const [e, fd] = h.open(3, n, { oflags: C.OFLAGS_CREAT, base: C.RIGHTS_FILE_BASE });
      assert.equal(e, ERRNO.SUCCESS);
      h.imp.fd_close(fd);
    }
    for (const bufLen of [80, 200, 4096]) {
      const listed = listAll(h, 3, bufLen).map((e) => e.name);
      assert.deepEqual(listed, [".", "..", ...names], `buffer ${bufLen}`);
    }
    // Resuming from an arbitrary cookie gives exactly the entries from there.
    const buf = h.alloc(256);
    const used = h.alloc(4);
    assert.equal(h.imp.fd_readdir(3, buf, 256, 500n, used), ERRNO.SUCCESS);
    assert.equal(parse(h, buf, h.u32(used)).entries[0]?.name, names[498]);
    // Past the end: nothing.
    assert.equal(h.imp.fd_readdir(3, buf, 256, 1002n, used), ERRNO.SUCCESS);
    assert.equal(h.u32(used), 0);
    assert.equal(h.imp.fd_readdir(3, buf, 256, -1n, used), ERRNO.SUCCESS);
    assert.equal(h.u32(used), 0);
  } finally {
    h.close();
  }
});

void test("fd_readdir: a cut-off entry fills the buffer exactly (bufused == buf_len means call again)", () => {
  const h = withMount(new MemMount());
  try {
    const [, fd] = h.open(3, "a-rather-long-file-name", { oflags: C.OFLAGS_CREAT, base: C.RIGHTS_FILE_BASE });
    h.imp.fd_close(fd);
    const buf = h.alloc(64);
    const used = h.alloc(4);
    // "." (25) + ".." (26) = 51 bytes; the third entry gets 13 of its 47.
    assert.equal(h.imp.fd_readdir(3, buf, 64, 0n, used), ERRNO.SUCCESS);
    assert.equal(h.u32(used), 64);
    const { entries, partial } = parse(h, buf, 64);
    assert.equal(entries.length, 2);
    assert.ok(partial);
    // A buffer smaller than one header.
    assert.equal(h.imp.fd_readdir(3, buf, 10, 2n, used), ERRNO.SUCCESS);
    assert.equal(h.u32(used), 10);
    assert.equal(h.u64(buf), 3n, "the header's first bytes are there");
    // Nothing is written past buf_len.
    h.u8.fill(0xaa, buf, buf + 64);
    h.imp.fd_readdir(3, buf, 30, 0n, used);
    assert.equal(h.u8[buf + 30], 0xaa);
  } finally {
    h.close();
  }
});

void test("fd_readdir errors: not a directory, missing right, bad buffer", () => {
  const h = withMount(new MemMount());
  try {
    const buf = h.alloc(64);
    const used = h.alloc(4);
    assert.equal(h.imp.fd_readdir(1, buf, 64, 0n, used), ERRNO.NOTDIR);
    assert.equal(h.imp.fd_readdir(42, buf, 64, 0n, used), ERRNO.BADF);
    assert.equal(h.imp.fd_readdir(3, h.memory.buffer.byteLength - 10, 64, 0n, used), ERRNO.FAULT);
    const [, d] = h.open(3, ".", { oflags: C.OFLAGS_DIRECTORY, base: C.RIGHTS_PATH_OPEN });
    assert.equal(h.imp.fd_readdir(d, buf, 64, 0n, used), ERRNO.NOTCAPABLE);
  } finally {
    h.close();
  }
});
