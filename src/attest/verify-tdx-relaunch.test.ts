// TD 1.5 "TD relaunch advised" (Intel QVL checkForRelaunch, see tcb.ts) on synthetic TDX platforms.
// The shared collateral: TDX module identity TDX_01 with levels SVN 5 UpToDate and SVN 3 OutOfDate; TCB
// levels (highest first) whose late microcode component (index 2) is 2 (UpToDate) and 1 (OutOfDate).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTcbInfo, TCB_LEVEL_STATUSES, TCB_STATUSES } from "./collateral.js";
import type { TcbLevelStatus } from "./collateral.js";
import type { Verdict } from "./findings.js";
import { verifyEvidence } from "./index.js";
import { DEFAULT_ACCEPTED_TCB_STATUSES, parsePolicy } from "./policy.js";
import type { Policy } from "./policy.js";
import { SyntheticTdxPlatform, teeTcbSvn } from "./synthetic.js";
import type { SyntheticTdxLevel, SyntheticTdxModuleIdentity, SyntheticTdxOptions } from "./synthetic.js";
import { checkForRelaunch } from "./tcb.js";
import type { RelaunchInput } from "./tcb.js";

const NOW = new Date("2026-03-01T00:00:00Z");
const MODULES: readonly SyntheticTdxModuleIdentity[] = [
  {
    major: 1,
    levels: [
      { isvsvn: 5, tcbStatus: "UpToDate" },
      { isvsvn: 3, tcbStatus: "OutOfDate", advisoryIds: ["TWINE-SA-00002"] },
    ],
  },
];
function levels(top: TcbLevelStatus = "UpToDate"): SyntheticTdxLevel[] {
  return [
    { tdxComponents: [5, 1, 2], tcbStatus: top },
    { tdxComponents: [3, 1, 1], tcbStatus: "OutOfDate", advisoryIds: ["TWINE-SA-00003"] },
  ];
}
function platform(opts: Partial<SyntheticTdxOptions> = {}): SyntheticTdxPlatform {
  return new SyntheticTdxPlatform({ now: NOW, tcbLevels: levels(), moduleIdentities: MODULES, ...opts });
}
/** The platform every test without its own collateral uses (key generation is the slow part). */
const P = platform();

