// The peer's certificate, parsed with asn1js only. Node's X509Certificate is deliberately not used on
// it: given bytes, it first looks for PEM text anywhere in them, and an RA-TLS certificate carries a
// quote whose PCK chain is PEM — it would silently parse the embedded PCK CA certificate instead.
import { createPublicKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import { TwineError } from "../errors.js";
import { bitString, children, contextChildren, oid, octets, parseDer, rawOf, time } from "../attest/der.js";
import { bytesEqual } from "../attest/bytes.js";
import { verifyEcdsaDer } from "../attest/x509.js";

/** Large enough for a quote with its PCK chain (~5 KiB) or an SNP report with a VCEK chain. */
export const MAX_PEER_CERT_SIZE = 64 * 1024;

export interface PeerCert {
  der: Uint8Array;
  tbs: Uint8Array;
  sigAlg: string;
  signature: Uint8Array;
  /** SubjectPublicKeyInfo DER, exactly as in the certificate. */
  spki: Uint8Array;
  publicKey: KeyObject;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** extnID → extnValue contents; a certificate repeating an extension is a parse error. */
  extensions: ReadonlyMap<string, Uint8Array>;
}

export function parsePeerCert(der: Uint8Array): PeerCert {
  if (der.length > MAX_PEER_CERT_SIZE) {
    throw new TwineError(
      "ratls.cert_parse",
      `certificate of ${der.length} bytes (cap ${MAX_PEER_CERT_SIZE})`,
    );
  }
  try {
    const top = children(parseDer(der, "certificate"), "certificate");
    const tbsNode = top[0];
    if (top.length !== 3 || tbsNode === undefined)
      throw new TwineError("ratls.cert_parse", "not a certificate");
    const tbsFields = children(tbsNode, "tbsCertificate");
    const f = contextChildren(tbsFields[0], 0) !== undefined ? tbsFields.slice(1) : tbsFields;
    const [, , issuer, validityNode, subject, spkiNode] = f;
    if (issuer === undefined || subject === undefined || spkiNode === undefined) {
      throw new TwineError("ratls.cert_parse", "tbsCertificate is missing fields");
    }
    const validity = children(validityNode, "validity");
    const extensions = new Map<string, Uint8Array>();
    for (const n of f.slice(6)) {
      const ext = contextChildren(n, 3);
      if (ext === undefined) continue;
      for (const e of children(ext[0], "extensions")) {
        const parts = children(e, "extension");
        const id = oid(parts[0], "extnID");
        if (extensions.has(id)) throw new TwineError("ratls.cert_parse", `extension ${id} appears twice`);
        extensions.set(id, octets(parts[parts.length - 1], "extnValue"));
      }
    }
    const spki = rawOf(spkiNode);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    } catch (e) {
      throw new TwineError("ratls.cert_parse", "subject public key does not decode", { cause: e });
    }
    return {
      der,
      tbs: rawOf(tbsNode),
      sigAlg: oid(children(top[1], "signatureAlgorithm")[0], "signatureAlgorithm"),
      signature: bitString(top[2], "signature"),
      spki,
      publicKey,
      issuerDer: rawOf(issuer),
      subjectDer: rawOf(subject),
      notBefore: time(validity[0], "notBefore"),
      notAfter: time(validity[1], "notAfter"),
      extensions,
    };
  } catch (e) {
    if (e instanceof TwineError && e.code === "ratls.cert_parse") throw e;
    throw new TwineError("ratls.cert_parse", e instanceof Error ? e.message : "malformed certificate", {
      cause: e,
    });
  }
}

/** Issuer equals subject and the signature verifies with the certificate's own key. */
export function isSelfSigned(c: PeerCert): boolean {
  return bytesEqual(c.issuerDer, c.subjectDer) && verifyEcdsaDer(c.sigAlg, c.publicKey, c.tbs, c.signature);
}

/** The DER OCTET STRING inside a DICE evidence extension. */
export function innerOctets(value: Uint8Array): Uint8Array {
  if (!(asn1js.fromBER(value).result instanceof asn1js.OctetString)) {
    throw new TwineError("ratls.evidence_format", "DICE evidence extension is not a DER OCTET STRING");
  }
  try {
    return octets(parseDer(value, "DICE evidence"), "DICE evidence");
  } catch (e) {
    throw new TwineError("ratls.evidence_format", "DICE evidence extension is not a DER OCTET STRING", {
      cause: e,
    });
  }
}
