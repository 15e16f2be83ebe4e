// The software-only TEE, for development: INSECURE, it proves nothing. Its evidence has the real SGX
// DCAP v3 quote format, signed through a locally generated root CA → PCK CA → PCK leaf and attestation
// key kept in the user's config dir, so the real verifier path runs end to end; every quote is marked
// (header user_data "TWINE-SIM-INSECURE", certificate names "… SIM INSECURE …") and verifiers refuse it
// unless `dangerousAllowSim`. MRENCLAVE is a hash of the installed runtime's own files; MRSIGNER the
// hash of the sim root certificate; sealing keys come from a random secret in the same dir.
import { createHmac, createPrivateKey, createPublicKey, randomBytes, sign as cryptoSign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { TwineError } from "../errors.js";
import {
  INTEL_QE_VENDOR_ID,
  serializeQuote,
  serializeSgxReportBody,
  serializeSignedRegion,
} from "../attest/abi-quote.js";
import type { SgxReportBody } from "../attest/abi-quote.js";
import { fromHex } from "../attest/bytes.js";
import type { DcapCollateral } from "../attest/collateral.js";
import { OID_SGX_EXTENSION } from "../attest/pck.js";
import { SIM_QE_USER_DATA } from "../attest/sim-evidence.js";
import {
  derToPem,
  emptySgxReportBody,
  makeCert,
  makeCrl,
  makePckExtension,
  p256KeyPair,
} from "../attest/synthetic.js";
import { checkReportData, deriveSealingKey, sha256 } from "./tee.js";
import type { Evidence, SealPolicy, Tee } from "./tee.js";

const STATE_FILE = "sim-state.json";
const ROOT_FILE = "sim-root.der";
const STATE_VERSION = 1;
const DAY = 86_400_000;
const PCK_TCB = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const PCE_SVN = 13;
const QE_SVN = 10;
const FMSPC = "00000051a000"; // not a real platform's FMSPC
const NAMES = {
  root: "Twine SIM INSECURE SGX Root CA",
  ca: "Twine SIM INSECURE SGX PCK Processor CA",
  pck: "Twine SIM INSECURE SGX PCK Certificate",
  tcb: "Twine SIM INSECURE SGX TCB Signing",
};
/** INIT | MODE64BIT, not DEBUG; XFRM x87 | SSE | AVX. */
const ENCLAVE_ATTRIBUTES = "05000000000000000700000000000000";
/** The same with DEBUG: for tests of verifiers that must refuse debug enclaves. */
const DEBUG_ENCLAVE_ATTRIBUTES = "07000000000000000700000000000000";
const QE_ATTRIBUTES = "11000000000000000000000000000000";

/** `$TWINE_SIM_DIR`, else `$XDG_CONFIG_HOME/twine/sim`, else `~/.config/twine/sim`. */
export function defaultSimDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TWINE_SIM_DIR !== undefined && env.TWINE_SIM_DIR !== "") return env.TWINE_SIM_DIR;
  const config =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ""
      ? env.XDG_CONFIG_HOME
      : path.join(os.homedir(), ".config");
  return path.join(config, "twine", "sim");
}

/** The runtime's installed files: dist/ (this file is dist/src/tee/sim.js). */
export const RUNTIME_DIST = fileURLToPath(new URL("../../", import.meta.url));

/**
 * SHA-256 over every `*.js` file under `dist`, sorted by relative path ('/' separators), each fed as
 * `path NUL byteLength NUL content`, so renaming, moving or changing any file changes the hash.
 */
export function measureRuntimeFiles(dist: string): Uint8Array {
  const files: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else if (e.isFile() && e.name.endsWith(".js")) files.push(r);
    }
  };
  walk(dist, "");
  files.sort();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const content = fs.readFileSync(path.join(dist, ...f.split("/")));
    parts.push(Buffer.from(`${f}\0${content.length}\0`, "utf8"), content);
  }
  return sha256(...parts);
}

