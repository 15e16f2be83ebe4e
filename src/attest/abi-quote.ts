// Intel DCAP quotes: SGX ECDSA quote v3, TDX quote v4 and v5 ([S1] App. A, [S2] sgx_quote_{3,4,5}.h).
// Parsers and serialisers only: nothing here checks a signature or trusts a field.
import { TwineError } from "../errors.js";
import {
  ByteReader,
  ByteWriter,
  layout,
  readLayout,
  writeLayout,
  readU16,
  readU32,
  u16Bytes,
  u32Bytes,
} from "./bytes.js";
import type { Layout } from "./bytes.js";

/** Caps on what a quote may claim: anything larger is refused before it is read. */
export const MAX_QUOTE_SIZE = 64 * 1024;
export const MAX_QE_AUTH_DATA = 1024;
export const MAX_CERT_DATA = 32 * 1024;
/** Trailing bytes after the signature data are seen in real quotes (dcap-qvl's TDX vector has 70). */
export const MAX_TRAILING = 4096;

export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const TEE_TYPE_SGX = 0x00;
export const TEE_TYPE_TDX = 0x81;
export const CERT_TYPE_PCK_CHAIN = 5;
export const CERT_TYPE_QE_REPORT = 6;
export const BODY_TYPE_TD10 = 2;
export const BODY_TYPE_TD15 = 3;
export const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";

export const QUOTE_HEADER = layout("quote_header", 48, [
  { name: "version", size: 2 },
  { name: "att_key_type", size: 2 },
  { name: "tee_type", size: 4 },
  { name: "qe_svn", size: 2 },
  { name: "pce_svn", size: 2 },
  { name: "qe_vendor_id", size: 16 },
  { name: "user_data", size: 20 },
]);

export const SGX_REPORT_BODY = layout("sgx_report_body", 384, [
  { name: "cpu_svn", size: 16 },
  { name: "misc_select", size: 4 },
  { name: "reserved1", size: 12, reserved: true },
  { name: "isv_ext_prod_id", size: 16 },
  { name: "attributes", size: 16 },
  { name: "mr_enclave", size: 32 },
  { name: "reserved2", size: 32, reserved: true },
  { name: "mr_signer", size: 32 },
  { name: "reserved3", size: 32, reserved: true },
  { name: "config_id", size: 64 },
  { name: "isv_prod_id", size: 2 },
  { name: "isv_svn", size: 2 },
  { name: "config_svn", size: 2 },
  { name: "reserved4", size: 42, reserved: true },
  { name: "isv_family_id", size: 16 },
  { name: "report_data", size: 64 },
]);

const TD10_FIELDS = [
  { name: "tee_tcb_svn", size: 16 },
  { name: "mr_seam", size: 48 },
  { name: "mr_signer_seam", size: 48 },
  { name: "seam_attributes", size: 8 },
  { name: "td_attributes", size: 8 },
  { name: "xfam", size: 8 },
  { name: "mr_td", size: 48 },
  { name: "mr_config_id", size: 48 },
  { name: "mr_owner", size: 48 },
  { name: "mr_owner_config", size: 48 },
  { name: "rtmr0", size: 48 },
  { name: "rtmr1", size: 48 },
  { name: "rtmr2", size: 48 },
  { name: "rtmr3", size: 48 },
  { name: "report_data", size: 64 },
] as const;
export const TD_REPORT_BODY_10 = layout("td_report_body_1_0", 584, TD10_FIELDS);
export const TD_REPORT_BODY_15 = layout("td_report_body_1_5", 648, [
  ...TD10_FIELDS,
  { name: "tee_tcb_svn2", size: 16 },
  { name: "mr_service_td", size: 48 },
]);

/** The fixed part of the v3 signature data, before the variable QE auth data. */
export const SGX_SIG_DATA_FIXED = layout("sgx_signature_data_fixed", 576, [
  { name: "signature", size: 64 },
  { name: "attest_key", size: 64 },
  { name: "qe_report", size: 384 },
  { name: "qe_report_signature", size: 64 },
]);

export interface QuoteHeader {
  version: number;
  attKeyType: number;
  teeType: number;
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  isvExtProdId: Uint8Array;
  /** flags u64 then XFRM u64; bit 1 of flags is DEBUG. */
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  configId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Uint8Array;
  reportData: Uint8Array;
}

