// AMD SEV-SNP ATTESTATION_REPORT ([S5] ATTESTATION_REPORT table; layout as go-sev-guest abi/abi.go).
// Parser and serialiser only.
import { TwineError } from "../errors.js";
import {
  ByteReader,
  ByteWriter,
  layout,
  readLayout,
  writeLayout,
  readU32,
  readU64,
  u32Bytes,
  u64Bytes,
} from "./bytes.js";

export const SNP_REPORT_SIZE = 0x4a0;
export const SNP_SIGNED_SIZE = 0x2a0;
export const SNP_VERSIONS: readonly number[] = [2, 3, 4, 5];
export const SIG_ALGO_ECDSA_P384_SHA384 = 1;
export const SIGNING_KEY_VCEK = 0;
export const SIGNING_KEY_VLEK = 1;

export const SNP_REPORT = layout("snp_attestation_report", SNP_REPORT_SIZE, [
  { name: "version", size: 4 },
  { name: "guest_svn", size: 4 },
  { name: "policy", size: 8 },
  { name: "family_id", size: 16 },
  { name: "image_id", size: 16 },
  { name: "vmpl", size: 4 },
  { name: "signature_algo", size: 4 },
  { name: "current_tcb", size: 8 },
  { name: "platform_info", size: 8 },
  { name: "flags", size: 4 },
  { name: "reserved0", size: 4, reserved: true },
  { name: "report_data", size: 64 },
  { name: "measurement", size: 48 },
  { name: "host_data", size: 32 },
  { name: "id_key_digest", size: 48 },
  { name: "author_key_digest", size: 48 },
  { name: "report_id", size: 32 },
  { name: "report_id_ma", size: 32 },
  { name: "reported_tcb", size: 8 },
  { name: "cpuid", size: 3 },
  { name: "reserved1", size: 21, reserved: true },
  { name: "chip_id", size: 64 },
  { name: "committed_tcb", size: 8 },
  { name: "current_version", size: 3 },
  { name: "reserved2", size: 1, reserved: true },
  { name: "committed_version", size: 3 },
  { name: "reserved3", size: 1, reserved: true },
  { name: "launch_tcb", size: 8 },
  { name: "launch_mit_vector", size: 8 },
  { name: "current_mit_vector", size: 8 },
  { name: "reserved4", size: 0x98, reserved: true },
  { name: "signature_r", size: 72 },
  { name: "signature_s", size: 72 },
  { name: "reserved5", size: 368, reserved: true },
]);

/** The AMD product lines whose reports this module decodes (KDS product names). */
export type SnpProduct = "Milan" | "Genoa" | "Turin";

/**
 * A TCB_VERSION ([S5] §2.2), whose byte layout depends on the product:
 * Milan/Genoa: byte 0 boot loader, 1 TEE, 2–5 reserved, 6 SNP, 7 microcode;
 * Turin: byte 0 FMC, 1 boot loader, 2 TEE, 3 SNP, 4–6 reserved, 7 microcode.
 * `fmc` is present exactly when the layout is Turin's.
 */
