// Verification of AMD SEV-SNP reports ([S5], [S6]; steps as ATTESTATION-SPEC §3.2): the VCEK (or VLEK)
// chain to the pinned ARK, the report's ECDSA P-384 signature, and the binding of the certificate to
// the report (hwID = CHIP_ID, SPLs = REPORTED_TCB). Policy is a separate layer (policy.ts).
// Products: Milan, Genoa, Turin. The product picks the pinned ARK and, for Turin, another TCB_VERSION
// layout (an FMC SPL in byte 0, the others moved) and an 8-byte hwID.
import { verify as cryptoVerify } from "node:crypto";
import { TwineError } from "../errors.js";
import { bytesEqual, hex, isZero } from "./bytes.js";
import {
  decodeTcb,
  formatTcb,
  parseSnpReport,
  signingKeyOf,
  snpProductFromCpuid,
  SIGNING_KEY_VCEK,
} from "./abi-snp.js";
import type { ParsedSnpReport, SnpTcbParts } from "./abi-snp.js";
import { ia5, octets, parseDer, smallInt } from "./der.js";
import type { Fields, Findings, Issue } from "./findings.js";
import { rootCert } from "./roots.js";
import {
  checkChain,
  crlCurrency,
  crlDerFrom,
  crlWindow,
  parseCert,
  parseCrl,
  pemToDers,
  verifyRsaPss,
} from "./x509.js";
import type { Cert } from "./x509.js";

// AMD's VCEK/VLEK extensions ([S6]); exported so synthetic evidence (synthetic-snp.ts) writes the same.
const OID_AMD = "1.3.6.1.4.1.3704.1";
export const OID_PRODUCT_NAME = `${OID_AMD}.2`;
export const OID_HWID = `${OID_AMD}.4`;
export const SPL_OIDS: Record<keyof SnpTcbParts, string> = {
  fmc: `${OID_AMD}.3.9`,
  bootloader: `${OID_AMD}.3.1`,
  tee: `${OID_AMD}.3.2`,
  snp: `${OID_AMD}.3.3`,
  microcode: `${OID_AMD}.3.8`,
};
/** KDS identifies a Turin chip by the first 8 bytes of CHIP_ID (the rest of the field is zero). */
const HWID_SIZE_TURIN = 8;
const HWID_SIZE = 64;

/** The certificates that come with an SNP report: VCEK or VLEK, ASK or ASVK, optionally the ARK. */
export interface SnpCollateral {
  certs: Uint8Array[];
  /**
   * AMD's CRL for the product (KDS `/vcek/v1/{product}/crl` or `/vlek/v1/{product}/crl`), DER or PEM.
   * Absent: revocation is not checked (`fields.amdCrl` says so) unless policy `requireSnpCrl` refuses that.
   */
  crl?: Uint8Array;
}

/** Reads DER or PEM certificate files into SNP collateral. */
export function snpCollateralFrom(files: readonly Uint8Array[]): SnpCollateral {
  const certs: Uint8Array[] = [];
  for (const b of files) {
    const text = Buffer.from(b.subarray(0, 64)).toString("latin1");
    if (text.includes("-----BEGIN")) certs.push(...pemToDers(b, "SNP certificates"));
    else certs.push(b);
  }
  return { certs };
}

export interface SnpOutcome {
  report?: ParsedSnpReport;
  /** The product whose ARK was used and whose TCB_VERSION layout decodes the report (when known). */
  product?: string;
  fields: Fields;
}

function productFromCert(c: Cert): string | undefined {
  const raw = c.extensions.get(OID_PRODUCT_NAME);
  if (raw === undefined) return undefined;
  try {
    return ia5(parseDer(raw, "productName"), "productName").split("-")[0];
  } catch {
    return undefined;
  }
}

/**
 * hwID is stored raw in older KDS certificates and as an OCTET STRING in newer ones: accept both. Its size
 * is the product's (64 bytes, 8 for Turin); a raw value of exactly that size is taken as raw.
 */
function hwId(c: Cert, product: string | undefined): Uint8Array | undefined {
  const raw = c.extensions.get(OID_HWID);
  if (raw === undefined) return undefined;
  const size = product === "Turin" ? HWID_SIZE_TURIN : HWID_SIZE;
  if (raw.length === size) return raw;
  const id = octets(parseDer(raw, "hwID"), "hwID");
  if (id.length !== size)
    throw new TwineError("attest.snp_extension", `hwID of ${id.length} bytes (${product ?? "?"}: ${size})`);
  return id;
}

