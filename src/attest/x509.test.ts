import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import { isTwineError } from "../errors.js";
import { derToPem, makeCert, p256KeyPair } from "./synthetic.js";
import { parseCert } from "./x509.js";

function cert(cn: string, extensions: { oid: string; value: Uint8Array }[] = []): Uint8Array {
  const k = p256KeyPair();
  return makeCert({
    subjectCn: cn,
    issuerCn: cn,
    publicKey: k.publicKey,
    signingKey: k.privateKey,
    serial: new Uint8Array([1]),
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2030-01-01T00:00:00Z"),
    ca: false,
    extensions,
  });
}

void test("parseCert: a DER certificate carrying another certificate as PEM text is refused", () => {
  const inner = cert("inner");
  // As in a quote's certification data: binary bytes, then the PEM chain starting on a line of its own.
  const pemText = new TextEncoder().encode(`\n${derToPem(inner)}`);
  const value = new Uint8Array(new asn1js.OctetString({ valueHex: pemText }).toBER());
  const outer = cert("outer", [{ oid: "1.2.3.4.5", value }]);
  // The hazard is real: node:crypto reads the embedded PEM certificate, not the DER it was given.
  assert.match(new X509Certificate(outer).subject, /CN=inner/);
  assert.throws(
    () => parseCert(outer),
    (e) => isTwineError(e, "attest.cert_parse"),
  );
  assert.match(parseCert(inner).x509.subject, /CN=inner/);
});

void test("synthetic certificates encode serials with leading zero bytes as minimal DER", () => {
  for (const serial of [Uint8Array.of(0, 0x12, 0x34), Uint8Array.of(0, 0, 0x80), Uint8Array.of(0)]) {
    const k = p256KeyPair();
    const der = makeCert({
      subjectCn: "s",
      issuerCn: "s",
      publicKey: k.publicKey,
      signingKey: k.privateKey,
      serial,
      notBefore: new Date("2025-01-01T00:00:00Z"),
      notAfter: new Date("2030-01-01T00:00:00Z"),
      ca: false,
    });
    assert.doesNotThrow(() => parseCert(der), `serial ${Buffer.from(serial).toString("hex")}`);
  }
});
