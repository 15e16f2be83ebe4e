// Synthetic Intel DCAP evidence: a locally generated root CA, PCK chain, CRLs, TCB info and QE identity,
// and SGX v3 or TDX v4/v5 quotes signed through them (node:crypto keys; certificates and CRLs encoded
// with asn1js).
// For tests and the `sim` TEE backend. Nothing here holds or imitates a vendor key: its evidence
// verifies only when its root is passed as `roots` and policy sets `dangerousAllowCustomRoots`.
import { constants, createHash, generateKeyPairSync, randomBytes, sign as cryptoSign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import {
  INTEL_QE_VENDOR_ID,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  serializeQuote,
  serializeSgxReportBody,
  serializeSignedRegion,
} from "./abi-quote.js";
import type { Quote, QuoteBody, QuoteHeader, SgxReportBody, TdReportBody } from "./abi-quote.js";
import { fromHex, hex } from "./bytes.js";
import type { DcapCollateral, TcbLevelStatus } from "./collateral.js";
import { OID_SGX_EXTENSION } from "./pck.js";
import { tdxModuleId } from "./tcb.js";
import { OID_ECDSA_SHA256, OID_MGF1, OID_RSASSA_PSS, OID_SHA384 } from "./x509.js";

const OID_CN = "2.5.4.3";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function p256KeyPair(): KeyPair {
  return generateKeyPairSync("ec", { namedCurve: "P-256" });
}

function ber(n: asn1js.AsnType): Uint8Array {
  return new Uint8Array(n.toBER());
}
function name(cn: string): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [
      new asn1js.Set({
        value: [
          new asn1js.Sequence({
            value: [new asn1js.ObjectIdentifier({ value: OID_CN }), new asn1js.Utf8String({ value: cn })],
          }),
        ],
      }),
    ],
  });
}
function asnTime(d: Date): asn1js.AsnType {
  return d.getUTCFullYear() < 2050
    ? new asn1js.UTCTime({ valueDate: d })
    : new asn1js.GeneralizedTime({ valueDate: d });
}
/** A DER INTEGER (minimal: no redundant leading zeros, one 0x00 only to keep it positive). */
function positiveInt(bytes: Uint8Array): asn1js.Integer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const m = bytes.subarray(start);
  const b = (m[0] ?? 0) & 0x80 ? Uint8Array.of(0, ...m) : m;
  return new asn1js.Integer({ valueHex: b });
}
/**
 * How a synthetic certificate or CRL is signed: ECDSA P-256/SHA-256 (Intel's form), or RSASSA-PSS with
 * SHA-384, MGF1-SHA-384 and a salt of `saltLength` bytes (AMD's form, [S6]; AMD uses 48).
 */
export type SigAlg = { kind: "ecdsa-sha256" } | { kind: "rsa-pss-sha384"; saltLength: number };
export const ECDSA_SHA256: SigAlg = { kind: "ecdsa-sha256" };
export const RSA_PSS_SHA384: SigAlg = { kind: "rsa-pss-sha384", saltLength: 48 };

function algorithmId(a: SigAlg): asn1js.Sequence {
  if (a.kind === "ecdsa-sha256")
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_ECDSA_SHA256 })] });
  const sha384 = (): asn1js.Sequence =>
    new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_SHA384 }), new asn1js.Null()] });
  const tag = (n: number, v: asn1js.AsnType): asn1js.Constructed =>
    new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [v] });
  return new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: OID_RSASSA_PSS }),
      new asn1js.Sequence({
        value: [
          tag(0, sha384()),
          tag(
            1,
            new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_MGF1 }), sha384()] }),
          ),
          tag(2, new asn1js.Integer({ value: a.saltLength })),
          tag(3, new asn1js.Integer({ value: 1 })),
        ],
      }),
    ],
  });
}

function signed(tbs: asn1js.Sequence, key: KeyObject, a: SigAlg): Uint8Array {
  const data = ber(tbs);
  const sig =
    a.kind === "ecdsa-sha256"
      ? cryptoSign("sha256", data, key)
      : cryptoSign("sha384", data, {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: a.saltLength,
        });
  return ber(new asn1js.Sequence({ value: [tbs, algorithmId(a), new asn1js.BitString({ valueHex: sig })] }));
}

