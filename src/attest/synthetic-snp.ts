// Synthetic AMD SEV-SNP evidence: a locally generated ARK → ASK → VCEK chain (RSA-PSS/SHA-384 as AMD's,
// [S6]), reports signed by the VCEK, and CRLs signed by the ARK. For tests. Nothing here holds or
// imitates an AMD key: its evidence verifies only when `roots` pins its ARK and policy sets
// `dangerousAllowCustomRoots`.
import { generateKeyPairSync, randomBytes, sign as cryptoSign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import { SIG_ALGO_ECDSA_P384_SHA384, SNP_SIGNED_SIZE, encodeTcb, serializeSnpReport } from "./abi-snp.js";
import type { SnpProduct, SnpReport, SnpTcbParts } from "./abi-snp.js";
import type { TrustRoots } from "./roots.js";
import { RSA_PSS_SHA384, makeCert, makeCrl } from "./synthetic.js";
import type { KeyPair, SigAlg } from "./synthetic.js";
import { OID_HWID, OID_PRODUCT_NAME, SPL_OIDS } from "./verify-snp.js";
import type { SnpCollateral } from "./verify-snp.js";

const DAY = 86_400_000;

export interface SyntheticSnpOptions {
  /** Certificates are valid for [now - 1 year, now + 10 years]; CRLs by default for [now - 1 day, now + 7 days]. */
  now: Date;
  /** Milan (CPUID family 0x19 model 0x01), Genoa (model 0x11) or Turin (family 0x1A model 0x02). Default Milan. */
  product?: SnpProduct;
  /** The reports' TCBs, in the product's layout (Turin needs `fmc`). */
  tcb?: SnpTcbParts;
  /** The VCEK's SPLs when they should differ from `tcb`; no `fmc` here means no fmcSPL extension. */
  vcekTcb?: SnpTcbParts;
  /** The VCEK's productName extension. Default `<product>-B0`. */
  vcekProductName?: string;
}

export interface SyntheticCrlOptions {
  revokedSerials?: readonly Uint8Array[];
  thisUpdate?: Date;
  nextUpdate?: Date;
  /** Default: the ARK's private key. */
  signingKey?: KeyObject;
  /** Default: the ARK's name. */
  issuerCn?: string;
  /** Default: RSA-PSS, SHA-384, salt 48 (AMD's). */
  sigAlg?: SigAlg;
}

export function rsaKeyPair(): KeyPair {
  // 2048 bits keeps tests fast; AMD's ARK and ASK are 4096-bit, which changes nothing checked here.
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

/** The big-endian r‖s of a P-384 signature as the report's two 72-byte little-endian fields. */
function leSignature(p1363: Uint8Array): { r: Uint8Array; s: Uint8Array } {
  const r = new Uint8Array(72);
  const s = new Uint8Array(72);
  r.set(Uint8Array.from(p1363.subarray(0, 48)).reverse());
  s.set(Uint8Array.from(p1363.subarray(48, 96)).reverse());
  return { r, s };
}

const der = (n: asn1js.AsnType): Uint8Array => new Uint8Array(n.toBER());

/** CPUID family, model, stepping of one part of each product line. */
const CPUID: Record<SnpProduct, Uint8Array> = {
  Milan: Uint8Array.of(0x19, 0x01, 0x01),
  Genoa: Uint8Array.of(0x19, 0x11, 0x01),
  Turin: Uint8Array.of(0x1a, 0x02, 0x00),
};

/** A synthetic SNP platform: one ARK, ASK and VCEK (for one chip and TCB), reports and CRLs. */
export class SyntheticSnpPlatform {
  readonly product: SnpProduct;
  readonly arkDer: Uint8Array;
  readonly askDer: Uint8Array;
  readonly vcekDer: Uint8Array;
  readonly askSerial: Uint8Array;
  readonly vcekSerial: Uint8Array;
  /** 64 random bytes; for Turin 8 random bytes then zeros, as KDS certifies only 8 (hwID). */
  readonly chipId: Uint8Array;
  readonly tcb: SnpTcbParts;
  private readonly now: Date;
  private readonly ark = rsaKeyPair();
  private readonly ask = rsaKeyPair();
  private readonly vcek = generateKeyPairSync("ec", { namedCurve: "P-384" });

  constructor(opts: SyntheticSnpOptions) {
    this.now = opts.now;
    this.product = opts.product ?? "Milan";
    const turin = this.product === "Turin";
    this.tcb =
      opts.tcb ??
      (turin
        ? { fmc: 1, bootloader: 3, tee: 2, snp: 5, microcode: 90 }
        : { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
    const vcekTcb = opts.vcekTcb ?? this.tcb;
    this.chipId = new Uint8Array(64);
    this.chipId.set(randomBytes(turin ? 8 : 64));
    const from = new Date(opts.now.getTime() - 365 * DAY);
    const to = new Date(opts.now.getTime() + 3650 * DAY);
    const arkCn = `ARK-${this.product}`;
    const askCn = `SEV-${this.product}`;
    const common = { notBefore: from, notAfter: to, sigAlg: RSA_PSS_SHA384 };
    this.arkDer = makeCert({
      ...common,
      subjectCn: arkCn,
      issuerCn: arkCn,
      publicKey: this.ark.publicKey,
      signingKey: this.ark.privateKey,
      serial: Uint8Array.of(1, 0, 0),
      ca: true,
    });
    this.askSerial = Uint8Array.of(1, 0, 1);
    this.askDer = makeCert({
      ...common,
      subjectCn: askCn,
      issuerCn: arkCn,
      publicKey: this.ask.publicKey,
      signingKey: this.ark.privateKey,
      serial: this.askSerial,
      ca: true,
    });
    // Distinct from every ASK serial, so a CRL can list one without the other.
    this.vcekSerial = Uint8Array.of(0x42, ...randomBytes(7));
    const int = (v: number): Uint8Array => der(new asn1js.Integer({ value: v }));
    this.vcekDer = makeCert({
      ...common,
      subjectCn: "SEV-VCEK",
      issuerCn: askCn,
      publicKey: this.vcek.publicKey,
      signingKey: this.ask.privateKey,
      serial: this.vcekSerial,
      ca: false,
      extensions: [
        {
          oid: OID_PRODUCT_NAME,
          value: der(new asn1js.IA5String({ value: opts.vcekProductName ?? `${this.product}-B0` })),
        },
        ...(vcekTcb.fmc === undefined ? [] : [{ oid: SPL_OIDS.fmc, value: int(vcekTcb.fmc) }]),
        { oid: SPL_OIDS.bootloader, value: int(vcekTcb.bootloader) },
        { oid: SPL_OIDS.tee, value: int(vcekTcb.tee) },
        { oid: SPL_OIDS.snp, value: int(vcekTcb.snp) },
        { oid: SPL_OIDS.microcode, value: int(vcekTcb.microcode) },
        // Turin's KDS stores the 8-byte hwID raw (no OCTET STRING tag), as the real Turin VCEK does.
        turin
          ? { oid: OID_HWID, value: this.chipId.slice(0, 8) }
          : { oid: OID_HWID, value: der(new asn1js.OctetString({ valueHex: this.chipId })) },
      ],
    });
  }

  /** Roots pinning this platform's ARK for its product (policy must set dangerousAllowCustomRoots). */
  roots(): Partial<TrustRoots> {
    return { amdArk: { [this.product]: this.arkDer } };
  }

  /** VCEK, ASK and ARK, with `crl` when given. */
  collateral(crl?: Uint8Array): SnpCollateral {
    const certs = [this.vcekDer, this.askDer, this.arkDer];
    return crl === undefined ? { certs } : { certs, crl };
  }

  /** A v3 report, not debug, VMPL 0, REPORTED_TCB = the VCEK's SPLs, signed by the VCEK. */
  report(fields: Partial<SnpReport> = {}): Uint8Array {
    const tcb = encodeTcb(this.tcb, this.product);
    const z = (n: number): Uint8Array => new Uint8Array(n);
    const r: SnpReport = {
      version: 3,
      guestSvn: 0,
      policy: 0x30000n,
      familyId: z(16),
      imageId: z(16),
      vmpl: 0,
      signatureAlgo: SIG_ALGO_ECDSA_P384_SHA384,
      currentTcb: tcb,
      platformInfo: 1n,
      flags: 0,
      reportData: z(64),
      measurement: z(48),
      hostData: z(32),
      idKeyDigest: z(48),
      authorKeyDigest: z(48),
      reportId: z(32),
      reportIdMa: z(32),
      reportedTcb: tcb,
      cpuid: CPUID[this.product],
      chipId: this.chipId,
      committedTcb: tcb,
      currentVersion: Uint8Array.of(40, 55, 1),
      committedVersion: Uint8Array.of(40, 55, 1),
      launchTcb: tcb,
      launchMitVector: 0n,
      currentMitVector: 0n,
      signatureR: z(72),
      signatureS: z(72),
      ...fields,
    };
    const unsigned = serializeSnpReport(r);
    const sig = cryptoSign("sha384", unsigned.subarray(0, SNP_SIGNED_SIZE), {
      key: this.vcek.privateKey,
      dsaEncoding: "ieee-p1363",
    });
    const { r: sr, s: ss } = leSignature(new Uint8Array(sig));
    return serializeSnpReport({ ...r, signatureR: sr, signatureS: ss });
  }

  /** An AMD-style CRL (KDS `/vcek/v1/{product}/crl`), signed by the ARK unless told otherwise. */
  crl(o: SyntheticCrlOptions = {}): Uint8Array {
    return makeCrl({
      issuerCn: o.issuerCn ?? `ARK-${this.product}`,
      signingKey: o.signingKey ?? this.ark.privateKey,
      thisUpdate: o.thisUpdate ?? new Date(this.now.getTime() - DAY),
      nextUpdate: o.nextUpdate ?? new Date(this.now.getTime() + 7 * DAY),
      revokedSerials: o.revokedSerials ?? [],
      sigAlg: o.sigAlg ?? RSA_PSS_SHA384,
    });
  }
}
