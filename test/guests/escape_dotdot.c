// Tries to leave the preopen argv[1] through "..": every attempt must fail (NOTCAPABLE) and the guest
// never sees a byte from outside. The test puts ../outside/secret.txt next to the mounted directory.
#include <fcntl.h>
#include "guest.h"

static int escaped;

static void attempt_open(__wasi_fd_t pre, const char *path, __wasi_oflags_t oflags) {
  __wasi_fd_t fd;
  int err = raw_open(pre, path, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, oflags, &fd);
  printf("open %s: %s\n", path, err == 0 ? "ESCAPED" : errno_name(err));
  if (err == 0) escaped = 1, (void)__wasi_fd_close(fd);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  __wasi_fd_t pre = preopen_fd(dir);
  check_ok(__wasi_path_create_directory(pre, "sub"), "mkdir sub");

  attempt_open(pre, "..", __WASI_OFLAGS_DIRECTORY);
  attempt_open(pre, "../outside/secret.txt", 0);
  attempt_open(pre, "../../etc/passwd", 0);
  attempt_open(pre, "./../outside/secret.txt", 0);
  attempt_open(pre, "sub/../../outside/secret.txt", 0);
  attempt_open(pre, "sub/../sub/../../outside/secret.txt", 0);
  attempt_open(pre, "../outside/new.txt", __WASI_OFLAGS_CREAT);
  attempt_open(pre, "../data/sub", __WASI_OFLAGS_DIRECTORY);

  __wasi_filestat_t st;
  report("stat ../outside/secret.txt",
         __wasi_path_filestat_get(pre, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "../outside/secret.txt", &st));
  report("mkdir ../escaped", __wasi_path_create_directory(pre, "../escaped"));
  report("unlink ../outside/secret.txt", __wasi_path_unlink_file(pre, "../outside/secret.txt"));
  report("rmdir ../outside", __wasi_path_remove_directory(pre, "../outside"));
  report("set times ../outside/secret.txt",
         __wasi_path_filestat_set_times(pre, 0, "../outside/secret.txt", 1, 1,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  report("symlink at ../link", __wasi_path_symlink("x", pre, "../link"));
  uint8_t buf[64];
  __wasi_size_t n;
  report("readlink ../outside", __wasi_path_readlink(pre, "../outside", buf, sizeof buf, &n));

  // Through libc: the preopen prefix matches, the ".." part is sent to the runtime.
  char path[512];
  snprintf(path, sizeof path, "%s/../outside/secret.txt", dir);
  int fd = open(path, O_RDONLY);
  printf("libc open %s: %s\n", path, fd >= 0 ? "ESCAPED" : errno_name(errno));
  if (fd >= 0) escaped = 1;
  return escaped;
}
