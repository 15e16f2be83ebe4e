// The attestation and sealing guests (test/guests/attest_*.c) run with the WASI host and the TEE
// imports, in-process: evidence the guest collects verifies on the host only with dangerousAllowSim
// and carries SHA-256(SHA-256(module) || buffer); sealed data opens only under the same identity.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyEvidence } from "../src/attest/index.js";
import { createTeeImports, evidenceFromJson, type GuestExports } from "../src/tee/guest-imports.js";
import { defaultVerifier } from "../src/tee/select.js";
import { SimTee } from "../src/tee/sim.js";
import type { Tee } from "../src/tee/tee.js";
import { Wasi } from "../src/wasi/wasi.js";
import { wasm } from "../src/wasi/wasm-types.js";
import { guestPath } from "./twine-cli.js";

const scratch = mkdtempSync(join(tmpdir(), "twine-tee-guest-"));
const SIM_DIR = join(scratch, "sim");
// Measuring one folder of the runtime keeps the test fast; what is measured does not matter here.
const TEE_DIST = new URL("../src/tee/", import.meta.url).pathname;
const tee = new SimTee({ dir: SIM_DIR, runtimeDist: TEE_DIST });

interface Instantiate {
  instantiate(m: object, i: object): Promise<{ exports: Record<string, unknown> }>;
  Module: new (b: Uint8Array) => object;
}

/** Runs a guest with `args`; returns its exit code and stdout. */
async function runGuest(name: string, args: string[], t: Tee = tee): Promise<{ code: number; out: string }> {
  const bytes = new Uint8Array(readFileSync(guestPath(name)));
  const moduleHash = new Uint8Array(createHash("sha256").update(bytes).digest());
  const outFile = join(scratch, `${name}-${Math.random().toString(16).slice(2)}.out`);
  const fd = openSync(outFile, "w");
  const wasi = new Wasi({ args: [`${name}.wasm`, ...args], stdout: fd });
  // The imports read the instance's exports lazily: they exist only after instantiation.
  const ref: { exports?: GuestExports } = {};
  const verifier = defaultVerifier(t);
  const env = createTeeImports(t, () => ref.exports!, moduleHash, verifier === undefined ? {} : { verifier });
  const api = wasm as unknown as Instantiate;
  const instance = await api.instantiate(new api.Module(bytes), { ...wasi.getImportObject(), env });
  ref.exports = instance.exports as unknown as GuestExports;
  let code: number;
  try {
    code = wasi.start(instance);
  } finally {
    wasi.close();
    closeSync(fd);
  }
  return { code, out: readFileSync(outFile, "utf8") };
}

