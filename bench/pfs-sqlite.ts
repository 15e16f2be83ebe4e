// SQLite as a Wasm guest on a host mount vs a pfs mount vs native: inserts, indexed range selects,
// random point selects, updates and deletes in transactions (bench/sqlite-driver.c), journal_mode
// DELETE and synchronous FULL so every transaction reaches fd_sync. The amalgamation comes from the
// better-sqlite3 npm tarball (deps/sqlite3/sqlite3.c); the first run builds it into bench/out.
// Host and pfs runs are interleaved TWINE_SQLITE_REPS times (default 3) so background load hits both
// alike; the best run of each counts, and every ratio is kept to show the spread.
//   node dist/bench/pfs-sqlite.js        (TWINE_SQLITE_N rows, default 20000)
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Runtime } from "../src/runtime/runtime.js";
import type { MountConfig } from "../src/vfs/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OUT = join(ROOT, "bench", "out", "sqlite");
const DRIVER = join(ROOT, "bench", "sqlite-driver.c");
const SQLITE_PKG = "better-sqlite3@12.4.1";
// One process uses the database, so no file locking ("unix-none"): wasi-libc has no fcntl locks and
// SQLite would otherwise lock by mkdir/rmdir of a directory per transaction, measuring the host's
// rmdir rather than file I/O. Native gets the same VFS so the two stay comparable.
const FLAGS = [
  "-O2",
  "-DSQLITE_THREADSAFE=0",
  "-DSQLITE_OMIT_LOAD_EXTENSION",
  "-DSQLITE_OMIT_SHARED_CACHE",
  '-DSQLITE_DEFAULT_UNIX_VFS="unix-none"',
];
const WASI_FLAGS = [
  "--target=wasm32-wasi",
  "-DSQLITE_OMIT_WAL",
  "-DSQLITE_NOHAVE_SYSTEM",
  "-D_WASI_EMULATED_MMAN",
  "-D_WASI_EMULATED_GETPID",
  "-D_WASI_EMULATED_PROCESS_CLOCKS",
];
const WASI_LIBS = ["-lwasi-emulated-mman", "-lwasi-emulated-getpid", "-lwasi-emulated-process-clocks"];

export interface SqliteBench {
  rows: number;
  nativeMs: number | null;
  hostMs: number;
  pfsMs: number;
  /** pfs / host of the best runs; target <= 1.3. */
  pfsVsHost: number;
  /** pfs / host of each interleaved pair of runs. */
  pairRatios: number[];
  /** CPU time of the best runs (less sensitive to other load than wall time). */
  hostCpuMs: number;
  pfsCpuMs: number;
  sameOutput: boolean;
}

/** Builds the guest (and a native twin) once; returns their paths. */
export function buildSqlite(): { wasm: string; native: string | null } {
  const wasm = join(OUT, "sqlite-bench.wasm");
  const native = join(OUT, "sqlite-bench-native");
  if (!existsSync(wasm)) {
    mkdirSync(OUT, { recursive: true });
    const amalgamation = join(OUT, "package", "deps", "sqlite3", "sqlite3.c");
    if (!existsSync(amalgamation)) {
      const tgz = execFileSync("npm", ["pack", SQLITE_PKG, "--silent"], {
        cwd: OUT,
        encoding: "utf8",
      }).trim();
      execFileSync("tar", ["xzf", tgz, "package/deps/sqlite3"], { cwd: OUT });
    }
    const inc = join(OUT, "package", "deps", "sqlite3");
    process.stderr.write("building the SQLite guest (a few minutes, once)…\n");
    execFileSync("clang", [
      ...WASI_FLAGS,
      ...FLAGS,
      `-I${inc}`,
      amalgamation,
      DRIVER,
      ...WASI_LIBS,
      "-o",
      wasm,
    ]);
    const cc = spawnSync("cc", [...FLAGS, `-I${inc}`, amalgamation, DRIVER, "-lm", "-o", native]);
    if (cc.status !== 0) process.stderr.write("no native compiler: native column skipped\n");
  }
  return { wasm, native: existsSync(native) ? native : null };
}

