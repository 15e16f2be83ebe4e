import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { parseQuote, serializeQuote } from "./abi-quote.js";
import { offsetOf } from "./bytes.js";
import { SGX_REPORT_BODY } from "./abi-quote.js";
import { parseDcapCollateral, serializeDcapCollateral } from "./collateral.js";
import type { DcapCollateral } from "./collateral.js";
import { verdictError } from "./findings.js";
import type { Verdict } from "./findings.js";
import { verifyEvidence } from "./index.js";
import type { Policy } from "./policy.js";
import { SyntheticSgxPlatform, derToPem, makeCert, p256KeyPair } from "./synthetic.js";
import { fixture, sgxVector } from "./test-vectors.js";
import { checkChain, parseCert, pemToDers } from "./x509.js";

const ACCEPT_REAL: Policy = {
  acceptedTcbStatuses: ["UpToDate", "SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded"],
};

function failed(v: Verdict): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`);
}
function failedCodes(v: Verdict): Set<string> {
  return new Set(v.findings.filter((f) => !f.ok).map((f) => f.code));
}
function verifySgx(
  quote: Uint8Array,
  collateral: DcapCollateral,
  now: Date,
  policy: Policy = ACCEPT_REAL,
): Verdict {
  return verifyEvidence(quote, { collateral, now, policy });
}
function flip(b: Uint8Array, at: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[at]! ^= 0x01;
  return c;
}

void test("real SGX quote verifies at NOW: ConfigurationAndSWHardeningNeeded, INTEL-SA-00289 and -00615", () => {
  const { quote, collateral, now } = sgxVector();
  const v = verifySgx(quote, collateral, now, {
    ...ACCEPT_REAL,
    mrEnclave: "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
    mrSigner: "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6",
    isvProdId: 0,
    minIsvSvn: 0,
    reportData: Buffer.from("Hello, world!").toString("hex"),
  });
  assert.deepEqual(failed(v), []);
  assert.equal(v.ok, true);
  assert.equal(v.kind, "sgx");
  assert.equal(v.tcbStatus, "ConfigurationAndSWHardeningNeeded");
  assert.deepEqual(v.advisoryIds, ["INTEL-SA-00289", "INTEL-SA-00615"]);
  assert.equal(v.fields.fmspc, "00a067110000");
  assert.equal(v.fields.pckPceSvn, 13);
  assert.equal(v.fields.pckTcbComponents, "11,11,2,2,255,1,0,0,0,0,0,0,0,0,0,0");
  assert.equal(v.fields.qeTcbStatus, "UpToDate");
  assert.equal(v.fields.tcbDate, "2024-03-13T00:00:00Z");
  for (const step of [
    "1.header",
    "2.root_crl",
    "3.pck_crl",
    "4.pck_chain",
    "5.tcb_info",
    "6.qe_identity",
    "7.qe_report_signature",
    "8.qe_report_data",
    "9.qe_identity_match",
    "10.quote_signature",
    "11.tcb_level",
    "12.tcb_status",
  ]) {
    assert.ok(
      v.findings.some((f) => f.step === step && f.ok),
      step,
    );
  }
  assert.equal(verdictError(v), undefined);
});

void test("the default policy refuses the real SGX quote's TCB status, and says only that", () => {
  const { quote, collateral, now } = sgxVector();
  const v = verifyEvidence(quote, { collateral, now });
  assert.equal(v.ok, false);
  assert.deepEqual(failed(v), ["20.tcb_status attest.tcb_status"]);
  assert.equal(verdictError(v)?.code, "attest.tcb_status");
});

void test("a byte flipped in each signed region of the real SGX quote is caught", () => {
  const { quote, collateral, now } = sgxVector();
  const sig = 436; // signature data after the 432 signed bytes and its u32 length
  const cases: [string, number, string][] = [
    ["header user_data", 28 + 3, "attest.sig_invalid"],
    ["header qe_svn", 8, "attest.sig_invalid"],
    ["body mr_enclave", 48 + offsetOf(SGX_REPORT_BODY, "mr_enclave"), "attest.sig_invalid"],
    ["body report_data", 48 + offsetOf(SGX_REPORT_BODY, "report_data") + 63, "attest.sig_invalid"],
    ["quote signature", sig + 10, "attest.sig_invalid"],
    ["attestation key", sig + 64 + 5, "attest.qe_report_data"],
    ["QE report cpu_svn", sig + 128 + 1, "attest.qe_sig_invalid"],
    ["QE report report_data", sig + 128 + 320, "attest.qe_sig_invalid"],
    ["QE report signature", sig + 512 + 7, "attest.qe_sig_invalid"],
    ["QE auth data", sig + 578 + 4, "attest.qe_report_data"],
  ];
  for (const [name, at, code] of cases) {
    const v = verifySgx(flip(quote, at), collateral, now);
    assert.equal(v.ok, false, name);
    assert.ok(failedCodes(v).has(code), `${name}: ${failed(v).join(", ")}`);
  }
});

/** Rewrites one certificate of the quote's PCK chain with one DER byte flipped. */
function withChainCertFlipped(quote: Uint8Array, index: number, at: (der: Uint8Array) => number): Uint8Array {
  const q = parseQuote(quote);
  const ders = pemToDers(q.signatureData.pckChainPem, "chain");
  const der = Uint8Array.from(ders[index]!);
  der[at(der)]! ^= 0x01;
  ders[index] = der;
  const pem = ders.map(derToPem).join("");
  return serializeQuote({
    ...q,
    signatureData: { ...q.signatureData, pckChainPem: new Uint8Array(Buffer.from(pem)) },
  });
}

void test("a byte flipped in the PCK certificate chain is caught", () => {
  const { quote, collateral, now } = sgxVector();
  // The last byte of a certificate is inside its signature value; a byte inside the leaf's TBS (its
  // validity dates, offset ~0xA0) breaks the issuer's signature over it.
  for (const [index, at] of [
    [0, (d: Uint8Array) => d.length - 1],
    [1, (d: Uint8Array) => d.length - 1],
    [0, () => 0xa8],
  ] as const) {
    const v = verifySgx(withChainCertFlipped(quote, index, at), collateral, now);
    assert.equal(v.ok, false);
    const codes = failedCodes(v);
    assert.ok(codes.has("attest.cert_chain") || codes.has("attest.cert_parse"), failed(v).join(", "));
  }
  // The root copy in the quote must be the pinned root byte for byte.
  const v = verifySgx(
    withChainCertFlipped(quote, 2, (d) => d.length - 1),
    collateral,
    now,
  );
  assert.ok(failedCodes(v).has("attest.root_untrusted"), failed(v).join(", "));
});

void test("tampered collateral is caught: TCB info, QE identity, their signatures, CRLs", () => {
  const { quote, collateral, now } = sgxVector();
  const cases: [string, DcapCollateral, string][] = [
    [
      "tcb_info text",
      {
        ...collateral,
        tcbInfo: collateral.tcbInfo.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18'),
      },
      "attest.collateral_signature",
    ],
    [
      "tcb_info status",
      { ...collateral, tcbInfo: collateral.tcbInfo.replace("ConfigurationAndSWHardeningNeeded", "UpToDate") },
      "attest.collateral_signature",
    ],
    [
      "tcb_info_signature",
      { ...collateral, tcbInfoSignature: flip(collateral.tcbInfoSignature, 40) },
      "attest.collateral_signature",
    ],
    [
      "qe_identity",
      { ...collateral, qeIdentity: collateral.qeIdentity.replace('"isvprodid":1', '"isvprodid":2') },
      "attest.collateral_signature",
    ],
    [
      "qe_identity_signature",
      { ...collateral, qeIdentitySignature: flip(collateral.qeIdentitySignature, 3) },
      "attest.collateral_signature",
    ],
    [
      "pck_crl signature",
      { ...collateral, pckCrl: flip(collateral.pckCrl, collateral.pckCrl.length - 2) },
      "attest.crl_invalid",
    ],
    [
      "root_ca_crl signature",
      { ...collateral, rootCaCrl: flip(collateral.rootCaCrl, collateral.rootCaCrl.length - 2) },
      "attest.crl_invalid",
    ],
  ];
  for (const [name, c, code] of cases) {
    const v = verifySgx(quote, c, now);
    assert.equal(v.ok, false, name);
    assert.ok(failedCodes(v).has(code), `${name}: ${failed(v).join(", ")}`);
  }
  // TDX collateral for an SGX quote: wrong TCB info id, FMSPC and QE identity id.
  const tdx = parseDcapCollateral(fixture("tdx/tdx_quote_collateral.json"));
  const v = verifySgx(quote, tdx, now);
  assert.ok(failedCodes(v).has("attest.collateral_mismatch"), failed(v).join(", "));
});

void test("collateral used outside its window is refused", () => {
  const { quote, collateral } = sgxVector();
  for (const when of ["2025-06-19T10:00:00Z", "2025-07-19T11:00:00Z", "2026-05-01T00:00:00Z"]) {
    const v = verifySgx(quote, collateral, new Date(when));
    assert.equal(v.ok, false, when);
    const codes = failedCodes(v);
    assert.ok(
      codes.has("attest.collateral_expired") || codes.has("attest.crl_expired"),
      `${when}: ${failed(v).join(", ")}`,
    );
    assert.ok(!codes.has("attest.sig_invalid"));
  }
  // Past the PCK leaf's notAfter (2030-09-20) the certificate itself has expired too.
  assert.ok(
    failedCodes(verifySgx(quote, collateral, new Date("2031-01-01T00:00:00Z"))).has("attest.cert_expired"),
  );
  // The collateral JSON bundle round-trips.
  assert.deepEqual(parseDcapCollateral(serializeDcapCollateral(collateral)), collateral);
});

void test("a wrong trust root is refused, and custom roots need dangerousAllowCustomRoots", () => {
  const { quote, collateral, now } = sgxVector();
  const other = new SyntheticSgxPlatform({ now });
  const v = verifyEvidence(quote, {
    collateral,
    now,
    policy: { ...ACCEPT_REAL, dangerousAllowCustomRoots: true },
    roots: { intelSgxRootCa: other.rootDer },
  });
  assert.equal(v.ok, false);
  assert.ok(failedCodes(v).has("attest.root_untrusted"), failed(v).join(", "));

  // A self-signed impostor with the Intel root's name, substituted in the quote's chain.
  const k = p256KeyPair();
  const fake = makeCert({
    subjectCn: "Intel SGX Root CA",
    issuerCn: "Intel SGX Root CA",
    publicKey: k.publicKey,
    signingKey: k.privateKey,
    serial: Uint8Array.of(1),
    notBefore: new Date("2018-01-01"),
    notAfter: new Date("2049-01-01"),
    ca: true,
  });
  assert.ok(new X509Certificate(fake).verify(new X509Certificate(fake).publicKey));
  const q = parseQuote(quote);
  const ders = pemToDers(q.signatureData.pckChainPem, "chain");
  ders[2] = fake;
  const swapped = serializeQuote({
    ...q,
    signatureData: {
      ...q.signatureData,
      pckChainPem: new Uint8Array(Buffer.from(ders.map(derToPem).join(""))),
    },
  });
  assert.ok(failedCodes(verifySgx(swapped, collateral, now)).has("attest.root_untrusted"));

  const p = new SyntheticSgxPlatform({ now });
  const sq = p.quote();
  const refused = verifyEvidence(sq, { collateral: p.collateral, now, roots: { intelSgxRootCa: p.rootDer } });
  assert.deepEqual(failed(refused), ["20.roots attest.custom_root"]);
  const allowed = verifyEvidence(sq, {
    collateral: p.collateral,
    now,
    roots: { intelSgxRootCa: p.rootDer },
    policy: { dangerousAllowCustomRoots: true },
  });
  assert.deepEqual(failed(allowed), []);
  assert.equal(allowed.tcbStatus, "UpToDate");
  // Without the injected root, synthetic evidence never verifies.
  assert.ok(failedCodes(verifyEvidence(sq, { collateral: p.collateral, now })).has("attest.root_untrusted"));
});

const NOW = new Date("2026-06-01T00:00:00Z");
function synth(p: SyntheticSgxPlatform, quote: Uint8Array, policy: Policy = {}, now = NOW): Verdict {
  return verifyEvidence(quote, {
    collateral: p.collateral,
    now,
    roots: { intelSgxRootCa: p.rootDer },
    policy: { dangerousAllowCustomRoots: true, ...policy },
  });
}

void test("a revoked PCK certificate is refused", () => {
  const p = new SyntheticSgxPlatform({ now: NOW, revokePckLeaf: true });
  const v = synth(p, p.quote());
  assert.deepEqual(failed(v), ["4.pck_chain attest.cert_revoked"]);
});

void test("a revoked PCK CA (on the root CA CRL) is refused", () => {
  const p = new SyntheticSgxPlatform({ now: NOW, revokePckCa: true });
  const v = synth(p, p.quote());
  assert.deepEqual(failed(v), ["3.pck_crl attest.cert_revoked", "4.pck_chain attest.cert_revoked"]);
});

void test("truncated and oversized evidence is refused at step 1", () => {
  const { quote, collateral, now } = sgxVector();
  assert.deepEqual(failed(verifySgx(quote.subarray(0, 1000), collateral, now)), [
    "1.header attest.truncated",
  ]);
  const big = new Uint8Array(70_000);
  big.set(quote);
  assert.deepEqual(failed(verifySgx(big, collateral, now)), ["1.header attest.too_large"]);
  const snp = fixture("snp/attestation.bin");
  const v = verifyEvidence(snp.subarray(0, 1000), { collateral: { certs: [] }, now, kind: "snp" });
  assert.deepEqual(failed(v), ["1.report attest.truncated"]);
});

void test("an expired PCK certificate is refused", () => {
  const p = new SyntheticSgxPlatform({
    now: NOW,
    pckLeafValidity: {
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2026-05-01T00:00:00Z"),
    },
  });
  const v = synth(p, p.quote());
  assert.deepEqual(failed(v), ["4.pck_chain attest.cert_expired"]);
  const early = new SyntheticSgxPlatform({
    now: NOW,
    pckLeafValidity: {
      notBefore: new Date("2026-07-01T00:00:00Z"),
      notAfter: new Date("2030-01-01T00:00:00Z"),
    },
  });
  assert.deepEqual(failed(synth(early, early.quote())), ["4.pck_chain attest.cert_expired"]);
});

void test("a debug enclave is refused unless dangerousAllowDebug", () => {
  const p = new SyntheticSgxPlatform({ now: NOW });
  const attributes = new Uint8Array(16);
  attributes[0] = 0x07; // INIT | DEBUG | MODE64BIT
  const q = p.quote({ attributes });
  assert.deepEqual(failed(synth(p, q)), ["20.debug attest.debug"]);
  assert.deepEqual(failed(synth(p, q, { dangerousAllowDebug: true })), []);
});

void test("TCB statuses the policy does not accept are refused; Revoked always", () => {
  for (const status of ["OutOfDate", "ConfigurationNeeded", "OutOfDateConfigurationNeeded"] as const) {
    const p = new SyntheticSgxPlatform({ now: NOW, tcbStatus: status });
    const v = synth(p, p.quote());
    assert.equal(v.tcbStatus, status);
    assert.deepEqual(v.advisoryIds, ["TWINE-SA-00001"]);
    assert.deepEqual(failed(v), ["20.tcb_status attest.tcb_status"]);
    assert.deepEqual(failed(synth(p, p.quote(), { acceptedTcbStatuses: [status] })), []);
  }
  const p = new SyntheticSgxPlatform({ now: NOW, tcbStatus: "SWHardeningNeeded" });
  assert.deepEqual(failed(synth(p, p.quote())), []);
  const r = new SyntheticSgxPlatform({ now: NOW, tcbStatus: "Revoked" });
  const v = synth(r, r.quote(), { acceptedTcbStatuses: ["UpToDate"] });
  assert.ok(failedCodes(v).has("attest.tcb_revoked"));
});

void test("policy expectations: measurements, product, SVN and report data each give their own finding", () => {
  const p = new SyntheticSgxPlatform({ now: NOW });
  const mrEnclave = new Uint8Array(32).fill(0xaa);
  const q = p.quote({ mrEnclave, isvProdId: 7, isvSvn: 3, reportData: new Uint8Array(64).fill(1) });
  const v = synth(p, q, {
    mrEnclave: "bb".repeat(32),
    mrSigner: "00".repeat(32),
    isvProdId: 8,
    minIsvSvn: 4,
    reportData: "02".repeat(64),
  });
  assert.deepEqual(failed(v), [
    "20.mr_enclave attest.measurement_mismatch",
    "20.isv_prod_id attest.policy_mismatch",
    "20.isv_svn attest.svn_too_low",
    "20.report_data attest.report_data_mismatch",
  ]);
  assert.deepEqual(
    failed(
      synth(p, q, { mrEnclave: "aa".repeat(32), isvProdId: 7, minIsvSvn: 3, reportData: "01".repeat(64) }),
    ),
    [],
  );
  // A TDX expectation on SGX evidence is a mismatch, not silently ignored.
  assert.ok(failedCodes(synth(p, q, { mrTd: "00".repeat(48) })).has("attest.policy_mismatch"));
});

void test("the expected kind is enforced", () => {
  const { quote, collateral, now } = sgxVector();
  const v = verifyEvidence(quote, { collateral, now, kind: "tdx", policy: ACCEPT_REAL });
  assert.ok(failedCodes(v).has("attest.kind"));
});

void test("a certificate issued by a non-CA certificate does not chain", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const [root, leaf, child] = [p256KeyPair(), p256KeyPair(), p256KeyPair()];
  const span = { notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2027-01-01T00:00:00Z") };
  const rootDer = makeCert({
    subjectCn: "R",
    issuerCn: "R",
    publicKey: root.publicKey,
    signingKey: root.privateKey,
    serial: Uint8Array.of(1),
    ca: true,
    ...span,
  });
  const leafDer = makeCert({
    subjectCn: "L",
    issuerCn: "R",
    publicKey: leaf.publicKey,
    signingKey: root.privateKey,
    serial: Uint8Array.of(2),
    ca: false,
    ...span,
  });
  const childDer = makeCert({
    subjectCn: "C",
    issuerCn: "L",
    publicKey: child.publicKey,
    signingKey: leaf.privateKey,
    serial: Uint8Array.of(3),
    ca: false,
    ...span,
  });
  const r = parseCert(rootDer);
  assert.deepEqual(checkChain([parseCert(leafDer)], r, now, "ok"), []);
  assert.deepEqual(
    checkChain([parseCert(childDer), parseCert(leafDer)], r, now, "bad").map((i) => i.code),
    ["attest.cert_chain"],
  );
});
