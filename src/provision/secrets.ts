// Secret names and the wire form of `POST /v1/secrets`. Three kinds: `volume-key` (the key of every
// --pfs volume of the runtime), `volume-key:/GUEST` (the volume mounted at /GUEST; wins over the
// former) and `env:NAME` (an environment variable for the guest). Values are bytes on the wire
// (base64); what each kind must hold is checked on both ends. Errors never carry a secret's value.
import { TwineError } from "../errors.js";
import type { ErrorCode } from "../errors.js";

export const VOLUME_KEY = "volume-key";
export const VOLUME_KEY_SIZE = 32;
export const MAX_SECRETS = 64;
export const MAX_SECRET_BYTES = 64 * 1024;
const MAX_NAME = 256;

export type SecretKind = { kind: "volume-key"; guestPath?: string } | { kind: "env"; name: string };

/** What `name` names, or a `code` error (`cli.usage` for the owner's flags, `provision.protocol` on the wire). */
export function parseSecretName(name: string, code: ErrorCode): SecretKind {
  const bad = (why: string): TwineError =>
    new TwineError(code, `secret name ${JSON.stringify(name.slice(0, MAX_NAME))}: ${why}`);
  if (name.length > MAX_NAME || name.includes("\0")) throw bad("too long or has NUL");
  if (name === VOLUME_KEY) return { kind: "volume-key" };
  if (name.startsWith(`${VOLUME_KEY}:`)) {
    const guestPath = name.slice(VOLUME_KEY.length + 1);
    if (!guestPath.startsWith("/")) throw bad("expected volume-key:/GUEST_PATH");
    return { kind: "volume-key", guestPath };
  }
  if (name.startsWith("env:")) {
    const env = name.slice(4);
    if (env === "" || env.includes("=")) throw bad("expected env:NAME with no '='");
    return { kind: "env", name: env };
  }
  throw bad("expected volume-key, volume-key:/GUEST or env:NAME");
}

/** Checks a value against its kind: 32-byte volume keys; env values UTF-8 without NUL. */
export function checkSecretValue(name: string, value: Uint8Array, code: ErrorCode): void {
  const kind = parseSecretName(name, code);
  if (value.length > MAX_SECRET_BYTES)
    throw new TwineError(code, `secret ${name} is larger than ${MAX_SECRET_BYTES} bytes`);
  if (kind.kind === "volume-key" && value.length !== VOLUME_KEY_SIZE)
    throw new TwineError(code, `secret ${name} must be a ${VOLUME_KEY_SIZE}-byte key`);
  if (kind.kind === "env") {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(value);
    } catch {
      throw new TwineError(code, `secret ${name} is not UTF-8 text`);
    }
    if (text.includes("\0")) throw new TwineError(code, `secret ${name} contains NUL`);
  }
}

/** The response body. */
export function encodeSecrets(secrets: ReadonlyMap<string, Uint8Array>): string {
  const out: Record<string, string> = {};
  for (const [name, value] of secrets) out[name] = Buffer.from(value).toString("base64");
  return JSON.stringify({ secrets: out });
}

/** Parses and checks a response body (hostile until parsed: the server passed only its pin). */
export function decodeSecrets(body: string): Map<string, Uint8Array> {
  const bad = (why: string): TwineError =>
    new TwineError("provision.protocol", `bad secrets response: ${why}`);
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    throw bad("not JSON");
  }
  const s = (j as { secrets?: unknown } | null)?.secrets;
  if (typeof j !== "object" || j === null || typeof s !== "object" || s === null || Array.isArray(s))
    throw bad("no secrets object");
  const entries = Object.entries(s as Record<string, unknown>);
  if (entries.length > MAX_SECRETS) throw bad(`more than ${MAX_SECRETS} secrets`);
  const out = new Map<string, Uint8Array>();
  for (const [name, v] of entries) {
    if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
      throw bad(`secret ${JSON.stringify(name.slice(0, MAX_NAME))} is not base64`);
    const value = new Uint8Array(Buffer.from(v, "base64"));
    checkSecretValue(name, value, "provision.protocol");
    out.set(name, value);
  }
  return out;
}

/** The key for the volume at `guestPath`: its own secret, else the runtime-wide one. */
export function volumeKeyFor(secrets: ReadonlyMap<string, Uint8Array>, guestPath: string): Uint8Array {
  const key = secrets.get(`${VOLUME_KEY}:${guestPath}`) ?? secrets.get(VOLUME_KEY);
  if (key === undefined)
    throw new TwineError(
      "provision.missing",
      `the provisioning server sent no ${VOLUME_KEY} for the volume at ${guestPath}`,
    );
  return key;
}

/** The `env:NAME` secrets as guest environment variables. */
export function envOf(secrets: ReadonlyMap<string, Uint8Array>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of secrets) {
    const k = parseSecretName(name, "provision.protocol");
    if (k.kind === "env") env[k.name] = Buffer.from(value).toString("utf8");
  }
  return env;
}
