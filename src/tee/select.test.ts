import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  createTee,
  defaultVerifier,
  detectTee,
  parseSealPolicy,
  parseTeeChoice,
  pfsVolumeKey,
} from "./select.js";
import { mimicGramine, removeTempDirs, tempDir } from "./test-fixtures.js";
import { SimTee } from "./sim.js";

after(removeTempDirs);

void test("auto-detection: Gramine, then configfs-tsm, then sim; explicit choices are honoured", () => {
  const none = tempDir("none");
  const tsm = tempDir("tsm");
  fs.mkdirSync(path.join(tsm, "report"));
  const gramine = mimicGramine();
  assert.equal(detectTee({ gramineRoot: gramine, tsmRoot: tsm }), "gramine");
  assert.equal(detectTee({ gramineRoot: none, tsmRoot: tsm }), "tsm");
  assert.equal(detectTee({ gramineRoot: none, tsmRoot: none }), "sim");
  const simDir = tempDir("sim");
  assert.equal(createTee("auto", { gramineRoot: gramine, tsmRoot: tsm }).kind, "gramine");
  assert.equal(createTee("auto", { gramineRoot: none, tsmRoot: none, simDir }).kind, "sim");
  assert.equal(createTee("tsm", { tsmRoot: tsm }).kind, "tsm");
  assert.throws(() => createTee("gramine", { gramineRoot: none }), { code: "tee.no_device" });
  assert.throws(() => createTee("tsm", { tsmRoot: none }), { code: "tee.no_device" });
});

void test("flag parsing", () => {
  assert.equal(parseTeeChoice("auto"), "auto");
  assert.throws(() => parseTeeChoice("sgx"), { code: "cli.usage" });
  assert.equal(parseSealPolicy("signer"), "signer");
  assert.throws(() => parseSealPolicy("mrenclave"), { code: "cli.usage" });
});

void test("pfs volume key: from the sealing key, but never equal to it; per policy and program", () => {
  const tee = new SimTee({ dir: tempDir("sim"), runtimeDist: tempDir("dist") });
  const h = new Uint8Array(32).fill(1);
  const k = pfsVolumeKey(tee, "program", h);
  assert.equal(k.length, 32);
  assert.deepEqual(pfsVolumeKey(tee, "program", h), k);
  assert.notDeepEqual(k, tee.getSealingKey("program", h));
  assert.notDeepEqual(pfsVolumeKey(tee, "signer", h), k);
  assert.notDeepEqual(pfsVolumeKey(tee, "program", new Uint8Array(32)), k);
});

void test("default verifier: this sim's evidence only; none for real TEEs", () => {
  const tee = new SimTee({ dir: tempDir("sim"), runtimeDist: tempDir("dist") });
  const verify = defaultVerifier(tee)!;
  const ev = tee.getEvidence(new Uint8Array(64));
  assert.equal(verify(ev), true);
  const other = new SimTee({ dir: tempDir("sim"), runtimeDist: tempDir("dist") });
  assert.equal(verify(other.getEvidence(new Uint8Array(64))), false);
  const flipped = Uint8Array.from(ev.report);
  flipped[100]! ^= 1;
  assert.equal(verify({ type: "sgx_ecdsa", report: flipped }), false);
  assert.equal(defaultVerifier(createTee("gramine", { gramineRoot: mimicGramine() })), undefined);
});
