import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { decodeTcb, encodeTcb, formatTcb, parseSnpReport, snpProductFromCpuid } from "./abi-snp.js";
import type { SnpTcbParts } from "./abi-snp.js";
import type { Verdict } from "./findings.js";
import { defaultRoots, parsePolicy, ROOT_FINGERPRINTS, verifyEvidence } from "./index.js";
import type { Policy, SnpCollateral, SnpTcb } from "./index.js";
import { SyntheticSnpPlatform } from "./synthetic-snp.js";
import { NOW_SNP_CRL, kdsCrl, snpVector, turinAskArkAsvk, turinVcekChain } from "./test-vectors.js";
import { parseCert, parseCrl } from "./x509.js";

const NOW = new Date("2026-06-01T00:00:00Z");
const CUSTOM: Policy = { dangerousAllowCustomRoots: true };
const turin = new SyntheticSnpPlatform({ now: NOW, product: "Turin" });

function failed(v: Verdict): string[] {
  return v.findings.filter((f) => !f.ok).map((f) => `${f.step} ${f.code}`);
}
function run(
  p: SyntheticSnpPlatform,
  report: Uint8Array = p.report(),
  collateral: SnpCollateral = p.collateral(),
  policy: Policy = CUSTOM,
): Verdict {
  return verifyEvidence(report, { collateral, now: NOW, policy, roots: p.roots() });
}

void test("Turin TCB_VERSION bytes decode to the right fields (and Milan/Genoa's are unchanged)", () => {
  const table: { raw: bigint; turin: SnpTcbParts; milan: SnpTcbParts }[] = [
    // The real Azure Turin report's REPORTED_TCB; its VCEK (snp/turin/) has exactly these SPLs.
    {
      raw: 0x5a00_0000_0502_0301n,
      turin: { fmc: 1, bootloader: 3, tee: 2, snp: 5, microcode: 90 },
      milan: { bootloader: 1, tee: 3, snp: 0, microcode: 90 },
    },
    // Milan's `attestation.bin` TCB: in Turin's layout the SNP SPL would land in a reserved byte.
    {
      raw: 0x4405_0000_0000_0002n,
      turin: { fmc: 2, bootloader: 0, tee: 0, snp: 0, microcode: 68 },
      milan: { bootloader: 2, tee: 0, snp: 5, microcode: 68 },
    },
    {
      raw: 0xff00_0000_8070_6050n,
      turin: { fmc: 0x50, bootloader: 0x60, tee: 0x70, snp: 0x80, microcode: 0xff },
      milan: { bootloader: 0x50, tee: 0x60, snp: 0, microcode: 0xff },
    },
    {
      raw: 0n,
      turin: { fmc: 0, bootloader: 0, tee: 0, snp: 0, microcode: 0 },
      milan: { bootloader: 0, tee: 0, snp: 0, microcode: 0 },
    },
  ];
  for (const { raw, turin: t, milan: m } of table) {
    const at = `0x${raw.toString(16)}`;
    assert.deepEqual(decodeTcb(raw, "Turin"), t, at);
    assert.deepEqual(decodeTcb(raw, "Milan"), m, at);
    assert.deepEqual(decodeTcb(raw, "Genoa"), m, at);
    assert.deepEqual(decodeTcb(raw), m, at);
    // Encoding writes zeros where the layout has reserved bytes.
    const turinReserved = (raw >> 32n) & 0xff_ffffn;
    if (turinReserved === 0n) assert.equal(encodeTcb(t, "Turin"), raw, at);
  }
  assert.equal(formatTcb(decodeTcb(0x5a00_0000_0502_0301n, "Turin")), "fmc 1 bl 3 tee 2 snp 5 ucode 90");
  assert.equal(formatTcb(decodeTcb(0x4405_0000_0000_0002n)), "bl 2 tee 0 snp 5 ucode 68");
  assert.throws(() => encodeTcb({ bootloader: 1, tee: 1, snp: 1, microcode: 1 }, "Turin"));

  const cpuid = (fam: number, model: number, version = 3): string | undefined =>
    snpProductFromCpuid({ version, cpuid: Uint8Array.of(fam, model, 0) });
  assert.equal(cpuid(0x1a, 0x02), "Turin");
  assert.equal(cpuid(0x1a, 0x12), "Turin");
  assert.equal(cpuid(0x19, 0x01), "Milan");
  assert.equal(cpuid(0x19, 0x11), "Genoa");
  assert.equal(cpuid(0x19, 0xa0), "Genoa");
  assert.equal(cpuid(0x19, 0x30), undefined);
  assert.equal(cpuid(0x1a, 0x02, 2), undefined);
});

