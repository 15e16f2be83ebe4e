// DCAP collateral (PCS v4 / PCCS content, bundled as one JSON as dcap-qvl does) and the typed TCB Info
// (v2, v3) and Enclave Identity (v2) it carries. Signed JSON stays the exact text received: signatures
// are checked over those bytes, never over a re-serialisation.
import { TwineError } from "../errors.js";
import { fromHex } from "./bytes.js";

export const MAX_COLLATERAL_SIZE = 2 * 1024 * 1024;

export interface DcapCollateral {
  pckCrlIssuerChain: string;
  rootCaCrl: Uint8Array;
  pckCrl: Uint8Array;
  tcbInfoIssuerChain: string;
  /** The exact `tcbInfo` JSON text that `tcbInfoSignature` covers. */
  tcbInfo: string;
  tcbInfoSignature: Uint8Array;
  qeIdentityIssuerChain: string;
  qeIdentity: string;
  qeIdentitySignature: Uint8Array;
}

const KEYS = {
  pckCrlIssuerChain: "pck_crl_issuer_chain",
  rootCaCrl: "root_ca_crl",
  pckCrl: "pck_crl",
  tcbInfoIssuerChain: "tcb_info_issuer_chain",
  tcbInfo: "tcb_info",
  tcbInfoSignature: "tcb_info_signature",
  qeIdentityIssuerChain: "qe_identity_issuer_chain",
  qeIdentity: "qe_identity",
  qeIdentitySignature: "qe_identity_signature",
} as const;

