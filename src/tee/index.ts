// TEE backends, launch identity, report data and the guest attestation imports. Side-effect free.
export * from "./tee.js";
export { GramineTee, GRAMINE_ROOT } from "./gramine.js";
export type { GramineOptions } from "./gramine.js";
export { TsmTee, TSM_ROOT, TSM_ATTEMPTS } from "./tsm.js";
export type { TsmFs, TsmOptions } from "./tsm.js";
export { SimTee, defaultSimDir, measureRuntimeFiles, RUNTIME_DIST } from "./sim.js";
export type { SimOptions } from "./sim.js";
export { canonicalJson } from "./canonical-json.js";
export type { CanonicalValue } from "./canonical-json.js";
export { launchManifest, MANIFEST_VERSION } from "./manifest.js";
export type { LaunchInput, LaunchManifest, ManifestMount } from "./manifest.js";
export { launchOf } from "./launch.js";
export type { LaunchFlags } from "./launch.js";
export { runtimeReportData, libratsReportData } from "./report-data.js";
export type { ReportDataInput } from "./report-data.js";
export {
  createTeeImports,
  evidenceToJson,
  evidenceFromJson,
  reportDataOf,
  sealBuffer,
  unsealBuffer,
  ATTEST_RC,
  SEAL_OVERHEAD,
  RATS_SGX_EVIDENCE,
} from "./guest-imports.js";
export type { GuestExports, EvidenceVerifier, TeeImportOptions } from "./guest-imports.js";
export {
  createTee,
  detectTee,
  defaultVerifier,
  pfsVolumeKey,
  parseTeeChoice,
  parseSealPolicy,
  TEE_CHOICES,
} from "./select.js";
export type { TeeChoice, TeeLocations } from "./select.js";
export { createWorkerTeeImports } from "./worker-tee.js";
export type { TeeConfig } from "./worker-tee.js";