export interface TdReportBody {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  /** byte 0 bit 0 is DEBUG; bit 28 is SEPT_VE_DISABLE. */
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  /** TD report 1.5 only (quote v5 body type 3). */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

export type QuoteBody = { type: "sgx"; report: SgxReportBody } | { type: "td"; report: TdReportBody };

export interface QuoteSignatureData {
  /** ECDSA P-256 r‖s over the signed region, by the attestation key. */
  signature: Uint8Array;
  /** Raw P-256 point x‖y. */
  attestKey: Uint8Array;
  qeReport: SgxReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** Certification data type 5: PEM chain PCK leaf ‖ intermediate ‖ root (may end with NUL). */
  pckChainPem: Uint8Array;
}

export interface Quote {
  header: QuoteHeader;
  body: QuoteBody;
  signatureData: QuoteSignatureData;
  /** Bytes after the signature data; not signed, kept so the serialiser round-trips. */
  trailing: Uint8Array;
}

/** A parsed quote with views into the bytes it was parsed from (the signed region, the QE report). */
export interface ParsedQuote extends Quote {
  raw: Uint8Array;
  signedRegion: Uint8Array;
  qeReportRaw: Uint8Array;
}

function u16le(b: Uint8Array | undefined): number {
  return readU16(b!);
}

export function parseSgxReportBody(r: ByteReader): SgxReportBody {
  const f = readLayout(r, SGX_REPORT_BODY);
  return {
    cpuSvn: f.cpu_svn!,
    miscSelect: readU32(f.misc_select!),
    isvExtProdId: f.isv_ext_prod_id!,
    attributes: f.attributes!,
    mrEnclave: f.mr_enclave!,
    mrSigner: f.mr_signer!,
    configId: f.config_id!,
    isvProdId: u16le(f.isv_prod_id),
    isvSvn: u16le(f.isv_svn),
    configSvn: u16le(f.config_svn),
    isvFamilyId: f.isv_family_id!,
    reportData: f.report_data!,
  };
}

export function serializeSgxReportBody(b: SgxReportBody): Uint8Array {
  const w = new ByteWriter();
  writeLayout(w, SGX_REPORT_BODY, {
    cpu_svn: b.cpuSvn,
    misc_select: u32Bytes(b.miscSelect),
    isv_ext_prod_id: b.isvExtProdId,
    attributes: b.attributes,
    mr_enclave: b.mrEnclave,
    mr_signer: b.mrSigner,
    config_id: b.configId,
    isv_prod_id: u16Bytes(b.isvProdId),
    isv_svn: u16Bytes(b.isvSvn),
    config_svn: u16Bytes(b.configSvn),
    isv_family_id: b.isvFamilyId,
    report_data: b.reportData,
  });
  return w.finish();
}

function parseTdReportBody(r: ByteReader, l: Layout): TdReportBody {
  const f = readLayout(r, l);
  const body: TdReportBody = {
    teeTcbSvn: f.tee_tcb_svn!,
    mrSeam: f.mr_seam!,
    mrSignerSeam: f.mr_signer_seam!,
    seamAttributes: f.seam_attributes!,
    tdAttributes: f.td_attributes!,
    xfam: f.xfam!,
    mrTd: f.mr_td!,
    mrConfigId: f.mr_config_id!,
    mrOwner: f.mr_owner!,
    mrOwnerConfig: f.mr_owner_config!,
    rtmr: [f.rtmr0!, f.rtmr1!, f.rtmr2!, f.rtmr3!],
    reportData: f.report_data!,
  };
  if (f.tee_tcb_svn2 !== undefined) body.teeTcbSvn2 = f.tee_tcb_svn2;
  if (f.mr_service_td !== undefined) body.mrServiceTd = f.mr_service_td;
  return body;
}

function serializeTdReportBody(b: TdReportBody): Uint8Array {
  const l = b.teeTcbSvn2 !== undefined || b.mrServiceTd !== undefined ? TD_REPORT_BODY_15 : TD_REPORT_BODY_10;
  const v: Record<string, Uint8Array> = {
    tee_tcb_svn: b.teeTcbSvn,
    mr_seam: b.mrSeam,
    mr_signer_seam: b.mrSignerSeam,
    seam_attributes: b.seamAttributes,
    td_attributes: b.tdAttributes,
    xfam: b.xfam,
    mr_td: b.mrTd,
    mr_config_id: b.mrConfigId,
    mr_owner: b.mrOwner,
    mr_owner_config: b.mrOwnerConfig,
    rtmr0: b.rtmr[0],
    rtmr1: b.rtmr[1],
    rtmr2: b.rtmr[2],
    rtmr3: b.rtmr[3],
    report_data: b.reportData,
  };
  if (b.teeTcbSvn2 !== undefined) v.tee_tcb_svn2 = b.teeTcbSvn2;
  if (b.mrServiceTd !== undefined) v.mr_service_td = b.mrServiceTd;
  const w = new ByteWriter();
  writeLayout(w, l, v);
  return w.finish();
}

function parseHeader(r: ByteReader): QuoteHeader {
  const f = readLayout(r, QUOTE_HEADER);
  return {
    version: u16le(f.version),
    attKeyType: u16le(f.att_key_type),
    teeType: readU32(f.tee_type!),
    qeSvn: u16le(f.qe_svn),
    pceSvn: u16le(f.pce_svn),
    qeVendorId: f.qe_vendor_id!,
    userData: f.user_data!,
  };
}

function serializeHeader(h: QuoteHeader): Uint8Array {
  const w = new ByteWriter();
  writeLayout(w, QUOTE_HEADER, {
    version: u16Bytes(h.version),
    att_key_type: u16Bytes(h.attKeyType),
    tee_type: u32Bytes(h.teeType),
    qe_svn: u16Bytes(h.qeSvn),
    pce_svn: u16Bytes(h.pceSvn),
    qe_vendor_id: h.qeVendorId,
    user_data: h.userData,
  });
  return w.finish();
}

interface QeCertData {
  qeReport: SgxReportBody;
  qeReportRaw: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  pckChainPem: Uint8Array;
}

/** QE report ‖ its signature ‖ u16 auth size ‖ auth ‖ u16 cert type (5) ‖ u32 size ‖ PEM chain. */
function parseQeCertData(r: ByteReader): QeCertData {
  const start = r.offset;
  const qeReport = parseSgxReportBody(r);
  const qeReportRaw = r.buf.subarray(start, r.offset);
  const qeReportSignature = r.bytes(64, "qe_report_signature");
  const n = r.u16("qe_auth_data_size");
  if (n > MAX_QE_AUTH_DATA) throw new TwineError("attest.too_large", `QE auth data of ${n} bytes`);
  const qeAuthData = r.bytes(n, "qe_auth_data");
  const certType = r.u16("certification_data_type");
  if (certType !== CERT_TYPE_PCK_CHAIN) {
    throw new TwineError("attest.unsupported", `certification data type ${certType} (only 5, PCK chain)`);
  }
  const m = r.u32("certification_data_size");
  if (m > MAX_CERT_DATA) throw new TwineError("attest.too_large", `certification data of ${m} bytes`);
  const pckChainPem = r.bytes(m, "certification_data");
  return { qeReport, qeReportRaw, qeReportSignature, qeAuthData, pckChainPem };
}

function writeQeCertData(w: ByteWriter, s: QuoteSignatureData): void {
  w.bytes(serializeSgxReportBody(s.qeReport)).bytes(s.qeReportSignature);
  w.u16(s.qeAuthData.length).bytes(s.qeAuthData);
  w.u16(CERT_TYPE_PCK_CHAIN).u32(s.pckChainPem.length).bytes(s.pckChainPem);
}

/** Parses an SGX v3 or TDX v4/v5 quote. Throws `attest.*` on anything malformed or not allow-listed. */
export function parseQuote(bytes: Uint8Array): ParsedQuote {
  if (bytes.length > MAX_QUOTE_SIZE) {
    throw new TwineError("attest.too_large", `quote of ${bytes.length} bytes (cap ${MAX_QUOTE_SIZE})`);
  }
  const r = new ByteReader(bytes, "quote");
  const header = parseHeader(r);
  if (header.attKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw new TwineError(
      "attest.unsupported",
      `attestation key type ${header.attKeyType} (only 2, ECDSA P-256)`,
    );
  }
  let body: QuoteBody;
  if (header.version === 3) {
    if (header.teeType !== TEE_TYPE_SGX)
      throw new TwineError("attest.unsupported", "quote v3 with a non-SGX TEE type");
    body = { type: "sgx", report: parseSgxReportBody(r) };
  } else if (header.version === 4) {
    if (header.teeType !== TEE_TYPE_TDX)
      throw new TwineError("attest.unsupported", "quote v4 is accepted for TDX only");
    body = { type: "td", report: parseTdReportBody(r, TD_REPORT_BODY_10) };
  } else if (header.version === 5) {
    if (header.teeType !== TEE_TYPE_TDX)
      throw new TwineError("attest.unsupported", "quote v5 is accepted for TDX only");
    const bodyType = r.u16("body_type");
    const bodySize = r.u32("body_size");
    const l =
      bodyType === BODY_TYPE_TD10
        ? TD_REPORT_BODY_10
        : bodyType === BODY_TYPE_TD15
          ? TD_REPORT_BODY_15
          : undefined;
    if (l === undefined) throw new TwineError("attest.unsupported", `quote v5 body type ${bodyType}`);
    if (bodySize !== l.size)
      throw new TwineError("attest.format", `body size ${bodySize} for body type ${bodyType}`);
    body = { type: "td", report: parseTdReportBody(r, l) };
  } else {
    throw new TwineError("attest.version", `quote version ${header.version} (accepted: 3, 4, 5)`);
  }
  const signedRegion = bytes.subarray(0, r.offset);
  const sigLen = r.u32("signature_data_len");
  if (sigLen > r.remaining)
    throw new TwineError("attest.truncated", `signature data of ${sigLen} bytes, ${r.remaining} left`);
  const sr = new ByteReader(r.bytes(sigLen, "signature_data"), "signature_data");
  const signature = sr.bytes(64, "signature");
  const attestKey = sr.bytes(64, "attest_key");
  let qe: QeCertData;
  if (header.version === 3) {
    qe = parseQeCertData(sr);
  } else {
    const outerType = sr.u16("certification_data_type");
    if (outerType !== CERT_TYPE_QE_REPORT) {
      throw new TwineError("attest.unsupported", `outer certification data type ${outerType} (only 6)`);
    }
    const outerSize = sr.u32("certification_data_size");
    const inner = new ByteReader(
      sr.bytes(outerSize, "qe_report_certification_data"),
      "qe_report_certification_data",
    );
    qe = parseQeCertData(inner);
    if (inner.remaining !== 0)
      throw new TwineError("attest.format", "bytes left over in QE report certification data");
  }
  // Intel QVL requires the declared sizes to add up exactly: nothing unparsed inside the signature data.
  if (sr.remaining !== 0)
    throw new TwineError("attest.format", `${sr.remaining} unparsed bytes in the signature data`);
  if (r.remaining > MAX_TRAILING)
    throw new TwineError("attest.too_large", `${r.remaining} trailing bytes after the quote`);
  const trailing = r.bytes(r.remaining, "trailing");
  return {
    header,
    body,
    signatureData: {
      signature,
      attestKey,
      qeReport: qe.qeReport,
      qeReportSignature: qe.qeReportSignature,
      qeAuthData: qe.qeAuthData,
      pckChainPem: qe.pckChainPem,
    },
    trailing,
    raw: bytes,
    signedRegion,
    qeReportRaw: qe.qeReportRaw,
  };
}

/** The bytes the attestation key signs: header ‖ body (v5: ‖ body type ‖ body size ‖ body). */
export function serializeSignedRegion(q: Pick<Quote, "header" | "body">): Uint8Array {
  const w = new ByteWriter().bytes(serializeHeader(q.header));
  if (q.body.type === "sgx") {
    if (q.header.version !== 3) throw new TwineError("attest.format", "an SGX body needs quote version 3");
    w.bytes(serializeSgxReportBody(q.body.report));
  } else {
    const body = serializeTdReportBody(q.body.report);
    if (q.header.version === 5) {
      w.u16(body.length === TD_REPORT_BODY_15.size ? BODY_TYPE_TD15 : BODY_TYPE_TD10).u32(body.length);
    } else if (q.header.version !== 4 || body.length !== TD_REPORT_BODY_10.size) {
      throw new TwineError("attest.format", "a TD report body needs quote version 4 (TD 1.0) or 5");
    }
    w.bytes(body);
  }
  return w.finish();
}

/** Serialises a quote; `parseQuote(serializeQuote(q))` gives back `q`, byte for byte. */
export function serializeQuote(q: Quote): Uint8Array {
  const s = q.signatureData;
  const sig = new ByteWriter().bytes(s.signature).bytes(s.attestKey);
  if (q.header.version === 3) {
    writeQeCertData(sig, s);
  } else {
    const inner = new ByteWriter();
    writeQeCertData(inner, s);
    sig.u16(CERT_TYPE_QE_REPORT).u32(inner.length).bytes(inner.finish());
  }
  return new ByteWriter()
    .bytes(serializeSignedRegion(q))
    .u32(sig.length)
    .bytes(sig.finish())
    .bytes(q.trailing)
    .finish();
}

/** The QE report bytes as the PCK key signs them. */
export function serializeQeReport(s: QuoteSignatureData): Uint8Array {
  return serializeSgxReportBody(s.qeReport);
}
