// Guests that try to escape their sandbox: paths out of the mount ("..", absolute, symlinks made on
// the host or by the guest, loops, rename/link across the boundary), bad fds, renumbering onto a
// preopen, pointers out of guest memory and invalid UTF-8. Each must fail with the errno the guest
// prints, and the host tree next to the mount must be neither read nor changed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { RW_MOUNTS, describeRun, makeSandbox, runGuest, type Sandbox } from "./twine-cli.js";

const lines = (...l: string[]): string => l.map((s) => `${s}\n`).join("");

interface EscapeCase {
  guest: string;
  expected: string;
  input?: string;
  /** Host entries expected under the sandbox after a run on the host mount (data/... and outside/...). */
  hostListing?: string[];
  /** Host mounts only: prepare the data directory before the run. */
  hostOnly?: (sb: Sandbox) => void;
}

const NOTCAP = "NOTCAPABLE";
const CLEAN = ["data", "outside", "outside/secret.txt"];

const CASES: EscapeCase[] = [
  {
    guest: "escape_dotdot",
    expected: lines(
      `open ..: ${NOTCAP}`,
      `open ../outside/secret.txt: ${NOTCAP}`,
      `open ../../etc/passwd: ${NOTCAP}`,
      `open ./../outside/secret.txt: ${NOTCAP}`,
      `open sub/../../outside/secret.txt: ${NOTCAP}`,
      `open sub/../sub/../../outside/secret.txt: ${NOTCAP}`,
      `open ../outside/new.txt: ${NOTCAP}`,
      `open ../data/sub: ${NOTCAP}`,
      `stat ../outside/secret.txt: ${NOTCAP}`,
      `mkdir ../escaped: ${NOTCAP}`,
      `unlink ../outside/secret.txt: ${NOTCAP}`,
      `rmdir ../outside: ${NOTCAP}`,
      `set times ../outside/secret.txt: ${NOTCAP}`,
      `symlink at ../link: ${NOTCAP}`,
      `readlink ../outside: ${NOTCAP}`,
      `libc open /data/../outside/secret.txt: ${NOTCAP}`,
    ),
    hostListing: ["data", "data/sub", "outside", "outside/secret.txt"],
  },
  {
    guest: "escape_absolute",
    expected: lines(
      `open /etc/passwd: ${NOTCAP}`,
      `open /: ${NOTCAP}`,
      `open /inside.txt: ${NOTCAP}`,
      `open /data/inside.txt: ${NOTCAP}`,
      `open //etc/passwd: ${NOTCAP}`,
      `open /tmp/twine-absolute.txt: ${NOTCAP}`,
      `stat /etc/passwd: ${NOTCAP}`,
      `mkdir /tmp/twine-absolute: ${NOTCAP}`,
      `unlink /inside.txt: ${NOTCAP}`,
      `libc open /etc/passwd: ${NOTCAP}`,
    ),
    hostListing: ["data", "data/inside.txt", "outside", "outside/secret.txt"],
  },
  {
    guest: "escape_guest_symlink",
    expected: lines(
      "symlink g_abs -> /etc/passwd: ok",
      "symlink g_rel -> ../outside/secret.txt: ok",
      "symlink g_up -> ..: ok",
      "symlink sub/g_deep -> ../../outside: ok",
      "symlink g_root -> /: ok",
      `open g_abs: ${NOTCAP}`,
      `open g_rel: ${NOTCAP}`,
      `open g_up: ${NOTCAP}`,
      `open g_up/outside/secret.txt: ${NOTCAP}`,
      `open sub/g_deep/secret.txt: ${NOTCAP}`,
      `open sub/g_deep/new.txt: ${NOTCAP}`,
      `open g_root/etc/passwd: ${NOTCAP}`,
      `stat g_rel: ${NOTCAP}`,
      `mkdir g_up/escaped: ${NOTCAP}`,
      `mkdir sub/g_deep/newdir: ${NOTCAP}`,
      `symlink through g_up: ${NOTCAP}`,
    ),
    hostListing: [
      "data",
      "data/g_abs",
      "data/g_rel",
      "data/g_root",
      "data/g_up",
      "data/sub",
      "data/sub/g_deep",
      "outside",
      "outside/secret.txt",
    ],
  },
  {
    guest: "escape_symlink_loop",
    expected: lines(
      "links made",
      "open a: LOOP",
      "open self: LOOP",
      "open self/x: LOOP",
      "open dirloop: LOOP",
      "open a: LOOP",
      "open c0: LOOP",
      "open c90: ok",
      "stat a: LOOP",
      "lstat a: ok",
      "mkdir self/d: LOOP",
    ),
  },
  {
    guest: "escape_rename",
    expected: lines(
      `rename f.txt -> ../outside: ${NOTCAP}`,
      `rename f.txt -> ../outside/stolen.txt: ${NOTCAP}`,
      `rename f.txt -> sub/../../stolen.txt: ${NOTCAP}`,
      `rename f.txt -> /tmp/stolen.txt: ${NOTCAP}`,
      `rename ../outside/secret.txt -> in.txt: ${NOTCAP}`,
      `rename sub -> ../outside/sub: ${NOTCAP}`,
      `link f.txt -> ../outside/linked: ${NOTCAP}`,
      `link ../outside/secret.txt -> in.txt: ${NOTCAP}`,
      "f.txt still here: [payload]",
      "rename inside: ok",
    ),
    hostListing: ["data", "data/sub", "data/sub/g.txt", "outside", "outside/secret.txt"],
  },
  {
    guest: "bad_fd",
    expected: lines(
      ...["never opened 77:", "max fd:", "closed:"].flatMap((label) =>
        [
          "fd_read",
          "fd_write",
          "fd_pread",
          "fd_seek",
          "fd_tell",
          "fd_fdstat_get",
          "fd_filestat_get",
          "fd_filestat_set_size",
          "fd_sync",
          "fd_readdir",
          "path_open",
          "path_create_directory",
          "fd_renumber from",
          "fd_close",
        ].map((call) => `${label} ${call}: BADF`),
      ),
      "path_open relative to a file: NOTDIR",
      "fd_readdir on a file: NOTDIR",
      "fd_prestat_get 77: BADF",
    ),
    hostListing: ["data", "data/f.txt", "outside", "outside/secret.txt"],
  },
  {
    guest: "renumber_preopen",
    expected: lines(
      "renumber file onto preopen: NOTSUP",
      "renumber preopen onto file: NOTSUP",
      "preopen still a preopen: ok",
      "open through preopen: ok",
      "renumber a onto b: ok",
      "read b: ok",
      "b now reads [file a]",
      "read a: BADF",
      "renumber onto itself: ok",
    ),
    hostListing: ["data", "data/a.txt", "data/b.txt", "outside", "outside/secret.txt"],
  },
  {
    guest: "bad_pointer",
    input: "abcd",
    expected: lines(
      "fd_write iovec straddles end: FAULT",
      "fd_write iovec past end: FAULT",
      "fd_write buffer straddles end: FAULT",
      "fd_write buffer wraps around: FAULT",
      "fd_write huge iovs_len: FAULT",
      "fd_write result past end: FAULT",
      "fd_write result straddles end: FAULT",
      "fd_read buffer straddles end: FAULT",
      "path_open path past end: FAULT",
      "path_open huge path_len: FAULT",
      "path_open fd result past end: FAULT",
      "args_get argv past end: FAULT",
      "random_get straddles end: FAULT",
      "random_get wraps around: FAULT",
      "clock_time_get result past end: FAULT",
      "fd_prestat_dir_name past end: FAULT",
      "poll_oneoff subscriptions past end: FAULT",
      "fd_read still works: ok",
      "stdin: [abcd]",
    ),
    hostListing: CLEAN,
  },
  {
    guest: "bad_utf8",
    expected: lines(
      ...["ff fe", "overlong slash", "surrogate", "truncated sequence"].flatMap((label) => [
        `create ${label}: ILSEQ`,
        `mkdir ${label}: ILSEQ`,
        `symlink to ${label}: ILSEQ`,
      ]),
      "stat ff fe: ILSEQ",
      "open with NUL: INVAL",
      "create valid été: ok",
    ),
    hostListing: ["data", "data/été", "outside", "outside/secret.txt"],
  },
];

