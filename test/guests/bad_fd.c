// fd numbers that were never opened, or were closed, answer BADF to every call; a file fd used as a
// directory answers NOTDIR.
#include "guest.h"

static void all_calls(const char *label, __wasi_fd_t fd) {
  char what[96];
  uint8_t buf[16];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
  __wasi_size_t n;
  __wasi_filesize_t pos;
  __wasi_fdstat_t fdst;
  __wasi_filestat_t st;
  __wasi_fd_t out;
#define TRY(name, call) snprintf(what, sizeof what, "%s %s", label, name), report(what, call)
  TRY("fd_read", __wasi_fd_read(fd, &iov, 1, &n));
  TRY("fd_write", __wasi_fd_write(fd, &ciov, 1, &n));
  TRY("fd_pread", __wasi_fd_pread(fd, &iov, 1, 0, &n));
  TRY("fd_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
  TRY("fd_tell", __wasi_fd_tell(fd, &pos));
  TRY("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &fdst));
  TRY("fd_filestat_get", __wasi_fd_filestat_get(fd, &st));
  TRY("fd_filestat_set_size", __wasi_fd_filestat_set_size(fd, 0));
  TRY("fd_sync", __wasi_fd_sync(fd));
  TRY("fd_readdir", __wasi_fd_readdir(fd, buf, sizeof buf, 0, &n));
  TRY("path_open", __wasi_path_open(fd, 0, "x", 0, 0, 0, 0, &out));
  TRY("path_create_directory", __wasi_path_create_directory(fd, "x"));
  TRY("fd_renumber from", __wasi_fd_renumber(fd, 1));
  TRY("fd_close", __wasi_fd_close(fd));
#undef TRY
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir), fd;
  all_calls("never opened 77:", 77);
  all_calls("max fd:", 0xFFFFFFFFu);

  check_ok(raw_open(pre, "f.txt", 0, __WASI_OFLAGS_CREAT, &fd), "create f.txt");
  check_ok(__wasi_fd_close(fd), "close");
  all_calls("closed:", fd);

  check_ok(raw_open(pre, "f.txt", 0, 0, &fd), "open f.txt");
  __wasi_fd_t out;
  report("path_open relative to a file", raw_open(fd, "x", 0, 0, &out));
  report("fd_readdir on a file", __wasi_fd_readdir(fd, (uint8_t *)&out, sizeof out, 0, &(__wasi_size_t){0}));
  check_ok(__wasi_fd_close(fd), "close again");
  printf("fd_prestat_get 77: %s\n", errno_name(__wasi_fd_prestat_get(77, &(__wasi_prestat_t){0})));
  return 0;
}
