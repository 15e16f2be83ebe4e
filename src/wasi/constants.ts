// Constants of wasi_snapshot_preview1, spelled as in typenames.witx. Struct layouts are tables of
// byte offsets (with sizes checked by a test) so encoders never hard-code a number twice.

/** witx `rights` (u64 flags). Every right in preview1 fits in the low 30 bits. */
export const RIGHTS_FD_DATASYNC = 1n << 0n;
export const RIGHTS_FD_READ = 1n << 1n;
export const RIGHTS_FD_SEEK = 1n << 2n;
export const RIGHTS_FD_FDSTAT_SET_FLAGS = 1n << 3n;
export const RIGHTS_FD_SYNC = 1n << 4n;
export const RIGHTS_FD_TELL = 1n << 5n;
export const RIGHTS_FD_WRITE = 1n << 6n;
export const RIGHTS_FD_ADVISE = 1n << 7n;
export const RIGHTS_FD_ALLOCATE = 1n << 8n;
export const RIGHTS_PATH_CREATE_DIRECTORY = 1n << 9n;
export const RIGHTS_PATH_CREATE_FILE = 1n << 10n;
export const RIGHTS_PATH_LINK_SOURCE = 1n << 11n;
export const RIGHTS_PATH_LINK_TARGET = 1n << 12n;
export const RIGHTS_PATH_OPEN = 1n << 13n;
export const RIGHTS_FD_READDIR = 1n << 14n;
export const RIGHTS_PATH_READLINK = 1n << 15n;
export const RIGHTS_PATH_RENAME_SOURCE = 1n << 16n;
export const RIGHTS_PATH_RENAME_TARGET = 1n << 17n;
export const RIGHTS_PATH_FILESTAT_GET = 1n << 18n;
export const RIGHTS_PATH_FILESTAT_SET_SIZE = 1n << 19n;
export const RIGHTS_PATH_FILESTAT_SET_TIMES = 1n << 20n;
export const RIGHTS_FD_FILESTAT_GET = 1n << 21n;
export const RIGHTS_FD_FILESTAT_SET_SIZE = 1n << 22n;
export const RIGHTS_FD_FILESTAT_SET_TIMES = 1n << 23n;
export const RIGHTS_PATH_SYMLINK = 1n << 24n;
export const RIGHTS_PATH_REMOVE_DIRECTORY = 1n << 25n;
export const RIGHTS_PATH_UNLINK_FILE = 1n << 26n;
export const RIGHTS_POLL_FD_READWRITE = 1n << 27n;
export const RIGHTS_SOCK_SHUTDOWN = 1n << 28n;
export const RIGHTS_SOCK_ACCEPT = 1n << 29n;
export const RIGHTS_ALL = (1n << 30n) - 1n;

/** Rights that make sense on a regular file or character device. */
export const RIGHTS_FILE_BASE =
  RIGHTS_FD_DATASYNC |
  RIGHTS_FD_READ |
  RIGHTS_FD_SEEK |
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_SYNC |
  RIGHTS_FD_TELL |
  RIGHTS_FD_WRITE |
  RIGHTS_FD_ADVISE |
  RIGHTS_FD_ALLOCATE |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_FD_FILESTAT_SET_SIZE |
  RIGHTS_FD_FILESTAT_SET_TIMES |
  RIGHTS_POLL_FD_READWRITE;

/** Rights that make sense on a directory. */
export const RIGHTS_DIR_BASE =
  RIGHTS_FD_FDSTAT_SET_FLAGS |
  RIGHTS_FD_SYNC |
  RIGHTS_FD_DATASYNC |
  RIGHTS_PATH_CREATE_DIRECTORY |
  RIGHTS_PATH_CREATE_FILE |
  RIGHTS_PATH_LINK_SOURCE |
  RIGHTS_PATH_LINK_TARGET |
  RIGHTS_PATH_OPEN |
  RIGHTS_FD_READDIR |
  RIGHTS_PATH_READLINK |
  RIGHTS_PATH_RENAME_SOURCE |
  RIGHTS_PATH_RENAME_TARGET |
  RIGHTS_PATH_FILESTAT_GET |
  RIGHTS_PATH_FILESTAT_SET_SIZE |
  RIGHTS_PATH_FILESTAT_SET_TIMES |
  RIGHTS_FD_FILESTAT_GET |
  RIGHTS_FD_FILESTAT_SET_TIMES |
  RIGHTS_PATH_SYMLINK |
  RIGHTS_PATH_REMOVE_DIRECTORY |
  RIGHTS_PATH_UNLINK_FILE;

/** Rights a preopened directory hands down to what is opened beneath it. */
export const RIGHTS_DIR_INHERITING = RIGHTS_DIR_BASE | RIGHTS_FILE_BASE;

/**
 * Any of these in the requested rights means the file is opened for writing: the rights that change
 * a file's bytes or size. (wasmtime also counts FD_DATASYNC; we do not, because directory rights
 * include it and a directory must stay openable read-only with its full directory rights.)
 */
export const RIGHTS_WRITE_ACCESS = RIGHTS_FD_WRITE | RIGHTS_FD_ALLOCATE | RIGHTS_FD_FILESTAT_SET_SIZE;
/** Any of these means the file is opened for reading. */
export const RIGHTS_READ_ACCESS = RIGHTS_FD_READ | RIGHTS_FD_READDIR;

/** witx `fdflags` (u16). */
export const FDFLAGS_APPEND = 1 << 0;
export const FDFLAGS_DSYNC = 1 << 1;
export const FDFLAGS_NONBLOCK = 1 << 2;
export const FDFLAGS_RSYNC = 1 << 3;
export const FDFLAGS_SYNC = 1 << 4;
export const FDFLAGS_ALL = (1 << 5) - 1;

