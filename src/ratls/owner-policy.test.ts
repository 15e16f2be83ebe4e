import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { isTwineError } from "../errors.js";
import { serializeDcapCollateral } from "../attest/collateral.js";
import { SimTee } from "../tee/sim.js";
import { createRatlsIdentity } from "./cert.js";
import { loadOwnerPolicy, parseOwnerPolicy, peerCheckOf } from "./owner-policy.js";
import { failedCodes, launchHashOf, removeTempDirs, simTee, tempDir } from "./test-support.js";
import { verifyRatlsCert } from "./verify.js";

after(removeTempDirs);

const LAUNCH = launchHashOf("owner policy launch");
const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/attest/", import.meta.url));
const OTHER = launchHashOf("owner policy other launch");
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isTwineError(e)) return e.code;
    throw e;
  }
  return "no error";
}

void test("owner policy: a sim policy loads the sim's collateral and root and judges certificates", () => {
  const tee = simTee();
  const p = parseOwnerPolicy(
    JSON.stringify({ launchHashes: [hex(OTHER), hex(LAUNCH)], dangerousAllowSim: true, simDir: tee.dir }),
    "/",
  );
  assert.equal(p.maxCertAgeSeconds, 600);
  assert.deepEqual(p.roots?.intelSgxRootCa, tee.rootDer);
  const check = peerCheckOf(p);
  const now = new Date();
  const good = createRatlsIdentity(tee, { launchHash: LAUNCH });
  const v = verifyRatlsCert(good.certDer, { ...check, now });
  assert.deepEqual(failedCodes(v), []);
  assert.equal(v.ok, true);

  const wrong = createRatlsIdentity(tee, { launchHash: launchHashOf("not in the policy") });
  assert.deepEqual(failedCodes(verifyRatlsCert(wrong.certDer, { ...check, now })), ["ratls.launch_hash"]);

  // Made 11 minutes ago: older than the default 600 s (the 60 s backdating is not counted).
  const old = createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(now.getTime() - 660_000) });
  assert.deepEqual(failedCodes(verifyRatlsCert(old.certDer, { ...check, now })), ["ratls.stale"]);
  const recent = createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(now.getTime() - 540_000) });
  assert.deepEqual(failedCodes(verifyRatlsCert(recent.certDer, { ...check, now })), []);
});

void test("owner policy: a strict policy (no dangerousAllowSim) refuses sim evidence and debug enclaves", () => {
  const tee = simTee();
  const dir = tempDir("strict");
  fs.writeFileSync(path.join(dir, "collateral.json"), serializeDcapCollateral(tee.collateral(new Date())));
  fs.writeFileSync(path.join(dir, "root.der"), tee.rootDer);
  const strict = {
    launchHashes: [hex(LAUNCH)],
    collateral: ["collateral.json"],
    sgxRoot: "root.der",
    evidence: { dangerousAllowCustomRoots: true },
  };
  fs.writeFileSync(path.join(dir, "policy.json"), JSON.stringify(strict));
  const p = loadOwnerPolicy(path.join(dir, "policy.json"));
  assert.equal(p.dangerousAllowSim, false);
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH });
  assert.ok(
    failedCodes(verifyRatlsCert(id.certDer, { ...peerCheckOf(p), now: new Date() })).includes("attest.sim"),
  );

  // Sim allowed, but a debug enclave is not unless the evidence policy says so.
  const debugTee = new SimTee({ dir: tee.dir, runtimeDist: tempDir("dist-debug"), debug: true });
  const dbg = createRatlsIdentity(debugTee, { launchHash: LAUNCH });
  const simPolicy = { launchHashes: [hex(LAUNCH)], dangerousAllowSim: true, simDir: tee.dir };
  const check = peerCheckOf(parseOwnerPolicy(JSON.stringify(simPolicy), "/"));
  assert.deepEqual(failedCodes(verifyRatlsCert(dbg.certDer, { ...check, now: new Date() })), [
    "attest.debug",
  ]);
  const lax = parseOwnerPolicy(
    JSON.stringify({ ...simPolicy, evidence: { dangerousAllowDebug: true } }),
    "/",
  );
  assert.deepEqual(failedCodes(verifyRatlsCert(dbg.certDer, { ...peerCheckOf(lax), now: new Date() })), []);
});

