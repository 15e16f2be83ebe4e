import { test } from "node:test";
import assert from "node:assert/strict";
import { ERRNO } from "../errors.js";
import { MemMount } from "../vfs/mem.js";
import { FILETYPE } from "../vfs/types.js";
import * as C from "./constants.js";
import { Harness, withMount } from "./test-kit.js";

const RW = C.RIGHTS_FILE_BASE;
const RO = C.RIGHTS_FILE_BASE & ~C.RIGHTS_WRITE_ACCESS;

function fileWith(h: Harness, name: string, text: string): void {
  const [e, fd] = h.open(3, name, { oflags: C.OFLAGS_CREAT | C.OFLAGS_TRUNC, base: RW });
  assert.equal(e, ERRNO.SUCCESS);
  assert.deepEqual(h.write(fd, text), [ERRNO.SUCCESS, Buffer.byteLength(text)]);
  assert.equal(h.imp.fd_close(fd), ERRNO.SUCCESS);
}

void test("fd_write to stdout, two iovecs, reports the total", () => {
  const h = new Harness();
  try {
    const [iovs, n] = h.iovecs([h.put("hello, "), h.put("world\n")]);
    const out = h.alloc(4);
    assert.equal(h.imp.fd_write(1, iovs, n, out), ERRNO.SUCCESS);
    assert.equal(h.u32(out), 13);
    assert.equal(h.stdout(), "hello, world\n");
  } finally {
    h.close();
  }
});

void test("fd_read from stdin until the end", () => {
  const h = new Harness({ stdinText: "abcdef" });
  try {
    assert.deepEqual(h.read(0, 4), [ERRNO.SUCCESS, "abcd"]);
    assert.deepEqual(h.read(0, 4), [ERRNO.SUCCESS, "ef"]);
    assert.deepEqual(h.read(0, 4), [ERRNO.SUCCESS, ""]);
  } finally {
    h.close();
  }
});

void test("stdio rights: no writing to stdin, no reading stdout, no seeking a stream", () => {
  const h = new Harness();
  try {
    assert.equal(h.write(0, "x")[0], ERRNO.NOTCAPABLE);
    assert.equal(h.read(1, 1)[0], ERRNO.NOTCAPABLE);
    const out = h.alloc(8);
    assert.equal(h.imp.fd_seek(1, 0n, C.WHENCE_SET, out), ERRNO.NOTCAPABLE);
    assert.equal(h.imp.fd_tell(1, out), ERRNO.NOTCAPABLE);
    const st = h.alloc(C.FDSTAT.size);
    assert.equal(h.imp.fd_fdstat_get(1, st), ERRNO.SUCCESS);
    // A redirected stdout is a regular file; isatty() must still say no: no SEEK/TELL rights.
    assert.equal(h.u8[st], FILETYPE.REGULAR_FILE);
    assert.equal(h.u64(st + 8) & (C.RIGHTS_FD_SEEK | C.RIGHTS_FD_TELL), 0n);
  } finally {
    h.close();
  }
});

void test("bad fds: out of range, negative, closed → BADF; closing twice → BADF", () => {
  const h = withMount(new MemMount());
  try {
    for (const fd of [5, 1000, -1, 0x7fffffff]) {
      assert.equal(h.write(fd, "x")[0], ERRNO.BADF, `fd ${fd}`);
      assert.equal(h.imp.fd_close(fd), ERRNO.BADF);
    }
    const [, fd] = h.open(3, "f", { oflags: C.OFLAGS_CREAT, base: RW });
    assert.equal(h.imp.fd_close(fd), ERRNO.SUCCESS);
    assert.equal(h.write(fd, "x")[0], ERRNO.BADF);
    assert.equal(h.imp.fd_close(fd), ERRNO.BADF);
    assert.equal(h.imp.fd_fdstat_get(fd, h.alloc(24)), ERRNO.BADF);
  } finally {
    h.close();
  }
});

