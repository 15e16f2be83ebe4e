// `twine serve` and `twine client` as an operator and an owner run them: the launch hash the server
// announces is the one `twine measure` prints for the same flags; `twine client run` verifies, runs
// a job, downloads its output and raw volume, which `twine pfs verify` / `export` then read with the
// owner's key; a trapping job gives the trap's exit status; a refusal happens before any request (the sim-under-a-strict-policy refusal is in
// src/serve/serve.test.ts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TWINE, guestPath, twine } from "./twine-cli.js";

const T = { timeout: 60_000 };
const LAUNCH = ["--pfs", "-::/data", "--timeout", "2", "--max-memory", "32", guestPath("serve_job"), "/data"];
const dir = mkdtempSync(join(tmpdir(), "twine-serve-cli-"));
const simDir = join(dir, "sim");
const keyFile = join(dir, "key");
let server: ChildProcess;
let url = "";
let serverErr = "";

function policyFile(launchHashes: string[], extra: Record<string, unknown> = {}): string {
  const p = join(dir, `policy-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(p, JSON.stringify({ launchHashes, dangerousAllowSim: true, simDir, ...extra }));
  return p;
}

before(async () => {
  process.env.TWINE_SIM_DIR = simDir;
  writeFileSync(keyFile, randomBytes(32));
  server = spawn(
    process.execPath,
    [TWINE, "serve", "--tee", "sim", "--state", join(dir, "state"), "--port", "0", "--jobs", "2", ...LAUNCH],
    { cwd: ROOT, env: { ...process.env, TWINE_SIM_DIR: simDir }, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stderr?.on("data", (d: Buffer) => (serverErr += d.toString()));
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${serverErr}`)), 30_000);
    server.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)\n/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.on("exit", () => reject(new Error(`server exited:\n${serverErr}`)));
  });
});

after(async () => {
  if (server.exitCode === null) {
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function launchHash(): Promise<string> {
  const m = await twine(["measure", "--json", ...LAUNCH]);
  assert.equal(m.status, 0, m.stderr);
  return (JSON.parse(m.stdout) as { launchSha256: string }).launchSha256;
}

void test("twine client info: the server's launch hash is what twine measure prints", T, async () => {
  const hash = await launchHash();
  const r = await twine(["client", "info", url, "--policy", policyFile([hash])]);
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { launchHash: string; tee: string };
  assert.equal(info.launchHash, hash);
  assert.equal(info.tee, "sim");
});

void test("twine client run: inputs in, job run, output and encrypted volume out", T, async () => {
  const policy = policyFile([await launchHash()]);
  writeFileSync(join(dir, "mode"), "ok");
  writeFileSync(join(dir, "in.txt"), "from the owner");
  const out = join(dir, "out.txt");
  const vol = join(dir, "fetched");
  const r = await twine([
    "client",
    "run",
    url,
    "--policy",
    policy,
    "--key-file",
    keyFile,
    "--input",
    `${join(dir, "mode")}=/data/mode`,
    "--input",
    `${join(dir, "in.txt")}=/data/in.txt`,
    "--output",
    `/data/out.txt=${out}`,
    "--fetch-volume",
    vol,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "job ok: 14 bytes\n");
  assert.equal(r.stderr, "note: done\n");
  assert.equal(readFileSync(out, "utf8"), "processed: FROM THE OWNER");
  const v = await twine(["pfs", "verify", vol, "--key-file", keyFile]);
  assert.equal(v.status, 0, v.stderr);
  const exported = join(dir, "exported.txt");
  const e = await twine(["pfs", "export", vol, "/out.txt", exported, "--key-file", keyFile]);
  assert.equal(e.status, 0, e.stderr);
  assert.equal(readFileSync(exported, "utf8"), "processed: FROM THE OWNER");
});

void test(
  "twine client run: a trapping job exits 134 with the trap's code; its volume still verifies",
  T,
  async () => {
    const policy = policyFile([await launchHash()]);
    writeFileSync(join(dir, "mode-trap"), "trap");
    const vol = join(dir, "fetched-trap");
    const r = await twine([
      "client",
      "run",
      url,
      "--policy",
      policy,
      "--key-file",
      keyFile,
      "--input",
      `${join(dir, "mode-trap")}=/data/mode`,
      "--fetch-volume",
      vol,
    ]);
    assert.equal(r.status, 134, r.stderr);
    assert.match(r.stderr, /\[run\.trap\]\n$/);
    const v = await twine(["pfs", "verify", vol, "--key-file", keyFile]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^ok: 3 files/);
  },
);

void test("twine client refuses a server with another launch hash before any request", T, async () => {
  const before = (serverErr.match(/ GET /g) ?? []).length;
  const other = await twine(["client", "info", url, "--policy", policyFile(["00".repeat(32)])]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /\[ratls\.launch_hash\]\n$/);
  assert.equal((serverErr.match(/ GET /g) ?? []).length, before, "the server logged no request");
});

void test("twine serve refuses launches it cannot bound or share", T, async () => {
  const state = join(dir, "state-usage");
  const noLimits = await twine(["serve", "--state", state, "--pfs", "-::/data", guestPath("serve_job")]);
  assert.equal(noLimits.status, 2);
  assert.match(noLimits.stderr, /--timeout and --max-memory/);
  const hostPfs = await twine([
    "serve",
    "--state",
    state,
    "--pfs",
    "/tmp/x::/data",
    "--timeout",
    "1",
    "--max-memory",
    "8",
    guestPath("serve_job"),
  ]);
  assert.equal(hostPfs.status, 2);
  assert.match(hostPfs.stderr, /\[cli\.usage\]/);
  const rwDir = await twine([
    "serve",
    "--state",
    state,
    "--dir",
    `${dir}::/shared:rw`,
    "--timeout",
    "1",
    "--max-memory",
    "8",
    guestPath("serve_job"),
  ]);
  assert.equal(rwDir.status, 2);
  assert.match(rwDir.stderr, /shared by every job/);
});
