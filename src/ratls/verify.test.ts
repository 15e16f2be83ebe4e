import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as asn1js from "asn1js";
import { makeCert, p256KeyPair } from "../attest/synthetic.js";
import { hex } from "../attest/bytes.js";
import {
  createRatlsIdentity,
  gramineReportData,
  makeRatlsCert,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_SGX_QUOTE,
  ratlsReportData,
  spkiDer,
} from "./cert.js";
import { parsePeerCert } from "./peer-cert.js";
import { extractEvidence, ratlsError, verifyRatlsCert } from "./verify.js";
import { failedCodes, launchHashOf, removeTempDirs, simAccepting, simTee } from "./test-support.js";

after(removeTempDirs);

const tee = simTee();
const LAUNCH = launchHashOf("launch manifest A");
const HOUR = 3_600_000;

void test("ratls: a sim certificate verifies with dangerousAllowSim and yields its launch hash", () => {
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH });
  const v = verifyRatlsCert(id.certDer, {
    ...simAccepting(tee),
    expectedLaunchHash: LAUNCH,
    policy: { mrEnclave: hex(tee.measurement()) },
  });
  assert.deepEqual(failedCodes(v), []);
  assert.equal(v.ok, true);
  assert.equal(v.format, "dice");
  assert.deepEqual(v.launchHash, LAUNCH);
  assert.equal(v.evidence?.fields["sim"], true);
  assert.equal(ratlsError(v), undefined);
  const steps = v.findings.map((f) => f.step);
  for (const s of ["r1.cert", "r2.self_signed", "r3.validity", "r4.evidence", "r5.binding", "r6.launch"])
    assert.ok(steps.includes(s), s);
});

void test("ratls: the DICE extension is a DER OCTET STRING holding the raw quote", () => {
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH });
  const cert = parsePeerCert(id.certDer);
  const ext = cert.extensions.get(OID_DICE_TAGGED_EVIDENCE);
  assert.ok(ext !== undefined);
  const inner = asn1js.fromBER(ext);
  assert.ok(inner.result instanceof asn1js.OctetString);
  const quote = new Uint8Array(inner.result.valueBlock.valueHexView);
  assert.deepEqual(extractEvidence(cert), { format: "dice", evidence: quote });
  assert.equal(quote[0], 3); // SGX quote v3
  // The quote embeds a PEM chain; the parser must still read this certificate's own key.
  assert.deepEqual(cert.spki, spkiDer(id.publicKey));
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), HOUR + 60_000);
});

void test("ratls: a different expected launch hash is refused", () => {
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH });
  const v = verifyRatlsCert(id.certDer, {
    ...simAccepting(tee),
    expectedLaunchHash: launchHashOf("launch manifest B"),
  });
  assert.equal(v.ok, false);
  assert.deepEqual(failedCodes(v), ["ratls.launch_hash"]);
  assert.equal(ratlsError(v)?.code, "ratls.launch_hash");
});

void test("ratls: report data that binds another key (swapped keys) is refused", () => {
  const a = p256KeyPair();
  const b = p256KeyPair();
  const evidence = tee.getEvidence(ratlsReportData(spkiDer(a.publicKey), LAUNCH)).report;
  const now = Date.now();
  const id = makeRatlsCert({
    keyPair: b,
    evidence,
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  const v = verifyRatlsCert(id.certDer, simAccepting(tee));
  assert.deepEqual(failedCodes(v), ["ratls.key_binding"]);
  // The same evidence in a certificate for the key it binds passes: the refusal is the swap.
  const good = makeRatlsCert({
    keyPair: a,
    evidence,
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  assert.equal(verifyRatlsCert(good.certDer, simAccepting(tee)).ok, true);
});

void test("ratls: an expired or not yet valid certificate is refused", () => {
  const old = createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(Date.now() - 2 * HOUR) });
  assert.deepEqual(failedCodes(verifyRatlsCert(old.certDer, simAccepting(tee))), ["ratls.expired"]);
  const future = createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(Date.now() + 2 * HOUR) });
  assert.deepEqual(failedCodes(verifyRatlsCert(future.certDer, simAccepting(tee))), ["ratls.not_yet_valid"]);
});

void test("ratls: a certificate older than maxAgeMs is refused as stale", () => {
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(Date.now() - 10 * 60_000) });
  assert.equal(verifyRatlsCert(id.certDer, simAccepting(tee)).ok, true);
  assert.deepEqual(failedCodes(verifyRatlsCert(id.certDer, { ...simAccepting(tee), maxAgeMs: 5 * 60_000 })), [
    "ratls.stale",
  ]);
  assert.equal(verifyRatlsCert(id.certDer, { ...simAccepting(tee), maxAgeMs: 20 * 60_000 }).ok, true);
});

void test("ratls: sim evidence under a strict policy (no dangerousAllowSim) is refused", () => {
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH });
  const { dangerousAllowSim: _ignored, ...strict } = simAccepting(tee);
  const v = verifyRatlsCert(id.certDer, strict);
  assert.equal(v.ok, false);
  assert.ok(failedCodes(v).includes("attest.sim"));
  // Without the sim root as well, the chain cannot verify either.
  const v2 = verifyRatlsCert(id.certDer, { collateral: tee.collateral(new Date()), now: new Date() });
  assert.ok(failedCodes(v2).includes("attest.sim"));
  assert.equal(v2.ok, false);
});

