import { test } from "node:test";
import assert from "node:assert/strict";
import type { Verdict } from "./findings.js";
import { parsePolicy, verifyEvidence } from "./index.js";
import type { Policy, SnpCollateral } from "./index.js";
import { rsaKeyPair, SyntheticSnpPlatform } from "./synthetic-snp.js";
import { ECDSA_SHA256, SyntheticSgxPlatform, p256KeyPair } from "./synthetic.js";
import { NOW_SNP_CRL, SNP_VECTORS, kdsCrl, snpVector } from "./test-vectors.js";
import { parseCrl } from "./x509.js";
import { isTwineError } from "../errors.js";

const NOW = new Date("2026-06-01T00:00:00Z");
const DAY = 86_400_000;
const platform = new SyntheticSnpPlatform({ now: NOW });
const CUSTOM: Policy = { dangerousAllowCustomRoots: true };

function failed(v: Verdict): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`);
}
function passed(v: Verdict): string[] {
  return v.findings.filter((f) => f.ok).map((f) => f.step);
}
function run(collateral: SnpCollateral, policy: Policy = CUSTOM, now = NOW): Verdict {
  return verifyEvidence(platform.report(), { collateral, now, policy, roots: platform.roots() });
}
const withCrl = (crl: Uint8Array): Verdict => run(platform.collateral(crl));

void test("synthetic SNP evidence verifies; without a CRL revocation is reported as not checked", () => {
  const v = run(platform.collateral());
  assert.deepEqual(failed(v), []);
  assert.equal(v.fields.product, "Milan");
  assert.match(String(v.fields.amdCrl), /^not checked/);
  assert.ok(!passed(v).includes("6.crl"));
  // The same evidence under the vendor roots: its ARK is not AMD's.
  const vendor = verifyEvidence(platform.report(), { collateral: platform.collateral(), now: NOW });
  assert.ok(failed(vendor).includes("3.chain attest.root_untrusted"), failed(vendor).join(", "));
});

void test("a current CRL signed by the ARK and listing neither certificate passes (DER and PEM)", () => {
  const crl = platform.crl({ revokedSerials: [Uint8Array.of(1, 0, 9), Uint8Array.of(7)] });
  const v = withCrl(crl);
  assert.deepEqual(failed(v), []);
  assert.ok(passed(v).includes("6.crl") && passed(v).includes("7.revocation"));
  assert.match(String(v.fields.amdCrl), /^checked: 2 revoked/);
  const b64 = Buffer.from(crl).toString("base64").replace(/.{64}/g, "$&\n");
  const pem = new Uint8Array(Buffer.from(`-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`));
  assert.deepEqual(failed(withCrl(pem)), []);
  assert.deepEqual(failed(withCrl(new Uint8Array(Buffer.from("-----BEGIN X509 CRL-----\nAAAA\n")))), [
    "6.crl attest.crl_invalid",
    "7.revocation attest.not_evaluated",
  ]);
});

void test("a CRL listing the ASK or the VCEK refuses the evidence", () => {
  assert.deepEqual(failed(withCrl(platform.crl({ revokedSerials: [platform.askSerial] }))), [
    "7.revocation attest.cert_revoked",
  ]);
  assert.deepEqual(failed(withCrl(platform.crl({ revokedSerials: [platform.vcekSerial] }))), [
    "7.revocation attest.cert_revoked",
  ]);
  const both = withCrl(platform.crl({ revokedSerials: [platform.vcekSerial, platform.askSerial] }));
  assert.deepEqual(failed(both), ["7.revocation attest.cert_revoked", "7.revocation attest.cert_revoked"]);
});

void test("a CRL signed by another key, under another name or with other PSS parameters is refused", () => {
  const other = rsaKeyPair();
  assert.deepEqual(failed(withCrl(platform.crl({ signingKey: other.privateKey }))), [
    "6.crl attest.crl_invalid",
    "7.revocation attest.not_evaluated",
  ]);
  // Signed by the ARK's key but naming another issuer.
  assert.deepEqual(failed(withCrl(platform.crl({ issuerCn: "ARK-Genoa" }))), [
    "6.crl attest.crl_invalid",
    "7.revocation attest.not_evaluated",
  ]);
  // ECDSA (Intel's form), signed by an EC key: not AMD's algorithm.
  const ec = withCrl(platform.crl({ sigAlg: ECDSA_SHA256, signingKey: p256KeyPair().privateKey }));
  assert.deepEqual(failed(ec), ["6.crl attest.crl_invalid", "7.revocation attest.not_evaluated"]);
  // The salt length is read from the parameters: signed and declared with 32 bytes, it verifies.
  assert.deepEqual(failed(withCrl(platform.crl({ sigAlg: { kind: "rsa-pss-sha384", saltLength: 32 } }))), []);
});

void test("a CRL outside [thisUpdate, nextUpdate] is refused; its revocations still count", () => {
  const expired = platform.crl({
    thisUpdate: new Date(NOW.getTime() - 30 * DAY),
    nextUpdate: new Date(NOW.getTime() - DAY),
  });
  assert.deepEqual(failed(withCrl(expired)), ["6.crl attest.crl_expired"]);
  const future = platform.crl({ thisUpdate: new Date(NOW.getTime() + DAY) });
  assert.deepEqual(failed(withCrl(future)), ["6.crl attest.crl_expired"]);
  const expiredRevoking = platform.crl({
    thisUpdate: new Date(NOW.getTime() - 30 * DAY),
    nextUpdate: new Date(NOW.getTime() - DAY),
    revokedSerials: [platform.askSerial],
  });
  assert.deepEqual(failed(withCrl(expiredRevoking)), [
    "6.crl attest.crl_expired",
    "7.revocation attest.cert_revoked",
  ]);
});

void test("a byte flipped anywhere in the CRL is refused at 6.crl", () => {
  const crl = platform.crl({ revokedSerials: [Uint8Array.of(1, 0, 9)] });
  for (let i = 0; i < crl.length; i++) {
    const bad = Uint8Array.from(crl);
    bad[i]! ^= 0x01;
    const v = withCrl(bad);
    assert.equal(v.ok, false, `byte ${i}`);
    assert.ok(
      failed(v).some((f) => /^6\.crl attest\.(crl_invalid|crl_expired|too_large)$/.test(f)),
      `byte ${i}: ${failed(v).join(", ")}`,
    );
  }
});

void test("policy requireSnpCrl: refused without a CRL, accepted with a good one", () => {
  const policy: Policy = { ...CUSTOM, requireSnpCrl: true };
  assert.deepEqual(failed(run(platform.collateral(), policy)), ["20.snp_crl attest.crl_missing"]);
  const ok = run(platform.collateral(platform.crl()), policy);
  assert.deepEqual(failed(ok), []);
  assert.ok(passed(ok).includes("20.snp_crl"));
  // A required CRL that fails its checks still fails them.
  const revoked = run(platform.collateral(platform.crl({ revokedSerials: [platform.askSerial] })), policy);
  assert.deepEqual(failed(revoked), ["7.revocation attest.cert_revoked"]);

  assert.deepEqual(parsePolicy('{"requireSnpCrl":true}'), { requireSnpCrl: true });
  for (const bad of ['{"requireSnpCrl":1}', '{"requireSnpCrl":"yes"}']) {
    try {
      parsePolicy(bad);
      assert.fail(bad);
    } catch (e) {
      assert.ok(isTwineError(e, "attest.policy_format"), String(e));
    }
  }
  const sgx = new SyntheticSgxPlatform({ now: NOW });
  const v = verifyEvidence(sgx.quote(), {
    collateral: sgx.collateral,
    now: NOW,
    roots: { intelSgxRootCa: sgx.rootDer },
    policy: { ...CUSTOM, requireSnpCrl: true },
  });
  assert.deepEqual(failed(v), ["20.policy attest.policy_mismatch"]);
});

void test("the real SNP vectors verify as before without a CRL, and refuse a CRL not from AMD's ARK", () => {
  const expected: Record<keyof typeof SNP_VECTORS, string[]> = {
    milan: ["20.debug attest.debug"],
    genoaAzure: [],
    vlekAws: [],
    milanIdBlock: [],
  };
  const fakes: Partial<Record<"Milan" | "Genoa", SyntheticSnpPlatform>> = {};
  for (const name of Object.keys(SNP_VECTORS) as (keyof typeof SNP_VECTORS)[]) {
    const x = snpVector(name);
    const v = verifyEvidence(x.report, { collateral: x.collateral, now: x.now });
    assert.deepEqual(failed(v), expected[name], name);
    assert.ok(!v.findings.some((f) => f.step.startsWith("6.") || f.step.startsWith("7.")), name);
    assert.match(String(v.fields.amdCrl), /^not checked/, name);
    const required = verifyEvidence(x.report, {
      collateral: x.collateral,
      now: x.now,
      policy: { requireSnpCrl: true },
    });
    assert.deepEqual(failed(required), [...expected[name], "20.snp_crl attest.crl_missing"], name);
    // A CRL named after the real ARK's CN but from our key: its issuer DN and signature are wrong.
    const product = String(v.fields.product) as "Milan" | "Genoa";
    fakes[product] ??= new SyntheticSnpPlatform({ now: x.now, product });
    const fake = fakes[product].crl();
    const withFake = verifyEvidence(x.report, { collateral: { ...x.collateral, crl: fake }, now: x.now });
    assert.deepEqual(
      failed(withFake),
      [
        "6.crl attest.crl_invalid",
        "6.crl attest.crl_invalid",
        "7.revocation attest.not_evaluated",
        ...expected[name],
      ],
      name,
    );
  }
});

void test("AMD's real KDS CRLs verify under the pinned ARKs and clear the real chains", () => {
  const cases = [
    { name: "milan", crl: "Milan", policy: { dangerousAllowDebug: true } },
    { name: "milanIdBlock", crl: "Milan", policy: {} },
    { name: "genoaAzure", crl: "Genoa", policy: { requireSnpCrl: true } },
  ] as const;
  for (const c of cases) {
    const x = snpVector(c.name);
    const crl = kdsCrl(c.crl);
    const v = verifyEvidence(x.report, {
      collateral: { ...x.collateral, crl },
      now: NOW_SNP_CRL,
      policy: c.policy,
    });
    assert.deepEqual(failed(v), [], c.name);
    assert.ok(passed(v).includes("6.crl") && passed(v).includes("7.revocation"), c.name);
    // After nextUpdate (2026-10-04) the same CRL is out of date.
    const late = verifyEvidence(x.report, {
      collateral: { ...x.collateral, crl },
      now: new Date("2026-10-05T00:00:00Z"),
      policy: c.policy,
    });
    assert.deepEqual(failed(late), ["6.crl attest.crl_expired"], c.name);
    // The other product's CRL: another issuer, another key.
    const other = kdsCrl(c.crl === "Milan" ? "Genoa" : "Milan");
    const wrong = verifyEvidence(x.report, {
      collateral: { ...x.collateral, crl: other },
      now: NOW_SNP_CRL,
      policy: c.policy,
    });
    assert.deepEqual(
      failed(wrong),
      ["6.crl attest.crl_invalid", "6.crl attest.crl_invalid", "7.revocation attest.not_evaluated"],
      c.name,
    );
    // The last byte is in the RSA-PSS signature.
    const flipped = Uint8Array.from(crl, (b, i) => (i === crl.length - 1 ? b ^ 1 : b));
    const bad = verifyEvidence(x.report, {
      collateral: { ...x.collateral, crl: flipped },
      now: NOW_SNP_CRL,
      policy: c.policy,
    });
    assert.deepEqual(failed(bad), ["6.crl attest.crl_invalid", "7.revocation attest.not_evaluated"], c.name);
  }
  // Genoa's CRL lists serial 020001 (an earlier ASK-Genoa); the chain here carries 020002.
  assert.deepEqual([...parseCrl(kdsCrl("Genoa"), "genoa").revoked], ["020001"]);
  assert.equal(parseCrl(kdsCrl("Milan"), "milan").revoked.size, 0);
});
