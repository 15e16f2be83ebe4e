import { test } from "node:test";
import assert from "node:assert/strict";
import { errnoOf, ERRNO } from "../errors.js";
import { MemMount } from "../vfs/mem.js";
import * as C from "./constants.js";
import { FdTable, type FdEntry } from "./fd-table.js";

function dir(preopen?: string): FdEntry {
  return {
    kind: "dir",
    mount: new MemMount(),
    path: [],
    preopen,
    listing: undefined,
    fdflags: 0,
    rightsBase: C.RIGHTS_DIR_BASE,
    rightsInheriting: 0n,
  };
}

const errno = (f: () => unknown): number => {
  try {
    f();
    return ERRNO.SUCCESS;
  } catch (e) {
    return errnoOf(e);
  }
};

void test("get answers BADF and NOTCAPABLE in one place", () => {
  const t = new FdTable();
  const fd = t.insert(dir());
  assert.equal(fd, 0);
  assert.equal(
    errno(() => t.get(fd, C.RIGHTS_FD_READDIR)),
    ERRNO.SUCCESS,
  );
  assert.equal(
    errno(() => t.get(fd, C.RIGHTS_FD_READ)),
    ERRNO.NOTCAPABLE,
  );
  assert.equal(
    errno(() => t.get(1, 0n)),
    ERRNO.BADF,
  );
  assert.equal(
    errno(() => t.get(-1, 0n)),
    ERRNO.BADF,
  );
  assert.equal(
    errno(() => t.getFile(fd, 0n)),
    ERRNO.ISDIR,
  );
  assert.equal(
    errno(() => t.getDir(fd, C.RIGHTS_FD_READ)),
    ERRNO.NOTCAPABLE,
  );
});

void test("lowest free fd first; the limit is MFILE", () => {
  const t = new FdTable(3);
  assert.deepEqual([t.insert(dir()), t.insert(dir()), t.insert(dir())], [0, 1, 2]);
  assert.equal(
    errno(() => t.insert(dir())),
    ERRNO.MFILE,
  );
  t.remove(1);
  assert.equal(t.insert(dir()), 1);
  assert.equal(
    errno(() => t.remove(7)),
    ERRNO.BADF,
  );
});

void test("renumber: preopens are NOTSUP, unopened target BADF, the replaced entry is returned", () => {
  const t = new FdTable();
  const pre = t.insert(dir("/"));
  const a = t.insert(dir());
  const b = t.insert(dir());
  const bEntry = t.get(b, 0n);
  const aEntry = t.get(a, 0n);
  assert.equal(
    errno(() => t.renumber(a, pre)),
    ERRNO.NOTSUP,
  );
  assert.equal(
    errno(() => t.renumber(pre, a)),
    ERRNO.NOTSUP,
  );
  assert.equal(
    errno(() => t.renumber(a, 10)),
    ERRNO.BADF,
  );
  assert.equal(t.renumber(a, b), bEntry);
  assert.equal(t.get(b, 0n), aEntry);
  assert.equal(
    errno(() => t.get(a, 0n)),
    ERRNO.BADF,
  );
  assert.equal(t.drain().length, 2);
  assert.equal(
    errno(() => t.get(pre, 0n)),
    ERRNO.BADF,
  );
});
