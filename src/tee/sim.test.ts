import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseQuote } from "../attest/abi-quote.js";
import { verifyEvidence } from "../attest/index.js";
import { isSimEvidence } from "../attest/sim-evidence.js";
import { defaultSimDir, measureRuntimeFiles, SimTee } from "./sim.js";
import { tempDir, removeTempDirs } from "./test-fixtures.js";

after(removeTempDirs);

function fakeDist(files: Record<string, string>): string {
  const d = tempDir("dist");
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(d, rel)), { recursive: true });
    fs.writeFileSync(path.join(d, rel), text);
  }
  return d;
}

const DIST = fakeDist({ "src/a.js": "a", "src/b/c.js": "c", "README.md": "not measured" });
const NOW = new Date();

function failedCodes(v: { findings: { ok: boolean; code: string }[] }): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => f.code);
}

void test("sim: default dir honours TWINE_SIM_DIR, then XDG_CONFIG_HOME, then ~/.config", () => {
  assert.equal(defaultSimDir({ TWINE_SIM_DIR: "/x/sim" }), "/x/sim");
  assert.equal(defaultSimDir({ XDG_CONFIG_HOME: "/cfg" }), "/cfg/twine/sim");
  assert.match(defaultSimDir({}), /\.config\/twine\/sim$/);
});

void test("sim: measurement hashes every dist .js file with its path, deterministically", () => {
  const m = measureRuntimeFiles(DIST);
  assert.deepEqual(measureRuntimeFiles(fakeDist({ "src/b/c.js": "c", "src/a.js": "a", "x.txt": "y" })), m);
  assert.notDeepEqual(measureRuntimeFiles(fakeDist({ "src/a.js": "a", "src/b/c.js": "C" })), m);
  assert.notDeepEqual(measureRuntimeFiles(fakeDist({ "src/a.js": "a", "src/b/d.js": "c" })), m);
  assert.notDeepEqual(measureRuntimeFiles(fakeDist({ "src/a.js": "a" })), m);
  assert.equal(new SimTee({ dir: tempDir("sim"), runtimeDist: DIST }).measurement().length, 32);
});

void test("sim: evidence is a marked SGX v3 quote that verifies end to end only with dangerousAllowSim", () => {
  const tee = new SimTee({ dir: tempDir("sim"), runtimeDist: DIST });
  const rd = new Uint8Array(64).fill(7);
  const ev = tee.getEvidence(rd);
  assert.equal(ev.type, "sgx_ecdsa");
  assert.equal(ev.sim, true);
  assert.ok(isSimEvidence(ev.report));
  const q = parseQuote(ev.report);
  assert.equal(q.body.type, "sgx");
  if (q.body.type !== "sgx") return;
  assert.deepEqual(q.body.report.reportData, rd);
  assert.deepEqual(q.body.report.mrEnclave, measureRuntimeFiles(DIST));
  assert.deepEqual(q.body.report.mrSigner, tee.mrSigner());

  const base = { collateral: tee.collateral(NOW), now: NOW, roots: { intelSgxRootCa: tee.rootDer } };
  const policy = {
    reportData: Buffer.from(rd).toString("hex"),
    mrEnclave: Buffer.from(tee.measurement()).toString("hex"),
  };
  const ok = verifyEvidence(ev.report, { ...base, policy, dangerousAllowSim: true });
  assert.deepEqual(failedCodes(ok), []);
  assert.equal(ok.ok, true);
  assert.equal(ok.fields.sim, true);

  const refused = verifyEvidence(ev.report, { ...base, policy });
  assert.equal(refused.ok, false);
  assert.deepEqual(failedCodes(refused), ["attest.sim", "attest.custom_root"]);

  // Against Intel's root (no sim root passed) the chain itself fails, whatever the option.
  const intel = verifyEvidence(ev.report, {
    collateral: tee.collateral(NOW),
    now: NOW,
    dangerousAllowSim: true,
  });
  assert.equal(intel.ok, false);
  // Allowing custom roots does not let sim evidence through: only dangerousAllowSim does.
  const customOnly = verifyEvidence(ev.report, {
    ...base,
    policy: { ...policy, dangerousAllowCustomRoots: true },
  });
  assert.deepEqual(failedCodes(customOnly), ["attest.sim"]);

  const wrongRd = verifyEvidence(ev.report, {
    ...base,
    policy: { reportData: "00" },
    dangerousAllowSim: true,
  });
  assert.deepEqual(failedCodes(wrongRd), ["attest.report_data_mismatch"]);
});

void test("sim: the state persists: a second instance signs with the same root and seals the same keys", () => {
  const dir = tempDir("sim");
  const a = new SimTee({ dir, runtimeDist: DIST });
  const b = new SimTee({ dir, runtimeDist: DIST });
  assert.deepEqual(a.rootDer, b.rootDer);
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, "sim-root.der"))), a.rootDer);
  const h = new Uint8Array(32).fill(3);
  assert.deepEqual(a.getSealingKey("program", h), b.getSealingKey("program", h));
  const ev = b.getEvidence(new Uint8Array(64));
  assert.ok(
    verifyEvidence(ev.report, {
      collateral: a.collateral(NOW),
      now: NOW,
      roots: { intelSgxRootCa: a.rootDer },
      dangerousAllowSim: true,
    }).ok,
  );
  assert.equal(fs.statSync(path.join(dir, "sim-state.json")).mode & 0o077, 0, "keys are private to the user");
});

void test("sim: sealing keys depend on policy, program, runtime measurement (program) and sim secret", () => {
  const dir = tempDir("sim");
  const tee = new SimTee({ dir, runtimeDist: DIST });
  const h1 = new Uint8Array(32).fill(1);
  const h2 = new Uint8Array(32).fill(2);
  const p1 = tee.getSealingKey("program", h1);
  assert.notDeepEqual(tee.getSealingKey("program", h2), p1);
  assert.notDeepEqual(tee.getSealingKey("signer", h1), p1);
  assert.deepEqual(tee.getSealingKey("signer", h1), tee.getSealingKey("signer", h2));
  const updated = new SimTee({ dir, runtimeDist: fakeDist({ "src/a.js": "a2" }) });
  assert.notDeepEqual(
    updated.getSealingKey("program", h1),
    p1,
    "another runtime build is another program identity",
  );
  assert.deepEqual(
    updated.getSealingKey("signer", h1),
    tee.getSealingKey("signer", h1),
    "same signer survives updates",
  );
  const other = new SimTee({ dir: tempDir("sim"), runtimeDist: DIST });
  assert.notDeepEqual(other.getSealingKey("signer", h1), tee.getSealingKey("signer", h1));
  assert.notDeepEqual(other.getSealingKey("program", h1), p1);
});

void test("sim: a corrupt state file is refused", () => {
  const dir = tempDir("sim");
  fs.writeFileSync(path.join(dir, "sim-state.json"), "{}");
  assert.throws(() => new SimTee({ dir, runtimeDist: DIST }), { code: "tee.sim_state" });
});