void test("bad pointers are FAULT and nothing is written", () => {
  const h = withMount(new MemMount());
  try {
    const end = h.memory.buffer.byteLength;
    const [iovs, n] = h.iovecs([h.put("data")]);
    assert.equal(h.imp.fd_write(1, iovs, n, end - 2), ERRNO.FAULT);
    assert.equal(h.imp.fd_write(1, iovs, n, -1), ERRNO.FAULT);
    assert.equal(h.stdout(), "", "a bad result pointer is caught before the write happens");
    // An iovec pointing past the end.
    const [bad, nb] = h.iovecs([[end - 2, 3]]);
    assert.equal(h.imp.fd_write(1, bad, nb, h.alloc(4)), ERRNO.FAULT);
    // Huge iovec counts: the array cannot fit.
    assert.equal(h.imp.fd_write(1, iovs, 0x2000_0000, h.alloc(4)), ERRNO.FAULT);
    assert.equal(h.imp.fd_write(1, iovs, -1, h.alloc(4)), ERRNO.FAULT);
    assert.equal(h.imp.fd_read(0, iovs, 0xffff_ffff, h.alloc(4)), ERRNO.FAULT);
    // Fits in memory but more than IOV_MAX.
    assert.equal(h.imp.fd_write(1, 1024, 2000, h.alloc(4)), ERRNO.INVAL);
    // Pointer at the very end with length 0 is fine.
    const [z, nz] = h.iovecs([[end, 0]]);
    const out = h.alloc(4);
    assert.equal(h.imp.fd_write(1, z, nz, out), ERRNO.SUCCESS);
    assert.equal(h.u32(out), 0);
    assert.equal(h.imp.fd_fdstat_get(1, end - 23), ERRNO.FAULT);
    assert.equal(h.imp.fd_filestat_get(3, end - 63), ERRNO.FAULT);
    assert.equal(h.imp.args_sizes_get(end, 0), ERRNO.FAULT);
    assert.equal(h.imp.random_get(end - 10, 11), ERRNO.FAULT);
    assert.equal(h.imp.clock_time_get(0, 0n, end - 7), ERRNO.FAULT);
    assert.equal(h.stdout(), "");
  } finally {
    h.close();
  }
});

void test("files: write, seek, tell, read back, pread/pwrite leave the offset alone", () => {
  const h = withMount(new MemMount());
  try {
    const [e, fd] = h.open(3, "a.txt", { oflags: C.OFLAGS_CREAT, base: RW });
    assert.equal(e, ERRNO.SUCCESS);
    assert.equal(fd, 4);
    assert.deepEqual(h.write(fd, "0123456789"), [ERRNO.SUCCESS, 10]);
    const pos = h.alloc(8);
    assert.equal(h.imp.fd_tell(fd, pos), ERRNO.SUCCESS);
    assert.equal(h.u64(pos), 10n);
    assert.equal(h.imp.fd_seek(fd, -4n, C.WHENCE_END, pos), ERRNO.SUCCESS);
    assert.equal(h.u64(pos), 6n);
    assert.deepEqual(h.read(fd, 100), [ERRNO.SUCCESS, "6789"]);
    assert.equal(h.imp.fd_seek(fd, 2n, C.WHENCE_SET, pos), ERRNO.SUCCESS);
    assert.equal(h.imp.fd_seek(fd, 1n, C.WHENCE_CUR, pos), ERRNO.SUCCESS);
    assert.equal(h.u64(pos), 3n);
    assert.equal(h.imp.fd_seek(fd, -4n, C.WHENCE_CUR, pos), ERRNO.INVAL);
    assert.equal(h.imp.fd_seek(fd, 0n, 3, pos), ERRNO.INVAL);

    const buf = h.alloc(4);
    const [iovs, n] = h.iovecs([[buf, 4]]);
    const cnt = h.alloc(4);
    assert.equal(h.imp.fd_pread(fd, iovs, n, 5n, cnt), ERRNO.SUCCESS);
    assert.equal(h.text(buf, h.u32(cnt)), "5678");
    const [wi, wn] = h.iovecs([h.put("AB")]);
    assert.equal(h.imp.fd_pwrite(fd, wi, wn, 0n, cnt), ERRNO.SUCCESS);
    assert.equal(h.imp.fd_tell(fd, pos), ERRNO.SUCCESS);
    assert.equal(h.u64(pos), 3n, "pread/pwrite do not move the offset");
    assert.equal(h.imp.fd_seek(fd, 0n, C.WHENCE_SET, pos), ERRNO.SUCCESS);
    assert.deepEqual(h.read(fd, 100), [ERRNO.SUCCESS, "AB23456789"]);
    // Seeking past the end and writing leaves a zero-filled gap.
    assert.equal(h.imp.fd_seek(fd, 12n, C.WHENCE_SET, pos), ERRNO.SUCCESS);
    h.write(fd, "Z");
    assert.equal(h.imp.fd_pread(fd, iovs, n, 9n, cnt), ERRNO.SUCCESS);
    assert.deepEqual([...h.u8.subarray(buf, buf + 4)], [0x39, 0, 0, 0x5a]);
    // Streams are not seekable.
    assert.equal(h.imp.fd_pread(0, iovs, n, 0n, cnt), ERRNO.NOTCAPABLE);
  } finally {
    h.close();
  }
});

