// The one table from a Node.js system error (`err.code`) to a WASI error code. Anything not listed
// (including Node's own ERR_* argument errors) becomes `io.host`: the guest sees EIO, never a host
// exception. The Node error stays as `cause` for the operator; it is never shown to the guest.
import { TwineError, type ErrnoName, type WasiErrorCode } from "../errors.js";

const HOST_ERRNO: Readonly<Record<string, WasiErrorCode>> = {
  ENOENT: "wasi.noent",
  EEXIST: "wasi.exist",
  ENOTDIR: "wasi.notdir",
  EISDIR: "wasi.isdir",
  ENOTEMPTY: "wasi.notempty",
  ELOOP: "wasi.loop",
  EACCES: "wasi.acces",
  EPERM: "wasi.perm",
  EXDEV: "wasi.xdev",
  EINVAL: "wasi.inval",
  ENAMETOOLONG: "wasi.nametoolong",
  EMFILE: "wasi.mfile",
  ENFILE: "wasi.nfile",
  ENOSPC: "wasi.nospc",
  EDQUOT: "wasi.dquot",
  EBADF: "wasi.badf",
  EMLINK: "wasi.mlink",
  EROFS: "wasi.rofs",
  EBUSY: "wasi.busy",
  EFBIG: "wasi.fbig",
  EIO: "wasi.io",
  EAGAIN: "wasi.again",
  EWOULDBLOCK: "wasi.again",
  EINTR: "wasi.intr",
  EPIPE: "wasi.pipe",
  ESPIPE: "wasi.spipe",
  ETXTBSY: "wasi.txtbsy",
  EOVERFLOW: "wasi.overflow",
  ENXIO: "wasi.nxio",
  ENODEV: "wasi.nodev",
  EILSEQ: "wasi.ilseq",
  ENOTSUP: "wasi.notsup",
  EOPNOTSUPP: "wasi.notsup",
  ENOMEM: "wasi.nomem",
  ECONNRESET: "wasi.connreset",
  ENOTCONN: "wasi.notconn",
};

/** The Node error code of a system error, if `e` is one. */
export function hostErrorCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null || !("code" in e)) return undefined;
  const code = e.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * A TwineError without a stack trace, for host outcomes that are everyday answers to the guest
 * (ENOENT on a probe, EEXIST on a lock directory): capturing a stack through the Wasm frames costs
 * more than the system call, and the guest only ever sees the errno.
 */
function quiet(code: WasiErrorCode, message: string, cause?: unknown): TwineError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return cause === undefined ? new TwineError(code, message) : new TwineError(code, message, { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** wasiError() without a stack trace (see quiet()). */
export function quietWasiError(errno: Exclude<ErrnoName, "SUCCESS">, message: string): TwineError {
  return quiet(`wasi.${errno.toLowerCase()}` as WasiErrorCode, message);
}

/**
 * Wraps a host failure as a TwineError; `what` names the operation, never a host path. A known
 * errno is an answer for the guest and carries no stack of its own (the Node error, kept as `cause`,
 * has one); an unknown host error (`io.host`) keeps its stack for the operator.
 */
export function fromHostError(e: unknown, what: string): TwineError {
  if (e instanceof TwineError) return e;
  const hostCode = hostErrorCode(e);
  const code = hostCode === undefined ? undefined : HOST_ERRNO[hostCode];
  if (code !== undefined) return quiet(code, `${what}: ${hostCode}`, e);
  return new TwineError("io.host", `${what}: host error ${hostCode ?? "(no code)"}`, { cause: e });
}