void test("the pinned ARK-Turin: fingerprint, self-signature, name and CRL distribution point", () => {
  const der = defaultRoots().amdArk.Turin!;
  assert.equal(createHash("sha256").update(der).digest("hex"), ROOT_FINGERPRINTS.amdArkTurin);
  assert.equal(
    ROOT_FINGERPRINTS.amdArkTurin,
    "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
  );
  const ark = parseCert(der, "ARK-Turin");
  assert.equal(ark.subjectCn, "ARK-Turin");
  assert.deepEqual(ark.issuerDer, ark.subjectDer);
  const x = new X509Certificate(der);
  assert.ok(x.verify(x.publicKey), "RSA-PSS self-signature");
  assert.equal(x.ca, true);
  assert.equal(x.serialNumber, "030000");
  const rsaPssOid = Buffer.from("06092a864886f70d01010a", "hex");
  assert.ok(Buffer.from(der).includes(rsaPssOid), "RSASSA-PSS");
  assert.ok(
    Buffer.from(der).includes(Buffer.from("https://kdsintf.amd.com/vcek/v1/Turin/crl")),
    "CRL distribution point",
  );
  // Every pinned ARK verifies itself; none verifies another.
  const arks = Object.entries(defaultRoots().amdArk).map(([k, d]) => [k, new X509Certificate(d)] as const);
  assert.deepEqual(
    arks.map(([k]) => k),
    ["Milan", "Genoa", "Turin"],
  );
  for (const [k, a] of arks)
    for (const [j, b] of arks) assert.equal(a.verify(b.publicKey), k === j, `${k} under ${j}`);
  // The real ASK SEV-Turin (and the real Azure VCEK) chain to it.
  const [vcek, ask, presentedArk] = turinVcekChain().certs.map((c) => new X509Certificate(c));
  assert.match(ask!.subject, /CN=SEV-Turin/);
  assert.ok(ask!.verify(x.publicKey) && ask!.checkIssued(x));
  assert.ok(vcek!.verify(ask!.publicKey));
  assert.deepEqual(new Uint8Array(presentedArk!.raw), der);
  // So do the same ASK and the ASVK SEV-VLEK-Turin as published by another project.
  const [ask2, ark2, asvk] = turinAskArkAsvk().map((c) => new X509Certificate(c));
  assert.deepEqual(ask2!.raw, ask!.raw);
  assert.deepEqual(new Uint8Array(ark2!.raw), der);
  assert.match(asvk!.subject, /CN=SEV-VLEK-Turin/);
  assert.ok(asvk!.verify(x.publicKey) && asvk!.checkIssued(x));
});

