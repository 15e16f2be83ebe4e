// Paths that are not valid UTF-8 (bytes ff fe, an overlong "/", a UTF-16 surrogate) are refused with
// ILSEQ before anything is created under argv[1]; a NUL inside a path is refused too.
#include "guest.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open"))) int32_t
raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len, int32_t oflags, int64_t base,
              int64_t inheriting, int32_t fdflags, int32_t fd_out);

static void try_name(__wasi_fd_t pre, const char *label, const char *path) {
  __wasi_fd_t fd;
  char what[96];
  snprintf(what, sizeof what, "create %s", label);
  if (report(what, raw_open(pre, path, 0, __WASI_OFLAGS_CREAT, &fd)) == 0) (void)__wasi_fd_close(fd);
  snprintf(what, sizeof what, "mkdir %s", label);
  report(what, __wasi_path_create_directory(pre, path));
  snprintf(what, sizeof what, "symlink to %s", label);
  report(what, __wasi_path_symlink(path, pre, "link"));
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir);
  try_name(pre, "ff fe", "\xff\xfe");
  try_name(pre, "overlong slash", "a\xc0\xaf..\xc0\xaf..\xc0\xafoutside");
  try_name(pre, "surrogate", "\xed\xa0\x80");
  try_name(pre, "truncated sequence", "abc\xe2\x82");
  __wasi_filestat_t st;
  report("stat ff fe", __wasi_path_filestat_get(pre, 0, "\xff\xfe", &st));

  static const char with_nul[] = "ok\0../../etc/passwd";
  __wasi_fd_t fd;
  const int64_t rights = (int64_t)inheriting_rights(pre);
  report("open with NUL", raw_path_open((int32_t)pre, 0, (int32_t)with_nul, (int32_t)sizeof with_nul - 1,
                                        __WASI_OFLAGS_CREAT, rights, rights, 0, (int32_t)&fd));
  // Valid multi-byte UTF-8 is fine.
  report("create valid \xc3\xa9t\xc3\xa9", raw_open(pre, "\xc3\xa9t\xc3\xa9", 0, __WASI_OFLAGS_CREAT, &fd));
  return 0;
}
