// `npm run bench`: compute kernels natively vs under Twine (CLI and in-process), the kernels under each
// tiering mode, and the WASI call microbenchmark under Twine vs node:wasi. Progress goes to stderr, the
// tables to stdout, everything measured to bench/out/results.json. See bench/README.md.
//   node dist/bench/run.js [--quick] [--only NAME] [--reps N]
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Runtime } from "../src/runtime/runtime.js";
import { formatAttestVerify, runAttestVerify } from "./attest-verify.js";
import { formatSqliteBench, runSqliteBench } from "./pfs-sqlite.js";
import { formatPfsThroughput, runPfsThroughput } from "./pfs-throughput.js";
import { formatRatlsHandshake, runRatlsHandshake } from "./ratls-handshake.js";
import { formatServeBench, runServeBench } from "./ratls-serve.js";
import {
  KERNELS,
  NODE_WASI_FLAGS,
  NODE_WASI_RUNNER,
  OUT_DIR,
  WASI_CALLS_SOURCE,
  WASI_CALLS_WASM,
  compileNative,
  compilerAvailable,
  geomean,
  kernelSource,
  kernelWasm,
  parseCallTimes,
  parseChecksum,
  timeProcess,
  twineRunArgs,
  type Compiler,
  type Kernel,
  type Timed,
} from "./suite.js";

const TARGET_COMPUTE = 1.15; // geomean of Twine / native gcc -O2
const TARGET_WASI = 1.0; // geomean of Twine / node:wasi, ns per call
const WASI_CALLS_N = { full: 200_000, quick: 20_000 };
const TIERINGS = ["lazy", "eager", "auto"] as const;
type Tiering = (typeof TIERINGS)[number];

/** Benchmarks of other parts, each run whole (or alone with --only). */
const SECTIONS = ["pfs-throughput", "sqlite", "attest-verify", "ratls-handshake", "ratls-serve"] as const;

interface Options {
  quick: boolean;
  only: string | undefined;
  reps: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      reps: { type: "string" },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const reps = values.reps === undefined ? (quick ? 1 : 3) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1)
    throw new Error(`--reps must be a positive integer, got ${values.reps}`);
  const only = values.only;
  const known = [...KERNELS.map((k) => k.name), "wasi-calls", ...SECTIONS];
  if (only !== undefined && !known.includes(only))
    throw new Error(`--only: unknown benchmark ${only} (one of ${known.join(", ")})`);
  return { quick, only, reps };
}

const progress = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
const seconds = (ms: number): string => (ms / 1000).toFixed(3);
const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "-");

/** A failed or wrong run stops the bench: a timing of a program that did not do its work means nothing. */
function checkRun(what: string, t: Timed): void {
  if (t.status !== 0)
    throw new Error(
      `${what} failed (status ${t.status}${t.signal !== null ? `, signal ${t.signal}` : ""}):\n${t.stderr}${t.stdout}`,
    );
}

/** Runs the guest in this process through `Runtime` (a worker per run), stdout captured in a file. */
async function runInProcess(wasm: string, args: readonly string[], scratch: string): Promise<Timed> {
  const outPath = join(scratch, "in-process.out");
  const fd = openSync(outPath, "w");
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await new Runtime({ args: [...args], stdout: fd }).run(wasm);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const status = result.status === "exited" ? result.exitCode : null;
    const stderr =
      result.status === "exited" ? "" : `${result.status}: ${result.error.message} [${result.error.code}]`;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    return { ms, cpuMs, status, signal: null, stdout: readFileSync(outPath, "utf8"), stderr };
  } finally {
    closeSync(fd);
  }
}

interface Variant {
  readonly key: string;
  readonly run: () => Timed | Promise<Timed>;
}

interface KernelResult {
  name: string;
  size: string;
  checksum: string;
  checksumSource: string;
  /** Every wall time in ms, by variant: native-gcc, native-clang, twine-cli, twine-in-process, tiering-lazy… */
  runsMs: Record<string, number[]>;
  bestMs: Record<string, number>;
  /** User + system CPU ms, best of the repetitions, by variant (when measurable). */
  bestCpuMs: Record<string, number>;
}

