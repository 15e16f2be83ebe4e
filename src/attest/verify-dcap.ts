// Verification of Intel DCAP quotes (SGX v3, TDX v4/v5) against collateral, in Intel QVL's order
// ([S3] QuoteVerifier.cpp; step numbers as in ATTESTATION-SPEC §1.4). Every check runs and is recorded;
// a check whose input is missing is recorded as not evaluated. Policy is a separate layer (policy.ts).
import { createHash, createPublicKey, verify as cryptoVerify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { TwineError } from "../errors.js";
import { bytesEqual, hex, isZero, readU64 } from "./bytes.js";
import { INTEL_QE_VENDOR_ID, parseQuote } from "./abi-quote.js";
import type { ParsedQuote, SgxReportBody, TdReportBody } from "./abi-quote.js";
import { parseQeIdentity, parseTcbInfo } from "./collateral.js";
import type { DcapCollateral, QeIdentity, TcbInfo, TcbLevelStatus, TcbStatus } from "./collateral.js";
import type { Fields, Findings, Issue } from "./findings.js";
import { parsePckExtension } from "./pck.js";
import type { PckExtension } from "./pck.js";
import { rootCert } from "./roots.js";
import {
  checkForRelaunch,
  convergeStatus,
  matchIdentityLevel,
  matchSgxLevel,
  matchTdxLevel,
  tdxModuleId,
} from "./tcb.js";
import { checkChain, checkCrl, checkNotRevoked, parseCertChain, parseCrl } from "./x509.js";
import type { Cert, Crl } from "./x509.js";

export interface DcapOutcome {
  quote?: ParsedQuote;
  tcbStatus?: TcbStatus;
  advisoryIds: string[];
  fields: Fields;
}

/** A raw P-256 point x‖y as a public key. */
export function p256Key(xy: Uint8Array): KeyObject {
  if (xy.length !== 64) throw new TwineError("attest.format", "attestation key is not 64 bytes");
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64url");
  try {
    return createPublicKey({
      key: { kty: "EC", crv: "P-256", x: b64(xy.subarray(0, 32)), y: b64(xy.subarray(32)) },
      format: "jwk",
    });
  } catch (e) {
    throw new TwineError("attest.sig_invalid", "attestation key is not a P-256 point", { cause: e });
  }
}

function verifyP1363(hash: string, data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  try {
    return cryptoVerify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
}

function inWindow(what: string, from: Date, to: Date, now: Date): Issue[] {
  if (now >= from && now <= to) return [];
  return [
    {
      code: "attest.collateral_expired",
      detail: `${what} valid ${from.toISOString()}..${to.toISOString()}, now ${now.toISOString()}`,
    },
  ];
}

function revokedBy(certs: readonly Cert[], crl: Crl | undefined, what: string): Issue[] {
  if (crl === undefined) return [];
  const out: Issue[] = [];
  for (const c of certs) {
    if (bytesEqual(c.issuerDer, c.subjectDer)) continue;
    if (bytesEqual(c.issuerDer, crl.issuerDer) && crl.revoked.has(c.serial)) {
      out.push({
        code: "attest.cert_revoked",
        detail: `${what}: "${c.subjectCn}" serial ${c.serial} is revoked`,
      });
    }
  }
  return out;
}

export function sgxFields(b: SgxReportBody, prefix = ""): Fields {
  const flags = readU64(b.attributes.subarray(0, 8));
  return {
    [`${prefix}mrEnclave`]: hex(b.mrEnclave),
    [`${prefix}mrSigner`]: hex(b.mrSigner),
    [`${prefix}isvProdId`]: b.isvProdId,
    [`${prefix}isvSvn`]: b.isvSvn,
    [`${prefix}cpuSvn`]: hex(b.cpuSvn),
    [`${prefix}attributes`]: hex(b.attributes),
    [`${prefix}debug`]: (flags & 2n) !== 0n,
    [`${prefix}reportData`]: hex(b.reportData),
  };
}

export function tdFields(b: TdReportBody): Fields {
  const f: Fields = {
    teeTcbSvn: hex(b.teeTcbSvn),
    mrSeam: hex(b.mrSeam),
    mrSignerSeam: hex(b.mrSignerSeam),
    seamAttributes: hex(b.seamAttributes),
    tdAttributes: hex(b.tdAttributes),
    debug: ((b.tdAttributes[0] ?? 0) & 1) !== 0,
    xfam: hex(b.xfam),
    mrTd: hex(b.mrTd),
    mrConfigId: hex(b.mrConfigId),
    mrOwner: hex(b.mrOwner),
    mrOwnerConfig: hex(b.mrOwnerConfig),
    rtmr0: hex(b.rtmr[0]),
    rtmr1: hex(b.rtmr[1]),
    rtmr2: hex(b.rtmr[2]),
    rtmr3: hex(b.rtmr[3]),
    reportData: hex(b.reportData),
  };
  if (b.teeTcbSvn2 !== undefined) f.teeTcbSvn2 = hex(b.teeTcbSvn2);
  if (b.mrServiceTd !== undefined) f.mrServiceTd = hex(b.mrServiceTd);
  return f;
}

/** TCB info and QE identity are signed by a certificate the root issued directly (Intel SGX TCB Signing). */
function signedJsonIssues(what: string, text: string, sig: Uint8Array, chain: readonly Cert[]): Issue[] {
  const signer = chain[0];
  if (signer === undefined)
    return [{ code: "attest.not_evaluated", detail: `${what}: no signing certificate` }];
  const last = chain[chain.length - 1]!;
  const depth = bytesEqual(last.issuerDer, last.subjectDer) ? chain.length - 1 : chain.length;
  if (depth !== 1) {
    return [{ code: "attest.cert_chain", detail: `${what}: the signer must be issued by the root itself` }];
  }
  if (!verifyP1363("sha256", Buffer.from(text, "utf8"), signer.publicKey, sig)) {
    return [
      {
        code: "attest.collateral_signature",
        detail: `${what}: signature by "${signer.subjectCn}" does not verify`,
      },
    ];
  }
  return [];
}

/**
 * Verifies a DCAP quote with its collateral at `now`, against `rootDer` (the Intel SGX Root CA unless
 * the caller injected another). Records every finding in `f`.
 */
export function verifyDcap(
  bytes: Uint8Array,
  collateral: DcapCollateral,
  now: Date,
  rootDer: Uint8Array,
  expectKind: "sgx" | "tdx" | undefined,
  f: Findings,
): DcapOutcome {
  const out: DcapOutcome = { advisoryIds: [], fields: {} };

  // 1. Parse the quote; header allow-list.
  const quote = f.run("1.header", () => parseQuote(bytes));
  if (quote === undefined) return out;
  out.quote = quote;
  const kind = quote.body.type === "sgx" ? "sgx" : "tdx";
  const h = quote.header;
  out.fields = {
    kind,
    version: h.version,
    teeType: h.teeType,
    qeSvn: h.qeSvn,
    pceSvn: h.pceSvn,
    qeVendorId: hex(h.qeVendorId),
    ...(quote.body.type === "sgx" ? sgxFields(quote.body.report) : tdFields(quote.body.report)),
    trailingBytes: quote.trailing.length,
  };
  const headerIssues: Issue[] = [];
  if (hex(h.qeVendorId) !== INTEL_QE_VENDOR_ID) {
    headerIssues.push({
      code: "attest.qe_vendor",
      detail: `QE vendor id ${hex(h.qeVendorId)} is not Intel's`,
    });
  }
  if (expectKind !== undefined && expectKind !== kind) {
    headerIssues.push({
      code: "attest.kind",
      detail: `expected ${expectKind} evidence, got a ${kind} quote`,
    });
  }
  f.check("1.header", `quote v${h.version}, ${kind}, ECDSA P-256, Intel QE`, headerIssues);

  // 2. Trust root and its CRL.
  const root = f.run("2.root", () => rootCert(rootDer, "root CA"));
  const rootCrl = f.run("2.root_crl", () => parseCrl(collateral.rootCaCrl, "root CA CRL"));
  if (root !== undefined && rootCrl !== undefined) {
    f.check(
      "2.root_crl",
      "root CA CRL signed by the root and current",
      checkCrl(rootCrl, root, now, "root CA CRL"),
    );
  }

  // 3. PCK CRL, signed by the PCK CA in its issuer chain.
  const pckCrlChain = f.run("3.pck_crl", () =>
    parseCertChain(collateral.pckCrlIssuerChain, "PCK CRL issuer chain"),
  );
  const pckCrl = f.run("3.pck_crl", () => parseCrl(collateral.pckCrl, "PCK CRL"));
  if (root !== undefined && pckCrlChain !== undefined && pckCrl !== undefined) {
    f.check("3.pck_crl", `PCK CRL (${pckCrl.revoked.size} entries) signed and current`, [
      ...checkChain(pckCrlChain, root, now, "PCK CRL issuer chain"),
      ...revokedBy(pckCrlChain, rootCrl, "PCK CRL issuer chain"),
      ...checkCrl(pckCrl, pckCrlChain[0]!, now, "PCK CRL"),
    ]);
  } else {
    f.blocked("3.pck_crl", "the root, the PCK CRL and its issuer chain");
  }

  // 4. PCK certificate chain from the quote's certification data.
  const pckChain = f.run("4.pck_chain", () => parseCertChain(quote.signatureData.pckChainPem, "PCK chain"));
  const leaf = pckChain?.[0];
  let pck: PckExtension | undefined;
  if (pckChain !== undefined && leaf !== undefined && root !== undefined) {
    const found: Issue[] = [];
    if (!leaf.subjectCn.includes("SGX PCK Certificate")) {
      found.push({
        code: "attest.cert_chain",
        detail: `leaf "${leaf.subjectCn}" is not an SGX PCK certificate`,
      });
    }
    found.push(...checkChain(pckChain, root, now, "PCK chain"));
    found.push(...revokedBy(pckChain.slice(1), rootCrl, "PCK chain"));
    if (pckCrl !== undefined) {
      const r = checkNotRevoked(leaf, pckCrl, "PCK leaf");
      if (r !== undefined) found.push(r);
    } else {
      found.push({ code: "attest.not_evaluated", detail: "PCK leaf revocation: no PCK CRL" });
    }
    f.check(
      "4.pck_chain",
      `"${leaf.subjectCn}" ← "${pckChain[1]?.subjectCn ?? "?"}" ← root, not revoked`,
      found,
    );
    pck = f.run("4.pck_chain", () => parsePckExtension(leaf));
    if (pck !== undefined) {
      Object.assign(out.fields, {
        fmspc: pck.fmspc,
        pceId: pck.pceId,
        pckPceSvn: pck.pceSvn,
        pckTcbComponents: pck.tcbComponents.join(","),
      });
    }
  } else if (pckChain !== undefined) {
    f.blocked("4.pck_chain", "the trust root");
  }

  // 5. TCB Info: signing chain, signature over the exact text, window, identity.
  let tcbInfo: TcbInfo | undefined;
  const tcbChain = f.run("5.tcb_info", () =>
    parseCertChain(collateral.tcbInfoIssuerChain, "TCB info issuer chain"),
  );
  if (tcbChain !== undefined && root !== undefined) {
    tcbInfo = f.run("5.tcb_info", () => parseTcbInfo(collateral.tcbInfo));
    const found = [
      ...checkChain(tcbChain, root, now, "TCB info issuer chain"),
      ...revokedBy(tcbChain, rootCrl, "TCB info issuer chain"),
      ...signedJsonIssues("TCB info", collateral.tcbInfo, collateral.tcbInfoSignature, tcbChain),
    ];
    if (tcbInfo !== undefined) {
      found.push(...inWindow("TCB info", tcbInfo.issueDate, tcbInfo.nextUpdate, now));
      const wantId = kind === "sgx" ? "SGX" : "TDX";
      if (tcbInfo.id !== wantId || (kind === "tdx" && tcbInfo.version < 3)) {
        found.push({
          code: "attest.collateral_mismatch",
          detail: `TCB info ${tcbInfo.id} v${tcbInfo.version} for a ${kind} quote`,
        });
      }
      if (pck !== undefined && (tcbInfo.fmspc !== pck.fmspc || tcbInfo.pceId !== pck.pceId)) {
        found.push({
          code: "attest.collateral_mismatch",
          detail: `TCB info FMSPC ${tcbInfo.fmspc}/PCE-ID ${tcbInfo.pceId}, PCK has ${pck.fmspc}/${pck.pceId}`,
        });
      }
      f.check(
        "5.tcb_info",
        `TCB info ${tcbInfo.id} v${tcbInfo.version} FMSPC ${tcbInfo.fmspc}, signed, current`,
        found,
      );
    } else {
      for (const i of found) f.fail("5.tcb_info", i.code, i.detail);
    }
  } else if (tcbChain !== undefined) {
    f.blocked("5.tcb_info", "the trust root");
  }

  // 6. QE Identity: same checks; id QE (SGX) or TD_QE (TDX).
  let qeId: QeIdentity | undefined;
  const qeChain = f.run("6.qe_identity", () =>
    parseCertChain(collateral.qeIdentityIssuerChain, "QE identity issuer chain"),
  );
  if (qeChain !== undefined && root !== undefined) {
    qeId = f.run("6.qe_identity", () => parseQeIdentity(collateral.qeIdentity));
    const found = [
      ...checkChain(qeChain, root, now, "QE identity issuer chain"),
      ...revokedBy(qeChain, rootCrl, "QE identity issuer chain"),
      ...signedJsonIssues("QE identity", collateral.qeIdentity, collateral.qeIdentitySignature, qeChain),
    ];
    if (qeId !== undefined) {
      found.push(...inWindow("QE identity", qeId.issueDate, qeId.nextUpdate, now));
      const wantId = kind === "sgx" ? "QE" : "TD_QE";
      if (qeId.id !== wantId)
        found.push({
          code: "attest.collateral_mismatch",
          detail: `QE identity ${qeId.id} for a ${kind} quote`,
        });
      f.check("6.qe_identity", `QE identity ${qeId.id}, signed, current`, found);
    } else {
      for (const i of found) f.fail("6.qe_identity", i.code, i.detail);
    }
  } else if (qeChain !== undefined) {
    f.blocked("6.qe_identity", "the trust root");
  }

  // 7. QE report signed by the PCK leaf key.
  const sd = quote.signatureData;
  if (leaf !== undefined) {
    const ok = verifyP1363("sha256", quote.qeReportRaw, leaf.publicKey, sd.qeReportSignature);
    f.check(
      "7.qe_report_signature",
      "QE report signed by the PCK key",
      ok
        ? []
        : [{ code: "attest.qe_sig_invalid", detail: "QE report signature does not verify with the PCK key" }],
    );
  } else {
    f.blocked("7.qe_report_signature", "the PCK leaf certificate");
  }

  // 8. QE report data binds the attestation key: SHA-256(key ‖ auth data) ‖ 32 zero bytes.
  const digest = createHash("sha256").update(sd.attestKey).update(sd.qeAuthData).digest();
  const rd = sd.qeReport.reportData;
  f.check(
    "8.qe_report_data",
    "QE report data = SHA-256(attestation key ‖ QE auth data) ‖ 0…",
    bytesEqual(rd.subarray(0, 32), digest) && isZero(rd.subarray(32))
      ? []
      : [{ code: "attest.qe_report_data", detail: "QE report data does not bind the attestation key" }],
  );

  // 9. QE report against the QE identity; the QE's TCB status.
  let qeStatus: TcbLevelStatus | undefined;
  const qeAdvisories: string[] = [];
  if (qeId !== undefined) {
    const r = sd.qeReport;
    const found: Issue[] = [];
    if (!bytesEqual(r.mrSigner, qeId.mrsigner))
      found.push({ code: "attest.qe_identity_mismatch", detail: `QE MRSIGNER ${hex(r.mrSigner)}` });
    if (r.isvProdId !== qeId.isvprodid)
      found.push({ code: "attest.qe_identity_mismatch", detail: `QE ISVPRODID ${r.isvProdId}` });
    if ((r.miscSelect & qeId.miscselectMask) >>> 0 !== (qeId.miscselect & qeId.miscselectMask) >>> 0) {
      found.push({ code: "attest.qe_identity_mismatch", detail: "QE MISCSELECT does not match" });
    }
    for (let i = 0; i < 16; i++) {
      if (
        ((r.attributes[i] ?? 0) & qeId.attributesMask[i]!) !==
        (qeId.attributes[i]! & qeId.attributesMask[i]!)
      ) {
        found.push({ code: "attest.qe_identity_mismatch", detail: "QE ATTRIBUTES do not match" });
        break;
      }
    }
    const level = matchIdentityLevel(qeId.tcbLevels, r.isvSvn);
    if (level === undefined) {
      found.push({
        code: "attest.tcb_not_supported",
        detail: `QE ISVSVN ${r.isvSvn} below every QE identity level`,
      });
    } else {
      qeStatus = level.tcbStatus;
      qeAdvisories.push(...level.advisoryIds);
    }
    out.fields.qeIsvSvn = r.isvSvn;
    if (qeStatus !== undefined) out.fields.qeTcbStatus = qeStatus;
    f.check(
      "9.qe_identity_match",
      `QE matches its identity; QE ISVSVN ${r.isvSvn}: ${qeStatus ?? "?"}`,
      found,
    );
  } else {
    f.blocked("9.qe_identity_match", "a valid QE identity");
  }

  // 10. The quote signed by the attestation key.
  const key = f.run("10.quote_signature", () => p256Key(sd.attestKey));
  if (key !== undefined) {
    const ok = verifyP1363("sha256", quote.signedRegion, key, sd.signature);
    f.check(
      "10.quote_signature",
      `quote (${quote.signedRegion.length} signed bytes) signed by the attestation key`,
      ok ? [] : [{ code: "attest.sig_invalid", detail: "quote signature does not verify" }],
    );
  }

  // 11. Platform TCB level (and for TDX the module identity).
  let platform: TcbStatus | undefined;
  const advisories: string[] = [];
  if (tcbInfo !== undefined && pck !== undefined) {
    const found: Issue[] = [];
    if (quote.body.type === "sgx") {
      const level = matchSgxLevel(tcbInfo.tcbLevels, pck.tcbComponents, pck.pceSvn);
      if (level === undefined) {
        found.push({
          code: "attest.tcb_not_supported",
          detail: "no TCB level matches the PCK certificate's SVNs",
        });
      } else {
        platform = level.tcbStatus;
        advisories.push(...level.advisoryIds);
        out.fields.tcbDate = level.tcbDate;
      }
    } else {
      const td = quote.body.report;
      const m = matchTdxLevel(tcbInfo.tcbLevels, pck.tcbComponents, pck.pceSvn, td.teeTcbSvn);
      if (m.level === undefined) {
        found.push({
          code: "attest.tcb_not_supported",
          detail: m.sgxMatched
            ? "no TDX TCB level matches TEE_TCB_SVN"
            : "no TCB level matches the PCK certificate's SVNs",
        });
      } else {
        platform = m.level.tcbStatus;
        advisories.push(...m.level.advisoryIds);
        out.fields.tcbDate = m.level.tcbDate;
      }
      const moduleStatus = checkTdxModule(tcbInfo, td, found, advisories);
      if (platform !== undefined && moduleStatus !== undefined)
        platform = convergeStatus(platform, moduleStatus);
      if (moduleStatus === undefined) platform = undefined;
      // TD 1.5 only (Intel checks the body type; TEE_TCB_SVN2 exists only in 1.5 bodies): the launch
      // TCB may be out of date only because the TD predates a TD-preserving module update (tcb.ts).
      if (td.teeTcbSvn2 !== undefined && platform !== undefined && moduleStatus !== undefined) {
        if (m.sgxLevel === undefined || qeStatus === undefined) {
          out.fields.tdxRelaunch = `not evaluated: needs ${qeStatus === undefined ? "the QE status" : "an SGX TCB level"}`;
        } else {
          const r = checkForRelaunch({
            info: tcbInfo,
            teeTcbSvn: td.teeTcbSvn,
            teeTcbSvn2: td.teeTcbSvn2,
            sgxStatus: m.sgxLevel.tcbStatus,
            tdxStatus: platform,
            moduleStatus,
            qeStatus,
          });
          out.fields.tdxRelaunch = r.detail;
          if (r.runningModuleSvn !== undefined) out.fields.tdxModuleSvnRunning = r.runningModuleSvn;
          if (r.latestModuleSvn !== undefined) out.fields.tdxModuleSvnLatest = r.latestModuleSvn;
          if (r.advised) out.fields.tcbStatusWithoutRelaunch = platform;
          if (r.issue !== undefined) found.push(r.issue);
          platform = r.status;
        }
      }
    }
    if (platform !== undefined) out.fields.platformTcbStatus = platform;
    const relaunch =
      platform === "TDRelaunchAdvised" || platform === "TDRelaunchAdvisedConfigurationNeeded"
        ? ` (${String(out.fields.tdxRelaunch)})`
        : "";
    f.check("11.tcb_level", `platform TCB level: ${platform ?? "?"}${relaunch}`, found);
  } else {
    f.blocked("11.tcb_level", "a valid TCB info and PCK extension");
  }

  // 12. Converge with the QE status; advisories of every level involved.
  if (platform !== undefined && qeStatus !== undefined) {
    const status = convergeStatus(platform, qeStatus);
    out.tcbStatus = status;
    out.advisoryIds = [...new Set([...advisories, ...qeAdvisories])].sort();
    const adv = out.advisoryIds.length > 0 ? ` (${out.advisoryIds.join(", ")})` : "";
    f.check(
      "12.tcb_status",
      `TCB status ${status}${adv}`,
      status === "Revoked" ? [{ code: "attest.tcb_revoked", detail: "TCB status Revoked" }] : [],
    );
  } else {
    f.blocked("12.tcb_status", "platform and QE TCB statuses");
  }
  return out;
}

/** TDX module identity ([S3] TdxModuleCheck): MRSIGNERSEAM, SEAMATTRIBUTES, module TCB level. */
function checkTdxModule(
  info: TcbInfo,
  td: TdReportBody,
  found: Issue[],
  advisories: string[],
): TcbLevelStatus | undefined {
  const major = td.teeTcbSvn[1] ?? 0;
  const moduleId = tdxModuleId(major);
  const identity = major > 0 ? info.tdxModuleIdentities?.find((m) => m.id === moduleId) : undefined;
  const base = identity ?? info.tdxModule;
  if (base === undefined || (major > 0 && identity === undefined)) {
    found.push({
      code: "attest.tdx_module_mismatch",
      detail: `TCB info has no TDX module identity ${moduleId}`,
    });
    return undefined;
  }
  if (!bytesEqual(td.mrSignerSeam, base.mrsigner))
    found.push({ code: "attest.tdx_module_mismatch", detail: "MRSIGNERSEAM does not match" });
  if (!isZero(td.seamAttributes) || !bytesEqual(td.seamAttributes, base.attributes)) {
    found.push({ code: "attest.tdx_module_mismatch", detail: "SEAMATTRIBUTES are not the module's (zero)" });
  }
  if (identity === undefined) return "UpToDate";
  const level = matchIdentityLevel(identity.tcbLevels, td.teeTcbSvn[0] ?? 0);
  if (level === undefined) {
    found.push({
      code: "attest.tcb_not_supported",
      detail: `TDX module SVN ${td.teeTcbSvn[0] ?? 0} below every ${moduleId} level`,
    });
    return undefined;
  }
  advisories.push(...level.advisoryIds);
  return level.tcbStatus;
}
