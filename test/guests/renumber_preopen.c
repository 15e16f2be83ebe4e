// fd_renumber: onto or from the preopen of argv[1] it fails (NOTSUP) and the preopen keeps working;
// between two ordinary fds it moves the file and closes the source.
#include "guest.h"

static void write_file(__wasi_fd_t pre, const char *name, const char *text, __wasi_fd_t *out) {
  check_ok(raw_open(pre, name, 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, out), name);
  __wasi_ciovec_t iov = {(const uint8_t *)text, strlen(text)};
  __wasi_size_t n;
  check_ok(__wasi_fd_write(*out, &iov, 1, &n), "write");
  __wasi_filesize_t pos;
  check_ok(__wasi_fd_seek(*out, 0, __WASI_WHENCE_SET, &pos), "rewind");
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir), a, b;
  write_file(pre, "a.txt", "file a", &a);
  write_file(pre, "b.txt", "file b", &b);

  report("renumber file onto preopen", __wasi_fd_renumber(a, pre));
  report("renumber preopen onto file", __wasi_fd_renumber(pre, a));
  __wasi_prestat_t ps;
  report("preopen still a preopen", __wasi_fd_prestat_get(pre, &ps));
  __wasi_fd_t c;
  int err = raw_open(pre, "a.txt", 0, 0, &c);
  report("open through preopen", err);
  if (err == 0) (void)__wasi_fd_close(c);

  report("renumber a onto b", __wasi_fd_renumber(a, b));
  uint8_t buf[16] = {0};
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_size_t n = 0;
  report("read b", __wasi_fd_read(b, &iov, 1, &n));
  printf("b now reads [%.*s]\n", (int)n, buf);
  report("read a", __wasi_fd_read(a, &iov, 1, &n));
  report("renumber onto itself", __wasi_fd_renumber(b, b));
  return 0;
}