async function benchKernel(
  k: Kernel,
  opts: Options,
  compilers: Compiler[],
  scratch: string,
): Promise<KernelResult> {
  const args = opts.quick ? [String(k.quickSize)] : [];
  const wasm = kernelWasm(k.name);
  const node = process.execPath;
  const variants: Variant[] = [
    ...compilers.map((cc) => ({
      key: `native-${cc}`,
      run: () => timeProcess(join(OUT_DIR, `${k.name}-${cc}`), args),
    })),
    // The plain CLI run uses the default tiering (auto): it doubles as the tiering table's "auto" column.
    { key: "twine-cli", run: () => timeProcess(node, twineRunArgs(wasm, [], args)) },
    { key: "twine-in-process", run: () => runInProcess(wasm, args, scratch) },
    ...TIERINGS.filter((t) => t !== "auto").map((t) => ({
      key: `tiering-${t}`,
      run: () => timeProcess(node, twineRunArgs(wasm, ["--tiering", t], args)),
    })),
  ];
  const runsMs: Record<string, number[]> = {};
  const bestCpuMs: Record<string, number> = {};
  let checksum: string | undefined;
  let checksumSource = "";
  // Interleave the variants in each repetition so that load from elsewhere hits all of them alike.
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const v of variants) {
      const t = await v.run();
      const cpu = t.cpuMs === undefined ? "" : `, cpu ${seconds(t.cpuMs)} s`;
      progress(`${k.name} ${v.key} (${rep}/${opts.reps}): ${seconds(t.ms)} s${cpu}`);
      checkRun(`${k.name} ${v.key}`, t);
      const sum = parseChecksum(t.stdout, k.name);
      if (sum === undefined) throw new Error(`${k.name} ${v.key}: no checksum line in output:\n${t.stdout}`);
      if (checksum === undefined) {
        checksum = sum;
        checksumSource = v.key;
      } else if (sum !== checksum)
        throw new Error(
          `${k.name}: checksum ${sum} from ${v.key} differs from ${checksum} from ${checksumSource}`,
        );
      (runsMs[v.key] ??= []).push(t.ms);
      if (t.cpuMs !== undefined) bestCpuMs[v.key] = Math.min(bestCpuMs[v.key] ?? Infinity, t.cpuMs);
    }
  }
  const bestMs = Object.fromEntries(Object.entries(runsMs).map(([key, ms]) => [key, Math.min(...ms)]));
  return {
    name: k.name,
    size: args[0] ?? "default",
    checksum: checksum ?? "",
    checksumSource,
    runsMs,
    bestMs,
    bestCpuMs,
  };
}

interface WasiResult {
  n: number;
  /** Best ns per call over the repetitions, by runtime then call kind. */
  nsPerCall: Record<string, Record<string, number>>;
  ratios: Record<string, number>;
  geomean: number;
}

function benchWasiCalls(opts: Options, haveGcc: boolean, scratch: string): WasiResult {
  const n = opts.quick ? WASI_CALLS_N.quick : WASI_CALLS_N.full;
  const node = process.execPath;
  const dataDir = join(scratch, "wasi-calls");
  mkdirSync(dataDir);
  const runtimes: { key: string; run: () => Timed }[] = [
    {
      key: "twine-host",
      run: () =>
        timeProcess(node, twineRunArgs(WASI_CALLS_WASM, ["--dir", `${dataDir}::/data:rw`], [String(n)]), {
          stderr: "null",
        }),
    },
    {
      key: "twine-mem",
      run: () =>
        timeProcess(node, twineRunArgs(WASI_CALLS_WASM, ["--mem", "/data"], [String(n)]), { stderr: "null" }),
    },
    {
      key: "node-wasi",
      run: () =>
        timeProcess(node, [...NODE_WASI_FLAGS, NODE_WASI_RUNNER, WASI_CALLS_WASM, dataDir, String(n)], {
          stderr: "null",
        }),
    },
  ];
  if (haveGcc)
    runtimes.push({
      key: "native-gcc",
      run: () => timeProcess(join(OUT_DIR, "wasi-calls-gcc"), [String(n), dataDir], { stderr: "null" }),
    });
  const nsPerCall: Record<string, Record<string, number>> = {};
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const r of runtimes) {
      progress(`wasi-calls ${r.key} (${rep}/${opts.reps})`);
      const t = r.run();
      // stderr went to /dev/null (the guest writes to it in a phase); the guest reports errors on stdout.
      checkRun(`wasi-calls under ${r.key}`, t);
      const best = (nsPerCall[r.key] ??= {});
      for (const [call, ns] of parseCallTimes(t.stdout)) best[call] = Math.min(best[call] ?? Infinity, ns);
    }
  }
  const twine = nsPerCall["twine-host"] ?? {};
  const ref = nsPerCall["node-wasi"] ?? {};
  const ratios = Object.fromEntries(
    Object.keys(ref)
      .filter((call) => twine[call] !== undefined)
      .map((call) => [call, (twine[call] ?? NaN) / (ref[call] ?? NaN)]),
  );
  return { n, nsPerCall, ratios, geomean: geomean(Object.values(ratios)) };
}

