// examples/credit-risk: the risk program through `twine run`, on a plain --dir mount (numbers checked
// against an independent computation here) and over a pfs volume made with `twine pfs` (same report,
// and the host holds only ciphertext).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Runtime } from "../src/runtime/runtime.js";
import { parseDirFlag } from "../src/vfs/index.js";
import { ROOT, describeRun, twine, type RunResult } from "./twine-cli.js";

const EXAMPLE = join(ROOT, "examples", "credit-risk");
const WASM = join(EXAMPLE, "credit_risk.wasm");
const HEADER = "loan_id,borrower_id,exposure,pd,lgd";

const scratch = mkdtempSync(join(tmpdir(), "twine-credit-risk-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let dirs = 0;
/** A fresh host folder holding loans.csv. */
function book(csv: string | Buffer): string {
  const dir = join(scratch, `book-${++dirs}`);
  mkdirSync(dir);
  writeFileSync(join(dir, "loans.csv"), csv);
  return dir;
}

function runOnDir(dir: string, args: readonly string[]): Promise<RunResult> {
  return twine(["run", "--dir", `${dir}::/data:rw`, WASM, "--", ...args]);
}

interface Report {
  model: string;
  loans: number;
  borrowers: number;
  trials: number;
  seed: number;
  rho: number;
  total_exposure: number;
  expected_loss: number;
  unexpected_loss: number;
  simulated_mean_loss: number;
  simulated_sd_loss: number;
  tail: { level: number; var: number; expected_shortfall: number }[];
  hhi: number;
  top10_share: number;
  top_borrowers: { borrower_id: string; exposure: number; share: number }[];
  borrower_shares: { borrower_id: string; exposure: number; share: number }[];
  loan_expected_loss: { loan_id: string; expected_loss: number }[];
}

function readReport(dir: string): Report {
  return JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Report;
}

interface Loan {
  loanId: string;
  borrowerId: string;
  ead: number;
  pd: number;
  lgd: number;
}

function parseCsv(csv: string): Loan[] {
  return csv
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((line) => {
      const [loanId = "", borrowerId = "", ead = "", pd = "", lgd = ""] = line.split(",");
      return { loanId, borrowerId, ead: Number(ead), pd: Number(pd), lgd: Number(lgd) };
    });
}

/**
 * The deterministic part of the report, computed here the way a reviewer would by hand: sums in input
 * order, borrowers in order of first appearance, ranking by exposure then first appearance.
 */
function expected(loans: readonly Loan[]) {
  let totalEl = 0;
  let totalExposure = 0;
  let variance = 0;
  const byBorrower = new Map<string, number>();
  const perLoan = loans.map((l) => {
    const el = l.ead * l.pd * l.lgd;
    totalEl += el;
    totalExposure += l.ead;
    const w = l.ead * l.lgd;
    variance += w * w * l.pd * (1 - l.pd);
    byBorrower.set(l.borrowerId, (byBorrower.get(l.borrowerId) ?? 0) + l.ead);
    return { loan_id: l.loanId, expected_loss: el };
  });
  const shares = [...byBorrower].map(([id, exposure]) => ({
    borrower_id: id,
    exposure,
    share: exposure / totalExposure,
  }));
  let hhi = 0;
  for (const s of shares) hhi += s.share * s.share;
  const ranked = shares
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.exposure - a.s.exposure || a.i - b.i)
    .map((x) => x.s)
    .slice(0, 10);
  let top10 = 0;
  for (const s of ranked) top10 += s.exposure / totalExposure;
  return {
    perLoan,
    totalEl,
    totalExposure,
    hhi,
    shares,
    ranked,
    top10,
    ulIndependent: Math.sqrt(variance),
    maxLoss: loans.reduce((s, l) => s + l.ead * l.lgd, 0),
  };
}

// Seven loans, four borrowers; pd 0 and 1, a zero exposure and non-binary decimals on purpose.
const TINY = [
  HEADER,
  "L1,B1,1000,0.25,0.5",
  "L2,B2,2500.5,0.1,0.45",
  "L3,B1,400,0.02,1",
  "L4,B3,0,0.5,0.5",
  "L5,B2,1200.75,1,0.4",
  "L6,B4,333.33,0,0.6",
  "L7,B1,10.1,0.3,0.25",
].join("\n");

function assertDeterministicPart(r: Report, loans: readonly Loan[]): void {
  const e = expected(loans);
  assert.deepEqual(r.loan_expected_loss, e.perLoan);
  assert.equal(r.expected_loss, e.totalEl);
  assert.equal(r.total_exposure, e.totalExposure);
  assert.deepEqual(r.borrower_shares, e.shares);
  assert.equal(r.hhi, e.hhi);
  assert.deepEqual(r.top_borrowers, e.ranked);
  assert.equal(r.top10_share, e.top10);
  assert.equal(r.loans, loans.length);
  assert.equal(r.borrowers, e.shares.length);
}

function assertTailSane(r: Report, maxLoss: number): void {
  assert.deepEqual(
    r.tail.map((t) => t.level),
    [0.95, 0.99, 0.999],
  );
  let previous = -Infinity;
  for (const t of r.tail) {
    assert.ok(t.var >= r.expected_loss, `VaR ${t.level} ${t.var} < EL ${r.expected_loss}`);
    assert.ok(t.var >= previous, "VaR must not fall as the level rises");
    assert.ok(t.expected_shortfall >= t.var, "ES is at least VaR");
    assert.ok(t.expected_shortfall <= maxLoss * (1 + 1e-12), "ES is at most the loss if all default");
    previous = t.var;
  }
}

void test("tiny book, rho 0: EL per loan, totals, shares, HHI, top 10 and UL are exact", async () => {
  const dir = book(TINY);
  const r = await runOnDir(dir, ["--rho", "0", "--trials", "20000", "--seed", "7"]);
  assert.equal(r.status, 0, describeRun(r));
  const report = readReport(dir);
  const loans = parseCsv(TINY);
  const e = expected(loans);
  assertDeterministicPart(report, loans);
  assert.equal(report.unexpected_loss, e.ulIndependent);
  assert.equal(report.rho, 0);
  assert.equal(report.trials, 20000);
  assert.equal(report.seed, 7);
  assertTailSane(report, e.maxLoss);
  // The simulation agrees with the closed form: mean within 4 standard errors, sd within 5%.
  const se = e.ulIndependent / Math.sqrt(report.trials);
  assert.ok(Math.abs(report.simulated_mean_loss - e.totalEl) < 4 * se, JSON.stringify(report));
  assert.ok(Math.abs(report.simulated_sd_loss / e.ulIndependent - 1) < 0.05, JSON.stringify(report));
  assert.match(r.stdout, /^credit risk: 7 loans, 4 borrowers, 20000 trials \(seed 7, rho 0\)$/m);
  assert.match(r.stdout, /^report: \/data\/report\.json$/m);
});

void test("tiny book, correlated defaults: same EL, larger UL, the simulation matches it, stable per seed", async () => {
  const loans = parseCsv(TINY);
  const e = expected(loans);
  const dir = book(TINY);
  const args = ["--rho", "0.3", "--trials", "20000", "--seed", "11"];
  const first = await runOnDir(dir, args);
  assert.equal(first.status, 0, describeRun(first));
  const bytes = readFileSync(join(dir, "report.json"));
  const report = readReport(dir);
  assertDeterministicPart(report, loans);
  assertTailSane(report, e.maxLoss);
  assert.ok(report.unexpected_loss > e.ulIndependent, "positive asset correlation adds variance");
  assert.ok(Math.abs(report.simulated_sd_loss / report.unexpected_loss - 1) < 0.05, JSON.stringify(report));

  const again = await runOnDir(dir, args);
  assert.equal(again.status, 0, describeRun(again));
  assert.ok(readFileSync(join(dir, "report.json")).equals(bytes), "same seed, same report byte for byte");
  assert.equal(again.stdout, first.stdout);

  const other = await runOnDir(dir, ["--rho", "0.3", "--trials", "20000", "--seed", "12"]);
  assert.equal(other.status, 0, describeRun(other));
  const otherReport = readReport(dir);
  assert.equal(otherReport.expected_loss, report.expected_loss);
  assert.notEqual(otherReport.simulated_mean_loss, report.simulated_mean_loss, "another seed, other draws");
});

void test("generated book (make-loans.js): exact EL and HHI, default arguments, CRLF and a BOM accepted", async () => {
  const dir = join(scratch, "generated");
  mkdirSync(dir);
  const gen = spawnSync(
    process.execPath,
    [join(EXAMPLE, "make-loans.js"), "--loans", "1500", "--seed", "5", "--out", join(dir, "loans.csv")],
    { encoding: "utf8" },
  );
  assert.equal(gen.status, 0, gen.stderr);
  const csv = readFileSync(join(dir, "loans.csv"), "utf8");
  const again = spawnSync(
    process.execPath,
    [join(EXAMPLE, "make-loans.js"), "--loans", "1500", "--seed", "5"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(again.stdout, csv, "the generator is deterministic for a seed");
  const loans = parseCsv(csv);
  assert.equal(loans.length, 1500);

  const r = await runOnDir(dir, []);
  assert.equal(r.status, 0, describeRun(r));
  const report = readReport(dir);
  assertDeterministicPart(report, loans);
  assertTailSane(report, expected(loans).maxLoss);
  assert.equal(report.trials, 10000);
  assert.equal(report.seed, 42);
  assert.equal(report.rho, 0.12);
  assert.equal(report.top_borrowers.length, 10);

  // The same book as a spreadsheet would save it gives the same report.
  const windows = book(`\ufeff${csv.replaceAll("\n", "\r\n")}`);
  const w = await runOnDir(windows, []);
  assert.equal(w.status, 0, describeRun(w));
  assert.ok(readFileSync(join(windows, "report.json")).equals(readFileSync(join(dir, "report.json"))));
});

// Each malformed book: the line the message must name, and the CSV.
const MALFORMED: [string, number, string | Buffer][] = [
  ["wrong header", 1, "loan,borrower,ead,pd,lgd\nL1,B1,1,0.1,0.5\n"],
  ["empty file", 1, ""],
  ["header only", 1, `${HEADER}\n`],
  ["too few fields", 3, `${HEADER}\nL1,B1,1,0.1,0.5\nL2,B1,1,0.1\n`],
  ["too many fields", 2, `${HEADER}\nL1,B1,1,0.1,0.5,9\n`],
  ["pd above 1", 2, `${HEADER}\nL1,B1,1,1.5,0.5\n`],
  ["negative pd", 3, `${HEADER}\nL1,B1,1,0.1,0.5\nL2,B1,1,-0.1,0.5\n`],
  ["lgd empty", 2, `${HEADER}\nL1,B1,1,0.1,\n`],
  ["exposure overflows", 2, `${HEADER}\nL1,B1,1e400,0.1,0.5\n`],
  ["exposure too large", 2, `${HEADER}\nL1,B1,2e15,0.1,0.5\n`],
  ["hex exposure", 2, `${HEADER}\nL1,B1,0x10,0.1,0.5\n`],
  ["nan pd", 2, `${HEADER}\nL1,B1,10,nan,0.5\n`],
  ["spaces in a number", 2, `${HEADER}\nL1,B1, 10,0.1,0.5\n`],
  ["quote in an id", 4, `${HEADER}\nL1,B1,1,0.1,0.5\nL2,B1,1,0.1,0.5\nL"3,B1,1,0.1,0.5\n`],
  ["empty borrower", 2, `${HEADER}\nL1,,1,0.1,0.5\n`],
  ["id too long", 2, `${HEADER}\n${"L".repeat(65)},B1,1,0.1,0.5\n`],
  ["duplicate loan", 4, `${HEADER}\nL1,B1,1,0.1,0.5\nL2,B1,1,0.1,0.5\nL1,B2,1,0.1,0.5\n`],
  ["empty line", 3, `${HEADER}\nL1,B1,1,0.1,0.5\n\nL2,B1,1,0.1,0.5\n`],
  ["NUL byte", 2, Buffer.from(`${HEADER}\nL1,B1,1\u0000,0.1,0.5\n`)],
  ["line too long", 2, `${HEADER}\nL1,B1,1,0.1,0.5${"0".repeat(5000)}\n`],
  ["total exposure zero", 3, `${HEADER}\nL1,B1,0,0.1,0.5\nL2,B2,0,0.1,0.5\n`],
];

/** The guest run in this process by the Runtime `twine run` uses (no CLI start-up per case). */
async function runInProcess(
  dir: string,
  args: readonly string[],
): Promise<{ status: number; stderr: string }> {
  const errFile = join(dir, "stderr.txt");
  const err = openSync(errFile, "w");
  const out = openSync("/dev/null", "w");
  try {
    const r = await new Runtime({
      args: [...args],
      mounts: [parseDirFlag(`${dir}::/data:rw`)],
      stdin: out,
      stdout: out,
      stderr: err,
      // These runs stop at the first bad line: compile lazily rather than optimise code that never runs.
      tiering: "lazy",
    }).run(WASM);
    assert.equal(r.status, "exited", JSON.stringify(r));
    return { status: r.status === "exited" ? r.exitCode : -1, stderr: readFileSync(errFile, "utf8") };
  } finally {
    closeSync(err);
    closeSync(out);
  }
}

void test("malformed books: exit 2, the line number on stderr, no report, no crash", async () => {
  // One through the CLI (its exit status is the guest's), the table in-process.
  const cli = book(MALFORMED[3]?.[2] ?? "");
  const r = await runOnDir(cli, []);
  assert.equal(r.status, 2, describeRun(r));
  assert.equal(r.stderr, `credit_risk: /data/loans.csv:3: expected 5 comma-separated fields (${HEADER})\n`);
  assert.equal(r.stdout, "");
  assert.equal(existsSync(join(cli, "report.json")), false);

  const runs = await Promise.all(
    MALFORMED.map(async ([name, line, csv]) => {
      const dir = book(csv);
      return { name, line, dir, ...(await runInProcess(dir, ["--trials", "10"])) };
    }),
  );
  for (const { name, line, dir, status, stderr } of runs) {
    assert.equal(status, 2, `${name}: ${stderr}`);
    assert.match(stderr, new RegExp(`^credit_risk: /data/loans\\.csv:${line}: `, "m"), `${name}: ${stderr}`);
    assert.equal(existsSync(join(dir, "report.json")), false, `${name}: no report`);
  }
});

void test("bad arguments exit 2; a missing input exits 1", async () => {
  const dir = book(TINY);
  const bad = [
    ["--rho", "1"],
    ["--rho", "0.995"],
    ["--rho", "-0.1"],
    ["--trials", "0"],
    ["--trials", "10000001"],
    ["--seed", "18446744073709551616"],
    ["--bogus", "1"],
    ["--trials"],
  ];
  // Each exits at argument parsing, so they can all run at once.
  const runs = await Promise.all([...bad, ["--input", "/data/nope.csv"]].map((args) => runOnDir(dir, args)));
  runs.forEach((r, i) => {
    const expectedStatus = i < bad.length ? 2 : 1;
    assert.equal(r.status, expectedStatus, `${(bad[i] ?? ["--input"]).join(" ")}: ${describeRun(r)}`);
  });
  assert.equal(existsSync(join(dir, "report.json")), false);
});

/** Every byte of every file under `dir`. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) parts.push(readFileSync(join(e.parentPath, e.name)));
  }
  return Buffer.concat(parts);
}

void test("over a pfs volume (--key-file): the same report as on plain files; the host sees only ciphertext", async () => {
  const plain = book(TINY);
  const args = ["--trials", "5000", "--seed", "3"];
  const reference = await runOnDir(plain, args);
  assert.equal(reference.status, 0, describeRun(reference));

  const key = join(scratch, "volume.key");
  writeFileSync(key, randomBytes(32).toString("hex"));
  const volume = join(scratch, "volume");
  const created = await twine(["pfs", "create", volume, "--key-file", key]);
  assert.equal(created.status, 0, describeRun(created));
  const imported = await twine(["pfs", "import", volume, join(plain, "loans.csv"), "--key-file", key]);
  assert.equal(imported.status, 0, describeRun(imported));

  const run = await twine(["run", "--pfs", `${volume}::/data`, "--key-file", key, WASM, "--", ...args]);
  assert.equal(run.status, 0, describeRun(run));
  assert.equal(run.stdout, reference.stdout);

  const out = join(scratch, "exported-report.json");
  const exported = await twine(["pfs", "export", volume, "/report.json", out, "--key-file", key]);
  assert.equal(exported.status, 0, describeRun(exported));
  assert.ok(readFileSync(out).equals(readFileSync(join(plain, "report.json"))), "same report bytes");

  const onHost = allBytes(volume);
  for (const needle of ["L5,B2,1200.75", "loan_id,borrower_id", "expected_loss", "2500.5"])
    assert.equal(onHost.includes(needle), false, `the host can read ${JSON.stringify(needle)}`);
});
