// `twine serve`: an attested HTTPS endpoint for one fixed launch. The server's RA-TLS certificate
// binds the launch hash (`twine measure` with the same flags), so an owner who verified it knows which
// program will see the key and inputs it uploads. Owners present no certificate: a job id, returned
// only to its creator over the attested channel, is the capability for that job.
import { createReadStream, statSync } from "node:fs";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { performance } from "node:perf_hooks";
import { TwineError, isTwineError } from "../errors.js";
import { createRatlsIdentity, type RatlsIdentity } from "../ratls/cert.js";
import { ratlsServerOptions } from "../ratls/tls.js";
import { launchOf } from "../tee/launch.js";
import type { LaunchManifest } from "../tee/manifest.js";
import type { Tee } from "../tee/tee.js";
import {
  MAX_SMALL_BODY,
  badRequest,
  pathComponents,
  queryOf,
  readBody,
  sendError,
  sendJson,
} from "./http-util.js";
import { JobManager, type JobLimits, type JobSpec } from "./jobs.js";

export interface ServeLimits extends JobLimits {
  /** Open connections at most; further ones are dropped at accept. */
  maxConnections: number;
  /** TLS handshake must complete within this. */
  handshakeTimeoutMs: number;
  /** Request headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A whole request, body included, must arrive within this. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
  /** Longest long-poll (`GET /v1/jobs/:id?wait=S`). */
  maxWaitMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxJobs: 1000,
  maxFileBytes: 1 << 30,
  outputCapBytes: 1 << 20,
  maxConnections: 512,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 600_000,
  keepAliveTimeoutMs: 10_000,
  maxWaitMs: 30_000,
};

/**
 * Certificates are re-issued this often: well inside the default owner policy's 600 s age limit,
 * which counts from `notBefore` (backdated by a minute).
 */
export const DEFAULT_CERT_REFRESH_MS = 240_000;
const CERT_LIFETIME_MS = 3_600_000;

export interface ServeOptions {
  job: JobSpec;
  tee: Tee;
  stateDir: string;
  host?: string;
  port?: number;
  /** Guests running at once (default 1). */
  jobs?: number;
  limits?: Partial<ServeLimits>;
  certRefreshMs?: number;
  /** One line per request outcome; absent: silent. */
  log?: (line: string) => void;
}

