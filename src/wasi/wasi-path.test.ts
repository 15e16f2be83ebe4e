import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ERRNO } from "../errors.js";
import { HostMount } from "../vfs/host.js";
import { MemMount } from "../vfs/mem.js";
import type { Mount } from "../vfs/types.js";
import { FILETYPE } from "../vfs/types.js";
import * as C from "./constants.js";
import { Harness, withMount } from "./test-kit.js";

const RW = C.RIGHTS_FILE_BASE;
const RO = C.RIGHTS_FILE_BASE & ~C.RIGHTS_WRITE_ACCESS;
const DIR = C.RIGHTS_DIR_BASE;

/** Runs `body` against a MemMount and against a HostMount (read-write) on a fresh temp dir. */
function onBothMounts(name: string, body: (h: Harness, kind: string) => void): void {
  const makers: [string, () => { mount: Mount; cleanup: () => void }][] = [
    ["mem", () => ({ mount: new MemMount(), cleanup: () => {} })],
    [
      "host",
      () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twine-wasi-host-"));
        return {
          mount: new HostMount(dir, { readonly: false }),
          cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
        };
      },
    ],
  ];
  for (const [kind, make] of makers) {
    void test(`${name} [${kind}]`, () => {
      const { mount, cleanup } = make();
      const h = withMount(mount);
      try {
        body(h, kind);
      } finally {
        h.close();
        cleanup();
      }
    });
  }
}

function create(h: Harness, p: string, text = ""): void {
  const [e, fd] = h.open(3, p, { oflags: C.OFLAGS_CREAT | C.OFLAGS_TRUNC, base: RW });
  assert.equal(e, ERRNO.SUCCESS, `create ${p}`);
  if (text !== "") h.write(fd, text);
  assert.equal(h.imp.fd_close(fd), ERRNO.SUCCESS);
}

function readAll(h: Harness, p: string): string {
  const [e, fd] = h.open(3, p, { base: RO });
  assert.equal(e, ERRNO.SUCCESS, `open ${p}`);
  const [e2, text] = h.read(fd, 4096);
  assert.equal(e2, ERRNO.SUCCESS);
  h.imp.fd_close(fd);
  return text;
}

function mkdir(h: Harness, p: string, fd = 3): number {
  return h.pathCall((fd, p, l) => h.imp.path_create_directory(fd, p, l), fd, p);
}

function symlink(h: Harness, target: string, p: string): number {
  const [t, tl] = h.put(target);
  const [q, ql] = h.put(p);
  return h.imp.path_symlink(t, tl, 3, q, ql);
}

function filetypeAt(h: Harness, p: string, follow = false): number | string {
  const st = h.alloc(64);
  const e = h.pathCall((fd, q, l) => h.imp.path_filestat_get(fd, follow ? 1 : 0, q, l, st), 3, p);
  return e === ERRNO.SUCCESS ? (h.u8[st + 16] as number) : `errno ${e}`;
}