void test("ratls: a plain self-signed certificate without evidence is refused", () => {
  const k = p256KeyPair();
  const now = Date.now();
  const plain = makeRatlsCert({
    keyPair: k,
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  assert.deepEqual(failedCodes(verifyRatlsCert(plain.certDer, simAccepting(tee))), ["ratls.no_evidence"]);
});

void test("ratls: a certificate not signed by its own key is refused", () => {
  const k = p256KeyPair();
  const other = p256KeyPair();
  const evidence = tee.getEvidence(ratlsReportData(spkiDer(k.publicKey), LAUNCH)).report;
  const der = makeCert({
    subjectCn: "Twine RA-TLS",
    issuerCn: "Twine RA-TLS",
    publicKey: k.publicKey,
    signingKey: other.privateKey,
    serial: Uint8Array.of(1),
    notBefore: new Date(Date.now() - 1000),
    notAfter: new Date(Date.now() + HOUR),
    ca: false,
    extensions: [
      {
        oid: OID_DICE_TAGGED_EVIDENCE,
        value: new Uint8Array(new asn1js.OctetString({ valueHex: evidence }).toBER()),
      },
    ],
  });
  assert.deepEqual(failedCodes(verifyRatlsCert(der, simAccepting(tee))), ["ratls.not_self_signed"]);
});

void test("ratls: missing, empty or garbage certificates give findings, never exceptions", () => {
  const o = simAccepting(tee);
  assert.deepEqual(failedCodes(verifyRatlsCert(undefined, o)), ["ratls.no_cert"]);
  assert.deepEqual(failedCodes(verifyRatlsCert(new Uint8Array(0), o)), ["ratls.no_cert"]);
  assert.deepEqual(failedCodes(verifyRatlsCert(Uint8Array.of(0x30, 0x03, 1, 2, 3), o)), ["ratls.cert_parse"]);
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH });
  for (const at of [0, 1, 10, 100, id.certDer.length - 1]) {
    const bad = Uint8Array.from(id.certDer);
    bad[at] = bad[at]! ^ 0xff;
    assert.equal(verifyRatlsCert(bad, o).ok, false, `flipped byte ${at}`);
  }
});

void test("ratls: an evidence extension that is not an OCTET STRING, or a tampered quote, is refused", () => {
  const k = p256KeyPair();
  const now = Date.now();
  const notDer = makeCert({
    subjectCn: "x",
    issuerCn: "x",
    publicKey: k.publicKey,
    signingKey: k.privateKey,
    serial: Uint8Array.of(1),
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
    ca: false,
    extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: Uint8Array.of(3, 0, 2, 0) }],
  });
  assert.deepEqual(failedCodes(verifyRatlsCert(notDer, simAccepting(tee))), ["ratls.evidence_format"]);

  const evidence = tee.getEvidence(ratlsReportData(spkiDer(k.publicKey), LAUNCH)).report;
  const tampered = Uint8Array.from(evidence);
  tampered[48 + 64] = tampered[48 + 64]! ^ 1; // MRENCLAVE, inside the signed report body
  const id = makeRatlsCert({
    keyPair: k,
    evidence: tampered,
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  const v = verifyRatlsCert(id.certDer, simAccepting(tee));
  assert.equal(v.ok, false);
  assert.ok(
    failedCodes(v).every((c) => c.startsWith("attest.")),
    failedCodes(v).join(),
  );
});

void test("ratls: a nonce bound at creation must be presented at verification", () => {
  const nonce = Uint8Array.of(9, 8, 7);
  const id = createRatlsIdentity(tee, { launchHash: LAUNCH, nonce });
  assert.equal(verifyRatlsCert(id.certDer, { ...simAccepting(tee), nonce }).ok, true);
  assert.deepEqual(failedCodes(verifyRatlsCert(id.certDer, simAccepting(tee))), ["ratls.key_binding"]);
  assert.deepEqual(
    failedCodes(verifyRatlsCert(id.certDer, { ...simAccepting(tee), nonce: Uint8Array.of(9) })),
    ["ratls.key_binding"],
  );
});

void test("ratls: Gramine's SGX quote extension (raw quote, SHA-256(SPKI) report data) is accepted", () => {
  const k = p256KeyPair();
  const now = Date.now();
  const quote = tee.getEvidence(gramineReportData(spkiDer(k.publicKey))).report;
  const id = makeRatlsCert({
    keyPair: k,
    evidence: quote,
    format: "gramine",
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  const cert = parsePeerCert(id.certDer);
  assert.deepEqual(cert.extensions.get(OID_GRAMINE_SGX_QUOTE), quote);
  assert.equal(cert.extensions.get(OID_DICE_TAGGED_EVIDENCE), undefined);
  const v = verifyRatlsCert(id.certDer, simAccepting(tee));
  assert.deepEqual(failedCodes(v), []);
  assert.equal(v.format, "gramine");
  // Gramine binds no launch hash: asking for one refuses.
  assert.deepEqual(
    failedCodes(verifyRatlsCert(id.certDer, { ...simAccepting(tee), expectedLaunchHash: LAUNCH })),
    ["ratls.launch_hash"],
  );
  // Gramine layout over another key is refused.
  const other = makeRatlsCert({
    keyPair: p256KeyPair(),
    evidence: quote,
    format: "gramine",
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  assert.deepEqual(failedCodes(verifyRatlsCert(other.certDer, simAccepting(tee))), ["ratls.key_binding"]);
});
