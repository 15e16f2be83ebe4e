import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { isTwineError } from "../errors.js";
import type { Layout } from "./bytes.js";
import { hex, layout, offsetOf, readU32 } from "./bytes.js";
import {
  MAX_QUOTE_SIZE,
  QUOTE_HEADER,
  SGX_REPORT_BODY,
  SGX_SIG_DATA_FIXED,
  TD_REPORT_BODY_10,
  TD_REPORT_BODY_15,
  parseQuote,
  serializeQuote,
} from "./abi-quote.js";
import { SNP_REPORT, decodeTcb, parseSnpReport, serializeSnpReport, signingKeyOf } from "./abi-snp.js";
import { ROOT_FINGERPRINTS, defaultRoots } from "./roots.js";
import { fixture } from "./test-vectors.js";

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => isTwineError(e) && e.code === code);
}

void test("every layout is contiguous and adds up to the spec size", () => {
  const sizes: [Layout, number][] = [
    [QUOTE_HEADER, 48],
    [SGX_REPORT_BODY, 384],
    [TD_REPORT_BODY_10, 584],
    [TD_REPORT_BODY_15, 648],
    [SGX_SIG_DATA_FIXED, 576],
    [SNP_REPORT, 1184],
  ];
  for (const [l, size] of sizes) {
    let at = 0;
    for (const f of l.fields) {
      assert.equal(offsetOf(l, f.name), at, `${l.name}.${f.name}`);
      at += f.size;
    }
    assert.equal(at, size, l.name);
    assert.equal(l.size, size);
  }
  throwsCode(() => layout("bad", 10, [{ name: "a", size: 4 }]), "internal");
});

void test("named offsets are the spec's", () => {
  const expect: [Layout, string, number][] = [
    [QUOTE_HEADER, "qe_vendor_id", 12],
    [QUOTE_HEADER, "user_data", 28],
    [SGX_REPORT_BODY, "attributes", 48],
    [SGX_REPORT_BODY, "mr_enclave", 64],
    [SGX_REPORT_BODY, "mr_signer", 128],
    [SGX_REPORT_BODY, "isv_prod_id", 256],
    [SGX_REPORT_BODY, "isv_svn", 258],
    [SGX_REPORT_BODY, "report_data", 320],
    [TD_REPORT_BODY_10, "seam_attributes", 112],
    [TD_REPORT_BODY_10, "td_attributes", 120],
    [TD_REPORT_BODY_10, "mr_td", 136],
    [TD_REPORT_BODY_10, "rtmr0", 328],
    [TD_REPORT_BODY_10, "rtmr3", 472],
    [TD_REPORT_BODY_10, "report_data", 520],
    [TD_REPORT_BODY_15, "tee_tcb_svn2", 584],
    [TD_REPORT_BODY_15, "mr_service_td", 600],
    [SGX_SIG_DATA_FIXED, "qe_report", 128],
    [SGX_SIG_DATA_FIXED, "qe_report_signature", 512],
    [SNP_REPORT, "vmpl", 0x30],
    [SNP_REPORT, "current_tcb", 0x38],
    [SNP_REPORT, "flags", 0x48],
    [SNP_REPORT, "report_data", 0x50],
    [SNP_REPORT, "measurement", 0x90],
    [SNP_REPORT, "host_data", 0xc0],
    [SNP_REPORT, "id_key_digest", 0xe0],
    [SNP_REPORT, "author_key_digest", 0x110],
    [SNP_REPORT, "report_id", 0x140],
    [SNP_REPORT, "reported_tcb", 0x180],
    [SNP_REPORT, "cpuid", 0x188],
    [SNP_REPORT, "chip_id", 0x1a0],
    [SNP_REPORT, "committed_tcb", 0x1e0],
    [SNP_REPORT, "current_version", 0x1e8],
    [SNP_REPORT, "committed_version", 0x1ec],
    [SNP_REPORT, "launch_tcb", 0x1f0],
    [SNP_REPORT, "launch_mit_vector", 0x1f8],
    [SNP_REPORT, "signature_r", 0x2a0],
    [SNP_REPORT, "signature_s", 0x2e8],
  ];
  for (const [l, f, off] of expect) assert.equal(offsetOf(l, f), off, `${l.name}.${f}`);
});

