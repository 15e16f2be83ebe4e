// Prints a provisioned environment variable and a file from the provisioned pfs volume at argv[1]:
// what `twine run --provision` must hand the guest before it starts.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *greeting = getenv("GREETING");
  printf("env GREETING=%s\n", greeting ? greeting : "(unset)");
  if (argc < 2) return 0;
  char path[256];
  snprintf(path, sizeof path, "%s/msg.txt", argv[1]);
  FILE *f = fopen(path, "r");
  if (!f) {
    printf("FAIL open %s\n", path);
    return 1;
  }
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  printf("file %s\n", buf);
  return 0;
}
