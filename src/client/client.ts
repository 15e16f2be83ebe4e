// The data owner's side of `twine serve`: every connection is RA-TLS, and the server's certificate is
// judged under the owner's policy (launch hash one of the allowed ones, evidence verified) as soon as
// the handshake completes, before a single byte of a request is written. Then typed calls for the API.
import * as http from "node:http";
import type { Duplex, Readable } from "node:stream";
import { TwineError, type ErrorCode } from "../errors.js";
import { peerCheckOf, type OwnerPolicy } from "../ratls/owner-policy.js";
import { connectRatls, type PeerCheck } from "../ratls/tls.js";
// Types only: the wire format is defined once, by the server.
import type { JobState, JobStatus as WireStatus } from "../serve/jobs.js";

export interface ServerInfo {
  /** The launch hash the server's certificate binds (hex), as `twine measure` prints it. */
  launchHash: string;
  /** The launch manifest, parsed. */
  manifest: unknown;
  tee: string;
  /** Guest paths of the per-job protected volumes. */
  pfs: string[];
}

export type { JobState };

/** A job's status as the server sends it, with the captured output decoded. */
export interface JobStatus extends Omit<WireStatus, "stdout" | "stderr"> {
  stdout: Buffer;
  stderr: Buffer;
}

export interface ClientOptions {
  /** The owner's policy: the server must pass `peerCheckOf(policy)`. */
  policy?: OwnerPolicy;
  /** Or the check itself (takes precedence over `policy`). */
  peer?: PeerCheck;
  /** Per-connection handshake timeout. */
  timeoutMs?: number;
}

/** Long-poll length asked of the server per status request while waiting. */
const WAIT_SECONDS = 20;

/**
 * An http.Agent whose every connection is an RA-TLS connection verified by `connectRatls`: the socket
 * reaches the HTTP layer only after the server's certificate passed, so nothing is sent to a server
 * that did not.
 */
