// The committed guest .wasm files must be exactly what their .c sources build to (see
// scripts/build-guests.js --check). Skips, with the reason, where clang or wasi-libc is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./twine-cli.js";

void test("committed guest wasm files match their sources", (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "build-guests.js"), "--check"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const skipped = /^skipped: (.*)$/m.exec(r.stdout);
  if (skipped !== null) {
    t.skip(skipped[1]);
    return;
  }
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