export interface CertSpec {
  subjectCn: string;
  issuerCn: string;
  /** The key the certificate is for. */
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed root). */
  signingKey: KeyObject;
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  /** Extra extensions: OID and the DER of the extnValue contents. */
  extensions?: readonly { oid: string; value: Uint8Array }[];
  /** Default ECDSA_SHA256. */
  sigAlg?: SigAlg;
}

/** An X.509 v3 certificate, as DER. */
export function makeCert(s: CertSpec): Uint8Array {
  const spki = asn1js.fromBER(s.publicKey.export({ type: "spki", format: "der" })).result;
  const exts = [
    ...(s.ca
      ? [
          {
            oid: OID_BASIC_CONSTRAINTS,
            value: ber(new asn1js.Sequence({ value: [new asn1js.Boolean({ value: true })] })),
          },
        ]
      : []),
    ...(s.extensions ?? []),
  ];
  const tbs = new asn1js.Sequence({
    value: [
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [new asn1js.Integer({ value: 2 })],
      }),
      positiveInt(s.serial),
      algorithmId(s.sigAlg ?? ECDSA_SHA256),
      name(s.issuerCn),
      new asn1js.Sequence({ value: [asnTime(s.notBefore), asnTime(s.notAfter)] }),
      name(s.subjectCn),
      spki,
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 3 },
        value: [
          new asn1js.Sequence({
            value: exts.map(
              (e) =>
                new asn1js.Sequence({
                  value: [
                    new asn1js.ObjectIdentifier({ value: e.oid }),
                    new asn1js.OctetString({ valueHex: e.value }),
                  ],
                }),
            ),
          }),
        ],
      }),
    ],
  });
  return signed(tbs, s.signingKey, s.sigAlg ?? ECDSA_SHA256);
}

export interface CrlSpec {
  issuerCn: string;
  signingKey: KeyObject;
  thisUpdate: Date;
  nextUpdate: Date;
  revokedSerials: readonly Uint8Array[];
  /** Default ECDSA_SHA256. */
  sigAlg?: SigAlg;
}

/** An X.509 v2 CRL, as DER. */
export function makeCrl(s: CrlSpec): Uint8Array {
  const fields: asn1js.AsnType[] = [
    new asn1js.Integer({ value: 1 }),
    algorithmId(s.sigAlg ?? ECDSA_SHA256),
    name(s.issuerCn),
    asnTime(s.thisUpdate),
    asnTime(s.nextUpdate),
  ];
  if (s.revokedSerials.length > 0) {
    fields.push(
      new asn1js.Sequence({
        value: s.revokedSerials.map(
          (r) => new asn1js.Sequence({ value: [positiveInt(r), asnTime(s.thisUpdate)] }),
        ),
      }),
    );
  }
  return signed(new asn1js.Sequence({ value: fields }), s.signingKey, s.sigAlg ?? ECDSA_SHA256);
}

export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}

/** The SGX extension of a PCK certificate ([S4]). */
export function makePckExtension(p: {
  tcbComponents: readonly number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: string;
  fmspc: string;
}): Uint8Array {
  const o = (suffix: string): asn1js.ObjectIdentifier =>
    new asn1js.ObjectIdentifier({ value: `${OID_SGX_EXTENSION}.${suffix}` });
  const kv = (suffix: string, v: asn1js.AsnType): asn1js.Sequence =>
    new asn1js.Sequence({ value: [o(suffix), v] });
  const tcb = p.tcbComponents.map((svn, i) => kv(`2.${i + 1}`, new asn1js.Integer({ value: svn })));
  tcb.push(
    kv("2.17", new asn1js.Integer({ value: p.pceSvn })),
    kv("2.18", new asn1js.OctetString({ valueHex: p.cpuSvn })),
  );
  return ber(
    new asn1js.Sequence({
      value: [
        kv("1", new asn1js.OctetString({ valueHex: new Uint8Array(16) })),
        kv("2", new asn1js.Sequence({ value: tcb })),
        kv("3", new asn1js.OctetString({ valueHex: fromHex(p.pceId, "pceId", 2) })),
        kv("4", new asn1js.OctetString({ valueHex: fromHex(p.fmspc, "fmspc", 6) })),
        kv("5", new asn1js.Enumerated({ value: 0 })),
      ],
    }),
  );
}

