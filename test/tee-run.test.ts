// `twine run --tee … --seal … --pfs …`: the TEE imports and sealed pfs keys through the real CLI and
// worker, with the sim backend in a private TWINE_SIM_DIR.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { guestPath, twine } from "./twine-cli.js";

const scratch = mkdtempSync(join(tmpdir(), "twine-tee-run-"));
// The spawned CLI inherits this: its sim keys live here, not in the user's config dir.
process.env.TWINE_SIM_DIR = join(scratch, "sim");
after(() => rmSync(scratch, { recursive: true, force: true }));

void test("run --tee sim: the guest collects, parses and verifies evidence through the worker", async () => {
  const r = await twine(["run", "--tee", "sim", guestPath("attest_collect"), "n-1"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^collect 0$/m);
  assert.match(r.stdout, /^parse 0$/m);
  assert.match(r.stdout, /^verify 0$/m);
  assert.match(r.stderr, /sim/);
});

void test("run without --tee: the attestation imports are not there (module.link, 65)", async () => {
  const r = await twine(["run", guestPath("attest_collect"), "n-1"]);
  assert.equal(r.status, 65);
  assert.match(r.stderr, /librats_collect/);
});

void test("run --pfs DIR::/data --seal program: no key file; opens for the same program only", async () => {
  const vol = join(scratch, "vol-program");
  const run = (guest: string, ...args: string[]): ReturnType<typeof twine> =>
    twine(["run", "--tee", "sim", "--seal", "program", "--pfs", `${vol}::/data`, guestPath(guest), ...args]);
  const w = await run("attest_pfs", "write", "/data/secret.txt", "sealed-hello");
  assert.equal(w.status, 0, w.stderr);
  const r = await run("attest_pfs", "read", "/data/secret.txt");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^read sealed-hello$/m);
  const other = await run("attest_pfs_other", "read", "/data/secret.txt");
  assert.equal(other.status, 74, other.stdout + other.stderr);
  assert.match(other.stderr, /pfs\.key/);
  const signer = await twine([
    "run",
    "--tee",
    "sim",
    "--seal",
    "signer",
    "--pfs",
    `${vol}::/data`,
    guestPath("attest_pfs"),
    "read",
    "/data/secret.txt",
  ]);
  assert.equal(signer.status, 74, "the signer key is another key");
});

void test("run --pfs DIR::/data --seal signer: another program of the same signer opens it; another signer does not", async () => {
  const vol = join(scratch, "vol-signer");
  const args = (guest: string, ...a: string[]): string[] => [
    "run",
    "--tee",
    "sim",
    "--seal",
    "signer",
    "--pfs",
    `${vol}::/data`,
    guestPath(guest),
    ...a,
  ];
  assert.equal((await twine(args("attest_pfs", "write", "/data/s.txt", "shared"))).status, 0);
  const other = await twine(args("attest_pfs_other", "read", "/data/s.txt"));
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stdout, /^read shared$/m);
  process.env.TWINE_SIM_DIR = join(scratch, "sim-other");
  try {
    const foreign = await twine(args("attest_pfs", "read", "/data/s.txt"));
    assert.equal(foreign.status, 74);
  } finally {
    process.env.TWINE_SIM_DIR = join(scratch, "sim");
  }
});

void test("run: --pfs without --seal, and bad --tee / --seal values, are usage errors", async () => {
  assert.equal(
    (await twine(["run", "--pfs", `${scratch}/v::/data`, guestPath("attest_pfs"), "read", "/data/x"])).status,
    2,
  );
  assert.equal((await twine(["run", "--tee", "tpm", guestPath("attest_pfs")])).status, 2);
  assert.equal((await twine(["run", "--seal", "all", guestPath("attest_pfs")])).status, 2);
});
