// The data owner's provisioning flow with the real CLI on loopback, under a temp sim TEE: the owner
// makes a pfs volume and a server identity, measures the launch (with the server's pin), starts
// `twine provision serve`; `twine run --provision` gets the volume key and an env value before the
// guest starts. Then each refusal, where the guest never runs and the server logs why.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serializeDcapCollateral } from "../src/attest/collateral.js";
import { SimTee } from "../src/tee/sim.js";
import { TWINE, guestPath } from "./twine-cli.js";

const DIR = mkdtempSync(join(tmpdir(), "twine-provision-"));
const ENV = { ...process.env, TWINE_SIM_DIR: join(DIR, "sim") };
const GUEST = guestPath("provision_secret");
const OTHER_GUEST = guestPath("args_env");
const OWNER = join(DIR, "owner");
const started: ChildProcessWithoutNullStreams[] = [];

after(() => {
  for (const c of started) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(DIR, { recursive: true, force: true });
});

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function spawnTwine(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ["--no-turbo-fast-api-calls", TWINE, ...args], { cwd: DIR, env: ENV });
}

function twine(args: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawnTwine(args);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(killer);
      resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.end();
  });
}

interface Server {
  child: ChildProcessWithoutNullStreams;
  url: string;
  fingerprint: string;
  /** Everything logged so far. */
  log(): string;
  /** Resolves when the log matches. */
  logged(re: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `twine provision serve --json …` and waits for its start line. */
async function serve(args: readonly string[]): Promise<Server> {
  const child = spawnTwine(["provision", "serve", "--json", ...args]);
  started.push(child);
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("close", (status) => r(status)));
  const first = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
    });
    void exited.then((s) => reject(new Error(`server exited ${s}: ${err}`)));
  });
  const start = JSON.parse(first) as { fingerprint: string; port: number };
  return {
    child,
    url: `https://127.0.0.1:${start.port}`,
    fingerprint: start.fingerprint,
    log: () => err,
    logged: async (re) => {
      for (let i = 0; i < 300 && !re.test(err); i++) await new Promise((r) => setTimeout(r, 10));
      assert.match(err, re);
    },
    exited,
  };
}

let pin = "";
let launchHash = "";

async function setUp(): Promise<void> {
  if (pin !== "") return;
  mkdirSync(OWNER);
  writeFileSync(join(DIR, "vol.key"), randomBytes(32).toString("hex") + "\n");
  mkdirSync(join(DIR, "in"));
  writeFileSync(join(DIR, "in", "msg.txt"), "hello from the volume");
  writeFileSync(join(DIR, "greeting.txt"), "hi there\n");
  for (const args of [
    ["pfs", "create", "vol", "--key-file", "vol.key"],
    ["pfs", "import", "vol", "in", "/", "--key-file", "vol.key"],
  ]) {
    const r = await twine(args);
    assert.equal(r.status, 0, r.stderr);
  }
  const id = await twine(["provision", "identity", "--state", OWNER]);
  assert.equal(id.status, 0, id.stderr);
  pin = id.stdout.trim();
  assert.match(pin, /^[0-9a-f]{64}$/);
  const m = await twine(["measure", GUEST, "/data", "--pfs", "vol::/data", "--provision-pin", pin, "--json"]);
  assert.equal(m.status, 0, m.stderr);
  const measured = JSON.parse(m.stdout) as { launchSha256: string; manifest: string };
  launchHash = measured.launchSha256;
  assert.match(measured.manifest, new RegExp(`"provision":\\{"serverSha256":"${pin}"\\}`));
  writeFileSync(
    join(OWNER, "policy.json"),
    JSON.stringify({ launchHashes: [launchHash], dangerousAllowSim: true }),
  );
}

function runProvisioned(url: string, module = GUEST, pinHex = pin): Promise<Result> {
  return twine([
    "run",
    module,
    "/data",
    "--pfs",
    "vol::/data",
    "--provision",
    url,
    "--provision-pin",
    pinHex,
  ]);
}

