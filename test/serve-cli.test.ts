// `twine serve` and `twine client` as an operator and an owner run them: the launch hash the server
// announces is the one `twine measure` prints for the same flags; `twine client run` verifies, runs
// a job, downloads its output and raw volume, which `twine pfs verify` / `export` then read with the
// owner's key; a trapping job gives the trap's exit status; Ctrl-C and `twine client cancel` stop a
// running job; a refusal happens before any request (the sim-under-a-strict-policy refusal is in
// src/serve/serve.test.ts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jobFolderName } from "../src/serve/jobs.js";
import { ROOT, TWINE, guestPath, twine } from "./twine-cli.js";

const T = { timeout: 60_000 };
const launch = (timeoutSeconds: number): string[] => [
  "--pfs",
  "-::/data",
  "--timeout",
  String(timeoutSeconds),
  "--max-memory",
  "32",
  guestPath("serve_job"),
  "/data",
];
const LAUNCH = launch(2);
/** For cancelling: a job that ends before this was cancelled, not timed out. */
const LONG_LAUNCH = launch(60);
const dir = mkdtempSync(join(tmpdir(), "twine-serve-cli-"));
const simDir = join(dir, "sim");
const keyFile = join(dir, "key");
interface Server {
  proc: ChildProcess;
  url: string;
  stateDir: string;
  /** Everything the server wrote on stderr (one line per request) so far. */
  err: () => string;
}
let main: Server;
let url = "";

function policyFile(launchHashes: string[], extra: Record<string, unknown> = {}): string {
  const p = join(dir, `policy-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(p, JSON.stringify({ launchHashes, dangerousAllowSim: true, simDir, ...extra }));
  return p;
}

const servers: Server[] = [];

async function startServer(launchFlags: readonly string[], name: string): Promise<Server> {
  const stateDir = join(dir, name);
  const proc = spawn(
    process.execPath,
    [TWINE, "serve", "--tee", "sim", "--state", stateDir, "--port", "0", "--jobs", "2", ...launchFlags],
    { cwd: ROOT, env: { ...process.env, TWINE_SIM_DIR: simDir }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const server: Server = { proc, url: "", stateDir, err: () => err };
  servers.push(server);
  server.url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${err}`)), 30_000);
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)\n/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", () => reject(new Error(`server exited:\n${err}`)));
  });
  return server;
}

before(async () => {
  process.env.TWINE_SIM_DIR = simDir;
  writeFileSync(keyFile, randomBytes(32));
  main = await startServer(LAUNCH, "state");
  url = main.url;
});