void test("owner policy: every malformed policy is refused with policy.invalid / policy.read", () => {
  const tee = simTee();
  const ok = { launchHashes: [hex(LAUNCH)], dangerousAllowSim: true, simDir: tee.dir };
  const bad = (o: unknown): string => code(() => parseOwnerPolicy(JSON.stringify(o), "/"));
  assert.equal(
    code(() => parseOwnerPolicy("{", "/")),
    "policy.invalid",
  );
  assert.equal(bad([]), "policy.invalid");
  assert.equal(bad({ ...ok, launchHash: hex(LAUNCH) }), "policy.invalid"); // unknown key (a typo)
  assert.equal(bad({ ...ok, launchHashes: [] }), "policy.invalid");
  assert.equal(bad({ ...ok, launchHashes: hex(LAUNCH) }), "policy.invalid");
  assert.equal(bad({ ...ok, launchHashes: [hex(LAUNCH).slice(2)] }), "policy.invalid");
  assert.equal(bad({ ...ok, launchHashes: [`${hex(LAUNCH).slice(2)}zz`] }), "policy.invalid");
  assert.equal(bad({ ...ok, evidence: { mrEnclave: "00" } }), "policy.invalid");
  assert.equal(bad({ ...ok, evidence: { nonsense: true } }), "policy.invalid");
  assert.equal(bad({ ...ok, maxCertAgeSeconds: 0 }), "policy.invalid");
  assert.equal(bad({ ...ok, maxCertAgeSeconds: "600" }), "policy.invalid");
  assert.equal(bad({ ...ok, dangerousAllowSim: "yes" }), "policy.invalid");
  assert.equal(bad({ launchHashes: [hex(LAUNCH)] }), "policy.invalid"); // no collateral, no sim
  assert.equal(bad({ launchHashes: [hex(LAUNCH)], simDir: tee.dir }), "policy.invalid");
  assert.equal(bad({ ...ok, collateral: [] }), "policy.invalid");
  const dir = tempDir("bad");
  fs.writeFileSync(path.join(dir, "root.der"), tee.rootDer);
  fs.writeFileSync(path.join(dir, "c.json"), "{ not collateral");
  const inDir = (o: unknown): string => code(() => parseOwnerPolicy(JSON.stringify(o), dir));
  // A custom root without the evidence policy allowing it.
  assert.equal(
    inDir({ launchHashes: [hex(LAUNCH)], collateral: ["c.json"], sgxRoot: "root.der" }),
    "policy.invalid",
  );
  assert.equal(inDir({ launchHashes: [hex(LAUNCH)], collateral: ["c.json"] }), "policy.invalid");
  assert.equal(inDir({ launchHashes: [hex(LAUNCH)], collateral: ["missing.json"] }), "policy.read");
  // snpCrl: only with SNP certificates, and only a readable file.
  fs.writeFileSync(path.join(dir, "good.json"), serializeDcapCollateral(tee.collateral(new Date())));
  fs.writeFileSync(path.join(dir, "amd.crl"), new Uint8Array([0x30, 0]));
  const snp = ["snp/vcek.der", "snp/ask_ark_milan.pem"].map((f) => path.join(FIXTURES, f));
  assert.equal(
    inDir({ launchHashes: [hex(LAUNCH)], snpCrl: "amd.crl", dangerousAllowSim: true }),
    "policy.invalid",
  );
  assert.equal(
    inDir({ launchHashes: [hex(LAUNCH)], collateral: ["good.json"], snpCrl: "amd.crl" }),
    "policy.invalid",
  );
  assert.equal(inDir({ launchHashes: [hex(LAUNCH)], collateral: snp, snpCrl: "missing.crl" }), "policy.read");
  assert.equal(inDir({ launchHashes: [hex(LAUNCH)], collateral: snp, snpCrl: "" }), "policy.invalid");
  const withCrl = parseOwnerPolicy(
    JSON.stringify({ launchHashes: [hex(LAUNCH)], collateral: snp, snpCrl: "amd.crl" }),
    dir,
  );
  assert.ok("certs" in withCrl.collateral && withCrl.collateral.crl !== undefined);
  assert.deepEqual(withCrl.collateral.crl, new Uint8Array([0x30, 0]));
  const without = parseOwnerPolicy(JSON.stringify({ launchHashes: [hex(LAUNCH)], collateral: snp }), dir);
  assert.ok("certs" in without.collateral && without.collateral.crl === undefined);
  assert.equal(
    code(() => loadOwnerPolicy(path.join(dir, "no-such-policy.json"))),
    "policy.read",
  );
});