void test("a synthetic Turin chain signs a v3 family-0x1A report that verifies, showing product and FMC SPL", () => {
  const v = run(turin);
  assert.deepEqual(failed(v), []);
  assert.equal(v.fields.product, "Turin");
  assert.equal(v.fields.reportedTcb, "fmc 1 bl 3 tee 2 snp 5 ucode 90");
  assert.equal(v.fields.currentTcb, "fmc 1 bl 3 tee 2 snp 5 ucode 90");
  assert.equal(v.fields.launchTcb, "fmc 1 bl 3 tee 2 snp 5 ucode 90");
  assert.equal(v.fields.committedTcb, "fmc 1 bl 3 tee 2 snp 5 ucode 90");
  assert.deepEqual([...parseSnpReport(turin.report()).cpuid], [0x1a, 0x02, 0x00]);
  // Under the vendor roots its ARK is not AMD's.
  const vendor = verifyEvidence(turin.report(), { collateral: turin.collateral(), now: NOW });
  assert.deepEqual(failed(vendor), ["2.root attest.root_untrusted", "3.chain attest.root_untrusted"]);

  // A v2 report has no CPUID: the VCEK's productName ("Turin-B0") picks ARK-Turin and the TCB layout.
  const v2 = run(turin, turin.report({ version: 2, cpuid: new Uint8Array(3) }));
  assert.deepEqual(failed(v2), []);
  assert.equal(v2.fields.product, "Turin");
  assert.equal(v2.fields.reportedTcb, "fmc 1 bl 3 tee 2 snp 5 ucode 90");

  // The productName is hostile input: one naming an Object.prototype key finds no root (and does not throw).
  const odd = new SyntheticSnpPlatform({ now: NOW, product: "Turin", vcekProductName: "constructor" });
  const o = run(odd, odd.report({ version: 2, cpuid: new Uint8Array(3) }));
  assert.equal(o.fields.product, "constructor");
  assert.ok(failed(o).includes("2.root attest.root_untrusted"), failed(o).join(", "));

  // Policy TCB floors read Turin's layout; fmc is compared on Turin.
  const floor = (m: SnpTcb): string[] =>
    failed(run(turin, undefined, undefined, { ...CUSTOM, minReportedTcb: m }));
  assert.deepEqual(floor({ fmc: 1, bootloader: 3, tee: 2, snp: 5, microcode: 90 }), []);
  assert.deepEqual(floor({ bootloader: 3, tee: 2, snp: 5, microcode: 90 }), []);
  assert.deepEqual(floor({ fmc: 2, bootloader: 3, tee: 2, snp: 5, microcode: 90 }), [
    "20.reported_tcb attest.svn_too_low",
  ]);
  assert.deepEqual(floor({ bootloader: 3, tee: 2, snp: 6, microcode: 90 }), [
    "20.reported_tcb attest.svn_too_low",
  ]);
  assert.deepEqual(
    parsePolicy('{"minReportedTcb":{"fmc":1,"bootloader":3,"tee":2,"snp":5,"microcode":90}}'),
    {
      minReportedTcb: { fmc: 1, bootloader: 3, tee: 2, snp: 5, microcode: 90 },
    },
  );
  assert.throws(() =>
    parsePolicy('{"minReportedTcb":{"fmc":256,"bootloader":3,"tee":2,"snp":5,"microcode":90}}'),
  );
});

void test("Turin binding: a wrong or missing FMC SPL in the VCEK, or a wrong hwID, fails 5.binding", () => {
  // REPORTED_TCB names FMC 2 (and is signed): the VCEK certifies FMC 1.
  const reported = encodeTcb({ ...turin.tcb, fmc: 2 }, "Turin");
  assert.deepEqual(failed(run(turin, turin.report({ reportedTcb: reported }))), [
    "5.binding attest.snp_tcb_mismatch",
  ]);
  // The VCEK certifies FMC 3 for a report whose TCB has FMC 1.
  const wrongFmc = new SyntheticSnpPlatform({
    now: NOW,
    product: "Turin",
    vcekTcb: { fmc: 3, bootloader: 3, tee: 2, snp: 5, microcode: 90 },
  });
  const w = run(wrongFmc);
  assert.deepEqual(failed(w), ["5.binding attest.snp_tcb_mismatch"]);
  assert.match(w.findings.find((f) => !f.ok)!.detail, /fmc SPL 3, reported TCB has 1/);
  // A Turin VCEK without fmcSPL.
  const noFmc = new SyntheticSnpPlatform({
    now: NOW,
    product: "Turin",
    vcekTcb: { bootloader: 3, tee: 2, snp: 5, microcode: 90 },
  });
  assert.deepEqual(failed(run(noFmc)), ["5.binding attest.snp_extension"]);
  // Only CHIP_ID's first 8 bytes are certified (hwID): another chip there does not bind.
  const chip = Uint8Array.from(turin.chipId);
  chip[7]! ^= 1;
  assert.deepEqual(failed(run(turin, turin.report({ chipId: chip }))), [
    "5.binding attest.snp_chip_id_mismatch",
  ]);
  // Milan and Genoa VCEKs carry no fmcSPL and need none.
  for (const product of ["Milan", "Genoa"] as const) {
    const p = new SyntheticSnpPlatform({ now: NOW, product });
    const v = run(p);
    assert.deepEqual(failed(v), [], product);
    assert.equal(v.fields.reportedTcb, "bl 3 tee 0 snp 8 ucode 115", product);
  }
});