void test("fd_read and fd_write on a directory fd are ISDIR", () => {
  const h = withMount(new MemMount());
  try {
    assert.equal(h.write(3, "x")[0], ERRNO.ISDIR);
    assert.equal(h.read(3, 1)[0], ERRNO.ISDIR);
  } finally {
    h.close();
  }
});

void test("append mode: every write goes to the end, whatever the offset", () => {
  const h = withMount(new MemMount());
  try {
    fileWith(h, "log", "one\n");
    const [e, fd] = h.open(3, "log", { base: RW, fdflags: C.FDFLAGS_APPEND });
    assert.equal(e, ERRNO.SUCCESS);
    h.write(fd, "two\n");
    const pos = h.alloc(8);
    h.imp.fd_seek(fd, 0n, C.WHENCE_SET, pos);
    h.write(fd, "three\n");
    assert.equal(h.imp.fd_tell(fd, pos), ERRNO.SUCCESS);
    assert.equal(h.u64(pos), 14n);
    h.imp.fd_seek(fd, 0n, C.WHENCE_SET, pos);
    assert.deepEqual(h.read(fd, 100), [ERRNO.SUCCESS, "one\ntwo\nthree\n"]);
    // Clearing APPEND with fd_fdstat_set_flags makes writes positional again.
    assert.equal(h.imp.fd_fdstat_set_flags(fd, 0), ERRNO.SUCCESS);
    h.imp.fd_seek(fd, 0n, C.WHENCE_SET, pos);
    h.write(fd, "ONE");
    h.imp.fd_seek(fd, 0n, C.WHENCE_SET, pos);
    assert.deepEqual(h.read(fd, 4), [ERRNO.SUCCESS, "ONE\n"]);
    assert.equal(h.imp.fd_fdstat_set_flags(fd, 1 << 5), ERRNO.INVAL);
    const st = h.alloc(24);
    h.imp.fd_fdstat_set_flags(fd, C.FDFLAGS_APPEND | C.FDFLAGS_NONBLOCK);
    h.imp.fd_fdstat_get(fd, st);
    assert.equal(h.view.getUint16(st + 2, true), C.FDFLAGS_APPEND | C.FDFLAGS_NONBLOCK);
  } finally {
    h.close();
  }
});

