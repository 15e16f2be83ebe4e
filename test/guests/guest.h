// Helpers shared by the test guests. Header-only so each guest stays one .c file for build-guests.js.
// Guests print what they observe as stable text (errno names, "ok" checks), never raw times or random
// bytes, so the integration tests can compare stdout exactly.
#ifndef TWINE_GUEST_H
#define TWINE_GUEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

// wasi-libc's errno values are the WASI errno values, so one table names both.
static const char *const ERRNO_NAMES[] = {
    "SUCCESS",     "TOOBIG",       "ACCES",     "ADDRINUSE",      "ADDRNOTAVAIL", "AFNOSUPPORT",
    "AGAIN",       "ALREADY",      "BADF",      "BADMSG",         "BUSY",         "CANCELED",
    "CHILD",       "CONNABORTED",  "CONNREFUSED", "CONNRESET",    "DEADLK",       "DESTADDRREQ",
    "DOM",         "DQUOT",        "EXIST",     "FAULT",          "FBIG",         "HOSTUNREACH",
    "IDRM",        "ILSEQ",        "INPROGRESS", "INTR",          "INVAL",        "IO",
    "ISCONN",      "ISDIR",        "LOOP",      "MFILE",          "MLINK",        "MSGSIZE",
    "MULTIHOP",    "NAMETOOLONG",  "NETDOWN",   "NETRESET",       "NETUNREACH",   "NFILE",
    "NOBUFS",      "NODEV",        "NOENT",     "NOEXEC",         "NOLCK",        "NOLINK",
    "NOMEM",       "NOMSG",        "NOPROTOOPT", "NOSPC",         "NOSYS",        "NOTCONN",
    "NOTDIR",      "NOTEMPTY",     "NOTRECOVERABLE", "NOTSOCK",   "NOTSUP",       "NOTTY",
    "NXIO",        "OVERFLOW",     "OWNERDEAD", "PERM",           "PIPE",         "PROTO",
    "PROTONOSUPPORT", "PROTOTYPE", "RANGE",     "ROFS",           "SPIPE",        "SRCH",
    "STALE",       "TIMEDOUT",     "TXTBSY",    "XDEV",           "NOTCAPABLE",
};

static inline const char *errno_name(int e) {
  if (e >= 0 && (size_t)e < sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0]) return ERRNO_NAMES[e];
  return "UNKNOWN";
}

// Prints "<what>: ok" for 0/success, else "<what>: <ERRNO>"; returns the errno (0 on success).
static inline int report(const char *what, int err) {
  printf("%s: %s\n", what, err == 0 ? "ok" : errno_name(err));
  return err;
}

// For libc calls that return -1 and set errno.
static inline int report_libc(const char *what, int rc) { return report(what, rc < 0 ? errno : 0); }

// Line-buffered stdout: everything printed before a trap, a timeout or a failed check is seen by the
// test, and stdout and stderr interleave in program order.
__attribute__((constructor)) static void line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

// A failed expectation ends the guest with status 1 and says which check failed.
static inline void check(int cond, const char *what) {
  if (!cond) {
    printf("FAIL %s (errno %s)\n", what, errno_name(errno));
    fflush(stdout);
    exit(1);
  }
}

// The fd of the preopened directory named `name` (e.g. "/data"); exits 2 if there is none.
static inline __wasi_fd_t preopen_fd(const char *name) {
  for (__wasi_fd_t fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
    if (ps.tag != __WASI_PREOPENTYPE_DIR) continue;
    size_t len = ps.u.dir.pr_name_len;
    char buf[256];
    if (len >= sizeof buf) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, len) != 0) continue;
    buf[len] = 0;
    if (strcmp(buf, name) == 0) return fd;
  }
  printf("FAIL no preopen named %s\n", name);
  exit(2);
}

// For raw WASI calls, which return the errno instead of setting errno.
static inline void check_ok(int err, const char *what) {
  if (err != 0) {
    printf("FAIL %s: %s\n", what, errno_name(err));
    fflush(stdout);
    exit(1);
  }
}


// Rights that make an open a write; a directory is opened without them, as libc does for O_RDONLY.
#define WRITE_RIGHTS                                                                                   \
  (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ALLOCATE |                   \
   __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)

// The rights a directory fd passes on (its inheriting rights); exits if it has none to tell.
static inline __wasi_rights_t inheriting_rights(__wasi_fd_t dir) {
  __wasi_fdstat_t st;
  int err = __wasi_fd_fdstat_get(dir, &st);
  if (err != 0) {
    printf("FAIL fdstat of dir fd %u: %s\n", (unsigned)dir, errno_name(err));
    exit(1);
  }
  return st.fs_rights_inheriting;
}

// Raw path_open relative to a directory fd, asking for the rights the directory passes on (without
// the write rights when opening a directory), as libc does, so that only the runtime's policy on the
// mount, path and file type decides. Returns the errno and stores the fd on success.
static inline int raw_open(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t lookup, __wasi_oflags_t oflags,
                           __wasi_fd_t *out) {
  __wasi_rights_t rights = inheriting_rights(dir);
  if (oflags & __WASI_OFLAGS_DIRECTORY) rights &= ~WRITE_RIGHTS;
  return __wasi_path_open(dir, lookup, path, oflags, rights, rights, 0, out);
}

#endif
