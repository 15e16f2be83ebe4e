import { test } from "node:test";
import assert from "node:assert/strict";
import * as C from "./constants.js";

/** Every layout: fields in offset order never overlap, stay inside the struct, and match witx sizes. */
const layouts = {
  IOVEC: [C.IOVEC, 8],
  FILESTAT: [C.FILESTAT, 64],
  FDSTAT: [C.FDSTAT, 24],
  DIRENT: [C.DIRENT, 24],
  SUBSCRIPTION: [C.SUBSCRIPTION, 48],
  EVENT: [C.EVENT, 32],
  PRESTAT: [C.PRESTAT, 8],
} as const;

for (const [label, [layout, size]] of Object.entries(layouts)) {
  void test(`${label} layout fits its ${size}-byte witx size, fields aligned and not overlapping`, () => {
    assert.equal(layout.size, size);
    const fields = Object.entries(layout)
      .filter((kv): kv is [string, C.Field] => typeof kv[1] === "object")
      // The subscription union's two arms share offset 16.
      .filter(([k]) => k !== "fd_readwrite_file_descriptor")
      .map(([, f]) => f)
      .sort((a, b) => a.offset - b.offset);
    let end = 0;
    for (const f of fields) {
      assert.ok(f.offset >= end, `${label}: field at ${f.offset} overlaps`);
      assert.equal(f.offset % f.size, 0, `${label}: field at ${f.offset} misaligned`);
      end = f.offset + f.size;
    }
    assert.ok(end <= size);
  });
}

void test("rights: 30 distinct bits, file and dir sets inside RIGHTS_ALL", () => {
  const all = Object.entries(C).filter(([k, v]) => k.startsWith("RIGHTS_") && typeof v === "bigint");
  const single = all.filter(([, v]) => ((v as bigint) & ((v as bigint) - 1n)) === 0n);
  assert.equal(single.length, 30);
  assert.equal(
    single.reduce((acc, [, v]) => acc | (v as bigint), 0n),
    C.RIGHTS_ALL,
  );
  assert.equal(C.RIGHTS_FILE_BASE & ~C.RIGHTS_ALL, 0n);
  assert.equal(C.RIGHTS_DIR_BASE & ~C.RIGHTS_ALL, 0n);
  assert.equal(C.RIGHTS_DIR_BASE & (C.RIGHTS_FD_READ | C.RIGHTS_FD_WRITE | C.RIGHTS_FD_SEEK), 0n);
});

void test("witx values spot-check", () => {
  assert.equal(C.RIGHTS_SOCK_ACCEPT, 1n << 29n);
  assert.equal(C.RIGHTS_PATH_UNLINK_FILE, 1n << 26n);
  assert.equal(C.OFLAGS_TRUNC, 8);
  assert.equal(C.FDFLAGS_SYNC, 16);
  assert.equal(C.FSTFLAGS_MTIM_NOW, 8);
  assert.equal(C.SIGNAL.SYS, 30);
  assert.equal(C.CLOCKID_THREAD_CPUTIME_ID, 3);
});
