// X.509 certificates and CRLs for evidence chains. node:crypto checks signatures (ECDSA for Intel,
// RSA-PSS for AMD); asn1js reads what Node does not expose (extensions, CRLs, exact validity).
// Chains always end in a root passed in by the caller and compared byte for byte.
import { X509Certificate, constants, createHash, verify as cryptoVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { TwineError } from "../errors.js";
import { bytesEqual } from "./bytes.js";
import {
  assertDerLengths,
  bitString,
  children,
  contextChildren,
  integerHex,
  isInteger,
  isTime,
  octets,
  oid,
  parseDer,
  rawOf,
  sequence,
  smallInt,
  time,
} from "./der.js";
import type { Der } from "./der.js";
import type { Issue } from "./findings.js";

export const MAX_CHAIN_CERTS = 8;
export const MAX_CERT_SIZE = 16 * 1024;
export const MAX_CRL_SIZE = 1024 * 1024;
// Signature algorithms as vendors use them; exported so synthetic evidence (synthetic*.ts) names the same.
export const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384 = "1.2.840.10045.4.3.3";
export const OID_RSASSA_PSS = "1.2.840.113549.1.1.10";
export const OID_MGF1 = "1.2.840.113549.1.1.8";
export const OID_SHA384 = "2.16.840.1.101.3.4.2.2";
/** Largest PSS salt accepted from a signature's parameters (AMD uses 48, the SHA-384 length). */
const MAX_PSS_SALT = 512;

export interface Cert {
  der: Uint8Array;
  x509: X509Certificate;
  /** Decoded once at parse time: a certificate whose key does not decode is a parse error. */
  publicKey: KeyObject;
  /** Lower-case hex, no leading zeros: the form CRL entries are compared in. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  /** The subject's CN, for messages and role checks. */
  subjectCn: string;
  /** extnID → extnValue contents (the bytes inside the OCTET STRING). */
  extensions: ReadonlyMap<string, Uint8Array>;
}

/**
 * Parsed certificates and CRLs, keyed by the SHA-256 of their DER: the same collateral and PCK chains
 * come with every quote of a platform, and parsing (not checking) them is most of a verification's
 * cost. Only parsing is cached; every signature, validity and revocation check runs every time.
 */
class ParseCache<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string): T | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: T): void {
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
  clear(): void {
    this.map.clear();
  }
}
const certCache = new ParseCache<Cert>(256);
const crlCache = new ParseCache<Crl>(32);

/** Empties the parse caches (benchmarks use it to time a cold verification). */
export function clearParseCaches(): void {
  certCache.clear();
  crlCache.clear();
}

const keyOf = (der: Uint8Array): string => createHash("sha256").update(der).digest("base64");

export function parseCert(der: Uint8Array, what = "certificate"): Cert {
  if (der.length > MAX_CERT_SIZE) throw new TwineError("attest.too_large", `${what}: ${der.length} bytes`);
  const key = keyOf(der);
  const hit = certCache.get(key);
  if (hit !== undefined) return hit;
  // A private copy: the cached views must not change if the caller reuses its buffer.
  const c = parseCertUncached(Uint8Array.from(der), what);
  certCache.set(key, c);
  return c;
}

