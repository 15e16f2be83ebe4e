// File and directory guests, each run on every writable mount kind (host dir, mem; pfs joins the
// table later) with one expected output. Host runs also check the files the guest left behind.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RW_MOUNTS, describeRun, makeSandbox, runGuest, type Sandbox } from "./twine-cli.js";

/** Directory entries for readdir_many; the brief's 2000 by default, TWINE_GUEST_DIR_ENTRIES to change. */
const DIR_ENTRIES = Number(process.env.TWINE_GUEST_DIR_ENTRIES ?? 2000);

const lines = (...l: string[]): string => l.map((s) => `${s}\n`).join("");

interface FileCase {
  guest: string;
  args?: string[];
  expected: string;
  /** Extra checks on the host directory, for host mounts. */
  onHost?: (sb: Sandbox) => void;
}

const CASES: FileCase[] = [
  {
    guest: "file_io",
    expected: lines(
      "write/read/seek ok",
      "pread/pwrite ok",
      "seek negative: INVAL",
      "seek past end ok",
      "ftruncate ok",
      "posix_fallocate ok",
      "fsync ok",
      "read on write-only fd: BADF",
      "append ok",
      "create exclusive existing: EXIST",
      "open missing: NOENT",
      "write on read-only fd: BADF",
      "open flags ok",
      "writev/readv ok",
      "fcntl O_APPEND ok",
      "open file survives rename and unlink ok",
      "1 MiB pattern ok",
    ),
    onHost: (sb) => {
      assert.equal(readFileSync(join(sb.data, "f.txt"), "utf8"), "hello WORLD!");
      assert.equal(readFileSync(join(sb.data, "t.txt"), "utf8"), "");
      assert.deepEqual(sb.listing(), ["data", "data/f.txt", "data/t.txt", "outside", "outside/secret.txt"]);
    },
  },
  {
    guest: "stat_times",
    expected: lines(
      "fstat size=100 regular=1",
      "stat size=100 nlink=1 same ino=1",
      "fstat after ftruncate size=7",
      "utimensat: ok",
      "utimensat atim=1000000000.500000000 mtim=1234567890.250000000",
      "utimensat omit atime: ok",
      "omit atime atim=1000000000.500000000 mtim=1300000000.000000000",
      "futimens: ok",
      "futimens atim=1100000000.125000000 mtim=1200000000.000000000",
      "set mtime now: ok",
      "mtime now ok",
      "set both now: ok",
      "both now ok",
      "write updates mtime ok",
      "stat dir ok",
      "stat missing: NOENT",
      "utimensat missing: NOENT",
    ),
    // Truncated to 7 bytes, then "y" written at the old position 100: a zero-filled gap between.
    onHost: (sb) =>
      assert.deepEqual(
        readFileSync(join(sb.data, "s.txt")),
        Buffer.from("x".repeat(7) + "\0".repeat(93) + "y"),
      ),
  },
  {
    guest: "dirs",
    expected: lines(
      "mkdir d: ok",
      "mkdir d again: EXIST",
      "mkdir missing parent: NOENT",
      "mkdir d/sub: ok",
      "list d: a.txt:file b.txt:file sub:dir",
      "rmdir non-empty: NOTEMPTY",
      "rmdir a file: NOTDIR",
      "unlink a directory: ISDIR",
      "unlink missing: NOENT",
      "open dir for writing: ISDIR",
      "open file as directory: NOTDIR",
      "file with trailing slash: NOTDIR",
      "path through a file: NOTDIR",
      "rename file: ok",
      "old name gone=1 new name there=1",
      "rename over file: ok",
      "replaced size=1",
      "rename missing: NOENT",
      "rename dir into itself: INVAL",
      "rename file over dir: ISDIR",
      "rename dir over file: NOTDIR",
      "mkdir e: ok",
      "rename dir over non-empty dir: NOTEMPTY",
      "rename dir: ok",
      "rename dir across: ok",
      "rename file across: ok",
      "list d:",
      "list e: keep:file moved:dir",
      "list e/moved: b.txt:file",
      "mkdir via ..: ok",
      "f exists=1",
      "rmdir via ..: ok",
      "unlink e/moved/b.txt: ok",
      "rmdir e/moved: ok",
      "unlink e/keep: ok",
      "rmdir e: ok",
      "rmdir d: ok",
      "rmdir d again: NOENT",
      "mkdir 255-byte name: ok",
      "rmdir 255-byte name: ok",
      "mkdir 256-byte name: NAMETOOLONG",
      "list .:",
    ),
    onHost: (sb) => assert.deepEqual(sb.listing(), ["data", "outside", "outside/secret.txt"]),
  },
  {
    guest: "readdir_many",
    args: [String(DIR_ENTRIES)],
    expected: lines(
      `created ${DIR_ENTRIES} files`,
      `readdir: ${DIR_ENTRIES} entries ok`,
      `fd_readdir small buffer: ${DIR_ENTRIES} entries ok`,
      "telldir/seekdir ok",
      `rewinddir: ${DIR_ENTRIES} entries ok`,
      "removed all",
    ),
    onHost: (sb) => assert.deepEqual(sb.listing(), ["data", "outside", "outside/secret.txt"]),
  },
  {
    guest: "symlinks",
    expected: lines(
      "symlink: ok",
      "readlink: 10 [target.txt]",
      "readlink short buffer: 4 [targ]",
      "read link: [target data]",
      "lstat link: symlink=1",
      "stat link: regular=1 size=11",
      "mkdir sub: ok",
      "symlink to dir: ok",
      "create through dir link: ok",
      "inner exists in sub=1",
      "symlink with .. inside mount: ok",
      "read sub/up: [target data]",
      "chain 1: ok",
      "chain 2: ok",
      "chain 3: ok",
      "read chain2: [target data]",
      "read chain3: [target data]",
      "dangling symlink: ok",
      "read dangle: NOENT",
      "create exclusive on dangling link: EXIST",
      "lstat dangling ok=1",
      "symlink over existing: EXIST",
      "readlink regular file: INVAL",
      "readlink missing: NOENT",
      "open O_NOFOLLOW on link: LOOP",
      "open O_NOFOLLOW on file: ok",
      "hard link: ok",
      "nlink=2",
      "read hard: [target data]",
      "unlink link: ok",
      "target still there=1",
      "read chain2: NOENT",
    ),
    onHost: (sb) => assert.equal(readFileSync(join(sb.data, "sub", "inner.txt"), "utf8"), ""),
  },
  {
    guest: "poll",
    expected: lines(
      "poll file+stdout: 2 file=INOUT stdout=OUT",
      "no wait ok",
      "timeout only ok",
      "poll_oneoff file+clock: events=1 first=1 type=1 error=SUCCESS",
      "poll_oneoff bad fd: events=1 first=1 error=BADF",
      "poll_oneoff no subscriptions: INVAL",
    ),
  },
];

