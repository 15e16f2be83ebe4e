// How `twine run` ends when the guest cannot go on: traps (exit 134), a wall-clock timeout (124), limits
// (a memory cap that makes malloc return NULL or refuses the module: 125; an fd cap: MFILE), and
// modules it must refuse before running (65).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeRun, guestPath, runGuest, twine } from "./twine-cli.js";

/** The error line the CLI prints ends with the error's code in brackets (see src/cli/main.ts). */
function assertOneErrorLine(stderr: string, code: string): void {
  assert.match(stderr, /^[^\n]+\n$/, `expected one line on stderr, got ${JSON.stringify(stderr)}`);
  assert.ok(stderr.trimEnd().endsWith(`[${code}]`), `expected code ${code}: ${stderr}`);
}

// Each run is a separate process that mostly waits on startup: two at a time halve the wall time.
void describe("runs that end in a trap, a timeout, a limit or a refusal", { concurrency: 2 }, () => {
  for (const guest of ["trap_unreachable", "trap_oob", "trap_stack", "trap_div0"]) {
    void test(`${guest} ends in a trap: exit 134, output so far kept`, async () => {
      const r = await runGuest(guest);
      assert.equal(r.status, 134, describeRun(r));
      assert.equal(r.stdout, "before trap\n");
      assertOneErrorLine(r.stderr, "run.trap");
    });
  }

  void test("loop_forever is stopped by --timeout 0.5 with exit 124", async () => {
    const r = await runGuest("loop_forever", { flags: ["--timeout", "0.5"] }, { killAfterMs: 20_000 });
    assert.equal(r.status, 124, describeRun(r));
    assert.ok(r.ms < 5000, `took ${Math.round(r.ms)} ms`);
    assert.equal(r.stdout, "looping\n");
    assertOneErrorLine(r.stderr, "run.timeout");
  });

  void test("sleep_forever, blocked in poll_oneoff, is stopped by --timeout 0.5 with exit 124", async () => {
    const r = await runGuest("sleep_forever", { flags: ["--timeout", "0.5"] }, { killAfterMs: 20_000 });
    assert.equal(r.status, 124, describeRun(r));
    assert.ok(r.ms < 5000, `took ${Math.round(r.ms)} ms`);
    assert.equal(r.stdout, "sleeping\n");
    assertOneErrorLine(r.stderr, "run.timeout");
  });

  void test("stdio_echo, blocked reading a stdin that never ends, is stopped by --timeout 0.5", async () => {
    const r = await runGuest(
      "stdio_echo",
      { flags: ["--timeout", "0.5"] },
      { input: "partial line", keepStdinOpen: true, killAfterMs: 8000 },
    );
    assert.equal(r.status, 124, describeRun(r));
    assert.ok(r.ms < 5000, `took ${Math.round(r.ms)} ms`);
    assertOneErrorLine(r.stderr, "run.timeout");
  });

  void test("malloc_cap: under a 16 MiB memory cap malloc returns NULL near the cap", async () => {
    const r = await runGuest("malloc_cap", { flags: ["--max-memory", "16"], args: ["16"] });
    assert.equal(
      r.stdout,
      "malloc returned NULL\nallocated within cap\nreuse after free ok\n",
      describeRun(r),
    );
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.stderr, "");
  });

  void test("a memory cap below the module's initial memory: exit 125 before running", async () => {
    // random.wasm has a 1 MiB static buffer, so its initial memory is above 1 MiB.
    const r = await runGuest("random", { flags: ["--max-memory", "1"] });
    assert.equal(r.status, 125, describeRun(r));
    assert.equal(r.stdout, "");
    assertOneErrorLine(r.stderr, "run.memory_limit");
  });

  void test("fd_limit: with --max-fds 20 opening fails with MFILE at the limit", async () => {
    const r = await runGuest("fd_limit", {
      flags: ["--max-fds", "20", "--mem", "/data"],
      args: ["/data", "20"],
    });
    assert.equal(
      r.stdout,
      "open refused: MFILE\nrefused at the limit\nopen after closing ok\n",
      describeRun(r),
    );
    assert.equal(r.status, 0, describeRun(r));
    assert.equal(r.stderr, "");
  });

  void test("bad modules are refused before running: exit 65 and one line on stderr", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "twine-bad-"));
    try {
      const whole = readFileSync(guestPath("stdio_echo"));
      const cases: [string, string][] = [
        ["truncated", join(dir, "truncated.wasm")],
        ["text", join(dir, "text.wasm")],
        ["empty", join(dir, "empty.wasm")],
        ["no _start", guestPath("no_start")],
        ["imports env.foo", guestPath("import_env")],
      ];
      writeFileSync(join(dir, "truncated.wasm"), whole.subarray(0, Math.floor(whole.length / 2)));
      writeFileSync(join(dir, "text.wasm"), "this is not a WebAssembly module\n");
      writeFileSync(join(dir, "empty.wasm"), "");
      for (const [label, file] of cases) {
        await t.test(label, async () => {
          const r = await twine(["run", file]);
          assert.equal(r.status, 65, describeRun(r));
          assert.equal(r.stdout, "");
          assert.match(r.stderr, /^[^\n]+\n$/, `one line expected: ${JSON.stringify(r.stderr)}`);
          assert.match(r.stderr, /\[module\.(invalid|link)\]\n$/);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