export interface SyntheticSgxOptions {
  /** Collateral is issued for [now - 1 day, now + 29 days]; certificates for [now - 1 year, now + 10 years]. */
  now: Date;
  /** Status of the platform's TCB level (default UpToDate). */
  tcbStatus?: TcbLevelStatus;
  /** Status of the QE's identity level (default UpToDate; the QE's ISVSVN is 10). */
  qeTcbStatus?: TcbLevelStatus;
  /** Put the PCK leaf on the PCK CRL. */
  revokePckLeaf?: boolean;
  /** Put the PCK CA on the root CA CRL. */
  revokePckCa?: boolean;
  /** Validity of the PCK leaf certificate. */
  pckLeafValidity?: { notBefore: Date; notAfter: Date };
}

const DAY = 86_400_000;
const PCK_TCB = [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const FMSPC = "00a067110000";

/** One TDX TCB level of a synthetic TDX platform's TCB info (levels are listed highest first). */
export interface SyntheticTdxLevel {
  /** tdxtcbcomponents SVNs (up to 16; the rest 0). */
  tdxComponents: readonly number[];
  tcbStatus: TcbLevelStatus;
  /** sgxtcbcomponents SVNs; default the PCK certificate's, so the SGX part matches. */
  sgxComponents?: readonly number[];
  advisoryIds?: readonly string[];
}

/** A TDX module identity `TDX_%02X` (for TEE_TCB_SVN[1] = `major`) with its levels, highest first. */
export interface SyntheticTdxModuleIdentity {
  major: number;
  levels: readonly { isvsvn: number; tcbStatus: TcbLevelStatus; advisoryIds?: readonly string[] }[];
}

/** What makes a synthetic platform a TDX one: its TCB info is `id: "TDX"`, its QE identity `TD_QE`. */
export interface SyntheticTdxCollateral {
  tcbLevels: readonly SyntheticTdxLevel[];
  moduleIdentities: readonly SyntheticTdxModuleIdentity[];
}

/**
 * A synthetic SGX platform: root CA → PCK Processor CA → PCK leaf, a TCB signing certificate, CRLs,
 * TCB info and QE identity, all issued by a freshly generated root. `quote()` signs SGX v3 quotes.
 */
export class SyntheticSgxPlatform {
  readonly rootDer: Uint8Array;
  readonly collateral: DcapCollateral;
  readonly pckLeafDer: Uint8Array;
  protected readonly attestKey = p256KeyPair();
  protected readonly pckKey = p256KeyPair();
  protected readonly pckChainPem: string;
  protected readonly qeReport: SgxReportBody;
  protected readonly qeAuthData = new Uint8Array(randomBytes(32));

  /** `tdx` (set by SyntheticTdxPlatform) makes the TCB info and QE identity TDX ones. */
  constructor(opts: SyntheticSgxOptions, tdx?: SyntheticTdxCollateral) {
    const now = opts.now.getTime();
    const certFrom = new Date(now - 365 * DAY);
    const certTo = new Date(now + 3650 * DAY);
    const colFrom = new Date(now - DAY);
    const colTo = new Date(now + 29 * DAY);
    const root = p256KeyPair();
    const ca = p256KeyPair();
    const tcbSigner = p256KeyPair();
    const ROOT = "Twine Synthetic SGX Root CA";
    const CA = "Twine Synthetic SGX PCK Processor CA";
    const serial = (): Uint8Array => new Uint8Array(randomBytes(16));
    this.rootDer = makeCert({
      subjectCn: ROOT,
      issuerCn: ROOT,
      publicKey: root.publicKey,
      signingKey: root.privateKey,
      serial: serial(),
      notBefore: certFrom,
      notAfter: certTo,
      ca: true,
    });
    const caSerial = serial();
    const caDer = makeCert({
      subjectCn: CA,
      issuerCn: ROOT,
      publicKey: ca.publicKey,
      signingKey: root.privateKey,
      serial: caSerial,
      notBefore: certFrom,
      notAfter: certTo,
      ca: true,
    });
    const leafSerial = serial();
    this.pckLeafDer = makeCert({
      subjectCn: "Twine Synthetic SGX PCK Certificate",
      issuerCn: CA,
      publicKey: this.pckKey.publicKey,
      signingKey: ca.privateKey,
      serial: leafSerial,
      notBefore: opts.pckLeafValidity?.notBefore ?? certFrom,
      notAfter: opts.pckLeafValidity?.notAfter ?? certTo,
      ca: false,
      extensions: [
        {
          oid: OID_SGX_EXTENSION,
          value: makePckExtension({
            tcbComponents: PCK_TCB,
            pceSvn: 13,
            cpuSvn: new Uint8Array(16),
            pceId: "0000",
            fmspc: FMSPC,
          }),
        },
      ],
    });
    const tcbDer = makeCert({
      subjectCn: "Twine Synthetic SGX TCB Signing",
      issuerCn: ROOT,
      publicKey: tcbSigner.publicKey,
      signingKey: root.privateKey,
      serial: serial(),
      notBefore: certFrom,
      notAfter: certTo,
      ca: false,
    });
    this.pckChainPem = derToPem(this.pckLeafDer) + derToPem(caDer) + derToPem(this.rootDer);
    const qeMrSigner = new Uint8Array(randomBytes(32));
    this.qeReport = {
      ...emptySgxReportBody(),
      attributes: fromHex("11000000000000000000000000000000", "attributes"),
      mrSigner: qeMrSigner,
      isvProdId: 1,
      isvSvn: 10,
      reportData: reportDataFor(this.attestKey.publicKey, this.qeAuthData),
    };
    const iso = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, "Z");
    const svns = (a: readonly number[]): { svn: number }[] =>
      Array.from({ length: 16 }, (_, i) => ({ svn: a[i] ?? 0 }));
    const advisories = (a: readonly string[] | undefined): { advisoryIDs?: string[] } =>
      a === undefined || a.length === 0 ? {} : { advisoryIDs: [...a] };
    const ZERO_SIGNER = "00".repeat(48);
    const tdxPart =
      tdx === undefined
        ? {}
        : {
            tdxModule: { mrsigner: ZERO_SIGNER, attributes: "0".repeat(16), attributesMask: "F".repeat(16) },
            tdxModuleIdentities: tdx.moduleIdentities.map((m) => ({
              id: tdxModuleId(m.major),
              mrsigner: ZERO_SIGNER,
              attributes: "0".repeat(16),
              attributesMask: "F".repeat(16),
              tcbLevels: m.levels.map((l) => ({
                tcb: { isvsvn: l.isvsvn },
                tcbDate: iso(colFrom),
                tcbStatus: l.tcbStatus,
                ...advisories(l.advisoryIds),
              })),
            })),
          };
    const tcbLevels =
      tdx === undefined
        ? [
            {
              tcb: { sgxtcbcomponents: svns(PCK_TCB), pcesvn: 13 },
              tcbDate: iso(colFrom),
              tcbStatus: opts.tcbStatus ?? "UpToDate",
              ...(opts.tcbStatus !== undefined && opts.tcbStatus !== "UpToDate"
                ? { advisoryIDs: ["TWINE-SA-00001"] }
                : {}),
            },
          ]
        : tdx.tcbLevels.map((l) => ({
            tcb: {
              sgxtcbcomponents: svns(l.sgxComponents ?? PCK_TCB),
              pcesvn: 13,
              tdxtcbcomponents: svns(l.tdxComponents),
            },
            tcbDate: iso(colFrom),
            tcbStatus: l.tcbStatus,
            ...advisories(l.advisoryIds),
          }));
    const tcbInfo = JSON.stringify({
      id: tdx === undefined ? "SGX" : "TDX",
      version: 3,
      issueDate: iso(colFrom),
      nextUpdate: iso(colTo),
      fmspc: FMSPC.toUpperCase(),
      pceId: "0000",
      tcbType: 0,
      tcbEvaluationDataNumber: 1,
      ...tdxPart,
      tcbLevels,
    });
    const qeStatus = opts.qeTcbStatus ?? "UpToDate";
    const qeIdentity = JSON.stringify({
      id: tdx === undefined ? "QE" : "TD_QE",
      version: 2,
      issueDate: iso(colFrom),
      nextUpdate: iso(colTo),
      tcbEvaluationDataNumber: 1,
      miscselect: "00000000",
      miscselectMask: "FFFFFFFF",
      attributes: "11000000000000000000000000000000",
      attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
      mrsigner: hex(qeMrSigner).toUpperCase(),
      isvprodid: 1,
      // A non-UpToDate QE status is the level below a newer UpToDate one (the QE's ISVSVN is 10).
      tcbLevels: [
        ...(qeStatus === "UpToDate"
          ? []
          : [{ tcb: { isvsvn: 11 }, tcbDate: iso(colFrom), tcbStatus: "UpToDate" }]),
        { tcb: { isvsvn: 8 }, tcbDate: iso(colFrom), tcbStatus: qeStatus },
      ],
    });
    const p1363 = (text: string): Uint8Array =>
      new Uint8Array(
        cryptoSign("sha256", Buffer.from(text, "utf8"), {
          key: tcbSigner.privateKey,
          dsaEncoding: "ieee-p1363",
        }),
      );
    this.collateral = {
      pckCrlIssuerChain: derToPem(caDer) + derToPem(this.rootDer),
      rootCaCrl: makeCrl({
        issuerCn: ROOT,
        signingKey: root.privateKey,
        thisUpdate: colFrom,
        nextUpdate: colTo,
        revokedSerials: opts.revokePckCa === true ? [caSerial] : [],
      }),
      pckCrl: makeCrl({
        issuerCn: CA,
        signingKey: ca.privateKey,
        thisUpdate: colFrom,
        nextUpdate: colTo,
        revokedSerials: opts.revokePckLeaf === true ? [leafSerial] : [],
      }),
      tcbInfoIssuerChain: derToPem(tcbDer) + derToPem(this.rootDer),
      tcbInfo,
      tcbInfoSignature: p1363(tcbInfo),
      qeIdentityIssuerChain: derToPem(tcbDer) + derToPem(this.rootDer),
      qeIdentity,
      qeIdentitySignature: p1363(qeIdentity),
    };
  }

  /** The quote as a structure (for tests that change a field and re-sign), signed. */
  quoteStruct(body: Partial<SgxReportBody> = {}): Quote {
    const header = {
      version: 3,
      attKeyType: 2,
      teeType: TEE_TYPE_SGX,
      qeSvn: 10,
      pceSvn: 13,
      qeVendorId: fromHex(INTEL_QE_VENDOR_ID, "qe vendor"),
      userData: new Uint8Array(20),
    };
    const report: SgxReportBody = {
      ...emptySgxReportBody(),
      attributes: fromHex("05000000000000000700000000000000", "attributes"),
      ...body,
    };
    return this.signedQuote(header, { type: "sgx", report });
  }

  /** `header ‖ body` signed by the attestation key, with the QE report and PCK chain. */
  protected signedQuote(header: QuoteHeader, body: QuoteBody): Quote {
    const signedRegion = serializeSignedRegion({ header, body });
    return {
      header,
      body,
      signatureData: {
        signature: new Uint8Array(
          cryptoSign("sha256", signedRegion, { key: this.attestKey.privateKey, dsaEncoding: "ieee-p1363" }),
        ),
        attestKey: rawP256(this.attestKey.publicKey),
        qeReport: this.qeReport,
        qeReportSignature: new Uint8Array(
          cryptoSign("sha256", serializeSgxReportBody(this.qeReport), {
            key: this.pckKey.privateKey,
            dsaEncoding: "ieee-p1363",
          }),
        ),
        qeAuthData: this.qeAuthData,
        pckChainPem: new Uint8Array(Buffer.from(this.pckChainPem, "latin1")),
      },
      trailing: new Uint8Array(0),
    };
  }

  /** An SGX v3 quote over `body` (unset fields zero; attributes INIT|MODE64BIT, not DEBUG). */
  quote(body: Partial<SgxReportBody> = {}): Uint8Array {
    return serializeQuote(this.quoteStruct(body));
  }
}

