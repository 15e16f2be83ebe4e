// Each case runs in its own node process: whether the process exits, and when, is what is tested.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const SPARE_WORKER = JSON.stringify(fileURLToPath(new URL("./spare-worker.js", import.meta.url)));
const RUNTIME = JSON.stringify(fileURLToPath(new URL("./runtime.js", import.meta.url)));
const ARGV_WASM = JSON.stringify(join(ROOT, "test", "fixtures", "runtime", "argv.wasm"));

/** Runs `script` as an ES module file (not with --eval: workers inherit node's flags, and --input-type breaks them). */
function node(script: string): {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "twine-spare-"));
  try {
    const file = join(dir, "main.mjs");
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { timeout: 20_000, encoding: "utf8" });
    return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void test("an unused prestarted worker does not keep the process alive", () => {
  // The spare is given time to start and sit waiting for input: that state must not hold the process.
  const r = node(`(await import(${SPARE_WORKER})).prestartWorker(); setTimeout(() => {}, 500);`);
  assert.equal(r.signal, null, "the process did not exit by itself");
  assert.equal(r.status, 0, r.stderr);
});

void test("a run uses the prestarted worker that waited for its input; the next run starts its own", () => {
  // Exit status 13 (an unsettled top-level await) would mean the taken worker did not keep the
  // process alive while the guest ran.
  const r = node(`
    const { prestartWorker } = await import(${SPARE_WORKER});
    const { Runtime } = await import(${RUNTIME});
    prestartWorker();
    await new Promise((r) => setTimeout(r, 500));
    const first = await new Runtime({ args: ["a"] }).run(${ARGV_WASM});
    const second = await new Runtime({ args: ["b"] }).run(${ARGV_WASM});
    console.log(JSON.stringify([first, second]));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    'argv[0]=argv.wasm\nargv[1]=a\nargv[0]=argv.wasm\nargv[1]=b\n[{"status":"exited","exitCode":2},{"status":"exited","exitCode":2}]\n',
  );
});