function bad(detail: string, cause?: unknown): TwineError {
  return new TwineError(
    "attest.collateral_format",
    `collateral: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Parses the one-file collateral bundle (keys as in dcap-qvl; CRLs as hex DER, signatures as hex r‖s). */
export function parseDcapCollateral(input: string | Uint8Array): DcapCollateral {
  const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
  if (text.length > MAX_COLLATERAL_SIZE)
    throw new TwineError("attest.too_large", `collateral of ${text.length} bytes`);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad("not JSON", e);
  }
  if (typeof j !== "object" || j === null) throw bad("not a JSON object");
  const o = j as Record<string, unknown>;
  const str = (k: keyof typeof KEYS): string => {
    const v = o[KEYS[k]];
    if (typeof v !== "string") throw bad(`${KEYS[k]} missing or not a string`);
    return v;
  };
  const hexField = (k: keyof typeof KEYS, size?: number): Uint8Array => {
    try {
      return fromHex(str(k), KEYS[k], size);
    } catch (e) {
      throw bad(`${KEYS[k]} is not valid hex${size === undefined ? "" : ` of ${size} bytes`}`, e);
    }
  };
  return {
    pckCrlIssuerChain: str("pckCrlIssuerChain"),
    rootCaCrl: hexField("rootCaCrl"),
    pckCrl: hexField("pckCrl"),
    tcbInfoIssuerChain: str("tcbInfoIssuerChain"),
    tcbInfo: str("tcbInfo"),
    tcbInfoSignature: hexField("tcbInfoSignature", 64),
    qeIdentityIssuerChain: str("qeIdentityIssuerChain"),
    qeIdentity: str("qeIdentity"),
    qeIdentitySignature: hexField("qeIdentitySignature", 64),
  };
}

/** The bundle as JSON text, in the same shape `parseDcapCollateral` reads. */
export function serializeDcapCollateral(c: DcapCollateral): string {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
  return JSON.stringify({
    [KEYS.pckCrlIssuerChain]: c.pckCrlIssuerChain,
    [KEYS.rootCaCrl]: hex(c.rootCaCrl),
    [KEYS.pckCrl]: hex(c.pckCrl),
    [KEYS.tcbInfoIssuerChain]: c.tcbInfoIssuerChain,
    [KEYS.tcbInfo]: c.tcbInfo,
    [KEYS.tcbInfoSignature]: hex(c.tcbInfoSignature),
    [KEYS.qeIdentityIssuerChain]: c.qeIdentityIssuerChain,
    [KEYS.qeIdentity]: c.qeIdentity,
    [KEYS.qeIdentitySignature]: hex(c.qeIdentitySignature),
  });
}

/** The statuses a TCB Info or identity level may carry (Intel QVL's `VALID_TCB_INFO_STATUSES`). */
export const TCB_LEVEL_STATUSES = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
  "Revoked",
] as const;
export type TcbLevelStatus = (typeof TCB_LEVEL_STATUSES)[number];

/**
 * Every status a verdict may carry: the level statuses, plus the two only the TD 1.5 relaunch check
 * produces (Intel's TD_RELAUNCH_ADVISED 0xA009 and TD_RELAUNCH_ADVISED_CONFIG_NEEDED 0xA00A, spelled
 * as Intel's appraisal policies and QvE result strings spell them). Collateral never carries these two.
 */
export const TCB_STATUSES = [
  ...TCB_LEVEL_STATUSES,
  "TDRelaunchAdvised",
  "TDRelaunchAdvisedConfigurationNeeded",
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  /** TDX TCB info only. */
  tdxComponents?: number[];
  tcbDate: string;
  tcbStatus: TcbLevelStatus;
  advisoryIds: string[];
}

export interface IdentityLevel {
  isvsvn: number;
  tcbDate: string;
  tcbStatus: TcbLevelStatus;
  advisoryIds: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrsigner: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  tcbLevels: IdentityLevel[];
}

export interface TcbInfo {
  id: "SGX" | "TDX";
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  /** Lower-case hex. */
  fmspc: string;
  pceId: string;
  tcbEvaluationDataNumber: number;
  tcbLevels: TcbLevel[];
  tdxModule?: Omit<TdxModuleIdentity, "id" | "tcbLevels">;
  tdxModuleIdentities?: TdxModuleIdentity[];
}

export interface QeIdentity {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  miscselect: number;
  miscselectMask: number;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrsigner: Uint8Array;
  isvprodid: number;
  tcbLevels: IdentityLevel[];
}

type Obj = Record<string, unknown>;

class JsonReader {
  constructor(private readonly what: string) {}
  obj(v: unknown, path: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw bad(`${this.what}.${path} is not an object`);
    return v as Obj;
  }
  arr(v: unknown, path: string, max = 256): unknown[] {
    if (!Array.isArray(v) || v.length > max) throw bad(`${this.what}.${path} is not an array (≤ ${max})`);
    return v;
  }
  int(v: unknown, path: string, max = 0xffff_ffff): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max)
      throw bad(`${this.what}.${path} is not an integer`);
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== "string") throw bad(`${this.what}.${path} is not a string`);
    return v;
  }
  hex(v: unknown, path: string, size: number): Uint8Array {
    try {
      return fromHex(this.str(v, path), `${this.what}.${path}`, size);
    } catch (e) {
      throw bad(`${this.what}.${path} is not ${size} bytes of hex`, e);
    }
  }
  date(v: unknown, path: string): Date {
    const s = this.str(v, path);
    const d = new Date(s);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(s) || Number.isNaN(d.getTime())) {
      throw bad(`${this.what}.${path} is not an ISO 8601 UTC time`);
    }
    return d;
  }
  status(v: unknown, path: string): TcbLevelStatus {
    const s = this.str(v, path);
    if (!(TCB_LEVEL_STATUSES as readonly string[]).includes(s))
      throw bad(`${this.what}.${path}: unknown TCB status ${s}`);
    return s as TcbLevelStatus;
  }
  advisories(v: unknown, path: string): string[] {
    if (v === undefined) return [];
    return this.arr(v, path).map((a, i) => this.str(a, `${path}[${i}]`));
  }
  identityLevels(v: unknown, path: string): IdentityLevel[] {
    return this.arr(v, path).map((l, i) => {
      const o = this.obj(l, `${path}[${i}]`);
      return {
        isvsvn: this.int(this.obj(o.tcb, `${path}[${i}].tcb`).isvsvn, `${path}[${i}].tcb.isvsvn`, 0xffff),
        tcbDate: this.str(o.tcbDate, `${path}[${i}].tcbDate`),
        tcbStatus: this.status(o.tcbStatus, `${path}[${i}].tcbStatus`),
        advisoryIds: this.advisories(o.advisoryIDs, `${path}[${i}].advisoryIDs`),
      };
    });
  }
}

function parseJsonObject(text: string, what: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`${what} is not JSON`, e);
  }
  return new JsonReader(what).obj(v, "");
}

function components(r: JsonReader, v: unknown, path: string): number[] {
  const a = r.arr(v, path);
  if (a.length !== 16) throw bad(`${path} has ${a.length} components, expected 16`);
  return a.map((c, i) => r.int(r.obj(c, `${path}[${i}]`).svn, `${path}[${i}].svn`, 255));
}

/** Parses TCB Info v2 (SGX) or v3 (SGX, TDX). Signature and time checks are the verifier's. */
export function parseTcbInfo(text: string): TcbInfo {
  const r = new JsonReader("tcbInfo");
  const o = parseJsonObject(text, "tcbInfo");
  const version = r.int(o.version, "version");
  if (version !== 2 && version !== 3)
    throw new TwineError("attest.collateral_version", `tcbInfo version ${version}`);
  const id = version === 2 ? "SGX" : r.str(o.id, "id");
  if (id !== "SGX" && id !== "TDX") throw new TwineError("attest.collateral_version", `tcbInfo id ${id}`);
  const levels = r.arr(o.tcbLevels, "tcbLevels").map((l, i): TcbLevel => {
    const p = `tcbLevels[${i}]`;
    const lo = r.obj(l, p);
    const t = r.obj(lo.tcb, `${p}.tcb`);
    let sgx: number[];
    if (version === 2) {
      sgx = [];
      for (let c = 1; c <= 16; c++) {
        const k = `sgxtcbcomp${String(c).padStart(2, "0")}svn`;
        sgx.push(r.int(t[k], `${p}.tcb.${k}`, 255));
      }
    } else {
      sgx = components(r, t.sgxtcbcomponents, `${p}.tcb.sgxtcbcomponents`);
    }
    const level: TcbLevel = {
      sgxComponents: sgx,
      pceSvn: r.int(t.pcesvn, `${p}.tcb.pcesvn`, 0xffff),
      tcbDate: r.str(lo.tcbDate, `${p}.tcbDate`),
      tcbStatus: r.status(lo.tcbStatus, `${p}.tcbStatus`),
      advisoryIds: r.advisories(lo.advisoryIDs, `${p}.advisoryIDs`),
    };
    if (id === "TDX") level.tdxComponents = components(r, t.tdxtcbcomponents, `${p}.tcb.tdxtcbcomponents`);
    return level;
  });
  const info: TcbInfo = {
    id,
    version,
    issueDate: r.date(o.issueDate, "issueDate"),
    nextUpdate: r.date(o.nextUpdate, "nextUpdate"),
    fmspc: Buffer.from(r.hex(o.fmspc, "fmspc", 6)).toString("hex"),
    pceId: Buffer.from(r.hex(o.pceId, "pceId", 2)).toString("hex"),
    tcbEvaluationDataNumber: r.int(o.tcbEvaluationDataNumber, "tcbEvaluationDataNumber"),
    tcbLevels: levels,
  };
  if (id === "TDX") {
    const m = r.obj(o.tdxModule, "tdxModule");
    info.tdxModule = {
      mrsigner: r.hex(m.mrsigner, "tdxModule.mrsigner", 48),
      attributes: r.hex(m.attributes, "tdxModule.attributes", 8),
      attributesMask: r.hex(m.attributesMask, "tdxModule.attributesMask", 8),
    };
    info.tdxModuleIdentities =
      o.tdxModuleIdentities === undefined
        ? []
        : r.arr(o.tdxModuleIdentities, "tdxModuleIdentities").map((v, i) => {
            const p = `tdxModuleIdentities[${i}]`;
            const mi = r.obj(v, p);
            return {
              id: r.str(mi.id, `${p}.id`),
              mrsigner: r.hex(mi.mrsigner, `${p}.mrsigner`, 48),
              attributes: r.hex(mi.attributes, `${p}.attributes`, 8),
              attributesMask: r.hex(mi.attributesMask, `${p}.attributesMask`, 8),
              tcbLevels: r.identityLevels(mi.tcbLevels, `${p}.tcbLevels`),
            };
          });
  }
  return info;
}

/** Parses Enclave Identity v2 (QE, TD_QE). */
export function parseQeIdentity(text: string): QeIdentity {
  const r = new JsonReader("enclaveIdentity");
  const o = parseJsonObject(text, "enclaveIdentity");
  const version = r.int(o.version, "version");
  if (version !== 2) throw new TwineError("attest.collateral_version", `enclaveIdentity version ${version}`);
  return {
    id: r.str(o.id, "id"),
    version,
    issueDate: r.date(o.issueDate, "issueDate"),
    nextUpdate: r.date(o.nextUpdate, "nextUpdate"),
    // Written as the 4 bytes of the report field, so read little-endian like the report.
    miscselect: Buffer.from(r.hex(o.miscselect, "miscselect", 4)).readUInt32LE(0),
    miscselectMask: Buffer.from(r.hex(o.miscselectMask, "miscselectMask", 4)).readUInt32LE(0),
    attributes: r.hex(o.attributes, "attributes", 16),
    attributesMask: r.hex(o.attributesMask, "attributesMask", 16),
    mrsigner: r.hex(o.mrsigner, "mrsigner", 32),
    isvprodid: r.int(o.isvprodid, "isvprodid", 0xffff),
    tcbLevels: r.identityLevels(o.tcbLevels, "tcbLevels"),
  };
}
