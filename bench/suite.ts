// What bench/run.ts and bench/bench.test.ts share: the kernel table, where things live, and how to time
// one program natively, under `twine run` or under node:wasi and read what it printed.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from dist/bench/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH_DIR = join(ROOT, "bench");
export const KERNEL_DIR = join(BENCH_DIR, "kernels");
export const OUT_DIR = join(BENCH_DIR, "out");
export const TWINE_BIN = join(ROOT, "bin", "twine.js");
export const WASI_CALLS_DIR = join(BENCH_DIR, "wasi-calls");
export const WASI_CALLS_SOURCE = join(WASI_CALLS_DIR, "wasi-calls.c");
export const WASI_CALLS_WASM = join(WASI_CALLS_DIR, "wasi-calls.wasm");
/** The node:wasi runner, compiled beside this file. */
export const NODE_WASI_RUNNER = join(dirname(fileURLToPath(import.meta.url)), "node-wasi-runner.js");
/** Node 20.20 segfaults running Wasm through node:wasi's fast API calls without this flag. */
export const NODE_WASI_FLAGS = ["--no-turbo-fast-api-calls", "--no-warnings"] as const;

export interface Kernel {
  readonly name: string;
  /** Size for `--quick` (~0.1–0.3 s natively); without `--quick` the C file's own default (~2–4 s). */
  readonly quickSize: number;
  /** Size for the test suite, and the checksum the C code prints at that size (native and Wasm agree). */
  readonly tinySize: number;
  readonly tinyChecksum: string;
}

export const KERNELS: readonly Kernel[] = [
  { name: "matmul", quickSize: 400, tinySize: 32, tinyChecksum: "e7c5e4a0e5b18c75" },
  { name: "jacobi2d", quickSize: 200, tinySize: 2, tinyChecksum: "4761e2e7cc6ee46a" },
  { name: "mergesort", quickSize: 3, tinySize: 1, tinyChecksum: "8979c37512e4c79d" },
  { name: "sha256", quickSize: 50, tinySize: 2, tinyChecksum: "18f7a0024ac2460f" },
  { name: "nbody", quickSize: 800, tinySize: 2, tinyChecksum: "f71c0370129303e3" },
  { name: "smith-waterman", quickSize: 12000, tinySize: 500, tinyChecksum: "41d1ffaab3c45dca" },
  { name: "fft", quickSize: 10, tinySize: 1, tinyChecksum: "93c31260799197ef" },
  { name: "spmv", quickSize: 40, tinySize: 1, tinyChecksum: "c2cd53a2e2573000" },
];

export const kernelSource = (name: string): string => join(KERNEL_DIR, `${name}.c`);
export const kernelWasm = (name: string): string => join(KERNEL_DIR, `${name}.wasm`);

export interface Timed {
  readonly ms: number;
  /** User + system CPU time of the process and its threads, when GNU time is there to measure it. */
  readonly cpuMs: number | undefined;
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** GNU time reports a child's CPU time, which load from other processes disturbs less than wall time. */
const GNU_TIME = "/usr/bin/time";
const haveGnuTime = existsSync(GNU_TIME);

/** Runs a process to completion and measures its wall time. `stderr: "null"` sends it to /dev/null. */
export function timeProcess(
  command: string,
  args: readonly string[],
  options: { stderr?: "pipe" | "null" } = {},
): Timed {
  const devNull = options.stderr === "null" ? openSync("/dev/null", "w") : undefined;
  const cpuFile = join(tmpdir(), `twine-bench-cpu-${process.pid}`);
  const [cmd, argv] = haveGnuTime
    ? [GNU_TIME, ["-o", cpuFile, "-f", "%U %S", command, ...args]]
    : [command, [...args]];
  try {
    const t0 = performance.now();
    const r = spawnSync(cmd, argv, {
      stdio: ["ignore", "pipe", devNull ?? "pipe"],
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    const ms = performance.now() - t0;
    if (r.error !== undefined) throw r.error;
    const cpuMs = haveGnuTime && existsSync(cpuFile) ? parseCpu(readFileSync(cpuFile, "utf8")) : undefined;
    return { ms, cpuMs, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr ?? "" };
  } finally {
    if (devNull !== undefined) closeSync(devNull);
    rmSync(cpuFile, { force: true });
  }
}

/** The last line of GNU time's "%U %S" output (earlier lines say e.g. "Command exited with non-zero status"). */
function parseCpu(text: string): number | undefined {
  const m = /(\d+\.\d+) (\d+\.\d+)\s*$/.exec(text);
  return m?.[1] !== undefined && m[2] !== undefined ? (Number(m[1]) + Number(m[2])) * 1000 : undefined;
}

/** `node bin/twine.js run <wasm> [flags…] [-- args…]`. */
export function twineRunArgs(wasm: string, flags: readonly string[], args: readonly string[]): string[] {
  return [TWINE_BIN, "run", wasm, ...flags, ...(args.length > 0 ? ["--", ...args] : [])];
}

/** The checksum from a kernel's "<name> size=<n> checksum=<hex>" line, or undefined if absent. */
export function parseChecksum(stdout: string, name: string): string | undefined {
  for (const line of stdout.split("\n")) {
    const m = /^(\S+) size=\d+ checksum=([0-9a-f]{16})$/.exec(line);
    if (m?.[1] === name) return m[2];
  }
  return undefined;
}

/** The call kinds wasi-calls.c times, in the order it prints them. */
export const WASI_CALLS = [
  "fd_write(file,16B)",
  "fd_write(stderr,16B)",
  "fd_read(file,16B)",
  "fd_seek",
  "fd_filestat_get",
  "path_open+fd_close",
  "clock_time_get",
] as const;

/** The "<call> <ns per call>" lines printed by wasi-calls.c. */
export function parseCallTimes(stdout: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    const m = /^(\S+) (\d+(?:\.\d+)?)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) times.set(m[1], Number(m[2]));
  }
  return times;
}

export type Compiler = "gcc" | "clang";

export function compilerAvailable(cc: Compiler): boolean {
  const r = spawnSync(cc, ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/** `cc -O2 source -o output -lm`; throws with the compiler's output on failure. */
export function compileNative(cc: Compiler, source: string, output: string): void {
  const r = spawnSync(cc, ["-O2", source, "-o", output, "-lm"], { encoding: "utf8" });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`${cc} failed on ${source}:\n${r.stderr}`);
}

export function geomean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}
