// Jobs per second on `twine serve` (in this process, loopback, sim TEE): N concurrent owners each
// verify the server, then create a job, upload a key and two small inputs, start, wait, download the
// output and delete the job, with test/guests/serve_job.wasm. The baseline, measured in the same run:
// the same guest run in-process through Runtime on a prepared protected volume, with the same number
// of guests at once. Also the median time of each step of one owner's job, alone.
//   node dist/bench/ratls-serve.js   (TWINE_SERVE_BENCH_JOBS, default 40; TWINE_SERVE_BENCH_CLIENTS, default 8)
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { TwineClient } from "../src/client/client.js";
import { PfsMount } from "../src/pfs/pfs-mount.js";
import { importTree } from "../src/pfs/transfer.js";
import { parseOwnerPolicy } from "../src/ratls/owner-policy.js";
import { Runtime } from "../src/runtime/runtime.js";
import { startServe } from "../src/serve/server.js";
import { SimTee } from "../src/tee/sim.js";

const WASM = fileURLToPath(new URL("../../test/guests/serve_job.wasm", import.meta.url));
const STEPS = ["connect", "create", "key", "upload x2", "start..exited", "download", "delete"] as const;

export interface ServeBenchResult {
  jobs: number;
  clients: number;
  concurrency: number;
  serveJobsPerS: number;
  inProcessRunsPerS: number;
  /** serve jobs/s ÷ in-process runs/s. */
  ratio: number;
  /** Median ms of each step of one owner's job, with no other load from the bench. */
  stepMs: Record<string, number>;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

export async function runServeBench(
  jobs = Number(process.env.TWINE_SERVE_BENCH_JOBS ?? "40"),
  clients = Number(process.env.TWINE_SERVE_BENCH_CLIENTS ?? "8"),
): Promise<ServeBenchResult> {
  const scratch = mkdtempSync(join(tmpdir(), "twine-bench-serve-"));
  const concurrency = availableParallelism();
  const module = new Uint8Array(readFileSync(WASM));
  try {
    const dist = join(scratch, "dist");
    mkdirSync(join(dist, "src"), { recursive: true });
    writeFileSync(join(dist, "src", "runtime.js"), "export {};\n");
    const simDir = join(scratch, "sim");
    const tee = new SimTee({ dir: simDir, runtimeDist: dist });
    const spec = {
      module,
      args: ["/data"],
      env: {},
      mounts: [],
      pfs: ["/data"],
      timeoutMs: 10_000,
      maxMemoryBytes: 64 << 20,
    };
    const server = await startServe({ job: spec, tee, stateDir: join(scratch, "state"), jobs: concurrency });
    const policy = parseOwnerPolicy(
      JSON.stringify({
        launchHashes: [Buffer.from(server.launchHash).toString("hex")],
        dangerousAllowSim: true,
        simDir,
      }),
      scratch,
    );
    const url = `https://127.0.0.1:${server.port}`;
    const oneJob = async (c: TwineClient, i: number, steps?: Record<string, number[]>): Promise<void> => {
      let t = performance.now();
      const step = (name: string): void => {
        const now = performance.now();
        (steps?.[name] ?? []).push(now - t);
        t = now;
      };
      const id = await c.createJob();
      step("create");
      await c.putKey(id, randomBytes(32));
      step("key");
      await c.putFile(id, "/data/mode", Buffer.from("ok"));
      await c.putFile(id, "/data/in.txt", Buffer.from(`input ${i}`));
      step("upload x2");
      await c.start(id);
      const st = await c.wait(id);
      step("start..exited");
      if (st.state !== "exited" || st.exitCode !== 0)
        throw new Error(`job ${i}: ${JSON.stringify(st.error)}`);
      const out = (await c.getFile(id, "/data/out.txt")).toString();
      if (out !== `processed: INPUT ${i}`) throw new Error(`job ${i}: wrong output ${out}`);
      step("download");
      await c.deleteJob(id);
      step("delete");
    };
    let serveJobsPerS: number;
    const steps: Record<string, number[]> = Object.fromEntries(STEPS.map((s) => [s, []]));
    try {
      // Steps of one owner alone (after one warm-up job).
      for (let i = 0; i < 11; i++) {
        const t0 = performance.now();
        const c = await TwineClient.connect(url, { policy });
        if (i > 0) steps["connect"]!.push(performance.now() - t0);
        await oneJob(c, i, i > 0 ? steps : undefined);
        c.close();
      }
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          const c = await TwineClient.connect(url, { policy });
          try {
            for (let i = next++; i < jobs; i = next++) await oneJob(c, i);
          } finally {
            c.close();
          }
        }),
      );
      serveJobsPerS = (jobs * 1000) / (performance.now() - t0);
    } finally {
      await server.close();
    }

    // Baseline: the same guest, same volume work, `concurrency` at once, through Runtime directly.
    const key = randomBytes(32);
    const lanes = Array.from({ length: concurrency }, (_, lane) => {
      const vol = join(scratch, `lane-${lane}`);
      const input = join(scratch, `input-${lane}`);
      mkdirSync(input);
      writeFileSync(join(input, "mode"), "ok");
      writeFileSync(join(input, "in.txt"), "input 0");
      const m = PfsMount.create(vol, key);
      importTree(m, input, []);
      m.close();
      return vol;
    });
    const devnull = openSync("/dev/null", "w");
    let inProcessRunsPerS: number;
    try {
      const runOne = async (vol: string): Promise<void> => {
        const r = await new Runtime({
          args: ["/data"],
          mounts: [{ type: "pfs", guestPath: "/data", hostPath: vol, key, create: false }],
          stdout: devnull,
          stderr: devnull,
          timeoutMs: 10_000,
          maxMemoryBytes: 64 << 20,
        }).run(module);
        if (r.status !== "exited" || r.exitCode !== 0) throw new Error(`in-process run: ${r.status}`);
      };
      await runOne(lanes[0]!);
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        lanes.map(async (vol) => {
          while (next++ < jobs) await runOne(vol);
        }),
      );
      inProcessRunsPerS = (jobs * 1000) / (performance.now() - t0);
    } finally {
      closeSync(devnull);
    }
    return {
      jobs,
      clients,
      concurrency,
      serveJobsPerS,
      inProcessRunsPerS,
      ratio: serveJobsPerS / inProcessRunsPerS,
      stepMs: Object.fromEntries(STEPS.map((s) => [s, median(steps[s] ?? [])])),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function formatServeBench(r: ServeBenchResult): string {
  const rows = Object.entries(r.stepMs).map(([k, v]) => `  ${k.padEnd(14)} ${v.toFixed(1).padStart(7)} ms`);
  return [
    `twine serve: ${r.jobs} jobs, ${r.clients} concurrent owners, ${r.concurrency} guests at once (sim TEE, loopback)`,
    `serve:       ${r.serveJobsPerS.toFixed(2)} jobs/s (verify, create, key, 2 uploads, run, download, delete)`,
    `in-process:  ${r.inProcessRunsPerS.toFixed(2)} runs/s (Runtime.run of the same guest on a ready volume)`,
    `serve / in-process: ${r.ratio.toFixed(2)}x`,
    `one owner alone, median per step:`,
    ...rows,
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatServeBench(await runServeBench())}\n`);
}