void test("rights narrowing then a forbidden call; widening is NOTCAPABLE", () => {
  const h = withMount(new MemMount());
  try {
    const [, fd] = h.open(3, "f", { oflags: C.OFLAGS_CREAT, base: RW });
    assert.equal(h.write(fd, "ok")[0], ERRNO.SUCCESS);
    assert.equal(h.imp.fd_fdstat_set_rights(fd, RW & ~C.RIGHTS_FD_WRITE, 0n), ERRNO.SUCCESS);
    assert.equal(h.write(fd, "no")[0], ERRNO.NOTCAPABLE);
    assert.equal(h.imp.fd_fdstat_set_rights(fd, RW, 0n), ERRNO.NOTCAPABLE);
    const st = h.alloc(24);
    h.imp.fd_fdstat_get(fd, st);
    assert.equal(h.u64(st + 8), RW & ~C.RIGHTS_FD_WRITE);
    // Narrowing the preopen's inheriting rights bounds what path_open may ask for.
    assert.equal(h.imp.fd_fdstat_set_rights(3, C.RIGHTS_DIR_BASE, RO), ERRNO.SUCCESS);
    assert.equal(h.open(3, "f", { base: RW })[0], ERRNO.NOTCAPABLE);
    assert.equal(h.open(3, "f", { base: RO })[0], ERRNO.SUCCESS);
    assert.equal(h.imp.fd_fdstat_set_rights(3, C.RIGHTS_DIR_BASE, RW), ERRNO.NOTCAPABLE);
    // Dropping PATH_OPEN from the preopen forbids every open.
    assert.equal(h.imp.fd_fdstat_set_rights(3, C.RIGHTS_DIR_BASE & ~C.RIGHTS_PATH_OPEN, RO), ERRNO.SUCCESS);
    assert.equal(h.open(3, "f", { base: RO })[0], ERRNO.NOTCAPABLE);
    // Bits no right has are never held: asking for them is NOTCAPABLE, never a silent success.
    assert.equal(h.imp.fd_fdstat_set_rights(fd, -1n, 0n), ERRNO.NOTCAPABLE);
  } finally {
    h.close();
  }
});

void test("fd_renumber: moves an fd, replaces and closes the target, refuses preopens", () => {
  const h = withMount(new MemMount());
  try {
    fileWith(h, "a", "AAA");
    fileWith(h, "b", "BBB");
    const [, a] = h.open(3, "a", { base: RW });
    const [, b] = h.open(3, "b", { base: RW });
    assert.equal(h.imp.fd_renumber(a, b), ERRNO.SUCCESS);
    assert.deepEqual(h.read(b, 10), [ERRNO.SUCCESS, "AAA"]);
    assert.equal(h.read(a, 10)[0], ERRNO.BADF);
    assert.equal(h.imp.fd_renumber(b, 3), ERRNO.NOTSUP, "onto a preopen");
    assert.equal(h.imp.fd_renumber(3, b), ERRNO.NOTSUP, "a preopen onto something");
    assert.equal(h.imp.fd_renumber(b, 40), ERRNO.BADF, "onto a never-opened fd");
    assert.equal(h.imp.fd_renumber(40, b), ERRNO.BADF);
    assert.equal(h.imp.fd_close(3), ERRNO.NOTSUP, "a preopen cannot be closed either");
    assert.equal(h.imp.fd_renumber(b, b), ERRNO.SUCCESS);
    assert.deepEqual(h.read(b, 10), [ERRNO.SUCCESS, ""]);
    // The preopen still works after the refused attempts.
    assert.equal(h.open(3, "a", { base: RO })[0], ERRNO.SUCCESS);
  } finally {
    h.close();
  }
});

void test("max open fds → MFILE, and a closed fd number is reused first", () => {
  const h = withMount(new MemMount(), { maxOpenFds: 6 });
  try {
    fileWith(h, "f", "x");
    const [e1, a] = h.open(3, "f", { base: RO });
    const [e2, b] = h.open(3, "f", { base: RO });
    assert.deepEqual([e1, e2, a, b], [ERRNO.SUCCESS, ERRNO.SUCCESS, 4, 5]);
    assert.equal(h.open(3, "f", { base: RO })[0], ERRNO.MFILE);
    assert.equal(h.open(3, "new", { oflags: C.OFLAGS_CREAT, base: RW })[0], ERRNO.MFILE);
    const stat = h.alloc(64);
    assert.equal(
      h.pathCall((fd, p, l) => h.imp.path_filestat_get(fd, 0, p, l, stat), 3, "new"),
      ERRNO.NOENT,
    );
    h.imp.fd_close(a);
    assert.deepEqual(h.open(3, "f", { base: RO }), [ERRNO.SUCCESS, 4]);
  } finally {
    h.close();
  }
});

