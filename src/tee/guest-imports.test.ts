import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  ATTEST_RC,
  createTeeImports,
  evidenceFromJson,
  evidenceToJson,
  fillRatsSgxEvidence,
  RATS_SGX_EVIDENCE,
  sealBuffer,
  unsealBuffer,
} from "./guest-imports.js";
import type { GuestExports } from "./guest-imports.js";
import { SimTee } from "./sim.js";
import { removeTempDirs, teeFixture, tempDir } from "./test-fixtures.js";
import { wasm } from "../wasi/wasm-types.js";

after(removeTempDirs);

const QUOTE = teeFixture("sgx_quote");

function rcOf(f: () => unknown): number | string {
  try {
    f();
  } catch (e) {
    return (e as { rc?: number; code?: string }).rc ?? (e as { code: string }).code;
  }
  return "no error";
}

void test("evidence JSON: lib-rats shape round-trips; malformed input has its return code", () => {
  const json = evidenceToJson({ type: "sgx_ecdsa", report: QUOTE });
  assert.deepEqual(Object.keys(JSON.parse(json) as object), ["type", "report_base64", "report_len"]);
  assert.deepEqual(evidenceFromJson(json).report, QUOTE);
  assert.equal(
    rcOf(() => evidenceFromJson("{")),
    ATTEST_RC.INVALID,
  );
  assert.equal(
    rcOf(() => evidenceFromJson("[]")),
    ATTEST_RC.INVALID,
  );
  assert.equal(
    rcOf(() => evidenceFromJson('{"type":"tpm","report_base64":"","report_len":0}')),
    ATTEST_RC.UNSUPPORTED,
  );
  assert.equal(
    rcOf(() => evidenceFromJson('{"type":"sgx_ecdsa","report_base64":"AAAA","report_len":4}')),
    ATTEST_RC.INVALID,
  );
  assert.equal(
    rcOf(() => evidenceFromJson('{"type":"sgx_ecdsa","report_base64":"A$AA","report_len":3}')),
    ATTEST_RC.INVALID,
  );
  assert.equal(
    rcOf(() => evidenceFromJson('{"type":"sgx_ecdsa","report_len":3}')),
    ATTEST_RC.INVALID,
  );
});

void test("rats_sgx_evidence_t from the real SGX quote", () => {
  const out = fillRatsSgxEvidence(QUOTE);
  const L = RATS_SGX_EVIDENCE;
  const dv = new DataView(out.buffer);
  assert.equal(out.length, L.size);
  assert.equal(dv.getUint32(L.quoteSize, true), QUOTE.length);
  assert.deepEqual(out.subarray(0, QUOTE.length), QUOTE);
  assert.equal(Buffer.from(out.subarray(L.userData, L.userData + 13)).toString(), "Hello, world!");
  assert.equal(
    Buffer.from(out.subarray(L.mrEnclave, L.mrEnclave + 32)).toString("hex"),
    "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
  );
  assert.equal(
    Buffer.from(out.subarray(L.mrSigner, L.mrSigner + 32)).toString("hex"),
    "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6",
  );
  assert.equal(dv.getBigUint64(L.attFlags, true), 0x05n);
  assert.equal(dv.getBigUint64(L.attXfrm, true), 0xe7n);
  assert.equal(
    rcOf(() => fillRatsSgxEvidence(teeFixture("tdx_quote"))),
    ATTEST_RC.INVALID,
  );
  assert.equal(
    rcOf(() => fillRatsSgxEvidence(new Uint8Array(9000))),
    ATTEST_RC.SIZE,
  );
});

void test("sealed buffers: open with the same key and aad only; any change is tee.unseal", () => {
  const key = randomBytes(32);
  const sealed = sealBuffer(key, "program", Buffer.from("aad"), Buffer.from("secret"));
  assert.equal(sealed.length, 6 + 30);
  assert.equal(Buffer.from(unsealBuffer(key, Buffer.from("aad"), sealed)).toString(), "secret");
  assert.equal(
    rcOf(() => unsealBuffer(randomBytes(32), Buffer.from("aad"), sealed)),
    "tee.unseal",
  );
  assert.equal(
    rcOf(() => unsealBuffer(key, Buffer.from("aaD"), sealed)),
    "tee.unseal",
  );
  for (let i = 1; i < sealed.length; i++) {
    const c = Uint8Array.from(sealed);
    c[i]! ^= 0x80;
    assert.notEqual(
      rcOf(() => unsealBuffer(key, Buffer.from("aad"), c)),
      "no error",
      `byte ${i}`,
    );
  }
  assert.equal(
    rcOf(() => unsealBuffer(key, Buffer.from("aad"), sealed.subarray(0, 29))),
    "tee.seal_format",
  );
});

void test("imports: bad pointers are FAULT, a guest without malloc is NO_MEM, never a host exception", () => {
  const memory = new (
    wasm as unknown as { Memory: new (d: { initial: number }) => GuestExports["memory"] }
  ).Memory({ initial: 1 });
  const tee = new SimTee({ dir: tempDir("sim"), runtimeDist: tempDir("dist") });
  const imports = createTeeImports(tee, () => ({ memory }), new Uint8Array(32));
  const call = (name: string, ...a: number[]): number => imports[name]!(...a) as number;
  assert.equal(call("librats_collect", 65536, 0, 0), ATTEST_RC.FAULT);
  assert.equal(call("librats_collect", 0, 65530, 16), ATTEST_RC.FAULT);
  assert.equal(call("librats_collect", 0, 0, 0), ATTEST_RC.NO_MEM);
  assert.equal(call("librats_verify", 0, 200000, 0, 32), ATTEST_RC.INVALID);
  assert.equal(call("librats_verify", 65000, 1000, 0, 32), ATTEST_RC.FAULT);
  assert.equal(call("twine_seal", 2, 0, 0, 0, 0, 0, 0, 0), ATTEST_RC.INVALID);
  assert.equal(call("twine_seal", 0, 0, 0, 0, 4, 100, 64, 65535), ATTEST_RC.FAULT);
  // Seal 4 bytes at 0 into 100..134, its length at 200; unseal back into 300.
  assert.equal(call("twine_seal", 0, 0, 0, 0, 4, 100, 64, 200), ATTEST_RC.OK);
  const u8 = new Uint8Array(memory.buffer);
  const len = new DataView(memory.buffer).getUint32(200, true);
  assert.equal(len, 34);
  assert.equal(call("twine_unseal", 1, 0, 0, 100, len, 300, 64, 200), ATTEST_RC.AUTH);
  assert.equal(call("twine_unseal", 0, 0, 0, 100, len, 300, 2, 200), ATTEST_RC.SIZE);
  assert.equal(call("twine_unseal", 0, 0, 0, 100, len, 300, 64, 200), ATTEST_RC.OK);
  assert.deepEqual(u8.subarray(300, 304), u8.subarray(0, 4));
  assert.throws(() => createTeeImports(tee, () => ({ memory }), new Uint8Array(31)), { code: "tee.usage" });
});
