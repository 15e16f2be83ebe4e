// One error type for the whole runtime. `code` is a stable, namespaced string that tests and callers
// match on; `message` is for people; `cause` carries the underlying error. Details never carry secrets.

/** WASI errno names, spelled as in witx (`errno` enum of wasi_snapshot_preview1), with their values. */
export const ERRNO = {
  SUCCESS: 0,
  TOOBIG: 1,
  ACCES: 2,
  ADDRINUSE: 3,
  ADDRNOTAVAIL: 4,
  AFNOSUPPORT: 5,
  AGAIN: 6,
  ALREADY: 7,
  BADF: 8,
  BADMSG: 9,
  BUSY: 10,
  CANCELED: 11,
  CHILD: 12,
  CONNABORTED: 13,
  CONNREFUSED: 14,
  CONNRESET: 15,
  DEADLK: 16,
  DESTADDRREQ: 17,
  DOM: 18,
  DQUOT: 19,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  HOSTUNREACH: 23,
  IDRM: 24,
  ILSEQ: 25,
  INPROGRESS: 26,
  INTR: 27,
  INVAL: 28,
  IO: 29,
  ISCONN: 30,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  MSGSIZE: 35,
  MULTIHOP: 36,
  NAMETOOLONG: 37,
  NETDOWN: 38,
  NETRESET: 39,
  NETUNREACH: 40,
  NFILE: 41,
  NOBUFS: 42,
  NODEV: 43,
  NOENT: 44,
  NOEXEC: 45,
  NOLCK: 46,
  NOLINK: 47,
  NOMEM: 48,
  NOMSG: 49,
  NOPROTOOPT: 50,
  NOSPC: 51,
  NOSYS: 52,
  NOTCONN: 53,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTRECOVERABLE: 56,
  NOTSOCK: 57,
  NOTSUP: 58,
  NOTTY: 59,
  NXIO: 60,
  OVERFLOW: 61,
  OWNERDEAD: 62,
  PERM: 63,
  PIPE: 64,
  PROTO: 65,
  PROTONOSUPPORT: 66,
  PROTOTYPE: 67,
  RANGE: 68,
  ROFS: 69,
  SPIPE: 70,
  SRCH: 71,
  STALE: 72,
  TIMEDOUT: 73,
  TXTBSY: 74,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;
export type ErrnoName = keyof typeof ERRNO;

/** `wasi.<errno in lower case>`: an error that reaches the guest as exactly that errno. */
export type WasiErrorCode = `wasi.${Lowercase<Exclude<ErrnoName, "SUCCESS">>}`;

/** Every non-errno code, with the errno a guest sees if it ever crosses the WASI boundary. */
const OTHER_CODES = {
  "pfs.integrity": ERRNO.IO, // tampered, swapped, truncated or rolled-back protected data
  "pfs.key": ERRNO.IO, // wrong key for a volume
  "pfs.format": ERRNO.IO, // not a pfs volume, or an unsupported version
  "pfs.crash_recovery": ERRNO.IO,
  "vfs.escape": ERRNO.NOTCAPABLE, // a path tried to leave its mount
  "module.invalid": ERRNO.INVAL, // malformed or unsupported Wasm module
  "module.link": ERRNO.INVAL, // imports we do not provide, missing _start
  "run.trap": ERRNO.FAULT,
  "run.timeout": ERRNO.TIMEDOUT,
  "run.memory_limit": ERRNO.NOMEM,
  "run.fd_limit": ERRNO.MFILE,
  "run.worker": ERRNO.IO,
  "run.cancelled": ERRNO.CANCELED, // stopped by its caller (RunOptions.signal)
  "serve.cancelled": ERRNO.CANCELED, // a `twine serve` job stopped by its owner
  "cli.usage": ERRNO.INVAL,
  "io.host": ERRNO.IO, // a host I/O failure with no better errno
  internal: ERRNO.IO,
} as const;
export type OtherErrorCode = keyof typeof OTHER_CODES;

/** Codes are open for other parts (attest.*, tee.*, ratls.*) to add without touching this table. */
export type ErrorCode =
  | WasiErrorCode
  | OtherErrorCode
  | `${"attest" | "tee" | "ratls" | "pfs" | "vfs" | "run" | "io" | "policy" | "provision" | "serve" | "client"}.${string}`;

export class TwineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TwineError";
    this.code = code;
  }
}

export function isTwineError(e: unknown, code?: ErrorCode): e is TwineError {
  return e instanceof TwineError && (code === undefined || e.code === code);
}

/** Shorthand for an error that reaches the guest as `errno` (witx spelling, e.g. "NOENT"). */
export function wasiError(errno: Exclude<ErrnoName, "SUCCESS">, message: string = errno): TwineError {
  return new TwineError(`wasi.${errno.toLowerCase()}` as WasiErrorCode, message);
}

/** The one table from error code to WASI errno. Unknown errors are EIO: never a host exception. */
export function errnoOf(e: unknown): number {
  if (!(e instanceof TwineError)) return ERRNO.IO;
  const code = e.code;
  if (code.startsWith("wasi.")) {
    const name = code.slice(5).toUpperCase();
    const value = (ERRNO as Record<string, number>)[name];
    if (value !== undefined) return value;
  }
  if (code in OTHER_CODES) return OTHER_CODES[code as OtherErrorCode];
  if (code.startsWith("pfs.")) return ERRNO.IO;
  return ERRNO.IO;
}

/** The one table from error code to CLI exit status (guest exit codes pass through unchanged). */
export const EXIT = {
  OK: 0,
  FAILURE: 1, // a check failed (e.g. `twine verify` rejected evidence)
  USAGE: 2, // bad flags or arguments
  BAD_MODULE: 65, // malformed module, missing _start, unknown imports
  IO: 74, // host I/O error, integrity error in a protected volume
  INTERNAL: 70,
  TIMEOUT: 124, // as coreutils `timeout`
  LIMIT: 125, // memory or fd limit reached
  TRAP: 134, // as a native abort (128 + SIGABRT)
  PROVISION: 77, // secret provisioning failed, the guest never started (as sysexits EX_NOPERM)
  CANCELLED: 130, // the run was cancelled, as a shell reports an interrupt (128 + SIGINT)
} as const;

export function exitStatusOf(e: unknown): number {
  if (!(e instanceof TwineError)) return EXIT.INTERNAL;
  const c = e.code;
  if (c === "cli.usage" || c.startsWith("policy.")) return EXIT.USAGE;
  if (c.startsWith("provision.")) return EXIT.PROVISION;
  if (c.startsWith("module.")) return EXIT.BAD_MODULE;
  if (c === "run.trap") return EXIT.TRAP;
  if (c === "run.timeout") return EXIT.TIMEOUT;
  if (c === "run.cancelled" || c === "serve.cancelled") return EXIT.CANCELLED;
  if (c === "run.memory_limit" || c === "run.fd_limit") return EXIT.LIMIT;
  if (c.startsWith("attest.") || c.startsWith("ratls.")) return EXIT.FAILURE;
  if (c.startsWith("pfs.") || c.startsWith("io.") || c.startsWith("wasi.") || c.startsWith("tee."))
    return EXIT.IO;
  return EXIT.INTERNAL;
}