// Each run is a separate process that mostly waits on startup: two at a time halve the wall time.
void describe("escape guests on every writable mount", { concurrency: 2 }, () => {
  for (const mount of RW_MOUNTS) {
    for (const c of CASES) {
      void test(`${c.guest} fails to escape a ${mount.name} mount`, async () => {
        const sb = makeSandbox();
        try {
          const r = await runGuest(
            c.guest,
            { flags: await mount.flags(sb), args: ["/data"] },
            c.input === undefined ? {} : { input: c.input },
          );
          assert.ok(!r.stdout.includes("TOP-SECRET") && !r.stderr.includes("TOP-SECRET"), "secret leaked");
          assert.ok(!r.stdout.includes("root:"), "/etc/passwd leaked");
          assert.equal(r.stdout, c.expected, describeRun(r));
          assert.equal(r.status, 0, describeRun(r));
          assert.equal(r.stderr, "");
          sb.assertSecretUntouched();
          if (mount.onHost && c.hostListing !== undefined) assert.deepEqual(sb.listing(), c.hostListing);
          if (!mount.onHost) assert.deepEqual(sb.listing(), CLEAN);
        } finally {
          sb.remove();
        }
      });
    }
  }
});

void test("symlinks made on the host that point outside a host mount cannot be followed", async () => {
  const sb = makeSandbox();
  try {
    symlinkSync(join(sb.outside, "secret.txt"), join(sb.data, "abs_link"));
    symlinkSync("/etc/passwd", join(sb.data, "etc_link"));
    symlinkSync("../outside/secret.txt", join(sb.data, "rel_link"));
    symlinkSync("../outside", join(sb.data, "dir_link"));
    const r = await runGuest("escape_host_symlink", {
      flags: ["--dir", `${sb.data}::/data:rw`],
      args: ["/data"],
    });
    assert.ok(!r.stdout.includes("TOP-SECRET") && !r.stdout.includes("root:"), "host data leaked");
    assert.equal(
      r.stdout,
      lines(
        "lstat abs_link: ok symlink=1",
        "lstat etc_link: ok symlink=1",
        "lstat rel_link: ok symlink=1",
        "lstat dir_link: ok symlink=1",
        "readlink rel_link: ok [../outside/secret.txt]",
        `open abs_link: ${NOTCAP}`,
        `open etc_link: ${NOTCAP}`,
        `open rel_link: ${NOTCAP}`,
        `open dir_link: ${NOTCAP}`,
        `open dir_link/secret.txt: ${NOTCAP}`,
        `open dir_link/new.txt: ${NOTCAP}`,
        `open ./rel_link: ${NOTCAP}`,
        `stat abs_link: ${NOTCAP}`,
        `stat rel_link: ${NOTCAP}`,
        `mkdir dir_link/newdir: ${NOTCAP}`,
        `unlink dir_link/secret.txt: ${NOTCAP}`,
        `set times via rel_link: ${NOTCAP}`,
        `hard link via rel_link: ${NOTCAP}`,
        `rename into dir_link: ${NOTCAP}`,
      ),
      describeRun(r),
    );
    assert.equal(r.status, 0, describeRun(r));
    sb.assertSecretUntouched();
    assert.deepEqual(sb.listing(), [
      "data",
      "data/abs_link",
      "data/dir_link",
      "data/etc_link",
      "data/rel_link",
      "outside",
      "outside/secret.txt",
    ]);
  } finally {
    sb.remove();
  }
});