export interface ServeHandle {
  readonly port: number;
  readonly host: string;
  readonly launchHash: Uint8Array;
  /** The certificate being presented now. */
  identity(): RatlsIdentity;
  /** Re-issues the RA-TLS certificate now (also done on a timer). */
  refreshIdentity(): void;
  close(): Promise<void>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** The launch every job of `spec` is: what `twine measure` prints for the same flags. */
export function jobManifest(spec: JobSpec): LaunchManifest {
  return launchOf(spec.module, {
    args: spec.args,
    env: spec.env,
    mounts: [
      ...spec.mounts,
      ...spec.pfs.map((guestPath) => ({ type: "pfs" as const, guestPath, hostPath: "" })),
    ],
    maxMemoryBytes: spec.maxMemoryBytes,
    timeoutMs: spec.timeoutMs,
    ...(spec.maxOpenFds === undefined ? {} : { maxOpenFds: spec.maxOpenFds }),
  });
}

export async function startServe(o: ServeOptions): Promise<ServeHandle> {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const jobs = new JobManager(o.job, o.stateDir, o.jobs ?? 1, limits);
  const manifest = jobManifest(o.job);
  const launchHash = manifest.hash;
  const log = o.log ?? ((): void => undefined);
  let identity = createRatlsIdentity(o.tee, { launchHash, lifetimeMs: CERT_LIFETIME_MS });
  const info = {
    launchHash: hex(launchHash),
    manifest: JSON.parse(manifest.json) as unknown,
    tee: o.tee.kind,
    pfs: o.job.pfs,
  };

  const server = https.createServer(
    {
      ...ratlsServerOptions(identity, false),
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often the header and request timeouts are checked (Node's default is 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 4)),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      const t0 = performance.now();
      let route = "?";
      let code = "";
      res.on("close", () => {
        const ms = (performance.now() - t0).toFixed(1);
        const outcome = res.writableFinished ? String(res.statusCode) : "aborted";
        log(`${req.socket.remoteAddress ?? "-"} ${req.method ?? "-"} ${route} ${outcome} ${ms}ms${code}`);
      });
      const noteError = (e: unknown): void => {
        code = ` ${isTwineError(e) ? e.code : "internal"}`;
        // A body refused before it was read is not drained: the connection goes with the reply.
        if (!req.complete && !res.headersSent) res.setHeader("connection", "close");
        sendError(res, e);
      };
      handle(req, res, (r) => (route = r)).catch(noteError);
    },
  );
  server.maxConnections = limits.maxConnections;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // A failed handshake or garbage on the port concerns only that connection.
  server.on("tlsClientError", (e: Error & { code?: string }, s: TLSSocket) => {
    log(`${s.remoteAddress ?? "-"} tls-error ${e.code ?? "-"}`);
    s.destroy();
  });
  server.on("clientError", (e: Error & { code?: string }, s: Socket) => {
    log(`${s.remoteAddress ?? "-"} http-error ${e.code ?? "-"}`);
    if (s.writable && e.code !== "ECONNRESET") {
      const status = e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
      s.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    s.destroy();
  });

  const refreshIdentity = (): void => {
    try {
      identity = createRatlsIdentity(o.tee, { launchHash, lifetimeMs: CERT_LIFETIME_MS });
      server.setSecureContext(ratlsServerOptions(identity, false));
    } catch (e) {
      log(`certificate re-issue failed: ${isTwineError(e) ? e.code : "internal"}`);
    }
  };
  const refresh = setInterval(refreshIdentity, o.certRefreshMs ?? DEFAULT_CERT_REFRESH_MS);
  refresh.unref();

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    setRoute: (r: string) => void,
  ): Promise<void> {
    const url = req.url ?? "/";
    const method = req.method ?? "GET";
    const p = pathComponents(url);
    const jobRoute = (rest: string): string => {
      const tag = p[2] === undefined ? undefined : jobs.tagOf(p[2]);
      return `/v1/jobs/${tag === undefined ? "?" : `#${tag}`}${rest}`;
    };
    if (p[0] !== "v1") throw new TwineError("serve.not_found", "no such endpoint");
    const allow = (...methods: string[]): void => {
      if (!methods.includes(method)) throw new TwineError("serve.method", `use ${methods.join(" or ")}`);
    };
    if (p.length === 2 && p[1] === "info") {
      setRoute("/v1/info");
      allow("GET");
      sendJson(res, 200, info);
      return;
    }
    if (p[1] !== "jobs") throw new TwineError("serve.not_found", "no such endpoint");
    if (p.length === 2) {
      setRoute("/v1/jobs");
      allow("POST");
      await readBody(req, MAX_SMALL_BODY);
      const { id, tag } = jobs.create();
      setRoute(`/v1/jobs -> #${tag}`);
      sendJson(res, 201, { id });
      return;
    }
    const id = p[2]!;
    const what = p[3];
    if (p.length === 3) {
      setRoute(jobRoute(""));
      allow("GET", "DELETE");
      if (method === "DELETE") {
        jobs.delete(id);
        sendJson(res, 200, { deleted: true });
        return;
      }
      const wait = queryOf(url).get("wait");
      let waitMs = 0;
      if (wait !== null) {
        const s = Number(wait);
        if (!/^[0-9]+(\.[0-9]+)?$/.test(wait) || !Number.isFinite(s))
          throw badRequest("wait expects seconds");
        waitMs = Math.min(s * 1000, limits.maxWaitMs);
      }
      sendJson(res, 200, await jobs.status(id, waitMs));
      return;
    }
    if (p.length === 4 && what === "key") {
      setRoute(jobRoute("/key"));
      allow("PUT");
      jobs.setKey(id, await readBody(req, MAX_SMALL_BODY));
      sendJson(res, 200, { key: true });
      return;
    }
    if (p.length === 4 && what === "start") {
      setRoute(jobRoute("/start"));
      allow("POST");
      await readBody(req, MAX_SMALL_BODY);
      jobs.start(id);
      sendJson(res, 202, await jobs.status(id));
      return;
    }
    if (p.length === 4 && what === "cancel") {
      setRoute(jobRoute("/cancel"));
      allow("POST");
      await readBody(req, MAX_SMALL_BODY);
      await jobs.cancel(id);
      sendJson(res, 200, await jobs.status(id));
      return;
    }
    if (what === "files" && p.length > 4) {
      setRoute(jobRoute("/files"));
      allow("GET", "PUT");
      const guestPath = p.slice(4);
      if (method === "PUT") {
        await upload(req, res, id, guestPath);
        sendJson(res, 201, { stored: `/${guestPath.join("/")}` });
      } else {
        await download(res, id, guestPath);
      }
      return;
    }
    if (what === "volume" && p.length === 5) {
      setRoute(jobRoute(`/volume/${p[4] === "super" || p[4] === "nodes" ? p[4] : "?"}`));
      allow("GET");
      const file = jobs.volumeFile(id, queryOf(url).get("mount") ?? undefined, p[4]!);
      await sendFile(res, file);
      return;
    }
    throw new TwineError("serve.not_found", "no such endpoint");
  }

  function upload(req: IncomingMessage, res: ServerResponse, id: string, guestPath: string[]): Promise<void> {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limits.maxFileBytes) {
      res.setHeader("connection", "close");
      return Promise.reject(
        new TwineError("serve.too_large", `files are at most ${limits.maxFileBytes} bytes`),
      );
    }
    const up = jobs.beginUpload(id, guestPath);
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: unknown): void => {
        if (failed) return;
        failed = true;
        try {
          up.abort();
        } catch (abortError) {
          log(`upload abort failed: ${isTwineError(abortError) ? abortError.code : "internal"}`);
        }
        reject(e instanceof Error ? e : new TwineError("internal", "upload failed"));
      };
      req.on("data", (chunk: Buffer) => {
        if (failed) return;
        try {
          up.write(chunk);
        } catch (e) {
          // The rest of the body is not read: the connection goes after the error reply.
          res.setHeader("connection", "close");
          fail(e);
        }
      });
      req.on("end", () => {
        if (failed) return;
        try {
          up.commit();
          resolve();
        } catch (e) {
          fail(e);
        }
      });
      req.on("close", () => {
        if (!req.complete) fail(new TwineError("serve.bad_request", "upload aborted"));
      });
      req.on("error", (e) => fail(new TwineError("serve.bad_request", "upload aborted", { cause: e })));
    });
  }

  async function download(res: ServerResponse, id: string, guestPath: string[]): Promise<void> {
    let started = false;
    await jobs.readFile(id, guestPath, async (chunk, size) => {
      if (!started) {
        started = true;
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
      }
      if (chunk.length > 0 && !res.write(chunk)) await drained(res);
    });
    res.end();
  }

  async function sendFile(res: ServerResponse, file: string): Promise<void> {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new TwineError("serve.not_found", "the volume file is missing");
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(file, { start: 0, end: Math.max(0, size - 1) });
      if (size === 0) {
        s.destroy();
        res.end();
        resolve();
        return;
      }
      s.on("error", reject);
      s.pipe(res);
      res.on("close", () => {
        s.destroy();
        resolve();
      });
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) => {
      clearInterval(refresh);
      jobs.close();
      reject(
        new TwineError(
          "io.host",
          `cannot listen on ${o.host ?? "127.0.0.1"}:${o.port ?? 0} (${e.code ?? e.message})`,
          {
            cause: e,
          },
        ),
      );
    });
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    host: addr.address,
    launchHash,
    identity: () => identity,
    refreshIdentity,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(refresh);
        for (const s of sockets) s.destroy();
        server.close(() => {
          jobs.close();
          resolve();
        });
      }),
  };
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
