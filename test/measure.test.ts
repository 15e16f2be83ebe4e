// `twine measure`: offline module and launch hashes, as a data owner runs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { guestPath, twine } from "./twine-cli.js";

const MODULE = guestPath("attest_collect");
const MODULE_SHA = createHash("sha256").update(readFileSync(MODULE)).digest("hex");

interface Measured {
  moduleSha256: string;
  launchSha256: string;
  manifest: string;
}

async function measure(args: string[]): Promise<Measured> {
  const r = await twine(["measure", MODULE, "--json", ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Measured;
}

void test("twine measure: module hash, canonical manifest and its SHA-256", async () => {
  const m = await measure([
    "--env",
    "B=2",
    "--env",
    "A=1",
    "--mem",
    "/tmp",
    "--max-memory",
    "64",
    "--",
    "x",
    "y",
  ]);
  assert.equal(m.moduleSha256, MODULE_SHA);
  assert.equal(m.launchSha256, createHash("sha256").update(m.manifest).digest("hex"));
  assert.equal(
    m.manifest,
    `{"args":["x","y"],"env":{"A":"1","B":"2"},"limits":{"maxMemoryBytes":67108864,"maxOpenFds":null,"timeoutMs":null},` +
      `"module":{"sha256":"${MODULE_SHA}"},"mounts":[{"guestPath":"/tmp","type":"mem"}],"provision":null,"tee":{"seal":null},"twineLaunchManifest":1}`,
  );
  const text = await twine([
    "measure",
    MODULE,
    "--env",
    "B=2",
    "--env",
    "A=1",
    "--mem",
    "/tmp",
    "--max-memory",
    "64",
    "--",
    "x",
    "y",
  ]);
  assert.equal(
    text.stdout,
    `module sha256: ${MODULE_SHA}\nlaunch sha256: ${m.launchSha256}\nmanifest: ${m.manifest}\n`,
  );
});

void test("twine measure: host paths and tiering do not change the launch hash; guest-visible flags do", async () => {
  const base = await measure(["--dir", "/tmp::/in", "--pfs", "/tmp/a::/data", "--seal", "program"]);
  // As in `twine run`, --pfs mounts come after --dir/--mem ones whatever the order on the line.
  const reordered = await measure(["--pfs", "/tmp/a::/data", "--dir", "/tmp::/in", "--seal", "program"]);
  assert.equal(reordered.launchSha256, base.launchSha256);
  const moved = await measure([
    "--dir",
    "/var::/in",
    "--pfs",
    "/srv/b::/data",
    "--seal",
    "program",
    "--tiering",
    "eager",
    "--tee",
    "sim",
  ]);
  assert.equal(moved.launchSha256, base.launchSha256);
  for (const other of [
    ["--dir", "/tmp::/in:rw", "--pfs", "/tmp/a::/data", "--seal", "program"],
    ["--dir", "/tmp::/in", "--pfs", "/tmp/a::/data", "--seal", "signer"],
    ["--dir", "/tmp::/in", "--pfs", "/tmp/a::/data"],
    ["--mem", "/tmp", "--dir", "/tmp::/in", "--pfs", "/tmp/a::/data", "--seal", "program"],
    ["--dir", "/tmp::/in", "--pfs", "/tmp/a::/data", "--seal", "program", "--timeout", "2"],
  ]) {
    assert.notEqual((await measure(other)).launchSha256, base.launchSha256, other.join(" "));
  }
});

void test("twine measure: bad module and bad flags", async () => {
  assert.equal((await twine(["measure", guestPath("no_such_guest")])).status, 2);
  assert.equal((await twine(["measure", MODULE, "--seal", "everyone"])).status, 2);
  assert.equal((await twine(["measure", MODULE, "--pfs", "nowhere"])).status, 2);
  assert.equal((await twine(["measure", MODULE, "--tee", "tpm"])).status, 2);
  assert.equal((await twine(["measure", new URL(import.meta.url).pathname])).status, 65);
});
