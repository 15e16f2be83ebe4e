// The `twine serve` test job. argv[1] is its protected volume ("/data"); the owner picks what it does
// by uploading <mount>/mode (the launch, args included, is fixed by the server):
//   ok    read <mount>/in.txt, write <mount>/out.txt ("processed: " + the input upper-cased), exit 0
//   exit  exit with the status written after the word (e.g. "exit 7")
//   trap  write and fsync <mount>/partial.txt, write <mount>/unsynced.txt without fsync, then trap
//   spin  write and fsync <mount>/progress.txt, then loop forever (for --timeout)
//   hog   allocate and touch 1 MiB blocks until malloc fails (for --max-memory), then abort
//   flood write 64 MiB to stdout in 64 KiB writes, then exit 0 (for the server's output limit)
#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include "guest.h"

#define MIB (1024 * 1024)

static char path_buf[512];

static const char *in_mount(const char *mount, const char *name) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", mount, name);
  return path_buf;
}

static int write_file(const char *path, const char *text, int do_sync) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) return -1;
  if (do_sync && fsync(fd) != 0) return -1;
  return close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return (size_t)-1;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
  return n;
}

int main(int argc, char **argv) {
  const char *mount = argc > 1 ? argv[1] : "/data";
  char mode[64];
  if (read_file(in_mount(mount, "mode"), mode, sizeof mode) == (size_t)-1) {
    fprintf(stderr, "no mode file: %s\n", errno_name(errno));
    return 2;
  }
  if (strncmp(mode, "ok", 2) == 0) {
    static char in[65536];
    static char out[65536 + 16];
    size_t n = read_file(in_mount(mount, "in.txt"), in, sizeof in);
    if (n == (size_t)-1) {
      fprintf(stderr, "no input: %s\n", errno_name(errno));
      return 3;
    }
    for (size_t i = 0; i < n; i++) in[i] = (char)toupper((unsigned char)in[i]);
    snprintf(out, sizeof out, "processed: %s", in);
    if (write_file(in_mount(mount, "out.txt"), out, 0) != 0) {
      fprintf(stderr, "cannot write output: %s\n", errno_name(errno));
      return 4;
    }
    printf("job ok: %zu bytes\n", n);
    fprintf(stderr, "note: done\n");
    return 0;
  }
  if (strncmp(mode, "exit", 4) == 0) return atoi(mode + 4);
  if (strncmp(mode, "trap", 4) == 0) {
    if (write_file(in_mount(mount, "partial.txt"), "committed before trap\n", 1) != 0) return 5;
    if (write_file(in_mount(mount, "unsynced.txt"), "written, not synced\n", 0) != 0) return 5;
    printf("trapping\n");
    fflush(stdout);
    __builtin_trap();
  }
  if (strncmp(mode, "spin", 4) == 0) {
    if (write_file(in_mount(mount, "progress.txt"), "committed before spinning\n", 1) != 0) return 5;
    printf("spinning\n");
    fflush(stdout);
    volatile unsigned long k = 0;
    for (;;) k++;
  }
  if (strncmp(mode, "hog", 3) == 0) {
    // Kept in a table so the compiler cannot elide the allocations; bounded for a runtime without a cap.
    static void *blocks[4096];
    int n = 0;
    while (n < 4096) {
      char *p = malloc(MIB);
      if (p == NULL) break;
      memset(p, 0x5A, MIB);
      blocks[n++] = p;
    }
    fprintf(stderr, "out of memory after %d MiB\n", n);
    abort();
  }
  if (strncmp(mode, "flood", 5) == 0) {
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 1024; i++) {
      if (write(1, chunk, sizeof chunk) != (ssize_t)sizeof chunk) return 6;
    }
    return 0;
  }
  fprintf(stderr, "unknown mode\n");
  return 2;
}
