// Verifies a peer's RA-TLS certificate: the certificate itself (self-signed, in validity), that the
// evidence's report data binds the certificate's key (and launch hash), then the evidence through
// `attest/` with the caller's collateral, policy and roots. Returns every finding; never throws on
// bad input, so a handshake check can refuse with a reason.
import { TwineError } from "../errors.js";
import { detectKind, parseQuote, parseSnpReport, verifyEvidence } from "../attest/index.js";
import type { DcapCollateral, Finding, Policy, SnpCollateral, TrustRoots, Verdict } from "../attest/index.js";
import { bytesEqual, hex } from "../attest/bytes.js";
import { innerOctets, isSelfSigned, parsePeerCert } from "./peer-cert.js";
import type { PeerCert } from "./peer-cert.js";
import {
  gramineReportData,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_SGX_QUOTE,
  ratlsReportData,
} from "./cert.js";
import type { EvidenceFormat } from "./cert.js";

export interface RatlsVerifyOptions {
  collateral: DcapCollateral | SnpCollateral;
  policy?: Policy;
  /** The time the certificate and evidence are judged at. Always explicit. */
  now: Date;
  roots?: Partial<TrustRoots>;
  /** Accept Twine `sim` evidence (proves nothing); see attest's VerifyOptions. */
  dangerousAllowSim?: boolean;
  /** The launch hash the peer must have been started with (Twine certificates only). */
  expectedLaunchHash?: Uint8Array;
  /** Launch hashes of which the peer must have been started with one (with `expectedLaunchHash`: both hold). */
  expectedLaunchHashes?: readonly Uint8Array[];
  /** The nonce the certificate's report data must bind (default empty). */
  nonce?: Uint8Array;
  /** Refuse certificates made (notBefore) longer ago than this, to bound replay of a leaked one. */
  maxAgeMs?: number;
}

export interface RatlsVerdict {
  ok: boolean;
  /** Certificate and binding checks (`ratls.*`), then the evidence verifier's findings. */
  findings: Finding[];
  format?: EvidenceFormat;
  /** The launch hash the evidence carries (Twine certificates). */
  launchHash?: Uint8Array;
  evidence?: Verdict;
}

function pass(step: string, detail: string): Finding {
  return { step, code: "attest.ok", ok: true, detail };
}
function fail(step: string, code: `ratls.${string}`, detail: string): Finding {
  return { step, code, ok: false, detail };
}

/** The evidence in a certificate: DICE (DER OCTET STRING of the quote) preferred, else Gramine's raw quote. */
export function extractEvidence(cert: PeerCert): { format: EvidenceFormat; evidence: Uint8Array } {
  const dice = cert.extensions.get(OID_DICE_TAGGED_EVIDENCE);
  if (dice !== undefined) return { format: "dice", evidence: innerOctets(dice) };
  const gramine = cert.extensions.get(OID_GRAMINE_SGX_QUOTE);
  if (gramine !== undefined) return { format: "gramine", evidence: gramine };
  throw new TwineError("ratls.no_evidence", "certificate carries no attestation evidence extension");
}

function reportDataOf(evidence: Uint8Array): Uint8Array {
  const kind = detectKind(evidence);
  if (kind === "snp") return parseSnpReport(evidence).reportData;
  return parseQuote(evidence).body.report.reportData;
}

function attempt<T>(step: string, findings: Finding[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TwineError) {
      findings.push({ step, code: e.code, ok: false, detail: e.message });
      return undefined;
    }
    throw e;
  }
}