void test("provision CLI: the runtime gets its volume key and env; refused runtimes never start the guest", async () => {
  await setUp();
  const s = await serve([
    "--policy",
    join(OWNER, "policy.json"),
    "--secret",
    "volume-key=vol.key",
    "--secret",
    "env:GREETING=greeting.txt",
  ]);
  try {
    assert.equal(s.fingerprint, pin, "the server uses the identity kept next to its policy");
    const ok = await runProvisioned(s.url);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, "env GREETING=hi there\nfile hello from the volume\n");
    await s.logged(new RegExp(`"type":"served".*"launchHash":"${launchHash}"`));

    // A different module: its launch hash is not in the policy.
    const other = await runProvisioned(s.url, OTHER_GUEST);
    assert.equal(other.status, 77, other.stderr);
    assert.match(other.stderr, /\[provision\.refused\]/);
    assert.equal(other.stdout, "", "the guest must not run");
    await s.logged(/"type":"refused".*"code":"ratls\.launch_hash"/);

    // An impostor (the pin is not this server's): the runtime refuses it and sends nothing.
    const wrongPin = `${pin[0] === "0" ? "1" : "0"}${pin.slice(1)}`;
    const impostor = await runProvisioned(s.url, GUEST, wrongPin);
    assert.equal(impostor.status, 77);
    assert.match(impostor.stderr, /\[provision\.pin\]/);
    assert.equal(impostor.stdout, "");

    // The secret values never appear in what either side prints.
    assert.doesNotMatch(s.log() + other.stderr + impostor.stderr + ok.stderr, /hi there/);
    assert.equal((s.log().match(/"type":"served"/g) ?? []).length, 1);

    s.child.kill("SIGTERM");
    assert.equal(await s.exited, 0);
  } finally {
    s.child.kill("SIGKILL");
  }
});

void test("provision CLI: a strict policy (no dangerousAllowSim) refuses the sim TEE", async () => {
  await setUp();
  const strict = join(DIR, "strict");
  mkdirSync(strict);
  writeFileSync(
    join(strict, "collateral.json"),
    serializeDcapCollateral(new SimTee({ dir: ENV.TWINE_SIM_DIR }).collateral(new Date())),
  );
  writeFileSync(
    join(strict, "policy.json"),
    JSON.stringify({ launchHashes: [launchHash], collateral: ["collateral.json"] }),
  );
  // The same server identity (and so the same pin and launch hash) as in the sim policy.
  const s = await serve([
    "--policy",
    join(strict, "policy.json"),
    "--state",
    OWNER,
    "--secret",
    "volume-key=vol.key",
  ]);
  try {
    const r = await runProvisioned(s.url);
    assert.equal(r.status, 77);
    assert.match(r.stderr, /\[provision\.refused\]/);
    assert.equal(r.stdout, "");
    await s.logged(/"type":"refused".*"code":"attest\.sim"/);
    assert.doesNotMatch(s.log(), /"type":"served"/);
  } finally {
    s.child.kill("SIGKILL");
  }
});

void test("provision CLI: --once exits after one runtime; a volume with no key sent is provision.missing", async () => {
  await setUp();
  const s = await serve([
    "--policy",
    join(OWNER, "policy.json"),
    "--secret",
    "env:GREETING=greeting.txt",
    "--once",
  ]);
  try {
    const r = await runProvisioned(s.url);
    assert.equal(r.status, 77);
    assert.match(r.stderr, /\[provision\.missing\]/);
    assert.equal(r.stdout, "");
    assert.equal(await s.exited, 0);
  } finally {
    s.child.kill("SIGKILL");
  }
});

void test("provision CLI: usage errors", async () => {
  await setUp();
  const url = "https://127.0.0.1:1";
  for (const args of [
    [
      "run",
      GUEST,
      "--pfs",
      "vol::/data",
      "--key-file",
      "vol.key",
      "--provision",
      url,
      "--provision-pin",
      pin,
    ],
    ["run", GUEST, "--provision", url],
    ["run", GUEST, "--provision-pin", pin],
    ["run", GUEST, "--provision", "http://127.0.0.1:1", "--provision-pin", pin],
    ["run", GUEST, "--provision", url, "--provision-pin", "abc"],
    ["provision", "serve", "--policy", join(OWNER, "policy.json"), "--secret", "nonsense=vol.key"],
    ["provision", "serve", "--policy", join(OWNER, "policy.json"), "--secret", "volume-key=greeting.txt"],
  ]) {
    const r = await twine(args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
  }
  writeFileSync(
    join(DIR, "bad-policy.json"),
    JSON.stringify({ launchHashes: [launchHash], dangerousAllowSim: 1 }),
  );
  const bad = await twine([
    "provision",
    "serve",
    "--policy",
    "bad-policy.json",
    "--secret",
    "volume-key=vol.key",
  ]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /\[policy\.invalid\]/);
});