/** witx `oflags` (u16). */
export const OFLAGS_CREAT = 1 << 0;
export const OFLAGS_DIRECTORY = 1 << 1;
export const OFLAGS_EXCL = 1 << 2;
export const OFLAGS_TRUNC = 1 << 3;
export const OFLAGS_ALL = (1 << 4) - 1;

/** witx `lookupflags` (u32). */
export const LOOKUPFLAGS_SYMLINK_FOLLOW = 1 << 0;

/** witx `fstflags` (u16). */
export const FSTFLAGS_ATIM = 1 << 0;
export const FSTFLAGS_ATIM_NOW = 1 << 1;
export const FSTFLAGS_MTIM = 1 << 2;
export const FSTFLAGS_MTIM_NOW = 1 << 3;
export const FSTFLAGS_ALL = (1 << 4) - 1;

/** witx `whence` (u8). */
export const WHENCE_SET = 0;
export const WHENCE_CUR = 1;
export const WHENCE_END = 2;

/** witx `advice` (u8). */
export const ADVICE_NORMAL = 0;
export const ADVICE_SEQUENTIAL = 1;
export const ADVICE_RANDOM = 2;
export const ADVICE_WILLNEED = 3;
export const ADVICE_DONTNEED = 4;
export const ADVICE_NOREUSE = 5;

/** witx `clockid` (u32). */
export const CLOCKID_REALTIME = 0;
export const CLOCKID_MONOTONIC = 1;
export const CLOCKID_PROCESS_CPUTIME_ID = 2;
export const CLOCKID_THREAD_CPUTIME_ID = 3;

/** witx `eventtype` (u8). */
export const EVENTTYPE_CLOCK = 0;
export const EVENTTYPE_FD_READ = 1;
export const EVENTTYPE_FD_WRITE = 2;

/** witx `eventrwflags` (u16). */
export const EVENTRWFLAGS_FD_READWRITE_HANGUP = 1 << 0;

/** witx `subclockflags` (u16). */
export const SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME = 1 << 0;

/** witx `preopentype` (u8). */
export const PREOPENTYPE_DIR = 0;

/** witx `sdflags` (u8) and `riflags` (u16). */
export const SDFLAGS_RD = 1 << 0;
export const SDFLAGS_WR = 1 << 1;
export const RIFLAGS_RECV_PEEK = 1 << 0;
export const RIFLAGS_RECV_WAITALL = 1 << 1;

/** witx `signal` (u8), WASI numbering (which departs from Linux after SIGTERM). */
export const SIGNAL = {
  NONE: 0,
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  CHLD: 16,
  CONT: 17,
  STOP: 18,
  TSTP: 19,
  TTIN: 20,
  TTOU: 21,
  URG: 22,
  XCPU: 23,
  XFSZ: 24,
  VTALRM: 25,
  PROF: 26,
  WINCH: 27,
  POLL: 28,
  PWR: 29,
  SYS: 30,
} as const;

/** A field of a struct: byte offset and size. */
export interface Field {
  readonly offset: number;
  readonly size: number;
}

/** witx `iovec` / `ciovec`: buf (pointer), buf_len (size). */
export const IOVEC = { size: 8, buf: { offset: 0, size: 4 }, buf_len: { offset: 4, size: 4 } } as const;

/** witx `filestat`. */
export const FILESTAT = {
  size: 64,
  dev: { offset: 0, size: 8 },
  ino: { offset: 8, size: 8 },
  filetype: { offset: 16, size: 1 },
  nlink: { offset: 24, size: 8 },
  filesize: { offset: 32, size: 8 },
  atim: { offset: 40, size: 8 },
  mtim: { offset: 48, size: 8 },
  ctim: { offset: 56, size: 8 },
} as const;

/** witx `fdstat`. */
export const FDSTAT = {
  size: 24,
  fs_filetype: { offset: 0, size: 1 },
  fs_flags: { offset: 2, size: 2 },
  fs_rights_base: { offset: 8, size: 8 },
  fs_rights_inheriting: { offset: 16, size: 8 },
} as const;

/** witx `dirent` (the name follows the 24-byte header). */
export const DIRENT = {
  size: 24,
  d_next: { offset: 0, size: 8 },
  d_ino: { offset: 8, size: 8 },
  d_namlen: { offset: 16, size: 4 },
  d_type: { offset: 20, size: 1 },
} as const;

/** witx `subscription`: userdata, then the `subscription_u` union (tag at 8, contents at 16). */
export const SUBSCRIPTION = {
  size: 48,
  userdata: { offset: 0, size: 8 },
  tag: { offset: 8, size: 1 },
  clock_id: { offset: 16, size: 4 },
  clock_timeout: { offset: 24, size: 8 },
  clock_precision: { offset: 32, size: 8 },
  clock_flags: { offset: 40, size: 2 },
  fd_readwrite_file_descriptor: { offset: 16, size: 4 },
} as const;

/** witx `event`. */
export const EVENT = {
  size: 32,
  userdata: { offset: 0, size: 8 },
  error: { offset: 8, size: 2 },
  type: { offset: 10, size: 1 },
  fd_readwrite_nbytes: { offset: 16, size: 8 },
  fd_readwrite_flags: { offset: 24, size: 2 },
} as const;

/** witx `prestat`: tag, then `prestat_dir.pr_name_len`. */
export const PRESTAT = {
  size: 8,
  tag: { offset: 0, size: 1 },
  pr_name_len: { offset: 4, size: 4 },
} as const;