onBothMounts("path_open: create, exclusive, missing, directory flags", (h) => {
  create(h, "f", "data");
  assert.equal(h.open(3, "f", { oflags: C.OFLAGS_CREAT | C.OFLAGS_EXCL, base: RW })[0], ERRNO.EXIST);
  assert.equal(h.open(3, "missing", { base: RO })[0], ERRNO.NOENT);
  assert.equal(h.open(3, "f", { oflags: C.OFLAGS_DIRECTORY, base: C.RIGHTS_FD_READDIR })[0], ERRNO.NOTDIR);
  assert.equal(h.open(3, "f/", { base: RO })[0], ERRNO.NOTDIR);
  assert.equal(h.open(3, "new/", { oflags: C.OFLAGS_CREAT, base: RW })[0], ERRNO.ISDIR);
  assert.equal(h.open(3, "d", { oflags: C.OFLAGS_CREAT | C.OFLAGS_DIRECTORY, base: DIR })[0], ERRNO.INVAL);
  assert.equal(mkdir(h, "d"), ERRNO.SUCCESS);
  assert.equal(h.open(3, "d", { oflags: C.OFLAGS_DIRECTORY, base: RW })[0], ERRNO.ISDIR);
  assert.equal(h.open(3, "d", { base: RW })[0], ERRNO.ISDIR, "a directory is never opened for writing");
  assert.equal(h.open(3, "f", { oflags: 1 << 4, base: RO })[0], ERRNO.INVAL);
  assert.equal(h.open(3, "f", { base: RO, fdflags: 1 << 5 })[0], ERRNO.INVAL);
  // Rights the preopen cannot hand down (sockets) are refused, not silently dropped.
  assert.equal(h.open(3, "f", { base: C.RIGHTS_ALL & ~C.RIGHTS_WRITE_ACCESS })[0], ERRNO.NOTCAPABLE);
  const [p, l] = h.put("f");
  assert.equal(h.imp.path_open(3, 2, p, l, 0, RO, 0n, 0, h.alloc(4)), ERRNO.INVAL, "unknown lookupflags");
  assert.equal(h.imp.path_open(3, 1, p, l, 0, RO, 0n, 0, h.memory.buffer.byteLength - 3), ERRNO.FAULT);
  // The directory opens without O_DIRECTORY too, read-only, and is a directory fd.
  const [e, dfd] = h.open(3, "d", { base: C.RIGHTS_DIR_INHERITING & ~C.RIGHTS_WRITE_ACCESS });
  assert.equal(e, ERRNO.SUCCESS);
  const st = h.alloc(24);
  h.imp.fd_fdstat_get(dfd, st);
  assert.equal(h.u8[st], FILETYPE.DIRECTORY);
  assert.equal(h.u64(st + 8) & ~C.RIGHTS_DIR_BASE, 0n, "a directory fd only keeps directory rights");
  // ...and a file fd only file rights.
  const [, ffd] = h.open(3, "f", { base: C.RIGHTS_DIR_INHERITING & ~C.RIGHTS_WRITE_ACCESS });
  h.imp.fd_fdstat_get(ffd, st);
  assert.equal(h.u8[st], FILETYPE.REGULAR_FILE);
  assert.equal(h.u64(st + 8) & ~C.RIGHTS_FILE_BASE, 0n);
});

onBothMounts("TRUNC needs write access: a read-only open never empties the file", (h) => {
  create(h, "keep", "precious");
  assert.equal(h.open(3, "keep", { oflags: C.OFLAGS_TRUNC, base: RO })[0], ERRNO.NOTCAPABLE);
  assert.equal(h.open(3, "keep", { oflags: C.OFLAGS_TRUNC, base: C.RIGHTS_FD_READ })[0], ERRNO.NOTCAPABLE);
  assert.equal(h.open(3, "keep", { oflags: C.OFLAGS_TRUNC | C.OFLAGS_DIRECTORY, base: RO })[0], ERRNO.ISDIR);
  assert.equal(readAll(h, "keep"), "precious");
  // Without PATH_FILESTAT_SET_SIZE on the directory, TRUNC is refused even with write access.
  assert.equal(
    h.imp.fd_fdstat_set_rights(3, DIR & ~C.RIGHTS_PATH_FILESTAT_SET_SIZE, C.RIGHTS_DIR_INHERITING),
    0,
  );
  assert.equal(h.open(3, "keep", { oflags: C.OFLAGS_TRUNC, base: RW })[0], ERRNO.NOTCAPABLE);
  assert.equal(readAll(h, "keep"), "precious");
  assert.equal(h.open(3, "keep", { base: RW })[0], ERRNO.SUCCESS);
});

onBothMounts("TRUNC with write access empties the file", (h) => {
  create(h, "t", "content");
  const [e, fd] = h.open(3, "t", { oflags: C.OFLAGS_TRUNC, base: RW });
  assert.equal(e, ERRNO.SUCCESS);
  h.imp.fd_close(fd);
  assert.equal(readAll(h, "t"), "");
});