after(async () => {
  for (const { proc } of servers) {
    if (proc.exitCode !== null) continue;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function launchHash(flags: readonly string[] = LAUNCH): Promise<string> {
  const m = await twine(["measure", "--json", ...flags]);
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
  const before = (main.err().match(/ GET /g) ?? []).length;
  const other = await twine(["client", "info", url, "--policy", policyFile(["00".repeat(32)])]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, /\[ratls\.launch_hash\]\n$/);
  assert.equal((main.err().match(/ GET /g) ?? []).length, before, "the server logged no request");
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

/** `twine client run` of a spinning job on `server`, as a child process the test can interrupt. */
function spinningClient(
  server: Server,
  policy: string,
  extra: readonly string[] = [],
): {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<{ status: number | null; stderr: string; ms: number }>;
} {
  writeFileSync(join(dir, "mode-spin"), "spin");
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      TWINE,
      "client",
      "run",
      server.url,
      "--policy",
      policy,
      "--key-file",
      keyFile,
      "--input",
      `${join(dir, "mode-spin")}=/data/mode`,
      ...extra,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  // Read, or a full pipe would stall the child and 'close' would never come.
  child.stdout?.resume();
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const done = new Promise<{ status: number | null; stderr: string; ms: number }>((resolve) =>
    child.on("close", (status) => {
      clearTimeout(killer);
      resolve({ status, stderr, ms: performance.now() - t0 });
    }),
  );
  return { child, stderr: () => stderr, done };
}

/** Waits until the server has logged `count` start requests. */
async function starts(server: Server, count: number): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if ((server.err().match(/ POST \/v1\/jobs\/#[0-9a-f]+\/start 202 /g) ?? []).length >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no job started:\n${server.err()}`);
}

void test("Ctrl-C while the inputs upload cancels the job before it starts", T, async () => {
  const long = await startServer(LONG_LAUNCH, "state-upload");
  const policy = policyFile([await launchHash(LONG_LAUNCH)]);
  // Large enough that its upload (TLS, then sealed into the job's volume) is still going when the
  // signal comes: the test waits only for the key upload, which follows the handler's install.
  const big = join(dir, "big-input");
  writeFileSync(big, randomBytes(256 * 1024 * 1024));
  try {
    const c = spinningClient(long, policy, ["--input", `${big}=/data/big`]);
    for (let i = 0; i < 1500 && !/ PUT \/v1\/jobs\/#[0-9a-f]+\/key 20\d /.test(long.err()); i++)
      await new Promise((r) => setTimeout(r, 20));
    c.child.kill("SIGINT");
    const r = await c.done;
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /^twine: cancelling the job/);
    assert.match(r.stderr, /\[serve\.cancelled\]\n$/);
    assert.match(long.err(), / POST \/v1\/jobs\/#[0-9a-f]+\/cancel 200 /);
    assert.doesNotMatch(long.err(), /\/start 202 /, "the job never started");
    assert.match(long.err(), / DELETE \/v1\/jobs\/#[0-9a-f]+ 200 /);
  } finally {
    rmSync(big, { force: true });
  }
});

void test(
  "Ctrl-C in twine client run cancels the job on the server; a cancel of an ended job is refused",
  T,
  async () => {
    const long = await startServer(LONG_LAUNCH, "state-long");
    const policy = policyFile([await launchHash(LONG_LAUNCH)]);

    const interrupted = spinningClient(long, policy);
    // The client's handler is in place before it asks for the start, so once the server logged the
    // start a Ctrl-C reaches the handler, not Node's default (which would kill it without a status).
    await starts(long, 1);
    interrupted.child.kill("SIGINT");
    const r = await interrupted.done;
    assert.equal(r.status, 130, r.stderr);
    assert.match(r.stderr, /^twine: cancelling the job/);
    assert.match(r.stderr, /\[serve\.cancelled\]\n$/);
    assert.ok(r.ms < 20_000, `took ${r.ms.toFixed(0)} ms`);
    assert.match(long.err(), / POST \/v1\/jobs\/#[0-9a-f]+\/cancel 200 /);
    // The job was deleted after it ended, as any failed job of `client run`.
    assert.match(long.err(), / DELETE \/v1\/jobs\/#[0-9a-f]+ 200 /);

    // `twine client cancel` with the id of a job kept on the server, which `client run --keep` prints
    // as soon as the job exists.
    const kept = spinningClient(long, policy, ["--keep"]);
    await starts(long, 2);
    const id = /^twine: job ([0-9a-f]{32}) kept on the server\n/.exec(kept.stderr())?.[1];
    assert.ok(id !== undefined, kept.stderr());
    // The host's state folder names the job by the id's hash, never by the id (a capability).
    const folders = readdirSync(join(long.stateDir, "jobs"));
    assert.ok(!folders.includes(id), "the id is not a folder name");
    assert.ok(folders.includes(jobFolderName(id)), "the job's folder is its id's hash");
    const c = await twine(["client", "cancel", long.url, id, "--policy", policy]);
    assert.equal(c.status, 0, c.stderr);
    const shown = JSON.parse(c.stdout) as { id: string; state: string; error?: { code: string } };
    assert.equal(shown.id, id);
    assert.equal(shown.state, "failed");
    assert.equal(shown.error?.code, "serve.cancelled");
    const k = await kept.done;
    assert.equal(k.status, 130, k.stderr);
    assert.match(k.stderr, /^twine: job [0-9a-f]{32} kept on the server\n.*\[serve\.cancelled\]\n$/);

    const again = await twine(["client", "cancel", long.url, id, "--policy", policy]);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /\[serve\.state\]\n$/);

    // A malformed id is a usage error before any connection; a well-formed unknown one is the server's "no such job".
    for (const bad of ["", "xyz", id.toUpperCase(), `${id}0`, `../${id.slice(3)}`]) {
      const r = await twine(["client", "cancel", long.url, bad, "--policy", policy]);
      assert.equal(r.status, 2, `${JSON.stringify(bad)}: ${r.stderr}`);
      assert.match(r.stderr, /a job id is 32 lower-case hex digits \[cli\.usage\]\n$/);
    }
    const unknown = await twine(["client", "cancel", long.url, "0".repeat(32), "--policy", policy]);
    assert.notEqual(unknown.status, 0);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /\[serve\.no_job\]\n$/);
  },
);