export interface SnpTcbParts {
  fmc?: number;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

/**
 * Product from a v3+ report's CPUID fields (family, model); undefined for v2 reports, which carry none,
 * and for families/models we do not know. Every family 0x1A part is taken as Turin, as the spec says:
 * a later product on that family would then fail at the chain (its VCEK does not chain to ARK-Turin),
 * never pass under the wrong root.
 */
export function snpProductFromCpuid(r: Pick<SnpReport, "version" | "cpuid">): SnpProduct | undefined {
  if (r.version < 3) return undefined;
  const [fam, model] = [r.cpuid[0]!, r.cpuid[1]!];
  if (fam === 0x19 && model <= 0x0f) return "Milan";
  if (fam === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return "Genoa";
  if (fam === 0x1a) return "Turin";
  return undefined;
}

/** Decodes a TCB_VERSION in `product`'s layout; any product other than Turin (or none) reads Milan/Genoa's. */
export function decodeTcb(raw: bigint, product?: string): SnpTcbParts {
  const b = u64Bytes(raw);
  if (product === "Turin") return { fmc: b[0]!, bootloader: b[1]!, tee: b[2]!, snp: b[3]!, microcode: b[7]! };
  return { bootloader: b[0]!, tee: b[1]!, snp: b[6]!, microcode: b[7]! };
}

/** The inverse of `decodeTcb` (reserved bytes zero); Turin's layout needs `fmc`. */
export function encodeTcb(t: SnpTcbParts, product?: string): bigint {
  if (product === "Turin") {
    if (t.fmc === undefined) throw new TwineError("attest.usage", "a Turin TCB_VERSION needs fmc");
    return readU64(Uint8Array.of(t.fmc, t.bootloader, t.tee, t.snp, 0, 0, 0, t.microcode));
  }
  return readU64(Uint8Array.of(t.bootloader, t.tee, 0, 0, 0, 0, t.snp, t.microcode));
}

/** A TCB_VERSION for people: `fmc 1 bl 3 tee 2 snp 5 ucode 90` (fmc only in Turin's layout). */
export function formatTcb(t: SnpTcbParts): string {
  const fmc = t.fmc === undefined ? "" : `fmc ${t.fmc} `;
  return `${fmc}bl ${t.bootloader} tee ${t.tee} snp ${t.snp} ucode ${t.microcode}`;
}

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: bigint;
  platformInfo: bigint;
  /** bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY. */
  flags: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: bigint;
  /** v3+: CPUID family, model, stepping (zero in v2). */
  cpuid: Uint8Array;
  chipId: Uint8Array;
  committedTcb: bigint;
  /** build, minor, major */
  currentVersion: Uint8Array;
  committedVersion: Uint8Array;
  launchTcb: bigint;
  launchMitVector: bigint;
  currentMitVector: bigint;
  /** r and s, 72 bytes little-endian each (upper 24 bytes zero for P-384). */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
}

export interface ParsedSnpReport extends SnpReport {
  raw: Uint8Array;
  signedRegion: Uint8Array;
}

export function signingKeyOf(r: Pick<SnpReport, "flags">): number {
  return (r.flags >>> 2) & 7;
}

function mbz(cond: boolean, what: string): void {
  if (!cond) throw new TwineError("attest.reserved_nonzero", `SNP report: ${what}`);
}

/** Parses a 1184-byte SNP report; rejects other sizes, unknown versions and non-zero reserved bytes. */
export function parseSnpReport(bytes: Uint8Array): ParsedSnpReport {
  if (bytes.length > SNP_REPORT_SIZE)
    throw new TwineError(
      "attest.too_large",
      `SNP report of ${bytes.length} bytes (expected ${SNP_REPORT_SIZE})`,
    );
  if (bytes.length < SNP_REPORT_SIZE)
    throw new TwineError(
      "attest.truncated",
      `SNP report of ${bytes.length} bytes (expected ${SNP_REPORT_SIZE})`,
    );
  const f = readLayout(new ByteReader(bytes, "snp report"), SNP_REPORT);
  const r: SnpReport = {
    version: readU32(f.version!),
    guestSvn: readU32(f.guest_svn!),
    policy: readU64(f.policy!),
    familyId: f.family_id!,
    imageId: f.image_id!,
    vmpl: readU32(f.vmpl!),
    signatureAlgo: readU32(f.signature_algo!),
    currentTcb: readU64(f.current_tcb!),
    platformInfo: readU64(f.platform_info!),
    flags: readU32(f.flags!),
    reportData: f.report_data!,
    measurement: f.measurement!,
    hostData: f.host_data!,
    idKeyDigest: f.id_key_digest!,
    authorKeyDigest: f.author_key_digest!,
    reportId: f.report_id!,
    reportIdMa: f.report_id_ma!,
    reportedTcb: readU64(f.reported_tcb!),
    cpuid: f.cpuid!,
    chipId: f.chip_id!,
    committedTcb: readU64(f.committed_tcb!),
    currentVersion: f.current_version!,
    committedVersion: f.committed_version!,
    launchTcb: readU64(f.launch_tcb!),
    launchMitVector: readU64(f.launch_mit_vector!),
    currentMitVector: readU64(f.current_mit_vector!),
    signatureR: f.signature_r!,
    signatureS: f.signature_s!,
  };
  if (!SNP_VERSIONS.includes(r.version))
    throw new TwineError(
      "attest.version",
      `SNP report version ${r.version} (accepted: ${SNP_VERSIONS.join(", ")})`,
    );
  if (r.signatureAlgo !== SIG_ALGO_ECDSA_P384_SHA384)
    throw new TwineError("attest.unsupported", `SNP signature algorithm ${r.signatureAlgo}`);
  const key = signingKeyOf(r);
  if (key !== SIGNING_KEY_VCEK && key !== SIGNING_KEY_VLEK)
    throw new TwineError("attest.unsupported", `SNP signing key ${key} (0 VCEK, 1 VLEK)`);
  mbz(r.flags >>> 5 === 0, "reserved flag bits set");
  mbz(r.version >= 3 || r.cpuid.every((b) => b === 0), "CPUID fields in a v2 report");
  mbz(
    r.version >= 5 || (r.launchMitVector === 0n && r.currentMitVector === 0n),
    "mitigation vectors before v5",
  );
  mbz(r.vmpl <= 3, `VMPL ${r.vmpl}`);
  return { ...r, raw: bytes, signedRegion: bytes.subarray(0, SNP_SIGNED_SIZE) };
}

export function serializeSnpReport(r: SnpReport): Uint8Array {
  const w = new ByteWriter();
  writeLayout(w, SNP_REPORT, {
    version: u32Bytes(r.version),
    guest_svn: u32Bytes(r.guestSvn),
    policy: u64Bytes(r.policy),
    family_id: r.familyId,
    image_id: r.imageId,
    vmpl: u32Bytes(r.vmpl),
    signature_algo: u32Bytes(r.signatureAlgo),
    current_tcb: u64Bytes(r.currentTcb),
    platform_info: u64Bytes(r.platformInfo),
    flags: u32Bytes(r.flags),
    report_data: r.reportData,
    measurement: r.measurement,
    host_data: r.hostData,
    id_key_digest: r.idKeyDigest,
    author_key_digest: r.authorKeyDigest,
    report_id: r.reportId,
    report_id_ma: r.reportIdMa,
    reported_tcb: u64Bytes(r.reportedTcb),
    cpuid: r.cpuid,
    chip_id: r.chipId,
    committed_tcb: u64Bytes(r.committedTcb),
    current_version: r.currentVersion,
    committed_version: r.committedVersion,
    launch_tcb: u64Bytes(r.launchTcb),
    launch_mit_vector: u64Bytes(r.launchMitVector),
    current_mit_vector: u64Bytes(r.currentMitVector),
    signature_r: r.signatureR,
    signature_s: r.signatureS,
  });
  return w.finish();
}
