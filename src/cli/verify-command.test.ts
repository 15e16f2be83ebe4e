import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serializeDcapCollateral } from "../attest/collateral.js";
import { SyntheticSnpPlatform } from "../attest/synthetic-snp.js";
import { SimTee } from "../tee/sim.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const F = join(ROOT, "test/fixtures/attest");
const NOW = ["--now", "2025-07-01T00:00:00Z"];

function twine(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/twine.js"), "verify", ...args], {
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

void test("twine verify: exit 0 when every check passes, with a readable verdict", () => {
  const r = twine(join(F, "tdx/tdx_quote"), "--collateral", join(F, "tdx/tdx_quote_collateral.json"), ...NOW);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^TDX evidence: ACCEPTED/);
  assert.match(r.stdout, /TCB status: UpToDate/);
  assert.match(r.stdout, /mrTd\s+91eb2b44/);
  assert.match(r.stdout, /pass\s+10\.quote_signature/);
});

void test("twine verify: exit 1 when rejected; --policy and --json", () => {
  const r = twine(join(F, "sgx/sgx_quote"), "--collateral", join(F, "sgx"), ...NOW, "--json");
  assert.equal(r.status, 1);
  const v = JSON.parse(r.stdout) as {
    ok: boolean;
    tcbStatus: string;
    advisoryIds: string[];
    findings: { ok: boolean; code: string }[];
  };
  assert.equal(v.ok, false);
  assert.equal(v.tcbStatus, "ConfigurationAndSWHardeningNeeded");
  assert.deepEqual(v.advisoryIds, ["INTEL-SA-00289", "INTEL-SA-00615"]);
  assert.deepEqual(
    v.findings.filter((f) => !f.ok).map((f) => f.code),
    ["attest.tcb_status"],
  );

  const dir = mkdtempSync(join(tmpdir(), "twine-verify-"));
  try {
    const policy = join(dir, "policy.json");
    writeFileSync(
      policy,
      JSON.stringify({
        acceptedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"],
        mrEnclave: "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
      }),
    );
    const ok = twine(join(F, "sgx/sgx_quote"), "--collateral", join(F, "sgx"), ...NOW, "--policy", policy);
    assert.equal(ok.status, 0, ok.stdout);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ mrEnclav: "00" }));
    const u = twine(join(F, "sgx/sgx_quote"), "--collateral", join(F, "sgx"), ...NOW, "--policy", bad);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /\[cli\.usage\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Outside the collateral's window.
  assert.equal(
    twine(join(F, "sgx/sgx_quote"), "--collateral", join(F, "sgx"), "--now", "2025-08-01T00:00:00Z").status,
    1,
  );
});

void test("twine verify: SNP with certificates as repeated flags or a folder", () => {
  const r = twine(
    join(F, "snp/vlek-aws/test-vlek-report.bin"),
    "--collateral",
    join(F, "snp/vlek-aws"),
    ...NOW,
  );
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /signingKey\s+VLEK/);
  const d = twine(
    join(F, "snp/attestation.bin"),
    "--collateral",
    join(F, "snp/vcek.der"),
    "--collateral",
    join(F, "snp/ask_ark_milan.pem"),
    ...NOW,
  );
  assert.equal(d.status, 1);
  assert.match(d.stdout, /FAIL\s+20\.debug\s+\[attest\.debug\]/);
});