function parseCertUncached(der: Uint8Array, what: string): Cert {
  let x509: X509Certificate;
  let publicKey: KeyObject;
  try {
    x509 = new X509Certificate(der);
    publicKey = x509.publicKey;
  } catch (e) {
    throw new TwineError("attest.cert_parse", `${what}: not an X.509 certificate`, { cause: e });
  }
  // node:crypto tries PEM first and OpenSSL's PEM reader skips leading bytes: DER that carries PEM text
  // (e.g. a quote with its PCK chain inside an extension) would parse as the *embedded* certificate,
  // giving its key and signature while asn1js below reads the outer one's fields. Both must see the same bytes.
  if (!Buffer.from(x509.raw).equals(der))
    throw new TwineError("attest.cert_parse", `${what}: certificate bytes are not one DER certificate`);
  try {
    const tbs = children(children(parseDer(der, what), what)[0], `${what}.tbs`);
    const hasVersion = contextChildren(tbs[0], 0) !== undefined;
    const f = hasVersion ? tbs.slice(1) : tbs;
    const validity = children(f[3], `${what}.validity`);
    const extensions = new Map<string, Uint8Array>();
    for (const n of f.slice(6)) {
      const ext = contextChildren(n, 3);
      if (ext === undefined) continue;
      for (const e of children(ext[0], `${what}.extensions`)) {
        const parts = children(e, `${what}.extension`);
        const id = oid(parts[0], `${what}.extnID`);
        extensions.set(id, octets(parts[parts.length - 1], `${what}.extnValue`));
      }
    }
    const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject);
    return {
      der,
      x509,
      publicKey,
      serial: integerHex(f[0], `${what}.serial`),
      notBefore: time(validity[0], `${what}.notBefore`),
      notAfter: time(validity[1], `${what}.notAfter`),
      issuerDer: rawOf(f[2]!),
      subjectDer: rawOf(f[4]!),
      subjectCn: cn?.[1] ?? "",
      extensions,
    };
  } catch (e) {
    if (e instanceof TwineError)
      throw new TwineError("attest.cert_parse", `${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Splits a PEM bundle into DER certificates (a trailing NUL, as Intel quotes carry, is allowed). */
export function pemToDers(pem: Uint8Array | string, what: string): Uint8Array[] {
  const text = typeof pem === "string" ? pem : Buffer.from(pem).toString("latin1");
  const body = text.replace(/\0+$/, "");
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;
  const out: Uint8Array[] = [];
  let rest = body;
  for (const m of body.matchAll(re)) {
    if (out.length === MAX_CHAIN_CERTS)
      throw new TwineError("attest.too_large", `${what}: more than ${MAX_CHAIN_CERTS} certificates`);
    out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
    rest = rest.replace(m[0], "");
  }
  if (out.length === 0 || rest.trim() !== "")
    throw new TwineError("attest.cert_parse", `${what}: not a PEM certificate chain`);
  return out;
}

/** A CRL file's DER: the bytes themselves, or the one block of a PEM `X509 CRL` file (as openssl writes). */
export function crlDerFrom(bytes: Uint8Array, what: string): Uint8Array {
  const head = Buffer.from(bytes.subarray(0, 64)).toString("latin1");
  if (!head.includes("-----BEGIN")) return bytes;
  if (bytes.length > 2 * MAX_CRL_SIZE)
    throw new TwineError("attest.too_large", `${what}: ${bytes.length} bytes`);
  const text = Buffer.from(bytes).toString("latin1");
  const m = /^\s*-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]*)-----END X509 CRL-----\s*$/.exec(text);
  if (m === null) throw new TwineError("attest.crl_invalid", `${what}: not one PEM X509 CRL`);
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
}

export function parseCertChain(pem: Uint8Array | string, what: string): Cert[] {
  return pemToDers(pem, what).map((d, i) => parseCert(d, `${what}[${i}]`));
}

export function issues(...list: (Issue | undefined)[]): Issue[] {
  return list.filter((i): i is Issue => i !== undefined);
}

/** Whether `cert` is signed by `issuer` (names chained and signature valid). */
export function signedBy(cert: Cert, issuer: Cert): boolean {
  if (!bytesEqual(cert.issuerDer, issuer.subjectDer)) return false;
  try {
    return cert.x509.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Checks a leaf-first chain up to the pinned `root`. The presented chain may end with its own copy of
 * the root; it must then equal `root` byte for byte. Returns every problem found, not only the first.
 */
export function checkChain(presented: readonly Cert[], root: Cert, now: Date, what: string): Issue[] {
  const found: Issue[] = [];
  const chain = [...presented];
  const last = chain[chain.length - 1];
  if (last !== undefined && bytesEqual(last.issuerDer, last.subjectDer)) {
    if (!bytesEqual(last.der, root.der)) {
      found.push({
        code: "attest.root_untrusted",
        detail: `${what}: root "${last.subjectCn}" is not the pinned root`,
      });
      return found;
    }
    chain.pop();
  }
  chain.push(root);
  if (!signedBy(root, root))
    found.push({ code: "attest.root_untrusted", detail: `${what}: pinned root is not self-signed` });
  for (let i = 0; i + 1 < chain.length; i++) {
    const c = chain[i]!;
    const parent = chain[i + 1]!;
    if (!parent.x509.ca) {
      found.push({
        code: "attest.cert_chain",
        detail: `${what}: issuer "${parent.subjectCn}" is not a CA certificate`,
      });
    } else if (!signedBy(c, parent)) {
      const code =
        i + 2 === chain.length && !bytesEqual(c.issuerDer, parent.subjectDer)
          ? "attest.root_untrusted"
          : "attest.cert_chain";
      found.push({ code, detail: `${what}: "${c.subjectCn}" is not signed by "${parent.subjectCn}"` });
    }
  }
  for (const c of chain) {
    if (now < c.notBefore || now > c.notAfter) {
      found.push({
        code: "attest.cert_expired",
        detail: `${what}: "${c.subjectCn}" valid ${c.notBefore.toISOString()}..${c.notAfter.toISOString()}, now ${now.toISOString()}`,
      });
    }
  }
  return found;
}

export interface Crl {
  der: Uint8Array;
  tbs: Uint8Array;
  issuerDer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  revoked: ReadonlySet<string>;
  sigAlg: string;
  /** The outer AlgorithmIdentifier's parameters (RSA-PSS carries hash, MGF and salt length here). */
  sigAlgParams: Der | undefined;
  /** RFC 5280 §5.1.1.2: the outer and the signed (tbs) AlgorithmIdentifier must be equal. */
  sigAlgMatchesTbs: boolean;
  signature: Uint8Array;
}

export function parseCrl(der: Uint8Array, what: string): Crl {
  if (der.length > MAX_CRL_SIZE) throw new TwineError("attest.too_large", `${what}: ${der.length} bytes`);
  const key = keyOf(der);
  const hit = crlCache.get(key);
  if (hit !== undefined) return hit;
  const c = parseCrlUncached(Uint8Array.from(der), what);
  crlCache.set(key, c);
  return c;
}

function parseCrlUncached(der: Uint8Array, what: string): Crl {
  try {
    // The outer tag and lengths are not signed: a SET or a BER length there must not parse as the same CRL.
    assertDerLengths(der, what);
    const top = sequence(parseDer(der, what), what);
    const tbsNode = top[0];
    const tbs = children(tbsNode, `${what}.tbs`);
    const alg = children(top[1], `${what}.signatureAlgorithm`);
    // version is an optional INTEGER before the signature algorithm SEQUENCE.
    const i = isInteger(tbs[0]) ? 1 : 0;
    const issuer = tbs[i + 1];
    const thisUpdate = time(tbs[i + 2], `${what}.thisUpdate`);
    let j = i + 3;
    let nextUpdate: Date | undefined;
    if (isTime(tbs[j])) {
      nextUpdate = time(tbs[j], `${what}.nextUpdate`);
      j++;
    }
    const tbsAlg = tbs[i];
    const revoked = new Set<string>();
    const list = tbs[j];
    if (list !== undefined && contextChildren(list, 0) === undefined) {
      for (const entry of children(list, `${what}.revokedCertificates`)) {
        revoked.add(integerHex(children(entry, `${what}.entry`)[0], `${what}.entry.serial`));
      }
    }
    return {
      der,
      tbs: rawOf(tbsNode!),
      issuerDer: rawOf(issuer!),
      thisUpdate,
      nextUpdate,
      revoked,
      sigAlg: oid(alg[0], `${what}.signatureAlgorithm`),
      sigAlgParams: alg[1],
      sigAlgMatchesTbs: tbsAlg !== undefined && bytesEqual(rawOf(tbsAlg), rawOf(top[1]!)),
      signature: bitString(top[2], `${what}.signature`),
    };
  } catch (e) {
    if (e instanceof TwineError && e.code === "attest.der") {
      throw new TwineError("attest.crl_invalid", `${what}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

export function verifyEcdsaDer(alg: string, key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  const hash = alg === OID_ECDSA_SHA256 ? "sha256" : alg === OID_ECDSA_SHA384 ? "sha384" : undefined;
  if (hash === undefined) return false;
  try {
    return cryptoVerify(hash, data, key, sig);
  } catch {
    return false;
  }
}

/** A context-tagged `[tag]` field of a SEQUENCE of optional fields (RSASSA-PSS-params), or undefined. */
function tagged(fields: readonly Der[], tag: number): Der | undefined {
  for (const n of fields) {
    const c = contextChildren(n, tag);
    if (c !== undefined) {
      if (c.length !== 1) throw new TwineError("attest.der", `[${tag}] holds ${c.length} values`);
      return c[0];
    }
  }
  return undefined;
}

/**
 * Verifies an RSASSA-PSS signature ([S6]: AMD signs with SHA-384, MGF1-SHA-384, 48-byte salt) with the
 * hash, mask and salt length read from the signature's own parameters: only SHA-384 for both is
 * accepted, so the RFC 4055 SHA-1 defaults of absent fields are refused rather than used.
 */
export function verifyRsaPss(
  alg: string,
  params: Der | undefined,
  key: KeyObject,
  data: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (alg !== OID_RSASSA_PSS || params === undefined || key.asymmetricKeyType !== "rsa") return false;
  try {
    const p = children(params, "RSASSA-PSS-params");
    const hash = tagged(p, 0);
    const mgf = tagged(p, 1);
    const salt = tagged(p, 2);
    const trailer = tagged(p, 3);
    if (hash === undefined || oid(children(hash, "hashAlgorithm")[0], "hashAlgorithm") !== OID_SHA384)
      return false;
    if (mgf === undefined) return false;
    const m = children(mgf, "maskGenAlgorithm");
    if (oid(m[0], "maskGenAlgorithm") !== OID_MGF1) return false;
    if (oid(children(m[1], "MGF1 hash")[0], "MGF1 hash") !== OID_SHA384) return false;
    if (trailer !== undefined && smallInt(trailer, "trailerField") !== 1) return false;
    const saltLength = salt === undefined ? 20 : smallInt(salt, "saltLength", MAX_PSS_SALT);
    return cryptoVerify("sha384", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
  } catch {
    return false;
  }
}

/** A CRL's validity window for people: `thisUpdate..nextUpdate` ("?" when it has no nextUpdate). */
export function crlWindow(crl: Crl): string {
  return `${crl.thisUpdate.toISOString()}..${crl.nextUpdate?.toISOString() ?? "?"}`;
}

/** `attest.crl_expired` unless `now` lies in [thisUpdate, nextUpdate] (a CRL without nextUpdate never does). */
export function crlCurrency(crl: Crl, now: Date, what: string): Issue | undefined {
  if (crl.nextUpdate !== undefined && now >= crl.thisUpdate && now <= crl.nextUpdate) return undefined;
  return { code: "attest.crl_expired", detail: `${what}: valid ${crlWindow(crl)}, now ${now.toISOString()}` };
}

/** A CRL is usable when its issuer signed it and `now` lies in [thisUpdate, nextUpdate]. */
export function checkCrl(crl: Crl, issuer: Cert, now: Date, what: string): Issue[] {
  const found: Issue[] = [];
  if (
    !bytesEqual(crl.issuerDer, issuer.subjectDer) ||
    !verifyEcdsaDer(crl.sigAlg, issuer.publicKey, crl.tbs, crl.signature)
  ) {
    found.push({ code: "attest.crl_invalid", detail: `${what}: not signed by "${issuer.subjectCn}"` });
  }
  const stale = crlCurrency(crl, now, what);
  if (stale !== undefined) found.push(stale);
  return found;
}

/** A revoked certificate is one whose issuer's CRL lists its serial. */
export function checkNotRevoked(cert: Cert, crl: Crl, what: string): Issue | undefined {
  if (!bytesEqual(cert.issuerDer, crl.issuerDer)) {
    return {
      code: "attest.crl_invalid",
      detail: `${what}: CRL issuer is not the issuer of "${cert.subjectCn}"`,
    };
  }
  if (crl.revoked.has(cert.serial))
    return {
      code: "attest.cert_revoked",
      detail: `${what}: "${cert.subjectCn}" serial ${cert.serial} is revoked`,
    };
  return undefined;
}
