// rename and link across the boundary of the mount argv[1], both ways: all fail (NOTCAPABLE) and the
// file stays where it was.
#include "guest.h"

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir), fd;
  check_ok(raw_open(pre, "f.txt", 0, __WASI_OFLAGS_CREAT, &fd), "create f.txt");
  __wasi_ciovec_t iov = {(const uint8_t *)"payload", 7};
  __wasi_size_t n;
  check(__wasi_fd_write(fd, &iov, 1, &n) == 0 && n == 7, "write f.txt");
  check_ok(__wasi_fd_close(fd), "close");
  check_ok(__wasi_path_create_directory(pre, "sub"), "mkdir sub");

  report("rename f.txt -> ../outside", __wasi_path_rename(pre, "f.txt", pre, "../outside"));
  report("rename f.txt -> ../outside/stolen.txt", __wasi_path_rename(pre, "f.txt", pre, "../outside/stolen.txt"));
  report("rename f.txt -> sub/../../stolen.txt", __wasi_path_rename(pre, "f.txt", pre, "sub/../../stolen.txt"));
  report("rename f.txt -> /tmp/stolen.txt", __wasi_path_rename(pre, "f.txt", pre, "/tmp/stolen.txt"));
  report("rename ../outside/secret.txt -> in.txt", __wasi_path_rename(pre, "../outside/secret.txt", pre, "in.txt"));
  report("rename sub -> ../outside/sub", __wasi_path_rename(pre, "sub", pre, "../outside/sub"));
  report("link f.txt -> ../outside/linked", __wasi_path_link(pre, 0, "f.txt", pre, "../outside/linked"));
  report("link ../outside/secret.txt -> in.txt", __wasi_path_link(pre, 0, "../outside/secret.txt", pre, "in.txt"));

  uint8_t buf[16] = {0};
  check_ok(raw_open(pre, "f.txt", 0, 0, &fd), "reopen f.txt");
  __wasi_iovec_t riov = {buf, sizeof buf};
  check_ok(__wasi_fd_read(fd, &riov, 1, &n), "read f.txt");
  printf("f.txt still here: [%.*s]\n", (int)n, buf);
  report("rename inside", __wasi_path_rename(pre, "f.txt", pre, "sub/g.txt"));
  return 0;
}