void test("twine verify: SNP revocation is reported as not checked without --snp-crl, and a CRL is checked", () => {
  const args = [
    join(F, "snp/milan-idblock/test-report.bin"),
    "--collateral",
    join(F, "snp/milan-idblock/test-vcek.der"),
  ];
  args.push("--collateral", join(F, "snp/ask_ark_milan.pem"), ...NOW);
  const plain = twine(...args);
  assert.equal(plain.status, 0, plain.stdout);
  assert.match(plain.stdout, /AMD revocation: not checked \(no AMD CRL given\)/);
  assert.doesNotMatch(plain.stdout, /6\.crl/);

  // AMD's real Genoa CRL (snp/kds-crl/README.md), inside its window.
  const genoa = twine(
    join(F, "snp/genoa-azure/evidence-genoa.snp-report.bin"),
    "--collateral",
    join(F, "snp/genoa-azure/vcek-genoa.pem"),
    "--collateral",
    join(F, "snp/ask_ark_genoa.pem"),
    "--snp-crl",
    join(F, "snp/kds-crl/genoa.crl"),
    "--now",
    "2026-09-01T00:00:00Z",
  );
  assert.equal(genoa.status, 0, genoa.stdout + genoa.stderr);
  assert.match(genoa.stdout, /AMD revocation: checked: 1 revoked serial/);
  assert.match(genoa.stdout, /pass\s+7\.revocation/);

  const dir = mkdtempSync(join(tmpdir(), "twine-verify-crl-"));
  try {
    // Not AMD's: signed by a synthetic ARK-Milan, so the real chain's ARK refuses it.
    const crl = new SyntheticSnpPlatform({ now: new Date("2025-07-01T00:00:00Z") }).crl();
    writeFileSync(join(dir, "milan.crl"), crl);
    const r = twine(...args, "--snp-crl", join(dir, "milan.crl"), "--json");
    assert.equal(r.status, 1, r.stderr);
    const v = JSON.parse(r.stdout) as {
      fields: { amdCrl: string };
      findings: { step: string; ok: boolean; code: string }[];
    };
    assert.deepEqual(
      v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`),
      ["6.crl attest.crl_invalid", "6.crl attest.crl_invalid", "7.revocation attest.not_evaluated"],
    );
    assert.match(v.fields.amdCrl, /^checked/);

    writeFileSync(join(dir, "policy.json"), JSON.stringify({ requireSnpCrl: true }));
    const required = twine(...args, "--policy", join(dir, "policy.json"));
    assert.equal(required.status, 1);
    assert.match(required.stdout, /FAIL\s+20\.snp_crl\s+\[attest\.crl_missing\]/);

    const dcap = twine(
      join(F, "sgx/sgx_quote"),
      "--collateral",
      join(F, "sgx"),
      "--snp-crl",
      join(dir, "milan.crl"),
    );
    assert.equal(dcap.status, 2);
    assert.match(dcap.stderr, /\[cli\.usage\]/);
    assert.equal(twine(...args, "--snp-crl", join(dir, "missing.crl")).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("twine verify: usage errors and unreadable input exit 2 with one line", () => {
  const missing = twine(join(F, "nope"), "--collateral", join(F, "sgx"));
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  assert.match(missing.stderr, /cannot read evidence/);
  assert.equal(twine(join(F, "sgx/sgx_quote")).status, 2);
  assert.equal(
    twine(join(F, "sgx/sgx_quote"), "--collateral", join(F, "sgx"), "--now", "yesterday").status,
    2,
  );
  assert.equal(twine(join(F, "sgx/sgx_quote"), "--collateral", join(F, "sgx"), "--kind", "sev").status, 2);
  // Garbage evidence is read fine and rejected (exit 1), not a crash.
  const junk = twine(join(F, "sgx/NOW"), "--collateral", join(F, "sgx"), ...NOW);
  assert.equal(junk.status, 1);
  assert.match(junk.stdout, /\[attest\.format\]/);
});

void test("twine verify: sim evidence is refused unless --dangerous-allow-sim, even with its root trusted", () => {
  const dir = mkdtempSync(join(tmpdir(), "twine-verify-sim-"));
  try {
    const tee = new SimTee({ dir: join(dir, "sim"), runtimeDist: join(ROOT, "dist") });
    const now = new Date();
    writeFileSync(join(dir, "quote"), tee.getEvidence(new Uint8Array(64)).report);
    writeFileSync(join(dir, "collateral.json"), serializeDcapCollateral(tee.collateral(now)));
    writeFileSync(join(dir, "root.der"), tee.rootDer);
    writeFileSync(join(dir, "policy.json"), JSON.stringify({ dangerousAllowCustomRoots: true }));
    const args = [
      join(dir, "quote"),
      "--collateral",
      join(dir, "collateral.json"),
      "--sgx-root",
      join(dir, "root.der"),
      "--policy",
      join(dir, "policy.json"),
      "--now",
      now.toISOString(),
    ];
    const refused = twine(...args);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stdout, /FAIL\s+0\.sim\s+\[attest\.sim\]/);
    const allowed = twine(...args, "--dangerous-allow-sim");
    assert.equal(allowed.status, 0, allowed.stdout + allowed.stderr);
    assert.match(allowed.stdout, /sim\s+true/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("twine verify: a Turin report shows its product and FMC SPL, against the pinned ARK-Turin", () => {
  const dir = mkdtempSync(join(tmpdir(), "twine-verify-turin-"));
  try {
    // Claims the real Turin VCEK's chip and TCB (snp/turin/README.md) but is signed by another key:
    // the chain, binding and AMD's Turin CRL hold, the signature does not.
    const chipId = new Uint8Array(64);
    chipId.set(Buffer.from("5b0f3945c57a2338", "hex"));
    const report = new SyntheticSnpPlatform({
      now: new Date("2026-09-01T00:00:00Z"),
      product: "Turin",
    }).report({
      chipId,
      reportedTcb: 0x5a00_0000_0502_0301n,
    });
    writeFileSync(join(dir, "report.bin"), report);
    const r = twine(
      join(dir, "report.bin"),
      "--collateral",
      join(F, "snp/turin/snp_vcek_chain_turin.pem"),
      "--snp-crl",
      join(F, "snp/kds-crl/turin.crl"),
      "--now",
      "2026-09-01T00:00:00Z",
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /product\s+Turin/);
    assert.match(r.stdout, /reportedTcb\s+fmc 1 bl 3 tee 2 snp 5 ucode 90/);
    assert.match(r.stdout, /pass\s+2\.root/);
    assert.match(r.stdout, /pass\s+3\.chain/);
    assert.match(r.stdout, /pass\s+5\.binding/);
    assert.match(r.stdout, /pass\s+6\.crl/);
    assert.match(r.stdout, /FAIL\s+4\.signature\s+\[attest\.sig_invalid\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