export interface SyntheticTdxOptions extends Omit<SyntheticSgxOptions, "tcbStatus"> {
  /** The TDX TCB info's levels, highest first (the PCK's SGX SVNs are the SGX platform's). */
  tcbLevels: readonly SyntheticTdxLevel[];
  /** `tdxModuleIdentities`; the module signer and attributes are zero, as the quotes' MRSIGNERSEAM. */
  moduleIdentities?: readonly SyntheticTdxModuleIdentity[];
}

/**
 * A synthetic TDX platform: the same chain as SyntheticSgxPlatform, with TDX TCB info (levels and module
 * identities as given) and a TD_QE identity. `tdQuote()` signs TDX v4 (TD 1.0) or v5 (TD 1.0 / 1.5) quotes.
 */
export class SyntheticTdxPlatform extends SyntheticSgxPlatform {
  constructor(opts: SyntheticTdxOptions) {
    super(opts, { tcbLevels: opts.tcbLevels, moduleIdentities: opts.moduleIdentities ?? [] });
  }

  /**
   * A TDX quote over `body` (unset fields zero: not DEBUG, MRSIGNERSEAM and SEAMATTRIBUTES zero). A
   * body with `teeTcbSvn2` is a TD 1.5 body (quote v5, MRSERVICETD zero unless given); else TD 1.0, in a
   * v4 quote unless `version` is 5.
   */
  tdQuoteStruct(body: Partial<TdReportBody>, version: 4 | 5 = body.teeTcbSvn2 === undefined ? 4 : 5): Quote {
    const z = (n: number): Uint8Array => new Uint8Array(n);
    const report: TdReportBody = {
      teeTcbSvn: z(16),
      mrSeam: z(48),
      mrSignerSeam: z(48),
      seamAttributes: z(8),
      tdAttributes: z(8),
      xfam: z(8),
      mrTd: z(48),
      mrConfigId: z(48),
      mrOwner: z(48),
      mrOwnerConfig: z(48),
      rtmr: [z(48), z(48), z(48), z(48)],
      reportData: z(64),
      ...body,
    };
    if (report.teeTcbSvn2 !== undefined) report.mrServiceTd ??= z(48);
    const header = {
      version,
      attKeyType: 2,
      teeType: TEE_TYPE_TDX,
      qeSvn: 0,
      pceSvn: 0,
      qeVendorId: fromHex(INTEL_QE_VENDOR_ID, "qe vendor"),
      userData: new Uint8Array(20),
    };
    return this.signedQuote(header, { type: "td", report });
  }

