/* WASI call microbenchmark: N iterations of each small host call, each phase timed inside the guest with
 * CLOCK_MONOTONIC so every runtime is measured the same way. Prints "<call> <ns per call>" lines.
 * Usage: wasi-calls [N [DIR]] — DIR (default /data) must be a writable preopened directory. The
 * fd_write(stderr) phase expects stderr on /dev/null; failures are reported on stdout, exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what) {
  printf("error %s\n", what);
  exit(1);
}

static void report(const char *call, long long t0, long n) {
  printf("%s %.1f\n", call, (double)(now_ns() - t0) / (double)n);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
  const char *dir = argc > 2 ? argv[2] : "/data";
  if (n <= 0) fail("usage: wasi-calls [N>0 [DIR]]");
  char path[512];
  snprintf(path, sizeof path, "%s/wasi-calls.tmp", dir);
  static const char msg[16] = "0123456789abcde\n";
  char buf[16];
  long long t0;

  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("open for write");
  t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) fail("fd_write");
  report("fd_write(file,16B)", t0, n);
  close(fd);

  t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (write(2, msg, sizeof msg) != (ssize_t)sizeof msg) fail("fd_write stderr");
  report("fd_write(stderr,16B)", t0, n);

  fd = open(path, O_RDONLY);
  if (fd < 0) fail("open for read");
  t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf || buf[15] != '\n') fail("fd_read");
  report("fd_read(file,16B)", t0, n);

  t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (lseek(fd, (off_t)(i & 1023) * 16, SEEK_SET) != (off_t)(i & 1023) * 16) fail("fd_seek");
  report("fd_seek", t0, n);

  struct stat st;
  t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (fstat(fd, &st) != 0 || st.st_size != (off_t)n * 16) fail("fd_filestat_get");
  report("fd_filestat_get", t0, n);
  close(fd);

  long opens = n / 10 > 0 ? n / 10 : 1; /* opens are ~10x dearer than the rest */
  t0 = now_ns();
  for (long i = 0; i < opens; i++) {
    int f = open(path, O_RDONLY);
    if (f < 0) fail("path_open");
    if (close(f) != 0) fail("fd_close");
  }
  report("path_open+fd_close", t0, opens);

  struct timespec ts;
  t0 = now_ns();
  for (long i = 0; i < n; i++)
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) fail("clock_time_get");
  report("clock_time_get", t0, n);

  if (unlink(path) != 0) fail("path_unlink_file");
  return 0;
}