void test("fd_filestat_get/set_size/set_times, fd_allocate, fd_advise, fd_sync", () => {
  const h = withMount(new MemMount());
  try {
    const [, fd] = h.open(3, "f", { oflags: C.OFLAGS_CREAT, base: RW });
    h.write(fd, "hello");
    const st = h.alloc(64);
    assert.equal(h.imp.fd_filestat_get(fd, st), ERRNO.SUCCESS);
    assert.equal(h.u8[st + 16], FILETYPE.REGULAR_FILE);
    assert.equal(h.u64(st + 32), 5n);
    assert.equal(h.u64(st + 24), 1n);
    assert.equal(h.imp.fd_filestat_set_size(fd, 2n), ERRNO.SUCCESS);
    h.imp.fd_filestat_get(fd, st);
    assert.equal(h.u64(st + 32), 2n);
    assert.equal(h.imp.fd_filestat_set_size(fd, -1n), ERRNO.INVAL);
    assert.equal(h.imp.fd_allocate(fd, 0n, 100n), ERRNO.SUCCESS);
    h.imp.fd_filestat_get(fd, st);
    assert.equal(h.u64(st + 32), 100n);
    assert.equal(h.imp.fd_allocate(fd, 0n, 0n), ERRNO.INVAL);
    assert.equal(h.imp.fd_allocate(fd, (1n << 62n) * 2n - 1n, 2n), ERRNO.FBIG);
    assert.equal(
      h.imp.fd_filestat_set_times(fd, 1_000n, 2_000n, C.FSTFLAGS_ATIM | C.FSTFLAGS_MTIM),
      ERRNO.SUCCESS,
    );
    h.imp.fd_filestat_get(fd, st);
    assert.equal(h.u64(st + 40), 1_000n);
    assert.equal(h.u64(st + 48), 2_000n);
    assert.equal(h.imp.fd_filestat_set_times(fd, 0n, 0n, C.FSTFLAGS_ATIM | C.FSTFLAGS_ATIM_NOW), ERRNO.INVAL);
    assert.equal(h.imp.fd_filestat_set_times(fd, 0n, 0n, 16), ERRNO.INVAL);
    assert.equal(h.imp.fd_filestat_set_times(fd, 0n, 0n, C.FSTFLAGS_MTIM_NOW), ERRNO.SUCCESS);
    h.imp.fd_filestat_get(fd, st);
    assert.ok(h.u64(st + 48) > 1_000_000_000_000_000_000n, "MTIM_NOW is a current wall-clock time");
    assert.equal(h.u64(st + 40), 1_000n, "atim omitted");
    assert.equal(h.imp.fd_advise(fd, 0n, 10n, C.ADVICE_SEQUENTIAL), ERRNO.SUCCESS);
    assert.equal(h.imp.fd_advise(fd, 0n, 10n, 6), ERRNO.INVAL);
    assert.equal(h.imp.fd_sync(fd), ERRNO.SUCCESS);
    assert.equal(h.imp.fd_datasync(fd), ERRNO.SUCCESS);
    assert.equal(h.imp.fd_sync(3), ERRNO.SUCCESS);
    // A directory's own metadata.
    assert.equal(h.imp.fd_filestat_get(3, st), ERRNO.SUCCESS);
    assert.equal(h.u8[st + 16], FILETYPE.DIRECTORY);
    assert.equal(h.imp.fd_filestat_set_size(3, 0n), ERRNO.ISDIR);
    // A read-only fd cannot change the size.
    const [, ro] = h.open(3, "f", { base: RO });
    assert.equal(h.imp.fd_filestat_set_size(ro, 0n), ERRNO.NOTCAPABLE);
    assert.equal(h.imp.fd_allocate(ro, 0n, 1n), ERRNO.NOTCAPABLE);
  } finally {
    h.close();
  }
});

