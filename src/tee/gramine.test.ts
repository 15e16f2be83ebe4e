import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { GramineTee } from "./gramine.js";
import { mimicGramine, reportDataOf, teeFixture, tempDir, removeTempDirs } from "./test-fixtures.js";

after(removeTempDirs);

const QUOTE = teeFixture("sgx_quote");
const HELLO = reportDataOf(QUOTE, 48 + 320);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "no error";
}

void test("gramine: writes user_report_data and returns the real quote as sgx_ecdsa evidence", () => {
  const root = mimicGramine();
  const ev = new GramineTee({ root }).getEvidence(HELLO);
  assert.equal(ev.type, "sgx_ecdsa");
  assert.equal(ev.sim, false);
  assert.deepEqual(ev.report, QUOTE);
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(root, "user_report_data"))), HELLO);
});

void test("gramine: measurement is MRENCLAVE from the local report", () => {
  const m = new GramineTee({ root: mimicGramine() }).measurement();
  assert.equal(
    Buffer.from(m).toString("hex"),
    "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
  );
});

void test("gramine: a quote over other report data is refused", () => {
  const tee = new GramineTee({ root: mimicGramine() });
  assert.equal(
    codeOf(() => tee.getEvidence(new Uint8Array(64))),
    "tee.report_data_mismatch",
  );
});

void test("gramine: report data must be exactly 64 bytes", () => {
  const tee = new GramineTee({ root: mimicGramine() });
  assert.equal(
    codeOf(() => tee.getEvidence(new Uint8Array(32))),
    "tee.report_data",
  );
});

void test("gramine: missing device, wrong attestation type, short and empty quotes", () => {
  assert.equal(
    codeOf(() => new GramineTee({ root: path.join(tempDir("none"), "attestation") })),
    "tee.no_device",
  );
  assert.equal(
    codeOf(() => new GramineTee({ root: mimicGramine({ type: "epid" }) })),
    "tee.attestation_type",
  );
  assert.equal(
    codeOf(() => new GramineTee({ root: mimicGramine({ type: "none" }) })),
    "tee.attestation_type",
  );
  for (const quote of [QUOTE.subarray(0, 431), new Uint8Array(0)]) {
    const tee = new GramineTee({ root: mimicGramine({ quote }) });
    assert.equal(
      codeOf(() => tee.getEvidence(HELLO)),
      "tee.short_quote",
    );
  }
  const root = mimicGramine();
  fs.rmSync(path.join(root, "quote"));
  assert.equal(
    codeOf(() => new GramineTee({ root }).getEvidence(HELLO)),
    "tee.no_device",
  );
});

void test("gramine: sealing keys come from keys/_sgx_mrenclave or _sgx_mrsigner, per policy and program", () => {
  const root = mimicGramine();
  const tee = new GramineTee({ root });
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const pa = tee.getSealingKey("program", a);
  assert.equal(pa.length, 32);
  assert.deepEqual(tee.getSealingKey("program", a), pa);
  assert.notDeepEqual(tee.getSealingKey("program", b), pa);
  assert.deepEqual(tee.getSealingKey("signer", a), tee.getSealingKey("signer", b));
  assert.notDeepEqual(tee.getSealingKey("signer", a), pa);
  fs.writeFileSync(path.join(root, "keys", "_sgx_mrenclave"), Buffer.alloc(16, 0xe2));
  assert.notDeepEqual(tee.getSealingKey("program", a), pa, "another enclave key gives another sealing key");
  fs.writeFileSync(path.join(root, "keys", "_sgx_mrsigner"), Buffer.alloc(8));
  assert.equal(
    codeOf(() => tee.getSealingKey("signer", a)),
    "tee.key",
  );
  const noKeys = new GramineTee({ root: mimicGramine({ keys: false }) });
  assert.equal(
    codeOf(() => noKeys.getSealingKey("program", a)),
    "tee.no_device",
  );
});
