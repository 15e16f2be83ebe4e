// The Intel SGX PCK certificate extension ([S4], OID 1.2.840.113741.1.13.1): the platform's TCB
// component SVNs, PCESVN, CPUSVN, FMSPC and PCE-ID that TCB matching uses (never the quote header's).
import { TwineError } from "../errors.js";
import { children, octets, oid, parseDer, smallInt } from "./der.js";
import type { Cert } from "./x509.js";

export const OID_SGX_EXTENSION = "1.2.840.113741.1.13.1";

export interface PckExtension {
  ppid: Uint8Array;
  /** 16 component SVNs. */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  /** Lower-case hex. */
  pceId: string;
  fmspc: string;
  sgxType: number;
}

export function parsePckExtension(cert: Cert): PckExtension {
  const raw = cert.extensions.get(OID_SGX_EXTENSION);
  if (raw === undefined) throw new TwineError("attest.pck_extension", "PCK certificate has no SGX extension");
  try {
    const items = new Map<string, unknown>();
    for (const e of children(parseDer(raw, "sgx extension"), "sgx extension")) {
      const kv = children(e, "sgx extension entry");
      items.set(oid(kv[0], "sgx extension oid"), kv[1]);
    }
    const get = (k: string): Parameters<typeof octets>[0] => {
      const v = items.get(`${OID_SGX_EXTENSION}.${k}`);
      if (v === undefined) throw new TwineError("attest.pck_extension", `SGX extension lacks .${k}`);
      return v as Parameters<typeof octets>[0];
    };
    const tcb = new Map<string, Parameters<typeof octets>[0]>();
    for (const e of children(get("2"), "sgx tcb")) {
      const kv = children(e, "sgx tcb entry");
      tcb.set(oid(kv[0], "sgx tcb oid"), kv[1]);
    }
    const tcbGet = (n: number): Parameters<typeof octets>[0] => {
      const v = tcb.get(`${OID_SGX_EXTENSION}.2.${n}`);
      if (v === undefined) throw new TwineError("attest.pck_extension", `SGX extension lacks TCB .2.${n}`);
      return v;
    };
    const comps: number[] = [];
    for (let i = 1; i <= 16; i++) comps.push(smallInt(tcbGet(i), `comp${i}`, 255));
    const size = (b: Uint8Array, n: number, what: string): Uint8Array => {
      if (b.length !== n)
        throw new TwineError("attest.pck_extension", `${what}: ${b.length} bytes, expected ${n}`);
      return b;
    };
    return {
      ppid: size(octets(get("1"), "ppid"), 16, "PPID"),
      tcbComponents: comps,
      pceSvn: smallInt(tcbGet(17), "pcesvn", 0xffff),
      cpuSvn: size(octets(tcbGet(18), "cpusvn"), 16, "CPUSVN"),
      pceId: Buffer.from(size(octets(get("3"), "pceid"), 2, "PCE-ID")).toString("hex"),
      fmspc: Buffer.from(size(octets(get("4"), "fmspc"), 6, "FMSPC")).toString("hex"),
      sgxType: smallInt(get("5"), "sgx type", 255),
    };
  } catch (e) {
    if (e instanceof TwineError && e.code === "attest.der") {
      throw new TwineError("attest.pck_extension", `SGX extension: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
