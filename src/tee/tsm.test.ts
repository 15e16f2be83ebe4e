import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { TsmTee } from "./tsm.js";
import { mimicTsm, reportDataOf, teeFixture, tempDir, removeTempDirs } from "./test-fixtures.js";

after(removeTempDirs);

const TDX = teeFixture("tdx_quote");
const TDX_RD = reportDataOf(TDX, 48 + 520);
const SNP = teeFixture("snp_report.bin");
const SNP_RD = reportDataOf(SNP, 0x50);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "no error";
}

void test("tsm: tdx_guest returns the real TDX quote and removes its report entry", () => {
  const m = mimicTsm({ provider: "tdx_guest", outblob: TDX });
  const ev = new TsmTee({ root: m.root, fs: m.fs }).getEvidence(TDX_RD);
  assert.equal(ev.type, "tdx_ecdsa");
  assert.deepEqual(ev.report, TDX);
  assert.equal(ev.auxblob, undefined);
  assert.equal(m.made.length, 1);
  assert.equal(fs.existsSync(m.made[0]!), false);
});

void test("tsm: sev_guest returns the real SNP report and the auxblob certificates", () => {
  const aux = new Uint8Array([1, 2, 3, 4]);
  const m = mimicTsm({ provider: "sev_guest", outblob: SNP, auxblob: aux });
  const ev = new TsmTee({ root: m.root, fs: m.fs }).getEvidence(SNP_RD);
  assert.equal(ev.type, "sev_snp");
  assert.deepEqual(ev.report, SNP);
  assert.deepEqual(ev.auxblob, aux);
});

void test("tsm: measurement is MRTD (TDX) or MEASUREMENT (SNP)", () => {
  const t = mimicTsm({ provider: "tdx_guest", outblob: TDX, echoAt: 48 + 520 });
  assert.equal(
    Buffer.from(new TsmTee({ root: t.root, fs: t.fs }).measurement()).toString("hex"),
    "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
  );
  const s = mimicTsm({ provider: "sev_guest", outblob: SNP, echoAt: 0x50 });
  assert.deepEqual(new TsmTee({ root: s.root, fs: s.fs }).measurement(), SNP.subarray(0x90, 0xc0));
});

void test("tsm: generation changing mid-read is retried, and refused when it keeps changing", () => {
  const once = mimicTsm({ provider: "tdx_guest", outblob: TDX, racyReads: 1 });
  assert.deepEqual(new TsmTee({ root: once.root, fs: once.fs }).getEvidence(TDX_RD).report, TDX);
  assert.equal(once.made.length, 1);
  const always = mimicTsm({ provider: "tdx_guest", outblob: TDX, racyReads: 1000 });
  assert.equal(
    codeOf(() => new TsmTee({ root: always.root, fs: always.fs }).getEvidence(TDX_RD)),
    "tee.generation_changed",
  );
  assert.equal(fs.existsSync(always.made[0]!), false, "the entry is removed after a failure too");
});

void test("tsm: missing configfs, wrong provider, short outblob, other report data", () => {
  assert.equal(
    codeOf(() => new TsmTee({ root: path.join(tempDir("none"), "tsm") })),
    "tee.no_device",
  );
  const wrong = mimicTsm({ provider: "arm_cca_guest", outblob: TDX });
  assert.equal(
    codeOf(() => new TsmTee({ root: wrong.root, fs: wrong.fs }).getEvidence(TDX_RD)),
    "tee.provider",
  );
  const short = mimicTsm({ provider: "tdx_guest", outblob: TDX.subarray(0, 600) });
  assert.equal(
    codeOf(() => new TsmTee({ root: short.root, fs: short.fs }).getEvidence(TDX_RD)),
    "tee.short_evidence",
  );
  const shortSnp = mimicTsm({ provider: "sev_guest", outblob: SNP.subarray(0, 0x49f) });
  assert.equal(
    codeOf(() => new TsmTee({ root: shortSnp.root, fs: shortSnp.fs }).getEvidence(SNP_RD)),
    "tee.short_evidence",
  );
  const snpAsTdx = mimicTsm({ provider: "tdx_guest", outblob: SNP });
  assert.equal(
    codeOf(() => new TsmTee({ root: snpAsTdx.root, fs: snpAsTdx.fs }).getEvidence(TDX_RD)),
    "tee.evidence_format",
  );
  const other = mimicTsm({ provider: "tdx_guest", outblob: TDX });
  assert.equal(
    codeOf(() => new TsmTee({ root: other.root, fs: other.fs }).getEvidence(new Uint8Array(64))),
    "tee.report_data_mismatch",
  );
});

void test("tsm: no sealing key on a CVM", () => {
  const m = mimicTsm({ provider: "tdx_guest", outblob: TDX });
  assert.equal(
    codeOf(() => new TsmTee({ root: m.root, fs: m.fs }).getSealingKey("program", new Uint8Array(32))),
    "tee.no_sealing_key",
  );
});

void test("tsm: the default fs works on a real directory tree (mkdir, inblob, outblob, rmdir)", () => {
  // A plain directory cannot populate files on mkdir, so this only reaches the provider read.
  const root = tempDir("tsm-plain");
  fs.mkdirSync(path.join(root, "report"));
  assert.equal(
    codeOf(() => new TsmTee({ root }).getEvidence(TDX_RD)),
    "tee.io",
  );
  assert.deepEqual(fs.readdirSync(path.join(root, "report")), []);
});