export function verifyRatlsCert(certDer: Uint8Array | undefined, o: RatlsVerifyOptions): RatlsVerdict {
  const findings: Finding[] = [];
  const done = (extra: Partial<RatlsVerdict> = {}): RatlsVerdict => ({
    ok: findings.every((f) => f.ok),
    findings,
    ...extra,
  });
  if (certDer === undefined || certDer.length === 0) {
    findings.push(fail("r1.cert", "ratls.no_cert", "the peer presented no certificate"));
    return done();
  }
  const cert = attempt("r1.cert", findings, () => parsePeerCert(certDer));
  if (cert === undefined) return done();
  findings.push(pass("r1.cert", "certificate parsed"));

  findings.push(
    isSelfSigned(cert)
      ? pass("r2.self_signed", "certificate is self-signed by its own key")
      : fail("r2.self_signed", "ratls.not_self_signed", "certificate is not signed by its own key"),
  );
  const t = o.now.getTime();
  if (t < cert.notBefore.getTime()) {
    findings.push(fail("r3.validity", "ratls.not_yet_valid", `valid from ${cert.notBefore.toISOString()}`));
  } else if (t > cert.notAfter.getTime()) {
    findings.push(fail("r3.validity", "ratls.expired", `expired at ${cert.notAfter.toISOString()}`));
  } else if (o.maxAgeMs !== undefined && t - cert.notBefore.getTime() > o.maxAgeMs) {
    findings.push(
      fail("r3.validity", "ratls.stale", `made at ${cert.notBefore.toISOString()}, too long ago`),
    );
  } else {
    findings.push(pass("r3.validity", "certificate within its validity"));
  }

  const ext = attempt("r4.evidence", findings, () => extractEvidence(cert));
  if (ext === undefined) return done();
  findings.push(pass("r4.evidence", `${ext.format} evidence extension found`));

  const reportData = attempt("r5.binding", findings, () => {
    try {
      return reportDataOf(ext.evidence);
    } catch (e) {
      throw new TwineError("ratls.evidence_format", e instanceof Error ? e.message : "unparsable", {
        cause: e,
      });
    }
  });
  let launchHash: Uint8Array | undefined;
  if (reportData !== undefined) {
    const spki = cert.spki;
    if (ext.format === "dice") {
      launchHash = reportData.slice(0, 32);
      const expected = attempt("r5.binding", findings, () => ratlsReportData(spki, launchHash!, o.nonce));
      if (expected !== undefined) {
        findings.push(
          bytesEqual(expected, reportData)
            ? pass("r5.binding", "report data binds the certificate's key")
            : fail("r5.binding", "ratls.key_binding", "report data does not bind the certificate's key"),
        );
      }
    } else {
      const ok = bytesEqual(gramineReportData(spki), reportData);
      findings.push(
        ok
          ? pass("r5.binding", "report data binds the certificate's key (Gramine layout)")
          : fail("r5.binding", "ratls.key_binding", "report data does not bind the certificate's key"),
      );
      if (o.nonce !== undefined && o.nonce.length > 0) {
        findings.push(fail("r5.binding", "ratls.nonce", "Gramine certificates bind no nonce"));
      }
    }
    const allowed: Uint8Array[] = [];
    if (o.expectedLaunchHash !== undefined) allowed.push(o.expectedLaunchHash);
    const anyOf = o.expectedLaunchHashes;
    if (allowed.length > 0 || anyOf !== undefined) {
      const lh = launchHash;
      const ok =
        lh !== undefined &&
        allowed.every((h) => bytesEqual(lh, h)) &&
        (anyOf === undefined || anyOf.some((h) => bytesEqual(lh, h)));
      findings.push(
        ok
          ? pass("r6.launch", "launch hash as expected")
          : fail(
              "r6.launch",
              "ratls.launch_hash",
              lh === undefined
                ? "certificate binds no launch hash"
                : `launch hash ${hex(lh)} is not an expected one`,
            ),
      );
    }
  }

  const verifyOpts: Parameters<typeof verifyEvidence>[1] = { collateral: o.collateral, now: o.now };
  if (o.policy !== undefined) verifyOpts.policy = o.policy;
  if (o.roots !== undefined) verifyOpts.roots = o.roots;
  if (o.dangerousAllowSim !== undefined) verifyOpts.dangerousAllowSim = o.dangerousAllowSim;
  let evidence: Verdict | undefined;
  try {
    evidence = verifyEvidence(ext.evidence, verifyOpts);
    findings.push(...evidence.findings);
  } catch (e) {
    findings.push(
      fail("r7.evidence", "ratls.evidence", e instanceof Error ? e.message : "evidence verification failed"),
    );
  }
  const extra: Partial<RatlsVerdict> = { format: ext.format };
  if (launchHash !== undefined) extra.launchHash = launchHash;
  if (evidence !== undefined) extra.evidence = evidence;
  return done(extra);
}

/** The first failure as an error (for callers that refuse), or undefined when the verdict passed. */
export function ratlsError(v: RatlsVerdict): TwineError | undefined {
  const bad = v.findings.find((f) => !f.ok);
  if (bad === undefined) return undefined;
  return new TwineError(bad.code, `peer certificate refused at ${bad.step}: ${bad.detail}`);
}
