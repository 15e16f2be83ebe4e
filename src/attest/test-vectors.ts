// Test support (not part of the API): the real vectors copied into test/fixtures/attest/ and the
// times their README gives. Compiled to dist/src/attest/, hence the path up to the repository root.
import { readFileSync } from "node:fs";
import { parseDcapCollateral } from "./collateral.js";
import type { DcapCollateral } from "./collateral.js";
import { snpCollateralFrom } from "./verify-snp.js";
import type { SnpCollateral } from "./verify-snp.js";

const DIR = new URL("../../../test/fixtures/attest/", import.meta.url);

export function fixture(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(rel, DIR)));
}

/** Inside the window of sgx/, tdx/tdx_quote and every snp/ vector. */
export const NOW = new Date("2025-07-01T00:00:00Z");
/** Inside the window of tdx/tdx_quote_outdated. */
export const NOW_TDX_OUTDATED = new Date("2026-03-01T00:00:00Z");

export interface DcapVector {
  quote: Uint8Array;
  collateral: DcapCollateral;
  now: Date;
}

export function sgxVector(): DcapVector {
  return {
    quote: fixture("sgx/sgx_quote"),
    collateral: parseDcapCollateral(fixture("sgx/sgx_quote_collateral.json")),
    now: NOW,
  };
}
export function tdxVector(): DcapVector {
  return {
    quote: fixture("tdx/tdx_quote"),
    collateral: parseDcapCollateral(fixture("tdx/tdx_quote_collateral.json")),
    now: NOW,
  };
}
export function tdxOutdatedVector(): DcapVector {
  return {
    quote: fixture("tdx/tdx_quote_outdated"),
    collateral: parseDcapCollateral(fixture("tdx/tdx_quote_outdated_collateral.json")),
    now: NOW_TDX_OUTDATED,
  };
}

export interface SnpVector {
  report: Uint8Array;
  collateral: SnpCollateral;
  now: Date;
}

export const SNP_VECTORS = {
  milan: ["snp/attestation.bin", "snp/vcek.der", "snp/ask_ark_milan.pem"],
  genoaAzure: [
    "snp/genoa-azure/evidence-genoa.snp-report.bin",
    "snp/genoa-azure/vcek-genoa.pem",
    "snp/ask_ark_genoa.pem",
  ],
  vlekAws: [
    "snp/vlek-aws/test-vlek-report.bin",
    "snp/vlek-aws/test-vlek.der",
    "snp/vlek-aws/milan_ask_ark_asvk.pem",
  ],
  milanIdBlock: [
    "snp/milan-idblock/test-report.bin",
    "snp/milan-idblock/test-vcek.der",
    "snp/ask_ark_milan.pem",
  ],
} as const;

export function snpVector(name: keyof typeof SNP_VECTORS): SnpVector {
  const [report, ...certs] = SNP_VECTORS[name];
  return { report: fixture(report), collateral: snpCollateralFrom(certs.map(fixture)), now: NOW };
}

/** Inside the window of AMD's real CRLs in snp/kds-crl/ and of the snp/ VCEKs (not the AWS VLEK). */
export const NOW_SNP_CRL = new Date("2026-09-01T00:00:00Z");

/** AMD's real CRL for a product (KDS `/vcek/v1/{product}/crl`, DER; see snp/kds-crl/README.md). */
export function kdsCrl(product: "Milan" | "Genoa" | "Turin"): Uint8Array {
  return fixture(`snp/kds-crl/${product.toLowerCase()}.crl`);
}

/**
 * A real Turin VCEK (Azure), then the real ASK SEV-Turin and ARK-Turin (snp/turin/README.md). No report
 * signed by this VCEK is available here: tests pair it with unsigned reports.
 */
export function turinVcekChain(): SnpCollateral {
  return snpCollateralFrom([fixture("snp/turin/snp_vcek_chain_turin.pem")]);
}

/** The real ASK SEV-Turin, ARK-Turin and ASVK SEV-VLEK-Turin, as DER, in that order. */
export function turinAskArkAsvk(): Uint8Array[] {
  return snpCollateralFrom([fixture("snp/turin/turin_ask_ark_asvk.pem")]).certs;
}
