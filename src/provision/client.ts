// The runtime's side of provisioning: attest to the owner's server with an RA-TLS certificate bound
// to this launch, check the server is the one pinned by the launch (so secrets come from the owner,
// not from an impostor the operator set up), and fetch the secrets. Nothing is sent before the pin
// matched; the caller starts the guest only after this resolved.
import * as http from "node:http";
import * as tls from "node:tls";
import { TwineError } from "../errors.js";
import { bytesEqual, hex } from "../attest/bytes.js";
import { createRatlsIdentity } from "../ratls/cert.js";
import { ratlsClientOptions } from "../ratls/tls.js";
import type { Tee } from "../tee/tee.js";
import { decodeSecrets } from "./secrets.js";
import { certFingerprint, SECRETS_PATH } from "./server.js";

export const DEFAULT_PROVISION_TIMEOUT_MS = 15_000;
const MAX_RESPONSE = 1024 * 1024;

export interface ProvisionOptions {
  /** `https://HOST:PORT` of `twine provision serve`. */
  url: string | URL;
  /** SHA-256 of the server's certificate (32 bytes). */
  pin: Uint8Array;
  tee: Tee;
  /** This launch's hash (`launchOf`), bound into the certificate's evidence. */
  launchHash: Uint8Array;
  timeoutMs?: number;
}

function hostPort(url: string | URL): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TwineError("provision.usage", "provisioning URL is not a URL");
  }
  if (u.protocol !== "https:") throw new TwineError("provision.usage", "provisioning URL must be https://");
  // URL keeps IPv6 literals in brackets; tls.connect wants them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: u.port === "" ? 443 : Number(u.port) };
}

/** The `error.code` of an error body, if it has one (for the message only: the server is not trusted). */
function errorCodeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } } | null)?.error?.code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The secrets the server sends this runtime, by name. Rejects with `provision.*` codes. */
export async function provisionSecrets(o: ProvisionOptions): Promise<Map<string, Uint8Array>> {
  if (o.pin.length !== 32) throw new TwineError("provision.usage", "the pin must be a 32-byte SHA-256");
  const { host, port } = hostPort(o.url);
  const identity = createRatlsIdentity(o.tee, { launchHash: o.launchHash });
  const timeoutMs = o.timeoutMs ?? DEFAULT_PROVISION_TIMEOUT_MS;
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ...ratlsClientOptions(identity) });
    let secure = false;
    let settled = false;
    const settle = (e: TwineError | undefined, v?: Map<string, Uint8Array>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (e !== undefined) reject(e);
      else resolve(v ?? new Map());
    };
    // Before the handshake completed the server was not reached; after, a close without an answer is
    // how a server refuses our evidence (it destroys the socket once it judged our certificate).
    const lost = (why: string, cause?: unknown): void =>
      settle(
        secure
          ? new TwineError(
              "provision.refused",
              `the provisioning server closed the connection without secrets (${why}): it refused this runtime`,
              { cause },
            )
          : new TwineError("provision.connect", `cannot reach the provisioning server (${why})`, { cause }),
      );
    const timer = setTimeout(() => {
      settle(
        new TwineError(
          secure ? "provision.refused" : "provision.connect",
          `the provisioning server did not answer within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.on("error", (e: Error & { code?: string }) => lost(e.code ?? e.message, e));
    socket.once("close", () => lost("connection closed"));
    socket.once("secureConnect", () => {
      const raw = (socket.getPeerCertificate(true) as Partial<tls.DetailedPeerCertificate>).raw;
      const got = raw === undefined ? undefined : certFingerprint(new Uint8Array(raw));
      if (got === undefined || !bytesEqual(got, o.pin)) {
        settle(
          new TwineError(
            "provision.pin",
            `the provisioning server's certificate ${got === undefined ? "is missing" : `has SHA-256 ${hex(got)}`}, not the pinned ${hex(o.pin)}`,
          ),
        );
        return;
      }
      secure = true;
      const req = http.request({
        createConnection: () => socket,
        method: "POST",
        path: SECRETS_PATH,
        headers: { host: `${host}:${port}`, "content-type": "application/json", "content-length": 2 },
      });
      req.on("error", (e: Error & { code?: string }) => lost(e.code ?? e.message, e));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE)
            settle(new TwineError("provision.protocol", `response larger than ${MAX_RESPONSE} bytes`));
          else chunks.push(c);
        });
        res.on("error", (e: Error & { code?: string }) => lost(e.code ?? e.message, e));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) {
            const code = errorCodeOf(text);
            settle(
              new TwineError(
                "provision.protocol",
                `the provisioning server answered ${res.statusCode ?? "?"}${code === undefined ? "" : ` (${JSON.stringify(code.slice(0, 64))})`}`,
              ),
            );
            return;
          }
          try {
            settle(undefined, decodeSecrets(text));
          } catch (e) {
            settle(
              e instanceof TwineError
                ? e
                : new TwineError("provision.protocol", "bad response", { cause: e }),
            );
          }
        });
      });
      req.end("{}");
    });
  });
}
