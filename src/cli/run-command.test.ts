// `twine run` through the real CLI (node bin/twine.js), as a user runs it: exit statuses, the one
// error line on stderr, and strict flag validation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT } from "../errors.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TWINE = join(ROOT, "bin", "twine.js");
const fixture = (name: string): string => join(ROOT, "test", "fixtures", "runtime", `${name}.wasm`);
const guest = (name: string): string => join(ROOT, "test", "guests", `${name}.wasm`);

interface Cli {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI; with `idleStdin` its stdin is a pipe that stays open and empty until it exits. */
function twine(args: readonly string[], idleStdin = false): Promise<Cli> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TWINE, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    // The guest may exit before stdin closes; that is not a failure.
    child.stdin.on("error", () => {});
    if (!idleStdin) child.stdin.end();
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    // A hung CLI must fail its test, not stall the suite.
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr, ms: performance.now() - started });
    });
  });
}

const show = (r: Cli): string => `status=${String(r.status)}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

/** The failure is reported as exactly one line `twine: <message> [<code>]`. */
function assertOneErrorLine(r: Cli, code: string): void {
  const lines = r.stderr.split("\n");
  assert.equal(lines.length, 2, show(r));
  assert.equal(lines[1], "");
  assert.ok(lines[0]?.startsWith("twine: ") && lines[0].endsWith(` [${code}]`), show(r));
}

void test("the guest's exit code is twine's exit status; args after -- reach the guest", async () => {
  const r = await twine(["run", fixture("argv"), "--", "-x", "--dir", "y"]);
  assert.equal(r.status, 4, show(r));
  assert.equal(r.stdout, "argv[0]=argv.wasm\nargv[1]=-x\nargv[2]=--dir\nargv[3]=y\n");
  assert.equal(r.stderr, "");
  const e = await twine(["run", guest("exit_code"), "7"]);
  assert.equal(e.status, 7, show(e));
});

void test("a trap exits 134 with one error line", async () => {
  const r = await twine(["run", guest("trap_unreachable")]);
  assert.equal(r.status, EXIT.TRAP, show(r));
  assert.equal(r.stdout, "before trap\n");
  assertOneErrorLine(r, "run.trap");
});

void test("--timeout 0.5 stops a spinning guest: exit 124", async () => {
  const r = await twine(["run", "--timeout", "0.5", guest("loop_forever")]);
  assert.equal(r.status, EXIT.TIMEOUT, show(r));
  assert.equal(r.stdout, "looping\n");
  assertOneErrorLine(r, "run.timeout");
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

void test("--timeout stops a guest blocked reading an idle stdin pipe, and twine exits promptly", async () => {
  const r = await twine(["run", "--timeout", "0.5", guest("stdio_echo")], true);
  assert.equal(r.status, EXIT.TIMEOUT, show(r));
  assertOneErrorLine(r, "run.timeout");
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

void test("--max-memory caps growth and rejects a too-large initial memory (exit 125)", async () => {
  const grow = await twine(["run", "--max-memory", "2", fixture("grow")]);
  assert.equal(grow.status, 0, show(grow));
  assert.equal(grow.stdout, "pages=32\n");
  const big = await twine(["run", "--max-memory", "3", fixture("big_initial_memory")]);
  assert.equal(big.status, EXIT.LIMIT, show(big));
  assert.equal(big.stdout, "");
  assertOneErrorLine(big, "run.memory_limit");
});

void test("bad modules exit 65: not Wasm, no _start, unknown import", async () => {
  const cases: [string, string][] = [
    [join(ROOT, "package.json"), "module.invalid"],
    [guest("no_start"), "module.link"],
    [guest("import_env"), "module.link"],
  ];
  for (const [module, code] of cases) {
    const r = await twine(["run", module]);
    assert.equal(r.status, EXIT.BAD_MODULE, show(r));
    assertOneErrorLine(r, code);
  }
});

void test("a missing module file exits 74", async () => {
  const r = await twine(["run", join(ROOT, "no-such-module.wasm")]);
  assert.equal(r.status, EXIT.IO, show(r));
  assertOneErrorLine(r, "io.host");
});

void test("--env, --tiering, --max-fds and --mem are passed to the run", async () => {
  const r = await twine([
    "run",
    "--env",
    "A=1",
    "--env",
    "B=x=y",
    "--tiering",
    "lazy",
    "--max-fds",
    "64",
    "--mem",
    "/m",
    guest("args_env"),
  ]);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stdout, /env\[0\]=\[A=1\]\nenv\[1\]=\[B=x=y\]/);
});

void test("bad flags exit 2 with one line on stderr", async () => {
  const module = fixture("argv");
  const bad: string[][] = [
    ["--env", "NOVALUE"],
    ["--env", "=v"],
    ["--timeout", "-1"],
    ["--timeout", "0"],
    ["--timeout", "abc"],
    ["--timeout", "1e3"],
    ["--timeout", "99999999"],
    ["--tiering", "fast"],
    ["--max-memory", "0"],
    ["--max-memory", "1.5"],
    ["--max-fds", "x"],
    ["--dir", "no-separator"],
    ["--mem", ""],
    ["--no-such-flag"],
  ];
  const runs = await Promise.all(bad.map((flags) => twine(["run", ...flags, module])));
  for (const [i, r] of runs.entries()) {
    const flags = bad[i] ?? [];
    assert.equal(r.status, EXIT.USAGE, `${flags.join(" ")}\n${show(r)}`);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, `${flags.join(" ")}\n${show(r)}`);
    assert.equal(r.stdout, "");
  }
  const none = await twine(["run"]);
  assert.equal(none.status, EXIT.USAGE, show(none));
});
