// Test support (not part of the API): a `twine serve` in this process on loopback with a sim TEE in a
// temp dir, running test/guests/serve_job.wasm on a per-job volume at /data, and owner policies
// that accept (or refuse) it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import type { TwineClient } from "../client/client.js";
import { parseOwnerPolicy, type OwnerPolicy } from "../ratls/owner-policy.js";
import { SimTee } from "../tee/sim.js";
import type { JobSpec } from "./jobs.js";
import { startServe, type ServeHandle, type ServeLimits } from "./server.js";

/** The repository root: this file runs from dist/src/serve/. */
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const SERVE_JOB_WASM = join(ROOT, "test", "guests", "serve_job.wasm");

const made: string[] = [];

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `twine-serve-${prefix}-`));
  made.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface TestServer {
  handle: ServeHandle;
  url: string;
  tee: SimTee;
  simDir: string;
  stateDir: string;
  /** Every log line the server wrote. */
  log: string[];
  /** A policy accepting this server (sim allowed, its launch hash), or with `launchHashes` instead. */
  policy(o?: { launchHashes?: string[]; maxCertAgeSeconds?: number }): OwnerPolicy;
  /** The same launch judged strictly: sim evidence refused. */
  strictPolicy(): OwnerPolicy;
  close(): Promise<void>;
}

export function sharedSimTee(): { tee: SimTee; simDir: string } {
  const dist = tempDir("dist");
  mkdirSync(join(dist, "src"));
  writeFileSync(join(dist, "src", "runtime.js"), "export {};\n");
  const simDir = tempDir("sim");
  return { tee: new SimTee({ dir: simDir, runtimeDist: dist }), simDir };
}

export function serveJobSpec(o: Partial<JobSpec> = {}): JobSpec {
  return {
    module: new Uint8Array(readFileSync(SERVE_JOB_WASM)),
    args: ["/data"],
    env: {},
    mounts: [],
    pfs: ["/data"],
    timeoutMs: 2000,
    maxMemoryBytes: 32 * 1024 * 1024,
    ...o,
  };
}

export async function startTestServer(
  o: { jobs?: number; limits?: Partial<ServeLimits>; spec?: Partial<JobSpec> } = {},
): Promise<TestServer> {
  const { tee, simDir } = sharedSimTee();
  const stateDir = tempDir("state");
  const log: string[] = [];
  const handle = await startServe({
    job: serveJobSpec(o.spec),
    tee,
    stateDir,
    jobs: o.jobs ?? 2,
    ...(o.limits === undefined ? {} : { limits: o.limits }),
    log: (l) => log.push(l),
  });
  const launch = Buffer.from(handle.launchHash).toString("hex");
  return {
    handle,
    url: `https://127.0.0.1:${handle.port}`,
    tee,
    simDir,
    stateDir,
    log,
    policy: (p = {}) =>
      parseOwnerPolicy(
        JSON.stringify({
          launchHashes: p.launchHashes ?? [launch],
          dangerousAllowSim: true,
          simDir,
          ...(p.maxCertAgeSeconds === undefined ? {} : { maxCertAgeSeconds: p.maxCertAgeSeconds }),
        }),
        simDir,
      ),
    strictPolicy: () => ({
      launchHashes: [handle.launchHash],
      evidence: {},
      collateral: tee.collateral(new Date()),
      roots: { intelSgxRootCa: tee.rootDer },
      maxCertAgeSeconds: 600,
      dangerousAllowSim: false,
    }),
    close: () => handle.close(),
  };
}

/** Lines the server logged for requests (not TLS or HTTP parse errors). */
export function requestLines(log: readonly string[]): string[] {
  return log.filter((l) => / (GET|PUT|POST|DELETE) /.test(l));
}

/** Creates a job with a fresh key, uploads `files` (guest path → content) and starts it. */
export async function submit(
  c: TwineClient,
  files: Record<string, string>,
): Promise<{ id: string; key: Buffer }> {
  const id = await c.createJob();
  const key = randomBytes(32);
  await c.putKey(id, key);
  for (const [p, text] of Object.entries(files)) await c.putFile(id, p, Buffer.from(text));
  await c.start(id);
  return { id, key };
}
