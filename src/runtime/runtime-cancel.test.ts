// RunOptions.signal: an abort stops the guest the way the timeout does (its worker is terminated),
// and the result says `cancelled` with the abort's reason when that is a TwineError.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TwineError, isTwineError } from "../errors.js";
import { Runtime, type RunResult } from "./runtime.js";

const LOOP_FOREVER = fileURLToPath(new URL("../../../test/guests/loop_forever.wasm", import.meta.url));

/** Runs loop_forever with a long timeout; aborts `controller` (with `reason`) once the guest is looping. */
async function runLooping(
  controller: AbortController,
  reason?: unknown,
): Promise<{ result: RunResult; stdout: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), "twine-rt-cancel-"));
  const outPath = join(dir, "out");
  const out = openSync(outPath, "w");
  const poll = setInterval(() => {
    if (readFileSync(outPath, "utf8") === "looping\n") {
      clearInterval(poll);
      controller.abort(reason);
    }
  }, 10);
  try {
    const t0 = performance.now();
    const result = await new Runtime({ stdout: out, timeoutMs: 60_000, signal: controller.signal }).run(
      LOOP_FOREVER,
    );
    return { result, stdout: readFileSync(outPath, "utf8"), ms: performance.now() - t0 };
  } finally {
    clearInterval(poll);
    closeSync(out);
    rmSync(dir, { recursive: true, force: true });
  }
}

function cancelledWith(r: RunResult): TwineError {
  if (r.status !== "cancelled") assert.fail(`not cancelled: ${JSON.stringify(r)}`);
  return r.error;
}

void test("aborting the signal stops a spinning guest long before its timeout", async () => {
  const { result, stdout, ms } = await runLooping(new AbortController());
  assert.ok(isTwineError(cancelledWith(result), "run.cancelled"));
  assert.equal(stdout, "looping\n");
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
});

void test("a TwineError given as the abort reason is the result's error", async () => {
  const reason = new TwineError("serve.cancelled", "stopped by its owner");
  const { result } = await runLooping(new AbortController(), reason);
  assert.equal(cancelledWith(result), reason);
});

void test("an already aborted signal starts no guest", async () => {
  const controller = new AbortController();
  controller.abort();
  const dir = mkdtempSync(join(tmpdir(), "twine-rt-cancel-"));
  const out = openSync(join(dir, "out"), "w");
  try {
    const result = await new Runtime({ stdout: out, signal: controller.signal }).run(LOOP_FOREVER);
    assert.ok(isTwineError(cancelledWith(result), "run.cancelled"));
    assert.equal(readFileSync(join(dir, "out"), "utf8"), "");
  } finally {
    closeSync(out);
    rmSync(dir, { recursive: true, force: true });
  }
});