class RatlsAgent extends http.Agent {
  constructor(
    private readonly target: { host: string; port: number },
    private readonly peer: PeerCheck,
    private readonly timeoutMs: number | undefined,
  ) {
    super({ keepAlive: true, maxSockets: 8 });
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    connectRatls({
      host: this.target.host,
      port: this.target.port,
      peer: this.peer,
      ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
    }).then(
      (c) => callback?.(null, c.socket),
      (e: Error) => callback?.(e, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

function isStream(body: Uint8Array | Readable | undefined): body is Readable {
  return body !== undefined && !(body instanceof Uint8Array);
}

function codeOf(s: unknown): ErrorCode {
  return (typeof s === "string" && /^[a-z_]+\.[a-z_0-9.]+$/.test(s) ? s : "client.http") as ErrorCode;
}

interface Reply {
  status: number;
  body: Buffer;
}

/** What `twine serve` hands out as a job id: 128 random bits as 32 lower-case hex digits. */
export function isJobId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

export class TwineClient {
  private serverInfo: ServerInfo | undefined;

  private constructor(
    private readonly agent: RatlsAgent,
    private readonly target: { host: string; port: number },
  ) {}

  /** What the server said about itself on the verified connection `connect` opened. */
  get info(): ServerInfo {
    if (this.serverInfo === undefined) throw new TwineError("client.usage", "not connected");
    return this.serverInfo;
  }

  /** Connects to `url` (https://host:port), verifies the server under the policy, and reads its info. */
  static async connect(url: string, o: ClientOptions): Promise<TwineClient> {
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      throw new TwineError("client.usage", `not a URL: ${url}`, { cause: e });
    }
    if (u.protocol !== "https:") throw new TwineError("client.usage", "the server URL must be https://");
    const peer = o.peer ?? (o.policy === undefined ? undefined : peerCheckOf(o.policy));
    if (peer === undefined) throw new TwineError("client.usage", "a policy (or peer check) is required");
    const target = { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port === "" ? 443 : Number(u.port) };
    const c = new TwineClient(new RatlsAgent(target, peer, o.timeoutMs), target);
    try {
      c.serverInfo = await c.json<ServerInfo>("GET", "/v1/info");
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  private request(method: string, path: string, body?: Uint8Array | Readable): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {};
      if (body instanceof Uint8Array) headers["content-length"] = body.length;
      const req = http.request(
        { host: this.target.host, port: this.target.port, method, path, agent: this.agent, headers },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (d: Buffer) => parts.push(d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
          res.on("error", (e) =>
            reject(new TwineError("client.connection", "connection lost", { cause: e })),
          );
        },
      );
      req.on("error", (e: Error & { code?: string }) => {
        if (e instanceof TwineError) reject(e);
        // The server closed an idle kept-alive connection just as we reused it: nothing was read.
        else if (req.reusedSocket && e.code === "ECONNRESET" && !isStream(body))
          resolve(this.request(method, path, body));
        else reject(new TwineError("client.connection", `request failed: ${e.message}`, { cause: e }));
      });
      if (body === undefined) req.end();
      else if (body instanceof Uint8Array) req.end(body);
      else {
        // A body that fails (an unreadable file, or destroyed by its caller to abandon the upload)
        // fails the request: pipe() alone would leave it waiting for more.
        body.once("error", (e) => req.destroy(e));
        body.pipe(req);
      }
    });
  }

  private async json<T>(method: string, path: string, body?: Uint8Array | Readable): Promise<T> {
    return parseReply<T>(await this.request(method, path, body));
  }

  private jobPath(id: string, rest = ""): string {
    if (!isJobId(id)) throw new TwineError("client.usage", "not a job id");
    return `/v1/jobs/${id}${rest}`;
  }

  async createJob(): Promise<string> {
    return (await this.json<{ id: string }>("POST", "/v1/jobs")).id;
  }

  async putKey(id: string, key: Uint8Array): Promise<void> {
    await this.json("PUT", this.jobPath(id, "/key"), key);
  }

  /** Stores `data` at `guestPath` (e.g. "/data/in.csv") in the job's protected volume. */
  async putFile(id: string, guestPath: string, data: Uint8Array | Readable): Promise<void> {
    await this.json("PUT", this.jobPath(id, `/files${encodeGuestPath(guestPath)}`), data);
  }

  async start(id: string): Promise<JobStatus> {
    return statusOf(await this.json<WireStatus>("POST", this.jobPath(id, "/start")));
  }

  /**
   * Cancels a job that has not ended (`serve.state` if it has): a queued job never runs, a running
   * one's guest is stopped. Resolves with its status once it has ended (`failed`, `serve.cancelled`,
   * unless it ended on its own first).
   */
  async cancel(id: string): Promise<JobStatus> {
    return statusOf(await this.json<WireStatus>("POST", this.jobPath(id, "/cancel")));
  }

  /** The job's status; with `waitSeconds`, the server answers when the job ends or that time passed. */
  async status(id: string, waitSeconds = 0): Promise<JobStatus> {
    const q = waitSeconds > 0 ? `?wait=${waitSeconds}` : "";
    return statusOf(await this.json<WireStatus>("GET", this.jobPath(id, q)));
  }

  /** Waits (long-polling) until the job exited or failed. */
  async wait(id: string): Promise<JobStatus> {
    for (;;) {
      const s = await this.status(id, WAIT_SECONDS);
      if (s.state === "exited" || s.state === "failed") return s;
    }
  }

  /** A file of an ended job's volume, decrypted by the server and sent over the attested channel. */
  async getFile(id: string, guestPath: string): Promise<Buffer> {
    return bytesOf(await this.request("GET", this.jobPath(id, `/files${encodeGuestPath(guestPath)}`)));
  }

  /** A raw (encrypted) file of an ended job's volume: `super` or `nodes`, for `twine pfs export`. */
  async getVolumeFile(id: string, name: "super" | "nodes", mount?: string): Promise<Buffer> {
    const q = mount === undefined ? "" : `?mount=${encodeURIComponent(mount)}`;
    return bytesOf(await this.request("GET", this.jobPath(id, `/volume/${name}${q}`)));
  }

  async deleteJob(id: string): Promise<void> {
    await this.json("DELETE", this.jobPath(id));
  }

  close(): void {
    this.agent.destroy();
  }
}

function statusOf(w: WireStatus): JobStatus {
  return { ...w, stdout: Buffer.from(w.stdout, "base64"), stderr: Buffer.from(w.stderr, "base64") };
}

function errorOf(r: Reply): TwineError {
  try {
    const j = JSON.parse(r.body.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
    if (j.error !== undefined)
      return new TwineError(codeOf(j.error.code), `server: ${String(j.error.message)} (HTTP ${r.status})`);
  } catch {
    // Not our error shape: reported by status below.
  }
  return new TwineError("client.http", `server answered HTTP ${r.status}`);
}

function parseReply<T>(r: Reply): T {
  if (r.status < 200 || r.status > 299) throw errorOf(r);
  try {
    return JSON.parse(r.body.toString("utf8")) as T;
  } catch (e) {
    throw new TwineError("client.http", "the server's reply is not JSON", { cause: e });
  }
}

function bytesOf(r: Reply): Buffer {
  if (r.status !== 200) throw errorOf(r);
  return r.body;
}

/** "/data/a b.csv" → "/data/a%20b.csv"; "." and ".." are refused here as the server would. */
export function encodeGuestPath(p: string): string {
  const parts = p.split("/").filter((s) => s !== "");
  if (parts.length === 0 || parts.some((s) => s === "." || s === ".." || s.includes("\0")))
    throw new TwineError("client.usage", `bad guest path ${JSON.stringify(p)}`);
  return `/${parts.map(encodeURIComponent).join("/")}`;
}