  tdQuote(body: Partial<TdReportBody>, version?: 4 | 5): Uint8Array {
    return serializeQuote(this.tdQuoteStruct(body, version));
  }
}

/** 16 TEE TCB SVN bytes: `[svn, major, …rest]` (byte 0 module SVN, 1 module major version). */
export function teeTcbSvn(...bytes: readonly number[]): Uint8Array {
  const out = new Uint8Array(16);
  out.set(bytes);
  return out;
}

export function emptySgxReportBody(): SgxReportBody {
  return {
    cpuSvn: new Uint8Array(16),
    miscSelect: 0,
    isvExtProdId: new Uint8Array(16),
    attributes: new Uint8Array(16),
    mrEnclave: new Uint8Array(32),
    mrSigner: new Uint8Array(32),
    configId: new Uint8Array(64),
    isvProdId: 0,
    isvSvn: 0,
    configSvn: 0,
    isvFamilyId: new Uint8Array(16),
    reportData: new Uint8Array(64),
  };
}

function rawP256(pub: KeyObject): Uint8Array {
  const jwk = pub.export({ format: "jwk" });
  return new Uint8Array(
    Buffer.concat([Buffer.from(jwk.x ?? "", "base64url"), Buffer.from(jwk.y ?? "", "base64url")]),
  );
}

function reportDataFor(attestKey: KeyObject, authData: Uint8Array): Uint8Array {
  const rd = new Uint8Array(64);
  rd.set(createHash("sha256").update(rawP256(attestKey)).update(authData).digest());
  return rd;
}