interface Timed {
  ms: number;
  /** user + system CPU of this process, all threads (the guest's worker included). */
  cpuMs: number;
}

async function runGuest(wasm: string, mount: MountConfig, rows: number, out: string): Promise<Timed> {
  const fd = openSync(out, "w");
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await new Runtime({ args: ["/data/bench.db", String(rows)], mounts: [mount], stdout: fd }).run(
      wasm,
    );
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (r.status !== "exited" || r.exitCode !== 0)
      throw new Error(`sqlite guest failed: ${JSON.stringify(r)}`);
    return { ms, cpuMs: (c.user + c.system) / 1000 };
  } finally {
    closeSync(fd);
  }
}

export async function runSqliteBench(
  rows = Number(process.env.TWINE_SQLITE_N ?? 20_000),
  reps = Number(process.env.TWINE_SQLITE_REPS ?? 3),
): Promise<SqliteBench> {
  const { wasm, native } = buildSqlite();
  const dir = mkdtempSync(join(tmpdir(), "twine-sqlite-"));
  try {
    let nativeMs: number | null = null;
    if (native !== null) {
      mkdirSync(join(dir, "native"));
      const t0 = performance.now();
      execFileSync(native, [join(dir, "native", "bench.db"), String(rows)], { stdio: "ignore" });
      nativeMs = performance.now() - t0;
    }
    let hostMs = Infinity;
    let pfsMs = Infinity;
    let hostCpuMs = Infinity;
    let pfsCpuMs = Infinity;
    let sameOutput = true;
    const pairRatios: number[] = [];
    for (let rep = 0; rep < Math.max(1, reps); rep++) {
      const run = join(dir, `run${rep}`);
      mkdirSync(join(run, "host"), { recursive: true });
      const host = await runGuest(
        wasm,
        { type: "host", guestPath: "/data", hostPath: join(run, "host"), readonly: false },
        rows,
        join(run, "host.out"),
      );
      const pfs = await runGuest(
        wasm,
        // With the root store, as `twine run --pfs` uses it by default (one record write per commit).
        {
          type: "pfs",
          guestPath: "/data",
          hostPath: join(run, "vol"),
          key: randomBytes(32),
          create: true,
          rootStore: join(run, "state"),
        },
        rows,
        join(run, "pfs.out"),
      );
      hostMs = Math.min(hostMs, host.ms);
      pfsMs = Math.min(pfsMs, pfs.ms);
      hostCpuMs = Math.min(hostCpuMs, host.cpuMs);
      pfsCpuMs = Math.min(pfsCpuMs, pfs.cpuMs);
      pairRatios.push(pfs.ms / host.ms);
      sameOutput &&=
        readFileSync(join(run, "host.out"), "utf8") === readFileSync(join(run, "pfs.out"), "utf8");
      rmSync(run, { recursive: true, force: true });
    }
    return {
      rows,
      nativeMs,
      hostMs,
      pfsMs,
      pfsVsHost: pfsMs / hostMs,
      pairRatios,
      hostCpuMs,
      pfsCpuMs,
      sameOutput,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

export function formatSqliteBench(r: SqliteBench): string {
  const f = (ms: number | null): string => (ms === null ? "n/a" : `${(ms / 1000).toFixed(2)} s`);
  return (
    `SQLite workload, ${r.rows} rows: native ${f(r.nativeMs)}, Twine host mount ${f(r.hostMs)}, ` +
    `Twine pfs mount ${f(r.pfsMs)} (best of ${r.pairRatios.length}); pfs/host ${r.pfsVsHost.toFixed(2)}x ` +
    `(target <= 1.3x; each pair: ${r.pairRatios.map((x) => x.toFixed(2)).join(", ")}, ` +
    `median ${median(r.pairRatios).toFixed(2)}); ` +
    `CPU host ${f(r.hostCpuMs)}, pfs ${f(r.pfsCpuMs)} (${(r.pfsCpuMs / r.hostCpuMs).toFixed(2)}x); ` +
    `identical output: ${r.sameOutput}`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatSqliteBench(await runSqliteBench())}\n`);
}
