// `twine run` with guests that need no mount: stdio, args and env, clocks, random, exit codes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { describeRun, runGuest } from "./twine-cli.js";

// Each run is a separate process that mostly waits on startup: two at a time halve the wall time.
void describe("guests without a mount", { concurrency: 2 }, () => {
  void test("stdio_echo copies stdin to stdout and reports on stderr", async () => {
    const r = await runGuest("stdio_echo", {}, { input: "hello\nworld\n" });
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.stdout, "hello\nworld\n");
    assert.equal(r.stderr, "echoed 12 bytes\n");
  });

  void test("stdio_echo passes 300 KiB of binary data through unchanged", async () => {
    const input = Buffer.alloc(300 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 131 + (i >> 9)) & 0xff;
    const r = await runGuest("stdio_echo", {}, { input });
    assert.equal(r.status, 0, describeRun(r));
    assert.ok(r.stdoutBytes.equals(input), `stdout differs (${r.stdoutBytes.length} bytes)`);
    assert.equal(r.stderr, `echoed ${input.length} bytes\n`);
  });

  void test("stdio_echo with empty stdin", async () => {
    const r = await runGuest("stdio_echo");
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "echoed 0 bytes\n");
  });

  void test("args_env receives exactly the given args and env", async () => {
    const r = await runGuest("args_env", {
      flags: ["--env", "A=1", "--env", "B=x=y"],
      args: ["a b", "", "ünï", "--flag"],
    });
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(
      r.stdout,
      [
        "argc=5",
        "argv0 set",
        "argv[1]=[a b]",
        "argv[2]=[]",
        "argv[3]=[ünï]",
        "argv[4]=[--flag]",
        "env[0]=[A=1]",
        "env[1]=[B=x=y]",
        "envc=2",
        "sizes ok",
        "",
      ].join("\n"),
    );
    assert.equal(r.stderr, "");
  });

  void test("args_env sees none of the host environment by default", async () => {
    const r = await runGuest("args_env");
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.stdout, "argc=1\nargv0 set\nenvc=0\nsizes ok\n");
  });

  void test("clocks: realtime, monotonic, resolutions and 20 ms sleeps", async () => {
    const r = await runGuest("clocks");
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(
      r.stdout,
      [
        "realtime ok",
        "monotonic ok",
        "res_get ok",
        "time_get bad clock: INVAL",
        "res_get bad clock: INVAL",
        "nanosleep ok",
        "poll timeout ok",
        "poll_oneoff relative ok",
        "poll_oneoff absolute ok",
        "",
      ].join("\n"),
    );
  });

  void test("random: distinct, uniform-looking draws", async () => {
    const r = await runGuest("random");
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.stdout, "random_get ok\ngetentropy ok\n1 MiB histogram ok\nrandom_get zero length: ok\n");
  });

  void test("stdio_fds: the standard fds are streams, not seekable, not preopens", async () => {
    const r = await runGuest("stdio_fds", {}, { input: "abc" });
    assert.equal(r.status, 0, describeRun(r));
    const perFd = [0, 1, 2].flatMap((fd) => [
      `fd ${fd} seek: NOTCAPABLE`,
      `fd ${fd} tell: NOTCAPABLE`,
      `fd ${fd} prestat: BADF`,
      `fd ${fd} fdstat: ok seek right=0`,
    ]);
    const rest = [
      "pread stdin: NOTCAPABLE",
      "pwrite stdout: NOTCAPABLE",
      "write stdin: NOTCAPABLE",
      "read stdout: NOTCAPABLE",
    ];
    assert.equal(r.stdout, [...perFd, ...rest, ""].join("\n"));
  });

  for (const code of [0, 1, 3, 42, 113, 255]) {
    void test(`exit_code: exit(${code}) is the process status`, async () => {
      const r = await runGuest("exit_code", { args: [String(code)] });
      assert.equal(r.status, code, describeRun(r));
      assert.equal(r.stdout, `exiting with ${code}\n`);
      assert.equal(r.stderr, "");
    });
  }
});