onBothMounts("paths cannot leave the preopen: .., absolute, escaping symlinks", (h) => {
  create(h, "f", "x");
  assert.equal(mkdir(h, "sub"), ERRNO.SUCCESS);
  assert.equal(h.open(3, "../f", { base: RO })[0], ERRNO.NOTCAPABLE);
  assert.equal(h.open(3, "sub/../../f", { base: RO })[0], ERRNO.NOTCAPABLE);
  assert.equal(h.open(3, "/f", { base: RO })[0], ERRNO.NOTCAPABLE);
  assert.equal(h.open(3, "sub/../f", { base: RO })[0], ERRNO.SUCCESS);
  assert.equal(symlink(h, "../outside", "up"), ERRNO.SUCCESS);
  assert.equal(h.open(3, "up", { base: RO })[0], ERRNO.NOTCAPABLE);
  assert.equal(symlink(h, "/etc/passwd", "abs"), ERRNO.SUCCESS, "stored, but never followed");
  assert.equal(h.open(3, "abs", { base: RO })[0], ERRNO.NOTCAPABLE);
  assert.equal(h.open(3, "", { base: RO })[0], ERRNO.NOENT);
  assert.equal(h.open(3, "a\0b", { base: RO })[0], ERRNO.INVAL);
  // A directory fd is a capability for its subtree only.
  const [, sub] = h.open(3, "sub", {
    oflags: C.OFLAGS_DIRECTORY,
    base: DIR,
    inheriting: C.RIGHTS_DIR_INHERITING,
  });
  assert.equal(h.open(sub, "../f", { base: RO })[0], ERRNO.NOTCAPABLE);
  create(h, "sub/g", "gg");
  assert.equal(h.open(sub, "g", { base: RO })[0], ERRNO.SUCCESS);
});

onBothMounts("invalid UTF-8 in a path is ILSEQ", (h) => {
  const [p, l] = h.put(Uint8Array.from([0x66, 0xc3, 0x28]));
  assert.equal(h.imp.path_open(3, 1, p, l, C.OFLAGS_CREAT, RW, 0n, 0, h.alloc(4)), ERRNO.ILSEQ);
  assert.equal(h.imp.path_create_directory(3, p, l), ERRNO.ILSEQ);
  assert.equal(h.imp.path_unlink_file(3, p, l), ERRNO.ILSEQ);
});

onBothMounts(
  "symlinks: follow or not, LOOP without follow, EXCL on a link, create through a dangling link",
  (h) => {
    create(h, "target", "T");
    assert.equal(symlink(h, "target", "link"), ERRNO.SUCCESS);
    assert.equal(readAll(h, "link"), "T");
    assert.equal(h.open(3, "link", { base: RO, follow: false })[0], ERRNO.LOOP);
    assert.equal(filetypeAt(h, "link"), FILETYPE.SYMBOLIC_LINK);
    assert.equal(filetypeAt(h, "link", true), FILETYPE.REGULAR_FILE);
    assert.equal(h.open(3, "link", { oflags: C.OFLAGS_CREAT | C.OFLAGS_EXCL, base: RW })[0], ERRNO.EXIST);
    assert.equal(symlink(h, "made", "dangling"), ERRNO.SUCCESS);
    assert.equal(h.open(3, "dangling", { base: RO })[0], ERRNO.NOENT);
    assert.equal(h.open(3, "dangling", { oflags: C.OFLAGS_CREAT, base: RW })[0], ERRNO.SUCCESS);
    assert.equal(filetypeAt(h, "made"), FILETYPE.REGULAR_FILE);
    assert.equal(symlink(h, "loop2", "loop1"), ERRNO.SUCCESS);
    assert.equal(symlink(h, "loop1", "loop2"), ERRNO.SUCCESS);
    assert.equal(h.open(3, "loop1", { base: RO })[0], ERRNO.LOOP);
    // O_DIRECTORY through a link to a directory (Linux says ENOTDIR, not ELOOP, to O_NOFOLLOW here).
    assert.equal(mkdir(h, "dir"), ERRNO.SUCCESS);
    assert.equal(symlink(h, "dir", "dlink"), ERRNO.SUCCESS);
    assert.equal(
      h.open(3, "dlink", { oflags: C.OFLAGS_DIRECTORY, base: C.RIGHTS_FD_READDIR })[0],
      ERRNO.SUCCESS,
    );
    assert.equal(
      h.open(3, "dlink", { oflags: C.OFLAGS_DIRECTORY, base: 0n, follow: false })[0],
      ERRNO.NOTDIR,
    );
    assert.equal(
      h.open(3, "link", { oflags: C.OFLAGS_DIRECTORY, base: C.RIGHTS_FD_READDIR })[0],
      ERRNO.NOTDIR,
    );
    assert.equal(symlink(h, "..", "up"), ERRNO.SUCCESS);
    assert.equal(
      h.open(3, "up", { oflags: C.OFLAGS_DIRECTORY, base: C.RIGHTS_FD_READDIR })[0],
      ERRNO.NOTCAPABLE,
    );
    assert.equal(symlink(h, "x", "target"), ERRNO.EXIST);
    assert.equal(symlink(h, "", "empty"), ERRNO.NOENT);
    assert.equal(symlink(h, "x", "new/"), ERRNO.NOENT);
  },
);

