// Time of one full evidence verification (parse, chains, CRLs, collateral signatures, TCB matching,
// policy) per real vector, after warm-up; the target is well under 50 ms per quote with collateral.
//   node dist/bench/attest-verify.js        (TWINE_ATTEST_BENCH_ITERS sets the timed runs, default 200)
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { verifyEvidence } from "../src/attest/index.js";
import type { VerifyOptions } from "../src/attest/index.js";
import { sgxVector, snpVector, tdxVector } from "../src/attest/test-vectors.js";

export interface AttestVerifyTimes {
  iterations: number;
  /** Median and 95th percentile milliseconds per verification, by vector. */
  ms: Record<string, { median: number; p95: number }>;
}

export function runAttestVerify(iterations = Number(process.env.TWINE_ATTEST_BENCH_ITERS ?? "200")): AttestVerifyTimes {
  const sgx = sgxVector();
  const tdx = tdxVector();
  const snp = snpVector("genoaAzure");
  const cases: [string, Uint8Array, VerifyOptions][] = [
    ["sgx quote v3", sgx.quote, { collateral: sgx.collateral, now: sgx.now, policy: { acceptedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"] } }],
    ["tdx quote v4", tdx.quote, { collateral: tdx.collateral, now: tdx.now }],
    ["snp report (genoa)", snp.report, { collateral: snp.collateral, now: snp.now }],
  ];
  const ms: AttestVerifyTimes["ms"] = {};
  for (const [name, bytes, opts] of cases) {
    for (let i = 0; i < 20; i++) if (!verifyEvidence(bytes, opts).ok) throw new Error(`${name} does not verify`);
    const t: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      verifyEvidence(bytes, opts);
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    ms[name] = { median: t[Math.floor(t.length / 2)]!, p95: t[Math.floor(t.length * 0.95)]! };
  }
  return { iterations, ms };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = runAttestVerify();
  const rows = Object.entries(r.ms).map(([k, v]) => `${k.padEnd(20)} median ${v.median.toFixed(2)} ms   p95 ${v.p95.toFixed(2)} ms`);
  process.stdout.write(`attest verify, ${r.iterations} runs after 20 warm-up (target: well under 50 ms)\n${rows.join("\n")}\n`);
}
