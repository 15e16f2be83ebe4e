#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's own test runner. Files are listed explicitly
// because node 20's directory discovery would also run helper files that sit in test/ folders.
// TWINE_TEST_FILTER=substring narrows the run (e.g. TWINE_TEST_FILTER=pfs npm test).
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const filter = process.env.TWINE_TEST_FILTER ?? "";
const files = walk("dist", [])
  .filter((f) => f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error("run-tests: no test files found under dist/ (did the build run?)");
  process.exit(1);
}
// pfs root records (and any other state) go to a fresh directory per run, never to the user's
// ~/.local/state: tests must not depend on, or leave behind, state of earlier runs.
const stateDir = mkdtempSync(join(tmpdir(), "twine-test-state-"));
const r = spawnSync(process.execPath, ["--no-turbo-fast-api-calls", "--test", ...files], {
  stdio: "inherit",
  env: { ...process.env, TWINE_STATE_DIR: stateDir },
});
rmSync(stateDir, { recursive: true, force: true });
process.exit(r.status ?? 1);