void test("cross_mount: rename and link between two mounts are XDEV, links cannot cross", async () => {
  const sb = makeSandbox();
  try {
    mkdirSync(join(sb.data, "a"));
    mkdirSync(join(sb.data, "b"));
    for (const flags of [
      ["--mem", "/a", "--mem", "/b"],
      ["--dir", `${join(sb.data, "a")}::/a:rw`, "--dir", `${join(sb.data, "b")}::/b:rw`],
    ]) {
      const r = await runGuest("cross_mount", { flags, args: ["/a", "/b"] });
      assert.equal(
        r.stdout,
        lines(
          "rename across mounts: XDEV",
          "rename over a file across mounts: XDEV",
          "link across mounts: XDEV",
          `open through .. to the other mount: ${NOTCAP}`,
          "f.txt still in the first mount: ok",
          "no f.txt in the second mount: NOENT",
        ),
        describeRun(r),
      );
      assert.equal(r.status, 0, describeRun(r));
    }
    sb.assertSecretUntouched();
    assert.deepEqual(sb.listing(), [
      "data",
      "data/a",
      "data/a/f.txt",
      "data/a/to_b",
      "data/b",
      "data/b/g.txt",
      "outside",
      "outside/secret.txt",
    ]);
  } finally {
    sb.remove();
  }
});
