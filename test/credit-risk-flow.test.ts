// examples/credit-risk/run-demo.sh end to end on loopback, with the sim TEE in the script's own folder:
// the key reaches only the measured launch, the decrypted report is what a plain run computes, and a
// tampered launch gets no key, runs no guest and writes no report; then the same job through
// `twine serve` + `twine client run` gives the same report.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ROOT, describeRun, twine } from "./twine-cli.js";

const EXAMPLE = join(ROOT, "examples", "credit-risk");
const scratch = mkdtempSync(join(tmpdir(), "twine-credit-risk-flow-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function missingTools(): string | undefined {
  for (const [tool, args] of [["bash", ["--version"]]] as const) {
    const r = spawnSync(tool, args, { encoding: "utf8" });
    if (r.error !== undefined || r.status !== 0) return `${tool} not found`;
  }
  return undefined;
}

interface ScriptResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(work: string, loans: number): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(EXAMPLE, "run-demo.sh"), work], {
      cwd: ROOT,
      // The script's `node` is this node.
      env: {
        ...process.env,
        LOANS: String(loans),
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(killer);
      resolve({ status, stdout, stderr });
    });
  });
}

function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) parts.push(readFileSync(join(e.parentPath, e.name)));
  return Buffer.concat(parts);
}

void test("run-demo.sh: the measured launch gets the key and computes; a tampered one gets nothing", async (t) => {
  const missing = missingTools();
  if (missing !== undefined) {
    t.skip(missing);
    return;
  }
  const work = join(scratch, "demo");
  const demo = await runDemo(work, 1500);
  const owner = join(work, "owner");
  const host = join(work, "host");
  assert.equal(demo.status, 0, `--- stdout\n${demo.stdout}--- stderr\n${demo.stderr}`);

  // The decrypted report is exactly what the same program computes on the same CSV without any TEE.
  const plain = join(scratch, "plain");
  mkdirSync(plain);
  writeFileSync(join(plain, "loans.csv"), readFileSync(join(owner, "loans.csv")));
  const reference = await twine([
    "run",
    "--dir",
    `${plain}::/data:rw`,
    join(EXAMPLE, "credit_risk.wasm"),
    "--",
    "--trials",
    "10000",
    "--seed",
    "42",
    "--rho",
    "0.12",
  ]);
  assert.equal(reference.status, 0, describeRun(reference));
  assert.ok(
    readFileSync(join(owner, "report.json")).equals(readFileSync(join(plain, "report.json"))),
    "the decrypted report differs from a plain run's",
  );
  assert.equal(readFileSync(join(owner, "run.out"), "utf8"), reference.stdout);

  // The server's log: one refusal for the wrong launch, then the key served to the measured one only.
  const launch = (JSON.parse(readFileSync(join(owner, "launch.json"), "utf8")) as { launchSha256: string })
    .launchSha256;
  const log = readFileSync(join(owner, "server.log"), "utf8").trimEnd().split("\n");
  const refused = log.filter((l) => / refused /.test(l));
  const served = log.filter((l) => / served /.test(l));
  assert.equal(refused.length, 1, log.join("\n"));
  assert.match(refused[0] ?? "", /ratls\.launch_hash/);
  assert.equal(served.length, 1, log.join("\n"));
  assert.match(served[0] ?? "", new RegExp(`launch ${launch} secrets volume-key$`));

  // The tampered runtime: refused, its guest never started, nothing written to the volume.
  assert.match(demo.stdout, /^runtime exit status: [1-9][0-9]*;/m);
  assert.match(readFileSync(join(owner, "tampered.err"), "utf8"), /\[provision\.refused\]/);
  assert.equal(readFileSync(join(owner, "tampered.out"), "utf8"), "");
  assert.equal(readFileSync(join(owner, "after-tampered.txt"), "utf8"), "loans.csv\n");

  // The volume on the host never shows the book, the report or the key; no log shows the key.
  const key = readFileSync(join(owner, "volume.key"), "utf8").trim();
  const loans = readFileSync(join(owner, "loans.csv"), "utf8").split("\n");
  const volumeBytes = allBytes(join(host, "volume"));
  for (const needle of [loans[1] ?? "", "loan_id,borrower_id", "expected_loss", key, Buffer.from(key, "hex")])
    assert.equal(volumeBytes.includes(needle), false, `the host holds ${JSON.stringify(needle)}`);
  for (const file of ["server.log", "server.out", "tampered.err", "run.out"])
    assert.equal(readFileSync(join(owner, file), "utf8").includes(key), false, `${file} shows the key`);
  assert.equal(demo.stdout.includes(key) || demo.stderr.includes(key), false, "the script shows the key");

  // Part 2, twine serve: the client whose policy names another launch refused the server before any
  // request; the accepted one got the same report, in plaintext and in the fetched volume.
  assert.match(demo.stdout, /^client exit status: [1-9][0-9]*;/m);
  assert.match(readFileSync(join(owner, "client-refused.err"), "utf8"), /\[ratls\.launch_hash\]/);
  const serveLog = readFileSync(join(host, "serve.log"), "utf8");
  assert.equal(serveLog.match(/ GET \/v1\/info /g)?.length, 1, serveLog);
  assert.equal(serveLog.match(/ POST \/v1\/jobs /g)?.length, 1, serveLog);
  assert.equal(serveLog.includes(key), false, "twine serve logged the key");
  const report = readFileSync(join(owner, "report.json"));
  assert.ok(readFileSync(join(owner, "report-serve.json")).equals(report));
  assert.ok(readFileSync(join(owner, "report-serve-volume.json")).equals(report));
  const stateBytes = allBytes(join(host, "serve-state"));
  for (const needle of [loans[1] ?? "", "loan_id,borrower_id", "expected_loss"])
    assert.equal(stateBytes.includes(needle), false, `twine serve's state holds ${JSON.stringify(needle)}`);
});