void test("fd_prestat_get / fd_prestat_dir_name, and BADF past the preopens (libc's scan)", () => {
  const h = new Harness({
    mounts: [
      { guestPath: "/data", mount: new MemMount() },
      { guestPath: "/tmp/é", mount: new MemMount() },
    ],
  });
  try {
    const pre = h.alloc(8);
    assert.equal(h.imp.fd_prestat_get(3, pre), ERRNO.SUCCESS);
    assert.equal(h.u8[pre], C.PREOPENTYPE_DIR);
    assert.equal(h.u32(pre + 4), 5);
    const name = h.alloc(16);
    assert.equal(h.imp.fd_prestat_dir_name(3, name, 5), ERRNO.SUCCESS);
    assert.equal(h.text(name, 5), "/data");
    assert.equal(h.imp.fd_prestat_dir_name(3, name, 4), ERRNO.NAMETOOLONG);
    assert.equal(h.imp.fd_prestat_get(4, pre), ERRNO.SUCCESS);
    assert.equal(h.u32(pre + 4), Buffer.byteLength("/tmp/é"));
    assert.equal(h.imp.fd_prestat_get(5, pre), ERRNO.BADF);
    assert.equal(h.imp.fd_prestat_get(1, pre), ERRNO.BADF);
    assert.equal(h.imp.fd_prestat_get(3, h.memory.buffer.byteLength - 4), ERRNO.FAULT);
    // An fd opened beneath a preopen is not itself a preopen.
    const [, sub] = h.open(3, ".", { base: C.RIGHTS_FD_READDIR });
    assert.equal(h.imp.fd_prestat_get(sub, pre), ERRNO.BADF);
  } finally {
    h.close();
  }
});

void test("args and environ: sizes and contents from one encoding", () => {
  const h = new Harness({ args: ["prog", "ünï", ""], env: { HOME: "/", LANG: "C.UTF-8" } });
  try {
    const c = h.alloc(4);
    const s = h.alloc(4);
    assert.equal(h.imp.args_sizes_get(c, s), ERRNO.SUCCESS);
    assert.equal(h.u32(c), 3);
    const size = h.u32(s);
    assert.equal(size, 5 + Buffer.byteLength("ünï") + 1 + 1);
    const argv = h.alloc(12);
    const buf = h.alloc(size);
    assert.equal(h.imp.args_get(argv, buf), ERRNO.SUCCESS);
    const strings = [0, 1, 2].map((i) => {
      const p = h.u32(argv + 4 * i);
      const end = h.u8.indexOf(0, p);
      return h.text(p, end - p);
    });
    assert.deepEqual(strings, ["prog", "ünï", ""]);
    assert.equal(h.imp.environ_sizes_get(c, s), ERRNO.SUCCESS);
    assert.equal(h.u32(c), 2);
    const envBuf = h.alloc(h.u32(s));
    const envp = h.alloc(8);
    assert.equal(h.imp.environ_get(envp, envBuf), ERRNO.SUCCESS);
    assert.equal(h.text(envBuf, h.u32(s)), "HOME=/\0LANG=C.UTF-8\0");
    // A buffer that does not fit is FAULT before any pointer is written.
    const end = h.memory.buffer.byteLength;
    const ptrs = h.alloc(12);
    assert.equal(h.imp.args_get(ptrs, end - 3), ERRNO.FAULT);
    assert.equal(h.u32(ptrs), 0);
  } finally {
    h.close();
  }
});