void test("a Turin report checked against a Milan or Genoa chain fails, and the other way round", () => {
  for (const product of ["Milan", "Genoa"] as const) {
    const other = new SyntheticSnpPlatform({ now: NOW, product });
    const roots = { amdArk: { [product]: other.arkDer, Turin: turin.arkDer } };
    // Turin report (CPUID family 0x1A) with the other product's VCEK, ASK and ARK.
    const a = verifyEvidence(turin.report(), {
      collateral: other.collateral(),
      now: NOW,
      policy: CUSTOM,
      roots,
    });
    assert.ok(failed(a).includes("3.chain attest.cert_chain"), `${product}: ${failed(a).join(", ")}`);
    assert.ok(failed(a).includes("4.signature attest.sig_invalid"), product);
    assert.equal(a.ok, false);
    // The other product's report with the Turin chain.
    const b = verifyEvidence(other.report(), {
      collateral: turin.collateral(),
      now: NOW,
      policy: CUSTOM,
      roots,
    });
    assert.ok(failed(b).includes("3.chain attest.cert_chain"), `${product}: ${failed(b).join(", ")}`);
    assert.equal(b.ok, false);
    // A Turin report pinned only to the other product's root: no pinned ARK for Turin.
    const c = verifyEvidence(turin.report(), {
      collateral: turin.collateral(),
      now: NOW,
      policy: CUSTOM,
      roots: { amdArk: { [product]: other.arkDer } },
    });
    assert.ok(failed(c).includes("2.root attest.root_untrusted"), failed(c).join(", "));
    assert.equal(c.ok, false);
  }
  // A synthetic Turin report against the real Genoa chain under the vendor roots.
  const genoa = snpVector("genoaAzure");
  const g = verifyEvidence(turin.report(), { collateral: genoa.collateral, now: NOW });
  assert.equal(g.fields.product, "Turin");
  assert.ok(failed(g).includes("3.chain attest.cert_chain"), failed(g).join(", "));
  // And the real Genoa report against the real Turin chain.
  const t = verifyEvidence(genoa.report, { collateral: turinVcekChain(), now: NOW_SNP_CRL });
  assert.equal(t.fields.product, "Genoa");
  assert.ok(failed(t).includes("3.chain attest.cert_chain"), failed(t).join(", "));
});

void test("the real Turin VCEK chains to the pinned ARK-Turin and binds to its TCB and 8-byte hwID", () => {
  // No report signed by this VCEK is public here, so the report is one of ours (signed by another key)
  // that claims the VCEK's chip and TCB: everything but the signature must hold.
  const realChip = new Uint8Array(64);
  realChip.set(Buffer.from("5b0f3945c57a2338", "hex"));
  const claim = new SyntheticSnpPlatform({ now: NOW_SNP_CRL, product: "Turin" }).report({
    chipId: realChip,
    reportedTcb: 0x5a00_0000_0502_0301n,
  });
  const collateral = turinVcekChain();
  const v = verifyEvidence(claim, { collateral, now: NOW_SNP_CRL });
  assert.deepEqual(failed(v), ["4.signature attest.sig_invalid"]);
  assert.equal(v.fields.product, "Turin");
  assert.equal(v.fields.reportedTcb, "fmc 1 bl 3 tee 2 snp 5 ucode 90");
  // With AMD's real Turin CRL (valid 2026-08-19..2026-10-04, no entries).
  const withCrl = verifyEvidence(claim, {
    collateral: { ...collateral, crl: kdsCrl("Turin") },
    now: NOW_SNP_CRL,
  });
  assert.deepEqual(failed(withCrl), ["4.signature attest.sig_invalid"]);
  assert.ok(withCrl.findings.some((f) => f.step === "6.crl" && f.ok));
  assert.ok(withCrl.findings.some((f) => f.step === "7.revocation" && f.ok));
  assert.equal(parseCrl(kdsCrl("Turin"), "turin").revoked.size, 0);
  // The same claim with another FMC SPL, or another chip, does not bind.
  const fmc2 = new SyntheticSnpPlatform({ now: NOW_SNP_CRL, product: "Turin" }).report({
    chipId: realChip,
    reportedTcb: 0x5a00_0000_0502_0302n,
  });
  assert.deepEqual(failed(verifyEvidence(fmc2, { collateral, now: NOW_SNP_CRL })), [
    "4.signature attest.sig_invalid",
    "5.binding attest.snp_tcb_mismatch",
  ]);
  // Before the VCEK's notBefore (2026-07-18) the chain does not hold.
  assert.ok(
    failed(verifyEvidence(claim, { collateral, now: new Date("2026-07-01T00:00:00Z") })).includes(
      "3.chain attest.cert_expired",
    ),
  );
  // Turin's CRL is not the Genoa ARK's, and the other way round.
  const wrongCrl = verifyEvidence(claim, {
    collateral: { ...collateral, crl: kdsCrl("Genoa") },
    now: NOW_SNP_CRL,
  });
  assert.ok(failed(wrongCrl).includes("6.crl attest.crl_invalid"), failed(wrongCrl).join(", "));
});
