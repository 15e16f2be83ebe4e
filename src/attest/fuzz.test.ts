// Random and mutated bytes into every parser (and the whole verifier): each must either return or
// throw a TwineError with an `attest.*` code, never crash. TWINE_FUZZ_ITERS sets the campaign size
// (default 200 per target); TWINE_FUZZ_SEED replays one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TwineError } from "../errors.js";
import { parseQuote } from "./abi-quote.js";
import { parseSnpReport } from "./abi-snp.js";
import { parseDcapCollateral, parseQeIdentity, parseTcbInfo } from "./collateral.js";
import { verifyEvidence } from "./index.js";
import { parsePckExtension } from "./pck.js";
import { parsePolicy } from "./policy.js";
import { fixture, sgxVector, snpVector, tdxVector } from "./test-vectors.js";
import { SyntheticSnpPlatform } from "./synthetic-snp.js";
import { crlDerFrom, parseCert, parseCertChain, parseCrl, pemToDers, verifyRsaPss } from "./x509.js";

const ITERS = Number(process.env.TWINE_FUZZ_ITERS ?? "200");
const SEED = Number(process.env.TWINE_FUZZ_SEED ?? "20261123");

/** xorshift32: reproducible from the seed. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

function mutate(src: Uint8Array, r: (n: number) => number): Uint8Array {
  let b = Uint8Array.from(src);
  const rounds = 1 + r(4);
  for (let i = 0; i < rounds; i++) {
    const at = b.length === 0 ? 0 : r(b.length);
    switch (r(7)) {
      case 0: // flip bits
        if (b.length > 0) b[at]! ^= 1 << r(8);
        break;
      case 1: // random byte
        if (b.length > 0) b[at] = r(256);
        break;
      case 2: // truncate
        b = b.subarray(0, at);
        break;
      case 3: // an extreme length in a little-endian u16/u32 slot
        if (b.length >= at + 4) b.set([0xff, 0xff, r(2) === 0 ? 0xff : 0, r(2) === 0 ? 0xff : 0], at);
        break;
      case 4: {
        // duplicate a slice
        const n = r(64);
        const ins = b.subarray(at, at + n);
        const out = new Uint8Array(b.length + ins.length);
        out.set(b.subarray(0, at));
        out.set(ins, at);
        out.set(b.subarray(at), at + ins.length);
        b = out;
        break;
      }
      case 5: // delete a slice
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + r(32))]);
        break;
      default: // zero a run
        b.fill(0, at, at + r(16));
    }
  }
  return b;
}

function randomBytes(r: (n: number) => number, max: number): Uint8Array {
  const b = new Uint8Array(r(max));
  for (let i = 0; i < b.length; i++) b[i] = r(256);
  return b;
}

function survive(name: string, input: Uint8Array, fn: (b: Uint8Array) => unknown): void {
  try {
    fn(input);
  } catch (e) {
    if (e instanceof TwineError && e.code.startsWith("attest.")) return;
    assert.fail(`${name} crashed on ${Buffer.from(input).toString("hex").slice(0, 200)}…: ${String(e)}`);
  }
}

const text = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const SNP_NOW = new Date("2026-06-01T00:00:00Z");
const snpPlatform = new SyntheticSnpPlatform({ now: SNP_NOW });

void test(`parsers survive random and mutated input (${ITERS} per target, seed ${SEED})`, () => {
  const r = rng(SEED);
  const sgx = fixture("sgx/sgx_quote");
  const tdx = fixture("tdx/tdx_quote");
  const tdx5 = fixture("tdx/tdx_quote_outdated");
  const snp = fixture("snp/attestation.bin");
  const sgxCol = fixture("sgx/sgx_quote_collateral.json");
  const collateral = sgxVector().collateral;
  const tcbInfo = new Uint8Array(Buffer.from(tdxVector().collateral.tcbInfo));
  const qeIdentity = new Uint8Array(Buffer.from(collateral.qeIdentity));
  const pckPem = parseQuote(sgx).signatureData.pckChainPem;
  const leafDer = pemToDers(pckPem, "chain")[0]!;
  const vcek = fixture("snp/vcek.der");
  const policy = new Uint8Array(
    Buffer.from(
      JSON.stringify({
        mrEnclave: "00".repeat(32),
        acceptedTcbStatuses: ["UpToDate"],
        minReportedTcb: { bootloader: 1, tee: 0, snp: 1, microcode: 1 },
      }),
    ),
  );

  const amdCrl = snpPlatform.crl({ revokedSerials: [Uint8Array.of(1, 0, 9), Uint8Array.of(0x42, 1)] });
  const amdCrlPem = new Uint8Array(
    Buffer.from(
      `-----BEGIN X509 CRL-----\n${Buffer.from(amdCrl).toString("base64")}\n-----END X509 CRL-----\n`,
    ),
  );
  const arkKey = parseCert(snpPlatform.arkDer).publicKey;
  const targets: [string, Uint8Array[], (b: Uint8Array) => unknown][] = [
    ["parseQuote", [sgx, tdx, tdx5], parseQuote],
    ["parseSnpReport", [snp], parseSnpReport],
    ["parseDcapCollateral", [sgxCol], parseDcapCollateral],
    ["parseTcbInfo", [tcbInfo], (b) => parseTcbInfo(text(b))],
    ["parseQeIdentity", [qeIdentity], (b) => parseQeIdentity(text(b))],
    ["parseCertChain", [pckPem], (b) => parseCertChain(b, "chain")],
    ["parseCert+parsePckExtension", [leafDer], (b) => parsePckExtension(parseCert(b))],
    ["parseCert (VCEK)", [vcek], (b) => parseCert(b)],
    [
      "parseCrl",
      [collateral.pckCrl, tdxVector().collateral.pckCrl, collateral.rootCaCrl],
      (b) => parseCrl(b, "crl"),
    ],
    [
      "parseCrl+verifyRsaPss (AMD CRL)",
      [amdCrl, amdCrlPem],
      (b) => {
        const c = parseCrl(crlDerFrom(b, "crl"), "crl");
        return verifyRsaPss(c.sigAlg, c.sigAlgParams, arkKey, c.tbs, c.signature);
      },
    ],
    ["parsePolicy", [policy], (b) => parsePolicy(text(b))],
  ];
  for (const [name, seeds, fn] of targets) {
    for (let i = 0; i < ITERS; i++) {
      const input = i % 4 === 0 ? randomBytes(r, 2048) : mutate(seeds[r(seeds.length)]!, r);
      survive(name, input, fn);
    }
  }
});

void test(`verifyEvidence never throws on mutated evidence (${Math.ceil(ITERS / 3)} per kind)`, () => {
  const r = rng(SEED ^ 0x5a5a5a5a);
  const s = snpVector("genoaAzure");
  const t = tdxVector();
  const cases: { bytes: Uint8Array; opts: Parameters<typeof verifyEvidence>[1]; checked: number }[] = [
    {
      bytes: sgxVector().quote,
      opts: {
        collateral: sgxVector().collateral,
        now: sgxVector().now,
        policy: { acceptedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"] },
      },
      checked: 4600,
    },
    // The TDX vector's last 70 bytes are unsigned padding that the verifier ignores.
    { bytes: t.quote, opts: { collateral: t.collateral, now: t.now }, checked: t.quote.length - 70 },
    { bytes: s.report, opts: { collateral: s.collateral, now: s.now }, checked: s.report.length },
  ];
  for (const c of cases) {
    assert.equal(verifyEvidence(c.bytes, c.opts).ok, true);
    for (let i = 0; i < Math.ceil(ITERS / 3); i++) {
      const input = mutate(c.bytes, r);
      const v = verifyEvidence(input, c.opts);
      // Accepted only if every checked byte is unchanged.
      if (v.ok) {
        assert.ok(
          input.length >= c.checked && input.subarray(0, c.checked).every((x, j) => x === c.bytes[j]),
          "mutated evidence accepted",
        );
      }
    }
  }
});

void test(`a mutated AMD CRL is never accepted (${Math.ceil(ITERS / 3)} mutations)`, () => {
  const r = rng(SEED ^ 0x0c0ffee);
  const crl = snpPlatform.crl({ revokedSerials: [Uint8Array.of(1, 0, 9)] });
  const report = snpPlatform.report();
  const opts = (c: Uint8Array): Parameters<typeof verifyEvidence>[1] => ({
    collateral: snpPlatform.collateral(c),
    now: SNP_NOW,
    roots: snpPlatform.roots(),
    policy: { dangerousAllowCustomRoots: true },
  });
  assert.equal(verifyEvidence(report, opts(crl)).ok, true);
  for (let i = 0; i < Math.ceil(ITERS / 3); i++) {
    const input = mutate(crl, r);
    const same = input.length === crl.length && input.every((x, j) => x === crl[j]);
    if (!same)
      assert.equal(verifyEvidence(report, opts(input)).ok, false, Buffer.from(input).toString("hex"));
  }
});
