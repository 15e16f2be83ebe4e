// Copies stdin to stdout until end of input, then reports the byte count on stderr.
#include <stdio.h>

int main(void) {
  static char buf[4096];
  size_t n, total = 0;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    if (fwrite(buf, 1, n, stdout) != n) return 1;
    total += n;
  }
  if (ferror(stdin)) {
    fprintf(stderr, "read error\n");
    return 1;
  }
  fprintf(stderr, "echoed %zu bytes\n", total);
  return 0;
}
