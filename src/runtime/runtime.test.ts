import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isTwineError, type ErrorCode } from "../errors.js";
import { Runtime, type RunOptions, type RunResult } from "./runtime.js";
import {
  body,
  codeSection,
  exportOf,
  exportSection,
  funcType,
  functionSection,
  limits,
  memorySection,
  moduleOf,
  section,
  typeSection,
} from "./test-module-builder.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const fixture = (name: string): string => join(ROOT, "test", "fixtures", "runtime", `${name}.wasm`);
const guest = (name: string): string => join(ROOT, "test", "guests", `${name}.wasm`);
const MIB = 1024 * 1024;

interface Captured {
  result: RunResult;
  stdout: string;
  ms: number;
}

/** Runs with stdout and stderr in temp files, read back right after run() resolves. */
async function run(module: string | Uint8Array, o: RunOptions = {}): Promise<Captured> {
  const dir = mkdtempSync(join(tmpdir(), "twine-rt-"));
  const out = openSync(join(dir, "out"), "w");
  const err = openSync(join(dir, "err"), "w");
  try {
    const started = performance.now();
    const result = await new Runtime({ ...o, stdout: out, stderr: err }).run(module);
    const ms = performance.now() - started;
    return { result, stdout: readFileSync(join(dir, "out"), "utf8"), ms };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertStatus(r: RunResult, status: RunResult["status"], code?: ErrorCode): void {
  assert.equal(r.status, status, JSON.stringify(r));
  if (code !== undefined) assert.ok(r.status !== "exited" && isTwineError(r.error, code), JSON.stringify(r));
}

void test("exit code, argv[0] = the module's file name, args; stdout is complete when run() resolves", async () => {
  const { result, stdout } = await run(fixture("argv"), { args: ["x", "y z"] });
  assert.deepEqual(result, { status: "exited", exitCode: 3 });
  assert.equal(stdout, "argv[0]=argv.wasm\nargv[1]=x\nargv[2]=y z\n");
});

void test("a module given as bytes runs with argv[0] = module.wasm", async () => {
  const { result, stdout } = await run(readFileSync(fixture("argv")));
  assert.deepEqual(result, { status: "exited", exitCode: 1 });
  assert.equal(stdout, "argv[0]=module.wasm\n");
});

void test("the guest's exit code passes through", async () => {
  const { result } = await run(guest("exit_code"), { args: ["42"] });
  assert.deepEqual(result, { status: "exited", exitCode: 42 });
});

void test("a trap ends the run with status trap, after the output before it", async () => {
  const { result, stdout } = await run(guest("trap_unreachable"));
  assertStatus(result, "trap", "run.trap");
  assert.equal(stdout, "before trap\n");
});

void test("a spinning guest is stopped by the timeout", async () => {
  const { result, stdout, ms } = await run(guest("loop_forever"), { timeoutMs: 300 });
  assertStatus(result, "timeout", "run.timeout");
  assert.equal(stdout, "looping\n");
  assert.ok(ms < 5000, `took ${ms} ms`);
});

void test("a guest blocked reading an idle pipe is still reported as timed out", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "twine-rt-fifo-"));
  const fifo = join(dir, "in");
  execFileSync("mkfifo", [fifo]);
  // Opened read-write so the open does not wait for a writer and reads block instead of seeing EOF.
  const fd = openSync(fifo, "r+");
  t.after(() => {
    // Let the blocked read return so the terminated worker can finish.
    writeSync(fd, "x");
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const { result, ms } = await run(guest("stdio_echo"), { stdin: fd, timeoutMs: 200 });
  assertStatus(result, "timeout", "run.timeout");
  assert.ok(ms < 5000, `took ${ms} ms`);
});

void test("memory.grow fails inside the guest at the cap", async () => {
  const two = await run(fixture("grow"), { maxMemoryBytes: 2 * MIB });
  assert.deepEqual(two.result, { status: "exited", exitCode: 0 });
  assert.equal(two.stdout, "pages=32\n");
  const five = await run(fixture("grow"), { maxMemoryBytes: 5 * MIB });
  assert.equal(five.stdout, "pages=80\n");
});

void test("malloc returns NULL at the cap, and memory freed is reusable", async () => {
  const { result, stdout } = await run(guest("malloc_cap"), { maxMemoryBytes: 16 * MIB, args: ["16"] });
  assert.deepEqual(result, { status: "exited", exitCode: 0 }, stdout);
  assert.match(stdout, /allocated within cap/);
});

void test("an initial memory over the cap is memory_limit and the guest never runs", async () => {
  const over = await run(fixture("big_initial_memory"), { maxMemoryBytes: 3 * MIB });
  assertStatus(over.result, "memory_limit", "run.memory_limit");
  assert.equal(over.stdout, "");
  const under = await run(fixture("big_initial_memory"), { maxMemoryBytes: 5 * MIB });
  assert.deepEqual(under.result, { status: "exited", exitCode: 0 });
});

void test("bad modules reject: not Wasm, no _start, unknown import, missing file, a directory", async () => {
  const rt = new Runtime();
  await assert.rejects(rt.run(new TextEncoder().encode("hello")), (e) => isTwineError(e, "module.invalid"));
  await assert.rejects(rt.run(guest("no_start")), (e) => isTwineError(e, "module.link"));
  await assert.rejects(rt.run(guest("import_env")), (e) => isTwineError(e, "module.link"));
  await assert.rejects(rt.run(join(ROOT, "no-such-module.wasm")), (e) => isTwineError(e, "io.host"));
  await assert.rejects(rt.run(ROOT), (e) => isTwineError(e, "module.invalid"));
});

void test("bad options are rejected when the Runtime is made", () => {
  const bad: RunOptions[] = [
    { timeoutMs: -1 },
    { timeoutMs: Number.NaN },
    { timeoutMs: 2 ** 31 },
    { maxMemoryBytes: 1.5 },
    { maxOpenFds: 0 },
    { tiering: "fast" as "auto" },
    { env: { "A=B": "1" } },
    { stdout: -1 },
  ];
  for (const o of bad)
    assert.throws(
      () => new Runtime(o),
      (e) => isTwineError(e, "run.options"),
      JSON.stringify(o),
    );
});

void test("runs with different tiers at the same time both complete correctly", async () => {
  const [eager, lazy, auto] = await Promise.all([
    run(fixture("argv"), { tiering: "eager", args: ["e"] }),
    run(fixture("argv"), { tiering: "lazy", args: ["l"] }),
    run(guest("exit_code"), { args: ["9"] }),
  ]);
  assert.equal(eager.stdout, "argv[0]=argv.wasm\nargv[1]=e\n");
  assert.equal(lazy.stdout, "argv[0]=argv.wasm\nargv[1]=l\n");
  assert.deepEqual(auto.result, { status: "exited", exitCode: 9 });
});

void test("env and a memory mount reach the guest", async () => {
  const { result, stdout } = await run(guest("args_env"), {
    env: { A: "1" },
    mounts: [{ type: "mem", guestPath: "/m" }],
  });
  assert.deepEqual(result, { status: "exited", exitCode: 0 }, stdout);
  assert.match(stdout, /env\[0\]=\[A=1\]/);
});

void test("a trap in the module's start function is status trap", async () => {
  const bytes = moduleOf(
    typeSection([funcType([], [])]),
    functionSection([0, 0]),
    memorySection([limits(1)]),
    exportSection([exportOf("_start", "function", 0), exportOf("memory", "memory", 0)]),
    section(8, [1]), // start: function 1, which traps
    codeSection([body(), body(0x00)]),
  );
  const { result } = await run(bytes);
  assertStatus(result, "trap", "run.trap");
});
