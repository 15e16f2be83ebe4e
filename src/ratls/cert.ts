// RA-TLS certificates: an ephemeral P-256 key made inside the TEE and a short-lived self-signed X.509
// certificate whose extension carries the TEE's evidence, with report data binding the certificate's
// SubjectPublicKeyInfo and the launch identity (src/tee/report-data.ts, runtime layout).
import { createHash, randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import { TwineError } from "../errors.js";
import { makeCert, p256KeyPair } from "../attest/synthetic.js";
import type { KeyPair } from "../attest/synthetic.js";
import { runtimeReportData } from "../tee/report-data.js";
import type { Tee } from "../tee/tee.js";

/** TCG DICE `tcg-dice-conceptual-message-wrapper` (formerly tagged evidence): our evidence extension. */
export const OID_DICE_TAGGED_EVIDENCE = "2.23.133.5.4.9";
/** Gramine's RA-TLS SGX quote extension: extnValue holds the raw quote. Parsed for interop. */
export const OID_GRAMINE_SGX_QUOTE = "1.2.840.113741.1.13.1.0";
/** Default certificate lifetime: long enough for one session set-up, short enough to limit replay. */
export const DEFAULT_LIFETIME_MS = 3_600_000;
/** Clock skew tolerated by notBefore (the peer's clock may be slightly behind ours). */
export const BACKDATE_MS = 60_000;
const SUBJECT_CN = "Twine RA-TLS";

export type EvidenceFormat = "dice" | "gramine";

export interface RatlsIdentity {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The self-signed certificate, DER. */
  certDer: Uint8Array;
  /** PEM forms, as node:tls takes them. */
  keyPem: string;
  certPem: string;
}

export function spkiDer(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
}

/**
 * Twine's binding: the runtime report-data layout with the certificate's SPKI DER as the runtime key
 * and `nonce` (empty when the certificate is made before any peer is known).
 */
export function ratlsReportData(
  spki: Uint8Array,
  launchHash: Uint8Array,
  nonce: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return runtimeReportData({ launchHash, nonce, runtimeKey: spki });
}

/** Gramine's binding: SHA-256(SPKI DER) ‖ 32 zero bytes (no launch identity). */
export function gramineReportData(spki: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(createHash("sha256").update(spki).digest());
  return out;
}

/** The extnValue contents for `format`: DICE wraps the quote in a DER OCTET STRING, Gramine does not. */
export function evidenceExtension(
  format: EvidenceFormat,
  evidence: Uint8Array,
): { oid: string; value: Uint8Array } {
  if (format === "gramine") return { oid: OID_GRAMINE_SGX_QUOTE, value: evidence };
  return {
    oid: OID_DICE_TAGGED_EVIDENCE,
    value: new Uint8Array(new asn1js.OctetString({ valueHex: evidence }).toBER()),
  };
}

export interface CertOptions {
  keyPair: KeyPair;
  /** The raw evidence (quote or report); absent for a plain certificate. */
  evidence?: Uint8Array;
  format?: EvidenceFormat;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed certificate for `keyPair` carrying `evidence` as given (no binding is checked here). */
export function makeRatlsCert(o: CertOptions): RatlsIdentity {
  const certDer = makeCert({
    subjectCn: SUBJECT_CN,
    issuerCn: SUBJECT_CN,
    publicKey: o.keyPair.publicKey,
    signingKey: o.keyPair.privateKey,
    serial: new Uint8Array(randomBytes(16)),
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    ca: false,
    extensions: o.evidence === undefined ? [] : [evidenceExtension(o.format ?? "dice", o.evidence)],
  });
  return identityOf(o.keyPair, certDer);
}

export function identityOf(keyPair: KeyPair, certDer: Uint8Array): RatlsIdentity {
  const b64 = Buffer.from(certDer).toString("base64").replace(/.{64}/g, "$&\n");
  return {
    privateKey: keyPair.privateKey,
    publicKey: keyPair.publicKey,
    certDer,
    keyPem: keyPair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`,
  };
}

export interface IdentityOptions {
  /** SHA-256 of the launch manifest (32 bytes). */
  launchHash: Uint8Array;
  /** Start of validity (default now, backdated by a minute for clock skew). */
  now?: Date;
  lifetimeMs?: number;
  nonce?: Uint8Array;
}

/** A fresh key pair and a certificate carrying `tee`'s evidence bound to its key and `launchHash`. */
export function createRatlsIdentity(tee: Tee, o: IdentityOptions): RatlsIdentity {
  if (o.launchHash.length !== 32) throw new TwineError("ratls.usage", "launch hash must be 32 bytes");
  const lifetime = o.lifetimeMs ?? DEFAULT_LIFETIME_MS;
  if (!Number.isFinite(lifetime) || lifetime <= 0)
    throw new TwineError("ratls.usage", "lifetime must be > 0");
  const now = (o.now ?? new Date()).getTime();
  const keyPair = p256KeyPair();
  const evidence = tee.getEvidence(ratlsReportData(spkiDer(keyPair.publicKey), o.launchHash, o.nonce));
  return makeRatlsCert({
    keyPair,
    evidence: evidence.report,
    format: "dice",
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + lifetime),
  });
}
