// HTTP plumbing for `twine serve`: one error shape (`{ error: { code, message } }`), one table from
// error code to HTTP status, bounded request bodies, and URL paths split into decoded components.
import type { IncomingMessage, ServerResponse } from "node:http";
import { TwineError, isTwineError } from "../errors.js";

/** Capped JSON bodies (the API takes none larger than a key). */
export const MAX_SMALL_BODY = 4096;

const STATUS: Record<string, number> = {
  "serve.bad_request": 400,
  "serve.not_found": 404,
  "serve.no_job": 404,
  "serve.method": 405,
  "serve.state": 409,
  "serve.busy": 409,
  "serve.too_large": 413,
  "serve.full": 503,
  "wasi.noent": 404,
  "wasi.isdir": 409,
  "wasi.notdir": 409,
  "vfs.escape": 400,
};

export function httpStatusOf(e: unknown): number {
  if (!isTwineError(e)) return 500;
  // Other errnos from a volume answer the request's own path or name (too long, invalid, exists).
  return STATUS[e.code] ?? (e.code.startsWith("wasi.") ? 400 : 500);
}

export function badRequest(message: string): TwineError {
  return new TwineError("serve.bad_request", message);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/**
 * The error reply. Errors that are not TwineErrors are internal: their message (which may name host
 * paths) stays out of the reply.
 */
export function sendError(res: ServerResponse, e: unknown): void {
  const err = isTwineError(e) ? e : new TwineError("internal", "internal error");
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, httpStatusOf(err), { error: { code: err.code, message: err.message } });
}

/** Reads a whole body of at most `max` bytes (refused before reading when Content-Length says more). */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > max) {
      reject(new TwineError("serve.too_large", `body larger than ${max} bytes`));
      return;
    }
    const parts: Buffer[] = [];
    let n = 0;
    req.on("data", (d: Buffer) => {
      n += d.length;
      if (n > max) {
        reject(new TwineError("serve.too_large", `body larger than ${max} bytes`));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", (e) => reject(new TwineError("serve.bad_request", "request aborted", { cause: e })));
    req.on("close", () => {
      if (!req.complete) reject(new TwineError("serve.bad_request", "request aborted"));
    });
  });
}

/**
 * `/v1/jobs/x/files/a%20b` → ["v1", "jobs", "x", "files", "a b"]; empty components dropped. Split by
 * hand: a URL parser would read a target starting with "//" as a host name and would resolve "..".
 */
export function pathComponents(url: string): string[] {
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const out: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let c: string;
    try {
      c = decodeURIComponent(raw);
    } catch {
      throw badRequest("malformed percent-encoding in the path");
    }
    out.push(c);
  }
  return out;
}

export function queryOf(url: string): URLSearchParams {
  const q = url.indexOf("?");
  return new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
}
