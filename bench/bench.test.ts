// Each kernel at a tiny size under `twine run` must print the checksum recorded in suite.ts, and the same
// C compiled natively must print it too (so the recorded value is not stale and Wasm == native).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  KERNELS,
  WASI_CALLS,
  WASI_CALLS_WASM,
  compileNative,
  compilerAvailable,
  kernelSource,
  kernelWasm,
  parseCallTimes,
  parseChecksum,
  timeProcess,
  twineRunArgs,
} from "./suite.js";

const noGcc = compilerAvailable("gcc") ? false : "gcc not found: the native half of the check needs it";

for (const k of KERNELS) {
  void test(`bench kernel ${k.name}: twine run prints the recorded checksum`, () => {
    const t = timeProcess(process.execPath, twineRunArgs(kernelWasm(k.name), [], [String(k.tinySize)]));
    assert.equal(t.status, 0, t.stderr);
    assert.equal(parseChecksum(t.stdout, k.name), k.tinyChecksum);
  });

  void test(`bench kernel ${k.name}: gcc -O2 build prints the same checksum`, { skip: noGcc }, () => {
    const dir = mkdtempSync(join(tmpdir(), "twine-bench-test-"));
    try {
      const exe = join(dir, k.name);
      compileNative("gcc", kernelSource(k.name), exe);
      const t = timeProcess(exe, [String(k.tinySize)]);
      assert.equal(t.status, 0, t.stderr);
      assert.equal(parseChecksum(t.stdout, k.name), k.tinyChecksum);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

void test("bench wasi-calls: every phase completes under twine run --mem /data", () => {
  const t = timeProcess(process.execPath, twineRunArgs(WASI_CALLS_WASM, ["--mem", "/data"], ["100"]), {
    stderr: "null",
  });
  assert.equal(t.status, 0, t.stdout);
  const times = parseCallTimes(t.stdout);
  assert.deepEqual([...times.keys()], [...WASI_CALLS]);
  for (const ns of times.values()) assert.ok(ns > 0);
});