// Each run is a separate process that mostly waits on startup: two at a time halve the wall time.
void describe("file and directory guests on every writable mount", { concurrency: 2 }, () => {
  for (const mount of RW_MOUNTS) {
    for (const c of CASES) {
      void test(`${c.guest} on a ${mount.name} mount`, async () => {
        const sb = makeSandbox();
        try {
          const r = await runGuest(c.guest, {
            flags: await mount.flags(sb),
            args: ["/data", ...(c.args ?? [])],
          });
          assert.equal(r.stdout, c.expected, describeRun(r));
          assert.equal(r.status, 0, describeRun(r));
          assert.equal(r.stderr, "");
          sb.assertSecretUntouched();
          if (mount.onHost) c.onHost?.(sb);
          else assert.deepEqual(sb.listing(), ["data", "outside", "outside/secret.txt"]);
        } finally {
          sb.remove();
        }
      });
    }
  }
});

void test("a read-only host mount refuses every change and the host files stay as they were", async () => {
  const sb = makeSandbox();
  try {
    writeFileSync(join(sb.data, "ro.txt"), "original");
    const before = statSync(join(sb.data, "ro.txt")).mtimeMs;
    const r = await runGuest("readonly_mount", { flags: ["--dir", `${sb.data}::/data`], args: ["/data"] });
    assert.equal(
      r.stdout,
      lines(
        "read: [original]",
        "write on read fd: BADF",
        "open for writing: ROFS",
        // TRUNC without write access: NOTCAPABLE whatever the mount (the GHSA-2r75-cxrj-cmph rule).
        "open read-only with O_TRUNC: NOTCAPABLE",
        "create: ROFS",
        "mkdir: ROFS",
        "unlink: ROFS",
        "rename: ROFS",
        "symlink: ROFS",
        "link: ROFS",
        "utimensat: ROFS",
        "raw open asking write rights: ROFS",
        "raw write: NOTCAPABLE",
        "raw set size: NOTCAPABLE",
        "raw allocate: NOTCAPABLE",
        "raw set times: ROFS",
      ),
      describeRun(r),
    );
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(readFileSync(join(sb.data, "ro.txt"), "utf8"), "original");
    assert.equal(statSync(join(sb.data, "ro.txt")).mtimeMs, before);
    assert.deepEqual(sb.listing(), ["data", "data/ro.txt", "outside", "outside/secret.txt"]);
  } finally {
    sb.remove();
  }
});
