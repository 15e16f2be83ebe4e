import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQuote } from "./abi-quote.js";
import { Findings } from "./findings.js";
import type { Verdict } from "./findings.js";
import { verifyEvidence } from "./index.js";
import { evaluatePolicy } from "./policy.js";
import { tdxOutdatedVector, tdxVector } from "./test-vectors.js";

function failed(v: Verdict): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`);
}
function flip(b: Uint8Array, at: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[at]! ^= 0x01;
  return c;
}

const MR_TD =
  "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const RTMR0 =
  "44c0197b39157fdd7a4dcc44767f9d6b0bb3977c7a8e347b8492f827fe9d9e5c48aca29b220b80b6a540cf994b9bc9c0";

void test("real TDX v4 quote verifies at NOW: UpToDate, no advisories", () => {
  const { quote, collateral, now } = tdxVector();
  const v = verifyEvidence(quote, {
    collateral,
    now,
    policy: {
      mrTd: MR_TD,
      rtmrs: [RTMR0, null, null, "00".repeat(48)],
      mrConfigId: "00".repeat(48),
      reportData:
        "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20",
    },
  });
  assert.deepEqual(failed(v), []);
  assert.equal(v.kind, "tdx");
  assert.equal(v.tcbStatus, "UpToDate");
  assert.deepEqual(v.advisoryIds, []);
  assert.equal(v.fields.fmspc, "b0c06f000000");
  assert.equal(v.fields.pckPceSvn, 11);
  assert.equal(v.fields.pckTcbComponents, "3,3,2,2,4,1,0,5,0,0,0,0,0,0,0,0");
  assert.equal(v.fields.trailingBytes, 70);
  assert.equal(v.fields.debug, false);
});

void test("real TDX v5 quote: every signature holds but no TCB level matches (TCB_NOT_SUPPORTED)", () => {
  const { quote, collateral, now } = tdxOutdatedVector();
  const v = verifyEvidence(quote, { collateral, now });
  assert.equal(v.ok, false);
  for (const step of [
    "1.header",
    "2.root_crl",
    "3.pck_crl",
    "4.pck_chain",
    "5.tcb_info",
    "6.qe_identity",
    "7.qe_report_signature",
    "8.qe_report_data",
    "9.qe_identity_match",
    "10.quote_signature",
  ]) {
    assert.ok(
      v.findings.some((f) => f.step === step && f.ok),
      step,
    );
  }
  assert.deepEqual(v.findings.find((f) => !f.ok)?.code, "attest.tcb_not_supported");
  assert.equal(v.findings.find((f) => !f.ok)?.step, "11.tcb_level");
  assert.equal(v.tcbStatus, undefined);
  assert.equal(v.fields.pckTcbComponents, "3,3,2,2,4,1,0,3,0,0,0,0,0,0,0,0");
  // Outside its own window (e.g. at the v4 quote's NOW) the collateral is stale as well.
  const stale = verifyEvidence(quote, { collateral, now: tdxVector().now });
  assert.ok(
    failed(stale).some((f) => f.endsWith("attest.collateral_expired") || f.endsWith("attest.crl_expired")),
  );
});

void test("a byte flipped in each signed region of the real TDX quote is caught", () => {
  const { quote, collateral, now } = tdxVector();
  const sig = 636; // 632 signed bytes, then u32 length
  const qeReport = sig + 128 + 6;
  const cases: [string, number, string][] = [
    ["header user_data", 40, "attest.sig_invalid"],
    ["body mr_td", 48 + 136 + 1, "attest.sig_invalid"],
    ["body rtmr3", 48 + 472, "attest.sig_invalid"],
    ["body td_attributes debug bit", 48 + 120, "attest.sig_invalid"],
    ["quote signature", sig + 1, "attest.sig_invalid"],
    ["QE report", qeReport + 64, "attest.qe_sig_invalid"],
    ["QE report signature", qeReport + 384 + 1, "attest.qe_sig_invalid"],
  ];
  for (const [name, at, code] of cases) {
    const v = verifyEvidence(flip(quote, at), { collateral, now });
    assert.ok(
      failed(v).some((f) => f.endsWith(code)),
      `${name}: ${failed(v).join(", ")}`,
    );
  }
  // Bytes after the signature data are not signed and not judged.
  assert.deepEqual(failed(verifyEvidence(flip(quote, quote.length - 1), { collateral, now })), []);
});

void test("TDX policy: wrong MRTD or RTMR, and a debug TD, are refused", () => {
  const { quote, collateral, now } = tdxVector();
  const v = verifyEvidence(quote, {
    collateral,
    now,
    policy: { mrTd: "00".repeat(48), rtmrs: [null, "11".repeat(48)], mrEnclave: "00".repeat(32) },
  });
  assert.deepEqual(failed(v), [
    "20.policy attest.policy_mismatch",
    "20.mr_td attest.measurement_mismatch",
    "20.rtmr1 attest.measurement_mismatch",
  ]);

  // The debug bit cannot be set in a signed quote without breaking its signature: check the policy layer alone.
  const q = parseQuote(quote);
  if (q.body.type !== "td") return assert.fail("not a TD body");
  q.body.report.tdAttributes = Uint8Array.from(q.body.report.tdAttributes);
  q.body.report.tdAttributes[0]! |= 1;
  const f = new Findings();
  evaluatePolicy({}, { kind: "tdx", quote: q, tcbStatus: "UpToDate" }, false, f);
  assert.deepEqual(
    f.list.filter((x) => !x.ok).map((x) => x.code),
    ["attest.debug"],
  );
  const allowed = new Findings();
  evaluatePolicy(
    { dangerousAllowDebug: true },
    { kind: "tdx", quote: q, tcbStatus: "UpToDate" },
    false,
    allowed,
  );
  assert.equal(allowed.ok, true);
});