onBothMounts("path_readlink: contents, truncation, not a link", (h) => {
  assert.equal(symlink(h, "some/longer/target", "l"), ERRNO.SUCCESS);
  const [p, l] = h.put("l");
  const buf = h.alloc(64);
  const used = h.alloc(4);
  assert.equal(h.imp.path_readlink(3, p, l, buf, 64, used), ERRNO.SUCCESS);
  assert.equal(h.text(buf, h.u32(used)), "some/longer/target");
  h.u8.fill(0, buf, buf + 64);
  assert.equal(h.imp.path_readlink(3, p, l, buf, 4, used), ERRNO.SUCCESS);
  assert.equal(h.u32(used), 4);
  assert.equal(h.text(buf, 5), "some\0", "truncated, nothing written past the buffer");
  create(h, "plain");
  const [q, ql] = h.put("plain");
  assert.equal(h.imp.path_readlink(3, q, ql, buf, 64, used), ERRNO.INVAL);
  const [m, ml] = h.put("missing");
  assert.equal(h.imp.path_readlink(3, m, ml, buf, 64, used), ERRNO.NOENT);
  assert.equal(h.imp.path_readlink(3, p, l, h.memory.buffer.byteLength - 2, 64, used), ERRNO.FAULT);
});

onBothMounts("directories: create, remove, errors, trailing slashes", (h) => {
  assert.equal(mkdir(h, "d"), ERRNO.SUCCESS);
  assert.equal(mkdir(h, "d"), ERRNO.EXIST);
  assert.equal(mkdir(h, "."), ERRNO.EXIST);
  assert.equal(mkdir(h, "d/.."), ERRNO.EXIST);
  assert.equal(mkdir(h, "e/"), ERRNO.SUCCESS);
  assert.equal(mkdir(h, "no/such"), ERRNO.NOENT);
  create(h, "f");
  assert.equal(mkdir(h, "f/x"), ERRNO.NOTDIR);
  create(h, "d/inner");
  const rmdir = (p: string) => h.pathCall((fd, p, l) => h.imp.path_remove_directory(fd, p, l), 3, p);
  assert.equal(rmdir("d"), ERRNO.NOTEMPTY);
  assert.equal(rmdir("f"), ERRNO.NOTDIR);
  assert.equal(rmdir("."), ERRNO.INVAL);
  assert.equal(rmdir("d/.."), ERRNO.NOTEMPTY);
  assert.equal(rmdir("missing"), ERRNO.NOENT);
  assert.equal(symlink(h, "e", "elink"), ERRNO.SUCCESS);
  assert.equal(rmdir("elink/"), ERRNO.NOTDIR, "a trailing slash does not make rmdir follow a link");
  assert.equal(filetypeAt(h, "e"), FILETYPE.DIRECTORY);
  assert.equal(rmdir("e/"), ERRNO.SUCCESS);
  assert.equal(filetypeAt(h, "e"), `errno ${ERRNO.NOENT}`);
  // Without the right, nothing happens.
  assert.equal(
    h.imp.fd_fdstat_set_rights(3, DIR & ~C.RIGHTS_PATH_CREATE_DIRECTORY, C.RIGHTS_DIR_INHERITING),
    0,
  );
  assert.equal(mkdir(h, "z"), ERRNO.NOTCAPABLE);
  assert.equal(mkdir(h, "z", 1), ERRNO.NOTDIR, "stdout is not a directory");
  assert.equal(mkdir(h, "z", 77), ERRNO.BADF);
});

