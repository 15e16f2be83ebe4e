/* WASI call microbenchmark: N iterations of each small host call, timed inside the guest with
 * CLOCK_MONOTONIC so every runtime is measured the same way. Each phase runs in 10 batches of N/10 and
 * reports the fastest batch, which keeps preemption by other load out of the figure.
 * Prints "<call> <ns per call>" lines. Usage: wasi-calls [N [DIR]] — DIR (default /data) must be a
 * writable preopened directory. The fd_write(stderr) phase expects stderr on /dev/null; failures are
 * reported on stdout, exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 10

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what) {
  printf("error %s\n", what);
  exit(1);
}

/* Runs BODY `per` times in each of BATCHES batches (i counts calls across batches), prints the best. */
#define PHASE(NAME, PER, BODY)                                           \
  do {                                                                   \
    double best_ = 1e300;                                                \
    long i = 0;                                                          \
    for (int b_ = 0; b_ < BATCHES; b_++) {                               \
      long long t0_ = now_ns();                                          \
      for (long k_ = 0; k_ < (PER); k_++, i++) {                         \
        BODY;                                                            \
      }                                                                  \
      double ns_ = (double)(now_ns() - t0_) / (double)(PER);             \
      if (ns_ < best_) best_ = ns_;                                      \
    }                                                                    \
    printf("%s %.1f\n", NAME, best_);                                    \
  } while (0)

int main(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
  const char *dir = argc > 2 ? argv[2] : "/data";
  if (n < BATCHES * 10) fail("usage: wasi-calls [N>=100 [DIR]]");
  long per = n / BATCHES;
  long opens = per / 10 > 0 ? per / 10 : 1; /* opens are ~10x dearer than the rest */
  char path[512];
  snprintf(path, sizeof path, "%s/wasi-calls.tmp", dir);
  static const char msg[16] = "0123456789abcde\n";
  char buf[16];
  struct stat st;
  struct timespec ts;

  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("open for write");
  PHASE("fd_write(file,16B)", per, if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) fail("fd_write"));
  close(fd);
  const off_t size = (off_t)per * BATCHES * 16;

  PHASE("fd_write(stderr,16B)", per,
        if (write(2, msg, sizeof msg) != (ssize_t)sizeof msg) fail("fd_write stderr"));

  fd = open(path, O_RDONLY);
  if (fd < 0) fail("open for read");
  PHASE("fd_read(file,16B)", per,
        if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf || buf[15] != '\n') fail("fd_read"));
  PHASE("fd_seek", per,
        if (lseek(fd, (off_t)(i & 1023) * 16, SEEK_SET) != (off_t)(i & 1023) * 16) fail("fd_seek"));
  PHASE("fd_filestat_get", per, if (fstat(fd, &st) != 0 || st.st_size != size) fail("fd_filestat_get"));
  close(fd);

  PHASE("path_open+fd_close", opens, {
    int f = open(path, O_RDONLY);
    if (f < 0) fail("path_open");
    if (close(f) != 0) fail("fd_close");
  });

  PHASE("clock_time_get", per, if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) fail("clock_time_get"));

  if (unlink(path) != 0) fail("path_unlink_file");
  return 0;
}