/** The part of CHIP_ID a VCEK's hwID certifies. */
function certifiedChipId(chipId: Uint8Array, product: string | undefined): Uint8Array {
  return product === "Turin" ? chipId.subarray(0, HWID_SIZE_TURIN) : chipId;
}

function safeHwIdMatches(c: Cert, chipId: Uint8Array, product: string | undefined): boolean {
  try {
    const id = hwId(c, product);
    return id !== undefined && bytesEqual(id, certifiedChipId(chipId, product));
  } catch {
    return false;
  }
}

function spl(c: Cert, k: keyof SnpTcbParts): number {
  const raw = c.extensions.get(SPL_OIDS[k]);
  if (raw === undefined) throw new TwineError("attest.snp_extension", `"${c.subjectCn}" has no ${k} SPL`);
  return smallInt(parseDer(raw, `${k} SPL`), `${k} SPL`, 255);
}

/** R and S are 72-byte little-endian integers; P-384 uses 48 bytes, the rest must be zero. */
function p1363FromLe(r: Uint8Array, s: Uint8Array): Uint8Array | undefined {
  if (!isZero(r.subarray(48)) || !isZero(s.subarray(48))) return undefined;
  const out = new Uint8Array(96);
  out.set(Uint8Array.from(r.subarray(0, 48)).reverse(), 0);
  out.set(Uint8Array.from(s.subarray(0, 48)).reverse(), 48);
  return out;
}

/**
 * The report's fields for people. TCBs are decoded in `product`'s layout (Milan/Genoa's when unknown);
 * for Turin they name the FMC SPL too.
 */
export function snpFields(r: ParsedSnpReport, product?: string): Fields {
  const tcb = (v: bigint): string => formatTcb(decodeTcb(v, product));
  const p: Fields = product === undefined ? {} : { product };
  return {
    kind: "snp",
    ...p,
    version: r.version,
    guestSvn: r.guestSvn,
    policy: `0x${r.policy.toString(16)}`,
    debug: (r.policy & (1n << 19n)) !== 0n,
    vmpl: r.vmpl,
    signingKey: signingKeyOf(r) === SIGNING_KEY_VCEK ? "VCEK" : "VLEK",
    measurement: hex(r.measurement),
    reportData: hex(r.reportData),
    hostData: hex(r.hostData),
    idKeyDigest: hex(r.idKeyDigest),
    authorKeyDigest: hex(r.authorKeyDigest),
    familyId: hex(r.familyId),
    imageId: hex(r.imageId),
    currentTcb: tcb(r.currentTcb),
    reportedTcb: tcb(r.reportedTcb),
    committedTcb: tcb(r.committedTcb),
    launchTcb: tcb(r.launchTcb),
    firmware: `${r.currentVersion[2]}.${r.currentVersion[1]} build ${r.currentVersion[0]}`,
    platformInfo: `0x${r.platformInfo.toString(16)}`,
    chipId: hex(r.chipId),
  };
}

/**
 * Steps 6–7: AMD's CRL is issued by the ARK (RSA-PSS, SHA-384) and lists revoked ASK/ASVK serials. We also
 * refuse a VCEK/VLEK whose serial it lists: strictly that serial names an ARK-issued certificate, so a match
 * can only refuse too much, never accept too much.
 */