void test("embedded roots have the README's fingerprints", () => {
  const r = defaultRoots();
  const fp = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
  assert.equal(fp(r.intelSgxRootCa), ROOT_FINGERPRINTS.intelSgxRootCa);
  assert.equal(fp(r.amdArk.Milan!), ROOT_FINGERPRINTS.amdArkMilan);
  assert.equal(fp(r.amdArk.Genoa!), ROOT_FINGERPRINTS.amdArkGenoa);
  assert.equal(fp(r.amdArk.Turin!), ROOT_FINGERPRINTS.amdArkTurin);
  assert.deepEqual(r.intelSgxRootCa, fixture("sgx/Intel_SGX_Root_CA.der"));
});

void test("SGX quote v3: parsed fields match the vector's README", () => {
  const q = parseQuote(fixture("sgx/sgx_quote"));
  assert.equal(q.header.version, 3);
  assert.equal(q.header.attKeyType, 2);
  assert.equal(q.header.teeType, 0);
  assert.equal(q.header.qeSvn, 10);
  assert.equal(q.header.pceSvn, 15);
  assert.equal(hex(q.header.qeVendorId), "939a7233f79c4ca9940a0db3957f0607");
  assert.equal(q.body.type, "sgx");
  if (q.body.type !== "sgx") return;
  const b = q.body.report;
  assert.equal(hex(b.mrEnclave), "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
  assert.equal(hex(b.mrSigner), "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
  assert.equal(b.isvProdId, 0);
  assert.equal(b.isvSvn, 0);
  assert.equal(hex(b.cpuSvn), "0b0b1a18ffff04000000000000000000");
  assert.equal(hex(b.attributes), "0500000000000000e700000000000000");
  assert.equal(Buffer.from(b.reportData.subarray(0, 13)).toString(), "Hello, world!");
  assert.ok(b.reportData.subarray(13).every((x) => x === 0));
  assert.equal(q.signedRegion.length, 432);
  assert.equal(q.signatureData.qeAuthData.length, 32);
  assert.equal(q.signatureData.pckChainPem.length, 3548);
  assert.equal(q.signatureData.qeReport.isvProdId, 1);
  assert.equal(q.signatureData.qeReport.isvSvn, 10);
  assert.ok(hex(q.signatureData.qeReport.mrSigner).startsWith("8c4f5775"));
  assert.equal(q.trailing.length, 0);
});

void test("TDX quote v4: parsed fields match the vector's README", () => {
  const q = parseQuote(fixture("tdx/tdx_quote"));
  assert.equal(q.header.version, 4);
  assert.equal(q.header.teeType, 0x81);
  assert.equal(q.body.type, "td");
  if (q.body.type !== "td") return;
  const b = q.body.report;
  assert.equal(hex(b.teeTcbSvn), "06010300000000000000000000000000");
  assert.equal(
    hex(b.mrSeam),
    "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1",
  );
  assert.ok(b.mrSignerSeam.every((x) => x === 0));
  assert.ok(b.seamAttributes.every((x) => x === 0));
  assert.equal(hex(b.tdAttributes), "0000001000000000");
  assert.equal(hex(b.xfam), "e702060000000000");
  assert.equal(
    hex(b.mrTd),
    "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
  );
  assert.equal(
    hex(b.rtmr[0]),
    "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0",
  );
  assert.equal(
    hex(b.rtmr[1]),
    "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378",
  );
  assert.equal(
    hex(b.rtmr[2]),
    "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132",
  );
  assert.ok(b.rtmr[3].every((x) => x === 0));
  assert.ok([b.mrConfigId, b.mrOwner, b.mrOwnerConfig].every((m) => m.every((x) => x === 0)));
  assert.equal(
    hex(b.reportData),
    "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
  );
  assert.equal(b.teeTcbSvn2, undefined);
  assert.equal(q.signedRegion.length, 632);
  assert.equal(q.trailing.length, 70);
  assert.ok(q.trailing.every((x) => x === 0));
  assert.equal(q.signatureData.qeReport.isvSvn, 6);
  assert.equal(q.signatureData.qeReport.isvProdId, 2);
});

void test("TDX quote v5 (TD 1.5): parsed fields match the vector's README", () => {
  const q = parseQuote(fixture("tdx/tdx_quote_outdated"));
  assert.equal(q.header.version, 5);
  assert.equal(q.signedRegion.length, 702);
  if (q.body.type !== "td") return assert.fail("not a TD body");
  const b = q.body.report;
  assert.ok(hex(b.teeTcbSvn).startsWith("07010300"));
  assert.ok(hex(b.teeTcbSvn2!).startsWith("0d010300"));
  assert.ok(b.mrServiceTd!.every((x) => x === 0));
  assert.equal(
    hex(b.mrTd),
    "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd",
  );
  assert.ok(b.rtmr.every((r) => r.every((x) => x === 0)));
  assert.equal(
    hex(b.reportData.subarray(0, 32)),
    "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728",
  );
  assert.ok(b.reportData.subarray(32).every((x) => x === 0));
});

void test("SNP reports: parsed fields match the vectors' README", () => {
  const m = parseSnpReport(fixture("snp/attestation.bin"));
  assert.equal(m.version, 2);
  assert.equal(m.guestSvn, 0);
  assert.equal(m.policy, 0xb0000n);
  assert.equal(m.vmpl, 0);
  assert.equal(m.platformInfo, 1n);
  assert.equal(signingKeyOf(m), 0);
  assert.equal(
    hex(m.measurement),
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
  );
  assert.equal(hex(m.reportData.subarray(0, 5)), "0102030405");
  for (const t of [m.currentTcb, m.reportedTcb, m.committedTcb, m.launchTcb])
    assert.equal(t, 0x4405000000000002n);
  assert.deepEqual(decodeTcb(m.reportedTcb), { bootloader: 2, tee: 0, snp: 5, microcode: 68 });
  assert.deepEqual([...m.currentVersion], [3, 49, 1]);
  assert.ok(hex(m.chipId).startsWith("3ac3fe21e13fb099") && hex(m.chipId).endsWith("8b006b5d"));
  assert.ok(m.reportIdMa.every((x) => x === 0xff));

  const g = parseSnpReport(fixture("snp/genoa-azure/evidence-genoa.snp-report.bin"));
  assert.equal(g.version, 3);
  assert.deepEqual([...g.cpuid], [0x19, 0x11, 1]);
  assert.equal(g.guestSvn, 65547);
  assert.equal(g.policy, 0x3001fn);
  assert.equal(g.platformInfo, 0x24n);
  assert.equal(
    hex(g.measurement),
    "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
  );
  assert.equal(
    hex(g.idKeyDigest),
    "942fd93ebde6ea7a96efadeafc60f1c6b3d10e703b1dafd7555b92f7f3d32d0e006767648cba5b102af3d65756af4177",
  );
  assert.equal(g.reportedTcb, 0x541700000000000an);
  assert.deepEqual([...g.currentVersion], [40, 55, 1]);

  const v = parseSnpReport(fixture("snp/vlek-aws/test-vlek-report.bin"));
  assert.equal(v.vmpl, 1);
  assert.equal(v.flags, 4);
  assert.equal(signingKeyOf(v), 1);
  assert.equal(v.policy, 0x30000n);
  assert.equal(
    hex(v.measurement),
    "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0",
  );
  assert.deepEqual(decodeTcb(v.currentTcb), { bootloader: 4, tee: 0, snp: 24, microcode: 220 });
  assert.deepEqual(decodeTcb(v.reportedTcb), { bootloader: 4, tee: 0, snp: 24, microcode: 217 });
  assert.ok(v.chipId.every((x) => x === 0));

  const i = parseSnpReport(fixture("snp/milan-idblock/test-report.bin"));
  assert.equal(i.guestSvn, 4);
  assert.deepEqual(decodeTcb(i.currentTcb), { bootloader: 3, tee: 0, snp: 8, microcode: 206 });
  assert.deepEqual(decodeTcb(i.reportedTcb), { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  assert.equal(
    hex(i.measurement),
    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
  );
});

void test("serialisers round-trip every real vector byte for byte", () => {
  for (const f of ["sgx/sgx_quote", "tdx/tdx_quote", "tdx/tdx_quote_outdated"]) {
    const b = fixture(f);
    assert.deepEqual(serializeQuote(parseQuote(b)), b, f);
  }
  for (const f of [
    "snp/attestation.bin",
    "snp/genoa-azure/evidence-genoa.snp-report.bin",
    "snp/vlek-aws/test-vlek-report.bin",
    "snp/milan-idblock/test-report.bin",
  ]) {
    const b = fixture(f);
    assert.deepEqual(serializeSnpReport(parseSnpReport(b)), b, f);
  }
});

void test("truncated quotes and reports fail with attest.truncated", () => {
  for (const f of ["sgx/sgx_quote", "tdx/tdx_quote", "tdx/tdx_quote_outdated"]) {
    const b = fixture(f);
    const sigEnd = b.length - parseQuote(b).trailing.length;
    for (const n of [0, 1, 47, 48, 100, 431, 432, 435, 436, 600, 1000, 1100, 2000, sigEnd - 1]) {
      throwsCode(() => parseQuote(b.subarray(0, n)), "attest.truncated");
    }
  }
  const r = fixture("snp/attestation.bin");
  for (const n of [0, 4, 0x2a0, 1183]) throwsCode(() => parseSnpReport(r.subarray(0, n)), "attest.truncated");
});

void test("oversized inputs and over-cap lengths fail with attest.too_large", () => {
  const q = fixture("sgx/sgx_quote");
  const big = new Uint8Array(MAX_QUOTE_SIZE + 1);
  big.set(q);
  throwsCode(() => parseQuote(big), "attest.too_large");
  const trailing = new Uint8Array(q.length + 5000);
  trailing.set(q);
  throwsCode(() => parseQuote(trailing), "attest.too_large");
  // QE auth data size at 436 + 576 claims 60000 bytes.
  const auth = Uint8Array.from(q);
  auth[436 + 576] = 0x60;
  auth[436 + 577] = 0xea;
  throwsCode(() => parseQuote(auth), "attest.too_large");
  const snp = new Uint8Array(1185);
  snp.set(fixture("snp/attestation.bin"));
  throwsCode(() => parseSnpReport(snp), "attest.too_large");
});

void test("versions are allow-listed, reserved bytes must be zero", () => {
  const q = Uint8Array.from(fixture("sgx/sgx_quote"));
  q[0] = 6;
  throwsCode(() => parseQuote(q), "attest.version");
  const k = Uint8Array.from(fixture("sgx/sgx_quote"));
  k[2] = 3; // ECDSA P-384 attestation key: not supported
  throwsCode(() => parseQuote(k), "attest.unsupported");
  const res = Uint8Array.from(fixture("sgx/sgx_quote"));
  res[48 + offsetOf(SGX_REPORT_BODY, "reserved2")] = 1;
  throwsCode(() => parseQuote(res), "attest.reserved_nonzero");
  const qeRes = Uint8Array.from(fixture("sgx/sgx_quote"));
  qeRes[436 + 128 + offsetOf(SGX_REPORT_BODY, "reserved4")] = 1;
  throwsCode(() => parseQuote(qeRes), "attest.reserved_nonzero");
  const cert = Uint8Array.from(fixture("sgx/sgx_quote"));
  cert[436 + 578 + 32] = 4; // certification data type 4 (PCK leaf only)
  throwsCode(() => parseQuote(cert), "attest.unsupported");

  const s = Uint8Array.from(fixture("snp/attestation.bin"));
  s[0] = 1;
  throwsCode(() => parseSnpReport(s), "attest.version");
  const alg = Uint8Array.from(fixture("snp/attestation.bin"));
  alg[0x34] = 2;
  throwsCode(() => parseSnpReport(alg), "attest.unsupported");
  for (const off of [0x4c, 0x18b, 0x1eb, 0x208, 0x330]) {
    const r = Uint8Array.from(fixture("snp/attestation.bin"));
    r[off] = 1;
    throwsCode(() => parseSnpReport(r), "attest.reserved_nonzero");
  }
  const cpuid = Uint8Array.from(fixture("snp/attestation.bin"));
  cpuid[0x188] = 0x19; // CPUID fields in a v2 report
  throwsCode(() => parseSnpReport(cpuid), "attest.reserved_nonzero");
  assert.equal(readU32(fixture("snp/attestation.bin")), 2);
});
