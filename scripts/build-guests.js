#!/usr/bin/env node
// Builds every guest program `<folder>/*.c` into the `.wasm` beside it, with Debian clang + wasi-libc.
//   node scripts/build-guests.js [--check] [folder...]      (default: every folder in GUEST_FOLDERS)
// --check builds into a temporary folder instead and fails if any committed .wasm differs byte for byte,
// so the committed binaries provably come from the committed sources. Without clang or wasi-libc,
// --check says "skipped: ..." and exits 0 (the binaries are committed for machines without them).
//
// Builds are reproducible: fixed flags, no debug info (wasi-libc's archives carry DWARF with build
// paths), and clang runs in the source's folder on the bare file name. A source may add flags with a
// line `// guest-flags: <flags>` (split on spaces; e.g. -mexec-model=reactor).
import { spawn, spawnSync } from "node:child_process";
import {
  readFileSync,
  readdirSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  existsSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLANG = process.env.CLANG ?? "clang";
const BASE_FLAGS = ["--target=wasm32-wasi", "-O2", "-g0", "-Wall", "-Wl,--strip-debug"];

function extraFlags(source) {
  const flags = [];
  for (const line of readFileSync(source, "utf8").split("\n")) {
    const m = /^\/\/ guest-flags: (.*)$/.exec(line);
    if (m?.[1] !== undefined) flags.push(...m[1].trim().split(/\s+/));
  }
  return flags;
}

function compile(source, output) {
  const args = [...BASE_FLAGS, ...extraFlags(source), basename(source), "-o", output];
  return new Promise((done) => {
    const child = spawn(CLANG, args, { cwd: dirname(source), stdio: ["ignore", "inherit", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e) => done({ source, ok: false, stderr: e.message }));
    child.on("close", (code) => done({ source, ok: code === 0, stderr }));
  });
}

async function runPool(jobs, width) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      results.push(await job());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, width) }, worker));
  return results;
}

/** Why guests cannot be built here, or undefined when clang and wasi-libc both work. */
function missingToolchain(scratch) {
  const v = spawnSync(CLANG, ["--version"], { encoding: "utf8" });
  if (v.error !== undefined || v.status !== 0) return "clang not found";
  const probe = join(scratch, "probe.c");
  writeFileSync(probe, '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n');
  const r = spawnSync(CLANG, [...BASE_FLAGS, "probe.c", "-o", "probe.wasm"], {
    cwd: scratch,
    encoding: "utf8",
  });
  if (r.status !== 0) return "wasi-libc not found (clang cannot link a wasm32-wasi program)";
  return undefined;
}

/** Every folder of committed guests: built by `npm run guests`, checked by the test suite. */
const GUEST_FOLDERS = [
  "test/guests",
  "test/fixtures/runtime",
  "examples",
  "examples/credit-risk",
  "bench/kernels",
  "bench/wasi-calls",
];

async function main(argv) {
  const check = argv.includes("--check");
  const folders = argv.filter((a) => a !== "--check").map((f) => resolve(f));
  if (folders.length === 0) folders.push(...GUEST_FOLDERS.map((f) => join(ROOT, f)));
  const sources = folders.flatMap((dir) =>
    readdirSync(dir)
      .filter((n) => n.endsWith(".c"))
      .sort()
      .map((n) => join(dir, n)),
  );

  const scratch = mkdtempSync(join(tmpdir(), "twine-guests-"));
  try {
    const missing = missingToolchain(scratch);
    if (missing !== undefined) {
      if (check) {
        console.log(`skipped: ${missing}`);
        return 0;
      }
      console.error(`build-guests: ${missing}`);
      return 1;
    }
    // In --check mode outputs go to scratch/<n>/<name>.wasm: sources in different folders may share a name.
    const outputOf = (source, i) =>
      check ? join(scratch, String(i), basename(source, ".c") + ".wasm") : source.slice(0, -2) + ".wasm";
    const jobs = sources.map((source, i) => async () => {
      if (check) mkdirSync(join(scratch, String(i)));
      return { ...(await compile(source, outputOf(source, i))), output: outputOf(source, i) };
    });
    const results = await runPool(jobs, availableParallelism());
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) console.error(`build-guests: ${r.source} failed:\n${r.stderr}`);
    if (failed.length > 0) return 1;
    for (const r of results) if (r.stderr.trim() !== "") console.error(r.stderr.trimEnd());

    if (!check) {
      console.log(`built ${results.length} guests`);
      return 0;
    }
    const differing = [];
    for (const r of results) {
      const committed = r.source.slice(0, -2) + ".wasm";
      if (!existsSync(committed)) differing.push(`${committed} (missing)`);
      else if (!readFileSync(committed).equals(readFileSync(r.output)))
        differing.push(`${committed} (differs)`);
    }
    if (differing.length > 0) {
      console.error(
        `build-guests --check: committed wasm does not match its source:\n  ${differing.join("\n  ")}`,
      );
      console.error("run `npm run guests` and commit the result");
      return 1;
    }
    console.log(`checked ${results.length} guests: all committed wasm match their sources`);
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