function checkSnpCrl(
  bytes: Uint8Array,
  ark: Cert | undefined,
  chain: readonly (Cert | undefined)[],
  now: Date,
  f: Findings,
  fields: Fields,
): void {
  const crl = f.run("6.crl", () => parseCrl(crlDerFrom(bytes, "AMD CRL"), "AMD CRL"));
  if (crl === undefined) {
    fields.amdCrl = "given but unreadable";
    f.blocked("7.revocation", "a readable AMD CRL");
    return;
  }
  if (ark === undefined) {
    fields.amdCrl = "given but not checked (no pinned ARK)";
    f.blocked("6.crl", "a pinned ARK");
    f.blocked("7.revocation", "a pinned ARK");
    return;
  }
  const window = crlWindow(crl);
  fields.amdCrl = `checked: ${crl.revoked.size} revoked serial(s), valid ${window}`;
  const issues: Issue[] = [];
  const issuerOk = bytesEqual(crl.issuerDer, ark.subjectDer);
  if (!issuerOk)
    issues.push({ code: "attest.crl_invalid", detail: `AMD CRL: issuer is not "${ark.subjectCn}"` });
  const authentic =
    crl.sigAlgMatchesTbs && verifyRsaPss(crl.sigAlg, crl.sigAlgParams, ark.publicKey, crl.tbs, crl.signature);
  if (!authentic)
    issues.push({
      code: "attest.crl_invalid",
      detail: `AMD CRL: not signed by "${ark.subjectCn}" (RSA-PSS, SHA-384)`,
    });
  const stale = crlCurrency(crl, now, "AMD CRL");
  if (stale !== undefined) issues.push(stale);
  f.check("6.crl", `AMD CRL signed by "${ark.subjectCn}", valid ${window}`, issues);

  // Revocations are final: an authentic but out-of-date CRL still proves what it lists.
  const [intermediate, leaf] = chain;
  if (!authentic || !issuerOk) {
    f.blocked("7.revocation", "an AMD CRL signed by the ARK");
  } else if (intermediate === undefined || leaf === undefined) {
    f.blocked("7.revocation", "the certificate chain");
  } else {
    f.check(
      "7.revocation",
      `"${intermediate.subjectCn}" and "${leaf.subjectCn}" not on the AMD CRL`,
      [intermediate, leaf]
        .filter((c) => crl.revoked.has(c.serial))
        .map((c) => ({
          code: "attest.cert_revoked",
          detail: `"${c.subjectCn}" serial ${c.serial} is on the AMD CRL`,
        })),
    );
  }
}

