import { test } from "node:test";
import assert from "node:assert/strict";
import { isTwineError } from "../errors.js";
import * as C from "./constants.js";
import { openAccess } from "./open-flags.js";

const RO = C.RIGHTS_FD_READ | C.RIGHTS_FD_SEEK;
const WO = C.RIGHTS_FD_WRITE;
const RW = RO | WO;

void test("read/write come from the rights; append needs write", () => {
  assert.deepEqual(openAccess(0, 0, RO, 0n).opts, {
    read: true,
    write: false,
    create: false,
    exclusive: false,
    truncate: false,
    append: false,
    directory: false,
  });
  const w = openAccess(0, C.FDFLAGS_APPEND, WO, 0n).opts;
  assert.equal(w.write, true);
  assert.equal(w.read, false);
  assert.equal(w.append, true);
  assert.equal(openAccess(0, C.FDFLAGS_APPEND, RO, 0n).opts.append, false);
  for (const r of [C.RIGHTS_FD_ALLOCATE, C.RIGHTS_FD_FILESTAT_SET_SIZE]) {
    assert.equal(openAccess(0, 0, r, 0n).opts.write, true);
  }
  assert.equal(openAccess(0, 0, C.RIGHTS_FD_READDIR, 0n).opts.read, true);
});

void test("TRUNC without write access is NOTCAPABLE (GHSA-2r75-cxrj-cmph), with it asks the dir for SET_SIZE", () => {
  assert.throws(
    () => openAccess(C.OFLAGS_TRUNC, 0, RO, 0n),
    (e) => isTwineError(e, "wasi.notcapable"),
  );
  assert.throws(
    () => openAccess(C.OFLAGS_TRUNC | C.OFLAGS_CREAT, 0, 0n, 0n),
    (e) => isTwineError(e, "wasi.notcapable"),
  );
  const a = openAccess(C.OFLAGS_TRUNC, 0, RW, 0n);
  assert.equal(a.opts.truncate, true);
  assert.equal(a.dirRights & C.RIGHTS_PATH_FILESTAT_SET_SIZE, C.RIGHTS_PATH_FILESTAT_SET_SIZE);
});

void test("DIRECTORY: with CREAT INVAL, with write or TRUNC ISDIR", () => {
  const code = (f: () => unknown) => {
    try {
      f();
      return "ok";
    } catch (e) {
      return isTwineError(e) ? e.code : "other";
    }
  };
  assert.equal(
    code(() => openAccess(C.OFLAGS_DIRECTORY | C.OFLAGS_CREAT, 0, RO, 0n)),
    "wasi.inval",
  );
  assert.equal(
    code(() => openAccess(C.OFLAGS_DIRECTORY, 0, WO, 0n)),
    "wasi.isdir",
  );
  assert.equal(
    code(() => openAccess(C.OFLAGS_DIRECTORY | C.OFLAGS_TRUNC, 0, RO, 0n)),
    "wasi.isdir",
  );
  assert.equal(
    code(() => openAccess(C.OFLAGS_DIRECTORY, 0, C.RIGHTS_DIR_BASE, 0n)),
    "ok",
  );
  assert.equal(
    code(() => openAccess(1 << 4, 0, RO, 0n)),
    "wasi.inval",
  );
  assert.equal(
    code(() => openAccess(0, 1 << 5, RO, 0n)),
    "wasi.inval",
  );
});

void test("CREAT asks the dir for PATH_CREATE_FILE; EXCL only counts with CREAT; sync flags need sync rights", () => {
  const a = openAccess(C.OFLAGS_CREAT | C.OFLAGS_EXCL, 0, RW, 0n);
  assert.equal(a.dirRights, C.RIGHTS_PATH_OPEN | C.RIGHTS_PATH_CREATE_FILE);
  assert.equal(a.opts.exclusive, true);
  assert.equal(openAccess(C.OFLAGS_EXCL, 0, RW, 0n).opts.exclusive, false);
  const s = openAccess(0, C.FDFLAGS_DSYNC | C.FDFLAGS_RSYNC, RO, C.RIGHTS_FD_READ);
  assert.equal(s.inheritedRights, RO | C.RIGHTS_FD_DATASYNC | C.RIGHTS_FD_SYNC);
});