interface SimState {
  version: number;
  warning: string;
  sealSecret: string;
  qeAuthData: string;
  qeMrSigner: string;
  keys: Record<"root" | "ca" | "pck" | "tcb" | "attest", string>;
  certs: Record<"root" | "ca" | "pck" | "tcb", string>;
}

function createState(): SimState {
  const now = Date.now();
  const from = new Date(now - DAY);
  const to = new Date(now + 10 * 365 * DAY);
  const k = {
    root: p256KeyPair(),
    ca: p256KeyPair(),
    pck: p256KeyPair(),
    tcb: p256KeyPair(),
    attest: p256KeyPair(),
  };
  const serial = (): Uint8Array => new Uint8Array(randomBytes(16));
  const cert = (
    subjectCn: string,
    issuerCn: string,
    pub: KeyObject,
    signer: KeyObject,
    ca: boolean,
    extensions: { oid: string; value: Uint8Array }[] = [],
  ): string =>
    Buffer.from(
      makeCert({
        subjectCn,
        issuerCn,
        publicKey: pub,
        signingKey: signer,
        serial: serial(),
        notBefore: from,
        notAfter: to,
        ca,
        extensions,
      }),
    ).toString("base64");
  const pckExt = makePckExtension({
    tcbComponents: PCK_TCB,
    pceSvn: PCE_SVN,
    cpuSvn: new Uint8Array(16),
    pceId: "0000",
    fmspc: FMSPC,
  });
  const pem = (key: KeyObject): string => key.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    version: STATE_VERSION,
    warning: "Twine sim TEE: software only, INSECURE. Evidence signed with these keys proves nothing.",
    sealSecret: randomBytes(32).toString("hex"),
    qeAuthData: randomBytes(32).toString("hex"),
    qeMrSigner: randomBytes(32).toString("hex"),
    keys: {
      root: pem(k.root.privateKey),
      ca: pem(k.ca.privateKey),
      pck: pem(k.pck.privateKey),
      tcb: pem(k.tcb.privateKey),
      attest: pem(k.attest.privateKey),
    },
    certs: {
      root: cert(NAMES.root, NAMES.root, k.root.publicKey, k.root.privateKey, true),
      ca: cert(NAMES.ca, NAMES.root, k.ca.publicKey, k.root.privateKey, true),
      pck: cert(NAMES.pck, NAMES.ca, k.pck.publicKey, k.ca.privateKey, false, [
        { oid: OID_SGX_EXTENSION, value: pckExt },
      ]),
      tcb: cert(NAMES.tcb, NAMES.root, k.tcb.publicKey, k.root.privateKey, false),
    },
  };
}

