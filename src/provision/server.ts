// The data owner's provisioning server: HTTPS over mutual TLS where the client must present an RA-TLS
// certificate that passes the owner's policy, judged as soon as the handshake completes. A refused
// client's socket is destroyed before any of its bytes are read, so it gets no HTTP response at all;
// only sockets that passed ever reach the request handler, which sends the secrets and nothing else.
import { createHash } from "node:crypto";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { TwineError } from "../errors.js";
import { makeRatlsCert } from "../ratls/cert.js";
import { p256KeyPair } from "../attest/synthetic.js";
import { peerCheckOf } from "../ratls/owner-policy.js";
import type { OwnerPolicy } from "../ratls/owner-policy.js";
import { ratlsServerOptions, verifyPeer } from "../ratls/tls.js";
import type { PeerCheck } from "../ratls/tls.js";
import { checkSecretValue, encodeSecrets, MAX_SECRETS } from "./secrets.js";

export const SECRETS_PATH = "/v1/secrets";
export const DEFAULT_MAX_CONNECTIONS = 32;
/** Handshake, request and idle limit per connection: a slow or silent client is dropped after it. */
export const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_REQUEST_BODY = 64 * 1024;
const SERVER_CERT_LIFETIME_MS = 10 * 365 * 86_400_000;

/** The server's own TLS identity: a plain self-signed certificate that runtimes pin by SHA-256. */
export interface ServerIdentity {
  keyPem: string;
  certPem: string;
  certDer: Uint8Array;
}

export function createServerIdentity(now: Date = new Date()): ServerIdentity {
  const id = makeRatlsCert({
    keyPair: p256KeyPair(),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + SERVER_CERT_LIFETIME_MS),
  });
  return { keyPem: id.keyPem, certPem: id.certPem, certDer: id.certDer };
}

/** The pin runtimes give as --provision-pin: SHA-256 of the certificate's DER. */
export function certFingerprint(certDer: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(certDer).digest());
}

export type ProvisionEvent =
  /** A runtime passed the policy (launch hash in hex). */
  | { type: "accepted"; remote: string; launchHash: string }
  /** A client refused in the handshake, with the first failing check. */
  | { type: "refused"; remote: string; code: string; step: string }
  /** An accepted runtime was sent the secrets with these names. */
  | { type: "served"; remote: string; launchHash: string; names: string[] }
  /** An accepted runtime sent a request other than POST /v1/secrets. */
  | { type: "bad_request"; remote: string; launchHash: string; status: number }
  /** A TLS handshake that failed or timed out before any certificate check. */
  | { type: "tls_error"; remote: string; code: string };

export interface ProvisionServerOptions {
  policy: OwnerPolicy;
  secrets: ReadonlyMap<string, Uint8Array>;
  identity: ServerIdentity;
  onEvent?: (e: ProvisionEvent) => void;
  maxConnections?: number;
  timeoutMs?: number;
  /** The clock certificates are judged by (tests). */
  now?: () => Date;
}

function remoteOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** An HTTPS server (not yet listening) that hands `secrets` to runtimes passing `policy`. */
export function createProvisionServer(o: ProvisionServerOptions): https.Server {
  if (o.secrets.size === 0 || o.secrets.size > MAX_SECRETS)
    throw new TwineError("provision.usage", `give between 1 and ${MAX_SECRETS} secrets`);
  for (const [name, value] of o.secrets) checkSecretValue(name, value, "provision.usage");
  const body = encodeSecrets(o.secrets);
  const names = [...o.secrets.keys()];
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const emit = o.onEvent ?? ((): void => undefined);
  const check: PeerCheck = { ...peerCheckOf(o.policy), ...(o.now === undefined ? {} : { now: o.now }) };
  // Sockets whose client passed, with its launch hash: the only ones the handler answers.
  const passed = new WeakMap<object, string>();

  const server = https.createServer(
    {
      ...ratlsServerOptions(o.identity, true),
      handshakeTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      keepAliveTimeout: 1000,
      maxHeaderSize: 8 * 1024,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const launchHash = passed.get(req.socket);
      if (launchHash === undefined) {
        req.socket.destroy();
        return;
      }
      const remote = remoteOf(req.socket);
      if (req.method !== "POST" || req.url !== SECRETS_PATH) {
        emit({ type: "bad_request", remote, launchHash, status: 404 });
        sendError(res, 404, "provision.not_found", `only POST ${SECRETS_PATH}`);
        return;
      }
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REQUEST_BODY) req.socket.destroy();
      });
      req.on("end", () => {
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "cache-control": "no-store",
          connection: "close",
        });
        res.end(body, () => emit({ type: "served", remote, launchHash, names }));
      });
    },
  );
  server.maxConnections = o.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.setTimeout(timeoutMs, (socket: { destroy(): void }) => socket.destroy());
  server.on("secureConnection", (socket: TLSSocket) => {
    socket.on("error", () => socket.destroy());
    const verdict = verifyPeer(socket, check);
    const remote = remoteOf(socket);
    if (!verdict.ok) {
      socket.destroy();
      const bad = verdict.findings.find((f) => !f.ok);
      emit({ type: "refused", remote, code: bad?.code ?? "ratls.refused", step: bad?.step ?? "" });
      return;
    }
    const launchHash = Buffer.from(verdict.launchHash ?? new Uint8Array(0)).toString("hex");
    passed.set(socket, launchHash);
    emit({ type: "accepted", remote, launchHash });
  });
  server.on("tlsClientError", (e: Error & { code?: string }, socket: TLSSocket) => {
    emit({ type: "tls_error", remote: remoteOf(socket), code: e.code ?? "tls" });
    socket.destroy();
  });
  return server;
}
