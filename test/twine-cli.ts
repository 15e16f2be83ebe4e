// Helpers for the integration tests: run `node bin/twine.js ...` as a user would (stdin in; status,
// stdout, stderr out), the scratch host tree a run mounts, and the table of writable mounts that every
// file and directory guest runs on.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PfsMount } from "../src/pfs/pfs-mount.js";

/** The repository root: this file runs from dist/test/. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const TWINE = join(ROOT, "bin", "twine.js");

export function guestPath(name: string): string {
  return join(ROOT, "test", "guests", `${name}.wasm`);
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  /** Wall-clock duration of the whole process, ms. */
  ms: number;
}

export interface RunOptions {
  input?: string | Buffer;
  /** Kill the process after this long (a hung runtime must fail the test, not the suite). */
  killAfterMs?: number;
  /** Leave stdin open (no end of input) for the whole run: a guest reading it blocks. */
  keepStdinOpen?: boolean;
}

/** Runs the CLI with `args` (after `node bin/twine.js`). Never rejects for a non-zero exit. */
export function twine(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TWINE, ...args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const killer = setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs ?? 60_000);
    child.on("error", (e) => {
      clearTimeout(killer);
      reject(e);
    });
    child.on("close", (status, signal) => {
      clearTimeout(killer);
      child.stdin.destroy();
      const stdoutBytes = Buffer.concat(out);
      resolve({
        status,
        signal,
        stdout: stdoutBytes.toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        stdoutBytes,
        ms: performance.now() - started,
      });
    });
    // The guest may exit before reading all of stdin; that is not a test failure.
    child.stdin.on("error", () => {});
    if (opts.keepStdinOpen === true) child.stdin.write(opts.input ?? "");
    else child.stdin.end(opts.input ?? "");
  });
}

export interface GuestRun {
  /** Runtime flags before the module (mounts, --env, limits). */
  flags?: readonly string[];
  /** Arguments for the guest, after the module. */
  args?: readonly string[];
}

/** `twine run [flags] <guest>.wasm -- [args]` ("--" so guest arguments may start with "-"). */
export function runGuest(name: string, run: GuestRun = {}, opts: RunOptions = {}): Promise<RunResult> {
  return twine(["run", ...(run.flags ?? []), guestPath(name), "--", ...(run.args ?? [])], opts);
}

/** The secret a guest must never read: it sits next to the mounted directory. */
export const SECRET = "TOP-SECRET-HOST-DATA\n";

// The secret's times (seconds). An atime older than the mtime makes even a `relatime` file system
// record the next read, so a read by the runtime shows as a changed atime.
const SECRET_ATIME = 1_000_000_000;
const SECRET_MTIME = 1_100_000_000;

/** A scratch tree per run: <root>/data (what a host mount exposes) and <root>/outside/secret.txt. */
export interface Sandbox {
  root: string;
  data: string;
  outside: string;
  /** <root>/store, not created: for a mount kind's own storage (a pfs volume), left out of listing(). */
  store: string;
  /** Everything under root but store, as sorted relative paths ("data/f.txt", "outside/secret.txt"). */
  listing(): string[];
  /** Asserts the secret was neither read (where atime tells), changed, nor had its times set. */
  assertSecretUntouched(): void;
  remove(): void;
}

export function makeSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "twine-it-"));
  const data = join(root, "data");
  const outside = join(root, "outside");
  const secret = join(outside, "secret.txt");
  mkdirSync(data);
  mkdirSync(outside);
  writeFileSync(secret, SECRET);
  utimesSync(secret, SECRET_ATIME, SECRET_MTIME);
  return {
    root,
    data,
    outside,
    store: join(root, "store"),
    listing: () => listTree(root, "").filter((p) => p !== "store" && !p.startsWith("store/")),
    assertSecretUntouched: () => {
      const st = statSync(secret);
      assert.equal(st.mtimeMs, SECRET_MTIME * 1000, "the secret's mtime changed");
      if (atimeRecordsReads(root)) assert.equal(st.atimeMs, SECRET_ATIME * 1000, "the secret was read");
      assert.equal(readFileSync(secret, "utf8"), SECRET, "the secret changed");
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Whether reading a file here updates its atime (not on noatime mounts). */
function atimeRecordsReads(dir: string): boolean {
  const probe = join(dir, "atime-probe");
  writeFileSync(probe, "probe");
  utimesSync(probe, SECRET_ATIME, SECRET_MTIME);
  readFileSync(probe);
  const changed = statSync(probe).atimeMs !== SECRET_ATIME * 1000;
  rmSync(probe);
  return changed;
}

function listTree(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    out.push(rel);
    if (e.isDirectory()) out.push(...listTree(join(dir, e.name), rel));
  }
  return out.sort();
}

/**
 * A writable mount at /data that file and directory guests run on, with the same expected output.
 * A mount kind whose storage is not plain files (pfs) keeps it in sandbox.store, which `flags` may
 * set up (e.g. create a volume and a key file) before returning the run flags.
 */
export interface MountKind {
  name: string;
  /** True when the guest's files land as plain files in sandbox.data (so the test can inspect them). */
  onHost: boolean;
  flags(sb: Sandbox): string[] | Promise<string[]>;
}

export const RW_MOUNTS: readonly MountKind[] = [
  { name: "host", onHost: true, flags: (sb) => ["--dir", `${sb.data}::/data:rw`] },
  { name: "mem", onHost: false, flags: () => ["--mem", "/data"] },
  pfsKind("pfs", 4096),
  // The node size is the volume's (read from its superblock): the same guests on 32 KiB nodes.
  pfsKind("pfs-32k", 32768),
];

/**
 * The volume is made the way a data owner would, then the guest runs on it: the same output proves
 * the protected mount gives the guest the same WASI semantics as plain storage.
 */
function pfsKind(name: string, nodeSize: number): MountKind {
  return {
    name,
    onHost: false,
    flags: (sb) => {
      mkdirSync(sb.store);
      const keyFile = join(sb.store, "key");
      const volume = join(sb.store, "volume");
      writeFileSync(keyFile, randomBytes(32));
      PfsMount.create(volume, readFileSync(keyFile), { nodeSize }).close();
      return ["--pfs", `${volume}::/data`, "--key-file", keyFile];
    },
  };
}

/** Asserting helper output: stdout/stderr/status in one message so a failure shows everything. */
export function describeRun(r: RunResult): string {
  return `status=${String(r.status)} signal=${String(r.signal)} ms=${Math.round(r.ms)}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}