onBothMounts("path_unlink_file: files and links, never directories", (h) => {
  const unlink = (p: string) => h.pathCall((fd, p, l) => h.imp.path_unlink_file(fd, p, l), 3, p);
  create(h, "f", "x");
  assert.equal(symlink(h, "f", "l"), ERRNO.SUCCESS);
  assert.equal(unlink("l"), ERRNO.SUCCESS);
  assert.equal(readAll(h, "f"), "x", "unlinking a link leaves its target");
  assert.equal(unlink("f/"), ERRNO.NOTDIR);
  assert.equal(unlink("f"), ERRNO.SUCCESS);
  assert.equal(unlink("f"), ERRNO.NOENT);
  assert.equal(mkdir(h, "d"), ERRNO.SUCCESS);
  assert.equal(unlink("d"), ERRNO.ISDIR);
  assert.equal(unlink("."), ERRNO.ISDIR);
});

onBothMounts("path_rename: files, replace, directories, errors", (h) => {
  const rename = (a: string, b: string, to = 3) => {
    const [p, l] = h.put(a);
    const [q, ql] = h.put(b);
    return h.imp.path_rename(3, p, l, to, q, ql);
  };
  create(h, "a", "A");
  create(h, "b", "B");
  assert.equal(rename("a", "c"), ERRNO.SUCCESS);
  assert.equal(readAll(h, "c"), "A");
  assert.equal(rename("c", "b"), ERRNO.SUCCESS, "replaces an existing file");
  assert.equal(readAll(h, "b"), "A");
  assert.equal(rename("missing", "x"), ERRNO.NOENT);
  assert.equal(mkdir(h, "d"), ERRNO.SUCCESS);
  assert.equal(mkdir(h, "d/e"), ERRNO.SUCCESS);
  assert.equal(rename("d", "d/e/f"), ERRNO.INVAL, "a directory into itself");
  assert.equal(rename("b", "d"), ERRNO.ISDIR);
  assert.equal(rename("d", "b"), ERRNO.NOTDIR);
  assert.equal(rename("b/", "q"), ERRNO.NOTDIR);
  assert.equal(rename(".", "q"), ERRNO.INVAL);
  assert.equal(rename("d", "moved/"), ERRNO.SUCCESS);
  assert.equal(filetypeAt(h, "moved/e"), FILETYPE.DIRECTORY);
  assert.equal(rename("b", "../b"), ERRNO.NOTCAPABLE);
  assert.equal(rename("b", "b"), ERRNO.SUCCESS);
  assert.equal(rename("b", "x", 1), ERRNO.NOTDIR);
});