/** Left-aligns the first column, right-aligns the rest. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

type Metric = "bestMs" | "bestCpuMs";
const METRIC_NAME: Record<Metric, string> = { bestMs: "wall time", bestCpuMs: "CPU time (user+sys)" };

/** The compute and tiering tables for one metric; geomeans go into `geomeans` under `<prefix><key>`. */
function kernelTables(
  results: KernelResult[],
  compilers: Compiler[],
  metric: Metric,
  geomeans: Record<string, number>,
): string {
  const prefix = metric === "bestMs" ? "" : "cpu:";
  const of = (r: KernelResult, key: string): number => r[metric][key] ?? NaN;
  const base = (r: KernelResult, cc: Compiler): number => of(r, `native-${cc}`);
  const gm = (key: string, f: (r: KernelResult) => number): string => {
    const g = geomean(results.map(f));
    geomeans[prefix + key] = g;
    return ratio(g);
  };
  const compute = table(
    [
      "kernel",
      "size",
      ...compilers.map((cc) => `${cc} s`),
      "twine s",
      ...compilers.map((cc) => `twine/${cc}`),
      "in-proc s",
      ...compilers.map((cc) => `in-proc/${cc}`),
    ],
    [
      ...results.map((r) => [
        r.name,
        r.size,
        ...compilers.map((cc) => seconds(base(r, cc))),
        seconds(of(r, "twine-cli")),
        ...compilers.map((cc) => ratio(of(r, "twine-cli") / base(r, cc))),
        seconds(of(r, "twine-in-process")),
        ...compilers.map((cc) => ratio(of(r, "twine-in-process") / base(r, cc))),
      ]),
      [
        "geomean",
        "",
        ...compilers.map(() => ""),
        "",
        ...compilers.map((cc) => gm(`twine-cli/${cc}`, (r) => of(r, "twine-cli") / base(r, cc))),
        "",
        ...compilers.map((cc) =>
          gm(`twine-in-process/${cc}`, (r) => of(r, "twine-in-process") / base(r, cc)),
        ),
      ],
    ],
  );
  const tier = (r: KernelResult, t: Tiering): number => of(r, t === "auto" ? "twine-cli" : `tiering-${t}`);
  const ref = compilers[0];
  const tiering = table(
    [
      "kernel",
      ...TIERINGS.map((t) => `${t} s`),
      ...(ref === undefined ? [] : TIERINGS.map((t) => `${t}/${ref}`)),
      "lazy/auto",
    ],
    [
      ...results.map((r) => [
        r.name,
        ...TIERINGS.map((t) => seconds(tier(r, t))),
        ...(ref === undefined ? [] : TIERINGS.map((t) => ratio(tier(r, t) / base(r, ref)))),
        ratio(tier(r, "lazy") / tier(r, "auto")),
      ]),
      [
        "geomean",
        ...TIERINGS.map(() => ""),
        ...(ref === undefined
          ? []
          : TIERINGS.map((t) => gm(`tiering-${t}/${ref}`, (r) => tier(r, t) / base(r, ref)))),
        gm("lazy/auto", (r) => tier(r, "lazy") / tier(r, "auto")),
      ],
    ],
  );
  const what = METRIC_NAME[metric];
  return `Compute kernels, ${what}, best of the repetitions (twine = the \`twine run\` process incl. startup;
in-proc = Runtime.run() in this process incl. worker start and compile)

${compute}

Tiering, ${what} (twine run --tiering …; auto = the default, the same runs as "twine s" above)

${tiering}
`;
}

