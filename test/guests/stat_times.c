// fstat/stat sizes and types, and setting times with utimensat and futimens (exact values, UTIME_OMIT,
// UTIME_NOW), under the directory argv[1].
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "guest.h"

static char path[512];

static const char *at(const char *dir, const char *name) {
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

// Times chosen to be exact in a double, so host file systems set through seconds-as-double keep them.
static void print_times(const char *what, const struct stat *st) {
  printf("%s atim=%lld.%09ld mtim=%lld.%09ld\n", what, (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec,
         (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  char name[512];
  snprintf(name, sizeof name, "%s", at(dir, "s.txt"));
  struct stat st, st2;

  int fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
  check(fd >= 0, "create");
  char block[100];
  memset(block, 'x', sizeof block);
  check(write(fd, block, sizeof block) == 100, "write");
  check(fstat(fd, &st) == 0, "fstat");
  printf("fstat size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode) ? 1 : 0);
  check(stat(name, &st2) == 0, "stat");
  printf("stat size=%lld nlink=%llu same ino=%d\n", (long long)st2.st_size, (unsigned long long)st2.st_nlink,
         st.st_ino == st2.st_ino ? 1 : 0);
  check(ftruncate(fd, 7) == 0 && fstat(fd, &st) == 0, "ftruncate");
  printf("fstat after ftruncate size=%lld\n", (long long)st.st_size);

  struct timespec ts[2] = {{1000000000, 500000000}, {1234567890, 250000000}};
  report_libc("utimensat", utimensat(AT_FDCWD, name, ts, 0));
  check(stat(name, &st) == 0, "stat after utimensat");
  print_times("utimensat", &st);

  struct timespec omit_a[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
  report_libc("utimensat omit atime", utimensat(AT_FDCWD, name, omit_a, 0));
  check(stat(name, &st) == 0, "stat after omit");
  print_times("omit atime", &st);

  struct timespec f[2] = {{1100000000, 125000000}, {1200000000, 0}};
  report_libc("futimens", futimens(fd, f));
  check(fstat(fd, &st) == 0, "fstat after futimens");
  print_times("futimens", &st);

  struct timespec now;
  check(clock_gettime(CLOCK_REALTIME, &now) == 0, "realtime");
  // Raw calls for "now": Debian's wasi-libc futimens refuses UTIME_NOW with EINVAL, and futimens(fd,
  // NULL) sets both times to 0, without the runtime being at fault.
  report("set mtime now", __wasi_fd_filestat_set_times((__wasi_fd_t)fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
  check(fstat(fd, &st) == 0, "fstat after now");
  check(st.st_atim.tv_sec == 1100000000, "atime kept");
  check(st.st_mtim.tv_sec >= now.tv_sec - 5 && st.st_mtim.tv_sec <= now.tv_sec + 5, "mtime is now");
  printf("mtime now ok\n");
  report("set both now", __wasi_fd_filestat_set_times((__wasi_fd_t)fd, 0, 0,
                                                     __WASI_FSTFLAGS_ATIM_NOW | __WASI_FSTFLAGS_MTIM_NOW));
  check(fstat(fd, &st) == 0, "fstat after both now");
  check(st.st_atim.tv_sec >= now.tv_sec - 5 && st.st_atim.tv_sec <= now.tv_sec + 5, "atime is now");
  check(st.st_mtim.tv_sec >= now.tv_sec - 5 && st.st_mtim.tv_sec <= now.tv_sec + 5, "mtime is now");
  printf("both now ok\n");

  check(futimens(fd, f) == 0, "futimens again");
  check(write(fd, "y", 1) == 1 && fstat(fd, &st) == 0, "write after futimens");
  check(st.st_mtim.tv_sec > 1200000000, "write moves mtime");
  printf("write updates mtime ok\n");
  close(fd);

  check(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "stat dir");
  printf("stat dir ok\n");
  report_libc("stat missing", stat(at(dir, "missing"), &st));
  report_libc("utimensat missing", utimensat(AT_FDCWD, at(dir, "missing"), ts, 0));
  return 0;
}
