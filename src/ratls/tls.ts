// node:tls wiring for RA-TLS: each side presents its RA-TLS certificate and verifies the peer's with
// verifyRatlsCert as soon as the handshake completes, tearing the socket down before any application
// data is read or written when verification fails. Node has no custom verify callback, so the peer's
// self-signed certificate is let through the X.509 layer (`rejectUnauthorized: false`) and judged
// here instead; the application gets the socket only after it passed.
import { constants } from "node:crypto";
import * as tls from "node:tls";
import { TwineError } from "../errors.js";
import type { RatlsIdentity } from "./cert.js";
import { ratlsError, verifyRatlsCert } from "./verify.js";
import type { RatlsVerdict, RatlsVerifyOptions } from "./verify.js";

/** How to judge a peer: verifyRatlsCert's options, with `now` read per connection. */
export interface PeerCheck extends Omit<RatlsVerifyOptions, "now"> {
  now?: () => Date;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export function verifyPeer(socket: tls.TLSSocket, check: PeerCheck): RatlsVerdict {
  // getPeerCertificate returns {} when the peer sent none.
  const raw = (socket.getPeerCertificate(true) as Partial<tls.DetailedPeerCertificate>).raw;
  const { now, ...rest } = check;
  return verifyRatlsCert(raw === undefined ? undefined : new Uint8Array(raw), {
    ...rest,
    now: now?.() ?? new Date(),
  });
}

/** Server options: present `identity`; ask for the client's certificate when peers are verified. */
export function ratlsServerOptions(
  identity: Pick<RatlsIdentity, "keyPem" | "certPem">,
  requestPeerCert: boolean,
): tls.TlsOptions {
  return {
    key: identity.keyPem,
    cert: identity.certPem,
    minVersion: "TLSv1.3",
    requestCert: requestPeerCert,
    rejectUnauthorized: false,
    // No session resumption: a resumed session skips the certificate exchange, so a peer would be
    // judged on the certificate of an earlier handshake instead of proving its key again.
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}

/** Client options: present `identity` (mutual) if given; the server's certificate is judged by us. */
export function ratlsClientOptions(
  identity?: Pick<RatlsIdentity, "keyPem" | "certPem">,
): tls.ConnectionOptions {
  return {
    minVersion: "TLSv1.3",
    rejectUnauthorized: false,
    // The peer is identified by its evidence, not by a host name.
    checkServerIdentity: () => undefined,
    ...(identity === undefined ? {} : { key: identity.keyPem, cert: identity.certPem }),
  };
}

export interface RatlsServerOptions {
  identity: RatlsIdentity;
  /** Verify clients (mutual RA-TLS); absent: any client, with or without a certificate. */
  peer?: PeerCheck;
  /** A connection whose client passed (verdict undefined when clients are not verified). */
  onSecure: (socket: tls.TLSSocket, verdict: RatlsVerdict | undefined) => void;
  /** A client refused: its socket is already destroyed. */
  onRefused?: (verdict: RatlsVerdict) => void;
}

export function createRatlsServer(o: RatlsServerOptions): tls.Server {
  const server = tls.createServer(ratlsServerOptions(o.identity, o.peer !== undefined));
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    // A reset from one client must not become an unhandled error on the server.
    socket.on("error", () => socket.destroy());
    if (o.peer === undefined) {
      o.onSecure(socket, undefined);
      return;
    }
    const verdict = verifyPeer(socket, o.peer);
    if (!verdict.ok) {
      socket.destroy();
      o.onRefused?.(verdict);
      return;
    }
    o.onSecure(socket, verdict);
  });
  // A failed handshake concerns only that client.
  server.on("tlsClientError", (_e, socket) => socket.destroy());
  return server;
}

export interface ConnectOptions {
  host: string;
  port: number;
  peer: PeerCheck;
  /** Our own certificate, for servers that verify clients. */
  identity?: RatlsIdentity;
  timeoutMs?: number;
}

export interface RatlsConnection {
  socket: tls.TLSSocket;
  verdict: RatlsVerdict;
}

/**
 * Connects and verifies the server's certificate before resolving; on refusal the socket is destroyed
 * and the promise rejects with the first failing finding's `ratls.*` / `attest.*` code.
 */
export function connectRatls(o: ConnectOptions): Promise<RatlsConnection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: o.host, port: o.port, ...ratlsClientOptions(o.identity) });
    let settled = false;
    const settle = (e: Error | undefined, v?: RatlsVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off("error", onError);
      if (e !== undefined || v === undefined) {
        socket.destroy();
        reject(e ?? new TwineError("internal", "no verdict"));
      } else {
        resolve({ socket, verdict: v });
      }
    };
    const onError = (e: Error): void =>
      settle(new TwineError("ratls.connect", `TLS connection failed: ${e.message}`, { cause: e }));
    const timer = setTimeout(
      () => settle(new TwineError("ratls.timeout", "RA-TLS handshake timed out")),
      o.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    socket.on("error", onError);
    socket.once("close", () => settle(new TwineError("ratls.connect", "connection closed in handshake")));
    socket.once("secureConnect", () => {
      const v = verifyPeer(socket, o.peer);
      const err = ratlsError(v);
      settle(err, err === undefined ? v : undefined);
    });
  });
}
