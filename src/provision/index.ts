// Secret provisioning over RA-TLS: the owner's server and the runtime's client. Side-effect free.
export {
  createProvisionServer,
  createServerIdentity,
  certFingerprint,
  SECRETS_PATH,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_TIMEOUT_MS,
} from "./server.js";
export type { ProvisionEvent, ProvisionServerOptions, ServerIdentity } from "./server.js";
export { provisionSecrets, DEFAULT_PROVISION_TIMEOUT_MS } from "./client.js";
export type { ProvisionOptions } from "./client.js";
export {
  parseSecretName,
  checkSecretValue,
  volumeKeyFor,
  envOf,
  VOLUME_KEY,
  VOLUME_KEY_SIZE,
  MAX_SECRETS,
} from "./secrets.js";
export type { SecretKind } from "./secrets.js";
