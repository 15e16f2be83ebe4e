#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli (built from src/cli by `npm run build`, run by `npm ci`).
import { main } from "../dist/src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