function verify(p: SyntheticTdxPlatform, quote: Uint8Array, policy: Policy = {}): Verdict {
  return verifyEvidence(quote, {
    collateral: p.collateral,
    now: NOW,
    roots: { intelSgxRootCa: p.rootDer },
    policy: { dangerousAllowCustomRoots: true, ...policy },
  });
}
function failed(v: Verdict): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`);
}
const ACCEPT_ALL_BUT_REVOKED: Policy = {
  acceptedTcbStatuses: TCB_STATUSES.filter((s) => s !== "Revoked"),
};
/** Launched on TDX module 1 SVN 3 (OutOfDate), late microcode 2 (the latest). */
const LAUNCH = teeTcbSvn(3, 1, 2);

void test("(a) TD 1.5 launched on an old module, the platform now runs the latest: TDRelaunchAdvised", () => {
  const q = P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 1, 2) });
  const v = verify(P, q, ACCEPT_ALL_BUT_REVOKED);
  assert.deepEqual(failed(v), []);
  assert.equal(v.tcbStatus, "TDRelaunchAdvised");
  assert.equal(v.fields.platformTcbStatus, "TDRelaunchAdvised");
  assert.equal(v.fields.tcbStatusWithoutRelaunch, "OutOfDate");
  assert.equal(v.fields.tdxModuleSvnRunning, 5);
  assert.equal(v.fields.tdxModuleSvnLatest, 5);
  assert.equal(v.fields.teeTcbSvn2, "05010200000000000000000000000000");
  assert.match(
    String(v.fields.tdxRelaunch),
    /^advised: TD launched on TDX_01 SVN 3 .*TDX_01 SVN 5 \(latest 5/,
  );
  // The launch module's advisories still apply: the TD ran on it.
  assert.deepEqual(v.advisoryIds, ["TWINE-SA-00002"]);
  const step11 = v.findings.find((f) => f.step === "11.tcb_level");
  assert.match(step11?.detail ?? "", /TDRelaunchAdvised \(advised: /);
  assert.match(v.findings.find((f) => f.step === "12.tcb_status")?.detail ?? "", /TDRelaunchAdvised/);
});

void test("(b) configuration needed: TDRelaunchAdvisedConfigurationNeeded", () => {
  // The TDX level itself is ConfigurationNeeded (converged with the module: OutOfDateConfigurationNeeded).
  const p = platform({ tcbLevels: levels("ConfigurationNeeded") });
  const v = verify(
    p,
    p.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 1, 2) }),
    ACCEPT_ALL_BUT_REVOKED,
  );
  assert.deepEqual(failed(v), []);
  assert.equal(v.tcbStatus, "TDRelaunchAdvisedConfigurationNeeded");
  assert.equal(v.fields.tcbStatusWithoutRelaunch, "OutOfDateConfigurationNeeded");

  // Only the SGX level (the first the PCK meets) needs configuration; the TDX level below it is OutOfDate.
  const q = platform({
    tcbLevels: [
      { tdxComponents: [5, 1, 9], tcbStatus: "ConfigurationNeeded" },
      { tdxComponents: [5, 1, 2], tcbStatus: "OutOfDate" },
    ],
  });
  const launch = q.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 1, 2) });
  const w = verify(q, launch, ACCEPT_ALL_BUT_REVOKED);
  assert.equal(w.tcbStatus, "OutOfDate", "late microcode 2 < the latest level's 9: not the latest");
  const now = q.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 1, 9) });
  const x = verify(q, now, ACCEPT_ALL_BUT_REVOKED);
  assert.deepEqual(failed(x), []);
  assert.equal(x.tcbStatus, "TDRelaunchAdvisedConfigurationNeeded");
  assert.equal(x.fields.tcbStatusWithoutRelaunch, "OutOfDate");
});

void test("(c) the running module (or microcode) is not the latest: stays OutOfDate", () => {
  for (const [svn2, why] of [
    [teeTcbSvn(4, 1, 2), "module SVN 4 < 5"],
    [teeTcbSvn(3, 1, 2), "module SVN unchanged"],
    [teeTcbSvn(5, 1, 1), "late microcode 1 < 2"],
  ] as const) {
    const v = verify(P, P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: svn2 }), ACCEPT_ALL_BUT_REVOKED);
    assert.deepEqual(failed(v), [], why);
    assert.equal(v.tcbStatus, "OutOfDate", why);
    assert.match(String(v.fields.tdxRelaunch), /^not advised: .*not the latest; stays OutOfDate$/, why);
    assert.equal(v.fields.tcbStatusWithoutRelaunch, undefined, why);
  }
  const v = verify(P, P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(4, 1, 2) }));
  assert.equal(v.fields.tdxModuleSvnRunning, 4);
  assert.equal(v.fields.tdxModuleSvnLatest, 5);
});

void test("(c) relaunch is not considered unless the launch module alone makes the TD out of date", () => {
  const svn2 = teeTcbSvn(5, 1, 2);
  // Launch module up to date, the platform out of date for its late microcode (TDX level 2).
  const micro = verify(
    P,
    P.tdQuote({ teeTcbSvn: teeTcbSvn(5, 1, 1), teeTcbSvn2: svn2 }),
    ACCEPT_ALL_BUT_REVOKED,
  );
  assert.equal(micro.tcbStatus, "OutOfDate");
  assert.match(
    String(micro.fields.tdxRelaunch),
    /^not applicable: launch TDX module TDX_01 SVN 5 is UpToDate/,
  );
  // Everything up to date at launch: nothing to relaunch for.
  const fresh = verify(P, P.tdQuote({ teeTcbSvn: teeTcbSvn(5, 1, 2), teeTcbSvn2: svn2 }));
  assert.deepEqual(failed(fresh), []);
  assert.equal(fresh.tcbStatus, "UpToDate");
  assert.match(String(fresh.fields.tdxRelaunch), /^not applicable: TDX status is not OutOfDate/);
  // An out-of-date QE: no relaunch (the quote's own QE must be updated as well).
  const oldQe = platform({ qeTcbStatus: "OutOfDate" });
  const qe = verify(oldQe, oldQe.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: svn2 }), ACCEPT_ALL_BUT_REVOKED);
  assert.equal(qe.fields.qeTcbStatus, "OutOfDate");
  assert.equal(qe.tcbStatus, "OutOfDate");
  assert.match(String(qe.fields.tdxRelaunch), /^not applicable: QE status is OutOfDate/);
  // A revoked launch module: Revoked, whatever runs now.
  const revoked = platform({
    moduleIdentities: [
      {
        major: 1,
        levels: [
          { isvsvn: 5, tcbStatus: "UpToDate" },
          { isvsvn: 0, tcbStatus: "Revoked" },
        ],
      },
    ],
  });
  const r = verify(revoked, revoked.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: svn2 }), ACCEPT_ALL_BUT_REVOKED);
  assert.equal(r.tcbStatus, "Revoked");
  assert.ok(failed(r).includes("12.tcb_status attest.tcb_revoked"));
});

void test("TEE_TCB_SVN2 of another module major version: its identity decides, or refuses when missing", () => {
  const two = platform({
    moduleIdentities: [...MODULES, { major: 2, levels: [{ isvsvn: 1, tcbStatus: "UpToDate" }] }],
  });
  const ok = verify(
    two,
    two.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(1, 2, 2) }),
    ACCEPT_ALL_BUT_REVOKED,
  );
  assert.deepEqual(failed(ok), []);
  assert.equal(ok.tcbStatus, "TDRelaunchAdvised");
  assert.match(String(ok.fields.tdxRelaunch), /TDX_02 SVN 1 \(latest 1 per TDX_02's latest level\)/);

  // As Intel: a TEE_TCB_SVN2 module without an identity is TDX_MODULE_MISMATCH, a refusal.
  const v = verify(
    P,
    P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(1, 2, 2) }),
    ACCEPT_ALL_BUT_REVOKED,
  );
  assert.deepEqual(failed(v), [
    "11.tcb_level attest.tdx_module_mismatch",
    "12.tcb_status attest.not_evaluated",
    "20.tcb_status attest.not_evaluated",
  ]);
  assert.equal(v.tcbStatus, undefined);

  // Major version 0 now: compared with the latest TCB level's TDX components 0 and 2.
  const zero = verify(
    P,
    P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 0, 2) }),
    ACCEPT_ALL_BUT_REVOKED,
  );
  assert.equal(zero.tcbStatus, "TDRelaunchAdvised");
  const low = verify(
    P,
    P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(4, 0, 2) }),
    ACCEPT_ALL_BUT_REVOKED,
  );
  assert.equal(low.tcbStatus, "OutOfDate");
});

void test("(d) TD 1.0 quotes (v4, and v5 body type 2) with the same collateral are unchanged", () => {
  for (const version of [4, 5] as const) {
    const q = P.tdQuoteStruct({ teeTcbSvn: LAUNCH }, version);
    assert.equal(q.body.type === "td" && q.body.report.teeTcbSvn2, undefined);
    const v = verify(P, P.tdQuote({ teeTcbSvn: LAUNCH }, version), ACCEPT_ALL_BUT_REVOKED);
    assert.deepEqual(failed(v), [], `v${version}`);
    assert.equal(v.fields.version, version);
    assert.equal(v.tcbStatus, "OutOfDate", `v${version}`);
    assert.equal(v.fields.tdxRelaunch, undefined, `v${version}`);
    assert.equal(v.fields.teeTcbSvn2, undefined, `v${version}`);
  }
});

void test("(e) policy: relaunch statuses are refused by default, accepted when listed or when the out-of-date status they replace is", () => {
  assert.ok(!DEFAULT_ACCEPTED_TCB_STATUSES.some((s) => s.startsWith("TDRelaunch")));
  const advised = P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 1, 2) });
  const byDefault = verify(P, advised);
  assert.equal(byDefault.tcbStatus, "TDRelaunchAdvised");
  assert.deepEqual(failed(byDefault), ["20.tcb_status attest.tcb_status"]);
  assert.match(
    byDefault.findings.find((f) => !f.ok)?.detail ?? "",
    /TDRelaunchAdvised is not accepted .*relaunch it, or list the status/,
  );
  // UpToDate does not imply it; OutOfDate does (it would otherwise have been OutOfDate), so a policy
  // written before the relaunch check keeps its verdict.
  assert.deepEqual(failed(verify(P, advised, { acceptedTcbStatuses: ["UpToDate", "SWHardeningNeeded"] })), [
    "20.tcb_status attest.tcb_status",
  ]);
  const viaOutOfDate = verify(P, advised, { acceptedTcbStatuses: ["UpToDate", "OutOfDate"] });
  assert.deepEqual(failed(viaOutOfDate), []);
  assert.match(
    viaOutOfDate.findings.find((f) => f.step === "20.tcb_status")?.detail ?? "",
    /TDRelaunchAdvised accepted \(the policy accepts OutOfDate\)/,
  );
  assert.deepEqual(
    failed(verify(P, advised, { acceptedTcbStatuses: ["UpToDate", "TDRelaunchAdvised"] })),
    [],
  );
  const outdated = P.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(4, 1, 2) });
  assert.deepEqual(failed(verify(P, outdated, { acceptedTcbStatuses: ["TDRelaunchAdvised"] })), [
    "20.tcb_status attest.tcb_status",
  ]);
  const cfg = platform({ tcbLevels: levels("ConfigurationNeeded") });
  const cfgQuote = cfg.tdQuote({ teeTcbSvn: LAUNCH, teeTcbSvn2: teeTcbSvn(5, 1, 2) });
  assert.deepEqual(failed(verify(cfg, cfgQuote, { acceptedTcbStatuses: ["TDRelaunchAdvised"] })), [
    "20.tcb_status attest.tcb_status",
  ]);
  // OutOfDate alone does not cover the configuration-needed variant; OutOfDateConfigurationNeeded does.
  assert.deepEqual(failed(verify(cfg, cfgQuote, { acceptedTcbStatuses: ["OutOfDate"] })), [
    "20.tcb_status attest.tcb_status",
  ]);
  assert.deepEqual(
    failed(verify(cfg, cfgQuote, { acceptedTcbStatuses: ["OutOfDateConfigurationNeeded"] })),
    [],
  );
  assert.deepEqual(
    failed(verify(cfg, cfgQuote, { acceptedTcbStatuses: ["TDRelaunchAdvisedConfigurationNeeded"] })),
    [],
  );
  // Policy files may name them; the collateral may not (they are results, not TCB info level statuses).
  assert.deepEqual(
    parsePolicy('{"acceptedTcbStatuses":["TDRelaunchAdvised","TDRelaunchAdvisedConfigurationNeeded"]}'),
    { acceptedTcbStatuses: ["TDRelaunchAdvised", "TDRelaunchAdvisedConfigurationNeeded"] },
  );
  assert.throws(() => parsePolicy('{"acceptedTcbStatuses":["TdRelaunchAdvised"]}'), /acceptedTcbStatuses/);
  assert.ok(!(TCB_LEVEL_STATUSES as readonly string[]).includes("TDRelaunchAdvised"));
  const info = P.collateral.tcbInfo.replace('"tcbStatus":"UpToDate"', '"tcbStatus":"TDRelaunchAdvised"');
  assert.notEqual(info, P.collateral.tcbInfo);
  assert.throws(() => parseTcbInfo(info), /unknown TCB status TDRelaunchAdvised/);
});

void test("checkForRelaunch: every precondition of Intel's rule", () => {
  const info = parseTcbInfo(P.collateral.tcbInfo);
  const base: RelaunchInput = {
    info,
    teeTcbSvn: LAUNCH,
    teeTcbSvn2: teeTcbSvn(5, 1, 2),
    sgxStatus: "UpToDate",
    tdxStatus: "OutOfDate",
    moduleStatus: "OutOfDate",
    qeStatus: "UpToDate",
  };
  assert.equal(checkForRelaunch(base).status, "TDRelaunchAdvised");
  const cases: [Partial<RelaunchInput>, string][] = [
    [{ sgxStatus: "SWHardeningNeeded" }, "TDRelaunchAdvised"],
    [{ sgxStatus: "ConfigurationNeeded" }, "TDRelaunchAdvisedConfigurationNeeded"],
    [{ sgxStatus: "ConfigurationAndSWHardeningNeeded" }, "TDRelaunchAdvisedConfigurationNeeded"],
    [{ tdxStatus: "OutOfDateConfigurationNeeded" }, "TDRelaunchAdvisedConfigurationNeeded"],
    [{ sgxStatus: "OutOfDate" }, "OutOfDate"],
    [{ sgxStatus: "OutOfDateConfigurationNeeded" }, "OutOfDate"],
    [{ sgxStatus: "Revoked" }, "OutOfDate"],
    [{ qeStatus: "OutOfDate" }, "OutOfDate"],
    [{ qeStatus: "Revoked" }, "OutOfDate"],
    [{ moduleStatus: "UpToDate" }, "OutOfDate"],
    [{ tdxStatus: "UpToDate" }, "UpToDate"],
    [{ tdxStatus: "ConfigurationNeeded" }, "ConfigurationNeeded"],
    [{ tdxStatus: "Revoked", moduleStatus: "Revoked" }, "Revoked"],
    [{ teeTcbSvn2: teeTcbSvn(6, 1, 3) }, "TDRelaunchAdvised"],
  ];
  for (const [change, want] of cases) {
    const r = checkForRelaunch({ ...base, ...change });
    assert.equal(r.status, want, JSON.stringify(change));
    assert.equal(r.advised, want.startsWith("TDRelaunch"), JSON.stringify(change));
  }
  const empty = checkForRelaunch({ ...base, info: { ...info, tcbLevels: [] } });
  assert.equal(empty.status, undefined);
  assert.equal(empty.issue?.code, "attest.tcb_not_supported");
  const noLevels = checkForRelaunch({
    ...base,
    info: {
      ...info,
      tdxModuleIdentities: (info.tdxModuleIdentities ?? []).map((m) => ({ ...m, tcbLevels: [] })),
    },
  });
  assert.equal(noLevels.issue?.code, "attest.tcb_not_supported");
});