export function verifySnp(
  bytes: Uint8Array,
  collateral: SnpCollateral,
  now: Date,
  arks: Readonly<Record<string, Uint8Array>>,
  f: Findings,
): SnpOutcome {
  const out: SnpOutcome = { fields: {} };
  // 1. Parse; versions, algorithm and reserved bytes.
  const report = f.run("1.report", () => parseSnpReport(bytes));
  if (report === undefined) return out;
  out.report = report;
  const cpuidProduct = snpProductFromCpuid(report);
  if (cpuidProduct !== undefined) out.product = cpuidProduct;
  out.fields = snpFields(report, cpuidProduct);
  const vlek = signingKeyOf(report) !== SIGNING_KEY_VCEK;
  f.pass("1.report", `SNP report v${report.version}, ECDSA P-384, signed by ${vlek ? "VLEK" : "VCEK"}`);

  // 2. Sort the certificates by role; pick the pinned ARK for the product.
  const certs = f.run("2.root", () => collateral.certs.map((d, i) => parseCert(d, `SNP certificate ${i}`)));
  if (certs === undefined) return out;
  const leafCn = vlek ? "SEV-VLEK" : "SEV-VCEK";
  // Several candidates may come along (a folder of certificates): prefer the VCEK whose hwID is this chip.
  const leaves = certs.filter((c) => c.subjectCn === leafCn);
  const leaf =
    leaves.find((c) => safeHwIdMatches(c, report.chipId, cpuidProduct ?? productFromCert(c))) ?? leaves[0];
  const intermediate = certs.find(
    (c) =>
      leaf !== undefined &&
      bytesEqual(c.subjectDer, leaf.issuerDer) &&
      (vlek ? /^SEV-VLEK-\w+$/.test(c.subjectCn) : /^SEV-(Milan|Genoa|Turin)$/.test(c.subjectCn)),
  );
  // The product the ASK/ASVK's name ends in ("SEV-Turin", "SEV-VLEK-Milan").
  const intermediateProduct = /(Milan|Genoa|Turin)$/.exec(intermediate?.subjectCn ?? "")?.[1];
  // v2 reports carry no CPUID: the certificates name the product. They are not trusted for it: the chain
  // must still verify to the pinned ARK of the product they name, and the TCB layout follows that product.
  const product =
    cpuidProduct ?? (leaf !== undefined ? productFromCert(leaf) : undefined) ?? intermediateProduct;
  if (product !== undefined && product !== cpuidProduct) {
    out.product = product;
    out.fields = snpFields(report, product);
  }
  const presentedArk = certs.find((c) => c.subjectCn === `ARK-${product ?? ""}`);
  // Own keys only: a productName such as "constructor" must not find something on Object.prototype.
  const arkDer = product !== undefined && Object.hasOwn(arks, product) ? arks[product] : undefined;
  const rootIssues: Issue[] = [];
  if (arkDer === undefined)
    rootIssues.push({
      code: "attest.root_untrusted",
      detail: `no pinned ARK for product ${product ?? "unknown"}`,
    });
  else if (presentedArk !== undefined && !bytesEqual(presentedArk.der, arkDer)) {
    rootIssues.push({
      code: "attest.root_untrusted",
      detail: `presented "${presentedArk.subjectCn}" is not the pinned ARK-${product}`,
    });
  }
  const ark = arkDer !== undefined ? f.run("2.root", () => rootCert(arkDer, `ARK-${product}`)) : undefined;
  f.check("2.root", `pinned ARK-${product ?? "?"}`, rootIssues);

  // 3. ARK → ASK/ASVK → VCEK/VLEK (RSA-PSS), validity at now.
  if (leaf === undefined || intermediate === undefined) {
    f.fail(
      "3.chain",
      "attest.cert_chain",
      `collateral lacks the ${leafCn} certificate or its ${vlek ? "ASVK" : "ASK"}`,
    );
  } else if (ark !== undefined) {
    // Said on its own so a report checked against another product's chain reads as that, not just as a
    // bad signature (which checkChain also reports).
    const productIssues: Issue[] =
      intermediateProduct !== undefined && intermediateProduct !== product
        ? [
            {
              code: "attest.cert_chain",
              detail: `"${intermediate.subjectCn}" is for ${intermediateProduct}; the report's product is ${product ?? "?"}`,
            },
          ]
        : [];
    f.check("3.chain", `"${leaf.subjectCn}" ← "${intermediate.subjectCn}" ← "${ark.subjectCn}"`, [
      ...productIssues,
      ...checkChain([leaf, intermediate], ark, now, "SNP chain"),
    ]);
  } else {
    f.blocked("3.chain", "a pinned ARK");
  }

  // 4. The report signature by the VCEK/VLEK key.
  if (leaf !== undefined) {
    const sig = p1363FromLe(report.signatureR, report.signatureS);
    const key = leaf.publicKey;
    let ok = false;
    if (sig !== undefined && key.asymmetricKeyDetails?.namedCurve === "secp384r1") {
      try {
        ok = cryptoVerify("sha384", report.signedRegion, { key, dsaEncoding: "ieee-p1363" }, sig);
      } catch {
        ok = false;
      }
    }
    f.check(
      "4.signature",
      `report signed by the ${leafCn} key (ECDSA P-384)`,
      ok ? [] : [{ code: "attest.sig_invalid", detail: "report signature does not verify" }],
    );
  } else {
    f.blocked("4.signature", `the ${leafCn} certificate`);
  }

  // 5. Binding: hwID = CHIP_ID (VCEK, unless masked), SPLs = REPORTED_TCB (not CURRENT_TCB). Turin adds
  // the FMC SPL (a Turin VCEK without one fails) and certifies only CHIP_ID's first 8 bytes.
  if (leaf !== undefined) {
    const issues: Issue[] = [];
    const t = decodeTcb(report.reportedTcb, product);
    try {
      for (const k of Object.keys(SPL_OIDS) as (keyof SnpTcbParts)[]) {
        if (k === "fmc" && t.fmc === undefined) continue;
        const v = spl(leaf, k);
        if (v !== t[k])
          issues.push({
            code: "attest.snp_tcb_mismatch",
            detail: `${leafCn} ${k} SPL ${v}, reported TCB has ${t[k]}`,
          });
      }
      const masked = (report.flags & 2) !== 0;
      if (!vlek && !masked) {
        const id = hwId(leaf, product);
        if (id === undefined || !bytesEqual(id, certifiedChipId(report.chipId, product))) {
          issues.push({
            code: "attest.snp_chip_id_mismatch",
            detail: "VCEK hwID is not the report's CHIP_ID",
          });
        }
      }
    } catch (e) {
      if (!(e instanceof TwineError)) throw e;
      issues.push({ code: e.code === "attest.der" ? "attest.snp_extension" : e.code, detail: e.message });
    }
    f.check("5.binding", `${leafCn} matches REPORTED_TCB${vlek ? "" : " and CHIP_ID"}`, issues);
  } else {
    f.blocked("5.binding", `the ${leafCn} certificate`);
  }

  // 6–7. AMD's CRL, when given: signed by the ARK, current, neither ASK/ASVK nor VCEK/VLEK listed.
  if (collateral.crl === undefined)
    out.fields.amdCrl = "not checked (no AMD CRL given): a revoked ASK/ASVK or VCEK/VLEK is not detected";
  else checkSnpCrl(collateral.crl, ark, [intermediate, leaf], now, f, out.fields);
  return out;
}