void test("clocks: every clock id, resolution, invalid id", () => {
  const h = new Harness();
  try {
    const t = h.alloc(8);
    for (const id of [
      C.CLOCKID_REALTIME,
      C.CLOCKID_MONOTONIC,
      C.CLOCKID_PROCESS_CPUTIME_ID,
      C.CLOCKID_THREAD_CPUTIME_ID,
    ]) {
      assert.equal(h.imp.clock_time_get(id, 1n, t), ERRNO.SUCCESS);
      assert.ok(h.u64(t) > 0n);
      assert.equal(h.imp.clock_res_get(id, t), ERRNO.SUCCESS);
      assert.ok(h.u64(t) >= 1n && h.u64(t) <= 1000n);
    }
    h.imp.clock_time_get(C.CLOCKID_REALTIME, 0n, t);
    const wall = h.u64(t);
    assert.ok(wall / 1_000_000n - BigInt(Date.now()) < 1000n, "realtime is the wall clock in ns");
    h.imp.clock_time_get(C.CLOCKID_MONOTONIC, 0n, t);
    const m1 = h.u64(t);
    h.imp.clock_time_get(C.CLOCKID_MONOTONIC, 0n, t);
    assert.ok(h.u64(t) >= m1);
    assert.equal(h.imp.clock_time_get(4, 0n, t), ERRNO.INVAL);
    assert.equal(h.imp.clock_res_get(-1, t), ERRNO.INVAL);
  } finally {
    h.close();
  }
});

void test("random_get fills large buffers (chunked) and zero-length is fine", () => {
  const h = new Harness({ pages: 4 });
  try {
    const n = 200_000;
    const p = h.alloc(n);
    assert.equal(h.imp.random_get(p, n), ERRNO.SUCCESS);
    const chunk = h.u8.subarray(p + n - 1000, p + n);
    assert.ok(
      chunk.some((b) => b !== 0),
      "the tail past 65536 bytes is filled too",
    );
    assert.equal(h.imp.random_get(p, 0), ERRNO.SUCCESS);
  } finally {
    h.close();
  }
});

void test("sockets: NOTSOCK for real fds, BADF for bad ones; sched_yield", () => {
  const h = new Harness();
  try {
    assert.equal(h.imp.sock_accept(1, 0, h.alloc(4)), ERRNO.NOTSOCK);
    assert.equal(h.imp.sock_recv(0, 0, 0, 0, 0, 0), ERRNO.NOTSOCK);
    assert.equal(h.imp.sock_send(1, 0, 0, 0, 0), ERRNO.NOTSOCK);
    assert.equal(h.imp.sock_shutdown(2, C.SDFLAGS_RD), ERRNO.NOTSOCK);
    assert.equal(h.imp.sock_shutdown(9, C.SDFLAGS_RD), ERRNO.BADF);
    assert.equal(h.imp.sock_accept(-5, 0, 0), ERRNO.BADF);
    assert.equal(h.imp.sched_yield(), ERRNO.SUCCESS);
  } finally {
    h.close();
  }
});

void test("a host exception that is not a TwineError becomes IO, never a throw into the guest", () => {
  const h = withMount(new MemMount());
  try {
    const [, fd] = h.open(3, "f", { oflags: C.OFLAGS_CREAT, base: RW });
    // Sabotage the handle: its stat now throws a plain Error.
    const st = h.alloc(64);
    const mount = new MemMount();
    mount.lstat = () => {
      throw new Error("boom");
    };
    const h2 = withMount(mount);
    try {
      assert.equal(h2.imp.fd_filestat_get(3, st), ERRNO.IO);
    } finally {
      h2.close();
    }
    assert.equal(h.imp.fd_filestat_get(fd, st), ERRNO.SUCCESS);
  } finally {
    h.close();
  }
});

void test("memory.grow between calls: new pages are usable at once, old views are not reused", () => {
  const h = new Harness({ pages: 1 });
  try {
    const end = h.memory.buffer.byteLength;
    const out = h.alloc(4);
    assert.equal(h.imp.random_get(end, 16), ERRNO.FAULT);
    h.memory.grow(1);
    assert.equal(h.imp.random_get(end, 16), ERRNO.SUCCESS);
    h.u8.set(Buffer.from("grown\n"), end + 100);
    const [iovs, n] = h.iovecs([[end + 100, 6]]);
    assert.equal(h.imp.fd_write(1, iovs, n, out), ERRNO.SUCCESS);
    assert.equal(h.u32(out), 6);
    assert.equal(h.stdout(), "grown\n");
  } finally {
    h.close();
  }
});