function wasiTable(w: WasiResult): string {
  const keys = Object.keys(w.nsPerCall);
  const calls = Object.keys(w.nsPerCall["node-wasi"] ?? {});
  const rows = calls.map((call) => [
    call,
    ...keys.map((k) => (w.nsPerCall[k]?.[call] ?? NaN).toFixed(0)),
    ratio(w.ratios[call] ?? NaN),
  ]);
  rows.push(["geomean", ...keys.map(() => ""), ratio(w.geomean)]);
  return `WASI calls: ns per call measured inside the guest, best of the repetitions (N = ${w.n};\ntwine-host = --dir on a host folder, twine-mem = --mem; ratio = twine-host / node-wasi)\n\n${table(["call", ...keys.map((k) => `${k} ns`), "twine/node:wasi"], rows)}\n`;
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  mkdirSync(OUT_DIR, { recursive: true });
  const compilers = (["gcc", "clang"] as const).filter((cc) => compilerAvailable(cc));
  if (compilers.length === 0) progress("no native compiler (gcc, clang) found: native columns are left out");
  const kernels = KERNELS.filter((k) => opts.only === undefined || opts.only === k.name);
  const runWasi = opts.only === undefined || opts.only === "wasi-calls";
  for (const k of kernels)
    for (const cc of compilers) {
      progress(`${cc} -O2 ${k.name}.c`);
      compileNative(cc, kernelSource(k.name), join(OUT_DIR, `${k.name}-${cc}`));
    }
  const haveGcc = compilers.includes("gcc");
  if (runWasi && haveGcc) compileNative("gcc", WASI_CALLS_SOURCE, join(OUT_DIR, "wasi-calls-gcc"));

  const resultsPath = join(OUT_DIR, "results.json");
  const started = new Date();
  const load = loadavg();
  const scratch = mkdtempSync(join(tmpdir(), "twine-bench-"));
  const out: string[] = [];
  const report: Record<string, unknown> = {
    date: started.toISOString(),
    node: process.version,
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", loadavgAtStart: load },
    options: opts,
    compilers,
    targets: { computeGeomeanVsGcc: TARGET_COMPUTE, wasiGeomeanVsNodeWasi: TARGET_WASI },
  };
  try {
    const results: KernelResult[] = [];
    for (const k of kernels) {
      results.push(await benchKernel(k, opts, compilers, scratch));
      // A long run that fails later still leaves what it measured.
      writeFileSync(
        resultsPath,
        JSON.stringify({ ...report, complete: false, kernels: results }, null, 2) + "\n",
      );
    }
    if (results.length > 0) {
      const geomeans: Record<string, number> = {};
      out.push(kernelTables(results, compilers, "bestMs", geomeans));
      // CPU time is what load from other processes disturbs least; wall time is what a user waits.
      if (results.every((r) => Object.keys(r.bestCpuMs).length > 0))
        out.push(kernelTables(results, compilers, "bestCpuMs", geomeans));
      report["kernels"] = results;
      report["kernelGeomeans"] = geomeans;
      for (const metric of ["", "cpu:"]) {
        const g = geomeans[`${metric}twine-cli/gcc`];
        if (g !== undefined)
          out.push(
            `compute geomean (${metric === "" ? "wall" : "CPU"} time), twine run vs gcc -O2: ${ratio(g)} (target ≤ ${TARGET_COMPUTE}x: ${g <= TARGET_COMPUTE ? "met" : "MISSED"})`,
          );
      }
    }
    if (runWasi) {
      const w = benchWasiCalls(opts, haveGcc, scratch);
      out.push(wasiTable(w));
      out.push(
        `WASI geomean, twine vs node:wasi: ${ratio(w.geomean)} (target ≤ ${TARGET_WASI}x: ${w.geomean <= TARGET_WASI ? "met" : "MISSED"})`,
      );
      report["wasiCalls"] = w;
    }
    const wants = (name: (typeof SECTIONS)[number]): boolean => opts.only === undefined || opts.only === name;
    if (wants("pfs-throughput")) {
      progress("pfs throughput vs host files vs raw AES-256-GCM");
      const r = runPfsThroughput(opts.quick ? 8 : 64);
      out.push(formatPfsThroughput(r));
      report["pfsThroughput"] = r;
    }
    if (wants("sqlite") && compilerAvailable("clang")) {
      progress("SQLite guest: native vs host mount vs pfs mount (builds the guest once)");
      const r = await runSqliteBench(opts.quick ? 2_000 : 20_000);
      out.push(formatSqliteBench(r));
      report["sqlite"] = r;
    } else if (wants("sqlite")) progress("clang not found: SQLite benchmark skipped");
    if (wants("attest-verify")) {
      progress("attestation verify time");
      const r = runAttestVerify(opts.quick ? 50 : 200);
      out.push(formatAttestVerify(r));
      report["attestVerify"] = r;
    }
    if (wants("ratls-handshake")) {
      progress("RA-TLS handshake (sim) vs plain TLS");
      const r = await runRatlsHandshake(opts.quick ? 30 : 200);
      out.push(formatRatlsHandshake(r));
      report["ratlsHandshake"] = r;
    }
    if (wants("ratls-serve")) {
      progress("twine serve jobs/s vs in-process runs");
      const r = await runServeBench(opts.quick ? 10 : 40);
      out.push(formatServeBench(r));
      report["ratlsServe"] = r;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  report["durationS"] = (Date.now() - started.getTime()) / 1000;
  report["complete"] = true;
  writeFileSync(resultsPath, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write(out.join("\n") + "\n");
  progress(`wrote ${resultsPath}`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
