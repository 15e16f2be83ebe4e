// Time of one full evidence verification (parse, chains, CRLs, collateral signatures, TCB matching,
// policy) per real vector, after warm-up; the target is well under 50 ms per quote with collateral.
//   node dist/bench/attest-verify.js        (TWINE_ATTEST_BENCH_ITERS sets the timed runs, default 200)
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { verifyEvidence } from "../src/attest/index.js";
import type { VerifyOptions } from "../src/attest/index.js";
import { sgxVector, snpVector, tdxVector } from "../src/attest/test-vectors.js";
import { clearParseCaches } from "../src/attest/x509.js";

export interface AttestVerifyTimes {
  iterations: number;
  /**
   * Milliseconds per verification, by vector: median and 95th percentile wall time with warm parse
   * caches (certificates and CRLs seen before, the steady state of a verifier), median CPU time, and
   * median wall time with the caches emptied before each run (a never-seen platform and collateral).
   */
  ms: Record<string, { median: number; p95: number; cpu: number; cold: number; coldCpu: number }>;
}

export function runAttestVerify(
  iterations = Number(process.env.TWINE_ATTEST_BENCH_ITERS ?? "200"),
): AttestVerifyTimes {
  const sgx = sgxVector();
  const tdx = tdxVector();
  const snp = snpVector("genoaAzure");
  const cases: [string, Uint8Array, VerifyOptions][] = [
    [
      "sgx quote v3",
      sgx.quote,
      {
        collateral: sgx.collateral,
        now: sgx.now,
        policy: { acceptedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"] },
      },
    ],
    ["tdx quote v4", tdx.quote, { collateral: tdx.collateral, now: tdx.now }],
    ["snp report (genoa)", snp.report, { collateral: snp.collateral, now: snp.now }],
  ];
  const ms: AttestVerifyTimes["ms"] = {};
  for (const [name, bytes, opts] of cases) {
    for (let i = 0; i < 20; i++)
      if (!verifyEvidence(bytes, opts).ok) throw new Error(`${name} does not verify`);
    const t: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      verifyEvidence(bytes, opts);
      t.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    const cold: number[] = [];
    const coldCpu: number[] = [];
    for (let i = 0; i < Math.max(10, iterations / 10); i++) {
      clearParseCaches();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      verifyEvidence(bytes, opts);
      cold.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      coldCpu.push((c.user + c.system) / 1000);
    }
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    t.sort((a, b) => a - b);
    ms[name] = {
      median: median(t),
      p95: t[Math.floor(t.length * 0.95)]!,
      cpu: median(cpu),
      cold: median(cold),
      coldCpu: median(coldCpu),
    };
  }
  return { iterations, ms };
}

export function formatAttestVerify(r: AttestVerifyTimes): string {
  const f = (x: number): string => x.toFixed(2).padStart(6);
  const rows = Object.entries(r.ms).map(
    ([k, v]) =>
      `${k.padEnd(20)} warm: median ${f(v.median)} ms  p95 ${f(v.p95)} ms  cpu ${f(v.cpu)} ms` +
      `   cold: median ${f(v.cold)} ms  cpu ${f(v.coldCpu)} ms`,
  );
  return `attest verify, ${r.iterations} runs after 20 warm-up (target: well under 50 ms)\n${rows.join("\n")}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatAttestVerify(runAttestVerify())}\n`);
}
