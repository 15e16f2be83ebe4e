#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli (built from src/cli by `npm run build`, run by `npm ci`).
// `twine run` starts the guest's worker thread first, so that its start overlaps loading the CLI.
if (process.argv[2] === "run") (await import("../dist/src/runtime/spare-worker.js")).prestartWorker();
const { main } = await import("../dist/src/cli/main.js");

process.exitCode = await main(process.argv.slice(2));
