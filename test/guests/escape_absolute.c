// Absolute paths handed to the runtime relative to the preopen argv[1] must fail (NOTCAPABLE), not be
// taken as host paths nor as mount-relative ones.
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
  char inside[512];
  snprintf(inside, sizeof inside, "%s/inside.txt", dir);
  int fd = open(inside, O_CREAT | O_WRONLY, 0644);
  check(fd >= 0, "create inside.txt");

  attempt_open(pre, "/etc/passwd", 0);
  attempt_open(pre, "/", __WASI_OFLAGS_DIRECTORY);
  attempt_open(pre, "/inside.txt", 0);
  attempt_open(pre, "/data/inside.txt", 0);
  attempt_open(pre, "//etc/passwd", 0);
  attempt_open(pre, "/tmp/twine-absolute.txt", __WASI_OFLAGS_CREAT);
  __wasi_filestat_t st;
  report("stat /etc/passwd", __wasi_path_filestat_get(pre, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "/etc/passwd", &st));
  report("mkdir /tmp/twine-absolute", __wasi_path_create_directory(pre, "/tmp/twine-absolute"));
  report("unlink /inside.txt", __wasi_path_unlink_file(pre, "/inside.txt"));

  // libc maps absolute paths to a preopen itself; one outside every preopen never reaches the runtime.
  fd = open("/etc/passwd", O_RDONLY);
  printf("libc open /etc/passwd: %s\n", fd >= 0 ? "ESCAPED" : errno_name(errno));
  if (fd >= 0) escaped = 1;
  return escaped;
}