onBothMounts("path_link: hard links share data, never to directories", (h) => {
  const link = (a: string, b: string) => {
    const [p, l] = h.put(a);
    const [q, ql] = h.put(b);
    return h.imp.path_link(3, 0, p, l, 3, q, ql);
  };
  create(h, "a", "shared");
  assert.equal(link("a", "b"), ERRNO.SUCCESS);
  const st = h.alloc(64);
  assert.equal(
    h.pathCall((fd, p, l) => h.imp.path_filestat_get(fd, 0, p, l, st), 3, "b"),
    ERRNO.SUCCESS,
  );
  assert.equal(h.u64(st + 24), 2n);
  assert.equal(link("a", "b"), ERRNO.EXIST);
  assert.equal(link("missing", "c"), ERRNO.NOENT);
  assert.equal(mkdir(h, "d"), ERRNO.SUCCESS);
  assert.equal(link("d", "e"), ERRNO.PERM);
  assert.equal(link("a", "new/"), ERRNO.NOENT);
  const [, fd] = h.open(3, "b", { base: RW });
  h.write(fd, "SHARED");
  assert.equal(readAll(h, "a"), "SHARED");
});

onBothMounts("path_filestat_get and path_filestat_set_times", (h) => {
  create(h, "f", "12345");
  const st = h.alloc(64);
  const stat = (p: string, flags = 0) =>
    h.pathCall((fd, q, l) => h.imp.path_filestat_get(fd, flags, q, l, st), 3, p);
  assert.equal(stat("f"), ERRNO.SUCCESS);
  assert.equal(h.u64(st + 32), 5n);
  assert.equal(stat("f/"), ERRNO.NOTDIR);
  assert.equal(stat("."), ERRNO.SUCCESS);
  assert.equal(h.u8[st + 16], FILETYPE.DIRECTORY);
  assert.equal(stat("f", 2), ERRNO.INVAL);
  const [p, l] = h.put("f");
  const set = C.FSTFLAGS_ATIM | C.FSTFLAGS_MTIM;
  assert.equal(h.imp.path_filestat_set_times(3, 0, p, l, 5_000_000_000n, 7_000_000_000n, set), ERRNO.SUCCESS);
  assert.equal(stat("f"), ERRNO.SUCCESS);
  assert.equal(h.u64(st + 40), 5_000_000_000n);
  assert.equal(h.u64(st + 48), 7_000_000_000n);
  assert.equal(
    h.imp.path_filestat_set_times(3, 0, p, l, 0n, 0n, C.FSTFLAGS_MTIM | C.FSTFLAGS_MTIM_NOW),
    ERRNO.INVAL,
  );
});

void test("rename and link across mounts are XDEV", () => {
  const h = new Harness({
    mounts: [
      { guestPath: "/a", mount: new MemMount() },
      { guestPath: "/b", mount: new MemMount() },
    ],
  });
  try {
    create(h, "f", "x");
    const [p, l] = h.put("f");
    assert.equal(h.imp.path_rename(3, p, l, 4, p, l), ERRNO.XDEV);
    assert.equal(h.imp.path_link(3, 0, p, l, 4, p, l), ERRNO.XDEV);
  } finally {
    h.close();
  }
});

void test("a read-only host mount: reads work, every change is ROFS, TRUNC never empties", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twine-wasi-ro-"));
  fs.writeFileSync(path.join(dir, "f"), "host data");
  const h = withMount(new HostMount(dir, { readonly: true }));
  try {
    assert.equal(readAll(h, "f"), "host data");
    assert.equal(h.open(3, "f", { base: RW })[0], ERRNO.ROFS);
    assert.equal(h.open(3, "f", { oflags: C.OFLAGS_TRUNC, base: RW })[0], ERRNO.ROFS);
    assert.equal(h.open(3, "f", { oflags: C.OFLAGS_TRUNC, base: RO })[0], ERRNO.NOTCAPABLE);
    assert.equal(h.open(3, "g", { oflags: C.OFLAGS_CREAT, base: RW })[0], ERRNO.ROFS);
    assert.equal(mkdir(h, "d"), ERRNO.ROFS);
    assert.equal(
      h.pathCall((fd, p, l) => h.imp.path_unlink_file(fd, p, l), 3, "f"),
      ERRNO.ROFS,
    );
    assert.equal(fs.readFileSync(path.join(dir, "f"), "utf8"), "host data");
  } finally {
    h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
