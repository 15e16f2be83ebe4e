// On a read-only mount argv[1] holding ro.txt, reading works and every change is refused; the test
// checks the host directory afterwards.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guest.h"

static const char *dir;

static const char *at(const char *name) {
  static char bufs[2][512];
  static int which;
  which ^= 1;
  snprintf(bufs[which], sizeof bufs[which], "%s/%s", dir, name);
  return bufs[which];
}

int main(int argc, char **argv) {
  dir = argc > 1 ? argv[1] : "/data";
  char buf[64] = {0};
  int fd = open(at("ro.txt"), O_RDONLY);
  check(fd >= 0, "open read-only");
  ssize_t n = read(fd, buf, sizeof buf - 1);
  printf("read: [%.*s]\n", (int)(n < 0 ? 0 : n), buf);
  report_libc("write on read fd", (int)write(fd, "x", 1));
  close(fd);

  report_libc("open for writing", open(at("ro.txt"), O_WRONLY));
  report_libc("open read-only with O_TRUNC", open(at("ro.txt"), O_RDONLY | O_TRUNC));
  report_libc("create", open(at("new.txt"), O_CREAT | O_WRONLY, 0644));
  report_libc("mkdir", mkdir(at("newdir"), 0755));
  report_libc("unlink", unlink(at("ro.txt")));
  report_libc("rename", rename(at("ro.txt"), at("moved.txt")));
  report_libc("symlink", symlink("ro.txt", at("link")));
  report_libc("link", link(at("ro.txt"), at("hard")));
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  report_libc("utimensat", utimensat(AT_FDCWD, at("ro.txt"), ts, 0));
  __wasi_fd_t pre = preopen_fd(dir), rfd;
  __wasi_rights_t rights = inheriting_rights(pre);
  report("raw open asking write rights", __wasi_path_open(pre, 0, "ro.txt", 0, rights, rights, 0, &rfd));
  rights &= ~WRITE_RIGHTS;
  check_ok(__wasi_path_open(pre, 0, "ro.txt", 0, rights, rights, 0, &rfd), "raw open read-only");
  __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
  __wasi_size_t nw;
  report("raw write", __wasi_fd_write(rfd, &iov, 1, &nw));
  report("raw set size", __wasi_fd_filestat_set_size(rfd, 0));
  report("raw allocate", __wasi_fd_allocate(rfd, 0, 4096));
  report("raw set times", __wasi_fd_filestat_set_times(rfd, 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  return 0;
}
