import { test } from "node:test";
import assert from "node:assert/strict";
import { offsetOf } from "./bytes.js";
import { SNP_REPORT } from "./abi-snp.js";
import type { Verdict } from "./findings.js";
import { defaultRoots, parsePolicy, verifyEvidence } from "./index.js";
import type { Policy } from "./policy.js";
import { SNP_VECTORS, snpVector } from "./test-vectors.js";
import type { SnpVector } from "./test-vectors.js";

function failed(v: Verdict): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`);
}
function run(x: SnpVector, policy: Policy = {}, now = x.now): Verdict {
  return verifyEvidence(x.report, { collateral: x.collateral, now, policy });
}
function flipAt(x: SnpVector, field: string, delta = 0): SnpVector {
  const r = Uint8Array.from(x.report);
  r[offsetOf(SNP_REPORT, field) + delta]! ^= 0x01;
  return { ...x, report: r };
}

void test("real SNP reports verify at NOW with their stated fields", () => {
  const genoa = run(snpVector("genoaAzure"), {
    measurement:
      "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
    reportData: "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f",
    vmpl: 0,
    minReportedTcb: { bootloader: 10, tee: 0, snp: 23, microcode: 84 },
  });
  assert.deepEqual(failed(genoa), []);
  assert.equal(genoa.kind, "snp");
  assert.equal(genoa.fields.product, "Genoa");
  assert.equal(genoa.fields.firmware, "1.55 build 40");

  const vlek = run(snpVector("vlekAws"), { vmpl: 1 });
  assert.deepEqual(failed(vlek), []);
  assert.equal(vlek.fields.signingKey, "VLEK");
  assert.equal(vlek.fields.reportedTcb, "bl 4 tee 0 snp 24 ucode 217");

  const idblock = run(snpVector("milanIdBlock"), {
    idKeyDigest:
      "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3",
    minGuestSvn: 4,
  });
  assert.deepEqual(failed(idblock), []);
  // The VCEK matches the REPORTED TCB (3,0,8,115), not the CURRENT one (3,0,8,206).
  assert.equal(idblock.fields.currentTcb, "bl 3 tee 0 snp 8 ucode 206");
  assert.equal(idblock.fields.reportedTcb, "bl 3 tee 0 snp 8 ucode 115");
});

void test("the debuggable Milan guest verifies but the default policy refuses it", () => {
  const x = snpVector("milan");
  const v = run(x);
  assert.deepEqual(failed(v), ["20.debug attest.debug"]);
  assert.equal(v.fields.debug, true);
  assert.equal(v.fields.product, "Milan");
  assert.equal(v.fields.reportedTcb, "bl 2 tee 0 snp 5 ucode 68");
  assert.deepEqual(failed(run(x, { dangerousAllowDebug: true })), []);
});

void test("a byte flipped in the signed report, the signature or a certificate is caught", () => {
  for (const name of Object.keys(SNP_VECTORS) as (keyof typeof SNP_VECTORS)[]) {
    const x = snpVector(name);
    for (const field of [
      "version",
      "policy",
      "report_data",
      "measurement",
      "host_data",
      "chip_id",
      "launch_tcb",
      "signature_r",
      "signature_s",
    ]) {
      const v = run(flipAt(x, field, field === "version" ? 1 : 3), { dangerousAllowDebug: true });
      assert.equal(v.ok, false, `${name} ${field}`);
      const codes = failed(v).join(", ");
      assert.ok(/attest\.(sig_invalid|version|format)/.test(codes), `${name} ${field}: ${codes}`);
    }
    // Reported TCB is signed and bound to the VCEK's SPLs: both checks fail.
    const t = run(flipAt(x, "reported_tcb"), { dangerousAllowDebug: true });
    assert.ok(
      failed(t).includes("4.signature attest.sig_invalid") &&
        failed(t).includes("5.binding attest.snp_tcb_mismatch"),
      failed(t).join(", "),
    );
    // The leaf certificate's last byte is in its RSA-PSS signature.
    const certs = x.collateral.certs.map((c, i) =>
      i === 0 ? Uint8Array.from(c, (b, j) => (j === c.length - 1 ? b ^ 1 : b)) : c,
    );
    const c = verifyEvidence(x.report, {
      collateral: { certs },
      now: x.now,
      policy: { dangerousAllowDebug: true },
    });
    assert.ok(failed(c).includes("3.chain attest.cert_chain"), failed(c).join(", "));
  }
});

void test("the wrong VCEK, the wrong ARK, and a missing ASK are refused", () => {
  const milan = snpVector("milan");
  const other = snpVector("milanIdBlock");
  const wrongVcek = verifyEvidence(milan.report, {
    collateral: other.collateral,
    now: milan.now,
    policy: { dangerousAllowDebug: true },
  });
  assert.ok(failed(wrongVcek).includes("4.signature attest.sig_invalid"));
  assert.ok(failed(wrongVcek).includes("5.binding attest.snp_chip_id_mismatch"));

  // Pin the Genoa ARK under the Milan name: the real ASK-Milan does not chain to it.
  const arks = defaultRoots().amdArk;
  const swapped = verifyEvidence(milan.report, {
    collateral: milan.collateral,
    now: milan.now,
    roots: { amdArk: { Milan: arks.Genoa!, Genoa: arks.Genoa! } },
    policy: { dangerousAllowDebug: true, dangerousAllowCustomRoots: true },
  });
  assert.ok(
    failed(swapped).some((f) => f.endsWith("attest.root_untrusted")),
    failed(swapped).join(", "),
  );

  const noAsk = verifyEvidence(milan.report, {
    collateral: { certs: milan.collateral.certs.slice(0, 1) },
    now: milan.now,
  });
  assert.ok(failed(noAsk).includes("3.chain attest.cert_chain"));
});

void test("an expired VLEK is refused (its window is one year)", () => {
  const x = snpVector("vlekAws");
  const v = run(x, {}, new Date("2026-01-01T00:00:00Z"));
  assert.deepEqual(failed(v), ["3.chain attest.cert_expired"]);
  assert.deepEqual(failed(run(x, {}, new Date("2024-12-01T00:00:00Z"))), ["3.chain attest.cert_expired"]);
});

void test("SNP policy: measurement, VMPL, TCB floor and SGX-only keys", () => {
  const x = snpVector("vlekAws");
  const v = run(x, {
    measurement: "00".repeat(48),
    vmpl: 0,
    minReportedTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 218 },
    hostData: "11".repeat(32),
    mrEnclave: "00".repeat(32),
  });
  assert.deepEqual(failed(v), [
    "20.policy attest.policy_mismatch",
    "20.measurement attest.measurement_mismatch",
    "20.host_data attest.measurement_mismatch",
    "20.vmpl attest.policy_mismatch",
    "20.reported_tcb attest.svn_too_low",
  ]);
});

void test("SNP policy: minimum firmware, running and committed", () => {
  // The real Genoa report runs and has committed firmware 1.55.40.
  const x = snpVector("genoaAzure");
  const step = (v: Verdict): string | undefined => v.findings.find((f) => f.step === "20.firmware")?.detail;
  for (const ok of ["1.55", "1.55.40", "1.54.255", "0.99"]) {
    const v = run(x, { minFirmware: ok });
    assert.deepEqual(failed(v), [], ok);
    assert.match(step(v) ?? "", /^firmware 1\.55\.40 running, 1\.55\.40 committed, both ≥ /, ok);
  }
  for (const low of ["1.55.41", "1.56", "2.0"]) {
    const v = run(x, { minFirmware: low });
    assert.deepEqual(failed(v), ["20.firmware attest.svn_too_low"], low);
  }
  // The committed version counts even when the running one is newer: lower only COMMITTED_BUILD (signed
  // region, so the signature fails too; the policy step still judges the field).
  const r = Buffer.from(x.report);
  r[offsetOf(SNP_REPORT, "committed_version")] = 30; // COMMITTED_BUILD
  const v = verifyEvidence(r, { collateral: x.collateral, now: x.now, policy: { minFirmware: "1.55.35" } });
  assert.ok(failed(v).includes("20.firmware attest.svn_too_low"), failed(v).join());
  assert.match(step(v) ?? "", /1\.55\.40 running, 1\.55\.30 committed: below 1\.55\.35/);
  // Malformed floors are policy format errors, not weaker policies.
  for (const bad of ["1", "1.2.3.4", "1.256", "a.b", "-1.0", " 1.55"])
    assert.throws(() => parsePolicy({ minFirmware: bad }), { code: "attest.policy_format" }, bad);
  assert.throws(() => parsePolicy({ minFirmware: 155 }), { code: "attest.policy_format" });
  assert.deepEqual(parsePolicy({ minFirmware: "1.55.40" }), { minFirmware: "1.55.40" });
  // Handed in as an object (no parsePolicy), a malformed floor fails closed.
  assert.deepEqual(failed(run(x, { minFirmware: "1.x" })), ["20.firmware attest.policy_format"]);
});