/** Loads the sim state, creating it once (atomically: concurrent first runs agree on one state). */
function loadState(dir: string): SimState {
  const file = path.join(dir, STATE_FILE);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const state = createState();
    const tmp = path.join(dir, `.${STATE_FILE}.${process.pid}.${randomBytes(4).toString("hex")}`);
    fs.writeFileSync(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST")
        throw new TwineError("tee.io", `cannot create ${file}`, { cause: e });
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  let s: SimState;
  try {
    s = JSON.parse(fs.readFileSync(file, "utf8")) as SimState;
  } catch (e) {
    throw new TwineError("tee.sim_state", `cannot read ${file}`, { cause: e });
  }
  if (
    s.version !== STATE_VERSION ||
    typeof s.sealSecret !== "string" ||
    !/^[0-9a-f]{64}$/.test(s.sealSecret) ||
    typeof s.keys !== "object" ||
    typeof s.certs !== "object" ||
    !["root", "ca", "pck", "tcb", "attest"].every(
      (k) => typeof (s.keys as Record<string, unknown>)[k] === "string",
    ) ||
    !["root", "ca", "pck", "tcb"].every((k) => typeof (s.certs as Record<string, unknown>)[k] === "string")
  ) {
    throw new TwineError("tee.sim_state", `${file} is not a Twine sim state (version ${STATE_VERSION})`);
  }
  // For relying parties: the root to pass as `roots.intelSgxRootCa` with dangerousAllowSim.
  const rootFile = path.join(dir, ROOT_FILE);
  if (!fs.existsSync(rootFile)) {
    try {
      fs.writeFileSync(rootFile, Buffer.from(s.certs.root, "base64"));
    } catch {
      // Only a convenience copy: the state file holds the root too.
    }
  }
  return s;
}

function rawP256(pub: KeyObject): Uint8Array {
  const jwk = pub.export({ format: "jwk" });
  return new Uint8Array(
    Buffer.concat([Buffer.from(jwk.x ?? "", "base64url"), Buffer.from(jwk.y ?? "", "base64url")]),
  );
}

function p1363(data: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(cryptoSign("sha256", data, { key, dsaEncoding: "ieee-p1363" }));
}

export interface SimOptions {
  /** Where the sim keys live (default `defaultSimDir()`). */
  dir?: string;
  /** The runtime files measured as MRENCLAVE (default the installed dist/). */
  runtimeDist?: string;
  /** Mark quotes as from a debug enclave (tests: verifiers must refuse them). */
  debug?: boolean;
}

export class SimTee implements Tee {
  readonly kind = "sim";
  readonly dir: string;
  /** DER of the sim root CA: what a relying party passes as `roots.intelSgxRootCa`. */
  readonly rootDer: Uint8Array;
  private readonly state: SimState;
  private readonly runtimeDist: string;
  private readonly debug: boolean;
  private readonly attestKey: KeyObject;
  private readonly pckChainPem: Uint8Array;
  private mrEnclave: Uint8Array | undefined;
  private qeReport: SgxReportBody | undefined;

  constructor(opts: SimOptions = {}) {
    this.dir = opts.dir ?? defaultSimDir();
    this.runtimeDist = opts.runtimeDist ?? RUNTIME_DIST;
    this.debug = opts.debug === true;
    this.state = loadState(this.dir);
    this.rootDer = new Uint8Array(Buffer.from(this.state.certs.root, "base64"));
    this.attestKey = this.key("attest");
    const der = (c: keyof SimState["certs"]): Uint8Array =>
      new Uint8Array(Buffer.from(this.state.certs[c], "base64"));
    this.pckChainPem = new Uint8Array(
      Buffer.from(derToPem(der("pck")) + derToPem(der("ca")) + derToPem(der("root")), "latin1"),
    );
  }

  private key(name: keyof SimState["keys"]): KeyObject {
    return createPrivateKey(this.state.keys[name]);
  }

  measurement(): Uint8Array {
    this.mrEnclave ??= measureRuntimeFiles(this.runtimeDist);
    return this.mrEnclave;
  }

  mrSigner(): Uint8Array {
    return sha256(this.rootDer);
  }

  getEvidence(reportData: Uint8Array): Evidence {
    checkReportData(reportData);
    const header = {
      version: 3,
      attKeyType: 2,
      teeType: 0,
      qeSvn: QE_SVN,
      pceSvn: PCE_SVN,
      qeVendorId: fromHex(INTEL_QE_VENDOR_ID, "qe vendor"),
      userData: SIM_QE_USER_DATA,
    };
    const report: SgxReportBody = {
      ...emptySgxReportBody(),
      attributes: fromHex(this.debug ? DEBUG_ENCLAVE_ATTRIBUTES : ENCLAVE_ATTRIBUTES, "attributes"),
      mrEnclave: this.measurement(),
      mrSigner: this.mrSigner(),
      reportData: Uint8Array.from(reportData),
    };
    const qeReport = this.getQeReport();
    const quote = serializeQuote({
      header,
      body: { type: "sgx", report },
      signatureData: {
        signature: p1363(serializeSignedRegion({ header, body: { type: "sgx", report } }), this.attestKey),
        attestKey: rawP256(createPublicKey(this.attestKey)),
        qeReport,
        qeReportSignature: p1363(serializeSgxReportBody(qeReport), this.key("pck")),
        qeAuthData: fromHex(this.state.qeAuthData, "qe auth data"),
        pckChainPem: this.pckChainPem,
      },
      trailing: new Uint8Array(0),
    });
    return { type: "sgx_ecdsa", report: quote, sim: true };
  }

  /** The QE report binds the attestation key: REPORTDATA = SHA-256(attest key ‖ QE auth data) ‖ 0…. */
  private getQeReport(): SgxReportBody {
    if (this.qeReport === undefined) {
      const rd = new Uint8Array(64);
      rd.set(
        sha256(rawP256(createPublicKey(this.attestKey)), fromHex(this.state.qeAuthData, "qe auth data")),
      );
      this.qeReport = {
        ...emptySgxReportBody(),
        attributes: fromHex(QE_ATTRIBUTES, "attributes"),
        mrSigner: fromHex(this.state.qeMrSigner, "qe mrsigner"),
        isvProdId: 1,
        isvSvn: QE_SVN,
        reportData: rd,
      };
    }
    return this.qeReport;
  }

  /**
   * As SGX's EGETKEY: a root key from the platform secret and MRENCLAVE (program policy) or MRSIGNER
   * (signer policy), then the common derivation that adds the program hash for `program`.
   */
  getSealingKey(policy: SealPolicy, programHash: Uint8Array): Uint8Array {
    const identity =
      policy === "program"
        ? Buffer.concat([Buffer.from("mrenclave:"), this.measurement()])
        : Buffer.concat([Buffer.from("mrsigner:"), this.mrSigner()]);
    const root = createHmac("sha256", Buffer.from(this.state.sealSecret, "hex")).update(identity).digest();
    return deriveSealingKey(root, policy, programHash);
  }

  /** DCAP collateral for sim quotes, valid [now - 1 day, now + 29 days], signed by the sim keys. */
  collateral(now: Date): DcapCollateral {
    const from = new Date(now.getTime() - DAY);
    const to = new Date(now.getTime() + 29 * DAY);
    const iso = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, "Z");
    const root = this.key("root");
    const tcbSigner = this.key("tcb");
    const rootPem = derToPem(this.rootDer);
    const caPem = derToPem(Buffer.from(this.state.certs.ca, "base64"));
    const tcbPem = derToPem(Buffer.from(this.state.certs.tcb, "base64"));
    const tcbInfo = JSON.stringify({
      id: "SGX",
      version: 3,
      issueDate: iso(from),
      nextUpdate: iso(to),
      fmspc: FMSPC.toUpperCase(),
      pceId: "0000",
      tcbType: 0,
      tcbEvaluationDataNumber: 1,
      tcbLevels: [
        {
          tcb: { sgxtcbcomponents: PCK_TCB.map((svn) => ({ svn })), pcesvn: PCE_SVN },
          tcbDate: iso(from),
          tcbStatus: "UpToDate",
        },
      ],
    });
    const qeIdentity = JSON.stringify({
      id: "QE",
      version: 2,
      issueDate: iso(from),
      nextUpdate: iso(to),
      tcbEvaluationDataNumber: 1,
      miscselect: "00000000",
      miscselectMask: "FFFFFFFF",
      attributes: QE_ATTRIBUTES.toUpperCase(),
      attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
      mrsigner: this.state.qeMrSigner.toUpperCase(),
      isvprodid: 1,
      tcbLevels: [{ tcb: { isvsvn: QE_SVN }, tcbDate: iso(from), tcbStatus: "UpToDate" }],
    });
    const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));
    return {
      pckCrlIssuerChain: caPem + rootPem,
      rootCaCrl: makeCrl({
        issuerCn: NAMES.root,
        signingKey: root,
        thisUpdate: from,
        nextUpdate: to,
        revokedSerials: [],
      }),
      pckCrl: makeCrl({
        issuerCn: NAMES.ca,
        signingKey: this.key("ca"),
        thisUpdate: from,
        nextUpdate: to,
        revokedSerials: [],
      }),
      tcbInfoIssuerChain: tcbPem + rootPem,
      tcbInfo,
      tcbInfoSignature: p1363(text(tcbInfo), tcbSigner),
      qeIdentityIssuerChain: tcbPem + rootPem,
      qeIdentity,
      qeIdentitySignature: p1363(text(qeIdentity), tcbSigner),
    };
  }
}