function field(out: string, name: string): string {
  const m = new RegExp(`^${name} (.*)$`, "m").exec(out);
  assert.ok(m !== null, `no "${name}" in:\n${out}`);
  return m[1]!;
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

void test("attest_collect: guest evidence verifies only with dangerousAllowSim and binds the module hash", async () => {
  const { code, out } = await runGuest("attest_collect", ["nonce-42"]);
  assert.equal(code, 0, out);
  assert.equal(field(out, "collect"), "0");
  assert.equal(field(out, "parse"), "0");
  assert.equal(field(out, "verify"), "0", "the guest's own librats_verify accepts it (same sim)");
  assert.equal(field(out, "verify_other_hash"), "-5");
  assert.equal(field(out, "parse_corrupt"), "-1");
  assert.equal(field(out, "bad_pointer"), "-2");

  const json = field(out, "json");
  assert.deepEqual(Object.keys(JSON.parse(json) as object), ["type", "report_base64", "report_len"]);
  const ev = evidenceFromJson(json);
  assert.equal(ev.type, "sgx_ecdsa");
  assert.equal(Number(field(out, "quote_size")), ev.report.length);

  const moduleHash = createHash("sha256")
    .update(readFileSync(guestPath("attest_collect")))
    .digest();
  // The lib-rats macro passes strlen(buffer) + 1: the NUL is hashed too.
  const expected = Buffer.concat([
    createHash("sha256").update(moduleHash).update("nonce-42\0").digest(),
    Buffer.alloc(32),
  ]);
  assert.equal(field(out, "user_data"), expected.toString("hex"));
  assert.equal(field(out, "mr_enclave"), Buffer.from(tee.measurement()).toString("hex"));
  assert.equal(field(out, "mr_signer"), Buffer.from(tee.mrSigner()).toString("hex"));

  const now = new Date();
  const opts = {
    collateral: tee.collateral(now),
    now,
    roots: { intelSgxRootCa: tee.rootDer },
    policy: { reportData: expected.toString("hex"), mrEnclave: field(out, "mr_enclave") },
  };
  const accepted = verifyEvidence(ev.report, { ...opts, dangerousAllowSim: true });
  assert.deepEqual(
    accepted.findings.filter((f) => !f.ok),
    [],
  );
  assert.equal(accepted.ok, true);
  const refused = verifyEvidence(ev.report, opts);
  assert.equal(refused.ok, false);
  assert.ok(refused.findings.some((f) => !f.ok && f.code === "attest.sim"));
  const otherModule = { ...opts, policy: { reportData: createHash("sha256").update("x").digest("hex") } };
  assert.equal(verifyEvidence(ev.report, { ...otherModule, dangerousAllowSim: true }).ok, false);
});

void test("attest_collect: without a verifier (real TEE, no collateral) librats_verify is UNSUPPORTED", async () => {
  const noVerifier: Tee = {
    kind: "gramine",
    getEvidence: (rd) => tee.getEvidence(rd),
    getSealingKey: (p, h) => tee.getSealingKey(p, h),
    measurement: () => tee.measurement(),
  };
  const { code, out } = await runGuest("attest_collect", ["n"], noVerifier);
  assert.equal(code, 0, out);
  assert.equal(field(out, "verify"), "-6");
});

async function seal(name: string, policy: string, text: string, t: Tee = tee): Promise<string> {
  const { code, out } = await runGuest(name, ["seal", policy, text], t);
  assert.equal(code, 0, out);
  assert.equal(field(out, "seal"), "0");
  assert.equal(field(out, "small_buffer"), `-8 needs ${text.length + 30}`);
  return field(out, "sealed");
}

async function unseal(name: string, policy: string, hex: string, t: Tee = tee): Promise<string> {
  const { code, out } = await runGuest(name, ["unseal", policy, hex], t);
  assert.equal(code, 0, out);
  if (field(out, "unseal") === "0") {
    assert.equal(field(out, "unseal_other_aad"), "-7");
    return field(out, "plaintext");
  }
  return `rc ${field(out, "unseal")}`;
}

void test("twine_seal: opens under the same identity, fails under another program, signer, key or policy", async () => {
  const program = await seal("attest_seal", "program", "secret-p");
  const signer = await seal("attest_seal", "signer", "secret-s");
  assert.equal(await unseal("attest_seal", "program", program), "secret-p");
  assert.equal(await unseal("attest_seal", "signer", signer), "secret-s");
  // Another program: program-sealed data stays closed, signer-sealed data opens.
  assert.equal(await unseal("attest_seal_other", "program", program), "rc -7");
  assert.equal(await unseal("attest_seal_other", "signer", signer), "secret-s");
  // The policy is part of the sealed header and of the key.
  assert.equal(await unseal("attest_seal", "signer", program), "rc -7");
  // Another signer (another sim installation = another platform secret and root).
  const otherSigner = new SimTee({
    dir: join(scratch, "sim-other"),
    runtimeDist: TEE_DIST,
  });
  assert.equal(await unseal("attest_seal", "signer", signer, otherSigner), "rc -7");
  assert.equal(await unseal("attest_seal", "program", program, otherSigner), "rc -7");
  // Another runtime build (measurement) under the same sim: program key changes, signer key does not.
  const rebuilt = new SimTee({
    dir: SIM_DIR,
    runtimeDist: new URL("../src/attest/", import.meta.url).pathname,
  });
  assert.equal(await unseal("attest_seal", "program", program, rebuilt), "rc -7");
  assert.equal(await unseal("attest_seal", "signer", signer, rebuilt), "secret-s");
  // A flipped ciphertext bit.
  const flipped = program.slice(0, 40) + (program[40] === "0" ? "1" : "0") + program.slice(41);
  assert.equal(await unseal("attest_seal", "program", flipped), "rc -7");
});
